"""Grid files in and out (GR-4): GeoJSON, zipped Shapefile, KML or GeoPackage in a chosen datum.

Import reads the file (grids.fileio: format by content, datum given by the user) and hands the
features to `grids_import`, which creates all of them or none. File-level problems keep their
`file_*` codes. An export takes data out of the platform, so it is audited like a write
(`grids.grid.exported`) with the format, datum, filters and number of grids.
"""
from __future__ import annotations

from typing import Any, Sequence

from django.db import transaction

from gis_core.audit import audit_log
from gis_core.errors import ValidationFailed
from grids import fileio
from gis_core.models import Institution
from grids.models import Grid
from grids.services.common import to_shapely


def _properties(grid: Grid) -> dict[str, Any]:
    """The attributes written per grid; `name` and `code` are what an import reads back."""
    return {
        "code": grid.code,
        "name": grid.name,
        "kind": grid.kind,
        "level": grid.level,
        "virtual_type": grid.virtual_type,
        "parent_code": grid.parent.code if grid.parent_id else "",
        "institution": grid.institution.code,
        "business_lines": ",".join(grid.business_lines),
        "status": grid.status,
        "version": grid.version,
        "area_m2": round(grid.area_m2, 1),
        "description": grid.description,
    }


@transaction.atomic
def grids_export(
    *, actor: Any, grids: Sequence[Grid], fmt: str, crs: str, filters: dict[str, Any] | None = None
) -> tuple[bytes, str, str]:
    """Write the grids (already read through the actor's scope) as `fmt` in datum `crs`; returns
    (bytes, content type, file suffix) and records who exported what."""
    try:
        payload, content_type, suffix = fileio.write_grid_file(
            [(_properties(g), to_shapely(g.geom)) for g in grids], fmt=fmt, crs=crs
        )
    except fileio.GridFileError as exc:
        raise _file_error(exc) from None
    audit_log(
        actor=actor, action="grids.grid.exported",
        data={"format": fmt, "crs": str(crs), "count": len(grids), "filters": {k: str(v) for k, v in (filters or {}).items()}},
    )
    return payload, content_type, suffix


def _file_error(exc: fileio.GridFileError) -> ValidationFailed:
    return ValidationFailed(exc.message, code=exc.code, details={"problems": [p.as_dict() for p in exc.problems]})


def grids_import_file(
    *,
    actor: Any,
    data: bytes,
    filename: str,
    crs: str,
    institution: Institution,
    kind: str,
    parent: Grid | None = None,
    level: str = "",
    virtual_type: str = "",
    business_lines: Sequence[str] = (),
    reason: str = "",
) -> list[Grid]:
    """Read an uploaded grid file and create one grid per feature, all or nothing."""
    from grids.services.editing import grids_import

    try:
        features = fileio.read_grid_file(data, filename=filename, crs=crs)
    except fileio.GridFileError as exc:
        raise _file_error(exc) from None
    return grids_import(
        actor=actor, features=features, institution=institution, kind=kind, parent=parent, level=level,
        virtual_type=virtual_type, business_lines=business_lines, reason=reason,
    )
