"""REST API of address correction (地址纠偏, GC-3), mounted under /api/crm/.

Thin views over crm.locations: move a customer's pin, read its move history, and the queue of
customers whose location is unsure. Customers are fetched through `Customer.objects.for_actor`, so
one outside the actor's scope is a 404. Names are masked except for the customer's own manager.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import locations as services
from crm.models import Customer
from crm.permissions import Perm
from gis_core.api.pagination import StandardPagination
from gis_core.errors import ValidationFailed
from gis_core.masking import mask_name

VIEW_PERMS = (Perm.CUSTOMER_VIEW_SUBTREE, Perm.CUSTOMER_VIEW_OWN)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate input; field errors → 400 `validation_failed` with the field messages."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(details=serializer.errors)
    return dict(serializer.validated_data)


def point_json(point) -> dict | None:
    return {"type": "Point", "coordinates": [point.x, point.y]} if point is not None else None


class PointSerializer(serializers.Serializer):
    """A GeoJSON Point (WGS-84)."""

    type = serializers.CharField()
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class CustomerLocationInputSerializer(serializers.Serializer):
    lng = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.CharField(required=False, default="wgs84", help_text="wgs84 (default), gcj02 or bd09")
    reason = serializers.CharField(max_length=255, help_text="why the pin moves (纠偏原因)")


class CustomerLocationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    geocode_status = serializers.CharField()
    geocode_level = serializers.CharField()
    geocode_confidence = serializers.FloatField(allow_null=True)
    geocode_source = serializers.CharField()
    grids = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.name if obj.manager_id == self.context["actor"].pk else mask_name(obj.name)

    @extend_schema_field(PointSerializer(allow_null=True))
    def get_location(self, obj):
        return point_json(obj.location)

    def get_grids(self, obj) -> dict[str, int | None]:
        return {
            "district": obj.grid_district_id, "street": obj.grid_street_id,
            "community": obj.grid_community_id, "building": obj.grid_building_id,
        }


class CustomerLocationChangeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    old_location = serializers.SerializerMethodField()
    new_location = serializers.SerializerMethodField()
    old_status = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(PointSerializer(allow_null=True))
    def get_old_location(self, obj):
        return point_json(obj.old_location)

    @extend_schema_field(PointSerializer)
    def get_new_location(self, obj):
        return point_json(obj.new_location)

    def get_actor(self, obj) -> dict[str, Any] | None:
        return {"id": obj.actor_id, "name": str(obj.actor)} if obj.actor_id else None


class LowConfidenceFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in services.QUEUE_STATUSES], required=False, allow_blank=True,
        help_text="low_confidence, failed or pending (default: all three)",
    )
    institution = serializers.IntegerField(required=False, help_text="only customers of this institution")


class LowConfidenceOutputSerializer(CustomerLocationOutputSerializer):
    address = serializers.CharField()
    institution = serializers.IntegerField(source="institution_id")


def customer_in_scope(actor: Any, pk: int) -> Customer:
    """The customer if the actor may see it, else 404."""
    return Customer.objects.get_in_scope(actor, pk=pk)


class CustomerLocationMoveApi(APIView):
    """Move a customer's pin by hand (地址纠偏): history kept, grids re-placed, audited."""

    required_permissions = {"POST": Perm.CUSTOMER_EDIT}

    @extend_schema(
        request=CustomerLocationInputSerializer,
        responses={
            200: CustomerLocationOutputSerializer,
            400: OpenApiResponse(description="validation_failed, crs_unknown, location_outside_china or reason_required"),
            404: OpenApiResponse(description="customer not found or outside your scope"),
        },
    )
    def post(self, request, pk: int):
        customer = customer_in_scope(request.user, pk)
        data = validated(CustomerLocationInputSerializer, request.data)
        customer = services.customer_location_move(actor=request.user, customer=customer, **data)
        return Response(CustomerLocationOutputSerializer(customer, context={"actor": request.user}).data)


class CustomerLocationHistoryApi(APIView):
    """Every pin move of one customer, newest first."""

    required_permissions = {"GET": VIEW_PERMS}

    @extend_schema(
        responses={200: CustomerLocationChangeOutputSerializer(many=True), 404: OpenApiResponse(description="not found")},
    )
    def get(self, request, pk: int):
        customer = customer_in_scope(request.user, pk)
        qs = services.customer_location_history(actor=request.user, customer=customer)
        return Response(CustomerLocationChangeOutputSerializer(qs, many=True).data)


class CustomerLowConfidenceListApi(APIView):
    """Customers in scope whose location needs a human look (paged), least confident first."""

    required_permissions = {"GET": VIEW_PERMS}

    @extend_schema(parameters=[LowConfidenceFilterSerializer], responses=LowConfidenceOutputSerializer(many=True))
    def get(self, request):
        filters = validated(LowConfidenceFilterSerializer, request.query_params)
        qs = services.low_confidence_queue(actor=request.user, filters=filters)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(LowConfidenceOutputSerializer(page, many=True, context={"actor": request.user}).data)
