# covers: GR-1, GR-2, GR-3, GR-4, GC-1, ORG-2, SEC-7
"""The grids API: list, detail, create, edit, retire, history, children, tree, coverage and the
editor's dry run — the scope matrix of every endpoint and every bad input of the issue, each
answered with a clear error that changes nothing."""
from __future__ import annotations

import pytest

from gis_core.crs import CRS, convert_point
from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix, client_for
from grids.models import Grid, GridHistory
from grids.tests.factories import GridFactory, grid_world, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, make_user):
    return grid_world(bank, make_user)


def ring(*points):
    return [list(p) for p in (*points, points[0])]


def polygon(*points, holes=()):
    return {"type": "Polygon", "coordinates": [ring(*points), *[ring(*h) for h in holes]]}


def box(x, y, size):
    return polygon((x, y), (x + size, y), (x + size, y + size), (x, y + size))


def street_payload(world, geometry, **extra):
    return {
        "geometry": geometry, "kind": "physical", "level": "street", "parent": world["district_a"].pk,
        "code": "S-NEW", "name": "新街道", **extra,
    }


def read_matrix(world, url, *, kind="detail", object_id=None):
    """Branch managers A / B and the no-permission user; then the account manager with and without
    the assignment (the URL must be about street_a1, or a list containing it)."""
    assert_scope_matrix(url=url, kind=kind, object_id=object_id, allowed=world["bm_a"], no_permission=world["nobody"],
                        out_of_scope=world["bm_b"])
    assert_scope_matrix(url=url, kind=kind, object_id=object_id, allowed=world["am"], no_permission=None,
                        out_of_scope=world["am_free"])


# --- list -----------------------------------------------------------------------------------------------------
def test_list_scope_matrix_and_feature_shape(world):
    read_matrix(world, "/api/grids/", kind="list", object_id=world["street_a1"].pk)
    body = client_for(world["bm_a"]).get("/api/grids/").json()
    assert body["type"] == "FeatureCollection"
    assert {f["properties"]["code"] for f in body["features"]} == {"D-A", "S-A1", "S-A2"}
    street = next(f for f in body["features"] if f["properties"]["code"] == "S-A1")
    assert street["id"] == world["street_a1"].pk
    assert street["geometry"]["type"] == "MultiPolygon"
    props = street["properties"]
    assert props["institution"]["id"] == world["street_a1"].institution_id
    assert props["responsible"] == {"id": world["am"].pk, "name": "张经理"}
    assert props["parent_id"] == world["district_a"].pk and props["version"] == 1 and props["area_m2"] > 1e6
    # the account manager sees only the grid assigned to them; the leader sees every branch
    mine = client_for(world["am"]).get("/api/grids/").json()
    assert [f["id"] for f in mine["features"]] == [world["street_a1"].pk]
    everything = client_for(world["leader"]).get("/api/grids/").json()
    assert {f["properties"]["code"] for f in everything["features"]} == {"D-A", "D-B", "S-A1", "S-A2"}


def test_list_filters(world, bank):
    GridFactory(
        institution=bank["a"], kind="virtual", level="", virtual_type="business_district", code="V-1", name="五一商圈",
        geom=square(112.92, 28.15, 0.01), business_lines=["corporate", "micro"],
    )
    client = client_for(world["bm_a"])

    def codes(**params):
        response = client.get("/api/grids/", params)
        assert response.status_code == 200, response.content
        return {f["properties"]["code"] for f in response.json()["features"]}

    assert codes(kind="virtual") == {"V-1"}
    assert codes(level="street") == {"S-A1", "S-A2"}
    assert codes(virtual_type="business_district") == {"V-1"}
    assert codes(parent=world["district_a"].pk) == {"S-A1", "S-A2"}
    assert codes(business_line="micro") == {"V-1"}  # GR-3: a view per business line
    assert codes(business_line="retail") == set()
    assert codes(q="五里") == {"S-A1"} and codes(q="s-a2") == {"S-A2"}
    assert codes(bbox="112.905,28.105,112.935,28.135") == {"D-A", "S-A1"}
    # a bbox in GCJ-02 is shifted back to WGS-84 before filtering
    x0, y0 = convert_point(112.905, 28.105, src=CRS.WGS84, dst=CRS.GCJ02)
    x1, y1 = convert_point(112.935, 28.135, src=CRS.WGS84, dst=CRS.GCJ02)
    assert codes(bbox=f"{x0},{y0},{x1},{y1}", crs="gcj02") == {"D-A", "S-A1"}
    world["street_a2"].status = "retired"
    world["street_a2"].save()
    assert "S-A2" not in codes() and codes(status="retired") == {"S-A2"} and "S-A2" in codes(status="all")


