# covers: ORG-2 (data scope fails closed)
"""The data-scope layer itself: subtree visibility, fail-closed cases, 404 outside scope."""
import pytest
from django.contrib.auth.models import AnonymousUser

from gis_core.choices import RoleCode
from gis_core.errors import NotFound
from gis_core.models import AuditEntry, Institution, User
from gis_core.permissions import Perm, declared_permission_codes, permissions_for_roles
from gis_core.scope import data_scope_for, in_scope, institution_path_lookup

pytestmark = pytest.mark.django_db


def test_subtree_visibility(bank, make_user):
    leader_a = make_user(bank["a"], RoleCode.LEADER)
    head_leader = make_user(bank["head"], RoleCode.LEADER)
    assert set(Institution.objects.for_actor(leader_a).values_list("code", flat=True)) == {"BA", "BA1"}
    assert Institution.objects.for_actor(head_leader).count() == 5
    assert in_scope(leader_a, bank["a1"].path) and not in_scope(leader_a, bank["b1"].path)


def test_fails_closed(bank, make_user):
    assert Institution.objects.for_actor(AnonymousUser()).count() == 0
    assert Institution.objects.for_actor(None).count() == 0
    inactive = make_user(bank["a"], RoleCode.LEADER, is_active=False)
    assert Institution.objects.for_actor(inactive).count() == 0
    orphan = make_user(None, RoleCode.LEADER)
    assert data_scope_for(orphan).is_empty and User.objects.for_actor(orphan).count() == 0
    bank["a"].is_active = False
    bank["a"].save()
    member = make_user(bank["a"], RoleCode.LEADER)
    assert Institution.objects.for_actor(member).count() == 0
    no_role = make_user(bank["b"])
    assert Institution.objects.for_actor(no_role, perm=Perm.INSTITUTION_VIEW).count() == 0


def test_prefix_paths_do_not_leak_between_siblings(bank, make_user):
    """Path "/1/2/" must not match "/1/23/": paths end with a slash."""
    from gis_core.choices import InstitutionKind
    from gis_core.tests.factories import InstitutionFactory

    siblings = [InstitutionFactory(kind=InstitutionKind.BRANCH, parent=bank["head"]) for _ in range(12)]
    first = siblings[0]
    user = make_user(first, RoleCode.LEADER)
    visible = set(Institution.objects.for_actor(user).values_list("pk", flat=True))
    assert visible == {first.pk}
    assert all(i.path.endswith("/") for i in siblings)


def test_get_in_scope_is_404_outside(bank, make_user):
    leader_a = make_user(bank["a"], RoleCode.LEADER)
    with pytest.raises(NotFound):
        Institution.objects.get_in_scope(leader_a, pk=bank["b"].pk)
    with pytest.raises(NotFound):
        Institution.objects.get_in_scope(leader_a, pk=10**9)
    with pytest.raises(NotFound):
        Institution.objects.get_in_scope(leader_a, pk="not-a-number")
    assert Institution.objects.get_in_scope(leader_a, pk=bank["a1"].pk) == bank["a1"]


def test_scope_lookups_are_declared():
    assert institution_path_lookup(Institution) == "path"
    assert institution_path_lookup(AuditEntry) == "institution__path"
    with pytest.raises(TypeError):
        from gis_core.models import Role

        institution_path_lookup(Role)


def test_role_grants_reference_declared_permissions_only():
    declared = declared_permission_codes()
    for role in RoleCode.values:
        assert permissions_for_roles([role]) <= declared, role
    admin, auditor = permissions_for_roles([RoleCode.SYSTEM_ADMIN]), permissions_for_roles([RoleCode.AUDITOR])
    assert Perm.AUDIT_VIEW not in admin and Perm.USER_MANAGE not in auditor
