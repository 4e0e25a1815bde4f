# covers: GC-5, GC-4
"""Loading the real Changsha fixture (data/changsha) into PostGIS: tree, geometry, POIs, idempotency.

The fixture is loaded once per module (committed to the test database, removed again at the end of
the module) because a load takes a couple of seconds; every test that loads again runs inside its
own rolled-back transaction.
"""
from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from gis_core.choices import DivisionLevel, GeometrySource, PoiCategory
from gis_core.errors import ValidationFailed
from gis_core.models import AdminDivision, AuditEntry, Poi
from gis_core.services.places import changsha_load

DATA_DIR = Path(settings.BASE_DIR) / "data" / "changsha"
DISTRICT_AREAS_KM2 = {
    "430102": 44.0, "430103": 138.3, "430104": 544.4, "430105": 189.6, "430111": 290.3, "430112": 951.0,
}
EXPECTED_COUNTS = {"province": 1, "city": 1, "district": 6, "street": 93, "community": 820}


def _clean_up() -> None:
    Poi.objects.filter(source="osm").delete()
    AdminDivision.objects.filter(code__startswith="43").delete()
    AuditEntry.objects.filter(action="gis_core.places.changsha_loaded").delete()


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """Load the fixture once for the module; the counts the loader returned."""
    with django_db_blocker.unblock():
        _clean_up()
        counts = changsha_load(data_dir=DATA_DIR)
    yield counts
    with django_db_blocker.unblock():
        _clean_up()


def _scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _database_counts() -> dict[str, int]:
    counts = {level: AdminDivision.objects.filter(level=level).count() for level in EXPECTED_COUNTS}
    counts["poi"] = Poi.objects.filter(source="osm").count()
    return counts


