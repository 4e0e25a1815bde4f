"""REST API of grid rating (GR-7): schemes, runs in the background, jobs, and a grid's rating with
its explanation. Thin views: parse, read through grids.selectors_rating (scope first), call one
service from grids.services.rating, serialize.
"""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core import selectors as core_selectors
from gis_core.api.pagination import StandardPagination
from grids import selectors_rating as selectors
from grids.permissions import Perm
from grids.services import rating as services


# --- permissions ------------------------------------------------------------------------------------
class CanReadGrids(BasePermission):
    """Reading a grid's rating needs either grid read permission; `Grid.objects.for_actor` then
    narrows account managers to their own grids."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active) and (
            user.has_perm_code(Perm.GRID_VIEW_SUBTREE) or user.has_perm_code(Perm.GRID_VIEW_OWN)
        )


# --- serializers ------------------------------------------------------------------------------------
class RatingSchemeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    normalisation = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    thresholds = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_normalisation(self, obj) -> str:
        return services.scheme_normalisation(obj)

    def get_dimensions(self, obj) -> list[dict]:
        catalogue = services.dimension_catalogue()
        return [{**d, "label": catalogue.get(d["key"], d["key"])} for d in obj.dimensions]

    def get_thresholds(self, obj) -> dict:
        return services.scheme_thresholds(obj)


class RatingSchemeInputSerializer(serializers.Serializer):
    """Only the shape; the rules (known keys, weights, thresholds) are checked by the service,
    which reports every problem at once."""

    name = serializers.CharField(max_length=100, allow_blank=True)
    dimensions = serializers.ListField(child=serializers.DictField(), allow_empty=True, max_length=50)
    thresholds = serializers.DictField()
    normalisation = serializers.CharField(max_length=16, required=False, default="percentile")
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


class RatingRunInputSerializer(serializers.Serializer):
    scheme = serializers.IntegerField(required=False, allow_null=True, default=None)
    level = serializers.ChoiceField(choices=services.rating_levels())
    institution = serializers.IntegerField(required=False, allow_null=True, default=None)


class RatingJobOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    progress = serializers.IntegerField()
    scheme_id = serializers.IntegerField()
    scheme_name = serializers.CharField()
    level = serializers.CharField()
    institution_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)
    result = serializers.JSONField(allow_null=True)
    error = serializers.JSONField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_status_label(self, obj) -> str:
        return str(services.JobState.LABELS.get(obj["status"], obj["status"]))

    def get_url(self, obj) -> str:
        return reverse("grids_api:rating-job-detail", kwargs={"job_id": obj["id"]})


class GridRatingOutputSerializer(serializers.Serializer):
    scheme = serializers.SerializerMethodField()
    score = serializers.FloatField()
    grade = serializers.CharField()
    computed_at = serializers.DateTimeField()
    explanation = serializers.JSONField()

    def get_scheme(self, obj) -> dict:
        return {"id": obj.scheme_id, "name": obj.scheme.name}


# --- views ------------------------------------------------------------------------------------------
class RatingSchemeListApi(APIView):
    """Rating schemes (bank-wide configuration); raters add new ones."""

    required_permissions = {"GET": Perm.GRID_VIEW_SUBTREE, "POST": Perm.GRID_RATE}

    @extend_schema(responses=RatingSchemeOutputSerializer(many=True))
    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.rating_scheme_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(RatingSchemeOutputSerializer(page, many=True).data)

    @extend_schema(request=RatingSchemeInputSerializer, responses={201: RatingSchemeOutputSerializer})
    def post(self, request):
        data = RatingSchemeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scheme = services.rating_scheme_save(actor=request.user, **data.validated_data)
        return Response(RatingSchemeOutputSerializer(scheme).data, status=201)


class RatingSchemeDetailApi(APIView):
    required_permissions = {"GET": Perm.GRID_VIEW_SUBTREE, "PUT": Perm.GRID_RATE}

    @extend_schema(responses=RatingSchemeOutputSerializer)
    def get(self, request, pk: int):
        return Response(RatingSchemeOutputSerializer(selectors.rating_scheme_get(actor=request.user, pk=pk)).data)

    @extend_schema(request=RatingSchemeInputSerializer, responses=RatingSchemeOutputSerializer)
    def put(self, request, pk: int):
        scheme = selectors.rating_scheme_get(actor=request.user, pk=pk)
        data = RatingSchemeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scheme = services.rating_scheme_save(actor=request.user, scheme=scheme, **data.validated_data)
        return Response(RatingSchemeOutputSerializer(scheme).data)


class RatingRunStartApi(APIView):
    """Start rating one level's grids (default: the actor's institution subtree, the active
    scheme) in the background; answers 202 with the job's URL."""

    required_permissions = {"POST": Perm.GRID_RATE}

    @extend_schema(request=RatingRunInputSerializer, responses={202: RatingJobOutputSerializer})
    def post(self, request):
        data = RatingRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        scheme = selectors.rating_scheme_get(actor=request.user, pk=values["scheme"]) if values["scheme"] else None
        institution = (
            core_selectors.institution_get(actor=request.user, pk=values["institution"]) if values["institution"] else None
        )
        job = services.rating_run_start(actor=request.user, scheme=scheme, level=values["level"], institution=institution)
        body = RatingJobOutputSerializer(job).data
        return Response(body, status=202, headers={"Location": body["url"]})


class RatingJobDetailApi(APIView):
    required_permissions = {"GET": Perm.GRID_RATE}

    @extend_schema(responses=RatingJobOutputSerializer)
    def get(self, request, job_id):
        return Response(RatingJobOutputSerializer(selectors.rating_job_get(actor=request.user, job_id=str(job_id))).data)


class GridRatingDetailApi(APIView):
    """A grid's latest rating and why (raw, normalised, weight and contribution per dimension)."""

    permission_classes = [CanReadGrids]

    @extend_schema(responses=GridRatingOutputSerializer)
    def get(self, request, pk: int):
        grid, rating = selectors.grid_rating_get(actor=request.user, grid_id=pk)
        return Response({
            "id": grid.pk, "code": grid.code, "name": grid.name,
            "rating": GridRatingOutputSerializer(rating).data if rating is not None else None,
        })
