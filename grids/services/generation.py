"""Generation of child grids (GR-10) as background jobs that produce drafts a manager reviews.

Why it exists: drawing 40 community grids by hand is a day's work; the platform proposes them —
from the admin divisions below the parent's division, from H3 hexagons, from a Voronoi partition
around the bank's outlets, or by a target household count (the 500–1,000-household rule of
Chinese rural banks) — and a branch manager reviews the proposal before it replaces anything.

Flow:

1. `generation_start` checks the parent and the parameters (bad input is refused with 400 before a
   job exists), creates a `GridGenerationJob` (pending) and enqueues `grids.generate_children` on
   commit; the API answers 202 with the job's URL.
2. `generation_run` (the task's body) computes the children with the pure functions of
   `grids.geometry`, writes one `GridDraft` per child and a report (coverage of the parent, gaps,
   overlaps, household balance) and marks the job `ready`; any error marks it `failed` with a
   stable code and a message, never a stack trace. Running it twice is harmless.
3. `generation_apply` turns the drafts into grids through `grid_create` (so every rule applies), in
   one transaction, optionally retiring the parent's current children first; `generation_discard`
   drops the proposal.

Households are read from the spatial-membership registry (`grids.membership`), never from crm.
"""
from __future__ import annotations

import logging
import math
from typing import Any

import h3
import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import Point, mapping

from gis_core.audit import audit_log
from gis_core.choices import AuditResult, DivisionLevel, InstitutionKind
from gis_core.crs import CRS, UnknownCRSError, convert_point, parse_crs
from gis_core.errors import ApplicationError, ValidationFailed
from gis_core.models import AdminDivision, Institution
from grids import geometry as geo
from grids.choices import GenerationMethod, GridKind, GridLevel, GridStatus, HistoryAction, JobStatus, child_level
from grids.membership import point_tables
from grids.models import Grid, GridDraft, GridGenerationJob
from grids.services.common import check_scope, lock_grid, to_geos, to_shapely
from grids.services.editing import grid_create, grid_retire, min_area_m2

logger = logging.getLogger(__name__)

# The registered point table whose rows count as households (registered by crm in its AppConfig).
HOUSEHOLD_POINTS = "crm.customer"
HOUSEHOLD_TARGET_MAX = 100_000
DEFAULT_TOLERANCE = 0.25
MAX_EXPLICIT_SEEDS = 5_000

# Grid level -> admin-division level of the same rank (buildings have no division).
_DIVISION_LEVEL = {
    GridLevel.CITY: DivisionLevel.CITY,
    GridLevel.DISTRICT: DivisionLevel.DISTRICT,
    GridLevel.STREET: DivisionLevel.STREET,
    GridLevel.COMMUNITY: DivisionLevel.COMMUNITY,
}
_ACTIVE_JOB_STATES = (JobStatus.PENDING, JobStatus.RUNNING)


# --------------------------------------------------------------------------- parameters


def _params_error(message: str, *, field: str, code: str = "generation_params_invalid") -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"params": {field: [message]}})


