"""REST API of list templates and list imports (CR-3), mounted under /api/crm/.

Thin views: parse input, read through crm.import_selectors (data scope first), call one service of
crm.imports, serialize output. ID numbers and phones in staged rows are shown masked.
"""
from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import import_selectors as selectors
from crm import imports as services
from crm.choices import ArchiveType, CustomerKind, CustomerStatus, FieldType, ImportMode, ImportStatus
from crm.permissions import Perm
from gis_core import crypto
from gis_core.api.pagination import StandardPagination
from gis_core.crs import CRS
from gis_core.masking import mask_id_number, mask_phone
from gis_core.scope import in_scope

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=\"import.xlsx\"; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- serializers ----------------------------------------------------------------------------------
class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=32)
    label = serializers.CharField(max_length=50)
    type = serializers.ChoiceField(choices=FieldType.choices)
    required = serializers.BooleanField(required=False, default=False)
    max_length = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    regex = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    choices = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=200, default=list)
    maps_to = serializers.CharField(required=False, allow_blank=True, max_length=48, default="")


class ListTemplateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    customer_kind = serializers.CharField()
    customer_status = serializers.CharField()
    archive_type = serializers.CharField()
    columns = serializers.JSONField()
    institution = serializers.SerializerMethodField()
    is_default = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    editable = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_institution(self, obj) -> dict:
        return {"id": obj.institution_id, "name": obj.institution.name}

    def get_is_default(self, obj) -> bool:
        return obj.created_by_id is None and obj.name == services.DEFAULT_TEMPLATE_NAME

    def get_editable(self, obj) -> bool:
        actor = self.context.get("actor")
        return bool(actor) and in_scope(actor, obj.institution.path)


class ListTemplateCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    customer_kind = serializers.ChoiceField(choices=CustomerKind.choices, required=False, default=CustomerKind.INDIVIDUAL)
    customer_status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False, default=CustomerStatus.POTENTIAL)
    archive_type = serializers.ChoiceField(choices=ArchiveType.choices, required=False, allow_blank=True, default="")
    columns = ColumnSerializer(many=True, max_length=services.MAX_COLUMNS)


class ListTemplateUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    customer_kind = serializers.ChoiceField(choices=CustomerKind.choices, required=False)
    customer_status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False)
    archive_type = serializers.ChoiceField(choices=ArchiveType.choices, required=False, allow_blank=True)
    columns = ColumnSerializer(many=True, required=False, max_length=services.MAX_COLUMNS)
    is_active = serializers.BooleanField(required=False)


class ImportBatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    template = serializers.SerializerMethodField()
    institution = serializers.SerializerMethodField()
    operator = serializers.SerializerMethodField()
    file_name = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    mode = serializers.CharField()
    total_rows = serializers.IntegerField()
    valid_rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    committed_rows = serializers.IntegerField()
    geocoded_rows = serializers.IntegerField()
    progress = serializers.IntegerField()
    error = serializers.JSONField()
    created_at = serializers.DateTimeField()
    committed_at = serializers.DateTimeField(allow_null=True)
    links = serializers.SerializerMethodField()

    def get_template(self, obj) -> dict:
        return {"id": obj.template_id, "name": obj.template.name}

    def get_institution(self, obj) -> dict:
        return {"id": obj.institution_id, "name": obj.institution.name}

    def get_operator(self, obj) -> dict | None:
        user = obj.operator
        return {"id": user.pk, "username": user.username, "display_name": user.display_name} if user else None

    def get_links(self, obj) -> dict:
        names = {"self": "import-detail", "rows": "import-rows", "errors_xlsx": "import-errors-xlsx",
                 "commit": "import-commit", "discard": "import-discard", "segment": "import-save-as-segment"}
        return {key: reverse(f"crm_api:{name}", kwargs={"pk": obj.pk}) for key, name in names.items()}


class ImportRowOutputSerializer(serializers.Serializer):
    row_number = serializers.IntegerField()
    cells = serializers.SerializerMethodField()
    errors = serializers.JSONField()
    valid = serializers.SerializerMethodField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)

    def get_cells(self, obj) -> dict:
        masks = self.context.get("masks", {})
        cells = dict((obj.data or {}).get("cells", {}))
        for key, mask in masks.items():
            if cells.get(key):
                try:
                    cells[key] = mask(crypto.decrypt(cells[key]))
                except crypto.DecryptionError:
                    cells[key] = "****"
        return cells

    def get_valid(self, obj) -> bool:
        return not obj.errors


