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


# --- rating (GR-7) -----------------------------------------------------------------------------
@shared_task(name="grids.rate_grids", queue="geo", acks_late=True)
def rate_grids(
    scheme_id: int, level: str, institution_id: int | None, job_id: str | None = None, actor_id: int | None = None
) -> dict:
    """Rate one level's grids (in one institution subtree) under one scheme; the job record in the
    cache follows progress. Safe to run twice: ratings are upserted per grid and scheme."""
    from grids.services.rating import rating_job_run

    return rating_job_run(scheme_id=scheme_id, level=level, institution_id=institution_id, job_id=job_id, actor_id=actor_id)


@shared_task(name="grids.rate_all_nightly", queue="geo", acks_late=True)
def rate_all_nightly() -> dict:
    """Nightly (Celery beat): rate every level and virtual type, bank-wide, with the active scheme."""
    from grids.services.rating import grids_rate_all

    return grids_rate_all()


@shared_task(name="grids.generate_children", queue="geo", acks_late=True)
def generate_children(job_id: int) -> str:
    """Compute the drafts of one generation job (GR-10). A job that is no longer pending or running
    is left alone, so a redelivered or repeated task changes nothing."""
    from grids.services.generation import generation_run

    return generation_run(job_id=job_id)
