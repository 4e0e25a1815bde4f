"""Reverse geocoding (GC-2): a WGS-84 point → the district, street and community it lies in, and the
nearest POI with its distance in metres.

Why this module exists
----------------------
A pin moved by hand (GC-3), a visit check-in or a map click needs to say *where* it is in the bank's
own terms — the official division codes — without a commercial API. Two indexed PostGIS queries do it:
``ST_Intersects`` on the division polygons (GiST index via ``&&``) and a KNN ``<->`` search for the
nearest POI, whose distance is then measured on the sphere (``ST_DistanceSphere``) in metres.
"""
from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection

from gis_core.models import AdminDivision, Poi

__all__ = ["reverse_geocode"]

_LEVELS = ("city", "district", "street", "community")


def reverse_geocode(point: Point) -> dict[str, Any]:
    """Divisions containing ``point`` (WGS-84) and its nearest POI.

    Returns ``{"point": [lng, lat], "city"|"district"|"street"|"community": {"code", "name"} or None,
    "nearest_poi": {"id", "name", "category", "distance_m"} or None}``. A point on a shared edge gets
    the unit with the smallest code, so the answer is deterministic.
    """
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    lng, lat = float(point.x), float(point.y)
    division_table = AdminDivision._meta.db_table
    poi_table = Poi._meta.db_table
    answer: dict[str, Any] = {"point": [lng, lat], **{level: None for level in _LEVELS}, "nearest_poi": None}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT ON (d.level) d.level, d.code, d.name
            FROM {division_table} d
            WHERE d.level = ANY(%s) AND d.geom IS NOT NULL
              AND ST_Intersects(d.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
            ORDER BY d.level, d.code
            """,
            [list(_LEVELS), lng, lat],
        )
        for level, code, name in cursor.fetchall():
            answer[level] = {"code": code, "name": name}
        cursor.execute(
            f"""
            SELECT p.id, p.name, p.category,
                   ST_DistanceSphere(p.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
            FROM {poi_table} p
            ORDER BY p.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326), p.id
            LIMIT 1
            """,
            [lng, lat, lng, lat],
        )
        row = cursor.fetchone()
    if row is not None:
        poi_id, name, category, distance = row
        answer["nearest_poi"] = {
            "id": poi_id, "name": name, "category": category, "distance_m": round(distance, 1),
        }
    return answer
