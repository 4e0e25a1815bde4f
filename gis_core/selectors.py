"""Reads of gis_core. Every institution-owned read starts from the actor's data scope.

# --- organisation, users, audit, dictionaries, calendar ---------------------------------------
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from gis_core.models import AuditEntry, CalendarDay, Dictionary, Institution, User
from gis_core.permissions import Perm

# imports of the places section (divisions, POIs, keyword search)
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import Envelope, GeoFunc, PointOnSurface
from django.db.models import Case, Count, F, FloatField, IntegerField, Value, When
from django.db.models.functions import Coalesce, Length

from gis_core.bbox import BBox
from gis_core.choices import DivisionLevel
from gis_core.errors import NotFound
from gis_core.models import AdminDivision, Poi


def institution_list(*, actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[Institution]:
    """Institutions in the actor's subtree, optionally filtered by kind, parent, keyword, active."""
    filters = filters or {}
    qs = Institution.objects.for_actor(actor, perm=Perm.INSTITUTION_VIEW).select_related("parent")
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("parent"):
        qs = qs.filter(parent_id=filters["parent"])
    if filters.get("q"):
        qs = qs.filter(Q(name__icontains=filters["q"]) | Q(code__icontains=filters["q"]))
    if filters.get("is_active") is not None:
        qs = qs.filter(is_active=filters["is_active"])
    return qs


def institution_get(*, actor: Any, pk: Any) -> Institution:
    return Institution.objects.select_related("parent").get_in_scope(actor, perm=Perm.INSTITUTION_VIEW, pk=pk)


def user_list(*, actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[User]:
    """Users of institutions in the actor's subtree."""
    filters = filters or {}
    qs = User.objects.for_actor(actor, perm=Perm.USER_VIEW).select_related("institution").prefetch_related("roles")
    if filters.get("institution"):
        qs = qs.filter(institution_id=filters["institution"])
    if filters.get("role"):
        qs = qs.filter(roles__code=filters["role"])
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(employee_no__icontains=q))
    if filters.get("is_active") is not None:
        qs = qs.filter(is_active=filters["is_active"])
    return qs.distinct()


def user_get(*, actor: Any, pk: Any) -> User:
    return User.objects.select_related("institution").prefetch_related("roles").get_in_scope(actor, perm=Perm.USER_VIEW, pk=pk)


def audit_entry_list(*, actor: Any, filters: dict[str, Any] | None = None, perm: str = Perm.AUDIT_VIEW) -> QuerySet[AuditEntry]:
    """Audit entries filed under institutions in the actor's subtree, newest first.

    Filters: actor (username contains), action (prefix), result, object_type, since, until.
    """
    filters = filters or {}
    qs = AuditEntry.objects.for_actor(actor, perm=perm).select_related("institution")
    if filters.get("username"):
        qs = qs.filter(actor_username__icontains=filters["username"])
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"])
    if filters.get("result"):
        qs = qs.filter(result=filters["result"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("since"):
        qs = qs.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__lt=filters["until"])
    return qs


def audit_entry_get(*, actor: Any, pk: Any) -> AuditEntry:
    return AuditEntry.objects.get_in_scope(actor, perm=Perm.AUDIT_VIEW, pk=pk)


def dictionary_list(*, actor: Any) -> QuerySet[Dictionary]:
    """Code tables are global reference data; any user with the view permission reads them."""
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm_code(Perm.DICTIONARY_VIEW)):
        return Dictionary.objects.none()
    return Dictionary.objects.prefetch_related("items")


def is_workday(date: dt.date) -> bool:
    """Monday–Friday unless the calendar says otherwise (holidays, make-up days; ORG-7)."""
    override = CalendarDay.objects.filter(date=date).values_list("is_workday", flat=True).first()
    return override if override is not None else date.weekday() < 5


