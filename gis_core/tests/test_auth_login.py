# covers: SEC-2 (lockout, vague message, previous login), SEC-7 (input limits), SEC-8 and ORG-6 (login log)
"""Login: the service, the login API and the login page."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from gis_core.choices import RoleCode
from gis_core.errors import AuthenticationFailed
from gis_core.models import AuditEntry
from gis_core.services.auth import login_attempt
from gis_core.tests.auth_support import api_session, clock, later
from gis_core.tests.factories import DEFAULT_PASSWORD

VAGUE = "用户名或密码错误，或账户已被锁定"
WRONG = "Wrong#Pass999"


def _fail(username, password=WRONG):
    with pytest.raises(AuthenticationFailed) as caught:
        login_attempt(username=username, password=password, ip="10.0.0.9")
    return caught.value


@pytest.fixture
def user(bank, make_user):
    return make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, username="lisi", phone="13812341234")


def test_success_returns_the_user_and_is_audited(user):
    assert login_attempt(username="lisi", password=DEFAULT_PASSWORD, ip="10.0.0.1") == user
    entry = AuditEntry.objects.get(action="gis_core.auth.login")
    assert entry.actor == user and entry.result == "success" and entry.institution_id == user.institution_id


def test_every_failure_has_the_same_vague_message(user, make_user, bank):
    make_user(bank["a"], username="inactive", is_active=False)
    make_user(bank["a"], username="locked", locked_until=later(minutes=10))
    failures = [
        _fail("nobody"),
        _fail("lisi"),
        _fail("inactive", DEFAULT_PASSWORD),
        _fail("locked", DEFAULT_PASSWORD),
    ]
    assert {str(f.message) for f in failures} == {VAGUE}
    assert {f.code for f in failures} == {"login_failed"}
    reasons = sorted(e.data["reason"] for e in AuditEntry.objects.filter(action="gis_core.auth.login_failed"))
    assert reasons == ["inactive", "locked", "unknown_user", "wrong_password"]


def test_failed_login_entry_persists_although_the_login_fails(user):
    _fail("lisi")
    entry = AuditEntry.objects.get(action="gis_core.auth.login_failed")
    assert entry.result == "failure" and entry.actor is None and entry.actor_username == "lisi"
    assert entry.institution_id == user.institution_id
    user.refresh_from_db()
    assert user.failed_login_count == 1


def test_five_failures_lock_then_unlock_after_the_lock_time(user, settings):
    for _ in range(4):
        _fail("lisi")
    user.refresh_from_db()
    assert user.failed_login_count == 4 and user.locked_until is None
    _fail("lisi")
    user.refresh_from_db()
    minutes = settings.SECURITY_POLICY["LOCKOUT_MINUTES"]
    assert user.locked_until is not None
    assert dt.timedelta(minutes=minutes - 1) < user.locked_until - later() <= dt.timedelta(minutes=minutes)
    locked = _fail("lisi", DEFAULT_PASSWORD)  # the right password during the lock
    assert str(locked.message) == VAGUE
    assert AuditEntry.objects.filter(action="gis_core.auth.login_failed", data__reason="locked").count() == 1
    with clock(later(minutes=minutes - 1)):
        _fail("lisi", DEFAULT_PASSWORD)
    with clock(later(minutes=minutes + 1)):
        _fail("lisi")  # after the lock the count starts afresh: one failure does not lock again
        user.refresh_from_db()
        assert user.failed_login_count == 1
        assert login_attempt(username="lisi", password=DEFAULT_PASSWORD, ip="10.0.0.1") == user
    user.refresh_from_db()
    assert user.locked_until is None and user.failed_login_count == 0


def test_success_resets_the_failure_count(user):
    for _ in range(4):
        _fail("lisi")
    login_attempt(username="lisi", password=DEFAULT_PASSWORD, ip="10.0.0.1")
    for _ in range(4):
        _fail("lisi")
    user.refresh_from_db()
    assert user.failed_login_count == 4 and user.locked_until is None


def test_lockout_threshold_comes_from_settings(user, settings):
    settings.SECURITY_POLICY = {**settings.SECURITY_POLICY, "LOCKOUT_THRESHOLD": 2}
    _fail("lisi")
    _fail("lisi")
    user.refresh_from_db()
    assert user.locked_until is not None


def test_previous_login_is_reported_at_the_next_login(user):
    first = later(days=-1)
    with clock(first):
        login_attempt(username="lisi", password=DEFAULT_PASSWORD, ip="10.0.0.1")
    client = APIClient(REMOTE_ADDR="10.0.0.2")
    response = client.post("/api/auth/login/", {"username": "lisi", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json()["previous_login"]["ip"] == "10.0.0.1"
    user.refresh_from_db()
    assert user.previous_login_at == first and user.previous_login_ip == "10.0.0.1"
    assert user.last_login_ip == "10.0.0.2"
    assert client.get("/api/auth/me/").json()["previous_login"]["ip"] == "10.0.0.1"


# --- API ------------------------------------------------------------------------------------------


def test_login_api_returns_me_with_masked_phone(user):
    client = APIClient()
    response = client.post("/api/auth/login/", {"username": "lisi", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "lisi"
    assert body["institution"] == {"id": user.institution.pk, "code": "BA1", "name": "五里牌分理处"}
    assert body["roles"] == ["account_manager"]
    assert "gis_core.map.view" in body["permissions"]
    assert body["phone"] == "138****1234"
    assert body["previous_login"] is None
    assert body["must_change_password"] is False
    assert body["password_expires_at"] is not None


def test_login_api_failures_are_identical(user, make_user, bank):
    make_user(bank["a"], username="gone", is_active=False)
    client = APIClient()
    bodies = []
    for username, password in [("nobody", WRONG), ("lisi", WRONG), ("gone", DEFAULT_PASSWORD)]:
        response = client.post("/api/auth/login/", {"username": username, "password": password}, format="json")
        assert response.status_code == 401
        bodies.append(response.json())
    assert bodies[0] == bodies[1] == bodies[2] == {"error": {"code": "login_failed", "message": VAGUE}}


def test_login_api_locks_after_five_failures(user):
    client = APIClient()
    for _ in range(5):
        client.post("/api/auth/login/", {"username": "lisi", "password": WRONG}, format="json")
    response = client.post("/api/auth/login/", {"username": "lisi", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 401 and response.json()["error"]["message"] == VAGUE
    assert client.get("/api/auth/me/").status_code == 401


@pytest.mark.parametrize(
    ("field", "value"), [("username", "u" * 151), ("password", "P@ss1" + "x" * 124), ("username", ""), ("password", "")]
)
def test_login_api_input_limits(db, field, value):
    data = {"username": "lisi", "password": DEFAULT_PASSWORD, field: value}
    response = APIClient().post("/api/auth/login/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not AuditEntry.objects.exists()


def test_me_requires_a_login(db):
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 401


def test_logout_api_ends_the_session_and_is_audited(user):
    client = api_session(user)
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401
    entry = AuditEntry.objects.get(action="gis_core.auth.logout")
    assert entry.actor == user
    user.refresh_from_db()
    assert user.current_session_key == ""


def test_no_password_reaches_the_audit_log(user):
    client = APIClient()
    client.post("/api/auth/login/", {"username": "lisi", "password": WRONG}, format="json")
    client.post("/api/auth/login/", {"username": "lisi", "password": DEFAULT_PASSWORD}, format="json")
    client.post("/api/auth/reauth/", {"password": WRONG}, format="json")
    client.post("/api/auth/password/", {"old_password": DEFAULT_PASSWORD, "new_password": "Fresh#Pass2026"}, format="json")
    client.post("/api/auth/logout/")
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "gis_core.auth.login_failed",
        "gis_core.auth.login",
        "gis_core.auth.reauth_failed",
        "gis_core.auth.password_changed",
        "gis_core.auth.logout",
    } <= actions
    dumped = json.dumps(list(AuditEntry.objects.values("data", "object_repr", "actor_username")), ensure_ascii=False)
    for secret in (WRONG, DEFAULT_PASSWORD, "Fresh#Pass2026"):
        assert secret not in dumped


# --- pages ----------------------------------------------------------------------------------------


def test_login_page_renders_the_form_and_the_language_switch(db):
    response = Client().get("/login/?next=/grids/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in body and 'name="password"' in body and 'value="/grids/"' in body
    assert 'action="/i18n/setlang/"' in body and 'value="en"' in body


def test_login_page_success_redirects_to_next_and_reports_the_previous_login(user):
    with clock(later(days=-2)):
        login_attempt(username="lisi", password=DEFAULT_PASSWORD, ip="10.1.2.3")
    client = Client()
    response = client.post("/login/", {"username": "lisi", "password": DEFAULT_PASSWORD, "next": "/api/docs/"})
    assert response.status_code == 302 and response["Location"] == "/api/docs/"
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and "上次登录时间" in shown[0] and "10.1.2.3" in shown[0]


def test_login_page_first_login_message_and_default_redirect(user):
    response = Client().post("/login/", {"username": "lisi", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "首次登录" in str(list(get_messages(response.wsgi_request))[0])


def test_login_page_refuses_foreign_next(user):
    response = Client().post("/login/", {"username": "lisi", "password": DEFAULT_PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_login_page_failure_shows_the_vague_message(user):
    response = Client().post("/login/", {"username": "lisi", "password": WRONG})
    assert response.status_code == 200
    assert VAGUE in response.content.decode()
    assert AuditEntry.objects.filter(action="gis_core.auth.login_failed").count() == 1


def test_login_page_needs_csrf(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "lisi", "password": DEFAULT_PASSWORD})
    assert response.status_code == 403


def test_logout_page_is_post_only_and_audited(user):
    client = Client()
    client.post("/login/", {"username": "lisi", "password": DEFAULT_PASSWORD})
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert AuditEntry.objects.filter(action="gis_core.auth.logout", actor=user).count() == 1
    assert client.get("/reauth/").status_code == 302


def test_openapi_schema_describes_the_auth_endpoints(db):
    from drf_spectacular.generators import SchemaGenerator
    from openapi_spec_validator import validate

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate(json.loads(json.dumps(schema, default=str)))
    for path in ("/api/auth/login/", "/api/auth/me/", "/api/auth/token/", "/api/auth/token/revoke/", "/api/auth/reauth/"):
        assert path in schema["paths"]
    login_body = schema["components"]["schemas"]["AuthLoginInputRequest"]["properties"]
    assert login_body["username"]["maxLength"] == 150 and login_body["password"]["maxLength"] == 128
