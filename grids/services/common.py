"""Helpers shared by the grid services: geometry conversion, error mapping, history, locking."""
from __future__ import annotations

from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _

from gis_core.audit import audit_log
from gis_core.errors import Conflict, PermissionDenied, ValidationFailed
from gis_core.scope import in_scope
from grids import geometry as geo
from grids.models import Grid, GridHistory


def to_shapely(geom: GEOSGeometry) -> shapely.Geometry:
    return shapely.from_wkb(bytes(geom.wkb))


def to_geos(geom: shapely.Geometry) -> MultiPolygon:
    multi = geo.to_multipolygon(geom)
    out = GEOSGeometry(memoryview(shapely.to_wkb(multi)), srid=4326)
    return out if isinstance(out, MultiPolygon) else MultiPolygon(out, srid=4326)


def geometry_error(exc: "geo.GeometryError", *, feature: Any = None) -> ValidationFailed:
    """Turn a pure-geometry error into the API's validation error, keeping code, place and details."""
    details: dict[str, Any] = {"reason": exc.code, **(exc.details or {})}
    if exc.location is not None:
        details["location"] = {"lng": round(exc.location[0], 7), "lat": round(exc.location[1], 7)}
    if feature is not None:
        details["feature"] = feature
    return ValidationFailed(exc.message, code=exc.code, details=details)


def check_scope(actor: Any, grid_or_institution_path: str) -> None:
    if actor is not None and not in_scope(actor, grid_or_institution_path):
        raise PermissionDenied()


def lock_grid(grid_id: int) -> Grid:
    """Row-lock one grid for the rest of the transaction."""
    return Grid.objects.select_for_update().get(pk=grid_id)


def check_version(grid: Grid, expected_version: int | None) -> None:
    """Optimistic locking: an edit based on an old version gets 409 with the current one."""
    if expected_version is None:
        raise ValidationFailed(_("缺少版本号"), code="version_required", details={"current_version": grid.version})
    if grid.version != expected_version:
        raise Conflict(
            _("网格「%(name)s」已被他人修改（当前版本 %(current)s），请刷新后重试")
            % {"name": grid.name, "current": grid.version},
            code="grid_version_conflict",
            details={"current_version": grid.version, "your_version": expected_version},
        )


def snapshot(grid: Grid) -> dict[str, Any]:
    return {
        "code": grid.code, "name": grid.name, "kind": grid.kind, "level": grid.level, "virtual_type": grid.virtual_type,
        "parent_id": grid.parent_id, "institution_id": grid.institution_id, "business_lines": list(grid.business_lines),
        "status": grid.status, "area_m2": round(grid.area_m2, 1), "description": grid.description,
    }


def record(
    *, grid: Grid, action: str, actor: Any, before: dict | None = None, geom_before: Any = None,
    geom_changed: bool = False, reason: str = "", data: dict | None = None,
) -> None:
    """History row + audit entry for one change, in the caller's transaction."""
    GridHistory.objects.create(
        grid=grid, version=grid.version, action=action, before=before or {}, after=snapshot(grid),
        geom_before=geom_before if geom_changed else None, geom_after=grid.geom if geom_changed else None,
        reason=reason, actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_log(actor=actor, action=f"grids.grid.{action}", obj=grid, data={"version": grid.version, "reason": reason, **(data or {})})


def after_commit(fn) -> None:
    transaction.on_commit(fn)