def _masks(batch) -> dict:
    masks = {}
    for column in batch.template.columns:
        if column["type"] == FieldType.ID_NUMBER or column["maps_to"] == "id_number":
            masks[column["key"]] = mask_id_number
        elif column["type"] == FieldType.PHONE or column["maps_to"] == "phone":
            masks[column["key"]] = mask_phone
    return masks


def _rows_page(view, request, batch, *, errors_only: bool):
    paginator = StandardPagination()
    page = paginator.paginate_queryset(selectors.import_row_list(batch=batch, errors_only=errors_only), request, view=view)
    data = ImportRowOutputSerializer(page, many=True, context={"masks": _masks(batch)}).data
    return paginator, data


def _batch_with_rows(view, request, batch, *, status: int = 200) -> Response:
    """The batch, its template's columns and the first page of its rows (the preview)."""
    paginator, rows = _rows_page(view, request, batch, errors_only=False)
    body = ImportBatchOutputSerializer(batch).data
    body["columns"] = batch.template.columns
    body["rows"] = {"count": paginator.page.paginator.count, "next": paginator.get_next_link(), "results": rows}
    return Response(body, status=status)


# --- list templates --------------------------------------------------------------------------------
class ListTemplateListApi(APIView):
    """Templates the actor may use (the default 个人客户名单 is created on first use); create one."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT, "POST": Perm.CUSTOMER_IMPORT}

    @extend_schema(responses=ListTemplateOutputSerializer(many=True))
    def get(self, request):
        services.list_template_default_ensure(institution=request.user.institution)
        qs = selectors.list_template_list(actor=request.user)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ListTemplateOutputSerializer(page, many=True, context={"actor": request.user}).data)

    @extend_schema(request=ListTemplateCreateSerializer, responses={201: ListTemplateOutputSerializer})
    def post(self, request):
        data = ListTemplateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.list_template_create(actor=request.user, **data.validated_data)
        return Response(ListTemplateOutputSerializer(template, context={"actor": request.user}).data, status=201)


class ListTemplateDetailApi(APIView):
    required_permissions = {"GET": Perm.CUSTOMER_IMPORT, "PATCH": Perm.CUSTOMER_IMPORT, "DELETE": Perm.CUSTOMER_IMPORT}

    @extend_schema(responses=ListTemplateOutputSerializer)
    def get(self, request, pk: int):
        template = selectors.list_template_get(actor=request.user, pk=pk)
        return Response(ListTemplateOutputSerializer(template, context={"actor": request.user}).data)

    @extend_schema(request=ListTemplateUpdateSerializer, responses=ListTemplateOutputSerializer)
    def patch(self, request, pk: int):
        template = selectors.list_template_get(actor=request.user, pk=pk, for_change=True)
        data = ListTemplateUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        template = services.list_template_update(actor=request.user, template=template, **data.validated_data)
        return Response(ListTemplateOutputSerializer(template, context={"actor": request.user}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        template = selectors.list_template_get(actor=request.user, pk=pk, for_change=True)
        services.list_template_deactivate(actor=request.user, template=template)
        return Response(status=204)


class ListTemplateXlsxApi(APIView):
    """The template as an XLSX to fill in (header, drop-down lists, hidden sheet of field rules)."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT}

    @extend_schema(responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int):
        template = selectors.list_template_get(actor=request.user, pk=pk)
        return _xlsx_response(services.list_template_xlsx(template=template), f"{template.name}.xlsx")


