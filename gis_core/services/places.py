"""Loading the Changsha base data (GC-5 admin divisions, GC-4 POIs) into PostGIS.

Why this module exists
----------------------
Grids, customers, dashboards and the demo all hang off the official division tree and the real POIs.
The fixture in ``data/changsha/`` (made by ``scripts/extract_changsha.py``: NBS codes, real district
outlines, synthetic street/community cells, OSM POIs) is loaded here in one transaction, in bulk:
rows go through ``COPY`` into temporary tables and are upserted with ``INSERT … ON CONFLICT``, so a
reload takes seconds and is idempotent (same counts, no duplicates).

* AdminDivision rows are upserted by ``code`` (the province 430000 without geometry, the city, the
  districts, streets and communities), parents are linked by code, and ``centroid`` (a point on the
  surface, so it always lies inside) and ``area_km2`` (geodesic, ``ST_Area(geography)``) are computed
  in the database.  Divisions missing from the files are left alone: other data may hang off them.
* POIs are upserted by ``(source="osm", source_id=osm_id)``; OSM POIs no longer in the file are
  deleted; each POI's ``division`` is the community containing it (polygon-driven LATERAL join, see
  ``research/stack-proto.md``), or the nearest community within about 1 m for points falling in the
  rounding noise between two cells.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext as _

from gis_core.audit import audit_log
from gis_core.choices import DivisionKind, DivisionLevel, GeometrySource, PoiCategory
from gis_core.errors import ValidationFailed
from gis_core.geocoding.gazetteer import gazetteer_invalidate
from gis_core.models import AdminDivision, Poi

POI_SOURCE = "osm"
PROVINCE = {"code": "430000", "name": "湖南省", "short_name": "湖南", "level": DivisionLevel.PROVINCE}
DIVISION_FILES = ("boundaries.geojson", "streets.geojson", "communities.geojson")
# A POI in the rounding noise between two community cells goes to the nearest cell this close (°).
NEAREST_COMMUNITY_DEGREES = 1e-5


def _read_divisions(data_dir: Path) -> list[dict[str, str | None]]:
    """divisions.csv joined with the geometries of the three GeoJSON files, plus the province row."""
    geometries: dict[str, tuple[str, str]] = {}
    for filename in DIVISION_FILES:
        collection = json.loads((data_dir / filename).read_text(encoding="utf-8"))
        for feature in collection["features"]:
            props = feature["properties"]
            geometries[props["code"]] = (json.dumps(feature["geometry"]), props["geometry_source"])
    rows: list[dict[str, str | None]] = [
        {**PROVINCE, "kind": DivisionKind.PROVINCE, "parent_code": "", "geometry_source": GeometrySource.NONE, "geojson": None}
    ]
    valid_levels, valid_kinds = set(DivisionLevel.values), set(DivisionKind.values)
    with (data_dir / "divisions.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] not in valid_levels or row["kind"] not in valid_kinds:
                message = _("未知的区划层级或类型：%(code)s") % {"code": row["code"]}
                raise ValidationFailed(message, code="bad_division_row")
            geojson, source = geometries.get(row["code"], (None, GeometrySource.NONE))
            rows.append({**row, "geometry_source": source, "geojson": geojson})
    return rows


def _read_pois(data_dir: Path) -> list[tuple[str, str, str, str, float, float]]:
    valid = set(PoiCategory.values)
    out = []
    with (data_dir / "pois.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["category"] not in valid:
                raise ValidationFailed(_("未知的兴趣点类别：%(code)s") % {"code": row["osm_id"]}, code="bad_poi_row")
            out.append((row["osm_id"], row["name"][:200], row["category"], row["fclass"][:40],
                        float(row["lng"]), float(row["lat"])))
    return out


@transaction.atomic
def changsha_load(*, data_dir: Path | str) -> dict[str, int]:
    """Load (or refresh) the Changsha divisions and POIs from ``data_dir``; returns counts. Idempotent.

    Keys: ``province``, ``city``, ``district``, ``street``, ``community`` (divisions per level in the
    database), ``division_synthetic`` (synthetic geometries), ``poi`` (OSM POIs in the database),
    ``poi_deleted`` (removed this run), ``poi_without_division``.
    """
    data_dir = Path(data_dir)
    missing = [name for name in ("divisions.csv", "pois.csv", *DIVISION_FILES)
               if not (data_dir / name).is_file()]
    if missing:
        message = _("基础数据目录缺少文件：%(files)s") % {"files": ", ".join(missing)}
        raise ValidationFailed(message, code="base_data_missing")
    divisions = _read_divisions(data_dir)
    pois = _read_pois(data_dir)
    division_table = AdminDivision._meta.db_table
    poi_table = Poi._meta.db_table

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _changsha_division, _changsha_poi, _changsha_poi_division")
        cursor.execute(
            "CREATE TEMP TABLE _changsha_division (code text PRIMARY KEY, name text, short_name text,"
            " level text, kind text, parent_code text, geometry_source text, geojson text) ON COMMIT DROP"
        )
        columns = ("code", "name", "short_name", "level", "kind", "parent_code", "geometry_source", "geojson")
        with cursor.copy(f"COPY _changsha_division ({', '.join(columns)}) FROM STDIN") as copy:
            for row in divisions:
                copy.write_row([row[column] for column in columns])
        cursor.execute(
            f"""
            INSERT INTO {division_table} AS d
                (code, name, short_name, level, kind, parent_id, geom, geometry_source, centroid, area_km2)
            SELECT t.code, t.name, t.short_name, t.level, t.kind, NULL, g.geom, t.geometry_source,
                   ST_PointOnSurface(g.geom), ST_Area(g.geom::geography) / 1e6
            FROM _changsha_division t
            CROSS JOIN LATERAL (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(t.geojson), 4326)) AS geom) g
            ON CONFLICT (code) DO UPDATE SET
                name = EXCLUDED.name, short_name = EXCLUDED.short_name, level = EXCLUDED.level,
                kind = EXCLUDED.kind, geom = EXCLUDED.geom, geometry_source = EXCLUDED.geometry_source,
                centroid = EXCLUDED.centroid, area_km2 = EXCLUDED.area_km2
            """
        )
        cursor.execute(
            f"""
            UPDATE {division_table} AS child SET parent_id = parent.id
            FROM _changsha_division t JOIN {division_table} AS parent ON parent.code = t.parent_code
            WHERE child.code = t.code AND child.parent_id IS DISTINCT FROM parent.id
            """
        )
        cursor.execute(
            "SELECT count(*) FROM _changsha_division t"
            f" LEFT JOIN {division_table} p ON p.code = t.parent_code"
            " WHERE t.parent_code <> '' AND p.id IS NULL"
        )
        if cursor.fetchone()[0]:
            raise ValidationFailed(_("区划数据的上级代码不完整"), code="bad_division_parent")

        cursor.execute(
            "CREATE TEMP TABLE _changsha_poi (source_id text PRIMARY KEY, name text, category text,"
            " source_class text, lng float8, lat float8) ON COMMIT DROP"
        )
        poi_copy = "COPY _changsha_poi (source_id, name, category, source_class, lng, lat) FROM STDIN"
        with cursor.copy(poi_copy) as copy:
            for row in pois:
                copy.write_row(row)
        cursor.execute(
            f"""
            INSERT INTO {poi_table} AS p
                (source, source_id, name, category, source_class, address, geom, created_at, updated_at)
            SELECT %s, t.source_id, t.name, t.category, t.source_class, '',
                   ST_SetSRID(ST_MakePoint(t.lng, t.lat), 4326), now(), now()
            FROM _changsha_poi t
            ON CONFLICT (source, source_id) DO UPDATE SET
                name = EXCLUDED.name, category = EXCLUDED.category, source_class = EXCLUDED.source_class,
                geom = EXCLUDED.geom, updated_at = EXCLUDED.updated_at
            WHERE (p.name, p.category, p.source_class) IS DISTINCT FROM
                  (EXCLUDED.name, EXCLUDED.category, EXCLUDED.source_class)
               OR NOT ST_Equals(p.geom, EXCLUDED.geom)
            """,
            [POI_SOURCE],
        )
        cursor.execute(
            f"DELETE FROM {poi_table} p WHERE p.source = %s"
            " AND NOT EXISTS (SELECT 1 FROM _changsha_poi t WHERE t.source_id = p.source_id)",
            [POI_SOURCE],
        )
        poi_deleted = cursor.rowcount
        cursor.execute(f"ANALYZE {division_table}")
        cursor.execute(f"ANALYZE {poi_table}")
        _assign_pois_to_communities(cursor, division_table, poi_table)

        cursor.execute(
            "SELECT d.level, count(*), count(*) FILTER (WHERE d.geometry_source = %s)"
            f" FROM {division_table} d"
            " JOIN _changsha_division t ON t.code = d.code GROUP BY d.level",
            [GeometrySource.SYNTHETIC],
        )
        level_counts = {level: (total, synthetic) for level, total, synthetic in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE division_id IS NULL)"
            f" FROM {poi_table} WHERE source = %s",
            [POI_SOURCE],
        )
        poi_total, poi_without_division = cursor.fetchone()

    counts = {level: level_counts.get(level, (0, 0))[0] for level in DivisionLevel.values}
    counts["division_synthetic"] = sum(synthetic for _, synthetic in level_counts.values())
    counts.update(poi=poi_total, poi_deleted=poi_deleted, poi_without_division=poi_without_division)
    audit_log(actor=None, action="gis_core.places.changsha_loaded", data=counts)
    transaction.on_commit(gazetteer_invalidate)  # the offline geocoder's names changed (GC-2)
    return counts


def _assign_pois_to_communities(cursor, division_table: str, poi_table: str) -> None:
    """Set every OSM POI's division to the community containing it, in a few set-based statements."""
    cursor.execute(
        "CREATE TEMP TABLE _changsha_poi_division (poi_id bigint, division_id bigint) ON COMMIT DROP"
    )
    # Polygon-driven LATERAL join: about 10x faster than letting the planner loop over the points.
    cursor.execute(
        f"""
        INSERT INTO _changsha_poi_division (poi_id, division_id)
        SELECT x.id, d.id FROM {division_table} d
        CROSS JOIN LATERAL (
            SELECT p.id FROM {poi_table} p WHERE p.source = %s AND ST_Contains(d.geom, p.geom) OFFSET 0
        ) x
        WHERE d.level = %s AND d.geom IS NOT NULL
        """,
        [POI_SOURCE, DivisionLevel.COMMUNITY],
    )
    # Points on a shared edge or in the 1e-6° rounding noise between cells: the nearest community.
    cursor.execute(
        f"""
        INSERT INTO _changsha_poi_division (poi_id, division_id)
        SELECT p.id, n.id FROM {poi_table} p
        CROSS JOIN LATERAL (
            SELECT d.id FROM {division_table} d
            WHERE d.level = %s AND ST_DWithin(d.geom, p.geom, %s)
            ORDER BY d.geom <-> p.geom, d.code LIMIT 1
        ) n
        WHERE p.source = %s AND NOT EXISTS (SELECT 1 FROM _changsha_poi_division a WHERE a.poi_id = p.id)
        """,
        [DivisionLevel.COMMUNITY, NEAREST_COMMUNITY_DEGREES, POI_SOURCE],
    )
    cursor.execute(
        f"""
        UPDATE {poi_table} p SET division_id = a.division_id
        FROM (SELECT DISTINCT ON (poi_id) poi_id, division_id FROM _changsha_poi_division
              ORDER BY poi_id, division_id) a
        WHERE p.id = a.poi_id AND p.division_id IS DISTINCT FROM a.division_id
        """
    )
    cursor.execute(
        f"""
        UPDATE {poi_table} p SET division_id = NULL
        WHERE p.source = %s AND p.division_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _changsha_poi_division a WHERE a.poi_id = p.id)
        """,
        [POI_SOURCE],
    )
