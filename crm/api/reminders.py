"""REST API of care reminders (关怀提醒, CR-7), mounted under /api/crm/.

Thin views over crm.reminders: the list shows the actor's own reminders, or with `?all=1` (and
CUSTOMER_VIEW_SUBTREE) every reminder of a customer in scope; a reminder outside what the actor may
act on is a 404. Customer names are masked except for the customer's own manager.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import reminders as services
from crm.choices import ReminderKind, ReminderStatus
from crm.permissions import Perm
from gis_core.api.pagination import StandardPagination
from gis_core.errors import ValidationFailed
from gis_core.masking import mask_name


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate input; field errors → 400 `validation_failed` with the field messages."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(details=serializer.errors)
    return dict(serializer.validated_data)


class ReminderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReminderStatus.choices, required=False, default=ReminderStatus.OPEN,
                                     help_text="open (default) or done")
    kind = serializers.ChoiceField(choices=ReminderKind.choices, required=False, allow_blank=True)
    due_before = serializers.DateField(required=False, help_text="due on or before this date")
    all = serializers.BooleanField(required=False, default=False,
                                   help_text="with CUSTOMER_VIEW_SUBTREE: every reminder of the customers in scope")


class ReminderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.SerializerMethodField()
    manager = serializers.SerializerMethodField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    due_date = serializers.DateField()
    title = serializers.CharField()
    detail = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    done_at = serializers.DateTimeField(allow_null=True)

    def get_customer(self, obj) -> dict:
        customer = obj.customer
        own = customer.manager_id == self.context["actor"].pk
        return {"id": customer.pk, "name": customer.name if own else mask_name(customer.name)}

    def get_manager(self, obj) -> dict:
        return {"id": obj.manager_id, "name": str(obj.manager)}


class ReminderListApi(APIView):
    """The actor's care reminders (paged), soonest first."""

    required_permissions = {"GET": Perm.REMINDER_VIEW}

    @extend_schema(parameters=[ReminderFilterSerializer], responses=ReminderOutputSerializer(many=True))
    def get(self, request):
        filters = validated(ReminderFilterSerializer, request.query_params)
        qs = services.reminder_list(actor=request.user, filters=filters)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ReminderOutputSerializer(page, many=True, context={"actor": request.user}).data)


class ReminderDoneApi(APIView):
    """Mark one reminder handled (its manager, or a subtree viewer for a customer in scope)."""

    required_permissions = {"POST": Perm.REMINDER_VIEW}

    @extend_schema(request=None, responses={200: ReminderOutputSerializer, 404: OpenApiResponse(description="not found or not yours")})
    def post(self, request, pk: int):
        reminder = services.reminder_get(actor=request.user, pk=pk)
        reminder = services.reminder_done(actor=request.user, reminder=reminder)
        return Response(ReminderOutputSerializer(reminder, context={"actor": request.user}).data)
