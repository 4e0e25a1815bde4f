"""Reads of grid rating (GR-7): schemes, a grid's latest rating, a rating job. Every read takes the
actor and applies the data scope first (kept apart from grids/selectors.py, which another part owns).

Rating schemes are bank-wide configuration (RatingScheme has no institution), so any actor who may
read grids of a subtree or run ratings may read them; a grid's rating is as visible as the grid
(`Grid.objects.for_actor`); a job is visible to raters whose scope covers the job's institution.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gis_core.errors import NotFound
from gis_core.scope import in_scope
from grids.models import Grid, GridRating, RatingScheme
from grids.permissions import Perm
from grids.services.rating import rating_job_read


def _may_read_schemes(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and (
        actor.has_perm_code(Perm.GRID_VIEW_SUBTREE) or actor.has_perm_code(Perm.GRID_RATE)
    )


def rating_scheme_list(*, actor: Any) -> QuerySet[RatingScheme]:
    """All schemes, the active one first."""
    return RatingScheme.objects.all() if _may_read_schemes(actor) else RatingScheme.objects.none()


def rating_scheme_get(*, actor: Any, pk: int) -> RatingScheme:
    scheme = rating_scheme_list(actor=actor).filter(pk=pk).first()
    if scheme is None:
        raise NotFound()
    return scheme


def grid_rating_get(*, actor: Any, grid_id: int) -> tuple[Grid, GridRating | None]:
    """The grid (404 when the actor cannot see it) and its most recent rating, if any."""
    grid = Grid.objects.get_in_scope(actor, pk=grid_id)
    rating = GridRating.objects.filter(grid=grid).select_related("scheme").order_by("-computed_at", "-id").first()
    return grid, rating


def rating_job_get(*, actor: Any, job_id: str) -> dict[str, Any]:
    """A rating job record; 404 when unknown, expired, or about an institution outside the actor's scope."""
    job = rating_job_read(str(job_id))
    if job is None or not getattr(actor, "is_authenticated", False) or not actor.has_perm_code(Perm.GRID_RATE):
        raise NotFound()
    if not in_scope(actor, job["institution_path"]):
        raise NotFound()
    return job
