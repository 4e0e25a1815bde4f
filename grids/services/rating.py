"""Grid rating (网格评级, GR-7): score grids by resource value and difficulty on configurable,
weighted dimensions and grade them A/B/C/D, with a per-grid explanation a manager can read.

How a run works
---------------
1. The *rating set* is every active grid of one level (a `GridLevel`, or for virtual grids a
   `VirtualType`), optionally limited to one institution's subtree. Grids are only compared with
   the grids rated together with them.
2. Each dimension of the scheme is measured for ALL grids of the set by ONE SQL statement against
   PostGIS (never a per-grid loop) — see `DIMENSION_MEASURES`:
   - `customers_formal` / `customers_potential`: customers of the point table registered as
     "crm.customer" in `grids.membership` (grids never imports crm). For a physical level the table
     has a membership column for (district … building) the count goes through that column, so it
     follows the membership boundary rule; for city-level and virtual grids it counts by geometry.
   - `poi_<category>`: POIs of that `PoiCategory` inside the grid per km² of grid area.
   - `residential_estates`: number of residential POIs (住宅小区) inside the grid.
   - `outlets`: active institutions of kind sub-branch / outlet located inside the grid.
   - `area_km2`: the grid's area.
   - `competitors`: bank POIs whose name contains none of the scheme's `own_bank_keywords`
     (an option of the competitors dimension; default 农村商业银行 / 农商银行 / 农商行).
   Counting by geometry uses ST_Intersects: a point exactly on an edge shared by two grids counts
   for both (a measure-zero case; membership columns apply the smaller-id rule instead).
3. Raw values are normalised to 0–100 within the set, by the scheme's `normalisation`:
   - "percentile" (default): percentile rank, `100 · (r − 1) / (n − 1)` where r is the 1-based rank
     in ascending order and tied values share the AVERAGE of their ranks (so [0, 3, 3, 5] →
     0, 50, 50, 100). Robust to outliers: one huge grid does not squash everyone else.
   - "minmax": `100 · (v − min) / (max − min)`.
   When every grid has the same value (or the set has one grid) the dimension says nothing and
   every grid gets 50 under both methods.
4. score = (Σ weight·norm over value dimensions + Σ weight·(100 − norm) over difficulty
   dimensions) / Σ weights, so 0–100; rounded to 2 decimals. Grade: score ≥ A → A, ≥ B → B,
   ≥ C → C, else D. The explanation lists, per dimension, raw value, normalised value, weight and
   contribution (weight·norm/Σweights; the contributions add up to the score) and the thresholds.
5. Results are upserted into GridRating (one row per grid and scheme: running twice writes the same
   rows, never duplicates) and copied to Grid.rating_grade / rating_score without bumping the
   grid's version (a rating is derived data, not an edit — editors must not get 409 for it).
   One audit entry per run with the counts, not one per grid.

Background jobs
---------------
A run is started by `rating_run_start`, which answers with a job id; the Celery task
`grids.rate_grids` does the work. The job is NOT a database row: it is a small record in the Django
cache (Redis) under `grids:rating-job:<uuid>` with status, progress and result counts, kept one
day. Rating has nothing to review or apply afterwards (unlike generation drafts), the durable
result is GridRating plus the audit entry, so a table of run rows would only grow. The cost: a job
id is forgotten after a day or if Redis is flushed — the ratings themselves are not.

Scheme storage (RatingScheme has no dedicated columns for the options): `normalisation` is kept
in the thresholds JSON under the key "normalisation" next to A/B/C, and `own_bank_keywords` on the
competitors entry of `dimensions`. Read them only through `scheme_thresholds` /
`scheme_normalisation` so moving them to columns later touches this module only.
"""
from __future__ import annotations

import math
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gis_core.audit import audit_log
from gis_core.choices import AuditResult, InstitutionKind, PoiCategory
from gis_core.errors import ApplicationError, PermissionDenied, ValidationFailed
from gis_core.models import Institution, Poi
from gis_core.scope import in_scope
from grids.choices import Grade, GridKind, GridLevel, GridStatus, VirtualType
from grids.models import Grid, GridRating, RatingScheme
from grids.permissions import Perm