def workdays_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Working days in [start, end], both included."""
    overrides = dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_workday"))
    days, day = [], start
    while day <= end:
        if overrides.get(day, day.weekday() < 5):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def calendar_month(*, actor: Any, year: int, month: int) -> list[dict[str, Any]]:
    """Every day of a month with its working-day status and note."""
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm_code(Perm.CALENDAR_VIEW)):
        return []
    start = dt.date(year, month, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    overrides = {d.date: d for d in CalendarDay.objects.filter(date__range=(start, end))}
    out, day = [], start
    while day <= end:
        row = overrides.get(day)
        out.append(
            {
                "date": day,
                "is_workday": row.is_workday if row else day.weekday() < 5,
                "note": row.note if row else "",
                "is_override": row is not None,
            }
        )
        day += dt.timedelta(days=1)
    return out


# --- admin divisions, POIs and keyword search (GC-4, GC-5) -------------------------------------
# Public reference data: not institution-owned, so no institution scope; still fail closed for an
# actor without `gis_core.map.view` (empty results, 404 for a detail).

DIVISION_FEATURE_CAP = 2000
POI_PAGE_CAP = 10000
PLACE_SEARCH_LIMIT = 20

# Order of the levels, from the largest unit down (search ranking, tree sorting).
DIVISION_LEVEL_ORDER = [
    DivisionLevel.PROVINCE,
    DivisionLevel.CITY,
    DivisionLevel.DISTRICT,
    DivisionLevel.STREET,
    DivisionLevel.COMMUNITY,
]
# ST_SimplifyPreserveTopology tolerance in degrees by level (0.001° ≈ 100 m at Changsha): enough
# detail for a screen at the zoom where that level is shown, a fraction of the payload.
DIVISION_SIMPLIFY_TOLERANCE = {
    DivisionLevel.PROVINCE: 0.005,
    DivisionLevel.CITY: 0.002,
    DivisionLevel.DISTRICT: 0.0008,
    DivisionLevel.STREET: 0.0004,
    DivisionLevel.COMMUNITY: 0.0002,
}


class GeometryDetail(StrEnum):
    FULL = "full"
    SIMPLIFIED = "simplified"
    NONE = "none"


class SimplifyPreserveTopology(GeoFunc):
    """PostGIS ST_SimplifyPreserveTopology(geom, tolerance): simplified, still valid polygons."""

    function = "ST_SimplifyPreserveTopology"
    arity = 2
    output_field = GeometryField(srid=4326)


class Multi(GeoFunc):
    """PostGIS ST_Multi(geom): the geometry as a multi-geometry."""

    function = "ST_Multi"
    arity = 1


def _may_view_map(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.has_perm_code(Perm.MAP_VIEW))


def _level_rank() -> Case:
    return Case(
        *[When(level=level, then=Value(i)) for i, level in enumerate(DIVISION_LEVEL_ORDER)],
        default=Value(len(DIVISION_LEVEL_ORDER)),
        output_field=IntegerField(),
    )


def _display_geometry(detail: str) -> Any:
    if detail == GeometryDetail.FULL:
        return F("geom")
    tolerance = Case(
        *[When(level=level, then=Value(tol)) for level, tol in DIVISION_SIMPLIFY_TOLERANCE.items()],
        default=Value(0.0005),
        output_field=FloatField(),
    )
    # ST_Multi: simplifying a one-part MultiPolygon may give a Polygon; clients get one type.
    return Multi(SimplifyPreserveTopology("geom", tolerance), output_field=GeometryField(srid=4326))


def division_list(
    *,
    actor: Any,
    level: str | None = None,
    parent_code: str | None = None,
    q: str | None = None,
    bbox: BBox | None = None,
    geometry: str = GeometryDetail.SIMPLIFIED,
) -> QuerySet[AdminDivision]:
    """Admin divisions (GC-5) by level, parent, keyword and WGS-84 bbox, ordered by code.

    Each row carries `display_geom` (the geometry to show: simplified by level unless
    `geometry="full"`; absent for `"none"`), `label_point` (centroid, else a point on the
    surface; absent for `"none"`) and `parent_code`.
    """
    if not _may_view_map(actor):
        return AdminDivision.objects.none()
    qs = AdminDivision.objects.annotate(parent_code=F("parent__code"))
    if level:
        qs = qs.filter(level=level)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(short_name__icontains=q) | Q(code__startswith=q))
    if bbox is not None:
        qs = qs.filter(geom__intersects=bbox.as_polygon())
    if geometry == GeometryDetail.NONE:
        qs = qs.defer("geom", "centroid")
    else:
        qs = qs.defer("geom").annotate(
            display_geom=_display_geometry(geometry),
            label_point=Coalesce("centroid", PointOnSurface("geom")),
        )
    return qs.order_by("code")


def division_get(*, actor: Any, code: str) -> AdminDivision:
    """One division with its full geometry in `display_geom`; NotFound when unknown or not visible."""
    division = division_list(actor=actor, geometry=GeometryDetail.FULL).filter(code=code).first()
    if division is None:
        raise NotFound(code="division_not_found")
    return division


def division_children(*, actor: Any, parent_code: str | None = None) -> QuerySet[AdminDivision]:
    """The children of a division (the roots of the tree without a parent), without geometry.

    Rows carry `child_count` and `parent_code`. NotFound when `parent_code` is unknown.
    """
    if not _may_view_map(actor):
        return AdminDivision.objects.none()
    qs = AdminDivision.objects.defer("geom", "centroid")
    if parent_code:
        if not AdminDivision.objects.filter(code=parent_code).exists():
            raise NotFound(code="division_not_found")
        qs = qs.filter(parent__code=parent_code)
    else:
        qs = qs.filter(parent__isnull=True)
    return qs.annotate(child_count=Count("children"), parent_code=F("parent__code")).order_by("code")


def poi_list(
    *,
    actor: Any,
    category: str | None = None,
    bbox: BBox | None = None,
    q: str | None = None,
    division_code: str | None = None,
) -> QuerySet[Poi]:
    """Points of interest (GC-4) by category, WGS-84 bbox, name keyword and admin division.

    `division_code` matches POIs filed under that division or any division below it.
    Rows carry `division_code`.
    """
    if not _may_view_map(actor):
        return Poi.objects.none()
    qs = Poi.objects.only("id", "name", "category", "source_class", "division_id", "geom").annotate(
        division_code=F("division__code")
    )
    if category:
        qs = qs.filter(category=category)
    if bbox is not None:
        qs = qs.filter(geom__intersects=bbox.as_polygon())
    if q:
        qs = qs.filter(name__icontains=q)
    if division_code:
        under = Q()
        path = "division"
        for _ in DIVISION_LEVEL_ORDER:
            under |= Q(**{f"{path}__code": division_code})
            path += "__parent"
        qs = qs.filter(under)
    return qs.order_by("id")


@dataclass(frozen=True)
class PlaceMatch:
    """One keyword-search hit: a division or a POI, with a WGS-84 point to fly to."""

    kind: str  # "division" | "poi"
    key: str  # division code or POI id
    name: str
    level: str
    category: str
    label: str  # level or category, human-readable
    context: str  # parent division name, for telling namesakes apart
    point: Any  # GEOS Point (WGS-84) or None
    extent: tuple[float, float, float, float] | None
    score: int


def place_search(*, actor: Any, q: str, limit: int = PLACE_SEARCH_LIMIT) -> list[PlaceMatch]:
    """Keyword search (GC-5) over divisions (name, short name, code) and POIs (name).

    Ranked by how well the keyword matches (exact, then prefix, then contains), then by level
    (city before district before street before community before POIs), then by name length.
    """
    q = (q or "").strip()
    if not q or not _may_view_map(actor):
        return []
    match_rank = Case(
        When(Q(name__iexact=q) | Q(short_name__iexact=q) | Q(code=q), then=Value(0)),
        When(Q(name__istartswith=q) | Q(short_name__istartswith=q) | Q(code__startswith=q), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    divisions = (
        AdminDivision.objects.filter(Q(name__icontains=q) | Q(short_name__icontains=q) | Q(code__startswith=q))
        .select_related("parent")
        .defer("geom", "parent__geom", "parent__centroid")
        .annotate(
            match_rank=match_rank,
            level_rank=_level_rank(),
            fly_to=Coalesce("centroid", PointOnSurface("geom")),
            envelope=Envelope("geom"),
        )
        .order_by("match_rank", "level_rank", Length("name"), "code")[:limit]
    )
    pois = (
        Poi.objects.filter(name__icontains=q)
        .select_related("division")
        .only("id", "name", "category", "geom", "division__name")
        .annotate(
            match_rank=Case(
                When(name__iexact=q, then=Value(0)),
                When(name__istartswith=q, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("match_rank", Length("name"), "id")[:limit]
    )
    poi_rank = len(DIVISION_LEVEL_ORDER)
    matches = [
        PlaceMatch(
            kind="division",
            key=d.code,
            name=d.name,
            level=d.level,
            category="",
            label=str(d.get_level_display()),
            context=d.parent.name if d.parent_id else "",
            point=d.fly_to,
            extent=d.envelope.extent if d.envelope is not None else None,
            score=d.match_rank * 10 + d.level_rank,
        )
        for d in divisions
    ] + [
        PlaceMatch(
            kind="poi",
            key=str(p.pk),
            name=p.name,
            level="",
            category=p.category,
            label=str(p.get_category_display()),
            context=p.division.name if p.division_id else "",
            point=p.geom,
            extent=None,
            score=p.match_rank * 10 + poi_rank,
        )
        for p in pois
    ]
    matches.sort(key=lambda m: (m.score, len(m.name), m.key))
    return matches[:limit]