@pytest.mark.django_db
def test_counts_of_levels_and_pois(loaded):
    assert {key: loaded[key] for key in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert loaded["poi"] > 5_000
    assert loaded["poi_without_division"] == 0
    assert loaded["division_synthetic"] == 93 + 820
    assert _database_counts() == {**EXPECTED_COUNTS, "poi": loaded["poi"]}
    with (DATA_DIR / "pois.csv").open(encoding="utf-8") as handle:
        assert loaded["poi"] == sum(1 for _ in csv.DictReader(handle))


@pytest.mark.django_db
def test_every_geometry_is_valid_and_measured(loaded):
    invalid = "SELECT count(*) FROM gis_core_admindivision WHERE geom IS NOT NULL AND NOT ST_IsValid(geom)"
    assert _scalar(invalid) == 0
    assert _scalar("SELECT count(*) FROM gis_core_admindivision WHERE geom IS NOT NULL") == 1 + 6 + 93 + 820
    assert _scalar("SELECT count(*) FROM gis_core_admindivision WHERE ST_SRID(geom) <> 4326") == 0
    # centroid is a point on the surface, so it always lies inside; every area is positive.
    assert _scalar(
        "SELECT count(*) FROM gis_core_admindivision WHERE geom IS NOT NULL"
        " AND (NOT ST_Intersects(geom, centroid) OR area_km2 IS NULL OR area_km2 <= 0)"
    ) == 0


@pytest.mark.django_db
def test_real_and_synthetic_geometry_sources(loaded):
    province = AdminDivision.objects.get(code="430000")
    assert (province.name, province.level, province.geom, province.geometry_source) == (
        "湖南省", DivisionLevel.PROVINCE, None, GeometrySource.NONE)
    by_level = {
        level: set(AdminDivision.objects.filter(level=level).values_list("geometry_source", flat=True))
        for level in (DivisionLevel.CITY, DivisionLevel.DISTRICT, DivisionLevel.STREET,
                      DivisionLevel.COMMUNITY)
    }
    assert by_level == {
        DivisionLevel.CITY: {GeometrySource.REAL},
        DivisionLevel.DISTRICT: {GeometrySource.REAL},
        DivisionLevel.STREET: {GeometrySource.SYNTHETIC},
        DivisionLevel.COMMUNITY: {GeometrySource.SYNTHETIC},
    }


@pytest.mark.django_db
def test_tree_community_street_district_city_province(loaded):
    city = AdminDivision.objects.get(code="430100")
    assert (city.name, city.parent.code) == ("长沙市", "430000")
    districts = AdminDivision.objects.filter(level=DivisionLevel.DISTRICT)
    assert set(districts.values_list("parent__code", flat=True)) == {"430100"}
    assert not AdminDivision.objects.filter(level=DivisionLevel.STREET).exclude(
        parent__level=DivisionLevel.DISTRICT).exists()
    assert not AdminDivision.objects.filter(level=DivisionLevel.COMMUNITY).exclude(
        parent__level=DivisionLevel.STREET, parent__parent__level=DivisionLevel.DISTRICT).exists()
    # NBS codes nest: a community's code starts with its street's code, a street's with its district's.
    assert _scalar(
        "SELECT count(*) FROM gis_core_admindivision c JOIN gis_core_admindivision p ON p.id = c.parent_id"
        " WHERE c.level IN ('street', 'community') AND left(c.code, length(p.code)) <> p.code"
    ) == 0


@pytest.mark.django_db
def test_known_community_and_street(loaded):
    community = AdminDivision.objects.select_related("parent__parent").get(code="430102001001")
    assert (community.name, community.short_name, community.kind) == ("识字里社区居委会", "识字里社区", "community")
    assert (community.parent.code, community.parent.name, community.parent.kind) == (
        "430102001", "文艺路街道", "subdistrict")
    assert community.parent.parent.name == "芙蓉区"
    assert AdminDivision.objects.get(name="莲花镇").kind == "town"
    assert AdminDivision.objects.get(code="430102400").kind == "pseudo"  # 隆平高科技园
    assert AdminDivision.objects.filter(level=DivisionLevel.COMMUNITY, kind="village").count() == 187


@pytest.mark.django_db
def test_children_lie_within_their_parents(loaded):
    # Synthetic cells were snapped to a 1e-6° grid, so allow that much (about 0.1 m).
    for child_level in (DivisionLevel.STREET, DivisionLevel.COMMUNITY):
        outside = _scalar(
            "SELECT count(*) FROM gis_core_admindivision c"
            " JOIN gis_core_admindivision p ON p.id = c.parent_id"
            " WHERE c.level = %s AND NOT ST_CoveredBy(c.geom, ST_Buffer(p.geom, 2e-6))",
            [child_level],
        )
        assert outside == 0, child_level
    # Streets cover their district without gaps or overlaps (within 0.1 % of the area).
    rows = AdminDivision.objects.filter(level=DivisionLevel.DISTRICT).values_list("code", "area_km2")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.code, sum(c.area_km2), ST_Area(ST_Union(c.geom)::geography) / 1e6"
            " FROM gis_core_admindivision c JOIN gis_core_admindivision p ON p.id = c.parent_id"
            " WHERE c.level = 'street' GROUP BY p.code"
        )
        streets = {code: (total, union) for code, total, union in cursor.fetchall()}
    for code, area in rows:
        total, union = streets[code]
        assert total == pytest.approx(area, rel=1e-3)
        assert union == pytest.approx(area, rel=1e-3)


@pytest.mark.django_db
def test_district_areas_match_published_figures(loaded):
    areas = dict(AdminDivision.objects.filter(level=DivisionLevel.DISTRICT).values_list("code", "area_km2"))
    assert set(areas) == set(DISTRICT_AREAS_KM2)
    for code, expected in DISTRICT_AREAS_KM2.items():
        assert areas[code] == pytest.approx(expected, rel=0.05), code


