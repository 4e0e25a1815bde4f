# covers: GC-3, CR-10, ORG-2
"""Address correction (地址纠偏): a moved pin keeps its history, is stored in WGS-84 whatever the input
datum, is refused outside China or without a reason, re-places the customer into grids, and every
endpoint passes the scope matrix."""
from __future__ import annotations

import pytest

from crm.choices import GeocodeStatus
from crm.locations import customer_location_move, low_confidence_queue
from crm.models import Customer, CustomerLocationChange
from crm.tests.segments_support import make_customer
from gis_core.crs import wgs84_to_bd09, wgs84_to_gcj02
from gis_core.errors import ValidationFailed
from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix
from grids.membership import points_place
from grids.tests.factories import grid_world

pytestmark = pytest.mark.django_db

IN_A = (112.97, 28.18)  # district_a, outside both streets
IN_B = (113.05, 28.15)  # district_b


@pytest.fixture
def world(bank, make_user):
    w = grid_world(bank, make_user)
    w["bank"] = bank
    w["customer"] = make_customer(bank["a1"], "王小明", location=IN_A, manager=w["am2"], address="芙蓉区某路1号")
    points_place("crm.customer")
    w["customer"].refresh_from_db()
    return w


def move_url(c):
    return f"/api/crm/customers/{c.pk}/location/"