# --- constants ---------------------------------------------------------------------------------
NORMALISATIONS = ("percentile", "minmax")
DEFAULT_OWN_BANK_KEYWORDS = ["农村商业银行", "农商银行", "农商行"]
CUSTOMER_TABLE_KEY = "crm.customer"
# Values of the customer table's `status` column (crm.choices.CustomerStatus; grids does not import crm).
CUSTOMER_STATUS_FORMAL = "formal"
CUSTOMER_STATUS_POTENTIAL = "potential"

JOB_KEY = "grids:rating-job:{job_id}"
JOB_TTL_SECONDS = 24 * 3600


class JobState:
    """States of a rating job record (kept in the cache, see the module docstring)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    LABELS = {
        PENDING: gettext_lazy("排队中"),
        RUNNING: gettext_lazy("进行中"),
        SUCCEEDED: gettext_lazy("已完成"),
        FAILED: gettext_lazy("失败"),
    }


# --- dimensions ---------------------------------------------------------------------------------
def dimension_catalogue() -> dict[str, str]:
    """Every dimension key a scheme may use, with its Chinese label."""
    catalogue = {
        "customers_formal": _("正式客户数"),
        "customers_potential": _("潜在客户数"),
        "residential_estates": _("住宅小区数"),
        "outlets": _("本行网点数"),
        "area_km2": _("面积（平方公里）"),
        "competitors": _("他行网点数"),
    }
    for category in PoiCategory:
        catalogue[f"poi_{category.value}"] = _("%(category)s密度（个/平方公里）") % {"category": category.label}
    return catalogue


def rating_levels() -> list[str]:
    """Values accepted as a run's `level`: physical levels, then virtual types."""
    return [*GridLevel.values, *VirtualType.values]


_AREA_KM2_SQL = "(COALESCE(NULLIF(g.area_m2, 0), ST_Area(g.geom::geography)) / 1000000.0)"
_GRID_TABLE = Grid._meta.db_table
_POI_TABLE = Poi._meta.db_table
_INSTITUTION_TABLE = Institution._meta.db_table


def _fetch(sql: str, params: dict[str, Any]) -> dict[int, float]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(gid): float(value or 0) for gid, value in cursor.fetchall()}


def _measure_customers(*, grid_ids: list[int], level: str, status: str) -> dict[int, float]:
    from grids.membership import point_tables

    spec = point_tables().get(CUSTOMER_TABLE_KEY)
    if spec is None:  # no customer table registered (crm not installed): nothing to count
        return {gid: 0.0 for gid in grid_ids}
    status_column = spec.column("status")
    level_field = spec.level_fields.get(level)
    if level_field:
        join = f"c.{spec.column(level_field)} = g.id"
    else:
        geom = spec.column(spec.geom_field)
        join = f"c.{geom} IS NOT NULL AND ST_Intersects(g.geom, c.{geom})"
    sql = f"""
        SELECT g.id, count(c.{spec.pk})
        FROM {_GRID_TABLE} g
        LEFT JOIN {spec.table} c ON {join} AND c.{status_column} = %(status)s
        WHERE g.id = ANY(%(ids)s::bigint[])
        GROUP BY g.id"""
    return _fetch(sql, {"ids": grid_ids, "status": status})


def _measure_poi(*, grid_ids: list[int], category: str, per_km2: bool) -> dict[int, float]:
    value = f"count(p.id) / NULLIF({_AREA_KM2_SQL}, 0)" if per_km2 else "count(p.id)"
    sql = f"""
        SELECT g.id, {value}
        FROM {_GRID_TABLE} g
        LEFT JOIN {_POI_TABLE} p ON ST_Intersects(g.geom, p.geom) AND p.category = %(category)s
        WHERE g.id = ANY(%(ids)s::bigint[])
        GROUP BY g.id"""
    return _fetch(sql, {"ids": grid_ids, "category": category})


def _measure_outlets(*, grid_ids: list[int]) -> dict[int, float]:
    sql = f"""
        SELECT g.id, count(i.id)
        FROM {_GRID_TABLE} g
        LEFT JOIN {_INSTITUTION_TABLE} i ON i.location IS NOT NULL AND ST_Intersects(g.geom, i.location)
             AND i.kind IN (%(sub_branch)s, %(outlet)s) AND i.is_active
        WHERE g.id = ANY(%(ids)s::bigint[])
        GROUP BY g.id"""
    return _fetch(sql, {"ids": grid_ids, "sub_branch": InstitutionKind.SUB_BRANCH, "outlet": InstitutionKind.OUTLET})