def test_list_output_crs_simplify_and_paging(world):
    client = client_for(world["bm_a"])
    plain = client.get("/api/grids/", {"q": "S-A1"}).json()["features"][0]["geometry"]["coordinates"][0][0][0]
    gcj = client.get("/api/grids/", {"q": "S-A1", "crs": "gcj02"}).json()["features"][0]["geometry"]["coordinates"][0][0][0]
    expected = convert_point(plain[0], plain[1], src=CRS.WGS84, dst=CRS.GCJ02)
    assert gcj == pytest.approx(list(expected), abs=1e-6) and abs(gcj[0] - plain[0]) > 1e-3
    simplified = client.get("/api/grids/", {"q": "S-A1", "simplify": 50}).json()["features"][0]
    assert simplified["geometry"]["type"] in ("Polygon", "MultiPolygon")
    page = client.get("/api/grids/", {"page_size": 1}).json()
    assert page["count"] == 3 and len(page["features"]) == 1 and page["next"]


@pytest.mark.parametrize(
    ("params", "code"),
    [({"bbox": "1,2,3"}, "bbox_invalid"), ({"bbox": "113,28,112,29"}, "bbox_invalid"), ({"crs": "mars"}, "crs_unknown"),
     ({"kind": "cosmic"}, "validation_failed"), ({"simplify": "-1"}, "validation_failed")],
)
def test_list_bad_parameters(world, params, code):
    response = client_for(world["bm_a"]).get("/api/grids/", params)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


# --- detail, create, update, retire ---------------------------------------------------------------------------
def test_detail_scope_matrix(world):
    read_matrix(world, f"/api/grids/{world['street_a1'].pk}/")
    body = client_for(world["am"]).get(f"/api/grids/{world['street_a1'].pk}/", {"crs": "bd09"}).json()
    assert body["properties"]["parent_name"] == "芙蓉区"
    assert body["geometry"]["coordinates"][0][0][0][0] > 112.915  # BD-09 is ~0.0065° east of WGS-84


def test_create_scope_matrix_and_result(world):
    assert_scope_matrix(
        url="/api/grids/", method="post", data=street_payload(world, box(112.96, 28.15, 0.02)), allowed=world["bm_a"],
        no_permission=world["nobody"], out_of_scope=world["bm_b"], allowed_status=201,
    )
    # an account manager reads grids but does not draw them
    response = client_for(world["am"]).post("/api/grids/", street_payload(world, box(112.96, 28.17, 0.01), code="S-X"), format="json")
    assert response.status_code == 403
    grid = Grid.objects.get(code="S-NEW")
    assert grid.institution == world["bm_a"].institution and grid.parent == world["district_a"] and grid.version == 1
    assert GridHistory.objects.filter(grid=grid, action="created").count() == 1
    assert AuditEntry.objects.filter(action="grids.grid.created", object_id=str(grid.pk)).exists()


def test_create_in_gcj02_is_stored_in_wgs84(world):
    x, y = convert_point(112.96, 28.15, src=CRS.WGS84, dst=CRS.GCJ02)
    response = client_for(world["bm_a"]).post(
        "/api/grids/", street_payload(world, box(x, y, 0.02), crs="gcj02"), format="json"
    )
    assert response.status_code == 201, response.content
    stored = Grid.objects.get(code="S-NEW").geom
    # the datum shift here is ~500 m (0.005°); the corners come back to within ~10 m of WGS-84
    assert stored.extent[0] == pytest.approx(112.96, abs=1e-4) and stored.extent[1] == pytest.approx(28.15, abs=1e-4)
    # and the answer comes back in the datum asked for
    assert response.json()["geometry"]["coordinates"][0][0][0][0] == pytest.approx(x, abs=1e-6)


