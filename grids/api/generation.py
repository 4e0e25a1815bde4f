"""REST API of grid generation (GR-10): start a job, watch it, review its drafts, apply or discard.

Why it exists: generation is a long job (STYLE rule 8), so starting one answers 202 with the job's
URL; the editor polls the job (status, progress, report) and shows the drafts on the map as
GeoJSON before the manager applies them. Every endpoint needs `grids.grid.edit` and reads through
the data scope (a grid or job outside the actor's institution subtree is 404).
"""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gis_core.api.pagination import StandardPagination
from grids.choices import GenerationMethod
from grids.models import Grid, GridDraft, GridGenerationJob
from grids.permissions import Perm
from grids.services import generation


# --- serializers ----------------------------------------------------------------------------------
class GenerationStartSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=GenerationMethod.choices)
    params = serializers.DictField(required=False, default=dict)


class GenerationApplySerializer(serializers.Serializer):
    replace_existing = serializers.BooleanField(required=False, default=False)


class GridDraftFeatureSerializer(GeoFeatureModelSerializer):
    """One proposed child grid as a GeoJSON feature."""

    division_code = serializers.CharField(source="division.code", default=None)

    class Meta:
        model = GridDraft
        geo_field = "geom"
        id_field = "id"
        fields = ["id", "code", "name", "division_code", "area_m2", "stats", "geom"]


class GenerationJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()
    method = serializers.CharField()
    method_label = serializers.CharField(source="get_method_display")
    params = serializers.JSONField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    progress = serializers.IntegerField()
    report = serializers.JSONField()
    error = serializers.JSONField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, obj) -> str:
        return job_url(obj)

    def get_parent(self, obj) -> dict:
        return {"id": obj.parent_id, "code": obj.parent.code, "name": obj.parent.name}


class GenerationJobDetailSerializer(GenerationJobOutputSerializer):
    drafts = serializers.SerializerMethodField()

    def get_drafts(self, obj) -> dict:
        drafts = obj.drafts.select_related("division").order_by("id")
        return GridDraftFeatureSerializer(drafts, many=True).data


def job_url(job: GridGenerationJob) -> str:
    return reverse("grids_api:generation-job-detail", kwargs={"pk": job.pk})


def _job_in_scope(request, pk: int) -> GridGenerationJob:
    return GridGenerationJob.objects.select_related("parent", "created_by").get_in_scope(
        request.user, perm=Perm.GRID_EDIT, pk=pk
    )


# --- views ------------------------------------------------------------------------------------------
class GridGenerateApi(APIView):
    """Start generating the children of a grid; 202 with the job's URL (Location header and `url`)."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=GenerationStartSerializer, responses={202: GenerationJobOutputSerializer})
    def post(self, request, pk: int):
        parent = Grid.objects.select_related("institution").get_in_scope(request.user, pk=pk)
        data = GenerationStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = generation.generation_start(actor=request.user, parent=parent, **data.validated_data)
        body = GenerationJobOutputSerializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class GridGenerationJobListApi(APIView):
    """The generation jobs of one grid, newest first (without drafts)."""

    required_permissions = {"GET": Perm.GRID_EDIT}

    @extend_schema(responses=GenerationJobOutputSerializer(many=True))
    def get(self, request, pk: int):
        parent = Grid.objects.get_in_scope(request.user, pk=pk)
        jobs = (
            GridGenerationJob.objects.for_actor(request.user, perm=Perm.GRID_EDIT)
            .filter(parent=parent).select_related("parent", "created_by").order_by("-created_at", "-id")
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(GenerationJobOutputSerializer(page, many=True).data)


class GenerationJobDetailApi(APIView):
    """One job: status, progress, report, error and its drafts as a GeoJSON FeatureCollection."""

    required_permissions = {"GET": Perm.GRID_EDIT}

    @extend_schema(responses=GenerationJobDetailSerializer)
    def get(self, request, pk: int):
        return Response(GenerationJobDetailSerializer(_job_in_scope(request, pk)).data)


class GenerationJobApplyApi(APIView):
    """Turn a ready job's drafts into grids (all or nothing), optionally replacing the current children."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=GenerationApplySerializer, responses=GenerationJobOutputSerializer)
    def post(self, request, pk: int):
        job = _job_in_scope(request, pk)
        data = GenerationApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grids = generation.generation_apply(actor=request.user, job=job, **data.validated_data)
        job.refresh_from_db()
        body = GenerationJobOutputSerializer(job).data
        body["grids"] = [{"id": g.pk, "code": g.code, "name": g.name} for g in grids]
        return Response(body)


class GenerationJobDiscardApi(APIView):
    """Drop a job's proposal."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=None, responses=GenerationJobOutputSerializer)
    def post(self, request, pk: int):
        job = generation.generation_discard(actor=request.user, job=_job_in_scope(request, pk))
        return Response(GenerationJobOutputSerializer(job).data)