def _measure_area(*, grid_ids: list[int]) -> dict[int, float]:
    sql = f"SELECT g.id, {_AREA_KM2_SQL} FROM {_GRID_TABLE} g WHERE g.id = ANY(%(ids)s::bigint[])"
    return _fetch(sql, {"ids": grid_ids})


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _measure_competitors(*, grid_ids: list[int], own_bank_keywords: Sequence[str]) -> dict[int, float]:
    patterns = [f"%{_like_escape(k)}%" for k in own_bank_keywords]
    sql = f"""
        SELECT g.id, count(p.id)
        FROM {_GRID_TABLE} g
        LEFT JOIN {_POI_TABLE} p ON ST_Intersects(g.geom, p.geom) AND p.category = %(bank)s
             AND NOT (p.name ILIKE ANY(%(patterns)s::text[]))
        WHERE g.id = ANY(%(ids)s::bigint[])
        GROUP BY g.id"""
    return _fetch(sql, {"ids": grid_ids, "bank": PoiCategory.BANK, "patterns": patterns})


def measure_dimension(*, dimension: dict[str, Any], grid_ids: list[int], level: str) -> dict[int, float]:
    """Raw values of one dimension for every grid of the set, in one SQL statement."""
    key = dimension["key"]
    if not grid_ids:
        return {}
    if key == "customers_formal":
        return _measure_customers(grid_ids=grid_ids, level=level, status=CUSTOMER_STATUS_FORMAL)
    if key == "customers_potential":
        return _measure_customers(grid_ids=grid_ids, level=level, status=CUSTOMER_STATUS_POTENTIAL)
    if key == "residential_estates":
        return _measure_poi(grid_ids=grid_ids, category=PoiCategory.RESIDENTIAL, per_km2=False)
    if key == "outlets":
        return _measure_outlets(grid_ids=grid_ids)
    if key == "area_km2":
        return _measure_area(grid_ids=grid_ids)
    if key == "competitors":
        keywords = dimension.get("own_bank_keywords", DEFAULT_OWN_BANK_KEYWORDS)
        return _measure_competitors(grid_ids=grid_ids, own_bank_keywords=keywords)
    if key.startswith("poi_") and key[4:] in PoiCategory.values:
        return _measure_poi(grid_ids=grid_ids, category=key[4:], per_km2=True)
    raise ValueError(f"unknown rating dimension {key!r}")


# --- pure scoring -------------------------------------------------------------------------------
def normalise_percentile(values: Sequence[float]) -> list[float]:
    """Percentile rank 0–100 with ties averaged: 100·(r−1)/(n−1), r the average 1-based rank."""
    n = len(values)
    if n == 0:
        return []
    if n == 1:
        return [50.0]
    order = sorted(range(n), key=lambda i: values[i])
    ranks = [0.0] * n
    start = 0
    while start < n:
        end = start
        while end + 1 < n and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2  # 0-based average rank of the tie group
        for k in range(start, end + 1):
            ranks[order[k]] = average
        start = end + 1
    return [100.0 * r / (n - 1) for r in ranks]


