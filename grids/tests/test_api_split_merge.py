# covers: GR-4, SEC-4
"""Split and merge through the API: the scope matrix, the results (areas add up, no slivers, children
re-parented, assignments of merged-away grids ended) and the refusals (stale version, a line that
does not cross, a line through a child, grids that do not touch), each changing nothing. Merging is
critical and needs a recent re-authentication."""
from __future__ import annotations

import pytest
import shapely

from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix, client_for
from gis_core.tests.auth_support import api_session
from grids import geometry as geo
from grids.models import Grid, GridAssignment, GridHistory
from grids.services.common import to_shapely
from grids.tests.factories import GridFactory, assign_responsible, grid_world, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, make_user):
    world = grid_world(bank, make_user)
    # street_a3 fills the gap between street_a1 ([112.91, 112.94]) and street_a2 ([112.95, 112.98])
    world["street_a3"] = GridFactory(institution=bank["a"], parent=world["district_a"], level="street", code="S-A3",
                                     name="东湖街道", geom=square(112.94, 28.11, 0.01) | square(112.94, 28.12, 0.01) | square(112.94, 28.13, 0.01))
    return world


def line(*points):
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


CUT_A2 = line((112.96, 28.10), (112.96, 28.15))  # street_a2 is [112.95, 112.98]: a 1/3 – 2/3 cut


def _state():
    return list(Grid.objects.order_by("id").values_list("id", "version", "status", "parent_id", "name")), GridHistory.objects.count()


