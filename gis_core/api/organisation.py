"""REST API of the organisation: institutions, users, roles, audit log, dictionaries, calendar.

Thin views: parse input, read through gis_core.selectors (data scope first), call one service,
serialize output. Sensitive fields are masked on the server.
"""
from __future__ import annotations

import csv
import json
import datetime as dt
import io

from django.contrib.gis.geos import Point
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core import selectors
from gis_core.api.pagination import StandardPagination
from gis_core.audit import audit_log
from gis_core.choices import AuditResult, InstitutionKind, RoleCode
from gis_core.crs import CRS, convert_point, parse_crs, UnknownCRSError
from gis_core.errors import ValidationFailed
from gis_core.masking import mask_phone
from gis_core.models import Role
from gis_core.permissions import Perm
from gis_core.services import organisation as org


# --- serializers ----------------------------------------------------------------------------------
class LocationSerializer(serializers.Serializer):
    """A point given as lng/lat in a named CRS (GC-1); stored as WGS-84."""

    lng = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.CharField(required=False, default="wgs84", max_length=16)

    def validate(self, attrs):
        try:
            src = parse_crs(attrs["crs"])
        except UnknownCRSError as exc:
            raise serializers.ValidationError({"crs": [str(exc)]}) from None
        lng, lat = convert_point(attrs["lng"], attrs["lat"], src=src, dst=CRS.WGS84)
        return Point(lng, lat, srid=4326)


class InstitutionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    parent_id = serializers.IntegerField(allow_null=True)
    parent_name = serializers.CharField(source="parent.name", default=None)
    depth = serializers.IntegerField()
    address = serializers.CharField()
    phone = serializers.CharField()
    is_active = serializers.BooleanField()
    location = serializers.SerializerMethodField()

    def get_location(self, obj) -> dict | None:
        return {"lng": obj.location.x, "lat": obj.location.y} if obj.location else None


class InstitutionCreateSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$")
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=InstitutionKind.choices)
    parent = serializers.IntegerField()
    address = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    location = LocationSerializer(required=False, allow_null=True)


class InstitutionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    location = LocationSerializer(required=False, allow_null=True)


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    employee_no = serializers.CharField(allow_null=True)
    phone = serializers.SerializerMethodField()
    email = serializers.CharField()
    institution = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    locked = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(allow_null=True)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)

    def get_institution(self, obj) -> dict | None:
        i = obj.institution
        return {"id": i.pk, "code": i.code, "name": i.name} if i else None

    def get_roles(self, obj) -> list[str]:
        return sorted(r.code for r in obj.roles.all())

    def get_locked(self, obj) -> bool:
        return bool(obj.locked_until and obj.locked_until > timezone.now())


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[A-Za-z0-9_.@-]{3,150}$")
    display_name = serializers.CharField(max_length=64)
    employee_no = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$", required=False, allow_null=True)
    phone = serializers.RegexField(r"^(1[3-9]\d{9})?$", required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    institution = serializers.IntegerField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=RoleCode.choices), allow_empty=True, max_length=7)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class UserUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=64, required=False)
    phone = serializers.RegexField(r"^1[3-9]\d{9}$", required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    institution = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


class UserRolesSerializer(serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=RoleCode.choices), allow_empty=True, max_length=7)


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor_username = serializers.CharField()
    institution = serializers.CharField(source="institution.name", default=None)
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    data = serializers.JSONField()
    result = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()


class AuditFilterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False)
    action = serializers.RegexField(r"^[a-z0-9_.]{1,80}$", required=False)
    result = serializers.ChoiceField(choices=AuditResult.choices, required=False)
    object_type = serializers.CharField(max_length=80, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class DictionaryItemSerializer(serializers.Serializer):
    value = serializers.CharField(max_length=64)
    label = serializers.CharField(max_length=100)
    label_en = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    sort_order = serializers.IntegerField(required=False, min_value=-100000, max_value=100000)
    is_active = serializers.BooleanField(required=False, default=True)


class DictionarySerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[a-z0-9_.]{1,64}$", read_only=True)
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    is_system = serializers.BooleanField(read_only=True)
    items = DictionaryItemSerializer(many=True, max_length=2000)


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    is_workday = serializers.BooleanField()
    note = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    is_override = serializers.BooleanField(read_only=True)


def _paginate(view, request, queryset, serializer_class):
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- institutions -----------------------------------------------------------------------------------
class InstitutionListApi(APIView):
    """List institutions in scope (ORG-1) or add one under a parent in scope."""

    required_permissions = {"GET": Perm.INSTITUTION_VIEW, "POST": Perm.INSTITUTION_MANAGE}

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=InstitutionKind.choices, required=False)
        parent = serializers.IntegerField(required=False)
        q = serializers.CharField(max_length=50, required=False)
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[FilterSerializer], responses=InstitutionOutputSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.institution_list(actor=request.user, filters=filters.validated_data)
        return _paginate(self, request, qs, InstitutionOutputSerializer)

    @extend_schema(request=InstitutionCreateSerializer, responses={201: InstitutionOutputSerializer})
    def post(self, request):
        data = InstitutionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        parent = selectors.institution_get(actor=request.user, pk=values.pop("parent"))
        institution = org.institution_create(actor=request.user, parent=parent, **values)
        return Response(InstitutionOutputSerializer(institution).data, status=201)


