"""Celery tasks of grids: take ids or WKT, call one service, safe to run twice."""
from __future__ import annotations

from celery import shared_task
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction


@shared_task(name="grids.points_replace_in_area", queue="geo", acks_late=True)
def points_replace_in_area(*, area_wkts: list[str]) -> dict[str, int]:
    """Re-place the registered points inside the areas a grid edit touched (idempotent)."""
    from grids.membership import points_place_all

    area = GEOSGeometry(area_wkts[0], srid=4326)
    for wkt in area_wkts[1:]:
        area = area.union(GEOSGeometry(wkt, srid=4326))
    with transaction.atomic():
        return points_place_all(area=area)


@shared_task(name="grids.points_place_all", queue="geo", acks_late=True)
def points_place_everything() -> dict[str, int]:
    """Bulk re-placement of every registered point table."""
    from grids.membership import points_place_all

    with transaction.atomic():
        return points_place_all()
