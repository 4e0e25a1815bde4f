# covers: GR-5, GR-6, GR-9, SEC-4, SEC-5, ORG-2
"""Assignment (定格-定岗-定人-定责), transfer and liaisons (金融三员) through the API: the scope matrix
of every endpoint, one responsible person at a time with history kept, transfers that need a recent
re-authentication and refuse a person outside the institution without changing anything."""
from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from crm.models import Customer
from gis_core.choices import RoleCode
from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix, client_for
from gis_core.tests.auth_support import api_session
from grids.membership import points_place_all
from grids.models import GridAssignment, GridLiaison, GridTransfer
from grids.tests.factories import grid_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, make_user):
    return grid_world(bank, make_user)


def reauth_required(response):
    assert response.json()["error"]["code"] == "reauth_required"


def customers(world, bank, n=3):
    rows = [
        Customer.objects.create(kind="individual", status="formal", name=f"客户{i}", institution=bank["a1"],
                                manager=world["am"], location=Point(112.915 + i * 0.001, 28.115, srid=4326))
        for i in range(n)
    ]
    points_place_all()
    return rows


def _assignments():
    return list(GridAssignment.objects.order_by("id").values_list("id", "grid_id", "person_id", "post", "ends_on"))


# --- assignments ----------------------------------------------------------------------------------------------
def test_assignment_list_scope_matrix(world):
    url = f"/api/grids/{world['street_a1'].pk}/assignments/"
    assert_scope_matrix(url=url, allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    assert_scope_matrix(url=url, allowed=world["am"], no_permission=None, out_of_scope=world["am_free"])
    rows = client_for(world["am"]).get(url).json()["results"]
    assert [(r["person"]["name"], r["post"], r["is_open"]) for r in rows] == [("张经理", "responsible", True)]


def test_assign_scope_matrix_and_one_responsible_at_a_time(world):
    street = world["street_a1"]
    url = f"/api/grids/{street.pk}/assignments/"
    assert_scope_matrix(url=url, method="post", data={"person": world["am2"].pk, "post": "responsible", "responsibility": "走访全覆盖"},
                        allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"], allowed_status=201)
    assert client_for(world["am"]).post(url, {"person": world["am2"].pk}, format="json").status_code == 403
    current = GridAssignment.objects.filter(grid=street, post="responsible", ends_on__isnull=True)
    assert [a.person for a in current] == [world["am2"]]
    # the previous responsible person's row is kept, closed today
    assert GridAssignment.objects.get(grid=street, person=world["am"]).ends_on is not None
    assistant = client_for(world["bm_a"]).post(url, {"person": world["am"].pk, "post": "assistant"}, format="json")
    assert assistant.status_code == 201 and assistant.json()["post"] == "assistant"
    twice = client_for(world["bm_a"]).post(url, {"person": world["am"].pk, "post": "assistant"}, format="json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "assignment_exists"


def test_assign_person_outside_the_institution_changes_nothing(world, bank, make_user):
    stranger = make_user(bank["b"], RoleCode.ACCOUNT_MANAGER)
    head_manager = make_user(bank["head"], RoleCode.BRANCH_MANAGER)
    before = _assignments()
    url = f"/api/grids/{world['street_a1'].pk}/assignments/"
    # branch A's manager cannot even see the stranger: same answer as for a made-up id
    for person in (stranger.pk, 999_999):
        response = client_for(world["bm_a"]).post(url, {"person": person}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "assignee_outside_institution"
    # the head office sees both, and is told the stranger is not of the grid's institution
    response = client_for(head_manager).post(url, {"person": stranger.pk}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "assignee_outside_institution"
    not_a_manager = client_for(world["bm_a"]).post(url, {"person": world["nobody"].pk}, format="json")
    assert not_a_manager.json()["error"]["code"] == "assignee_outside_institution"  # auditor of A is not in A1
    auditor_a1 = make_user(bank["a1"], RoleCode.AUDITOR)
    wrong_role = client_for(world["bm_a"]).post(url, {"person": auditor_a1.pk}, format="json")
    assert wrong_role.json()["error"]["code"] == "assignee_not_account_manager"
    assert _assignments() == before


def test_assignment_end_scope_matrix(world):
    assignment = GridAssignment.objects.get(grid=world["street_a1"], person=world["am"])
    assert_scope_matrix(url=f"/api/grids/assignments/{assignment.pk}/end/", method="post", data={"reason": "调岗"},
                        allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    assignment.refresh_from_db()
    assert assignment.ends_on is not None
    # with the assignment ended the account manager no longer sees the grid
    assert client_for(world["am"]).get(f"/api/grids/{world['street_a1'].pk}/").status_code == 404


# --- transfer -------------------------------------------------------------------------------------------------
def test_transfer_scope_matrix_needs_reauthentication(world, bank):
    rows = customers(world, bank)
    street = world["street_a1"]
    url = f"/api/grids/{street.pk}/transfer/"
    data = {"to_user": world["am2"].pk, "reason": "客户经理调岗"}
    assert_scope_matrix(url=url, method="post", data=data, allowed=world["bm_a"], no_permission=world["nobody"],
                        out_of_scope=world["bm_b"], allowed_status=403, check_allowed=reauth_required)
    assert client_for(world["am"]).post(url, data, format="json").status_code == 403
    assert not GridTransfer.objects.exists()
    response = api_session(world["bm_a"]).post(url, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["from_user"]["id"] == world["am"].pk and body["to_user"]["id"] == world["am2"].pk
    assert body["moved"]["crm.customers"] == 3
    assert {c.manager_id for c in Customer.objects.filter(pk__in=[r.pk for r in rows])} == {world["am2"].pk}
    current = GridAssignment.objects.get(grid=street, post="responsible", ends_on__isnull=True)
    assert current.person == world["am2"]
    assert AuditEntry.objects.filter(action="grids.grid.transferred", object_id=str(street.pk)).count() == 1
    assert AuditEntry.objects.filter(action="grids.transfer.created", object_id=str(body["id"])).count() == 1
    assert AuditEntry.objects.filter(action="crm.customer.manager_transferred").count() == 1


def test_transfer_to_a_user_outside_the_institution_changes_nothing(world, bank, make_user):
    rows = customers(world, bank)
    stranger = make_user(bank["b"], RoleCode.ACCOUNT_MANAGER)
    head_manager = make_user(bank["head"], RoleCode.BRANCH_MANAGER)
    before = _assignments()
    for user in (world["bm_a"], head_manager):
        response = api_session(user).post(f"/api/grids/{world['street_a1'].pk}/transfer/", {"to_user": stranger.pk}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "assignee_outside_institution"
    assert _assignments() == before
    assert not GridTransfer.objects.exists()
    assert {c.manager_id for c in Customer.objects.filter(pk__in=[r.pk for r in rows])} == {world["am"].pk}


def test_transfer_without_responsible_or_to_the_same_person(world):
    session = api_session(world["bm_a"])
    none = session.post(f"/api/grids/{world['street_a2'].pk}/transfer/", {"to_user": world["am2"].pk}, format="json")
    assert none.status_code == 400 and none.json()["error"]["code"] == "transfer_no_responsible"
    same = session.post(f"/api/grids/{world['street_a1'].pk}/transfer/", {"to_user": world["am"].pk}, format="json")
    assert same.status_code == 400 and same.json()["error"]["code"] == "transfer_same_person"


def test_transfer_list_scope_matrix(world):
    api_session(world["bm_a"]).post(f"/api/grids/{world['street_a1'].pk}/transfer/", {"to_user": world["am2"].pk}, format="json")
    transfer = GridTransfer.objects.get()
    url = f"/api/grids/{world['street_a1'].pk}/transfers/"
    # a list below one grid: out of scope, the grid (and so the list) does not exist → 404
    assert_scope_matrix(url=url, allowed=world["bm_a"], no_permission=world["nobody"], out_of_scope=world["bm_b"])
    # am handed the grid over and no longer sees it; am2 now does
    assert_scope_matrix(url=url, allowed=world["am2"], no_permission=None, out_of_scope=world["am"])
    assert [t["id"] for t in client_for(world["am2"]).get(url).json()["results"]] == [transfer.pk]


# --- liaisons -------------------------------------------------------------------------------------------------
def test_liaisons_scope_matrix_and_masked_phone(world, bank, make_user):
    street = world["street_a1"]
    url = f"/api/grids/{street.pk}/liaisons/"
    account = make_user(bank["a1"], RoleCode.GRID_LIAISON)
    data = {"name": "王村支书", "liaison_type": "village_cadre", "organisation": "东屯村委", "phone": "13812345678",
            "allowed_actions": ["record", "visit"], "user": account.pk}
    assert_scope_matrix(url=url, method="post", data=data, allowed=world["bm_a"], no_permission=world["am"],
                        out_of_scope=world["bm_b"], allowed_status=201)
    liaison = GridLiaison.objects.get()
    assert liaison.phone == "13812345678" and liaison.user == account
    assert_scope_matrix(url=url, allowed=world["am"], no_permission=world["nobody"], out_of_scope=world["am_free"])
    row = client_for(world["bm_a"]).get(url).json()[0]
    assert row["phone"] == "138****5678" and row["allowed_actions"] == ["record", "visit"]
    # the liaison's own account now reads the grid (GRID_VIEW_OWN through the liaison role)
    assert client_for(account).get(f"/api/grids/{street.pk}/").status_code == 200
    bad = client_for(world["bm_a"]).post(url, {**data, "allowed_actions": ["lend"]}, format="json")
    assert bad.status_code == 400 and GridLiaison.objects.count() == 1
    no_role = client_for(world["bm_a"]).post(url, {**data, "user": world["am2"].pk}, format="json")
    assert no_role.status_code == 400 and no_role.json()["error"]["code"] == "liaison_user_role"


def test_liaison_update_scope_matrix(world):
    from grids.services.assignment import liaison_create

    liaison = liaison_create(actor=None, grid=world["street_a1"], name="李网格员", liaison_type="grid_officer", phone="13900001111",
                             allowed_actions=["record"])
    assert_scope_matrix(url=f"/api/grids/liaisons/{liaison.pk}/", method="patch", data={"allowed_actions": ["record", "activity"]},
                        allowed=world["bm_a"], no_permission=world["am"], out_of_scope=world["bm_b"])
    liaison.refresh_from_db()
    assert liaison.allowed_actions == ["activity", "record"]
    off = client_for(world["bm_a"]).patch(f"/api/grids/liaisons/{liaison.pk}/", {"is_active": False, "phone": "13900002222"}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False and off.json()["phone"] == "139****2222"
    audit = AuditEntry.objects.filter(action="grids.liaison.updated").order_by("-id").first()
    assert "13900002222" not in str(audit.data)