class InstitutionDetailApi(APIView):
    required_permissions = {"GET": Perm.INSTITUTION_VIEW, "PATCH": Perm.INSTITUTION_MANAGE}

    @extend_schema(responses=InstitutionOutputSerializer)
    def get(self, request, pk: int):
        return Response(InstitutionOutputSerializer(selectors.institution_get(actor=request.user, pk=pk)).data)

    @extend_schema(request=InstitutionUpdateSerializer, responses=InstitutionOutputSerializer)
    def patch(self, request, pk: int):
        institution = selectors.institution_get(actor=request.user, pk=pk)
        data = InstitutionUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        institution = org.institution_update(actor=request.user, institution=institution, **data.validated_data)
        return Response(InstitutionOutputSerializer(institution).data)


# --- users and roles --------------------------------------------------------------------------------
class UserListApi(APIView):
    """Users in scope; administrators create users with an initial password to be changed (SEC-1)."""

    required_permissions = {"GET": Perm.USER_VIEW, "POST": Perm.USER_MANAGE}

    class FilterSerializer(serializers.Serializer):
        institution = serializers.IntegerField(required=False)
        role = serializers.ChoiceField(choices=RoleCode.choices, required=False)
        q = serializers.CharField(max_length=50, required=False)
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[FilterSerializer], responses=UserOutputSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return _paginate(self, request, selectors.user_list(actor=request.user, filters=filters.validated_data), UserOutputSerializer)

    @extend_schema(request=UserCreateSerializer, responses={201: UserOutputSerializer})
    def post(self, request):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        institution = selectors.institution_get(actor=request.user, pk=values.pop("institution"))
        user = org.user_create(actor=request.user, institution=institution, must_change_password=True, **values)
        return Response(UserOutputSerializer(user).data, status=201)


class UserDetailApi(APIView):
    required_permissions = {"GET": Perm.USER_VIEW, "PATCH": Perm.USER_MANAGE}

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request, pk: int):
        return Response(UserOutputSerializer(selectors.user_get(actor=request.user, pk=pk)).data)

    @extend_schema(request=UserUpdateSerializer, responses=UserOutputSerializer)
    def patch(self, request, pk: int):
        user = selectors.user_get(actor=request.user, pk=pk)
        data = UserUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "institution" in values:
            values["institution"] = selectors.institution_get(actor=request.user, pk=values["institution"])
        return Response(UserOutputSerializer(org.user_update(actor=request.user, user=user, **values)).data)


class UserRolesApi(APIView):
    """Replace a user's roles: a critical operation, so it needs a recent re-authentication (SEC-4)."""

    required_permissions = {"PUT": Perm.USER_MANAGE}

    @extend_schema(request=UserRolesSerializer, responses=UserOutputSerializer)
    def put(self, request, pk: int):
        from gis_core.auth_guards import require_recent_auth

        require_recent_auth(request)
        user = selectors.user_get(actor=request.user, pk=pk)
        data = UserRolesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = org.user_set_roles(actor=request.user, user=user, roles=data.validated_data["roles"])
        return Response(UserOutputSerializer(user).data)


class UserPasswordResetSerializer(serializers.Serializer):
    new_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False, style={"input_type": "password"})


class UserPasswordResetApi(APIView):
    """An administrator gives a user a temporary password (SEC-1): critical, so it needs a recent
    re-authentication (SEC-4). The user must change it at the next sign-in; their sessions and
    tokens end. The service checks the scope and records the audit entry."""

    required_permissions = {"POST": Perm.USER_MANAGE}

    @extend_schema(request=UserPasswordResetSerializer, responses=UserOutputSerializer)
    def post(self, request, pk: int):
        from gis_core.auth_guards import require_recent_auth
        from gis_core.services.auth import password_reset

        require_recent_auth(request)
        user = selectors.user_get(actor=request.user, pk=pk)
        data = UserPasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = password_reset(actor=request.user, user=user, new_password=data.validated_data["new_password"])
        return Response(UserOutputSerializer(user).data)


class RoleListApi(APIView):
    """The roles and the permission codes each grants (declared in code)."""

    required_permissions = {"GET": Perm.USER_VIEW}

    @extend_schema(
        responses=inline_serializer(
            "Role", {"code": serializers.CharField(), "name": serializers.CharField(), "permissions": serializers.ListField()}
        )
    )
    def get(self, request):
        from gis_core.permissions import permissions_for_roles

        return Response(
            [
                {"code": r.code, "name": r.name, "description": r.description, "permissions": sorted(permissions_for_roles([r.code]))}
                for r in Role.objects.all()
            ]
        )


