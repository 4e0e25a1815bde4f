# covers: GC-5, GC-1, GC-4, GC-6, ORG-2, SEC-7
"""Places API (divisions, POIs, keyword search) and the home map page."""
import pytest
from django.urls import reverse

from gis_core import selectors
from gis_core.choices import RoleCode
from gis_core.crs import wgs84_to_gcj02
from gis_core.tests.place_factories import AdminDivisionFactory, circle, make_places
from gis_core.testing import client_for

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/divisions/?level=district",
    "/api/divisions/430102000000/",
    "/api/divisions/tree/",
    "/api/pois/",
    "/api/search/?q=芙蓉",
]


@pytest.fixture
def places(db):
    return make_places()


@pytest.fixture
def leader(bank, make_user):
    return make_user(bank["a1"], RoleCode.LEADER)


@pytest.fixture
def nobody(bank, make_user):
    return make_user(bank["a1"])  # no roles, so no gis_core.map.view


def features_by_code(body):
    return {f["properties"]["code"]: f for f in body["features"]}


# --- access ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401(places, url):
    response = client_for(None).get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_user_without_map_view_gets_403(places, nobody, url):
    response = client_for(nobody).get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_map_viewer_of_any_institution_gets_200(places, bank, make_user, url):
    # reference data, not institution-owned: a grid liaison of another branch sees the same rows
    liaison_b = make_user(bank["b1"], RoleCode.GRID_LIAISON)
    assert client_for(liaison_b).get(url).status_code == 200


def test_selectors_fail_closed_for_unpermitted_actor(places, nobody):
    assert not selectors.division_list(actor=nobody).exists()
    assert not selectors.poi_list(actor=nobody).exists()
    assert selectors.place_search(actor=nobody, q="芙蓉") == []


# --- divisions ------------------------------------------------------------------------------------
def test_district_list_is_geojson_with_properties(places, leader):
    body = client_for(leader).get("/api/divisions/?level=district").json()
    assert body["type"] == "FeatureCollection"
    assert body["truncated"] is False and body["count"] == 2
    by_code = features_by_code(body)
    assert set(by_code) == {"430102000000", "430104000000"}
    furong = by_code["430102000000"]
    assert furong["geometry"]["type"] == "MultiPolygon"
    props = furong["properties"]
    assert props["name"] == "芙蓉区" and props["short_name"] == "芙蓉"
    assert props["level"] == "district" and props["kind"] == "district"
    assert props["parent_code"] == "430100000000"
    assert props["geometry_source"] == "real"
    assert props["area_km2"] > 0
    lng, lat = props["label_point"]
    assert 112.97 < lng < 113.05 and 28.15 < lat < 28.23


def test_division_filters_parent_keyword_and_bbox(places, leader):
    client = client_for(leader)
    children = client.get("/api/divisions/?parent=430100000000").json()
    assert set(features_by_code(children)) == {"430102000000", "430104000000"}
    keyword = client.get("/api/divisions/?q=岳麓").json()
    assert set(features_by_code(keyword)) == {"430104000000"}
    by_code = client.get("/api/divisions/?q=4301020").json()  # code prefix
    assert set(features_by_code(by_code)) == {"430102000000", "430102001000", "430102001001"}
    west = client.get("/api/divisions/?level=district&bbox=112.81,28.2,112.9,28.25").json()
    assert set(features_by_code(west)) == {"430104000000"}


def test_geometry_is_simplified_unless_full_and_omitted_for_none(places, leader):
    AdminDivisionFactory(code="430111000000", name="雨花区", geom=circle(113.03, 28.12, 0.04))
    client = client_for(leader)

    def vertices(geometry):
        return sum(len(ring) for polygon in geometry["coordinates"] for ring in polygon)

    simplified = features_by_code(client.get("/api/divisions/?level=district").json())["430111000000"]
    full = features_by_code(client.get("/api/divisions/?level=district&geometry=full").json())["430111000000"]
    assert vertices(full["geometry"]) == 2001
    assert 4 <= vertices(simplified["geometry"]) < 400
    none = client.get("/api/divisions/?level=district&geometry=none").json()
    assert all(f["geometry"] is None for f in none["features"])
    detail = client.get("/api/divisions/430111000000/").json()
    assert vertices(detail["geometry"]) == 2001