@pytest.mark.django_db
def test_known_bank_poi_has_category_and_community(loaded):
    poi = Poi.objects.select_related("division__parent__parent").get(source="osm", name="长沙农村商业银行（大学城支行）")
    assert poi.category == PoiCategory.BANK
    assert poi.source_class == "bank"
    assert poi.division.level == DivisionLevel.COMMUNITY
    assert poi.division.parent.parent.code == "430104"  # 岳麓区 (the university town)
    assert poi.division.geom.contains(poi.geom) or poi.division.geom.distance(poi.geom) < 1e-5
    assert Poi.objects.filter(category=PoiCategory.BANK, name__contains="交通银行").count() >= 5
    assert Poi.objects.filter(category=PoiCategory.RESIDENTIAL).count() > 1_000
    assert not Poi.objects.filter(source="osm", division__isnull=True).exists()
    assert not Poi.objects.filter(source="osm").exclude(division__level=DivisionLevel.COMMUNITY).exists()


@pytest.mark.django_db
def test_second_load_is_idempotent_and_audited(loaded, capsys):
    before = _database_counts()
    ids = set(Poi.objects.filter(source="osm").values_list("id", flat=True))
    call_command("load_changsha", data_dir=DATA_DIR)
    out = capsys.readouterr().out
    assert "community: 820" in out and f"poi: {loaded['poi']}" in out
    assert _database_counts() == before
    assert set(Poi.objects.filter(source="osm").values_list("id", flat=True)) == ids  # updated, not recreated
    assert AdminDivision.objects.values("code").distinct().count() == AdminDivision.objects.count()
    entry = AuditEntry.objects.filter(action="gis_core.places.changsha_loaded").latest("id")
    assert entry.actor is None
    assert entry.data["community"] == 820 and entry.data["poi"] == loaded["poi"]


@pytest.mark.django_db
def test_reload_updates_changed_and_deletes_removed_pois(loaded, tmp_path):
    data_dir = tmp_path / "changsha"
    shutil.copytree(DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".cache"))
    with (DATA_DIR / "pois.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    removed = {row["osm_id"] for row in rows[:10]}
    kept = rows[10:]
    kept[0] = {**kept[0], "name": "改名测试网点", "category": "bank", "fclass": "bank"}
    with (data_dir / "pois.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)

    counts = changsha_load(data_dir=data_dir)

    assert counts["poi"] == loaded["poi"] - 10
    assert counts["poi_deleted"] == 10
    assert not Poi.objects.filter(source="osm", source_id__in=removed).exists()
    changed = Poi.objects.get(source="osm", source_id=kept[0]["osm_id"])
    assert (changed.name, changed.category, changed.source_class) == ("改名测试网点", "bank", "bank")
    assert changed.division is not None


@pytest.mark.django_db
def test_missing_fixture_files_are_refused(tmp_path):
    with pytest.raises(ValidationFailed) as error:
        changsha_load(data_dir=tmp_path)
    assert error.value.code == "base_data_missing"


def _extract_module():
    path = Path(settings.BASE_DIR) / "scripts" / "extract_changsha.py"
    spec = importlib.util.spec_from_file_location("extract_changsha", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return sys.modules[spec.name]


def test_extraction_helpers_short_names_and_categories():
    extract = _extract_module()
    assert extract.community_short_name("识字里社区居委会") == "识字里社区"
    assert extract.community_short_name("八方社区委员会") == "八方社区"
    assert extract.community_short_name("银谷国际社区居民委员会") == "银谷国际社区"
    assert extract.community_short_name("红星社区居委会二") == "红星社区二"
    assert extract.community_short_name("火炬村委会") == "火炬村"
    assert extract.community_short_name("暮云新村村委会") == "暮云新村"
    assert extract.community_short_name("莲花山村") == "莲花山村"
    # The script cannot import Django; its category map must only produce our PoiCategory values.
    assert set(extract.CATEGORY_BY_FCLASS.values()) | {"shop", "other"} <= set(PoiCategory.values)
    assert extract.poi_category("bank", 2601) == "bank"
    assert extract.poi_category("hairdresser", 2561) == "shop"
    assert extract.poi_category("kindergarten", 2083) == "school"
    assert extract.poi_category("building", 1500) == "other"
