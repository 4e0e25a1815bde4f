"""Address correction (地址纠偏, GC-3): moving a customer's pin by hand, its history, and the queue of
customers whose automatic location needs a human look.

A moved pin is trusted over any geocoder: status and level become "manual", confidence 1.0. Every
move is kept as a `CustomerLocationChange` (old and new point, old status, who, why), the customer is
re-placed into grids by grids.membership within a tiny area around both points (one SQL statement,
inside the same transaction so the grid columns never disagree with the point), and the move is
audited with ids only. Input may be WGS-84, GCJ-02 or BD-09; gis_core.crs converts, we store WGS-84.
"""
from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import MultiPoint, Point
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from crm.choices import GeocodeStatus
from crm.models import Customer, CustomerLocationChange
from gis_core.audit import audit_log
from gis_core.crs import CRS, UnknownCRSError, convert_point, out_of_china, parse_crs
from gis_core.errors import ValidationFailed
from grids.membership import points_place

MANUAL = "manual"
REASON_MAX_LENGTH = 255
# Half-width (degrees, ~1 m) of the area re-placed around the old and new points.
PLACEMENT_BUFFER_DEG = 0.00001
QUEUE_STATUSES = (GeocodeStatus.LOW_CONFIDENCE, GeocodeStatus.FAILED, GeocodeStatus.PENDING)


def _to_wgs84(lng: float, lat: float, crs: str) -> Point:
    try:
        src = parse_crs(crs)
    except UnknownCRSError as exc:
        raise ValidationFailed(str(exc), code="crs_unknown", details={"crs": [str(exc)]}) from exc
    if out_of_china(lng, lat):
        raise ValidationFailed(_("位置不在中国境内"), code="location_outside_china", details={"lng": lng, "lat": lat})
    x, y = convert_point(lng, lat, src=src, dst=CRS.WGS84)
    return Point(x, y, srid=4326)


def customer_location_move(
    *, actor: Any, customer: Customer, lng: float, lat: float, crs: str = "wgs84", reason: str
) -> Customer:
    """Move the customer's pin to (lng, lat) given in `crs`, keeping the old point in the history and
    re-placing the customer into grids. 400 for an unknown CRS, a point outside China or no reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写纠偏原因"), code="reason_required", details={"reason": [_("请填写纠偏原因")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(details={"reason": [_("纠偏原因不能超过255个字符")]})
    new_point = _to_wgs84(float(lng), float(lat), crs)

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        old_point = customer.location
        change = CustomerLocationChange.objects.create(
            customer=customer, old_location=old_point, new_location=new_point,
            old_status=customer.geocode_status, reason=reason, actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        customer.location = new_point
        customer.geocode_status = GeocodeStatus.MANUAL
        customer.geocode_level = MANUAL
        customer.geocode_confidence = 1.0
        customer.geocode_source = MANUAL
        customer.input_crs = str(parse_crs(crs))
        customer.save(update_fields=[
            "location", "geocode_status", "geocode_level", "geocode_confidence", "geocode_source", "input_crs", "updated_at",
        ])
        points = [new_point] if old_point is None else [old_point, new_point]
        area = MultiPoint(points, srid=4326).buffer(PLACEMENT_BUFFER_DEG)
        points_place("crm.customer", area=area)
        audit_log(
            actor=actor, action="crm.customer.location_moved", obj=change,
            data={"customer_id": customer.pk, "change_id": change.pk, "crs": customer.input_crs},
        )
    customer.refresh_from_db()
    return customer


def customer_location_history(*, actor: Any, customer: Customer) -> QuerySet[CustomerLocationChange]:
    """The pin moves of one customer (already fetched in the actor's scope), newest first."""
    return CustomerLocationChange.objects.filter(customer=customer).select_related("actor").order_by("-created_at", "-id")


def low_confidence_queue(*, actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers in the actor's scope whose location is unsure (low confidence, failed or pending),
    least confident first. Filters: `status` (one of those), `institution` (id, within scope)."""
    filters = filters or {}
    qs = Customer.objects.for_actor(actor).filter(geocode_status__in=QUEUE_STATUSES)
    if filters.get("status"):
        qs = qs.filter(geocode_status=filters["status"])
    if filters.get("institution"):
        qs = qs.filter(institution_id=filters["institution"])
    return qs.order_by(F("geocode_confidence").asc(nulls_first=True), "id")

