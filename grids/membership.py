"""Spatial membership: which grid of each level holds a point (CR-10, FW-1, GR-7).

Apps with located rows register their table here (grids imports none of them):

    register_point_table(PointTable(key="crm.customer", model=Customer, geom_field="location",
                                    level_fields={"district": "grid_district", "street": "grid_street",
                                                  "community": "grid_community", "building": "grid_building"}))

`points_place(key)` sets every level column of every row in ONE SQL statement. The join is driven
from the polygons (a LATERAL probe of the point index per grid), which measured 2x faster than the
obvious `UPDATE … FROM grids WHERE ST_Contains(...)` (../shared/research/stack-proto.md §4a), and
rows whose grids did not change are not rewritten.

Boundary rule: a point belongs to the active physical grids whose polygon *intersects* it (edges
included); a point exactly on an edge shared by two grids of one level belongs to the grid with the
smaller id. The same rule serves single points (`grid_for_point`), so bulk and single placement agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection, models

from grids.choices import GridKind, GridStatus
from grids.models import Grid


@dataclass(frozen=True)
class PointTable:
    key: str
    model: type[models.Model]
    geom_field: str
    level_fields: dict[str, str] = field(default_factory=dict)  # grid level -> FK field name on the model

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def column(self, field_name: str) -> str:
        return self.model._meta.get_field(field_name).column

    @property
    def pk(self) -> str:
        return self.model._meta.pk.column


_TABLES: dict[str, PointTable] = {}


def register_point_table(spec: PointTable) -> None:
    _TABLES[spec.key] = spec


def point_tables() -> dict[str, PointTable]:
    return dict(_TABLES)


def placement_sql(spec: PointTable, *, area: bool = False) -> str:
    """The one UPDATE that places every point (or every point inside %(area)s) into grids of every level."""
    geom = spec.column(spec.geom_field)
    levels = list(spec.level_fields.items())
    level_list = ", ".join(f"'{lvl}'" for lvl, _f in levels)
    pivots = ",\n           ".join(f"max(m.gid) FILTER (WHERE m.level = '{lvl}') AS l_{i}" for i, (lvl, _f) in enumerate(levels))
    sets = ", ".join(f"{spec.column(f)} = p.l_{i}" for i, (_lvl, f) in enumerate(levels))
    changed = " OR ".join(f"t.{spec.column(f)} IS DISTINCT FROM p.l_{i}" for i, (_lvl, f) in enumerate(levels))
    area_filter_points = f"AND ST_Intersects(s.{geom}, ST_GeomFromText(%(area)s, 4326))" if area else ""
    area_filter_grids = "AND g.geom && ST_GeomFromText(%(area)s, 4326)" if area else ""
    area_filter_rows = f"AND ST_Intersects(t.{geom}, ST_GeomFromText(%(area)s, 4326))" if area else ""
    return f"""
WITH m AS (
    SELECT DISTINCT ON (x.id, g.level) x.id AS pid, g.level, g.id AS gid
    FROM {Grid._meta.db_table} g
    CROSS JOIN LATERAL (
        SELECT s.{spec.pk} AS id FROM {spec.table} s
        WHERE ST_Intersects(g.geom, s.{geom}) {area_filter_points} OFFSET 0
    ) x
    WHERE g.kind = '{GridKind.PHYSICAL}' AND g.status = '{GridStatus.ACTIVE}' AND g.level IN ({level_list}) {area_filter_grids}
    ORDER BY x.id, g.level, g.id
), p AS (
    SELECT t.{spec.pk} AS pid,
           {pivots.replace('max(m.gid)', 'max(m.gid)')}
    FROM {spec.table} t LEFT JOIN m ON m.pid = t.{spec.pk}
    WHERE t.{geom} IS NOT NULL {area_filter_rows}
    GROUP BY t.{spec.pk}
)
UPDATE {spec.table} t SET {sets}
FROM p WHERE t.{spec.pk} = p.pid AND ({changed})
"""


def points_place(key: str, *, area: GEOSGeometry | None = None) -> int:
    """Place the points of one registered table (all of them, or those inside `area`). Returns the
    number of rows whose grids changed."""
    spec = _TABLES[key]
    params: dict[str, Any] = {"area": area.wkt} if area is not None else {}
    with connection.cursor() as cursor:
        cursor.execute(placement_sql(spec, area=area is not None), params)
        return cursor.rowcount


def points_place_all(*, area: GEOSGeometry | None = None) -> dict[str, int]:
    return {key: points_place(key, area=area) for key in _TABLES}


def grid_for_point(point: Point, *, level: str) -> Grid | None:
    """The active physical grid of `level` holding the point, by the same boundary rule as bulk."""
    return (
        Grid.objects.filter(kind=GridKind.PHYSICAL, status=GridStatus.ACTIVE, level=level, geom__intersects=point)
        .order_by("id")
        .first()
    )


def grids_for_point(point: Point, *, levels: list[str]) -> dict[str, Grid | None]:
    return {level: grid_for_point(point, level=level) for level in levels}
