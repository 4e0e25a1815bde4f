"""REST API of segments (客群, CR-4) and tags (CR-5), mounted under /api/crm/.

Thin views: parse input, read through crm.segment_selectors (data scope first: a segment the user may
not see is a 404), call one service of crm.segments, serialize output. Customer names in previews
and member lists are masked (a manager sees the names of the customers they manage).

Permissions: reads SEGMENT_VIEW; editing, submitting and refreshing SEGMENT_EDIT; approving and
rejecting SEGMENT_APPROVE; the tag catalogue is read with SEGMENT_VIEW or TAG_MANAGE and changed
with TAG_MANAGE.
"""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import segment_selectors as selectors
from crm import segments as services
from crm.choices import ApprovalStatus, TagKind, Visibility
from crm.permissions import Perm
from gis_core.api.pagination import StandardPagination
from gis_core.bbox import BBox
from gis_core.crs import CRS, UnknownCRSError, parse_crs
from gis_core.errors import ValidationFailed
from gis_core.masking import mask_name, mask_phone

ERRORS = {400: OpenApiResponse(description="`{error: {code, message, details}}`; a bad definition gives "
                                            "`segment_definition_invalid` with `details.path` of the bad node")}
TAG_READ = (Perm.SEGMENT_VIEW, Perm.TAG_MANAGE)


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """Validate input; field errors → 400 `validation_failed` with the field messages."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise ValidationFailed(details=serializer.errors)
    return dict(serializer.validated_data)


# --- serializers ----------------------------------------------------------------------------------
class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SegmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    definition = serializers.JSONField()
    visibility = serializers.CharField()
    visibility_label = serializers.CharField(source="get_visibility_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    institution = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    member_count = serializers.IntegerField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    source_batch = serializers.IntegerField(source="source_batch_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    can = serializers.SerializerMethodField()

    def get_institution(self, obj) -> dict:
        return {"id": obj.institution_id, "name": obj.institution.name}

    def get_owner(self, obj) -> dict:
        return {"id": obj.owner_id, "name": str(obj.owner)}

    def get_can(self, obj) -> dict:
        actor = self.context["actor"]
        mine = obj.owner_id == actor.pk
        editor = mine and actor.has_perm_code(Perm.SEGMENT_EDIT)
        approver = not mine and actor.has_perm_code(Perm.SEGMENT_APPROVE) and obj.status == ApprovalStatus.PENDING
        return {
            "edit": editor and obj.status != ApprovalStatus.PENDING,
            "submit": editor and obj.status in (ApprovalStatus.DRAFT, ApprovalStatus.REJECTED),
            "delete": editor and obj.status in (ApprovalStatus.DRAFT, ApprovalStatus.REJECTED),
            "approve": approver,
            "refresh": actor.has_perm_code(Perm.SEGMENT_EDIT),
        }


class SegmentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApprovalStatus.choices, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    mine = serializers.BooleanField(required=False, default=False)
    q = serializers.CharField(max_length=50, required=False)


class SegmentCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    definition = serializers.JSONField(help_text='the filter language, e.g. {"v": 1, "all": [{"tag": "vip"}]}')
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PRIVATE)


class SegmentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    definition = serializers.JSONField(required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)


class DefinitionSerializer(serializers.Serializer):
    definition = serializers.JSONField()


class CountOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    definition = serializers.JSONField()
    bbox = serializers.CharField(max_length=200, help_text="xmin,ymin,xmax,ymax of the map view")
    crs = serializers.CharField(max_length=16, required=False, default="wgs84", help_text="datum of bbox: wgs84, gcj02 or bd09")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=5000, default=services.PREVIEW_LIMIT)

    def validate_crs(self, value: str) -> CRS:
        try:
            return parse_crs(value)
        except UnknownCRSError:
            raise serializers.ValidationError(_("坐标系无效，可用 wgs84、gcj02、bd09")) from None


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ApprovalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    comment = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor(self, obj) -> dict | None:
        return {"id": obj.actor_id, "name": str(obj.actor)} if obj.actor_id else None


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="customer_id")
    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    kind = serializers.CharField(source="customer.kind")
    status = serializers.CharField(source="customer.status")
    institution = serializers.CharField(source="customer.institution.name")
    manager = serializers.SerializerMethodField()
    added_at = serializers.DateTimeField()

    def get_name(self, obj) -> str:
        customer = obj.customer
        return customer.name if customer.manager_id == self.context["actor"].pk else mask_name(customer.name)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.customer.phone or "")

    def get_manager(self, obj) -> str:
        return str(obj.customer.manager) if obj.customer.manager_id else ""


class TagOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    rule = serializers.JSONField()
    is_active = serializers.BooleanField()


class TagDetailOutputSerializer(TagOutputSerializer):
    customer_count = serializers.IntegerField(help_text="customers carrying the tag that the viewer may see")


class TagFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TagKind.choices, required=False)
    category = serializers.CharField(max_length=64, required=False)
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(max_length=50, required=False)


class TagCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=TagKind.choices, required=False, default=TagKind.MANUAL)
    rule = serializers.JSONField(required=False, default=dict)
    is_active = serializers.BooleanField(required=False, default=True)


class TagUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)
    rule = serializers.JSONField(required=False)
    is_active = serializers.BooleanField(required=False)


class CustomerIdsSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=services.MAX_TAG_BATCH
    )


def _segment(request, pk: int) -> dict:
    segment = selectors.segment_get(actor=request.user, pk=pk)
    return SegmentOutputSerializer(segment, context={"actor": request.user}).data


# --- segments -------------------------------------------------------------------------------------
class SegmentListApi(APIView):
    """The segments the user may see (paged) or a new draft segment owned by the user."""

    required_permissions = {"GET": Perm.SEGMENT_VIEW, "POST": Perm.SEGMENT_EDIT}

    @extend_schema(parameters=[SegmentFilterSerializer], responses=SegmentOutputSerializer(many=True))
    def get(self, request):
        filters = validated(SegmentFilterSerializer, request.query_params)
        qs = selectors.segment_list(actor=request.user, filters=filters)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(SegmentOutputSerializer(page, many=True, context={"actor": request.user}).data)

    @extend_schema(request=SegmentCreateSerializer, responses={201: SegmentOutputSerializer, **ERRORS})
    def post(self, request):
        data = validated(SegmentCreateSerializer, request.data)
        segment = services.segment_create(actor=request.user, **data)
        return Response(_segment(request, segment.pk), status=201)


class SegmentDetailApi(APIView):
    """One segment; PATCH edits it (owner; a rejected or re-defined approved segment returns to
    draft); DELETE removes a draft or rejected one (owner)."""

    required_permissions = {"GET": Perm.SEGMENT_VIEW, "PATCH": Perm.SEGMENT_EDIT, "DELETE": Perm.SEGMENT_EDIT}

    @extend_schema(responses=SegmentOutputSerializer)
    def get(self, request, pk: int):
        return Response(_segment(request, pk))

    @extend_schema(request=SegmentUpdateSerializer, responses={200: SegmentOutputSerializer, **ERRORS})
    def patch(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        data = validated(SegmentUpdateSerializer, request.data)
        services.segment_update(actor=request.user, segment=segment, **data)
        return Response(_segment(request, pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        services.segment_delete(actor=request.user, segment=segment)
        return Response(status=204)


class SegmentSubmitApi(APIView):
    """Submit a draft or rejected segment for approval (owner)."""

    required_permissions = {"POST": Perm.SEGMENT_EDIT}

    @extend_schema(request=CommentSerializer, responses={200: SegmentOutputSerializer, **ERRORS})
    def post(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        data = validated(CommentSerializer, request.data)
        services.segment_submit(actor=request.user, segment=segment, comment=data["comment"])
        return Response(_segment(request, pk))


class SegmentApproveApi(APIView):
    """Approve a pending segment (not one's own)."""

    required_permissions = {"POST": Perm.SEGMENT_APPROVE}

    @extend_schema(request=CommentSerializer, responses={200: SegmentOutputSerializer, **ERRORS})
    def post(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        data = validated(CommentSerializer, request.data)
        services.segment_approve(actor=request.user, segment=segment, comment=data["comment"])
        return Response(_segment(request, pk))


class SegmentRejectApi(APIView):
    """Reject a pending segment with a reason (not one's own)."""

    required_permissions = {"POST": Perm.SEGMENT_APPROVE}

    @extend_schema(request=CommentSerializer, responses={200: SegmentOutputSerializer, **ERRORS})
    def post(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        data = validated(CommentSerializer, request.data)
        services.segment_reject(actor=request.user, segment=segment, comment=data["comment"])
        return Response(_segment(request, pk))


class SegmentApprovalListApi(APIView):
    """The approval log of a segment, newest first."""

    required_permissions = {"GET": Perm.SEGMENT_VIEW}

    @extend_schema(responses=ApprovalOutputSerializer(many=True))
    def get(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        return Response(ApprovalOutputSerializer(selectors.segment_approvals(segment=segment), many=True).data)


class SegmentCountApi(APIView):
    """The live count of a definition while editing: customers in the user's scope matching it."""

    required_permissions = {"POST": Perm.SEGMENT_VIEW}

    @extend_schema(request=DefinitionSerializer, responses={200: CountOutputSerializer, **ERRORS})
    def post(self, request):
        data = validated(DefinitionSerializer, request.data)
        return Response({"count": services.segment_count(actor=request.user, definition=data["definition"])})


class SegmentPreviewApi(APIView):
    """The map preview of a definition inside the map view: points (masked names) or, when many,
    square cells with counts, as GeoJSON in WGS-84 with `mode` ("points" or "cells") and `in_view`."""

    required_permissions = {"POST": Perm.SEGMENT_VIEW}

    @extend_schema(request=PreviewSerializer, responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def post(self, request):
        data = validated(PreviewSerializer, request.data)
        bbox = BBox.parse(data["bbox"]).to_wgs84(data["crs"])
        return Response(services.segment_preview(actor=request.user, definition=data["definition"], bbox=bbox, limit=data["limit"]))


class SegmentRefreshApi(APIView):
    """Recompute a segment's membership now, in the background (202)."""

    required_permissions = {"POST": Perm.SEGMENT_EDIT}

    @extend_schema(request=None, responses={202: OpenApiResponse(description="{status: queued, segment: url}")})
    def post(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        services.segment_refresh_request(actor=request.user, segment=segment)
        return Response({"status": "queued", "segment": reverse("crm_api:segment-detail", args=[pk])}, status=202)


class SegmentMemberListApi(APIView):
    """The materialised members of a segment that the user may see (paged, masked)."""

    required_permissions = {"GET": Perm.SEGMENT_VIEW}

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request, pk: int):
        segment = selectors.segment_get(actor=request.user, pk=pk)
        qs = selectors.segment_members(actor=request.user, segment=segment)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(MemberOutputSerializer(page, many=True, context={"actor": request.user}).data)


# --- tags -----------------------------------------------------------------------------------------
class TagListApi(APIView):
    """The tag catalogue, or a new tag (manual, or rule with a definition)."""

    required_permissions = {"GET": TAG_READ, "POST": Perm.TAG_MANAGE}

    @extend_schema(parameters=[TagFilterSerializer], responses=TagOutputSerializer(many=True))
    def get(self, request):
        filters = validated(TagFilterSerializer, request.query_params)
        qs = selectors.tag_list(filters=filters)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(TagOutputSerializer(page, many=True).data)

    @extend_schema(request=TagCreateSerializer, responses={201: TagDetailOutputSerializer, **ERRORS})
    def post(self, request):
        data = validated(TagCreateSerializer, request.data)
        tag = services.tag_create(actor=request.user, **data)
        return Response(_tag(request, tag.pk), status=201)


def _tag(request, pk: int) -> dict:
    tag = selectors.tag_get(pk=pk)
    tag.customer_count = selectors.tag_customer_count(actor=request.user, tag=tag)
    return TagDetailOutputSerializer(tag).data


class TagDetailApi(APIView):
    """One tag with how many of the viewer's customers carry it; PATCH edits (code and kind are
    fixed); DELETE removes it unless a segment or rule still names it (409 `tag_in_use`)."""

    required_permissions = {"GET": TAG_READ, "PATCH": Perm.TAG_MANAGE, "DELETE": Perm.TAG_MANAGE}

    @extend_schema(responses=TagDetailOutputSerializer)
    def get(self, request, pk: int):
        return Response(_tag(request, pk))

    @extend_schema(request=TagUpdateSerializer, responses={200: TagDetailOutputSerializer, **ERRORS})
    def patch(self, request, pk: int):
        tag = selectors.tag_get(pk=pk)
        data = validated(TagUpdateSerializer, request.data)
        services.tag_update(actor=request.user, tag=tag, **data)
        return Response(_tag(request, pk))

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="tag_in_use")})
    def delete(self, request, pk: int):
        services.tag_delete(actor=request.user, tag=selectors.tag_get(pk=pk))
        return Response(status=204)


class TagApplyApi(APIView):
    """Put a manual tag on customers (all in the user's scope, else 404 and nothing changes)."""

    required_permissions = {"POST": Perm.TAG_MANAGE}

    @extend_schema(request=CustomerIdsSerializer, responses={200: OpenApiResponse(description="{added: n}"), **ERRORS})
    def post(self, request, pk: int):
        data = validated(CustomerIdsSerializer, request.data)
        added = services.tag_apply(actor=request.user, tag=selectors.tag_get(pk=pk), customer_ids=data["customer_ids"])
        return Response({"added": added})


class TagRemoveApi(APIView):
    """Take a manual tag off customers (all in the user's scope, else 404 and nothing changes)."""

    required_permissions = {"POST": Perm.TAG_MANAGE}

    @extend_schema(request=CustomerIdsSerializer, responses={200: OpenApiResponse(description="{removed: n}"), **ERRORS})
    def post(self, request, pk: int):
        data = validated(CustomerIdsSerializer, request.data)
        removed = services.tag_remove(actor=request.user, tag=selectors.tag_get(pk=pk), customer_ids=data["customer_ids"])
        return Response({"removed": removed})


class TagRefreshApi(APIView):
    """Re-materialise a rule tag now, in the background (202)."""

    required_permissions = {"POST": Perm.TAG_MANAGE}

    @extend_schema(request=None, responses={202: OpenApiResponse(description="{status: queued}")})
    def post(self, request, pk: int):
        services.tag_refresh_request(actor=request.user, tag=selectors.tag_get(pk=pk))
        return Response({"status": "queued"}, status=202)
