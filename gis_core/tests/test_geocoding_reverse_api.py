# covers: GC-2, GC-1, SEC-7
"""Reverse geocoding with PostGIS, and the two geocoding endpoints: access, answers and bad input."""
import pytest

from gis_core.choices import RoleCode
from gis_core.crs import wgs84_to_bd09, wgs84_to_gcj02
from gis_core.geocoding import reverse_geocode
from gis_core.models import AdminDivision, Poi
from gis_core.testing import client_for
from gis_core.tests.geocoding_support import changsha  # noqa: F401

pytestmark = pytest.mark.django_db

GEOCODE = "/api/geocode/"
REVERSE = "/api/reverse-geocode/"
ENDPOINTS = [f"{GEOCODE}?address=岳麓区望月湖小区", f"{REVERSE}?lng=112.9497&lat=28.2087"]


@pytest.fixture
def estate(changsha):  # noqa: F811
    return Poi.objects.select_related("division__parent__parent").get(source="osm", source_id="1279838330")


@pytest.fixture
def viewer(bank, make_user):
    return make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER)


@pytest.fixture
def nobody(bank, make_user):
    return make_user(bank["a1"])


# --- reverse geocoding -------------------------------------------------------------------------------
def test_reverse_geocode_finds_the_units_and_the_poi_at_a_poi(estate):
    answer = reverse_geocode(estate.geom)
    community = estate.division
    assert answer["community"] == {"code": community.code, "name": community.name}
    assert answer["street"] == {"code": community.parent.code, "name": community.parent.name}
    assert answer["district"] == {"code": "430104", "name": "岳麓区"}
    assert answer["city"]["code"] == "430100"
    nearest = answer["nearest_poi"]
    assert nearest["name"] == "望月湖小区" and nearest["category"] == "residential"
    assert nearest["distance_m"] == pytest.approx(0, abs=0.01)


def test_reverse_geocode_measures_metres(estate):
    from django.contrib.gis.geos import Point

    moved = Point(estate.geom.x, estate.geom.y + 0.0001, srid=4326)  # about 11 m north
    nearest = reverse_geocode(moved)["nearest_poi"]
    assert 0 <= nearest["distance_m"] <= 11.2
    if nearest["name"] == "望月湖小区":
        assert nearest["distance_m"] == pytest.approx(11.1, abs=0.2)


def test_reverse_geocode_agrees_with_the_polygons(changsha):  # noqa: F811
    from django.contrib.gis.geos import Point

    community = AdminDivision.objects.filter(level="community", geom__isnull=False).order_by("code")[100]
    answer = reverse_geocode(Point(community.centroid.x, community.centroid.y, srid=4326))
    assert answer["community"]["code"] == community.code
    assert answer["street"]["code"] == community.code[:9]
    assert answer["district"]["code"] == community.code[:6]


def test_reverse_geocode_outside_our_data(changsha):  # noqa: F811
    from django.contrib.gis.geos import Point

    answer = reverse_geocode(Point(116.397, 39.909, srid=4326))  # Beijing
    assert answer["district"] is None and answer["street"] is None and answer["community"] is None
    assert answer["nearest_poi"]["distance_m"] > 1_000_000


# --- API access ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401(changsha, url):  # noqa: F811
    response = client_for(None).get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_without_map_view_gets_403(changsha, nobody, url):  # noqa: F811
    response = client_for(nobody).get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_map_viewer_gets_200(changsha, viewer, url):  # noqa: F811
    assert client_for(viewer).get(url).status_code == 200


# --- API answers ----------------------------------------------------------------------------------------
def test_geocode_endpoint(viewer, estate):
    body = client_for(viewer).get(GEOCODE, {"address": "长沙市岳麓区望月湖小区１２栋"}).json()
    assert body["level"] == "poi" and body["matched_poi"] == "望月湖小区"
    assert body["point"] == [round(estate.geom.x, 6), round(estate.geom.y, 6)] and body["crs"] == "wgs84"
    assert body["codes"]["district"] == "430104" and body["codes"]["community"] == estate.division.code
    assert body["source"] == "offline" and body["house"] == "12栋"
    assert body["normalised_address"] == "湖南省长沙市岳麓区望月湖小区12栋"


def test_geocode_endpoint_answers_in_the_requested_crs(viewer, estate):
    body = client_for(viewer).get(GEOCODE, {"address": "岳麓区望月湖小区", "crs": "gcj02"}).json()
    expected = wgs84_to_gcj02(estate.geom.x, estate.geom.y)
    assert body["point"] == [round(expected[0], 6), round(expected[1], 6)] and body["crs"] == "gcj02"


def test_geocode_endpoint_unmatched(viewer, changsha):  # noqa: F811
    body = client_for(viewer).get(GEOCODE, {"address": "北京市海淀区中关村大街27号"}).json()
    assert body["level"] == "none" and body["point"] is None and body["confidence"] == 0


def test_reverse_endpoint_reads_the_point_in_its_crs(viewer, estate):
    for crs, convert in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        lng, lat = convert(estate.geom.x, estate.geom.y)
        body = client_for(viewer).get(REVERSE, {"lng": lng, "lat": lat, "crs": crs}).json()
        assert body["nearest_poi"]["name"] == "望月湖小区"
        assert body["nearest_poi"]["distance_m"] < 1  # converted back to WGS-84 before the query
        assert body["community"]["code"] == estate.division.code
        assert body["point"] == [lng, lat] and body["crs"] == crs


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "params", "code"),
    [
        (GEOCODE, {}, "address_invalid"),
        (GEOCODE, {"address": ""}, "address_invalid"),
        (GEOCODE, {"address": "   "}, "address_invalid"),
        (GEOCODE, {"address": "岳" * 201}, "address_invalid"),
        (GEOCODE, {"address": "岳麓区", "crs": "mars"}, "crs_unknown"),
        (REVERSE, {"lng": "112.9"}, "point_invalid"),
        (REVERSE, {"lng": "abc", "lat": "28.2"}, "point_invalid"),
        (REVERSE, {"lng": "190", "lat": "28.2"}, "point_invalid"),
        (REVERSE, {"lng": "112.9", "lat": "-91"}, "point_invalid"),
        (REVERSE, {"lng": "112.9", "lat": "28.2", "crs": "epsg:3857"}, "crs_unknown"),
    ],
)
def test_bad_input_is_400(viewer, changsha, url, params, code):  # noqa: F811
    response = client_for(viewer).get(url, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_address_of_200_characters_is_accepted(viewer, changsha):  # noqa: F811
    response = client_for(viewer).get(GEOCODE, {"address": "岳麓区望月湖街道" + "某" * 192})
    assert response.status_code == 200
    assert response.json()["codes"]["street"] == "430104001"
