# covers: CR-4, CR-5
"""The filter language: every leaf type, the groups, the data scope applied first, counts equal to
hand-written SQL over a random population, and bad definitions answered with the path of the node."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from crm.choices import ArchiveType, CustomerKind, CustomerStatus, Gender
from crm.models import Customer, ImportBatch, ListTemplate, Tag
from crm.segment_filters import definition_problems, definition_tag_codes
from crm.segments import segment_count
from crm.segment_selectors import customers_for_definition
from crm.tests.segments_support import hold, make_customer, segment_world, tag
from gis_core.crs import CRS, convert_coords
from gis_core.errors import ValidationFailed
from grids.membership import points_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(bank, make_user):
    return segment_world(bank, make_user)


def names(w, actor, definition) -> set[str]:
    """Keys (of w["c"]) of the customers matching for `actor`."""
    by_id = {c.pk: key for key, c in w["c"].items()}
    return {by_id[pk] for pk in customers_for_definition(actor=actor, definition=definition).values_list("pk", flat=True)}


def leaf(**node) -> dict:
    return {"v": 1, **node}


def field(name, op, value) -> dict:
    return leaf(field=name, op=op, value=value)


ALL_A = {"a1_near", "a_street", "a_old", "a1_unlocated", "a_young"}
ALL = ALL_A | {"b_vip", "b1_plain"}


def test_attribute_fields(w):
    lead = w["leader"]
    assert names(w, lead, field("kind", "eq", CustomerKind.CORPORATE)) == {"a_street"}
    assert names(w, lead, field("status", "in", [CustomerStatus.POTENTIAL])) == {"a_street", "a_young", "b1_plain"}
    assert names(w, lead, field("archive_type", "eq", ArchiveType.FARM_HOUSEHOLD)) == {"a_old"}
    assert names(w, lead, field("gender", "eq", Gender.FEMALE)) == {"a1_near", "b1_plain"}
    assert names(w, lead, field("geocode_status", "eq", "failed")) == {"a1_unlocated"}
    assert names(w, lead, field("manager", "eq", w["am"].pk)) == {"a1_near", "a1_unlocated"}
    assert names(w, lead, field("manager", "eq", None)) == ALL - {"a1_near", "a1_unlocated"}
    assert names(w, lead, field("institution_subtree", "eq", w["bank"]["a"].pk)) == ALL_A
    assert names(w, lead, field("institution_subtree", "in", [w["bank"]["a1"].pk, w["bank"]["b1"].pk])) == {
        "a1_near", "a1_unlocated", "b1_plain"}


def test_age_and_birth_month(w):
    lead = w["leader"]
    assert names(w, lead, field("age", "gte", 60)) == {"a_old"}
    assert names(w, lead, field("age", "between", [25, 30])) == {"a1_near", "a_young", "b1_plain"}
    assert names(w, lead, field("age", "eq", 18)) == {"a1_unlocated"}
    assert names(w, lead, field("age", "lte", 29)) == {"a_young", "a1_unlocated"}
    assert names(w, lead, field("age", "in", [18, 45])) == {"a1_unlocated", "b_vip"}
    month = w["c"]["a_old"].birth_date.month
    expected = {k for k, c in w["c"].items() if c.birth_date and c.birth_date.month == month}
    assert names(w, lead, field("birth_month", "eq", month)) == expected
    expected = {k for k, c in w["c"].items() if c.birth_date and 3 <= c.birth_date.month <= 9}
    assert names(w, lead, field("birth_month", "between", [3, 9])) == expected


def test_created_at(w):
    lead, today = w["leader"], timezone.localdate().isoformat()
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    Customer.objects.filter(pk=w["c"]["a_old"].pk).update(created_at=Customer.objects.get(pk=w["c"]["a_old"].pk).created_at - dt.timedelta(days=3))
    assert names(w, lead, field("created_at", "gte", today)) == ALL - {"a_old"}
    assert names(w, lead, field("created_at", "lte", yesterday)) == {"a_old"}
    assert names(w, lead, field("created_at", "between", [yesterday, today])) == ALL - {"a_old"}
    assert names(w, lead, field("created_at", "eq", today)) == ALL - {"a_old"}


def test_tags_and_products(w):
    lead = w["leader"]
    assert names(w, lead, leaf(tag="vip")) == {"a1_near", "a_street", "b_vip"}
    assert names(w, lead, leaf(tags_any=["farmer", "vip"])) == {"a1_near", "a_street", "b_vip", "a_old"}
    assert names(w, lead, leaf(product="DEP1Y")) == {"a1_near", "a_old", "b_vip"}
    assert names(w, lead, leaf(product="DEP1Y", min_balance=50_000)) == {"a1_near", "b_vip"}
    assert names(w, lead, leaf(product_category="loan")) == {"a_street"}
    assert names(w, lead, leaf(product_category=["deposit", "loan"], min_balance=100_000)) == {"a_street", "b_vip"}


def test_grid_subtree_at_every_level(w):
    lead = w["leader"]
    assert names(w, lead, leaf(grid_subtree=w["district_a"].pk)) == {"a1_near", "a_street", "a_old", "a_young"}
    assert names(w, lead, leaf(grid_subtree=w["street_a1"].pk)) == {"a1_near", "a_street", "a_young"}
    assert names(w, lead, leaf(grid_subtree=w["community_a1"].pk)) == {"a1_near", "a_young"}
    assert names(w, lead, leaf(grid_subtree=w["district_b"].pk)) == {"b_vip"}


def test_grid_subtree_of_a_city_grid_reaches_its_districts(w):
    from grids.choices import GridLevel
    from grids.models import Grid
    from grids.tests.factories import square

    city = Grid.objects.create(
        kind="physical", level=GridLevel.CITY, code="CITY", name="市", institution=w["bank"]["head"],
        geom=square(112.90, 28.10, 0.20),
    )
    Grid.objects.filter(pk=w["district_a"].pk).update(parent=city)
    assert names(w, w["leader"], leaf(grid_subtree=city.pk)) == {"a1_near", "a_street", "a_old", "a_young"}


def test_grid_subtree_of_a_virtual_grid_goes_by_its_shape(w):
    from grids.choices import GridKind, VirtualType
    from grids.tests.factories import GridFactory, square

    park = GridFactory(institution=w["bank"]["a"], kind=GridKind.VIRTUAL, level="", virtual_type=VirtualType.BUSINESS_DISTRICT,
                       code="V-1", name="商圈", geom=square(112.90, 28.10, 0.02))
    assert names(w, w["leader"], leaf(grid_subtree=park.pk)) == {"a1_near", "a_young"}


def test_within_polygon_in_each_datum(w):
    lead = w["leader"]
    ring = [[112.90, 28.10], [112.92, 28.10], [112.92, 28.12], [112.90, 28.12], [112.90, 28.10]]
    assert names(w, lead, leaf(within_polygon={"type": "Polygon", "coordinates": [ring]})) == {"a1_near", "a_young"}
    # A 100 m box drawn on a GCJ-02 map around a1_near's GCJ-02 position: found only when converted.
    x, y = convert_coords([112.906, 28.1055], src=CRS.WGS84, dst=CRS.GCJ02)
    d = 0.001
    tight = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
    polygon = {"type": "Polygon", "coordinates": [tight]}
    assert names(w, lead, leaf(within_polygon=polygon, crs="gcj02")) == {"a1_near"}
    assert names(w, lead, leaf(within_polygon=polygon, crs="wgs84")) == set()
    bd = [convert_coords(p, src=CRS.GCJ02, dst=CRS.BD09) for p in tight]
    assert names(w, lead, leaf(within_polygon={"type": "Polygon", "coordinates": [bd]}, crs="bd09")) == {"a1_near"}


def test_within_distance_of_outlet(w):
    lead, outlet = w["leader"], w["outlet"].pk
    assert names(w, lead, leaf(within_distance_of_outlet={"institution": outlet, "metres": 200})) == {"a1_near"}
    assert names(w, lead, leaf(within_distance_of_outlet={"institution": outlet, "metres": 2500})) == {"a1_near", "a_young"}
    # Negation keeps customers without a location (they are not within any distance).
    assert names(w, lead, leaf(**{"not": {"within_distance_of_outlet": {"institution": outlet, "metres": 200}}})) == ALL - {"a1_near"}


def test_import_batch(w):
    template = ListTemplate.objects.create(name="模板", institution=w["bank"]["a"], columns=[])
    batch = ImportBatch.objects.create(name="批次", template=template, institution=w["bank"]["a"], file_name="a.xlsx", file_sha256="0" * 64)
    Customer.objects.filter(pk=w["c"]["a_young"].pk).update(import_batch=batch)
    assert names(w, w["leader"], leaf(import_batch=batch.pk)) == {"a_young"}


def test_groups(w):
    lead = w["leader"]
    vip, formal = {"tag": "vip"}, {"field": "status", "op": "eq", "value": "formal"}
    assert names(w, lead, {"v": 1, "all": [vip, formal]}) == {"a1_near", "b_vip"}
    assert names(w, lead, {"v": 1, "any": [vip, {"tag": "farmer"}]}) == {"a1_near", "a_street", "b_vip", "a_old"}
    assert names(w, lead, {"v": 1, "not": vip}) == ALL - {"a1_near", "a_street", "b_vip"}
    assert names(w, lead, {"v": 1, "not": {"not": vip}}) == {"a1_near", "a_street", "b_vip"}
    assert names(w, lead, {"v": 1, "all": []}) == ALL
    assert names(w, lead, {"v": 1, "any": []}) == set()
    assert names(w, lead, {"v": 1, "any": [{"all": []}, vip]}) == ALL
    assert names(w, lead, {"v": 1, "not": {"all": []}}) == set()
    assert names(w, lead, {"v": 1}) == ALL
    # Negating a nullable column keeps the NULL rows: not(manager = am) includes customers without one.
    assert names(w, lead, {"v": 1, "not": {"field": "manager", "op": "eq", "value": w["am"].pk}}) == ALL - {"a1_near", "a1_unlocated"}


def test_scope_comes_first_even_for_an_empty_definition(w):
    assert names(w, w["bm_a"], {"v": 1}) == ALL_A
    assert names(w, w["bm_b"], {"v": 1}) == {"b_vip", "b1_plain"}
    assert names(w, w["bm_a"], leaf(tag="vip")) == {"a1_near", "a_street"}
    assert names(w, w["bm_a"], leaf(grid_subtree=w["district_b"].pk)) == set()
    # an account manager sees the customers they manage (and those in grids they hold: none here)
    assert names(w, w["am"], {"v": 1}) == {"a1_near", "a1_unlocated"}
    assert names(w, w["auditor"], {"v": 1}) == set()
    assert segment_count(actor=w["bm_a"], definition={"v": 1, "any": [{"all": []}]}) == len(ALL_A)


def test_definition_tag_codes():
    definition = {"v": 1, "all": [{"tag": "a"}, {"not": {"tags_any": ["b", "c"]}}, {"field": "tag", "op": "eq", "value": "x"}]}
    assert definition_tag_codes(definition) == {"a", "b", "c"}


# --- bad definitions --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("definition", "path", "code"),
    [
        ([], "$", "not_an_object"),
        ({"all": []}, "$.v", "bad_version"),
        ({"v": 2, "all": []}, "$.v", "bad_version"),
        ({"v": 1, "all": [{"field": "status", "op": "eq", "value": "formal"}, {"any": [{"field": "height", "op": "eq", "value": 1}]}]},
         "$.all[1].any[0]", "unknown_field"),
        ({"v": 1, "all": [{"field": "status", "op": "like", "value": "f%"}]}, "$.all[0]", "unknown_op"),
        ({"v": 1, "all": [{"field": "status", "op": "eq", "value": "vip"}]}, "$.all[0]", "bad_value"),
        ({"v": 1, "all": [{"field": "age", "op": "between", "value": [40, 20]}]}, "$.all[0]", "bad_value"),
        ({"v": 1, "all": [{"field": "birth_month", "op": "eq", "value": 13}]}, "$.all[0]", "bad_value"),
        ({"v": 1, "all": [{"field": "created_at", "op": "gte", "value": "yesterday"}]}, "$.all[0]", "bad_value"),
        ({"v": 1, "not": {"tag": "no-such-tag"}}, "$.not", "unknown_tag"),
        ({"v": 1, "any": [{"product": "NOPE"}]}, "$.any[0]", "unknown_product"),
        ({"v": 1, "any": [{"product_category": "gold"}]}, "$.any[0]", "bad_value"),
        ({"v": 1, "any": [{"grid_subtree": 999999}]}, "$.any[0]", "unknown_grid"),
        ({"v": 1, "any": [{"import_batch": 999999}]}, "$.any[0]", "unknown_import_batch"),
        ({"v": 1, "any": [{"within_polygon": {"type": "Point", "coordinates": [112, 28]}}]}, "$.any[0]", "bad_geometry"),
        ({"v": 1, "any": [{"within_polygon": {"type": "Polygon", "coordinates": [[[112.9, 28.1], [113.0, 28.2], [113.0, 28.1],
                                                                                   [112.9, 28.2], [112.9, 28.1]]]}}]},
         "$.any[0]", "bad_geometry"),  # a bow tie
        ({"v": 1, "any": [{"within_polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, "crs": "mars"}]},
         "$.any[0]", "bad_crs"),
        ({"v": 1, "any": [{"within_distance_of_outlet": {"institution": 1, "metres": -5}}]}, "$.any[0]", "bad_value"),
        ({"v": 1, "any": [{"tag": "vip", "product": "DEP1Y"}]}, "$.any[0]", "ambiguous_condition"),
        ({"v": 1, "any": [{"tag": "vip", "colour": "red"}]}, "$.any[0]", "unknown_key"),
        ({"v": 1, "any": [{"colour": "red"}]}, "$.any[0]", "unknown_condition"),
        ({"v": 1, "any": {"tag": "vip"}}, "$.any", "not_a_list"),
        ({"v": 1, "all": ["vip"]}, "$.all[0]", "not_an_object"),
    ],
)
def test_bad_definitions_are_400_with_the_path(w, login, definition, path, code):
    response = login(w["bm_a"]).post("/api/crm/segments/count/", {"definition": definition}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "segment_definition_invalid"
    assert error["details"]["path"] == path
    assert error["details"]["errors"][0]["code"] == code


def test_every_problem_is_reported_at_once(w):
    problems = definition_problems({"v": 1, "all": [{"tag": "nope"}, {"field": "x"}, {"tag": "vip"}, {"grid_subtree": "a"}]})
    assert [p.path for p in problems] == ["$.all[0]", "$.all[1]", "$.all[3]"]


def test_outlet_without_location_and_depth_limits(w):
    from gis_core.tests.factories import InstitutionFactory

    nowhere = InstitutionFactory(code="NOLOC", kind="outlet", parent=w["bank"]["a"], location=None)
    problems = definition_problems({"v": 1, "within_distance_of_outlet": {"institution": nowhere.pk, "metres": 100}})
    assert [(p.path, p.code) for p in problems] == [("$", "institution_without_location")]
    deep: dict = {"tag": "vip"}
    for _ in range(20):
        deep = {"not": deep}
    assert definition_problems({"v": 1, **deep})[0].code == "too_deep"
    wide = {"v": 1, "any": [{"tag": "vip"}] * 400}
    assert definition_problems(wide)[0].code == "too_many_conditions"


def test_wrong_version_of_unknown_field_from_service(w):
    with pytest.raises(ValidationFailed) as exc:
        segment_count(actor=w["bm_a"], definition={"v": 1, "field": "salary", "op": "gte", "value": 1})
    assert exc.value.details["path"] == "$"


# --- counts equal a direct query --------------------------------------------------------------------
@pytest.fixture
def population(w):
    """300 random customers over both branches with random attributes, tags and products, placed."""
    rng = random.Random(4)
    bank = w["bank"]
    vip, farmer = w["vip"], w["farmer"]
    young = Tag.objects.create(code="young", name="青年")
    institutions = [bank["a"], bank["a1"], bank["b"], bank["b1"]]
    for n in range(300):
        located = rng.random() < 0.9
        customer = make_customer(
            rng.choice(institutions), f"随机{n}",
            kind=rng.choice([CustomerKind.INDIVIDUAL, CustomerKind.CORPORATE]),
            status=rng.choice([CustomerStatus.FORMAL, CustomerStatus.POTENTIAL]),
            gender=rng.choice(["M", "F", ""]),
            birth_date=dt.date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.8 else None,
            location=(112.90 + rng.random() * 0.2, 28.10 + rng.random() * 0.1) if located else None,
            manager=w["am"] if rng.random() < 0.2 else None,
        )
        for t in (vip, farmer, young):
            if rng.random() < 0.3:
                tag(customer, t)
        if rng.random() < 0.5:
            hold(customer, w["deposit"], rng.randint(0, 200_000))
        if rng.random() < 0.2:
            hold(customer, w["loan"], rng.randint(0, 500_000))
    points_place("crm.customer")
    return w


def sql_count(statement: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


SCOPED = """SELECT count(*) FROM crm_customer c JOIN gis_core_institution i ON i.id = c.institution_id
            WHERE i.path LIKE %s || '%%' AND """


def test_counts_equal_hand_written_sql(population):
    w = population
    path = w["bank"]["a"].path
    ring = [[112.905, 28.105], [112.99, 28.105], [112.99, 28.19], [112.905, 28.19], [112.905, 28.105]]
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    outlet = w["outlet"]
    cases = [
        # tags + status + grid subtree + polygon: the realistic segment
        (
            {"v": 1, "all": [{"tags_any": ["vip", "young"]}, {"field": "status", "op": "eq", "value": "formal"},
                             {"grid_subtree": w["street_a1"].pk}, {"within_polygon": {"type": "Polygon", "coordinates": [ring]}}]},
            SCOPED + """EXISTS (SELECT 1 FROM crm_customertag t JOIN crm_tag g ON g.id = t.tag_id
                                WHERE t.customer_id = c.id AND g.code IN ('vip', 'young'))
                        AND c.status = 'formal' AND c.grid_street_id = %s
                        AND ST_Intersects(c.location, ST_GeomFromText(%s, 4326))""",
            [path, w["street_a1"].pk, wkt],
        ),
        (
            {"v": 1, "any": [{"product": "DEP1Y", "min_balance": 50_000}, {"not": {"field": "gender", "op": "eq", "value": "M"}}]},
            SCOPED + """(EXISTS (SELECT 1 FROM crm_customerproduct h WHERE h.customer_id = c.id AND h.product_id = %s
                                 AND h.balance >= 50000) OR c.gender <> 'M')""",
            [path, w["deposit"].pk],
        ),
        (
            {"v": 1, "all": [{"field": "age", "op": "between", "value": [30, 50]},
                             {"within_distance_of_outlet": {"institution": outlet.pk, "metres": 3000}}]},
            SCOPED + """c.birth_date IS NOT NULL
                        AND date_part('year', age(%s::date, c.birth_date)) BETWEEN 30 AND 50
                        AND ST_DWithin(c.location::geography, ST_GeogFromText(%s), 3000)""",
            [path, timezone.localdate(), f"SRID=4326;POINT({outlet.location.x} {outlet.location.y})"],
        ),
        (
            {"v": 1, "all": [{"not": {"tag": "farmer"}}, {"product_category": "loan"}, {"grid_subtree": w["district_a"].pk}]},
            SCOPED + """NOT EXISTS (SELECT 1 FROM crm_customertag t JOIN crm_tag g ON g.id = t.tag_id
                                    WHERE t.customer_id = c.id AND g.code = 'farmer')
                        AND EXISTS (SELECT 1 FROM crm_customerproduct h JOIN crm_product p ON p.id = h.product_id
                                    WHERE h.customer_id = c.id AND p.category = 'loan')
                        AND c.grid_district_id = %s""",
            [path, w["district_a"].pk],
        ),
        (
            {"v": 1, "all": [{"field": "birth_month", "op": "in", "value": [1, 2, 12]}, {"field": "kind", "op": "eq", "value": "individual"}]},
            SCOPED + "extract(month FROM c.birth_date) IN (1, 2, 12) AND c.kind = 'individual'",
            [path],
        ),
    ]
    for definition, statement, params in cases:
        expected = sql_count(statement, params)
        assert expected > 0, definition  # a case that matches nobody would prove little
        assert segment_count(actor=w["bm_a"], definition=definition) == expected, definition


def test_a_branch_a_segment_never_counts_branch_b(population):
    w = population
    a_ids = set(Customer.objects.filter(institution__path__startswith=w["bank"]["a"].path).values_list("pk", flat=True))
    assert 0 < len(a_ids) < Customer.objects.count()
    assert segment_count(actor=w["bm_a"], definition={"v": 1}) == len(a_ids)
    assert segment_count(actor=w["bm_a"], definition={"v": 1, "all": []}) == len(a_ids)
    # Branch A's customers living in branch B's district are A's; B's customers there never show.
    in_b_district = customers_for_definition(actor=w["bm_a"], definition={"v": 1, "grid_subtree": w["district_b"].pk})
    ids = set(in_b_district.values_list("pk", flat=True))
    everyone_there = set(Customer.objects.filter(grid_district=w["district_b"]).values_list("pk", flat=True))
    assert ids == everyone_there & a_ids and everyone_there - a_ids
