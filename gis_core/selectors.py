"""Reads of gis_core. Every institution-owned read starts from the actor's data scope.

# --- organisation, users, audit, dictionaries, calendar ---------------------------------------
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from gis_core.models import AuditEntry, CalendarDay, Dictionary, Institution, User
from gis_core.permissions import Perm


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