def normalise_minmax(values: Sequence[float]) -> list[float]:
    """Min-max scaling to 0–100; 50 for everyone when all values are equal."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [50.0] * len(values)
    return [100.0 * (v - low) / (high - low) for v in values]


def grade_for(score: float, thresholds: dict[str, float]) -> str:
    if score >= thresholds["A"]:
        return Grade.A
    if score >= thresholds["B"]:
        return Grade.B
    if score >= thresholds["C"]:
        return Grade.C
    return Grade.D


@dataclass
class GridScore:
    grid_id: int
    score: float
    grade: str
    explanation: dict[str, Any]


def score_grids(
    *, grid_ids: Sequence[int], dimensions: Sequence[dict[str, Any]], raw: dict[str, dict[int, float]],
    thresholds: dict[str, float], normalisation: str, scheme: dict[str, Any] | None = None,
) -> list[GridScore]:
    """Normalise every dimension over the set, weight, sum and grade (pure; see the module docstring)."""
    normalise = normalise_minmax if normalisation == "minmax" else normalise_percentile
    total_weight = float(sum(d["weight"] for d in dimensions))
    ids = list(grid_ids)
    per_dimension: dict[str, tuple[list[float], list[float]]] = {}
    for d in dimensions:
        values = [round(float(raw[d["key"]].get(gid, 0.0)), 6) for gid in ids]
        per_dimension[d["key"]] = (values, normalise(values))
    grade_thresholds = {k: thresholds[k] for k in ("A", "B", "C")}
    catalogue = dimension_catalogue()
    out = []
    for index, gid in enumerate(ids):
        rows, total = [], 0.0
        for d in dimensions:
            values, norms = per_dimension[d["key"]]
            difficulty = bool(d.get("difficulty", False))
            effective = 100.0 - norms[index] if difficulty else norms[index]
            contribution = d["weight"] * effective / total_weight
            total += contribution
            rows.append({
                "key": d["key"], "label": catalogue.get(d["key"], d["key"]),
                "difficulty": difficulty, "raw": values[index], "normalised": round(norms[index], 4),
                "weight": d["weight"], "contribution": round(contribution, 4),
            })
        score = round(total, 2)
        grade = grade_for(score, grade_thresholds)
        out.append(GridScore(gid, score, grade, {
            "scheme": scheme or {}, "normalisation": normalisation, "set_size": len(ids),
            "total_weight": total_weight, "dimensions": rows, "score": score, "grade": grade,
            "thresholds": grade_thresholds,
        }))
    return out


# --- schemes ------------------------------------------------------------------------------------
def scheme_thresholds(scheme: RatingScheme) -> dict[str, float]:
    return {k: float(scheme.thresholds[k]) for k in ("A", "B", "C")}


def scheme_normalisation(scheme: RatingScheme) -> str:
    value = (scheme.thresholds or {}).get("normalisation", "percentile")
    return value if value in NORMALISATIONS else "percentile"


def default_scheme_values() -> dict[str, Any]:
    """The scheme created when none is active: customers first, then the economic surroundings;
    competition and a large area to cover count as difficulty."""
    return {
        "name": _("默认评级方案"),
        "dimensions": [
            {"key": "customers_formal", "weight": 25},
            {"key": "customers_potential", "weight": 15},
            {"key": "residential_estates", "weight": 15},
            {"key": "poi_shop", "weight": 10},
            {"key": "poi_company", "weight": 10},
            {"key": "outlets", "weight": 10},
            {"key": "competitors", "weight": 10, "difficulty": True, "own_bank_keywords": list(DEFAULT_OWN_BANK_KEYWORDS)},
            {"key": "area_km2", "weight": 5, "difficulty": True},
        ],
        "thresholds": {"A": 75, "B": 55, "C": 35},
        "normalisation": "percentile",
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _clean_scheme(
    *, name: Any, dimensions: Any, thresholds: Any, normalisation: Any
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Check a scheme; returns (name, dimensions, thresholds JSON) or raises 400 with one problem per fault."""
    problems: list[dict[str, Any]] = []

    def problem(field_name: str, code: str, message: str) -> None:
        problems.append({"field": field_name, "code": code, "message": message})

    catalogue = dimension_catalogue()
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        problem("name", "required", _("请填写方案名称"))
    elif len(name) > 100:
        problem("name", "too_long", _("方案名称不能超过100个字符"))

    clean_dims: list[dict[str, Any]] = []
    if not isinstance(dimensions, list) or not dimensions:
        problem("dimensions", "required", _("至少需要一个评级维度"))
        dimensions = []
    seen: set[str] = set()
    for i, d in enumerate(dimensions):
        where = f"dimensions[{i}]"
        if not isinstance(d, dict):
            problem(where, "invalid", _("维度格式错误"))
            continue
        key = d.get("key")
        if key not in catalogue:
            problem(f"{where}.key", "unknown_dimension", _("未知的评级维度「%(key)s」") % {"key": key})
            continue
        if key in seen:
            problem(f"{where}.key", "duplicate_dimension", _("评级维度「%(key)s」重复") % {"key": key})
            continue
        seen.add(key)
        weight = d.get("weight")
        if not _is_number(weight) or not (0 < weight <= 100):
            problem(f"{where}.weight", "invalid_weight", _("维度「%(label)s」的权重须大于0且不超过100") % {"label": catalogue[key]})
            continue
        difficulty = d.get("difficulty", False)
        if not isinstance(difficulty, bool):
            problem(f"{where}.difficulty", "invalid", _("「难度」须为是或否"))
            continue
        clean = {"key": key, "label": catalogue[key], "weight": weight, "difficulty": difficulty}
        if "own_bank_keywords" in d:
            keywords = d["own_bank_keywords"]
            if key != "competitors":
                problem(f"{where}.own_bank_keywords", "not_allowed", _("只有他行网点维度可以设置本行名称关键词"))
                continue
            well_formed = isinstance(keywords, list) and len(keywords) <= 20
            if not well_formed or not all(isinstance(k, str) and k.strip() for k in keywords):
                problem(f"{where}.own_bank_keywords", "invalid", _("本行名称关键词须为非空文字列表（最多20个）"))
                continue
            clean["own_bank_keywords"] = [k.strip() for k in keywords]
        elif key == "competitors":
            clean["own_bank_keywords"] = list(DEFAULT_OWN_BANK_KEYWORDS)
        clean_dims.append(clean)

    clean_thresholds: dict[str, Any] = {}
    if not isinstance(thresholds, dict) or set(thresholds) != {"A", "B", "C"}:
        problem("thresholds", "invalid", _("等级阈值须且只须包含A、B、C三项"))
    elif not all(_is_number(thresholds[k]) and 0 <= thresholds[k] <= 100 for k in ("A", "B", "C")):
        problem("thresholds", "out_of_range", _("等级阈值须在0到100之间"))
    elif not thresholds["A"] > thresholds["B"] > thresholds["C"]:
        problem("thresholds", "not_descending", _("等级阈值须满足A > B > C"))
    else:
        clean_thresholds = {k: thresholds[k] for k in ("A", "B", "C")}

    if normalisation not in NORMALISATIONS:
        problem("normalisation", "invalid", _("标准化方法须为 percentile 或 minmax"))
    else:
        clean_thresholds["normalisation"] = normalisation

    if problems:
        raise ValidationFailed(_("评级方案有误"), code="rating_scheme_invalid", details={"problems": problems})
    return name, clean_dims, clean_thresholds