def test_create_virtual_grid_may_overlap_physical_ones(world):
    payload = {"geometry": box(112.92, 28.12, 0.01), "kind": "virtual", "virtual_type": "industrial_park", "code": "V-P",
               "name": "隆平高科园", "business_lines": ["corporate"]}
    response = client_for(world["bm_a"]).post("/api/grids/", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["properties"]["business_lines"] == ["corporate"]
    # territorial virtual grids of one type do not overlap each other
    again = client_for(world["bm_a"]).post("/api/grids/", {**payload, "code": "V-Q"}, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "geometry_overlaps_sibling"


BOW_TIE = polygon((112.96, 28.15), (112.98, 28.17), (112.98, 28.15), (112.96, 28.17))
SELF_INTERSECTING = polygon((112.96, 28.15), (112.99, 28.15), (112.99, 28.17), (112.975, 28.14), (112.96, 28.17))
HOLE_OUTSIDE = polygon((112.96, 28.15), (112.98, 28.15), (112.98, 28.17), (112.96, 28.17),
                       holes=[((112.985, 28.15), (112.99, 28.15), (112.99, 28.155))])
THREE_D = {"type": "Polygon", "coordinates": [[[112.96, 28.15, 10], [112.98, 28.15, 10], [112.98, 28.17, 10], [112.96, 28.15, 10]]]}
METRES = box(12_577_000, 3_263_000, 2_000)
PARIS = box(2.30, 48.80, 0.05)


def _many_vertices(n=50_001):
    # a circle-like ring with n distinct vertices, well inside district A
    import math

    pts = [[round(112.97 + 0.01 * math.cos(2 * math.pi * i / n), 7), round(28.16 + 0.01 * math.sin(2 * math.pi * i / n), 7)] for i in range(n)]
    return {"type": "Polygon", "coordinates": [pts + [pts[0]]]}


@pytest.mark.parametrize(
    ("geometry", "code", "reason"),
    [
        (BOW_TIE, "geometry_invalid", "self_intersection"),
        (SELF_INTERSECTING, "geometry_invalid", "self_intersection"),
        (HOLE_OUTSIDE, "geometry_invalid", "hole_outside_shell"),
        ({"type": "Polygon", "coordinates": []}, "geometry_empty", None),
        ({"type": "LineString", "coordinates": [[112.96, 28.15], [112.97, 28.16]]}, "geometry_not_polygon", None),
        ({"type": "Point", "coordinates": [112.96, 28.15]}, "geometry_not_polygon", None),
        (THREE_D, "geometry_3d", None),
        ("many", "geometry_too_many_vertices", None),
        (METRES, "geometry_wrong_crs", None),
        (PARIS, "geometry_outside_china", None),
        (box(112.99, 28.15, 0.05), "geometry_outside_parent", None),  # sticks out of district A into B
        (box(112.96, 28.15, 0.00005), "geometry_too_small", None),
        ({"type": "Polygon"}, "geometry_malformed", None),
        ({"type": "Polygon", "coordinates": "x"}, "geometry_malformed", None),
        ({"type": "Blob", "coordinates": []}, "geometry_malformed", None),
        ("{not json", "geometry_malformed", None),
        ([1, 2], "geometry_malformed", None),
    ],
    ids=["bow-tie", "self-intersecting", "hole-outside-shell", "empty", "line", "point", "3d", "50001-vertices",
         "wrong-crs-metres", "outside-china", "outside-parent", "too-small", "no-coordinates", "bad-coordinates",
         "unknown-type", "not-json", "not-an-object"],
)
def test_create_bad_geometry_is_refused_and_changes_nothing(world, geometry, code, reason):
    geometry = _many_vertices() if geometry == "many" else geometry
    before = (Grid.objects.count(), GridHistory.objects.count(), AuditEntry.objects.count())
    response = client_for(world["bm_a"]).post("/api/grids/", street_payload(world, geometry), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if reason:
        assert error["details"]["reason"] == reason
        assert set(error["details"]["location"]) == {"lng", "lat"}
    if code == "geometry_malformed":
        assert error["details"]["problem"]
    assert (Grid.objects.count(), GridHistory.objects.count(), AuditEntry.objects.count()) == before


def test_bow_tie_location_is_the_crossing_in_the_clients_datum(world):
    x0, y0 = convert_point(112.96, 28.15, src=CRS.WGS84, dst=CRS.GCJ02)
    x1, y1 = convert_point(112.98, 28.17, src=CRS.WGS84, dst=CRS.GCJ02)
    bow_tie = polygon((x0, y0), (x1, y1), (x1, y0), (x0, y1))
    response = client_for(world["bm_a"]).post("/api/grids/", street_payload(world, bow_tie, crs="gcj02"), format="json")
    details = response.json()["error"]["details"]
    assert details["crs"] == "gcj02"
    assert details["location"]["lng"] == pytest.approx((x0 + x1) / 2, abs=1e-4)
    assert details["location"]["lat"] == pytest.approx((y0 + y1) / 2, abs=1e-4)


def test_create_unknown_crs_and_overlap_and_structure(world):
    client = client_for(world["bm_a"])
    count = Grid.objects.count()
    bad_crs = client.post("/api/grids/", street_payload(world, box(112.96, 28.15, 0.02), crs="mars"), format="json")
    assert bad_crs.status_code == 400 and bad_crs.json()["error"]["code"] == "crs_unknown"
    # overlapping street_a1 ([112.91, 112.94] x [28.11, 28.14]) by 0.01° x 0.02°: the message names it and the area
    overlap = client.post("/api/grids/", street_payload(world, box(112.93, 28.12, 0.02)), format="json")
    error = overlap.json()["error"]
    assert overlap.status_code == 400 and error["code"] == "geometry_overlaps_sibling"
    assert "五里牌街道" in error["message"] and "平方米" in error["message"]
    assert error["details"]["overlaps"][0]["sibling_id"] == world["street_a1"].pk
    assert error["details"]["overlaps"][0]["area_m2"] == pytest.approx(2.18e6, rel=0.02)
    wrong_level = client.post("/api/grids/", street_payload(world, box(112.96, 28.15, 0.02), level="community"), format="json")
    assert wrong_level.json()["error"]["code"] == "grid_level_invalid"
    taken = client.post("/api/grids/", street_payload(world, box(112.96, 28.15, 0.02), code="S-A1"), format="json")
    assert taken.json()["error"]["code"] == "grid_code_taken"
    missing = client.post("/api/grids/", {"kind": "physical"}, format="json")
    assert missing.status_code == 400 and {"geometry", "code", "name"} <= set(missing.json()["error"]["details"])
    assert Grid.objects.count() == count


def test_update_scope_matrix_and_optimistic_locking(world):
    street = world["street_a1"]
    url = f"/api/grids/{street.pk}/"
    assert_scope_matrix(url=url, method="patch", data={"version": 1, "name": "五里牌新街道"}, allowed=world["bm_a"],
                        no_permission=world["nobody"], out_of_scope=world["bm_b"])
    assert client_for(world["am"]).patch(url, {"version": 2, "name": "x"}, format="json").status_code == 403
    street.refresh_from_db()
    assert street.name == "五里牌新街道" and street.version == 2
    # a second editor still on version 1 gets 409 with the current version, and changes nothing
    stale = client_for(world["bm_a"]).patch(url, {"version": 1, "name": "过期的修改"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "grid_version_conflict"
    assert stale.json()["error"]["details"]["current_version"] == 2
    street.refresh_from_db()
    assert street.name == "五里牌新街道" and street.version == 2
    no_version = client_for(world["bm_a"]).patch(url, {"name": "x"}, format="json")
    assert no_version.status_code == 400


def test_update_geometry_rules(world):
    street = world["street_a1"]
    client = client_for(world["bm_a"])
    url = f"/api/grids/{street.pk}/"
    grown = client.patch(url, {"version": 1, "geometry": box(112.91, 28.11, 0.035), "reason": "扩大"}, format="json")
    assert grown.status_code == 200, grown.content
    assert grown.json()["properties"]["version"] == 2
    history = GridHistory.objects.filter(grid=street).first()
    assert history.action == "geometry_changed" and history.reason == "扩大" and history.geom_before is not None
    # growing into street_a2 (starts at 112.95) overlaps it; a bow-tie is refused; both keep version 2
    for geometry, code in ((box(112.91, 28.11, 0.05), "geometry_overlaps_sibling"), (BOW_TIE, "geometry_invalid")):
        response = client.patch(url, {"version": 2, "geometry": geometry}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == code
    street.refresh_from_db()
    assert street.version == 2
    # a district cannot shrink away from its children
    district = world["district_a"]
    shrink = client.patch(f"/api/grids/{district.pk}/", {"version": 1, "geometry": box(112.90, 28.10, 0.02)}, format="json")
    assert shrink.status_code == 400 and shrink.json()["error"]["code"] == "grid_children_outside"


def test_retire_scope_matrix_and_rules(world):
    street = world["street_a2"]
    assert_scope_matrix(url=f"/api/grids/{street.pk}/retire/", method="post", data={"version": 1, "reason": "撤并"},
                        allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    street.refresh_from_db()
    assert street.status == "retired" and street.version == 2
    busy = client_for(world["bm_a"]).post(f"/api/grids/{world['district_a'].pk}/retire/", {"version": 1}, format="json")
    assert busy.status_code == 400 and busy.json()["error"]["code"] == "grid_has_children"
    stale = client_for(world["bm_a"]).post(f"/api/grids/{world['street_a1'].pk}/retire/", {"version": 7}, format="json")
    assert stale.status_code == 409 and stale.json()["error"]["details"]["current_version"] == 1


# --- around one grid ------------------------------------------------------------------------------------------
def test_history_scope_matrix(world):
    read_matrix(world, f"/api/grids/{world['street_a1'].pk}/history/")
    rows = client_for(world["am"]).get(f"/api/grids/{world['street_a1'].pk}/history/").json()["results"]
    assert [r["action"] for r in rows] == ["assigned", "created"]
    assert rows[1]["geometry_changed"] is True and rows[1]["after"]["code"] == "S-A1"


def test_children_scope_matrix(world):
    url = f"/api/grids/{world['district_a'].pk}/children/"
    assert_scope_matrix(url=url, allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    # the account manager cannot see district A (owned by branch A), so its children are 404 to them
    assert client_for(world["am"]).get(url).status_code == 404
    body = client_for(world["bm_a"]).get(url).json()
    assert {f["properties"]["code"] for f in body["features"]} == {"S-A1", "S-A2"}


def test_coverage_scope_matrix_and_report(world):
    url = f"/api/grids/{world['district_a'].pk}/coverage/"
    assert_scope_matrix(url=url, allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    body = client_for(world["bm_a"]).get(url).json()
    assert body["children"] == 2
    # two 0.03° squares out of a 0.10° square: 18 % covered, the rest is one gap
    assert body["covered_ratio"] == pytest.approx(0.18, abs=0.005)
    assert body["gaps"]["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert body["gaps"]["features"][0]["properties"]["area_m2"] > 0
    assert body["overlaps"]["features"] == []
    read_matrix(world, f"/api/grids/{world['street_a1'].pk}/coverage/")


def test_tree_scope_matrix_and_search(world, bank):
    GridFactory(institution=bank["a1"], parent=world["street_a1"], level="community", code="C-A1", name="东屯渡社区",
                geom=square(112.915, 28.115, 0.005))
    assert_scope_matrix(url="/api/grids/tree/", kind="list", object_id=world["district_a"].pk, allowed=world["bm_a"],
                        no_permission=world["nobody"], out_of_scope=world["bm_b"])
    assert_scope_matrix(url="/api/grids/tree/", kind="list", object_id=world["street_a1"].pk, allowed=world["am"],
                        no_permission=None, out_of_scope=world["am_free"])
    roots = client_for(world["bm_a"]).get("/api/grids/tree/").json()
    assert [(n["code"], n["child_count"]) for n in roots] == [("D-A", 2)]
    children = client_for(world["bm_a"]).get("/api/grids/tree/", {"parent": world["district_a"].pk}).json()
    assert [(n["code"], n["child_count"]) for n in children] == [("S-A1", 1), ("S-A2", 0)]
    assert "geometry" not in children[0]
    # the account manager's root is their own street (its parent is not visible to them)
    assert [n["code"] for n in client_for(world["am"]).get("/api/grids/tree/").json()] == ["S-A1"]
    found = client_for(world["bm_a"]).get("/api/grids/tree/", {"q": "东屯"}).json()
    assert [n["code"] for n in found] == ["C-A1"]
    assert [a["code"] for a in found[0]["ancestors"]] == ["D-A", "S-A1"]
    # the account manager sees only their street: no community, and no ancestor they may not see
    assert client_for(world["am"]).get("/api/grids/tree/", {"q": "东屯"}).json() == []
    own = client_for(world["am"]).get("/api/grids/tree/", {"q": "五里"}).json()
    assert [(n["code"], n["child_count"], n["ancestors"]) for n in own] == [("S-A1", 0, [])]
    assert client_for(world["bm_b"]).get("/api/grids/tree/", {"q": "东屯"}).json() == []
    assert client_for(world["bm_b"]).get("/api/grids/tree/", {"parent": world["district_a"].pk}).status_code == 404


# --- the editor's dry run -------------------------------------------------------------------------------------
def test_validate_scope_matrix_and_writes_nothing(world):
    payload = {"geometry": box(112.93, 28.12, 0.03), "kind": "physical", "level": "street", "parent": world["district_a"].pk}
    assert_scope_matrix(url="/api/grids/validate/", method="post", data=payload, allowed=world["bm_a"],
                        no_permission=world["nobody"], out_of_scope=world["bm_b"])
    before = (Grid.objects.count(), GridHistory.objects.count(), AuditEntry.objects.count())
    body = client_for(world["bm_a"]).post("/api/grids/validate/", payload, format="json").json()
    assert body["ok"] is False
    # overlaps BOTH streets: every problem and every overlap area is reported, for the map
    assert [p["code"] for p in body["problems"]] == ["geometry_overlaps_sibling"]
    assert {f["properties"]["sibling_id"] for f in body["overlaps"]["features"]} == {world["street_a1"].pk, world["street_a2"].pk}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in body["overlaps"]["features"])
    assert body["problems"][0]["location"] is not None
    assert (Grid.objects.count(), GridHistory.objects.count(), AuditEntry.objects.count()) == before


def test_validate_reports_several_problems_and_ok(world):
    client = client_for(world["bm_a"])
    outside_and_overlapping = {"geometry": box(112.93, 28.12, 0.10), "kind": "physical", "level": "street",
                               "parent": world["district_a"].pk}
    codes = [p["code"] for p in client.post("/api/grids/validate/", outside_and_overlapping, format="json").json()["problems"]]
    assert codes == ["geometry_outside_parent", "geometry_overlaps_sibling"]
    bow_tie = client.post("/api/grids/validate/", {"geometry": BOW_TIE, "level": "street", "parent": world["district_a"].pk},
                          format="json").json()
    assert bow_tie["ok"] is False and bow_tie["problems"][0]["details"]["reason"] == "self_intersection"
    fine = client.post("/api/grids/validate/", {"geometry": box(112.96, 28.15, 0.02), "level": "street",
                                                "parent": world["district_a"].pk}, format="json").json()
    assert fine == {"ok": True, "problems": [], "overlaps": {"type": "FeatureCollection", "features": []}}
    # editing street_a1 itself: it does not overlap itself; its kind, level and parent are taken from it
    edit = client.post("/api/grids/validate/", {"geometry": box(112.91, 28.11, 0.035), "exclude": world["street_a1"].pk},
                       format="json").json()
    assert edit["ok"] is True
    wrong_level = client.post("/api/grids/validate/", {"geometry": box(112.96, 28.15, 0.02), "level": "building",
                                                       "parent": world["district_a"].pk}, format="json").json()
    assert [p["code"] for p in wrong_level["problems"]] == ["grid_level_invalid"]
    malformed = client.post("/api/grids/validate/", {"geometry": {"type": "Polygon"}}, format="json")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "geometry_malformed"
