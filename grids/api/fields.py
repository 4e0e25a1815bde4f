"""Serializer fields and helpers shared by the grids API: coordinate systems, bounding boxes and
GeoJSON geometry in and out.

Geometry arrives as GeoJSON in the datum the client works in (`crs`: WGS-84, GCJ-02 or BD-09) and
leaves in the datum it asks for; gis_core.crs does every conversion, storage is WGS-84. Bad input gets
a stable code at once (`crs_unknown`, `bbox_invalid`, `geometry_malformed` with the parser's words),
never a 500.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.pagination import GeoJsonPagination

from gis_core.bbox import BBox
from gis_core.crs import CRS, UnknownCRSError, convert_geometry, convert_point, convert_shapely, parse_crs
from gis_core.errors import ApplicationError, ValidationFailed

GEOJSON_GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "GeoJSON geometry (RFC 7946 coordinates: [lng, lat]) in the request's `crs`",
    "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
    "required": ["type"],
}
FEATURE_COLLECTION_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object"}},
    },
}


def crs_from(value: Any) -> CRS:
    """A CRS from its name; unknown → 400 `crs_unknown`."""
    try:
        return parse_crs(value if value not in (None, "") else CRS.WGS84)
    except UnknownCRSError as exc:
        raise ValidationFailed(_("未知的坐标系"), code="crs_unknown", details={"crs": [str(exc)]}) from None


class CrsField(serializers.CharField):
    """A coordinate-system name (`wgs84` default, `gcj02`, `bd09` and aliases) → `CRS`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", CRS.WGS84.value)
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("help_text", "wgs84 (default), gcj02 (AMap/Tencent) or bd09 (Baidu)")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> CRS:
        return crs_from(str(data)[:32])

    def to_representation(self, value: Any) -> str:
        return str(value)


class BBoxField(serializers.CharField):
    """`xmin,ymin,xmax,ymax` in degrees (west, south, east, north) → `BBox` (in the request's crs)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "xmin,ymin,xmax,ymax (lng/lat) in the request's `crs`")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> BBox:
        return BBox.parse(str(data)[:200])  # ValidationFailed(code="bbox_invalid")

    def to_representation(self, value: Any) -> str:
        return ",".join(str(v) for v in value.as_list())


def parse_geojson(data: Any, *, field: str = "geometry") -> shapely.Geometry:
    """A shapely geometry from a GeoJSON geometry (or Feature) object; anything the parser cannot
    read → 400 `geometry_malformed` with the parser's problem. Z, emptiness, type and validity are
    left for the rules (grids.geometry) to judge."""

    def malformed(problem: str) -> ValidationFailed:
        return ValidationFailed(
            _("几何图形格式错误，无法解析：请提交 GeoJSON 几何对象"), code="geometry_malformed",
            details={"field": field, "problem": problem[:300]},
        )

    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise malformed(str(exc)) from None
    if not isinstance(data, dict):
        raise malformed(f"expected a GeoJSON object, got {type(data).__name__}")
    if data.get("type") == "Feature":
        data = data.get("geometry")
        if not isinstance(data, dict):
            raise malformed("the Feature has no geometry")
    if data.get("type") in ("FeatureCollection", None):
        raise malformed("expected a GeoJSON geometry with a 'type' such as Polygon")
    try:
        return shapely.from_geojson(json.dumps(data, allow_nan=False))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise malformed(str(exc)) from None


def to_wgs84_geos(shape: shapely.Geometry, crs: CRS) -> GEOSGeometry:
    """The shape converted from `crs` to WGS-84 as a GEOS geometry (SRID 4326), Z kept."""
    if crs != CRS.WGS84 and not shape.is_empty:
        shape = convert_shapely(shape, src=crs, dst=CRS.WGS84)
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=4326)


@extend_schema_field(GEOJSON_GEOMETRY_SCHEMA)
class GeoJSONInputField(serializers.Field):
    """A GeoJSON geometry in; a shapely geometry out (still in the request's crs)."""

    def to_internal_value(self, data: Any) -> shapely.Geometry:
        return parse_geojson(data, field=self.field_name or "geometry")

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - input only
        return shapely.geometry.mapping(value)


def geojson_geometry(geom: Any, crs: CRS, *, precision: int = 7) -> dict[str, Any] | None:
    """A GEOS or shapely geometry (WGS-84) as a GeoJSON dict in `crs`."""
    if geom is None:
        return None
    if not isinstance(geom, GEOSGeometry):
        geom = GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)
    if crs != CRS.WGS84:
        geom = convert_geometry(geom, src=CRS.WGS84, dst=crs)
    return OutputGeometryField(precision=precision).to_representation(geom)


def feature_collection(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **extra, "features": features}


def location_in(location: Any, crs: CRS) -> Any:
    """A `{"lng","lat"}` (WGS-84) location converted to `crs`."""
    if not isinstance(location, dict) or crs == CRS.WGS84:
        return location
    lng, lat = convert_point(location["lng"], location["lat"], src=CRS.WGS84, dst=crs)
    return {"lng": round(lng, 7), "lat": round(lat, 7)}


@contextmanager
def errors_in_crs(crs: CRS) -> Iterator[None]:
    """Errors raised inside carry their `location` in the client's datum (and say which)."""
    try:
        yield
    except ApplicationError as exc:
        details = exc.details
        if isinstance(details, dict):
            if "location" in details:
                details["location"] = location_in(details["location"], crs)
                details["crs"] = str(crs)
            for problem in details.get("problems") or []:
                if isinstance(problem, dict) and "location" in problem:
                    problem["location"] = location_in(problem["location"], crs)
                    problem["crs"] = str(crs)
        raise


@extend_schema_field(GEOJSON_GEOMETRY_SCHEMA)
class OutputGeometryField(GeometryField):
    """GeoJSON geometry in the CRS the request asked for (`context["crs"]`), 7 decimals (~1 cm);
    with `source="*"` it takes the simplified `display_geom` when the selector annotated one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("precision", 7)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        if value is not None and not isinstance(value, (GEOSGeometry, dict)):
            value = getattr(value, "display_geom", None) or getattr(value, "geom", None)
        if value is None:
            return None
        crs = self.context.get("crs", CRS.WGS84)
        if crs != CRS.WGS84:
            value = convert_geometry(value, src=CRS.WGS84, dst=crs)
        return super().to_representation(value)


class GridPagination(GeoJsonPagination):
    """Pages of grid features: 100 by default, at most 500."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class PagePagination(PageNumberPagination):
    """Pages of plain rows (history, assignments…): 50 by default, at most 500."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """Validate input; field errors → 400 `validation_failed` with the field messages."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise ValidationFailed(details=serializer.errors)
    return dict(serializer.validated_data)
