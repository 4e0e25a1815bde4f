"""REST API of the places: admin divisions (GC-5), POIs (GC-4) and the map's keyword search.

Why it exists: the home map and every later map page draw the platform's own offline layers from
these endpoints (GC-6: the map still works with no basemap reachable). Admin divisions and POIs are
public reference data, not institution-owned, so there is no institution scope; every endpoint
still needs `gis_core.map.view`.

Geometry is WGS-84 unless the `crs` parameter asks for GCJ-02 (AMap/Tencent) or BD-09 (Baidu); a
`bbox` is read in that same CRS (GC-1). Input is validated with stable error codes (SEC-7):
`bbox_invalid`, `crs_unknown`, `level_unknown`, otherwise `validation_failed`.
"""
from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gis_core import selectors
from gis_core.bbox import BBox
from gis_core.choices import DivisionLevel, PoiCategory
from gis_core.crs import CRS, UnknownCRSError, convert_geometry, convert_point, parse_crs
from gis_core.errors import ApplicationError, ValidationFailed
from gis_core.models import AdminDivision, Poi
from gis_core.permissions import Perm

# Which query parameter's error gets which stable code.
_ERROR_CODES = {"bbox": "bbox_invalid", "crs": "crs_unknown", "level": "level_unknown"}


# --- input --------------------------------------------------------------------------------------------
class BBoxField(serializers.CharField):
    """`xmin,ymin,xmax,ymax` (lng/lat degrees, west-south-east-north) parsed into a `BBox`."""

    def to_internal_value(self, data: Any) -> BBox:
        try:
            return BBox.parse(str(data)[:200])
        except ApplicationError as exc:
            raise serializers.ValidationError(str(exc.message)) from None

    def to_representation(self, value: BBox) -> str:
        return ",".join(str(v) for v in value.as_list())


class CrsField(serializers.CharField):
    """A coordinate-system name as accepted by `gis_core.crs.parse_crs`; WGS-84 by default."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", CRS.WGS84)
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("help_text", "wgs84 (default), gcj02 (AMap/Tencent) or bd09 (Baidu)")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> CRS:
        text = super().to_internal_value(data)
        try:
            return parse_crs(text)
        except UnknownCRSError as exc:
            raise serializers.ValidationError(str(exc)) from None


class DivisionFilterSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=DivisionLevel.choices, required=False)
    parent = serializers.RegexField(r"^\d{2,12}$", required=False, help_text="parent division code")
    q = serializers.CharField(max_length=50, required=False)
    bbox = BBoxField(required=False, help_text="xmin,ymin,xmax,ymax in the `crs` of the request")
    geometry = serializers.ChoiceField(
        choices=[(d.value, d.value) for d in selectors.GeometryDetail],
        required=False,
        default=selectors.GeometryDetail.SIMPLIFIED,
    )
    crs = CrsField()


class DivisionTreeFilterSerializer(serializers.Serializer):
    parent = serializers.RegexField(r"^\d{2,12}$", required=False, help_text="parent division code; roots if absent")


class CrsFilterSerializer(serializers.Serializer):
    crs = CrsField()


class PoiFilterSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=PoiCategory.choices, required=False)
    bbox = BBoxField(required=False, help_text="xmin,ymin,xmax,ymax in the `crs` of the request")
    q = serializers.CharField(max_length=50, required=False)
    division = serializers.RegexField(r"^\d{2,12}$", required=False, help_text="division code (and below)")
    crs = CrsField()


class PlaceSearchFilterSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=50)
    crs = CrsField()


def _validated(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    """Validate query parameters; the first bad parameter decides the stable error code."""
    data = serializer_class(data=request.query_params)
    if data.is_valid():
        values = dict(data.validated_data)
        if values.get("bbox") is not None and "crs" in values:
            try:
                values["bbox"] = values["bbox"].to_wgs84(values["crs"])
            except ApplicationError as exc:
                raise ValidationFailed(exc.message, code="bbox_invalid", details={"bbox": [str(exc.message)]}) from None
        return values
    errors = data.errors
    code = next((c for field, c in _ERROR_CODES.items() if field in errors), "validation_failed")
    message = next((str(errors[f][0]) for f in _ERROR_CODES if f in errors), None)
    raise ValidationFailed(message, code=code, details=errors)


# --- output -------------------------------------------------------------------------------------------
def _choice_label(serializer: serializers.Serializer, choices: type, value: str) -> str:
    """A choice's label in the request language, translated once per response (not once per row)."""
    key = f"_labels_{choices.__name__}"
    labels = serializer.context.get(key)
    if labels is None:
        labels = serializer.context[key] = {v: str(label) for v, label in choices.choices}
    return labels.get(value, value)


