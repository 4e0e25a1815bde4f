"""Reads of segments and tags (CR-4, CR-5). Every selector takes the actor and applies the data
scope first (gis_core.scope); a segment outside what the actor may see is a 404, never a 403.

Who sees a segment: its owner; everyone whose scope covers the segment's institution when it is
public; and, once it has been submitted, the approvers (SEGMENT_APPROVE) whose scope covers it — a
private segment is shown to approvers because submitting it asks them to look at it. Members are
listed through the viewer's own customer scope as well, so a public segment of a branch shows an
account manager only the members they may see.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from crm.choices import ApprovalStatus, Visibility
from crm.models import Customer, Segment, SegmentApproval, SegmentMember, Tag
from crm.permissions import Perm
from crm.segment_filters import definition_compile
from gis_core.errors import NotFound


def customers_for_definition(*, actor: Any, definition: Any) -> QuerySet[Customer]:
    """The customers in the actor's scope that match a definition (400 for a bad definition). The
    scope comes first: an empty definition means every customer the actor may see, no more."""
    q = definition_compile(definition)
    return Customer.objects.for_actor(actor).filter(q)


def segment_list(*, actor: Any, filters: dict | None = None) -> QuerySet[Segment]:
    """The segments the actor may see (see the module docstring), newest first."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm_code(Perm.SEGMENT_VIEW):
        return Segment.objects.none()
    visible = Q(owner=actor) | Q(visibility=Visibility.PUBLIC)
    if actor.has_perm_code(Perm.SEGMENT_APPROVE):
        visible |= ~Q(status=ApprovalStatus.DRAFT)
    qs = Segment.objects.for_actor(actor).filter(visible).select_related("owner", "institution")
    filters = filters or {}
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("visibility"):
        qs = qs.filter(visibility=filters["visibility"])
    if filters.get("mine"):
        qs = qs.filter(owner=actor)
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    return qs.order_by("-created_at", "-id")


def segment_get(*, actor: Any, pk: int) -> Segment:
    """One segment the actor may see, else NotFound."""
    try:
        return segment_list(actor=actor).get(pk=pk)
    except (Segment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def segment_members(*, actor: Any, segment: Segment) -> QuerySet[SegmentMember]:
    """The materialised members of a segment that the actor may see (their own customer scope)."""
    visible = Customer.objects.for_actor(actor).values("pk")
    return (
        SegmentMember.objects.filter(segment=segment, customer__in=visible)
        .select_related("customer", "customer__institution", "customer__manager")
        .order_by("id")
    )


def segment_approvals(*, segment: Segment) -> QuerySet[SegmentApproval]:
    """The approval log of a segment the caller already fetched through `segment_get`, newest first."""
    return SegmentApproval.objects.filter(segment=segment).select_related("actor").order_by("-created_at", "-id")


def tag_list(*, filters: dict | None = None) -> QuerySet[Tag]:
    """The tag catalogue (bank-wide: tags are a shared vocabulary, not institution data)."""
    qs = Tag.objects.all()
    filters = filters or {}
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    if "is_active" in filters and filters["is_active"] is not None:
        qs = qs.filter(is_active=filters["is_active"])
    if filters.get("q"):
        qs = qs.filter(Q(name__icontains=filters["q"]) | Q(code__icontains=filters["q"]))
    return qs.order_by("category", "code")


def tag_get(*, pk: int) -> Tag:
    try:
        return Tag.objects.get(pk=pk)
    except (Tag.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def tag_customer_count(*, actor: Any, tag: Tag) -> int:
    """How many customers the actor may see carry the tag."""
    return Customer.objects.for_actor(actor).filter(customer_tags__tag=tag).count()
