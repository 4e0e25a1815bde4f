# covers: GR-8, ORG-2 (account managers read exactly their own grids)
"""An account manager sees the grids assigned to them, including one owned by their parent branch,
and nothing else of the branch."""
import pytest

from gis_core.choices import RoleCode
from gis_core.testing import client_for
from grids.models import Grid
from grids.tests.factories import GridFactory, assign_responsible

pytestmark = pytest.mark.django_db


def test_account_manager_sees_assigned_grid_of_parent_branch_only(bank, make_user):
    manager = make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER)
    assigned = GridFactory(institution=bank["a"])
    unassigned = GridFactory(institution=bank["a"])
    assign_responsible(assigned, manager)
    visible = set(Grid.objects.for_actor(manager).values_list("pk", flat=True))
    assert visible == {assigned.pk}
    assert client_for(manager).get(f"/api/grids/{assigned.pk}/").status_code == 200
    assert client_for(manager).get(f"/api/grids/{unassigned.pk}/").status_code == 404