# --- imports ---------------------------------------------------------------------------------------
class ImportBatchListApi(APIView):
    """Search batches (time, operator, template, name) or upload a file for preview (multipart)."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT, "POST": Perm.CUSTOMER_IMPORT}
    parser_classes = [MultiPartParser, FormParser]

    class ImportBatchFilterSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])
        until = serializers.DateTimeField(required=False, input_formats=["iso-8601"])
        until_date = serializers.DateField(required=False)
        operator = serializers.CharField(required=False, max_length=150)
        template = serializers.IntegerField(required=False)
        name = serializers.CharField(required=False, max_length=100)
        status = serializers.ChoiceField(choices=ImportStatus.choices, required=False)

        def to_internal_value(self, data):
            data = data.copy() if hasattr(data, "copy") else dict(data)
            until = data.get("until")
            if until and len(str(until)) == 10:  # a bare date means "through that whole day"
                data["until_date"] = until
                data.pop("until")
            values = super().to_internal_value(data)
            if "until_date" in values:
                values["until"] = values.pop("until_date")
            return values

    class ImportUploadSerializer(serializers.Serializer):
        template = serializers.IntegerField()
        name = serializers.CharField(max_length=100)
        file = serializers.FileField(allow_empty_file=True)
        crs = serializers.ChoiceField(choices=[c.value for c in CRS], required=False, default=CRS.WGS84.value)
        institution = serializers.IntegerField(required=False)

    @extend_schema(parameters=[ImportBatchFilterSerializer], responses=ImportBatchOutputSerializer(many=True))
    def get(self, request):
        filters = self.ImportBatchFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.import_batch_list(actor=request.user, filters=filters.validated_data)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ImportBatchOutputSerializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportBatchOutputSerializer})
    def post(self, request):
        from gis_core import selectors as org_selectors

        data = self.ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        template = selectors.list_template_get(actor=request.user, pk=values["template"])
        institution = (
            org_selectors.institution_get(actor=request.user, pk=values["institution"]) if values.get("institution") else None
        )
        upload = values["file"]
        batch = services.import_batch_upload(
            actor=request.user, template=template, name=values["name"], upload=upload, file_name=upload.name or "",
            crs=values["crs"], institution=institution,
        )
        return _batch_with_rows(self, request, batch, status=201)


class ImportBatchDetailApi(APIView):
    """A batch with its status and progress (polled by the progress bar)."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT}

    @extend_schema(responses=ImportBatchOutputSerializer)
    def get(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        body = ImportBatchOutputSerializer(batch).data
        body["columns"] = batch.template.columns
        return Response(body)


class ImportRowListApi(APIView):
    """The staged rows of a batch with their per-cell errors ``{column: [messages]}``."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT}

    class ImportRowFilterSerializer(serializers.Serializer):
        errors_only = serializers.BooleanField(required=False, default=False)

    @extend_schema(parameters=[ImportRowFilterSerializer], responses=ImportRowOutputSerializer(many=True))
    def get(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        filters = self.ImportRowFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator, rows = _rows_page(self, request, batch, errors_only=filters.validated_data["errors_only"])
        return paginator.get_paginated_response(rows)


class ImportErrorsXlsxApi(APIView):
    """The invalid rows as XLSX (original columns + an error column, formula injection escaped)."""

    required_permissions = {"GET": Perm.CUSTOMER_IMPORT}

    @extend_schema(responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        content = services.import_errors_xlsx(actor=request.user, batch=batch)
        return _xlsx_response(content, f"{batch.name}-错误行.xlsx")


class ImportBatchCommitApi(APIView):
    """Commit a previewed batch (one transaction); geocoding follows in the background (202)."""

    required_permissions = {"POST": Perm.CUSTOMER_IMPORT}

    class ImportCommitInputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=ImportMode.choices)
        accepted_rows = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1_000_000)

    @extend_schema(request=ImportCommitInputSerializer, responses={202: ImportBatchOutputSerializer})
    def post(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        data = self.ImportCommitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = services.import_batch_commit(actor=request.user, batch=batch, **data.validated_data)
        batch = selectors.import_batch_get(actor=request.user, pk=batch.pk)
        return Response(ImportBatchOutputSerializer(batch).data, status=202)


class ImportBatchDiscardApi(APIView):
    """Give up a previewed batch (its staged rows are deleted)."""

    required_permissions = {"POST": Perm.CUSTOMER_IMPORT}

    @extend_schema(request=None, responses=ImportBatchOutputSerializer)
    def post(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        batch = services.import_batch_discard(actor=request.user, batch=batch)
        return Response(ImportBatchOutputSerializer(batch).data)


class ImportBatchSegmentApi(APIView):
    """Save a committed batch's customers as a private draft segment."""

    required_permissions = {"POST": Perm.CUSTOMER_IMPORT}

    class ImportSegmentInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @extend_schema(
        request=ImportSegmentInputSerializer,
        responses={201: OpenApiResponse(description="the new segment: id, name, member_count, status, visibility")},
    )
    def post(self, request, pk: int):
        batch = selectors.import_batch_get(actor=request.user, pk=pk)
        data = self.ImportSegmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.import_batch_save_as_segment(actor=request.user, batch=batch, name=data.validated_data["name"])
        return Response(
            {"id": segment.pk, "name": segment.name, "member_count": segment.member_count, "status": segment.status,
             "visibility": segment.visibility, "definition": segment.definition},
            status=201,
        )
