# covers: GR-5, GR-6
"""grid_transfer and its participant registry: what moves, and that a failure in any participant
rolls back the whole transfer — customers keep their manager, the assignment stays, no record."""
from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from crm.models import Customer
from gis_core.errors import ValidationFailed
from gis_core.models import AuditEntry
from grids.membership import points_place_all
from grids.models import GridAssignment, GridHistory, GridTransfer
from grids.services.assignment import grid_transfer
from grids.tests.factories import grid_world
from grids.transfer import register_transfer_participant, transfer_participants, unregister_transfer_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, make_user):
    world = grid_world(bank, make_user)
    world["customers"] = [
        Customer.objects.create(kind="individual", status="formal", name=f"客户{i}", institution=bank["a1"],
                                manager=world["am"], location=Point(112.915 + i * 0.002, 28.12, srid=4326))
        for i in range(4)
    ]
    # a customer of the same manager in another grid does not move with street_a1
    world["elsewhere"] = Customer.objects.create(kind="individual", status="formal", name="外网格客户", institution=bank["a1"],
                                                 manager=world["am"], location=Point(112.97, 28.12, srid=4326))
    points_place_all()
    return world


def _state():
    return (
        list(Customer.objects.order_by("id").values_list("id", "manager_id")),
        list(GridAssignment.objects.order_by("id").values_list("id", "person_id", "ends_on")),
        GridTransfer.objects.count(), GridHistory.objects.count(), AuditEntry.objects.count(),
    )


def test_transfer_moves_the_grids_customers_and_the_responsibility(world):
    street = world["street_a1"]
    transfer = grid_transfer(actor=world["bm_a"], grid=street, to_user=world["am2"], reason="调岗")
    assert transfer.moved == {"crm.customers": 4}
    assert transfer.from_user == world["am"] and transfer.to_user == world["am2"]
    assert set(Customer.objects.filter(pk__in=[c.pk for c in world["customers"]]).values_list("manager_id", flat=True)) == {world["am2"].pk}
    world["elsewhere"].refresh_from_db()
    assert world["elsewhere"].manager == world["am"]
    open_rows = GridAssignment.objects.filter(grid=street, post="responsible", ends_on__isnull=True)
    assert [a.person for a in open_rows] == [world["am2"]]
    assert GridHistory.objects.filter(grid=street, action="transferred").count() == 1


@pytest.mark.parametrize("failure", [ValidationFailed("任务模块拒绝移交", code="tasks_locked"), RuntimeError("boom")])
def test_a_failing_participant_rolls_the_whole_transfer_back(world, failure):
    calls = []

    def failing(*, grid, from_user, to_user, actor):
        calls.append(grid.pk)
        # crm's participant ran first (participants run in name order) and already moved customers
        assert Customer.objects.filter(manager=to_user).exists()
        raise failure

    register_transfer_participant("zz_test.failing", failing)
    try:
        assert list(transfer_participants()) == ["crm.customers", "zz_test.failing"]
        before = _state()
        with pytest.raises(type(failure)):
            grid_transfer(actor=world["bm_a"], grid=world["street_a1"], to_user=world["am2"], reason="调岗")
        assert calls == [world["street_a1"].pk]
        assert _state() == before
        assert set(Customer.objects.filter(pk__in=[c.pk for c in world["customers"]]).values_list("manager_id", flat=True)) == {world["am"].pk}
    finally:
        unregister_transfer_participant("zz_test.failing")
    assert "zz_test.failing" not in transfer_participants()


def test_transfer_to_a_user_outside_the_institution_changes_nothing(world, bank, make_user):
    stranger = make_user(bank["b"], "account_manager")
    before = _state()
    with pytest.raises(ValidationFailed) as info:
        grid_transfer(actor=None, grid=world["street_a1"], to_user=stranger)
    assert info.value.code == "assignee_outside_institution"
    assert "五里牌分理处" in str(info.value.message)  # the message names the grid's institution
    assert _state() == before
