# covers: GR-8, GR-2, SEC-5, ORG-2
"""My grid (GR-8) through the API: a grid's figures (area, customers formal/potential, POIs by
category, outlets, responsible manager), the actor's own grids, and the grid's points as map layers
with customer names masked for anyone but their manager — each endpoint with its scope matrix."""
from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from crm.models import Customer
from gis_core.choices import InstitutionKind, PoiCategory
from gis_core.testing import assert_scope_matrix, client_for
from gis_core.tests.factories import InstitutionFactory
from gis_core.tests.place_factories import PoiFactory
from grids.membership import points_place_all
from grids.summary import register_summary_contributor, unregister_summary_contributor
from grids.tests.factories import GridFactory, grid_world, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, make_user):
    world = grid_world(bank, make_user)
    # street_a1 is [112.91, 112.94] x [28.11, 28.14]
    world["mine"] = [
        Customer.objects.create(kind="individual", status=status, name=name, institution=bank["a1"], manager=world["am"],
                                location=Point(112.92 + i * 0.001, 28.12, srid=4326))
        for i, (status, name) in enumerate([("formal", "张三丰"), ("formal", "李四光"), ("potential", "王五")])
    ]
    world["other"] = Customer.objects.create(kind="individual", status="potential", name="赵六", institution=bank["a1"],
                                             manager=world["am2"], location=Point(112.93, 28.13, srid=4326))
    # a customer of branch B standing inside street_a1 stays out of branch A's figures and layers
    Customer.objects.create(kind="individual", status="formal", name="钱七", institution=bank["b"],
                            location=Point(112.925, 28.125, srid=4326))
    Customer.objects.create(kind="individual", status="formal", name="孙八", institution=bank["a1"],
                            location=Point(112.97, 28.12, srid=4326))  # in street_a2
    points_place_all()
    for i, category in enumerate([PoiCategory.SHOP, PoiCategory.SHOP, PoiCategory.SCHOOL]):
        PoiFactory(name=f"兴趣点{i}", category=category, geom=Point(112.915 + i * 0.002, 28.135, srid=4326))
    PoiFactory(name="区外商铺", category=PoiCategory.SHOP, geom=Point(112.99, 28.19, srid=4326))
    world["outlet"] = InstitutionFactory(code="BA1-01", name="东屯渡网点", kind=InstitutionKind.OUTLET, parent=bank["a1"],
                                         location=Point(112.925, 28.115, srid=4326))
    return world


def read_matrix(world, url, **kwargs):
    assert_scope_matrix(url=url, allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"], **kwargs)
    assert_scope_matrix(url=url, allowed=world["am"], no_permission=None, out_of_scope=world["am_free"], **kwargs)


def test_summary_scope_matrix_and_figures(world):
    url = f"/api/grids/{world['street_a1'].pk}/summary/"
    read_matrix(world, url)
    body = client_for(world["am"]).get(url).json()
    assert body["area_m2"] == pytest.approx(world["street_a1"].area_m2, abs=0.1)
    assert body["area_km2"] == pytest.approx(world["street_a1"].area_m2 / 1e6, abs=0.001)
    assert body["customers"] == {"formal": 2, "potential": 2, "total": 4}
    assert body["pois"] == {"total": 3, "by_category": {"shop": 2, "school": 1}}
    assert body["outlets"]["count"] == 1 and body["outlets"]["items"][0]["name"] == "东屯渡网点"
    assert body["responsible"] == {"id": world["am"].pk, "name": "张经理"}
    # campaigns and fieldwork have not registered yet: their figures are absent, not zero
    assert "open_tasks" not in body and "last_visit" not in body


def test_summary_of_a_district_and_of_a_virtual_grid(world, bank):
    district = client_for(world["bm_a"]).get(f"/api/grids/{world['district_a'].pk}/summary/").json()
    assert district["customers"] == {"formal": 3, "potential": 2, "total": 5}  # A1's customers in both streets
    assert district["children"] == 2 and district["responsible"] is None
    virtual = GridFactory(institution=bank["a"], kind="virtual", level="", virtual_type="business_district", code="V-1",
                          name="商圈", geom=square(112.915, 28.115, 0.01))
    body = client_for(world["bm_a"]).get(f"/api/grids/{virtual.pk}/summary/").json()
    assert body["customers"] == {"formal": 2, "potential": 1, "total": 3}  # by geometry for a virtual grid


def test_summary_takes_what_contributors_register(world):
    register_summary_contributor("test.tasks", lambda *, grid, actor: {"open_tasks": 7})
    try:
        body = client_for(world["am"]).get(f"/api/grids/{world['street_a1'].pk}/summary/").json()
        assert body["open_tasks"] == 7
    finally:
        unregister_summary_contributor("test.tasks")


def test_mine_scope_matrix(world):
    assert_scope_matrix(url="/api/grids/mine/", kind="list", object_id=world["street_a1"].pk, allowed=world["am"],
                        no_permission=world["nobody"], out_of_scope=world["am_free"])
    body = client_for(world["am"]).get("/api/grids/mine/").json()
    assert len(body) == 1
    assert body[0]["grid"]["properties"]["code"] == "S-A1"
    assert body[0]["summary"]["customers"]["total"] == 4
    assert client_for(world["bm_a"]).get("/api/grids/mine/").json() == []  # a branch manager holds no grid


@pytest.mark.parametrize("layer", ["customers", "pois", "outlets"])
def test_layer_scope_matrix(world, layer):
    read_matrix(world, f"/api/grids/{world['street_a1'].pk}/layers/{layer}.geojson")


def test_customer_layer_masks_names_of_customers_managed_by_others(world):
    url = f"/api/grids/{world['street_a1'].pk}/layers/customers.geojson"
    mine = client_for(world["am"]).get(url).json()
    names = {f["id"]: f["properties"]["name"] for f in mine["features"]}
    assert names == {world["mine"][0].pk: "张三丰", world["mine"][1].pk: "李四光", world["mine"][2].pk: "王五",
                     world["other"].pk: "赵*"}
    assert all(f["geometry"]["type"] == "Point" for f in mine["features"])
    # the branch manager manages none of them: every name masked; branch B's customer never shows
    branch = client_for(world["bm_a"]).get(url).json()
    assert sorted(f["properties"]["name"] for f in branch["features"]) == ["张**", "李**", "王*", "赵*"]
    potential = client_for(world["am"]).get(url, {"status": "potential"}).json()
    assert {f["id"] for f in potential["features"]} == {world["mine"][2].pk, world["other"].pk}


def test_poi_and_outlet_layers(world):
    base = f"/api/grids/{world['street_a1'].pk}/layers"
    pois = client_for(world["am"]).get(f"{base}/pois.geojson", {"crs": "gcj02"}).json()
    assert len(pois["features"]) == 3 and pois["layer"] == "pois"
    assert pois["features"][0]["geometry"]["coordinates"][0] > 112.915 + 0.003  # shifted to GCJ-02
    shops = client_for(world["am"]).get(f"{base}/pois.geojson", {"category": "shop"}).json()
    assert len(shops["features"]) == 2
    outlets = client_for(world["am"]).get(f"{base}/outlets.geojson").json()
    assert [f["properties"]["name"] for f in outlets["features"]] == ["东屯渡网点"]
    assert client_for(world["am"]).get(f"{base}/secrets.geojson").status_code == 404
