"""Reads of grids. Every selector takes the actor and applies gis_core.scope first: a grid the actor
may not see does not exist for them (404), lists leave it out.

`Grid.objects.for_actor` already narrows account managers and liaisons (GRID_VIEW_OWN) to the grids
they hold an open assignment or liaison role on; everything here starts from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from gis_core.bbox import BBox
from gis_core.choices import InstitutionKind
from gis_core.errors import ValidationFailed
from gis_core.models import Institution, Poi, User
from gis_core.selectors import SimplifyPreserveTopology
from grids import geometry as geo
from grids.choices import GridKind, GridLevel, GridPost, GridStatus
from grids.models import Grid, GridAssignment, GridHistory, GridLiaison, GridTransfer
from grids.summary import LAYER_FEATURE_CAP, LayerFeature, grid_layers, summary_contributors

# ~111 km per degree: turns a simplification tolerance in metres into degrees.
_METRES_PER_DEGREE = 111_320.0
TREE_SEARCH_CAP = 200
EXPORT_FEATURE_CAP = 20_000


# --- grids ------------------------------------------------------------------------------------------------
def _open_assignments(today=None) -> Q:
    today = today or timezone.localdate()
    return Q(starts_on__lte=today) & (Q(ends_on__isnull=True) | Q(ends_on__gt=today))


def _with_responsible(qs: QuerySet[Grid]) -> QuerySet[Grid]:
    """Annotate the current responsible person (id and name) without one query per grid."""
    current = GridAssignment.objects.filter(grid=OuterRef("pk"), post=GridPost.RESPONSIBLE, ends_on__isnull=True).order_by("-starts_on", "-id")
    return qs.annotate(
        responsible_id=Subquery(current.values("person_id")[:1]),
        responsible_name=Subquery(
            current.annotate(label=Coalesce(NullIf("person__display_name", Value("")), "person__username")).values("label")[:1]
        ),
    )


def grid_list(*, actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[Grid]:
    """Grids the actor may see, filtered by kind, level, virtual_type, parent, status (active unless
    told otherwise; "all" for every status), business_line (GR-3), q (name or code), bbox (WGS-84)
    and institution; `simplify` (metres) adds a simplified `display_geom`."""
    filters = filters or {}
    qs = Grid.objects.for_actor(actor).select_related("institution")
    status = filters.get("status") or GridStatus.ACTIVE
    if status != "all":
        qs = qs.filter(status=status)
    for key in ("kind", "level", "virtual_type"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("parent") is not None:
        qs = qs.filter(parent_id=filters["parent"])
    if filters.get("institution") is not None:
        qs = qs.filter(institution_id=filters["institution"])
    if filters.get("business_line"):
        qs = qs.filter(business_lines__contains=[filters["business_line"]])
    if filters.get("q"):
        qs = qs.filter(Q(name__icontains=filters["q"]) | Q(code__icontains=filters["q"]))
    bbox: BBox | None = filters.get("bbox")
    if bbox is not None:
        qs = qs.filter(geom__intersects=bbox.as_polygon())
    if filters.get("simplify"):
        qs = qs.annotate(display_geom=SimplifyPreserveTopology("geom", Value(float(filters["simplify"]) / _METRES_PER_DEGREE)))
    return _with_responsible(qs).order_by("code", "id")


def grid_get(*, actor: Any, pk: Any) -> Grid:
    """One grid in the actor's scope (404 otherwise), with its responsible person annotated."""
    return _with_responsible(Grid.objects.select_related("institution", "parent")).get_in_scope(actor, pk=pk)


def grids_get(*, actor: Any, pks: Iterable[Any]) -> list[Grid]:
    """Several grids in scope, in the order asked; 404 when any of them is not visible."""
    return [grid_get(actor=actor, pk=pk) for pk in pks]


def grid_children(*, actor: Any, grid: Grid, status: str | None = None) -> QuerySet[Grid]:
    """The visible children of a grid (active unless told otherwise)."""
    return grid_list(actor=actor, filters={"parent": grid.pk, "status": status})