def test_division_list_is_capped_and_says_so(places, leader, monkeypatch):
    monkeypatch.setattr(selectors, "DIVISION_FEATURE_CAP", 2)
    body = client_for(leader).get("/api/divisions/").json()
    assert len(body["features"]) == 2
    assert body["truncated"] is True and body["count"] == 5 and body["limit"] == 2


def test_division_detail_and_404(places, leader):
    client = client_for(leader)
    body = client.get("/api/divisions/430102001000/").json()
    assert body["properties"]["name"] == "文艺路街道"
    assert body["properties"]["geometry_source"] == "synthetic"
    response = client.get("/api/divisions/439999999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "division_not_found"


def test_division_tree(places, leader):
    client = client_for(leader)
    roots = client.get("/api/divisions/tree/").json()
    assert [r["code"] for r in roots] == ["430100000000"]
    assert roots[0]["child_count"] == 2
    children = client.get("/api/divisions/tree/?parent=430102000000").json()
    assert [(c["code"], c["child_count"], c["parent_code"]) for c in children] == [("430102001000", 1, "430102000000")]
    assert "geometry" not in children[0]
    assert client.get("/api/divisions/tree/?parent=439999999999").status_code == 404


# --- POIs -----------------------------------------------------------------------------------------
def test_poi_list_filters(places, leader):
    client = client_for(leader)
    body = client.get("/api/pois/").json()
    assert body["type"] == "FeatureCollection" and body["count"] == 3
    feature = next(f for f in body["features"] if f["properties"]["name"] == "芙蓉区政府")
    assert feature["geometry"] == {"type": "Point", "coordinates": [112.987, 28.187]}
    assert feature["properties"]["category"] == "government"
    assert feature["properties"]["category_label"] == "政府机构"
    assert feature["properties"]["division_code"] == "430102001001"
    assert feature["properties"]["source_class"] == "town_hall"
    assert feature["id"] == places["government"].pk

    def names(query):
        return {f["properties"]["name"] for f in client.get(f"/api/pois/?{query}").json()["features"]}

    assert names("bbox=112.9,28.15,112.95,28.2") == {"岳麓书院"}
    assert names("category=market") == {"识字岭菜市场"}
    assert names("q=书院") == {"岳麓书院"}
    # a division matches the POIs filed under it and under its streets and communities
    assert names("division=430102000000") == {"芙蓉区政府", "识字岭菜市场"}
    assert names("division=430100000000") == {"芙蓉区政府", "识字岭菜市场", "岳麓书院"}


def test_poi_list_is_paginated(places, leader):
    body = client_for(leader).get("/api/pois/?page_size=2").json()
    assert body["count"] == 3 and len(body["features"]) == 2 and body["next"]
    assert client_for(leader).get("/api/pois/?page_size=2&page=2").json()["features"][0]["properties"]["name"] == "岳麓书院"


# --- keyword search -------------------------------------------------------------------------------
def test_search_ranks_exact_district_above_poi(places, leader):
    body = client_for(leader).get("/api/search/?q=芙蓉区").json()
    results = body["results"]
    assert [(r["kind"], r["name"]) for r in results[:2]] == [("division", "芙蓉区"), ("poi", "芙蓉区政府")]
    district = results[0]
    assert district["key"] == "430102000000" and district["level"] == "district" and district["context"] == "长沙市"
    assert district["bbox"] == [112.97, 28.15, 113.05, 28.23]
    assert district["point"] is not None
    poi = results[1]
    assert poi["point"] == [112.987, 28.187] and poi["label"] == "政府机构" and poi["context"] == "识字岭社区"


def test_search_by_code_prefix_orders_by_level(places, leader):
    results = client_for(leader).get("/api/search/?q=430102").json()["results"]
    assert [r["key"] for r in results] == ["430102000000", "430102001000", "430102001001"]


def test_search_needs_a_keyword(places, leader):
    response = client_for(leader).get("/api/search/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_failed"


# --- input validation (SEC-7) ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=113,28,112,29",  # xmin > xmax
        "bbox=112,29,113,28",  # ymin > ymax
        "bbox=112,28,181,29",
        "bbox=112,-91,113,29",
        "bbox=nan,28,113,29",
        "bbox=112,28,113,29,30",
    ],
)
def test_bad_bbox_is_400(places, leader, query):
    for url in ("/api/divisions/", "/api/pois/"):
        response = client_for(leader).get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert response.json()["error"]["code"] == "bbox_invalid"