@extend_schema_field({"type": "object", "description": "GeoJSON geometry", "nullable": True})
class OutputGeometryField(GeometryField):
    """GeoJSON geometry in the CRS the request asked for (`context["crs"]`), 6 decimals (~0.1 m)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("precision", 6)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        if value is None:
            return None
        crs = self.context.get("crs", CRS.WGS84)
        if crs != CRS.WGS84:
            value = convert_geometry(value, src=CRS.WGS84, dst=crs)
        if isinstance(value, Point) and not value.empty:
            # Fast path for the many POIs: no GDAL round trip.
            lng, lat = value.coords[:2]
            return {"type": "Point", "coordinates": [round(lng, 6), round(lat, 6)]}
        return super().to_representation(value)


class DivisionFeatureSerializer(GeoFeatureModelSerializer):
    """An admin division as a GeoJSON feature (geometry simplified unless asked for in full)."""

    geom = OutputGeometryField(source="display_geom", allow_null=True)
    parent_code = serializers.CharField(read_only=True, allow_null=True)
    level_label = serializers.SerializerMethodField()
    label_point = serializers.SerializerMethodField(help_text="[lng, lat] inside the division, for a label")

    class Meta:
        model = AdminDivision
        geo_field = "geom"
        id_field = "id"
        fields = [
            "id", "code", "name", "short_name", "level", "level_label", "kind", "parent_code",
            "geometry_source", "area_km2", "label_point",
        ]

    def get_level_label(self, obj: AdminDivision) -> str:
        return _choice_label(self, DivisionLevel, obj.level)

    def get_label_point(self, obj: AdminDivision) -> list[float] | None:
        point = getattr(obj, "label_point", None)
        if point is None or point.empty:
            return None
        lng, lat = convert_point(point.x, point.y, src=CRS.WGS84, dst=self.context.get("crs", CRS.WGS84))
        return [round(lng, 6), round(lat, 6)]


class DivisionTreeNodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    short_name = serializers.CharField()
    level = serializers.CharField()
    level_label = serializers.CharField(source="get_level_display")
    kind = serializers.CharField()
    parent_code = serializers.CharField(allow_null=True)
    geometry_source = serializers.CharField()
    child_count = serializers.IntegerField()


class PoiFeatureSerializer(GeoFeatureModelSerializer):
    """A POI as a GeoJSON point feature."""

    geom = OutputGeometryField()
    category_label = serializers.SerializerMethodField()
    division_code = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Poi
        geo_field = "geom"
        id_field = "id"
        fields = ["id", "name", "category", "category_label", "source_class", "division_code"]

    def get_category_label(self, obj: Poi) -> str:
        return _choice_label(self, PoiCategory, obj.category)


class PlaceSearchResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("division", "division"), ("poi", "poi")])
    key = serializers.CharField(help_text="division code or POI id")
    name = serializers.CharField()
    level = serializers.CharField(allow_blank=True)
    category = serializers.CharField(allow_blank=True)
    label = serializers.CharField(help_text="level or category, human-readable")
    context = serializers.CharField(allow_blank=True, help_text="the parent division's name")
    point = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="[lng, lat] to fly to")
    bbox = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="[xmin, ymin, xmax, ymax]")


class PlaceSearchResponseSerializer(serializers.Serializer):
    q = serializers.CharField()
    results = PlaceSearchResultSerializer(many=True)


class PoiPagination(GeoJsonPagination):
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = selectors.POI_PAGE_CAP


# --- views --------------------------------------------------------------------------------------------
class DivisionListApi(APIView):
    """Admin divisions as GeoJSON (GC-5), simplified by level unless `geometry=full`.

    At most 2,000 features per response: `truncated` says when more matched (narrow the query).
    """

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[DivisionFilterSerializer], responses=DivisionFeatureSerializer(many=True))
    def get(self, request):
        params = _validated(DivisionFilterSerializer, request)
        qs = selectors.division_list(
            actor=request.user,
            level=params.get("level"),
            parent_code=params.get("parent"),
            q=params.get("q"),
            bbox=params.get("bbox"),
            geometry=params["geometry"],
        )
        cap = selectors.DIVISION_FEATURE_CAP
        rows = list(qs[: cap + 1])
        truncated = len(rows) > cap
        rows = rows[:cap]
        body = DivisionFeatureSerializer(rows, many=True, context={"crs": params["crs"]}).data
        return Response(
            {
                "type": "FeatureCollection",
                "count": qs.count() if truncated else len(rows),
                "limit": cap,
                "truncated": truncated,
                "features": body["features"],
            }
        )


class DivisionTreeApi(APIView):
    """The children of a division (or the roots), without geometry: for a hierarchy tree (GC-5)."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[DivisionTreeFilterSerializer], responses=DivisionTreeNodeSerializer(many=True))
    def get(self, request):
        params = _validated(DivisionTreeFilterSerializer, request)
        children = selectors.division_children(actor=request.user, parent_code=params.get("parent"))
        return Response(DivisionTreeNodeSerializer(children, many=True).data)