def _reject_unknown(params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed(
            _("未知的生成参数：%(names)s") % {"names": "、".join(unknown)},
            code="generation_params_invalid",
            details={"params": {name: [_("不支持此生成参数")] for name in unknown}},
        )


def _int_param(params: dict[str, Any], name: str, *, minimum: int, maximum: int, code: str) -> int:
    value = params.get(name)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _params_error(
            _("参数 %(name)s 必须是 %(min)s 到 %(max)s 之间的整数") % {"name": name, "min": minimum, "max": maximum},
            field=name, code=code,
        )
    return value


def _child_divisions(parent: Grid, level: str):
    return AdminDivision.objects.filter(
        parent=parent.division, level=_DIVISION_LEVEL.get(level, ""), geom__isnull=False
    ).order_by("code")


def _clean_admin_divisions(parent: Grid, level: str, params: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(params, set())
    if parent.division_id is None:
        raise ValidationFailed(
            _("网格「%(name)s」未关联行政区划，不能按行政区划生成") % {"name": parent.name}, code="generation_no_division"
        )
    if level not in _DIVISION_LEVEL or not _child_divisions(parent, level).exists():
        raise ValidationFailed(
            _("行政区划「%(division)s」没有带边界的下级区划") % {"division": parent.division.name},
            code="generation_no_child_divisions",
        )
    return {}


def _clean_h3(parent: Grid, params: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(params, {"resolution"})
    resolution = _int_param(
        params, "resolution", minimum=geo.H3_MIN_RESOLUTION, maximum=geo.H3_MAX_RESOLUTION,
        code="generation_resolution_invalid",
    )
    estimate = int(parent.area_m2 / h3.average_hexagon_area(resolution, unit="m^2"))
    if estimate > geo.MAX_GENERATED_CELLS:
        raise ValidationFailed(
            _("将生成约 %(count)s 个网格，超过上限 %(max)s 个，请降低分辨率")
            % {"count": estimate, "max": geo.MAX_GENERATED_CELLS},
            code="generation_too_many_cells",
            details={"cell_count": estimate, "max_cells": geo.MAX_GENERATED_CELLS},
        )
    return {"resolution": resolution}


def _clean_seed(index: int, raw: Any) -> dict[str, Any]:
    field = f"seeds[{index}]"
    if not isinstance(raw, dict):
        raise _params_error(_("种子点必须包含 lng、lat"), field=field)
    lng, lat = raw.get("lng"), raw.get("lat")
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in (lng, lat)):
        raise _params_error(_("种子点的经纬度必须是数字"), field=field)
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise _params_error(_("种子点的经纬度超出范围"), field=field)
    try:
        crs = parse_crs(raw.get("crs") or CRS.WGS84)
    except UnknownCRSError:
        raise _params_error(_("种子点的坐标系未知"), field=field, code="crs_unknown") from None
    lng, lat = convert_point(float(lng), float(lat), src=crs, dst=CRS.WGS84)
    name = str(raw.get("name") or "")[:100]
    return {"lng": round(lng, 7), "lat": round(lat, 7), "name": name}


def _institution_seeds(parent: Grid) -> list[dict[str, Any]]:
    """The bank's sub-branches and outlets located inside the parent (their Voronoi cells)."""
    rows = Institution.objects.filter(
        kind__in=[InstitutionKind.SUB_BRANCH, InstitutionKind.OUTLET], is_active=True,
        location__isnull=False, location__intersects=parent.geom,
    ).order_by("code")
    return [
        {"lng": i.location.x, "lat": i.location.y, "name": i.name, "institution": i.pk} for i in rows
    ]


def _clean_voronoi(parent: Grid, params: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(params, {"seeds"})
    if "seeds" in params:
        raw = params["seeds"]
        if not isinstance(raw, list) or len(raw) > MAX_EXPLICIT_SEEDS:
            raise _params_error(_("种子点必须是不超过 %(max)s 个点的列表") % {"max": MAX_EXPLICIT_SEEDS}, field="seeds")
        seeds = [_clean_seed(i, s) for i, s in enumerate(raw)]
        source = "params"
    else:
        seeds, source = _institution_seeds(parent), "institutions"
    parent_shape = to_shapely(parent.geom)
    inside = shapely.intersects_xy(parent_shape, [s["lng"] for s in seeds], [s["lat"] for s in seeds]) if seeds else []
    if int(np.count_nonzero(inside)) < 2:
        raise ValidationFailed(
            _("上级网格内至少需要两个种子点（网点位置）才能生成泰森多边形"),
            code="generation_no_seeds",
            details={"seeds_inside": int(np.count_nonzero(inside)), "source": source},
        )
    return {"seeds": seeds, "seed_source": source}  # resolved now, so the job is reproducible


def _clean_households(parent: Grid, params: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(params, {"target", "tolerance"})
    target = _int_param(params, "target", minimum=1, maximum=HOUSEHOLD_TARGET_MAX, code="generation_target_invalid")
    tolerance = params.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 < tolerance <= 1:
        raise _params_error(_("容差必须是 0 到 1 之间的小数（如 0.25 表示 ±25%）"), field="tolerance")
    if household_count(parent.geom) == 0:
        raise ValidationFailed(
            _("上级网格内没有已定位的客户，无法按户数划分"), code="generation_no_points", details={"points": 0}
        )
    return {"target": target, "tolerance": float(tolerance)}


def _household_query(select: str, area: GEOSGeometry) -> list[tuple] | None:
    spec = point_tables().get(HOUSEHOLD_POINTS)
    if spec is None:
        return None
    quote = connection.ops.quote_name
    column, table = quote(spec.column(spec.geom_field)), quote(spec.table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select.format(c=column)} FROM {table} "
            f"WHERE {column} IS NOT NULL AND ST_Intersects({column}, ST_GeomFromEWKB(%s))",
            [bytes(area.ewkb)],
        )
        return cursor.fetchall()


def household_points(area: GEOSGeometry) -> np.ndarray:
    """(lng, lat) of every registered household point inside `area`, as an (n, 2) array.

    Read generically through the membership registry (`crm.customer` registers its table), so
    grids never imports crm."""
    rows = _household_query("ST_X({c}), ST_Y({c})", area)
    return np.asarray(rows or [], dtype=float).reshape(-1, 2)


def household_count(area: GEOSGeometry) -> int:
    rows = _household_query("count(*)", area)
    return int(rows[0][0]) if rows else 0


def _clean_params(*, parent: Grid, method: str, level: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == GenerationMethod.ADMIN_DIVISIONS:
        return _clean_admin_divisions(parent, level, params)
    if method == GenerationMethod.H3:
        return _clean_h3(parent, params)
    if method == GenerationMethod.VORONOI:
        return _clean_voronoi(parent, params)
    if method == GenerationMethod.HOUSEHOLDS:
        return _clean_households(parent, params)
    raise ValidationFailed(
        _("未知的生成方式"), code="generation_method_invalid", details={"method": [_("可选：%(v)s") % {"v": ", ".join(GenerationMethod.values)}]}
    )


# --------------------------------------------------------------------------- start


def _check_parent(parent: Grid) -> str:
    """The level of the children to generate; refuses parents that cannot have generated children."""
    if parent.kind != GridKind.PHYSICAL:
        raise ValidationFailed(_("只能为实体网格生成下级网格"), code="generation_parent_not_physical")
    if parent.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("上级网格已撤销，不能生成下级网格"), code="grid_parent_retired")
    level = child_level(parent.level)
    if level is None:
        raise ValidationFailed(
            _("「%(name)s」已是最底层网格，不能再生成下级网格") % {"name": parent.name}, code="generation_no_child_level"
        )
    return level


@transaction.atomic
def generation_start(*, actor: Any, parent: Grid, method: str, params: dict[str, Any] | None = None) -> GridGenerationJob:
    """Check the request and queue a generation job for `parent`; the task starts after commit."""
    check_scope(actor, parent.institution.path)
    level = _check_parent(parent)
    if not isinstance(params, dict | None):
        raise ValidationFailed(_("生成参数必须是对象"), code="generation_params_invalid")
    clean = _clean_params(parent=parent, method=method, level=level, params=dict(params or {}))
    job = GridGenerationJob.objects.create(
        parent=parent, method=method, params=clean, status=JobStatus.PENDING,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_log(actor=actor, action="grids.generation.started", obj=job,
              data={"parent": parent.code, "method": method, "params": clean})

    from grids.tasks import generate_children

    transaction.on_commit(lambda: generate_children.delay(job.pk))
    return job


# --------------------------------------------------------------------------- run (the task's body)


class _Progress:
    """Commits progress (0–100) of one job as the computation goes (readers poll it)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.value = 0

    def __call__(self, value: float) -> None:
        value = max(0, min(99, int(value)))
        if value > self.value:
            self.value = value
            GridGenerationJob.objects.filter(pk=self.job_id).update(progress=value)


def _claim(job_id: int) -> GridGenerationJob | None:
    """Mark the job running unless it is finished, applied or discarded (then leave it alone)."""
    with transaction.atomic():
        job = GridGenerationJob.objects.select_for_update().select_related("parent").filter(pk=job_id).first()
        if job is None or job.status not in _ACTIVE_JOB_STATES:
            return None
        job.status, job.progress, job.error = JobStatus.RUNNING, 0, {}
        job.save(update_fields=["status", "progress", "error"])
        return job


def _numbered_codes(parent: Grid, count: int) -> list[tuple[int, str]]:
    """`count` free codes `<parent code>-<n>` (n from 1, skipping codes already taken)."""
    prefix = f"{parent.code}-"
    taken = set(Grid.objects.filter(code__startswith=prefix).values_list("code", flat=True))
    out, n = [], 0
    while len(out) < count:
        n += 1
        if f"{prefix}{n}" not in taken:
            out.append((n, f"{prefix}{n}"))
    return out


def _free_code(code: str, taken: set[str]) -> str:
    if code not in taken:
        return code
    n = 1
    while f"{code}-{n}" in taken:
        n += 1
    return f"{code}-{n}"


def _cells_admin_divisions(job: GridGenerationJob, shape, progress: _Progress) -> tuple[list[dict], dict]:
    parent = job.parent
    level = child_level(parent.level)
    divisions = list(_child_divisions(parent, level))
    taken = set(Grid.objects.filter(code__in=[d.code for d in divisions]).values_list("code", flat=True))
    shapely.prepare(shape)
    cells = []
    for index, division in enumerate(divisions, start=1):
        division_shape = to_shapely(division.geom)
        if shape.covers(division_shape):
            piece = division_shape
        else:
            parts = [p for p in geo.to_multipolygon(division_shape.intersection(shape)).geoms if geo.area_m2(p) >= 1.0]
            piece = (parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)) if parts else None
        if piece is not None:
            cells.append({
                "code": _free_code(division.code, taken), "name": division.short_name or division.name,
                "division": division, "geom": piece,
                "stats": {"division_code": division.code, "division_share": round(geo.area_m2(piece) / max(geo.area_m2(division_shape), 1e-9), 4)},
            })
        progress(10 + 60 * index / max(len(divisions), 1))
    return cells, {"divisions": len(divisions), "division": parent.division.code if parent.division else None}


def _numbered(parent: Grid, pieces: list[tuple[Any, Any]], stat_key: str) -> list[dict]:
    codes = _numbered_codes(parent, len(pieces))
    return [
        {"code": code, "name": f"{parent.name} 网格{n}", "division": None, "geom": piece, "stats": {stat_key: key}}
        for (n, code), (key, piece) in zip(codes, pieces, strict=True)
    ]


def _cells_h3(job: GridGenerationJob, shape, progress: _Progress) -> tuple[list[dict], dict]:
    resolution = int(job.params["resolution"])
    pieces = geo.generate_h3(shape, resolution=resolution)
    progress(70)
    return _numbered(job.parent, pieces, "h3"), {"resolution": resolution}


def _cells_voronoi(job: GridGenerationJob, shape, progress: _Progress) -> tuple[list[dict], dict]:
    seeds = job.params["seeds"]
    pieces = geo.generate_voronoi(shape, seeds=[(i, Point(s["lng"], s["lat"])) for i, s in enumerate(seeds)])
    progress(70)
    cells = _numbered(job.parent, [(seeds[i], piece) for i, piece in pieces], "seed")
    return cells, {"seeds": len(seeds), "seeds_used": len(pieces), "seed_source": job.params.get("seed_source", "institutions")}


def _cells_households(job: GridGenerationJob, shape, progress: _Progress, points: np.ndarray) -> tuple[list[dict], dict]:
    target, tolerance = int(job.params["target"]), float(job.params.get("tolerance", DEFAULT_TOLERANCE))
    result = geo.generate_balanced(shape, points=points, target=target, tolerance=tolerance)
    progress(70)
    pieces = [(count, cell) for cell, count in zip(result.cells, result.counts, strict=True) if not cell.is_empty]
    balance = {
        "target": result.target, "tolerance": tolerance, "mean": round(result.mean, 1), "min": result.min,
        "max": result.max, "cv": round(result.cv, 4), "within_tolerance_share": round(result.within_tolerance_share, 4),
        "points": int(len(points)) - result.ignored_points,
    }
    return _numbered(job.parent, pieces, "households"), {"balance": balance}


_METHODS = {
    GenerationMethod.ADMIN_DIVISIONS: _cells_admin_divisions,
    GenerationMethod.H3: _cells_h3,
    GenerationMethod.VORONOI: _cells_voronoi,
}


def _count_points(cells: list[dict], points: np.ndarray) -> list[int]:
    if not len(points) or not cells:
        return [0] * len(cells)
    tree = shapely.STRtree(shapely.points(points))
    geoms = np.array([c["geom"] for c in cells], dtype=object)
    cell_index, _point_index = tree.query(geoms, predicate="intersects")
    return np.bincount(cell_index, minlength=len(cells)).astype(int).tolist()


def _report(shape, cells: list[dict], extra: dict, points: np.ndarray) -> dict[str, Any]:
    coverage = geo.coverage_report(shape, [(c["code"], c["geom"]) for c in cells])
    problems = []
    for cell in cells:
        try:
            geo.validate_grid_geometry(cell["geom"], min_area_m2=min_area_m2())
        except geo.GeometryError as exc:
            problems.append({"code": cell["code"], "reason": exc.code, "message": exc.message})
    counts = [c["stats"]["households"] for c in cells]
    return {
        "count": len(cells),
        "parent_area_m2": round(geo.area_m2(shape), 1),
        "coverage_ratio": round(coverage.covered_ratio, 6),
        "gap_area_m2": round(coverage.gap_area_m2, 1),
        "gaps": mapping(coverage.gaps) if coverage.gaps is not None else None,
        "overlap_area_m2": round(sum(o.area_m2 for o in coverage.overlaps), 1),
        "overlaps": [{"a": o.id_a, "b": o.id_b, "area_m2": round(o.area_m2, 1)} for o in coverage.overlaps[:50]],
        "households_total": int(len(points)),
        "households_per_grid": {"min": min(counts), "max": max(counts), "mean": round(sum(counts) / len(counts), 1)} if counts else None,
        "problems": problems,
        **extra,
    }


def _fail(job_id: int, code: str, message: str, details: dict | None = None) -> str:
    with transaction.atomic():
        job = GridGenerationJob.objects.select_for_update().get(pk=job_id)
        if job.status != JobStatus.RUNNING:  # discarded meanwhile: leave it alone
            return job.status
        job.status, job.finished_at = JobStatus.FAILED, timezone.now()
        job.error = {"code": code, "message": str(message), **({"details": details} if details else {})}
        job.save(update_fields=["status", "finished_at", "error"])
        audit_log(actor=None, action="grids.generation.failed", obj=job, result=AuditResult.FAILURE, data={"code": code})
    return JobStatus.FAILED


def generation_run(*, job_id: int) -> str:
    """Compute the drafts of one job (the body of the `grids.generate_children` task).

    Idempotent: a job that is not pending or running is left alone; a re-run of a running job
    (a redelivered task) replaces its drafts. Returns the job's final status."""
    job = _claim(job_id)
    if job is None:
        current = GridGenerationJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return current or "missing"
    progress = _Progress(job.pk)
    try:
        shape = geo.validate_grid_geometry(to_shapely(job.parent.geom), min_area_m2=min_area_m2())
        progress(5)
        points = household_points(job.parent.geom)
        if job.method == GenerationMethod.HOUSEHOLDS:
            cells, extra = _cells_households(job, shape, progress, points)
        else:
            cells, extra = _METHODS[GenerationMethod(job.method)](job, shape, progress)
        if not cells:
            raise geo.GeometryError("generation_empty", "没有生成任何网格。", "No grid was generated.")
        for cell, count in zip(cells, _count_points(cells, points), strict=True):
            cell["stats"].setdefault("households", count)  # the balanced method counted its own
        progress(80)
        report = _report(shape, cells, extra, points)
        progress(95)
    except geo.GeometryError as exc:
        details = {"location": {"lng": exc.location[0], "lat": exc.location[1]}} if exc.location else None
        return _fail(job.pk, exc.code, exc.message, details)
    except ApplicationError as exc:
        return _fail(job.pk, exc.code, str(exc.message))
    except Exception:  # noqa: BLE001 - any failure ends the job with a message, never a stack trace
        logger.exception("grid generation job %s failed", job.pk)
        return _fail(job.pk, "generation_failed", _("生成失败，请检查上级网格边界或联系管理员"))

    with transaction.atomic():
        job = GridGenerationJob.objects.select_for_update().get(pk=job.pk)
        if job.status != JobStatus.RUNNING:  # discarded (or finished by a twin run) meanwhile
            return job.status
        GridDraft.objects.filter(job=job).delete()
        GridDraft.objects.bulk_create([
            GridDraft(job=job, code=c["code"], name=c["name"][:100], division=c["division"], geom=to_geos(c["geom"]),
                      area_m2=geo.area_m2(c["geom"]), stats=c["stats"])
            for c in cells
        ], batch_size=500)
        job.status, job.progress, job.report, job.finished_at = JobStatus.READY, 100, report, timezone.now()
        job.save(update_fields=["status", "progress", "report", "finished_at"])
        audit_log(actor=None, action="grids.generation.ready", obj=job, data={"count": len(cells)})
    return JobStatus.READY


# --------------------------------------------------------------------------- apply / discard


def _lock_job(job: GridGenerationJob) -> GridGenerationJob:
    return GridGenerationJob.objects.select_for_update().get(pk=job.pk)


@transaction.atomic
def generation_apply(*, actor: Any, job: GridGenerationJob, replace_existing: bool = False) -> list[Grid]:
    """Create the reviewed drafts as child grids of the job's parent, all or nothing.

    Every draft goes through `grid_create`, so every rule (valid, inside the parent, no overlap,
    minimum area, unique code) applies. If the parent already has active children the call is
    refused unless `replace_existing`; then those children are retired first (they must have no
    children of their own)."""
    check_scope(actor, job.parent.institution.path)
    job = _lock_job(job)
    if job.status != JobStatus.READY:
        raise ValidationFailed(
            _("只有待审核的生成结果可以应用（当前状态：%(status)s）") % {"status": JobStatus(job.status).label},
            code="generation_not_ready", details={"status": job.status},
        )
    parent = lock_grid(job.parent_id)
    level = _check_parent(parent)
    children = list(Grid.objects.filter(parent=parent, kind=GridKind.PHYSICAL, status=GridStatus.ACTIVE).order_by("pk"))
    if children and not replace_existing:
        raise ValidationFailed(
            _("「%(name)s」已有 %(n)s 个下级网格；如需替换，请选择替换现有网格") % {"name": parent.name, "n": len(children)},
            code="generation_parent_has_children", details={"children": len(children)},
        )
    reason = _("按生成任务 %(job)s 替换") % {"job": job.pk}
    for child in children:
        grandchild = Grid.objects.filter(parent=child, status=GridStatus.ACTIVE).first()
        if grandchild is not None:
            raise ValidationFailed(
                _("下级网格「%(child)s」还有自己的下级网格「%(grandchild)s」，不能替换") % {"child": child.name, "grandchild": grandchild.name},
                code="generation_children_have_children", details={"child_id": child.pk, "grandchild_id": grandchild.pk},
            )
        grid_retire(actor=actor, grid=child, expected_version=child.version, reason=reason)
    drafts = list(job.drafts.select_related("division").order_by("id"))
    taken = set(Grid.objects.filter(code__in=[d.code for d in drafts]).values_list("code", flat=True))
    created = []
    for draft in drafts:
        code = _free_code(draft.code, taken)
        taken.add(code)
        try:
            grid = grid_create(
                actor=actor, code=code, name=draft.name, kind=GridKind.PHYSICAL, level=level, geom=draft.geom,
                institution=parent.institution, parent=parent, business_lines=parent.business_lines,
                division=draft.division, reason=_("由生成任务 %(job)s 创建") % {"job": job.pk},
                history_action=HistoryAction.GENERATED,
            )
        except ApplicationError as exc:
            exc.details = {**(exc.details or {}), "draft": {"id": draft.pk, "code": draft.code, "name": draft.name}}
            raise
        created.append(grid)
    job.status, job.finished_at = JobStatus.APPLIED, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    audit_log(actor=actor, action="grids.generation.applied", obj=job,
              data={"parent": parent.code, "created": len(created), "retired": [c.code for c in children]})
    return created


@transaction.atomic
def generation_discard(*, actor: Any, job: GridGenerationJob) -> GridGenerationJob:
    """Drop a proposal (its drafts are deleted). An applied job cannot be discarded."""
    check_scope(actor, job.parent.institution.path)
    job = _lock_job(job)
    if job.status == JobStatus.APPLIED:
        raise ValidationFailed(_("已应用的生成结果不能放弃"), code="generation_already_applied")
    if job.status == JobStatus.DISCARDED:
        return job
    GridDraft.objects.filter(job=job).delete()
    job.status, job.finished_at = JobStatus.DISCARDED, job.finished_at or timezone.now()
    job.save(update_fields=["status", "finished_at"])
    audit_log(actor=actor, action="grids.generation.discarded", obj=job, data={"parent_id": job.parent_id})
    return job