@dataclass(frozen=True)
class TreeNode:
    """A grid in the hierarchy tree (no geometry)."""

    grid: Grid
    child_count: int
    ancestors: list[dict[str, Any]]


def grid_tree(*, actor: Any, parent: Grid | None = None, q: str = "", status: str | None = None) -> list[TreeNode]:
    """The tree of grids without geometry: the children of `parent` (or the visible roots — grids
    without a visible parent), each with its number of visible children. With `q`, the visible grids
    whose name or code matches (at most TREE_SEARCH_CAP), each with its ancestors to expand."""
    visible = Grid.objects.for_actor(actor)
    status = status or GridStatus.ACTIVE
    if status != "all":
        visible = visible.filter(status=status)
    child_count = (
        visible.filter(parent=OuterRef("pk")).order_by().values("parent").annotate(n=Count("id")).values("n")
    )
    qs = visible.annotate(child_count=Coalesce(Subquery(child_count, output_field=IntegerField()), 0))
    if q:
        rows = list(qs.filter(Q(name__icontains=q) | Q(code__icontains=q)).order_by("code")[:TREE_SEARCH_CAP])
        chains = _visible_ancestors(visible, rows)
        return [TreeNode(grid=g, child_count=g.child_count, ancestors=chains[g.pk]) for g in rows]
    if parent is not None:
        qs = qs.filter(parent=parent)
    else:
        qs = qs.filter(Q(parent__isnull=True) | ~Q(parent_id__in=visible.values("id")))
    return [TreeNode(grid=g, child_count=g.child_count, ancestors=[]) for g in qs.order_by("code")]


def _visible_ancestors(visible: QuerySet[Grid], grids: list[Grid]) -> dict[int, list[dict[str, Any]]]:
    """Each grid's chain of visible ancestors, root first (one query per level, not per grid)."""
    known: dict[int, dict[str, Any]] = {}
    frontier = {g.parent_id for g in grids if g.parent_id}
    for _depth in range(len(GridLevel.values) + 1):
        frontier -= known.keys()
        if not frontier:
            break
        rows = list(visible.filter(pk__in=frontier).values("id", "code", "name", "parent_id"))
        known.update({row["id"]: row for row in rows})
        frontier = {row["parent_id"] for row in rows if row["parent_id"]}
    chains: dict[int, list[dict[str, Any]]] = {}
    for grid in grids:
        chain, current = [], grid.parent_id
        while current in known and len(chain) <= len(GridLevel.values):
            row = known[current]
            chain.append({"id": row["id"], "code": row["code"], "name": row["name"]})
            current = row["parent_id"]
        chains[grid.pk] = list(reversed(chain))
    return chains


def grid_history_list(*, actor: Any, grid: Grid) -> QuerySet[GridHistory]:
    """The history of one (visible) grid, newest first."""
    return GridHistory.objects.for_actor(actor).filter(grid=grid).select_related("actor").order_by("-created_at", "-id")


@dataclass(frozen=True)
class Coverage:
    """How a grid's active children cover it (gaps and overlaps as geometries, WGS-84)."""

    report: geo.CoverageReport
    children: int


def grid_coverage(*, actor: Any, grid: Grid) -> Coverage:
    """Gaps and overlaps of a grid's active children (all of them: coverage is a property of the
    grid, whoever looks at it)."""
    from grids.services.common import to_shapely

    children = list(Grid.objects.filter(parent=grid, status=GridStatus.ACTIVE, kind=GridKind.PHYSICAL).only("id", "geom"))
    report = geo.coverage_report(to_shapely(grid.geom), [(c.pk, to_shapely(c.geom)) for c in children])
    return Coverage(report=report, children=len(children))


# --- the editor's dry run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    location: tuple[float, float] | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class RulesReport:
    problems: list[Problem]
    overlaps: list[geo.Overlap]

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem(exc: Any) -> Problem:
    """A Problem from a GeometryError or an ApplicationError (location in WGS-84)."""
    if isinstance(exc, geo.GeometryError):
        return Problem(exc.code, exc.message, exc.location, dict(exc.details or {}))
    details = dict(exc.details or {}) if isinstance(exc.details, dict) else {}
    location = details.pop("location", None)
    return Problem(exc.code, str(exc.message), (location["lng"], location["lat"]) if location else None, details)