def _check_may_rate(actor: Any) -> None:
    if actor is not None and not (getattr(actor, "is_authenticated", False) and actor.has_perm_code(Perm.GRID_RATE)):
        raise PermissionDenied()


@transaction.atomic
def rating_scheme_save(
    *, actor: Any, scheme: RatingScheme | None = None, name: str, dimensions: list[dict[str, Any]],
    thresholds: dict[str, Any], normalisation: str = "percentile", is_active: bool | None = None,
) -> RatingScheme:
    """Create (scheme=None) or replace a rating scheme after validating it (400 with every problem).

    `is_active=True` makes it THE active scheme (the nightly run uses it; others are deactivated);
    None keeps the current flag (a new scheme starts inactive)."""
    _check_may_rate(actor)
    name, clean_dims, clean_thresholds = _clean_scheme(
        name=name, dimensions=dimensions, thresholds=thresholds, normalisation=normalisation
    )
    created = scheme is None
    if created:
        scheme = RatingScheme(is_active=bool(is_active))
    else:
        scheme = RatingScheme.objects.select_for_update().get(pk=scheme.pk)
        if is_active is not None:
            scheme.is_active = is_active
    before = None if created else {"name": scheme.name, "dimensions": scheme.dimensions, "thresholds": scheme.thresholds}
    scheme.name, scheme.dimensions, scheme.thresholds = name, clean_dims, clean_thresholds
    scheme.save()
    if scheme.is_active:
        RatingScheme.objects.filter(is_active=True).exclude(pk=scheme.pk).update(is_active=False)
    audit_log(
        actor=actor, action="grids.rating_scheme." + ("created" if created else "updated"), obj=scheme,
        data={
            "before": before,
            "after": {"name": name, "dimensions": clean_dims, "thresholds": clean_thresholds, "is_active": scheme.is_active},
        },
    )
    return scheme


