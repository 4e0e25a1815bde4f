"""REST API of grids, core part: list and edit the grid hierarchy (GR-1..GR-4), the editor's dry run,
history, coverage, tree, import and export.

Thin views (STYLE rule 4): input serializer → selector (the actor's scope first: a grid outside it is
404) → one service → output serializer. Geometry comes and goes as GeoJSON in the client's `crs`;
errors carry stable codes and, for geometry, the place of the problem in that same crs.

Reads declare `(GRID_VIEW_SUBTREE, GRID_VIEW_OWN)` — either suffices; `Grid.objects.for_actor` then
narrows holders of GRID_VIEW_OWN to their own grids. Writes declare GRID_EDIT; exports GRID_EXPORT.
Merging is a critical operation and needs a recent re-authentication (SEC-4).
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core.auth_guards import require_recent_auth
from gis_core.crs import CRS
from gis_core.errors import NotFound, ValidationFailed
from gis_core.models import Institution
from grids import selectors
from grids.api import serializers as s
from grids.api.fields import (
    GridPagination,
    PagePagination,
    errors_in_crs,
    feature_collection,
    geojson_geometry,
    location_in,
    to_wgs84_geos,
    validated,
)
from grids.choices import GridKind
from grids.fileio import DEFAULT_MAX_BYTES
from grids.permissions import Perm
from grids.services import editing
from grids.services.common import to_shapely
from grids.services.files import grids_export, grids_import_file

GRID_READ = (Perm.GRID_VIEW_SUBTREE, Perm.GRID_VIEW_OWN)
ERRORS = {400: OpenApiResponse(description="`{error: {code, message, details}}`")}


def _institution(actor: Any, pk: int | None) -> Institution:
    """The owning institution: the one named (in the actor's scope, else 404) or the actor's own."""
    if pk is None:
        if actor.institution is None:
            raise ValidationFailed(_("请指定所属机构"), code="institution_required")
        return actor.institution
    try:
        return Institution.objects.for_actor(actor).get(pk=pk)
    except Institution.DoesNotExist:
        raise NotFound() from None


def _parent(actor: Any, pk: int | None):
    return selectors.grid_get(actor=actor, pk=pk) if pk else None


def _detail(actor: Any, pk: int, crs: CRS) -> dict[str, Any]:
    return s.GridDetailSerializer(selectors.grid_get(actor=actor, pk=pk), context={"crs": crs}).data


def _features(grids, crs: CRS) -> dict[str, Any]:
    return s.GridFeatureSerializer(grids, many=True, context={"crs": crs}).data


# --- list and create ----------------------------------------------------------------------------------------
class GridListApi(APIView):
    """Grids as a GeoJSON FeatureCollection (paged: 100, at most 500 per page) or a new grid."""

    required_permissions = {"GET": GRID_READ, "POST": Perm.GRID_EDIT}

    @extend_schema(
        parameters=[s.GridFilterSerializer, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=s.GridFeatureSerializer(many=True),
    )
    def get(self, request):
        params = validated(s.GridFilterSerializer, request.query_params)
        crs = params.pop("crs")
        if params.get("bbox") is not None:
            params["bbox"] = params["bbox"].to_wgs84(crs)
        qs = selectors.grid_list(actor=request.user, filters=params)
        paginator = GridPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.GridFeatureSerializer(page, many=True, context={"crs": crs}).data)

    @extend_schema(request=s.GridCreateSerializer, responses={201: s.GridDetailSerializer, **ERRORS})
    def post(self, request):
        data = validated(s.GridCreateSerializer, request.data)
        crs = data["crs"]
        parent = _parent(request.user, data.get("parent"))
        institution = _institution(request.user, data.get("institution"))
        with errors_in_crs(crs):
            grid = editing.grid_create(
                actor=request.user, code=data["code"], name=data["name"], kind=data["kind"],
                geom=to_wgs84_geos(data["geometry"], crs), institution=institution, parent=parent,
                level=data["level"], virtual_type=data["virtual_type"], business_lines=data["business_lines"],
                description=data["description"], reason=data["reason"],
            )
        return Response(_detail(request.user, grid.pk, crs), status=201)


# --- one grid -------------------------------------------------------------------------------------------------
class GridDetailApi(APIView):
    """One grid with its full geometry (GET) or an edit of it (PATCH, optimistic locking: 409 when
    `version` is stale, with the current version in the details)."""

    required_permissions = {"GET": GRID_READ, "PATCH": Perm.GRID_EDIT}

    @extend_schema(parameters=[s.CrsQuerySerializer], responses=s.GridDetailSerializer)
    def get(self, request, pk: int):
        crs = validated(s.CrsQuerySerializer, request.query_params)["crs"]
        return Response(_detail(request.user, pk, crs))

    @extend_schema(request=s.GridUpdateSerializer, responses={200: s.GridDetailSerializer, **ERRORS})
    def patch(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.GridUpdateSerializer, request.data)
        crs = data.pop("crs")
        version, reason = data.pop("version"), data.pop("reason")
        if "geometry" in data:
            data["geom"] = to_wgs84_geos(data.pop("geometry"), crs)
        if "institution" in data:
            data["institution"] = _institution(request.user, data["institution"])
        with errors_in_crs(crs):
            editing.grid_update(actor=request.user, grid=grid, expected_version=version, reason=reason, **data)
        return Response(_detail(request.user, pk, crs))


class GridRetireApi(APIView):
    """Retire a grid (no active children; its open assignments end today)."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=s.GridRetireSerializer, responses={200: s.GridDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.GridRetireSerializer, request.data)
        editing.grid_retire(actor=request.user, grid=grid, expected_version=data["version"], reason=data["reason"])
        return Response(_detail(request.user, pk, CRS.WGS84))


class GridSplitApi(APIView):
    """Split a grid along a drawn line; answers the pieces (the grid itself first)."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=s.GridSplitSerializer, responses={200: s.GridFeatureSerializer(many=True), **ERRORS})
    def post(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        data = validated(s.GridSplitSerializer, request.data)
        crs = data["crs"]
        with errors_in_crs(crs):
            pieces = editing.grid_split(
                actor=request.user, grid=grid, expected_version=data["version"], line=to_wgs84_geos(data["line"], crs),
                names=data["names"], reason=data["reason"],
            )
        grids = [selectors.grid_get(actor=request.user, pk=p.pk) for p in pieces]
        return Response(_features(grids, crs))


class GridMergeApi(APIView):
    """Merge adjacent sibling grids into the first (critical: needs a recent re-authentication)."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=s.GridMergeSerializer, responses={200: s.GridDetailSerializer, **ERRORS})
    def post(self, request):
        data = validated(s.GridMergeSerializer, request.data)
        if len(set(data["ids"])) != len(data["ids"]):
            raise ValidationFailed(_("网格重复"), code="merge_duplicate", details={"ids": data["ids"]})
        grids = selectors.grids_get(actor=request.user, pks=data["ids"])
        require_recent_auth(request)
        with errors_in_crs(data["crs"]):
            merged = editing.grid_merge(
                actor=request.user, grids=grids, expected_versions=data["versions"], name=data["name"], reason=data["reason"]
            )
        return Response(_detail(request.user, merged.pk, data["crs"]))


class GridValidateApi(APIView):
    """The editor's dry run: every rule on a drawn shape, all problems at once, nothing written.
    Answers `{ok, problems: [{code, message, location, details}], overlaps: FeatureCollection}`."""

    required_permissions = {"POST": Perm.GRID_EDIT}

    @extend_schema(request=s.GridValidateSerializer, responses={200: s.GridValidateResultSerializer, **ERRORS})
    def post(self, request):
        data = validated(s.GridValidateSerializer, request.data)
        crs = data["crs"]
        exclude = _parent(request.user, data.get("exclude"))
        if "parent" in data:
            parent = _parent(request.user, data.get("parent"))
        else:
            parent = exclude.parent if exclude is not None else None
        kind = data.get("kind") or (exclude.kind if exclude else GridKind.PHYSICAL)
        level = data.get("level", exclude.level if exclude else "")
        virtual_type = data.get("virtual_type", exclude.virtual_type if exclude else "")
        shape = to_shapely(to_wgs84_geos(data["geometry"], crs))
        report = selectors.grid_rules_check(
            actor=request.user, shape=shape, kind=kind, level=level or "", virtual_type=virtual_type or "",
            parent=parent, exclude=exclude,
        )
        problems = [
            {
                "code": p.code, "message": str(p.message),
                "location": location_in({"lng": p.location[0], "lat": p.location[1]}, crs) if p.location else None,
                "details": p.details or {},
            }
            for p in report.problems
        ]
        overlaps = feature_collection([
            {
                "type": "Feature",
                "geometry": geojson_geometry(o.geometry, crs),
                "properties": {"sibling_id": o.sibling_id, "sibling_name": o.sibling_name, "area_m2": round(o.area_m2, 2)},
            }
            for o in report.overlaps
        ])
        return Response({"ok": report.ok, "problems": problems, "overlaps": overlaps})


# --- around one grid ------------------------------------------------------------------------------------------
class GridHistoryApi(APIView):
    """Every change of one grid, newest first (paged)."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(parameters=[OpenApiParameter("page", int)], responses=s.GridHistorySerializer(many=True))
    def get(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.grid_history_list(actor=request.user, grid=grid), request, view=self)
        return paginator.get_paginated_response(s.GridHistorySerializer(page, many=True).data)


class GridCoverageApi(APIView):
    """How the grid's active children cover it: gaps and overlaps as GeoJSON (GR-4)."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(parameters=[s.CrsQuerySerializer], responses=s.GridCoverageSerializer)
    def get(self, request, pk: int):
        crs = validated(s.CrsQuerySerializer, request.query_params)["crs"]
        grid = selectors.grid_get(actor=request.user, pk=pk)
        coverage = selectors.grid_coverage(actor=request.user, grid=grid)
        report = coverage.report
        gaps = [
            {"type": "Feature", "geometry": geojson_geometry(report.gaps, crs), "properties": {"area_m2": round(report.gap_area_m2, 1)}}
        ] if report.gaps is not None else []
        overlaps = [
            {"type": "Feature", "geometry": geojson_geometry(o.geometry, crs),
             "properties": {"id_a": o.id_a, "id_b": o.id_b, "area_m2": round(o.area_m2, 2)}}
            for o in report.overlaps
        ]
        return Response({
            "grid_id": grid.pk, "children": coverage.children, "covered_ratio": round(report.covered_ratio, 6),
            "gap_area_m2": round(report.gap_area_m2, 1), "gaps": feature_collection(gaps), "overlaps": feature_collection(overlaps),
        })


class GridChildrenApi(APIView):
    """The visible children of a grid as GeoJSON (active unless `status` says otherwise)."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(parameters=[s.GridFilterSerializer], responses=s.GridFeatureSerializer(many=True))
    def get(self, request, pk: int):
        params = validated(s.GridFilterSerializer, request.query_params)
        grid = selectors.grid_get(actor=request.user, pk=pk)
        crs = params.pop("crs")
        if params.get("bbox") is not None:
            params["bbox"] = params["bbox"].to_wgs84(crs)
        params["parent"] = grid.pk
        qs = selectors.grid_list(actor=request.user, filters=params)
        paginator = GridPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(_features(page, crs))


class GridTreeApi(APIView):
    """The hierarchy without geometry: children of `parent` (or the roots) with child counts, or a
    keyword search `q` over the whole visible tree with each hit's ancestors."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(parameters=[s.GridTreeQuerySerializer], responses=s.GridTreeNodeSerializer(many=True))
    def get(self, request):
        params = validated(s.GridTreeQuerySerializer, request.query_params)
        parent = _parent(request.user, params.get("parent"))
        nodes = selectors.grid_tree(actor=request.user, parent=parent, q=params.get("q", ""), status=params["status"])
        return Response(s.GridTreeNodeSerializer(nodes, many=True).data)


# --- files ----------------------------------------------------------------------------------------------------
class GridImportApi(APIView):
    """Import a GeoJSON / zipped Shapefile / KML / GeoPackage file (≤ 50 MB): one grid per feature,
    all or nothing; 400 `import_invalid` lists every problem with its feature index."""

    required_permissions = {"POST": Perm.GRID_EDIT}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.GridImportSerializer}, responses={201: s.GridImportResultSerializer, **ERRORS})
    def post(self, request):
        data = validated(s.GridImportSerializer, request.data)
        upload = data["file"]
        if upload.size > DEFAULT_MAX_BYTES:
            raise ValidationFailed(
                _("文件过大，上限为 50 MB"), code="file_too_large", details={"size": upload.size, "max_bytes": DEFAULT_MAX_BYTES}
            )
        parent = _parent(request.user, data.get("parent"))
        institution = _institution(request.user, data.get("institution"))
        with errors_in_crs(data["crs"]):
            created = grids_import_file(
                actor=request.user, data=upload.read(), filename=upload.name, crs=data["crs"], institution=institution,
                kind=data["kind"], parent=parent, level=data["level"], virtual_type=data["virtual_type"],
                business_lines=data["business_lines"], reason=data["reason"],
            )
        return Response({"created": len(created), "ids": [g.pk for g in created]}, status=201)


class GridExportApi(APIView):
    """Download the visible grids (filtered like the list) as a file in a chosen datum; audited."""

    required_permissions = {"GET": Perm.GRID_EXPORT}

    @extend_schema(
        parameters=[s.GridExportQuerySerializer],
        responses={(200, "application/octet-stream"): OpenApiResponse(description="the file"), **ERRORS},
    )
    def get(self, request):
        params = validated(s.GridExportQuerySerializer, request.query_params)
        fmt, crs = params.pop("fmt"), params.pop("crs")
        qs = selectors.grids_for_export(actor=request.user, filters=params)
        grids = list(qs[: selectors.EXPORT_FEATURE_CAP + 1])
        if len(grids) > selectors.EXPORT_FEATURE_CAP:
            raise ValidationFailed(
                _("导出的网格过多，请缩小范围"), code="export_too_large", details={"max_features": selectors.EXPORT_FEATURE_CAP}
            )
        payload, content_type, suffix = grids_export(actor=request.user, grids=grids, fmt=fmt, crs=crs, filters=params)
        response = HttpResponse(payload, content_type=content_type)
        name = f"grids-{timezone.localtime():%Y%m%d-%H%M%S}{suffix}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["X-Feature-Count"] = str(len(grids))
        return response