class DivisionDetailApi(APIView):
    """One admin division with its full geometry."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[CrsFilterSerializer], responses=DivisionFeatureSerializer)
    def get(self, request, code: str):
        params = _validated(CrsFilterSerializer, request)
        division = selectors.division_get(actor=request.user, code=code)
        return Response(DivisionFeatureSerializer(division, context={"crs": params["crs"]}).data)


class PoiListApi(APIView):
    """POIs as GeoJSON points (GC-4), paginated: `page_size` up to 10,000."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(
        parameters=[
            PoiFilterSerializer,
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False, description="default 1000, at most 10000"),
        ],
        responses=PoiFeatureSerializer(many=True),
    )
    def get(self, request):
        params = _validated(PoiFilterSerializer, request)
        qs = selectors.poi_list(
            actor=request.user,
            category=params.get("category"),
            bbox=params.get("bbox"),
            q=params.get("q"),
            division_code=params.get("division"),
        )
        paginator = PoiPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = PoiFeatureSerializer(page, many=True, context={"crs": params["crs"]}).data
        return paginator.get_paginated_response(data)


class PlaceSearchApi(APIView):
    """Keyword search over divisions and POIs for the map's search box (GC-5), best 20 first."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[PlaceSearchFilterSerializer], responses=PlaceSearchResponseSerializer)
    def get(self, request):
        params = _validated(PlaceSearchFilterSerializer, request)
        crs = params["crs"]
        matches = selectors.place_search(actor=request.user, q=params["q"])
        results = []
        for m in matches:
            point = None
            if m.point is not None and not m.point.empty:
                point = [round(v, 6) for v in convert_point(m.point.x, m.point.y, src=CRS.WGS84, dst=crs)]
            bbox = None
            if m.extent is not None:
                xmin, ymin = convert_point(m.extent[0], m.extent[1], src=CRS.WGS84, dst=crs)
                xmax, ymax = convert_point(m.extent[2], m.extent[3], src=CRS.WGS84, dst=crs)
                bbox = [round(v, 6) for v in (xmin, ymin, xmax, ymax)]
            results.append(
                {
                    "kind": m.kind,
                    "key": m.key,
                    "name": m.name,
                    "level": m.level,
                    "category": m.category,
                    "label": m.label,
                    "context": m.context,
                    "point": point,
                    "bbox": bbox,
                }
            )
        return Response(PlaceSearchResponseSerializer({"q": params["q"], "results": results}).data)