def grid_rules_check(
    *, actor: Any, shape: Any, kind: str, level: str = "", virtual_type: str = "", parent: Grid | None = None,
    exclude: Grid | None = None,
) -> RulesReport:
    """Run every rule on a drawn shape (WGS-84 shapely) without writing anything and report ALL
    problems at once: structure, validity, inside the parent, overlaps with siblings (with their
    geometries, for the map), children of `exclude` left outside. The same rules as the services."""
    from grids.services import editing
    from grids.services.common import to_shapely

    problems: list[Problem] = []
    overlaps: list[geo.Overlap] = []
    try:
        editing._check_structure(kind=kind, level=level, virtual_type=virtual_type, parent=parent)
    except ValidationFailed as exc:
        problems.append(_problem(exc))
    try:
        shape = geo.validate_grid_geometry(shape, min_area_m2=editing.min_area_m2())
    except geo.GeometryError as exc:
        problems.append(_problem(exc))
        return RulesReport(problems=problems, overlaps=[])
    if parent is not None:
        try:
            geo.check_inside_parent(shape, to_shapely(parent.geom), tolerance_m=1.0)
        except geo.GeometryError as exc:
            problems.append(_problem(exc))
    siblings = editing._sibling_candidates(
        kind=kind, parent_id=parent.pk if parent else None, virtual_type=virtual_type, shape=shape,
        exclude=[exclude.pk] if exclude is not None else [],
    )
    overlaps = geo.find_overlaps(shape, siblings)
    if overlaps:
        try:
            geo.assert_no_overlap(shape, siblings)
        except geo.GeometryError as exc:
            problems.append(_problem(exc))
    if exclude is not None:
        try:
            editing._check_children_inside(exclude, shape)
        except ValidationFailed as exc:
            problems.append(_problem(exc))
    return RulesReport(problems=problems, overlaps=overlaps)


# --- assignment, transfer, liaisons -----------------------------------------------------------------------
def assignment_list(*, actor: Any, grid: Grid, open_only: bool = False) -> QuerySet[GridAssignment]:
    """Assignments of a visible grid, current first, history kept (GR-5)."""
    qs = GridAssignment.objects.for_actor(actor).filter(grid=grid).select_related("person", "assigned_by")
    if open_only:
        qs = qs.filter(_open_assignments())
    return qs.order_by("ends_on", "-starts_on", "-id")


def assignment_get(*, actor: Any, pk: Any) -> GridAssignment:
    """One assignment of a grid the actor may see (404 otherwise)."""
    visible = Grid.objects.for_actor(actor).values("id")
    return GridAssignment.objects.filter(grid_id__in=visible).select_related("grid__institution", "person").get_in_scope(actor, pk=pk)


def user_for_assignment(*, actor: Any, pk: Any) -> User:
    """A person to assign or transfer to, looked up in the actor's scope. Someone outside it gets
    the same answer whether they exist or not: not in the grid's institution (400)."""
    from django.utils.translation import gettext as _

    user = User.objects.for_actor(actor).filter(pk=pk, is_active=True).select_related("institution").first()
    if user is None:
        raise ValidationFailed(_("所选人员不属于网格所属机构"), code="assignee_outside_institution", details={"person": pk})
    return user


def transfer_list(*, actor: Any, grid: Grid) -> QuerySet[GridTransfer]:
    return GridTransfer.objects.for_actor(actor).filter(grid=grid).select_related("from_user", "to_user", "actor")


def liaison_list(*, actor: Any, grid: Grid) -> QuerySet[GridLiaison]:
    return GridLiaison.objects.for_actor(actor).filter(grid=grid).select_related("user")


def liaison_get(*, actor: Any, pk: Any) -> GridLiaison:
    visible = Grid.objects.for_actor(actor).values("id")
    return GridLiaison.objects.filter(grid_id__in=visible).select_related("grid__institution").get_in_scope(actor, pk=pk)