def test_unknown_level_is_400(places, leader):
    response = client_for(leader).get("/api/divisions/?level=planet")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "level_unknown"


def test_unknown_crs_is_400_with_the_parse_crs_message(places, leader):
    for url in ("/api/divisions/?crs=mars", "/api/pois/?crs=mars", "/api/search/?q=芙蓉&crs=mars", "/api/divisions/430102000000/?crs=mars"):
        response = client_for(leader).get(url)
        assert response.status_code == 400, url
        error = response.json()["error"]
        assert error["code"] == "crs_unknown"
        assert "mars" in error["message"] and "gcj02" in error["message"]


def test_keyword_longer_than_50_is_400(places, leader):
    response = client_for(leader).get("/api/search/?q=" + "长" * 51)
    assert response.status_code == 400


# --- coordinate systems (GC-1) --------------------------------------------------------------------
def test_crs_gcj02_shifts_output_by_the_gcj_offset(places, leader):
    client = client_for(leader)
    body = client.get("/api/pois/?q=芙蓉区政府&crs=gcj02").json()
    lng, lat = body["features"][0]["geometry"]["coordinates"]
    expected = wgs84_to_gcj02(112.987, 28.187)
    assert lng == pytest.approx(expected[0], abs=1e-6) and lat == pytest.approx(expected[1], abs=1e-6)
    assert abs(lng - 112.987) > 0.003  # the offset is several hundred metres in Changsha

    division = client.get("/api/divisions/430102001001/?crs=gcj02").json()
    x0, y0 = division["geometry"]["coordinates"][0][0][0]
    expected = wgs84_to_gcj02(112.985, 28.185)
    assert (x0, y0) == (pytest.approx(expected[0], abs=1e-6), pytest.approx(expected[1], abs=1e-6))

    result = client.get("/api/search/?q=芙蓉区政府&crs=gcj02").json()["results"][0]
    assert result["point"] == [pytest.approx(v, abs=1e-6) for v in wgs84_to_gcj02(112.987, 28.187)]


def test_bbox_is_read_in_the_request_crs(places, leader):
    # A tight box around the GCJ-02 position of 岳麓书院 finds it only when read as GCJ-02.
    gx, gy = wgs84_to_gcj02(112.937, 28.183)
    bbox = f"{gx - 0.0005},{gy - 0.0005},{gx + 0.0005},{gy + 0.0005}"
    client = client_for(leader)
    assert client.get(f"/api/pois/?bbox={bbox}&crs=gcj02").json()["count"] == 1
    assert client.get(f"/api/pois/?bbox={bbox}").json()["count"] == 0


# --- the home map page ----------------------------------------------------------------------------
def test_home_page_has_the_map_and_the_import_map(client, places, leader):
    client.force_login(leader)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="map"' in html
    assert '<script type="importmap">' in html
    assert '"maplibre-gl": "/static/vendor/maplibre-gl/maplibre-gl.mjs"' in html
    assert "/static/gis_core/home-map.js" in html
    assert 'id="home-map-config"' in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "api.mapbox.com", "tile.openstreetmap"):
        assert cdn not in html
    # the shell: product name, the user, navigation, language switch and logout
    assert "网格化营销平台" in html
    assert leader.display_name in html and "五里牌分理处" in html and "行领导" in html
    assert f'action="{reverse("logout")}"' in html and 'action="/i18n/setlang/"' in html
    assert 'href="/" class="is-active"' in html


def test_home_page_without_map_view_is_403(client, places, nobody):
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert "没有访问权限" in response.content.decode()


def test_home_page_sends_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