@transaction.atomic
def rating_scheme_default() -> RatingScheme:
    """The active scheme (newest if several); creates the default one when none is active."""
    with connection.cursor() as cursor:  # two first runs at once must not create two defaults
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(b"grids:rating-scheme-default")])
    scheme = RatingScheme.objects.filter(is_active=True).order_by("-created_at", "-id").first()
    if scheme is None:
        values = default_scheme_values()
        scheme = rating_scheme_save(actor=None, is_active=True, **values)
    return scheme


# --- running ------------------------------------------------------------------------------------
@dataclass
class RatingRunResult:
    scheme_id: int
    level: str
    institution_id: int | None
    rated: int
    grades: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"scheme_id": self.scheme_id, "level": self.level, "institution_id": self.institution_id,
                "rated": self.rated, "grades": self.grades}


def _check_level(level: str) -> None:
    if level not in rating_levels():
        raise ValidationFailed(_("未知的网格层级「%(level)s」") % {"level": level}, code="rating_level_invalid",
                               details={"level": level, "allowed": rating_levels()})


def rating_set(*, level: str, institution: Institution | None = None) -> list[int]:
    """Ids of the grids rated together: active grids of the level (or virtual type), in a subtree."""
    qs = Grid.objects.filter(status=GridStatus.ACTIVE)
    if level in GridLevel.values:
        qs = qs.filter(kind=GridKind.PHYSICAL, level=level)
    else:
        qs = qs.filter(kind=GridKind.VIRTUAL, virtual_type=level)
    if institution is not None:
        qs = qs.filter(institution__path__startswith=institution.path)
    return list(qs.order_by("id").values_list("id", flat=True))


def _resolve_institution(actor: Any, institution: Institution | None) -> Institution | None:
    """A person rates inside their own scope (default: their institution's subtree); the system
    (actor None, the nightly run) may rate everything."""
    if actor is None:
        return institution
    if institution is None:
        institution = actor.institution
        if institution is None:
            raise PermissionDenied()
    if not in_scope(actor, institution.path):
        raise PermissionDenied()
    return institution


@transaction.atomic
def grids_rate(
    *, actor: Any, scheme: RatingScheme, level: str, institution: Institution | None = None,
    progress: Callable[[int], None] | None = None,
) -> RatingRunResult:
    """Rate every active grid of `level` (within `institution`'s subtree when given) under `scheme`.

    Idempotent: the same inputs write the same GridRating rows (upsert on grid+scheme) and the same
    Grid.rating_grade/score. One audit entry per run."""
    _check_may_rate(actor)
    _check_level(level)
    institution = _resolve_institution(actor, institution)
    grid_ids = rating_set(level=level, institution=institution)
    dimensions = list(scheme.dimensions)
    raw: dict[str, dict[int, float]] = {}
    for i, dimension in enumerate(dimensions, start=1):
        raw[dimension["key"]] = measure_dimension(dimension=dimension, grid_ids=grid_ids, level=level)
        if progress:
            progress(int(90 * i / max(len(dimensions), 1)))
    scores = score_grids(
        grid_ids=grid_ids, dimensions=dimensions, raw=raw, thresholds=scheme_thresholds(scheme),
        normalisation=scheme_normalisation(scheme), scheme={"id": scheme.pk, "name": scheme.name},
    )
    now = timezone.now()
    for s in scores:
        s.explanation["level"] = level
        s.explanation["computed_at"] = now.isoformat()
    GridRating.objects.bulk_create(
        [
            GridRating(grid_id=s.grid_id, scheme=scheme, score=s.score, grade=s.grade, explanation=s.explanation,
                       computed_at=now)
            for s in scores
        ],
        update_conflicts=True, unique_fields=["grid", "scheme"],
        update_fields=["score", "grade", "explanation", "computed_at"],
    )
    Grid.objects.bulk_update(
        [Grid(pk=s.grid_id, rating_grade=s.grade, rating_score=s.score) for s in scores],
        ["rating_grade", "rating_score"], batch_size=1000,
    )
    grades = {g: sum(1 for s in scores if s.grade == g) for g in Grade.values}
    result = RatingRunResult(scheme.pk, level, institution.pk if institution else None, len(scores), grades)
    audit_log(actor=actor, action="grids.rating.run", obj=institution, data={**result.as_dict(), "scheme_name": scheme.name})
    if progress:
        progress(100)
    return result