# --- audit log (ORG-6) -----------------------------------------------------------------------------
class AuditEntryListApi(APIView):
    """Search the audit trail of the actor's subtree (auditors)."""

    required_permissions = {"GET": Perm.AUDIT_VIEW}

    @extend_schema(parameters=[AuditFilterSerializer], responses=AuditEntrySerializer(many=True))
    def get(self, request):
        filters = AuditFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.audit_entry_list(actor=request.user, filters=filters.validated_data)
        return _paginate(self, request, qs, AuditEntrySerializer)


class AuditEntryDetailApi(APIView):
    required_permissions = {"GET": Perm.AUDIT_VIEW}

    @extend_schema(responses=AuditEntrySerializer)
    def get(self, request, pk: int):
        return Response(AuditEntrySerializer(selectors.audit_entry_get(actor=request.user, pk=pk)).data)


def csv_safe(value) -> str:
    """Escape values a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AuditEntryExportApi(APIView):
    """Export the filtered audit trail as CSV (UTF-8 with BOM for Excel); the export is itself audited."""

    required_permissions = {"GET": Perm.AUDIT_EXPORT}
    MAX_ROWS = 100_000

    @extend_schema(parameters=[AuditFilterSerializer], responses={(200, "text/csv"): bytes})
    def get(self, request):
        filters = AuditFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.audit_entry_list(actor=request.user, filters=filters.validated_data, perm=Perm.AUDIT_EXPORT)
        total = qs.count()
        if total > self.MAX_ROWS:
            raise ValidationFailed(code="export_too_large", details={"rows": total, "limit": self.MAX_ROWS})
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow(["时间", "账号", "机构", "操作", "对象类型", "对象", "对象名称", "结果", "IP", "数据"])
        for e in qs.iterator(chunk_size=2000):
            writer.writerow(
                [csv_safe(v) for v in (
                    timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor_username,
                    e.institution.name if e.institution else "",
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_repr,
                    e.result,
                    e.ip,
                    json.dumps(e.data, ensure_ascii=False),
                )]
            )
        audit_log(actor=request.user, action="gis_core.audit.exported", data={"rows": total, "filters": {k: str(v) for k, v in filters.validated_data.items()}})
        response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{dt.date.today():%Y%m%d}.csv"'
        return response


# --- dictionaries (ORG-5) and the workday calendar (ORG-7) -------------------------------------------
class DictionaryListApi(APIView):
    required_permissions = {"GET": Perm.DICTIONARY_VIEW}

    @extend_schema(responses=DictionarySerializer(many=True))
    def get(self, request):
        return Response(
            [
                {
                    "code": d.code,
                    "name": d.name,
                    "description": d.description,
                    "is_system": d.is_system,
                    "items": [
                        {"value": i.value, "label": i.label, "label_en": i.label_en, "sort_order": i.sort_order, "is_active": i.is_active}
                        for i in d.items.all()
                    ],
                }
                for d in selectors.dictionary_list(actor=request.user)
            ]
        )


class DictionaryDetailApi(APIView):
    required_permissions = {"PUT": Perm.DICTIONARY_MANAGE}

    @extend_schema(request=DictionarySerializer, responses=DictionarySerializer)
    def put(self, request, code: str):
        data = DictionarySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not code.replace("_", "").replace(".", "").isalnum() or len(code) > 64:
            raise ValidationFailed(code="dictionary_code_invalid")
        d = org.dictionary_upsert(actor=request.user, code=code, **data.validated_data)
        return Response({"code": d.code, "name": d.name, "description": d.description, "is_system": d.is_system,
                         "items": list(d.items.values("value", "label", "label_en", "sort_order", "is_active"))})


class CalendarApi(APIView):
    """GET a month of days (?year=&month=); PUT one day's status."""

    required_permissions = {"GET": Perm.CALENDAR_VIEW, "PUT": Perm.CALENDAR_MANAGE}

    class MonthSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        month = serializers.IntegerField(min_value=1, max_value=12)

    @extend_schema(parameters=[MonthSerializer], responses=CalendarDaySerializer(many=True))
    def get(self, request):
        month = self.MonthSerializer(data=request.query_params)
        month.is_valid(raise_exception=True)
        days = selectors.calendar_month(actor=request.user, **month.validated_data)
        return Response(CalendarDaySerializer(days, many=True).data)

    @extend_schema(request=CalendarDaySerializer, responses=CalendarDaySerializer)
    def put(self, request):
        data = CalendarDaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org.calendar_day_set(actor=request.user, **data.validated_data)
        day = data.validated_data["date"]
        return Response(
            {"date": day, "is_workday": selectors.is_workday(day), "note": data.validated_data.get("note", ""), "is_override": True}
        )