def test_move_keeps_history_and_marks_manual(world, login):
    customer = world["customer"]
    response = login(world["am2"]).post(
        move_url(customer), {"lng": IN_A[0] + 0.001, "lat": IN_A[1], "crs": "wgs84", "reason": "门牌号定位偏差"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "王小明"  # the manager sees the full name
    assert body["geocode_status"] == GeocodeStatus.MANUAL and body["geocode_confidence"] == 1.0
    assert body["location"]["coordinates"] == pytest.approx([IN_A[0] + 0.001, IN_A[1]])

    change = CustomerLocationChange.objects.get(customer=customer)
    assert change.old_location.coords == pytest.approx(IN_A)
    assert change.new_location.coords == pytest.approx((IN_A[0] + 0.001, IN_A[1]))
    assert change.old_status == GeocodeStatus.MATCHED
    assert change.actor == world["am2"] and change.reason == "门牌号定位偏差"

    entry = AuditEntry.objects.get(action="crm.customer.location_moved")
    assert entry.data["customer_id"] == customer.pk and "王小明" not in str(entry.data) + entry.object_repr

    history = login(world["bm_a"]).get(f"/api/crm/customers/{customer.pk}/location-history/").json()
    assert [h["reason"] for h in history] == ["门牌号定位偏差"]
    assert history[0]["actor"]["id"] == world["am2"].pk
    assert history[0]["old_location"]["coordinates"] == pytest.approx(list(IN_A))


@pytest.mark.parametrize("crs,convert", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_shifted_datum_input_is_stored_as_wgs84(world, crs, convert):
    lng, lat = convert(*IN_A)
    assert abs(lng - IN_A[0]) > 0.001  # the shift is real (~500 m), so the check below can fail
    moved = customer_location_move(actor=world["bm_a"], customer=world["customer"], lng=lng, lat=lat, crs=crs, reason="地图选点")
    assert moved.location.x == pytest.approx(IN_A[0], abs=1e-5)
    assert moved.location.y == pytest.approx(IN_A[1], abs=1e-5)
    assert moved.input_crs == crs


def test_outside_china_and_unknown_crs_refused_nothing_changed(world, login):
    customer = world["customer"]
    client = login(world["bm_a"])
    response = client.post(move_url(customer), {"lng": 2.35, "lat": 48.85, "reason": "巴黎"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "location_outside_china"
    response = client.post(move_url(customer), {"lng": IN_B[0], "lat": IN_B[1], "crs": "utm50", "reason": "x"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "crs_unknown"
    customer.refresh_from_db()
    assert customer.location.coords == pytest.approx(IN_A) and customer.geocode_status == GeocodeStatus.MATCHED
    assert not CustomerLocationChange.objects.exists()
    assert not AuditEntry.objects.filter(action="crm.customer.location_moved").exists()


def test_reason_required(world, login):
    customer = world["customer"]
    response = login(world["bm_a"]).post(move_url(customer), {"lng": IN_B[0], "lat": IN_B[1]}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["details"]
    with pytest.raises(ValidationFailed):
        customer_location_move(actor=world["bm_a"], customer=customer, lng=IN_B[0], lat=IN_B[1], reason="   ")
    customer.refresh_from_db()
    assert customer.location.coords == pytest.approx(IN_A)
    assert not CustomerLocationChange.objects.exists()


def test_move_into_another_grid_updates_grid_columns(world):
    customer = world["customer"]
    assert customer.grid_district_id == world["district_a"].pk
    moved = customer_location_move(actor=world["bm_a"], customer=customer, lng=IN_B[0], lat=IN_B[1], reason="实际在河西")
    assert moved.grid_district_id == world["district_b"].pk
    assert Customer.objects.get(pk=customer.pk).grid_district_id == world["district_b"].pk
    # Moving from no location at all places the customer too.
    lost = make_customer(world["bank"]["a1"], "无坐标", geocode_status=GeocodeStatus.FAILED)
    moved = customer_location_move(actor=world["bm_a"], customer=lost, lng=IN_A[0], lat=IN_A[1], reason="走访确认")
    assert moved.grid_district_id == world["district_a"].pk
    assert CustomerLocationChange.objects.get(customer=lost).old_location is None


def test_low_confidence_queue_order_and_filter(world):
    bank = world["bank"]
    sure = make_customer(bank["a1"], "甲", geocode_status=GeocodeStatus.LOW_CONFIDENCE, geocode_confidence=0.6)
    unsure = make_customer(bank["a1"], "乙", geocode_status=GeocodeStatus.LOW_CONFIDENCE, geocode_confidence=0.2)
    failed = make_customer(bank["a1"], "丙", geocode_status=GeocodeStatus.FAILED, geocode_confidence=0.0)
    make_customer(bank["b1"], "丁", geocode_status=GeocodeStatus.FAILED, geocode_confidence=0.0)  # branch B
    ids = list(low_confidence_queue(actor=world["bm_a"], filters={}).values_list("pk", flat=True))
    assert ids == [failed.pk, unsure.pk, sure.pk]  # matched customer absent, branch B absent
    only_failed = low_confidence_queue(actor=world["bm_a"], filters={"status": GeocodeStatus.FAILED})
    assert list(only_failed.values_list("pk", flat=True)) == [failed.pk]


def test_scope_matrix_of_every_endpoint(world):
    customer = world["customer"]
    queued = make_customer(
        world["bank"]["a1"], "赵大", manager=world["am2"], address="某村", location=IN_A,
        geocode_status=GeocodeStatus.LOW_CONFIDENCE, geocode_confidence=0.3,
    )
    move = {"lng": IN_A[0], "lat": IN_A[1], "crs": "wgs84", "reason": "核实"}
    history = f"/api/crm/customers/{customer.pk}/location-history/"
    queue = "/api/crm/customers/low-confidence/"
    for out_of_scope in (world["bm_b"], world["am"]):  # other branch; manager of neither customer nor grid
        assert_scope_matrix(url=move_url(customer), method="post", data=move, allowed=world["bm_a"],
                            no_permission=world["nobody"], out_of_scope=out_of_scope)
        assert_scope_matrix(url=history, allowed=world["am2"], no_permission=world["nobody"], out_of_scope=out_of_scope)
        assert_scope_matrix(url=queue, kind="list", object_id=queued.pk, allowed=world["am2"],
                            no_permission=world["nobody"], out_of_scope=out_of_scope)

    def masked_for_branch_manager(response):
        row = next(r for r in response.json()["results"] if r["id"] == queued.pk)
        assert row["name"] == "赵*" and row["address"] == "某村" and row["geocode_confidence"] == 0.3
        assert row["location"]["coordinates"] == pytest.approx(list(IN_A))

    assert_scope_matrix(url=queue, kind="list", object_id=queued.pk, allowed=world["bm_a"], no_permission=world["nobody"],
                        out_of_scope=world["bm_b"], check_allowed=masked_for_branch_manager)
    assert CustomerLocationChange.objects.filter(customer=customer).count() == 2  # only the allowed moves
