"""Reads of list templates and imports (CR-3), data scope first.

Templates: an actor sees the templates of their institution subtree AND those of the institutions
above them (the head office's standard templates serve every branch); only those in their subtree
may be changed. Batches: the institution subtree; an actor who may only see their own customers
(account managers) sees only the batches they uploaded.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from crm.models import ImportBatch, ImportRow, ListTemplate
from crm.permissions import Perm
from gis_core.errors import NotFound
from gis_core.models import User
from gis_core.scope import data_scope_for


def _ancestor_ids(actor: User) -> list[int]:
    scope = data_scope_for(actor)
    if scope.is_empty:
        return []
    return [int(part) for part in scope.institution_path.strip("/").split("/") if part]


def list_template_list(*, actor: User, include_inactive: bool = False) -> QuerySet[ListTemplate]:
    """Templates the actor may use: their subtree's and their ancestors'."""
    if not actor.has_perm_code(Perm.CUSTOMER_IMPORT):
        return ListTemplate.objects.none()
    subtree = ListTemplate.objects.for_actor(actor).values("pk")
    qs = ListTemplate.objects.filter(Q(pk__in=subtree) | Q(institution_id__in=_ancestor_ids(actor)))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.select_related("institution").order_by("-created_at", "-id")


def list_template_get(*, actor: User, pk: int, for_change: bool = False) -> ListTemplate:
    """One usable template (for_change: one the actor may edit, i.e. in their subtree), else 404."""
    if for_change:
        return ListTemplate.objects.get_in_scope(actor, perm=Perm.CUSTOMER_IMPORT, pk=pk)
    try:
        return list_template_list(actor=actor, include_inactive=True).get(pk=pk)
    except (ListTemplate.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def import_batch_scope(*, actor: User) -> QuerySet[ImportBatch]:
    qs = ImportBatch.objects.for_actor(actor, perm=Perm.CUSTOMER_IMPORT)
    if not actor.has_perm_code(Perm.CUSTOMER_VIEW_SUBTREE):
        qs = qs.filter(operator=actor)
    return qs


def import_batch_list(*, actor: User, filters: dict[str, Any]) -> QuerySet[ImportBatch]:
    """Batches in scope, searched by time (since/until), operator (id or name), template, batch
    name and status; newest first."""
    qs = import_batch_scope(actor=actor).select_related("template", "operator", "institution")
    since, until = filters.get("since"), filters.get("until")
    if since:
        qs = qs.filter(created_at__gte=since) if isinstance(since, dt.datetime) else qs.filter(created_at__date__gte=since)
    if until:
        qs = qs.filter(created_at__lte=until) if isinstance(until, dt.datetime) else qs.filter(created_at__date__lte=until)
    operator = (filters.get("operator") or "").strip()
    if operator:
        if operator.isdigit():
            qs = qs.filter(operator_id=int(operator))
        else:
            qs = qs.filter(Q(operator__username__icontains=operator) | Q(operator__display_name__icontains=operator))
    if filters.get("template"):
        qs = qs.filter(template_id=filters["template"])
    if filters.get("name"):
        qs = qs.filter(name__icontains=filters["name"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs.order_by("-created_at", "-id")


def import_batch_get(*, actor: User, pk: int) -> ImportBatch:
    try:
        return import_batch_scope(actor=actor).select_related("template", "operator", "institution").get(pk=pk)
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def import_row_list(*, batch: ImportBatch, errors_only: bool = False) -> QuerySet[ImportRow]:
    """The staged rows of a batch already fetched in scope, in file order."""
    qs = ImportRow.objects.filter(batch=batch)
    if errors_only:
        qs = qs.exclude(errors={})
    return qs.order_by("row_number")
