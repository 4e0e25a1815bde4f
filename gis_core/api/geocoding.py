"""REST API of geocoding (GC-2): address → point, and point → admin units and nearest POI.

Why it exists: the customer form, address correction (GC-3) and the map's "where is this?" need to
ask the platform's own geocoder interactively. Both endpoints need `gis_core.map.view`; they read
reference data only, so there is no institution scope. Addresses are at most 200 characters; the
answer's point is WGS-84 unless `crs` asks for GCJ-02 or BD-09 (GC-1), and a reverse query's point is
read in that same `crs`. Stable error codes: `address_invalid`, `point_invalid`, `crs_unknown`.
"""
from __future__ import annotations

from typing import Any

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core.api.places import CrsField
from gis_core.crs import CRS, convert_point
from gis_core.errors import ValidationFailed
from gis_core.geocoding import LEVELS, geocode, reverse_geocode
from gis_core.permissions import Perm

ADDRESS_MAX_LENGTH = 200
_ERROR_CODES = {
    "address": "address_invalid", "lng": "point_invalid", "lat": "point_invalid", "crs": "crs_unknown",
}


# --- input --------------------------------------------------------------------------------------------
class GeocodeQuerySerializer(serializers.Serializer):
    address = serializers.CharField(max_length=ADDRESS_MAX_LENGTH, trim_whitespace=True,
                                    help_text="the address as typed, at most 200 characters")
    crs = CrsField()


class ReverseGeocodeQuerySerializer(serializers.Serializer):
    lng = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = CrsField()


def _validated(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    data = serializer_class(data=request.query_params)
    if data.is_valid():
        return dict(data.validated_data)
    errors = data.errors
    field = next((f for f in _ERROR_CODES if f in errors), None)
    message = str(errors[field][0]) if field else _("输入有误")
    raise ValidationFailed(message, code=_ERROR_CODES.get(field, "validation_failed"), details=errors)


# --- output -------------------------------------------------------------------------------------------
class GeocodeResultSerializer(serializers.Serializer):
    address = serializers.CharField(help_text="the address as given")
    normalised_address = serializers.CharField()
    point = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                  help_text="[lng, lat] in the requested crs; null when nothing matched")
    crs = serializers.CharField()
    level = serializers.ChoiceField(choices=[(level, level) for level in LEVELS])
    confidence = serializers.FloatField(min_value=0, max_value=1)
    codes = serializers.DictField(child=serializers.CharField(), help_text="level → NBS code")
    names = serializers.DictField(child=serializers.CharField(), help_text="level → matched name")
    matched_poi = serializers.CharField(allow_null=True)
    source = serializers.CharField(help_text="offline, amap, baidu or cache")
    input_crs_of_provider = serializers.CharField()
    house = serializers.CharField(allow_blank=True, help_text="house part recognised but not located")


class DivisionRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class NearestPoiSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.CharField()
    distance_m = serializers.FloatField()


class ReverseGeocodeResultSerializer(serializers.Serializer):
    point = serializers.ListField(child=serializers.FloatField(), help_text="[lng, lat] as asked, in `crs`")
    crs = serializers.CharField()
    city = DivisionRefSerializer(allow_null=True)
    district = DivisionRefSerializer(allow_null=True)
    street = DivisionRefSerializer(allow_null=True)
    community = DivisionRefSerializer(allow_null=True)
    nearest_poi = NearestPoiSerializer(allow_null=True)


# --- views --------------------------------------------------------------------------------------------
class GeocodeApi(APIView):
    """Geocode one address with the configured chain (offline by default)."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[GeocodeQuerySerializer], responses=GeocodeResultSerializer)
    def get(self, request):
        params = _validated(GeocodeQuerySerializer, request)
        result = geocode(params["address"])
        crs = params["crs"]
        point = None
        if result.lng is not None:
            point = [round(v, 6) for v in convert_point(result.lng, result.lat, src=CRS.WGS84, dst=crs)]
        body = {
            "address": params["address"],
            "normalised_address": result.normalised_address,
            "point": point,
            "crs": str(crs),
            "level": result.level,
            "confidence": result.confidence,
            "codes": result.codes,
            "names": result.names,
            "matched_poi": result.matched_poi,
            "source": result.source,
            "input_crs_of_provider": result.input_crs_of_provider,
            "house": str(result.detail.get("house", "")),
        }
        return Response(GeocodeResultSerializer(body).data)


class ReverseGeocodeApi(APIView):
    """The district, street and community at a point, and the nearest POI (PostGIS)."""

    required_permissions = {"GET": Perm.MAP_VIEW}

    @extend_schema(parameters=[ReverseGeocodeQuerySerializer], responses=ReverseGeocodeResultSerializer)
    def get(self, request):
        params = _validated(ReverseGeocodeQuerySerializer, request)
        crs = params["crs"]
        lng, lat = convert_point(params["lng"], params["lat"], src=crs, dst=CRS.WGS84)
        answer = reverse_geocode(Point(lng, lat, srid=4326))
        answer["point"] = [params["lng"], params["lat"]]
        answer["crs"] = str(crs)
        return Response(ReverseGeocodeResultSerializer(answer).data)