def grids_rate_all(*, scheme: RatingScheme | None = None) -> dict[str, dict[str, Any]]:
    """The nightly run: every level and virtual type that has active grids, bank-wide, with the
    active scheme. Each level is its own rating set and its own audited run."""
    scheme = scheme or rating_scheme_default()
    active = Grid.objects.filter(status=GridStatus.ACTIVE)
    present = set(active.filter(kind=GridKind.PHYSICAL).values_list("level", flat=True).distinct())
    present |= set(active.filter(kind=GridKind.VIRTUAL).values_list("virtual_type", flat=True).distinct())
    return {
        level: grids_rate(actor=None, scheme=scheme, level=level).as_dict()
        for level in rating_levels() if level in present
    }


# --- jobs (cache records) -----------------------------------------------------------------------
def _job_key(job_id: str) -> str:
    return JOB_KEY.format(job_id=job_id)


def rating_job_read(job_id: str) -> dict[str, Any] | None:
    """The raw job record (no scope check: for the task and the selector)."""
    return cache.get(_job_key(str(job_id)))


def _job_write(job: dict[str, Any]) -> None:
    cache.set(_job_key(job["id"]), job, JOB_TTL_SECONDS)


def _job_update(job_id: str, **changes: Any) -> None:
    job = rating_job_read(job_id)
    if job is not None:
        job.update(changes)
        _job_write(job)


def rating_run_start(
    *, actor: Any, scheme: RatingScheme | None, level: str, institution: Institution | None = None
) -> dict[str, Any]:
    """Check the request now, record a pending job and enqueue `grids.rate_grids` after commit.
    Returns the job record (the API answers 202 with its URL)."""
    from grids.tasks import rate_grids

    _check_may_rate(actor)
    _check_level(level)
    institution = _resolve_institution(actor, institution)
    scheme = scheme or rating_scheme_default()
    job = {
        "id": str(uuid.uuid4()), "status": JobState.PENDING, "progress": 0,
        "scheme_id": scheme.pk, "scheme_name": scheme.name, "level": level,
        "institution_id": institution.pk if institution else None,
        "institution_path": institution.path if institution else "/",
        "created_by_id": getattr(actor, "pk", None), "created_at": timezone.now().isoformat(),
        "started_at": None, "finished_at": None, "result": None, "error": None,
    }
    _job_write(job)
    args = dict(scheme_id=scheme.pk, level=level, institution_id=job["institution_id"], job_id=job["id"],
                actor_id=job["created_by_id"])
    transaction.on_commit(lambda: rate_grids.delay(**args))
    return job


def rating_job_run(
    *, scheme_id: int, level: str, institution_id: int | None, job_id: str | None, actor_id: int | None
) -> dict[str, Any]:
    """Body of the Celery task: re-load everything by id, re-check the scope, rate, record the job."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).select_related("institution").first() if actor_id else None
    if job_id:
        _job_update(job_id, status=JobState.RUNNING, started_at=timezone.now().isoformat())
    try:
        scheme = RatingScheme.objects.get(pk=scheme_id)
        institution = Institution.objects.get(pk=institution_id) if institution_id else None
        if actor_id and actor is None:
            raise PermissionDenied()
        result = grids_rate(
            actor=actor, scheme=scheme, level=level, institution=institution,
            progress=(lambda p: _job_update(job_id, progress=p)) if job_id else None,
        )
    except Exception as exc:
        # A refused or impossible run (scope lost, scheme deleted…) is final: recorded, not retried.
        # Anything unexpected is recorded too and re-raised so the worker logs it.
        expected = isinstance(exc, (ApplicationError, ObjectDoesNotExist))
        if isinstance(exc, ApplicationError):
            error = exc.as_dict()
        else:
            error = {"code": "rating_failed", "message": _("评级失败")}
        if job_id:
            _job_update(job_id, status=JobState.FAILED, finished_at=timezone.now().isoformat(), error=error)
        audit_log(actor=actor, action="grids.rating.run", result=AuditResult.FAILURE,
                  data={"scheme_id": scheme_id, "level": level, "institution_id": institution_id, "error": error})
        if not expected:
            raise
        return {"error": error}
    if job_id:
        _job_update(job_id, status=JobState.SUCCEEDED, progress=100, finished_at=timezone.now().isoformat(),
                    result=result.as_dict())
    return result.as_dict()

