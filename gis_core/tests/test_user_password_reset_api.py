# covers: SEC-1 (administrator reset, forced change), SEC-4 (re-authentication), ORG-2, ORG-6
"""POST /api/users/<id>/password-reset/: USER_MANAGE, a recent re-authentication, the actor's scope;
the user must change the temporary password at the next sign-in, and the reset is audited."""
import pytest
from rest_framework.test import APIClient

from gis_core.choices import RoleCode
from gis_core.models import AuditEntry
from gis_core.testing import client_for
from gis_core.tests.auth_support import api_session

pytestmark = pytest.mark.django_db

TEMPORARY = "Tmp#Reset2026x"


@pytest.fixture
def people(bank, make_user):
    return {
        "admin_head": make_user(bank["head"], RoleCode.SYSTEM_ADMIN),
        "admin_a": make_user(bank["a"], RoleCode.SYSTEM_ADMIN),
        "leader_a": make_user(bank["a"], RoleCode.LEADER),
        "manager_a1": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, username="zhaoliu"),
        "manager_b1": make_user(bank["b1"], RoleCode.ACCOUNT_MANAGER),
    }


def _url(user) -> str:
    return f"/api/users/{user.pk}/password-reset/"


def test_reset_sets_a_temporary_password_to_change_and_is_audited(people):
    target = people["manager_a1"]
    target.failed_login_count = 5
    target.save(update_fields=["failed_login_count"])

    response = api_session(people["admin_a"]).post(_url(target), {"new_password": TEMPORARY}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["username"] == "zhaoliu"
    target.refresh_from_db()
    assert target.check_password(TEMPORARY)
    assert target.must_change_password is True
    assert target.failed_login_count == 0
    entry = AuditEntry.objects.get(action="gis_core.auth.password_reset")
    assert (entry.actor_username, entry.object_id) == (people["admin_a"].username, str(target.pk))
    assert TEMPORARY not in str(entry.data)
    # the user signs in with it and may do nothing before changing it
    client = APIClient()
    login = client.post("/api/auth/login/", {"username": "zhaoliu", "password": TEMPORARY}, format="json")
    assert login.status_code == 200 and login.json()["must_change_password"] is True
    assert client.get("/api/institutions/").json()["error"]["code"] == "password_change_required"


def test_reset_needs_a_recent_password(people):
    response = client_for(people["admin_head"]).post(_url(people["manager_a1"]), {"new_password": TEMPORARY}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauth_required"
    people["manager_a1"].refresh_from_db()
    assert not people["manager_a1"].check_password(TEMPORARY)


def test_reset_refused_without_permission_outside_scope_and_anonymous(people):
    body = {"new_password": TEMPORARY}
    assert APIClient().post(_url(people["manager_a1"]), body, format="json").status_code == 401
    denied = api_session(people["leader_a"]).post(_url(people["manager_a1"]), body, format="json")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    outside = api_session(people["admin_a"]).post(_url(people["manager_b1"]), body, format="json")
    assert outside.status_code == 404
    assert not AuditEntry.objects.filter(action="gis_core.auth.password_reset").exists()


def test_reset_checks_the_password_rules_and_refuses_ones_own(people):
    admin = api_session(people["admin_head"])
    weak = admin.post(_url(people["manager_a1"]), {"new_password": "12345678"}, format="json")
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "password_invalid"
    own = admin.post(_url(people["admin_head"]), {"new_password": TEMPORARY}, format="json")
    assert own.status_code == 400 and own.json()["error"]["code"] == "password_reset_self"