def test_split_scope_matrix_and_result(world, bank):
    street = world["street_a2"]
    west_child = GridFactory(institution=bank["a"], parent=street, level="community", code="C-W", name="西社区",
                             geom=square(112.951, 28.111, 0.005))
    east_child = GridFactory(institution=bank["a"], parent=street, level="community", code="C-E", name="东社区",
                             geom=square(112.97, 28.12, 0.005))
    original = to_shapely(street.geom)
    assert_scope_matrix(url=f"/api/grids/{street.pk}/split/", method="post",
                        data={"line": CUT_A2, "version": 1, "names": ["火星东", "火星西"], "reason": "人口增长"},
                        allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    street.refresh_from_db()
    new = Grid.objects.get(code="S-A2-1")
    # the largest piece keeps the grid (its id, assignments, history); the other is a new sibling
    assert (street.name, street.version, new.name, new.parent_id) == ("火星东", 2, "火星西", world["district_a"].pk)
    pieces = [to_shapely(street.geom), to_shapely(new.geom)]
    total = sum(geo.area_m2(p) for p in pieces)
    assert total == pytest.approx(geo.area_m2(original), abs=1.0)  # areas add up (to 1 m² of 9.8 km²)
    assert geo.area_m2(shapely.symmetric_difference(shapely.union_all(pieces), original)) < 0.01  # no slivers, no gaps
    assert geo.area_m2(pieces[0].intersection(pieces[1])) < 0.01  # no overlap
    assert street.area_m2 == pytest.approx(2 * new.area_m2, rel=0.01)
    west_child.refresh_from_db()
    east_child.refresh_from_db()
    assert west_child.parent_id == new.pk and east_child.parent_id == street.pk  # children follow their piece
    assert GridHistory.objects.filter(grid=new, action="split").exists()
    assert AuditEntry.objects.filter(action="grids.grid.split", object_id=str(street.pk)).exists()


def test_split_response_is_the_pieces(world):
    response = client_for(world["bm_a"]).post(f"/api/grids/{world['street_a2'].pk}/split/", {"line": CUT_A2, "version": 1},
                                              format="json")
    assert response.status_code == 200, response.content
    features = response.json()["features"]
    assert [f["properties"]["code"] for f in features] == ["S-A2", "S-A2-1"]
    assert features[0]["properties"]["version"] == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"line": CUT_A2, "version": 9}, 409, "grid_version_conflict"),
        ({"line": line((112.90, 28.16), (113.0, 28.16)), "version": 1}, 400, "split_line_does_not_cross"),
        ({"line": line((112.96, 28.12), (112.97, 28.13)), "version": 1}, 400, "split_line_does_not_cross"),
        ({"line": {"type": "Polygon", "coordinates": [[[112.96, 28.1], [112.97, 28.1], [112.97, 28.2], [112.96, 28.1]]]},
          "version": 1}, 400, "split_line_invalid"),
        ({"line": {"type": "LineString"}, "version": 1}, 400, "geometry_malformed"),
        ({"line": line((112.9500001, 28.10), (112.9500001, 28.15)), "version": 1}, 400, "geometry_too_small"),  # 1 cm
    ],
    ids=["stale", "misses", "ends-inside", "not-a-line", "malformed", "sliver"],
)
def test_split_refusals_change_nothing(world, payload, status, code):
    before = _state()
    response = client_for(world["bm_a"]).post(f"/api/grids/{world['street_a2'].pk}/split/", payload, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if status == 409:
        assert response.json()["error"]["details"]["current_version"] == 1
    assert _state() == before


def test_split_through_a_child_is_refused(world, bank):
    GridFactory(institution=bank["a"], parent=world["street_a2"], level="community", code="C-M", name="跨线社区",
                geom=square(112.958, 28.12, 0.004))
    before = _state()
    response = client_for(world["bm_a"]).post(f"/api/grids/{world['street_a2'].pk}/split/", {"line": CUT_A2, "version": 1},
                                              format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "split_crosses_children"
    assert "跨线社区" in response.json()["error"]["message"]
    assert _state() == before


# --- merge ----------------------------------------------------------------------------------------------------
def _merge_payload(world, **extra):
    a2, a3 = world["street_a2"], world["street_a3"]
    return {"ids": [a2.pk, a3.pk], "versions": {str(a2.pk): 1, str(a3.pk): 1}, "name": "火星东湖街道", **extra}


def test_merge_scope_matrix_needs_reauthentication(world):
    payload = _merge_payload(world)

    def refused_for_lack_of_reauth(response):
        assert response.json()["error"]["code"] == "reauth_required"

    # forced authentication has no recent password: the allowed user passes scope, then meets re-auth
    assert_scope_matrix(url="/api/grids/merge/", method="post", data=payload, allowed=world["bm_a"],
                        no_permission=world["nobody"], out_of_scope=world["bm_b"], allowed_status=403,
                        check_allowed=refused_for_lack_of_reauth)
    assert Grid.objects.filter(status="retired").count() == 0
    response = api_session(world["bm_a"]).post("/api/grids/merge/", payload, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["properties"]["name"] == "火星东湖街道"


def test_merge_result(world, bank, make_user):
    a2, a3 = world["street_a2"], world["street_a3"]
    child = GridFactory(institution=bank["a"], parent=a3, level="community", code="C-3", name="东湖社区",
                        geom=square(112.941, 28.111, 0.005))
    holder = make_user(bank["a"], "account_manager")
    assign_responsible(a3, holder)
    areas = a2.area_m2 + a3.area_m2
    shapes = [to_shapely(a2.geom), to_shapely(a3.geom)]
    response = api_session(world["bm_a"]).post("/api/grids/merge/", _merge_payload(world), format="json")
    assert response.status_code == 200, response.content
    a2.refresh_from_db()
    a3.refresh_from_db()
    assert (a2.status, a2.version, a3.status, a3.version) == ("active", 2, "retired", 2)
    assert a2.area_m2 == pytest.approx(areas, rel=1e-6)  # areas add up
    merged = to_shapely(a2.geom)
    assert len(merged.geoms) == 1  # one piece, no slivers along the old shared edge
    assert geo.area_m2(shapely.symmetric_difference(merged, shapely.union_all(shapes))) < 0.01
    child.refresh_from_db()
    assert child.parent_id == a2.pk  # children re-parented
    assert not GridAssignment.objects.filter(grid=a3, ends_on__isnull=True).exists()  # assignments ended
    assert GridHistory.objects.filter(grid=a3, action="merged").exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("stale", 409, "grid_version_conflict"),
        ("not_adjacent", 400, "merge_not_adjacent"),
        ("not_siblings", 400, "merge_not_siblings"),
        ("one", 400, "validation_failed"),
        ("duplicate", 400, "merge_duplicate"),
    ],
)
def test_merge_refusals_change_nothing(world, change, status, code):
    a1, a2, a3 = world["street_a1"], world["street_a2"], world["street_a3"]
    payload = {
        "stale": _merge_payload(world, versions={str(a2.pk): 1, str(a3.pk): 5}),
        "not_adjacent": {"ids": [a1.pk, a2.pk], "versions": {str(a1.pk): 1, str(a2.pk): 1}},
        "not_siblings": {"ids": [a2.pk, world["district_a"].pk], "versions": {str(a2.pk): 1, str(world["district_a"].pk): 1}},
        "one": {"ids": [a2.pk], "versions": {str(a2.pk): 1}},
        "duplicate": {"ids": [a2.pk, a2.pk], "versions": {str(a2.pk): 1}},
    }[change]
    before = _state()
    response = api_session(world["bm_a"]).post("/api/grids/merge/", payload, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if status == 409:
        assert response.json()["error"]["details"]["current_version"] == 1
    assert _state() == before


def test_merge_with_a_grid_out_of_scope_is_404(world):
    a2, b = world["street_a2"], world["district_b"]
    before = _state()
    response = api_session(world["bm_a"]).post("/api/grids/merge/", {"ids": [a2.pk, b.pk], "versions": {str(a2.pk): 1, str(b.pk): 1}},
                                              format="json")
    assert response.status_code == 404
    assert _state() == before