# --- my grid (GR-8) ---------------------------------------------------------------------------------------
OUTLET_KINDS = (InstitutionKind.OUTLET, InstitutionKind.SUB_BRANCH)


def _outlets(*, actor: Any, grid: Grid) -> QuerySet[Institution]:
    return Institution.objects.for_actor(actor).filter(
        kind__in=OUTLET_KINDS, is_active=True, location__intersects=grid.geom
    ).order_by("code")


def grid_summary(*, actor: Any, grid: Grid) -> dict[str, Any]:
    """Figures of one visible grid: area, POIs by category, outlets, responsible manager, children,
    and whatever the registered contributors add (customers formal/potential from crm; open tasks
    and last visit once campaigns and fieldwork register theirs)."""
    pois = {
        row["category"]: row["n"]
        for row in Poi.objects.filter(geom__intersects=grid.geom).order_by().values("category").annotate(n=Count("id"))
    }
    outlets = list(_outlets(actor=actor, grid=grid).values("id", "code", "name", "kind"))
    summary: dict[str, Any] = {
        "id": grid.pk,
        "code": grid.code,
        "name": grid.name,
        "kind": grid.kind,
        "level": grid.level,
        "virtual_type": grid.virtual_type,
        "status": grid.status,
        "area_m2": round(grid.area_m2, 1),
        "area_km2": round(grid.area_m2 / 1_000_000, 3),
        "responsible": (
            {"id": grid.responsible_id, "name": grid.responsible_name} if getattr(grid, "responsible_id", None) else None
        ),
        "children": Grid.objects.filter(parent=grid, status=GridStatus.ACTIVE).count(),
        "pois": {"total": sum(pois.values()), "by_category": pois},
        "outlets": {"count": len(outlets), "items": outlets},
    }
    for contributor in summary_contributors().values():
        summary.update(contributor(grid=grid, actor=actor) or {})
    return summary


def grids_mine(*, actor: Any) -> QuerySet[Grid]:
    """The grids the actor holds an open assignment on (any post), visible to them."""
    mine = GridAssignment.objects.filter(_open_assignments(), person=actor).values("grid_id")
    return grid_list(actor=actor, filters={"status": GridStatus.ACTIVE}).filter(pk__in=mine)


BUILTIN_LAYERS = ("pois", "outlets")


def grid_layer_names() -> list[str]:
    return sorted({*BUILTIN_LAYERS, *grid_layers()})


def grid_layer(*, actor: Any, grid: Grid, layer: str, params: dict[str, Any]) -> list[LayerFeature]:
    """The points of one layer inside a visible grid (at most LAYER_FEATURE_CAP): POIs (public
    reference data), the bank's outlets (institution scope) or a registered layer (customers…)."""
    from gis_core.errors import NotFound

    if layer == "pois":
        qs = Poi.objects.filter(geom__intersects=grid.geom)
        if params.get("category"):
            qs = qs.filter(category=params["category"])
        return [
            LayerFeature(p.pk, p.geom, {"name": p.name, "category": p.category, "address": p.address})
            for p in qs.order_by("id")[:LAYER_FEATURE_CAP]
        ]
    if layer == "outlets":
        return [
            LayerFeature(i.pk, i.location, {"name": i.name, "code": i.code, "kind": i.kind, "address": i.address})
            for i in _outlets(actor=actor, grid=grid)[:LAYER_FEATURE_CAP]
        ]
    provider = grid_layers().get(layer)
    if provider is None:
        raise NotFound()
    return list(provider(grid=grid, actor=actor, params=params))[:LAYER_FEATURE_CAP]


# --- export -----------------------------------------------------------------------------------------------
def grids_for_export(*, actor: Any, filters: dict[str, Any]) -> QuerySet[Grid]:
    """The grids an export writes: the same scope and filters as the list, parent and institution
    codes joined, at most EXPORT_FEATURE_CAP (the caller says when more matched)."""
    return grid_list(actor=actor, filters=filters).select_related("parent")
