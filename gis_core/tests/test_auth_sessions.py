# covers: SEC-3 (new id at login, idle and absolute limits, one session per user), SEC-4 (re-authentication)
"""Browser sessions through real HTTP flows (Django's test Client / DRF's APIClient, no forced auth)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import Client
from rest_framework.test import APIClient

from gis_core.choices import RoleCode
from gis_core.models import AuditEntry
from gis_core.tests.auth_support import api_session, bearer, clock, issue_token, later, page_session
from gis_core.tests.factories import DEFAULT_PASSWORD

WRONG = "Wrong#Pass999"


@pytest.fixture
def user(bank, make_user):
    return make_user(bank["a"], RoleCode.LEADER, username="wangwu")


def _error_code(response):
    return response.json()["error"]["code"]


# --- new id at login -----------------------------------------------------------------------------


def test_page_login_rotates_the_session_key(user):
    client = Client()
    before = client.session.session_key  # an anonymous session exists before the login
    assert before
    client.post("/login/", {"username": "wangwu", "password": DEFAULT_PASSWORD})
    after = client.cookies["sessionid"].value
    assert after != before
    assert not SessionStore().exists(before)
    user.refresh_from_db()
    assert user.current_session_key == after


def test_api_login_rotates_the_session_key(user):
    client = APIClient()
    before = client.session.session_key
    client.post("/api/auth/login/", {"username": "wangwu", "password": DEFAULT_PASSWORD}, format="json")
    assert client.cookies["sessionid"].value != before


# --- idle and absolute limits ------------------------------------------------------------------------


def test_idle_21_minutes_ends_the_session_for_the_api(user, settings):
    client = api_session(user)
    assert settings.SECURITY_POLICY["SESSION_IDLE_MINUTES"] == 20
    with clock(later(minutes=19)):
        assert client.get("/api/auth/me/").status_code == 200
    with clock(later(minutes=19 + 21)):
        response = client.get("/api/auth/me/")
        assert response.status_code == 401 and _error_code(response) == "session_expired"
        assert client.get("/api/auth/me/").status_code == 401  # the session is gone, not just refused once
    entry = AuditEntry.objects.get(action="gis_core.auth.session_ended")
    assert entry.data == {"reason": "idle"} and entry.actor == user


def test_idle_limit_redirects_pages_to_login_with_next(user):
    client = page_session(user)
    with clock(later(minutes=21)):
        response = client.get("/?tab=map")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2F%3Ftab%3Dmap"
    login_page = client.get(response["Location"])
    assert "长时间未操作，请重新登录" in login_page.content.decode()


def test_requests_keep_the_session_alive(user):
    client = api_session(user)
    for minutes in (15, 30, 45, 60):
        with clock(later(minutes=minutes)):
            assert client.get("/api/auth/me/").status_code == 200


def test_absolute_limit(user, settings):
    hours = settings.SECURITY_POLICY["SESSION_ABSOLUTE_HOURS"]
    client = api_session(user)
    minutes = 0
    while minutes + 19 < hours * 60:
        minutes += 19
        with clock(later(minutes=minutes)):
            assert client.get("/api/auth/me/").status_code == 200, minutes
    with clock(later(hours=hours, minutes=1)):
        response = client.get("/api/auth/me/")
    assert response.status_code == 401 and _error_code(response) == "session_expired"
    assert AuditEntry.objects.get(action="gis_core.auth.session_ended").data == {"reason": "absolute"}


# --- one session per user --------------------------------------------------------------------------


def test_second_login_ends_the_first_session(user):
    first = api_session(user)
    first_page = page_session(user)  # second sign-in (a page) replaces the API session
    response = first.get("/api/auth/me/")
    assert response.status_code == 401 and _error_code(response) == "session_replaced"
    assert first_page.get("/reauth/").status_code == 200
    third = api_session(user)  # and a third replaces the page session
    replaced = first_page.get("/reauth/")
    assert replaced.status_code == 302 and replaced["Location"].startswith("/login/")
    assert "您的账号已在其他地方登录" in first_page.get(replaced["Location"]).content.decode()
    assert third.get("/api/auth/me/").status_code == 200
    reasons = list(AuditEntry.objects.filter(action="gis_core.auth.session_ended").values_list("data__reason", flat=True))
    assert reasons == ["replaced", "replaced"]


def test_tokens_do_not_end_the_browser_session(user):
    client = api_session(user)
    issue_token(user)
    assert client.get("/api/auth/me/").status_code == 200


def test_an_expired_session_can_sign_in_again(user):
    client = api_session(user)
    with clock(later(minutes=30)):
        response = client.post("/api/auth/login/", {"username": "wangwu", "password": DEFAULT_PASSWORD}, format="json")
        assert response.status_code == 200
        assert client.get("/api/auth/me/").status_code == 200


def test_session_made_by_force_login_is_adopted(user):
    client = Client()
    client.force_login(user)
    assert client.get("/reauth/").status_code == 200
    user.refresh_from_db()
    assert user.current_session_key == client.cookies["sessionid"].value


def test_admin_login_goes_through_the_platform_login(db):
    response = Client().get("/admin/login/?next=/admin/gis_core/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Fadmin%2Fgis_core%2F"


def test_anonymous_pages_redirect_to_login(db):
    response = Client().get("/reauth/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_session_writes_need_the_csrf_token(user):
    client = APIClient(enforce_csrf_checks=True)
    login = client.post("/api/auth/login/", {"username": "wangwu", "password": DEFAULT_PASSWORD}, format="json")
    assert login.status_code == 200  # the login itself is exempt: there is no session yet
    assert client.post("/api/auth/logout/").status_code == 403
    token = client.cookies["csrftoken"].value
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204


def test_a_locked_account_ends_its_session(user):
    client = api_session(user)
    for _ in range(5):
        APIClient().post("/api/auth/login/", {"username": "wangwu", "password": WRONG}, format="json")
    response = client.get("/api/auth/me/")
    assert response.status_code == 401 and _error_code(response) == "session_expired"


# --- re-authentication before critical operations (SEC-4) ---------------------------------------------

pytestmark_urls = pytest.mark.urls("gis_core.tests.auth_urls")


@pytestmark_urls
def test_reauth_required_then_satisfied_api(user, settings):
    minutes = settings.SECURITY_POLICY["REAUTH_MINUTES"]
    client = api_session(user)
    assert client.post("/api/test-critical/").status_code == 200  # the login itself counts
    assert client.post("/api/test-critical-check/").status_code == 200
    with clock(later(minutes=minutes + 1)) as moment:
        refused = client.post("/api/test-critical/")
        assert refused.status_code == 403 and _error_code(refused) == "reauth_required"
        refused = client.post("/api/test-critical-check/")
        assert refused.status_code == 403 and _error_code(refused) == "reauth_required"
        wrong = client.post("/api/auth/reauth/", {"password": WRONG}, format="json")
        assert wrong.status_code == 403 and _error_code(wrong) == "reauth_failed"
        assert client.post("/api/test-critical/").status_code == 403
        ok = client.post("/api/auth/reauth/", {"password": DEFAULT_PASSWORD}, format="json")
        assert ok.status_code == 200
        assert dt.datetime.fromisoformat(ok.json()["valid_until"]) == moment + dt.timedelta(minutes=minutes)
        assert client.post("/api/test-critical/").status_code == 200
        assert client.post("/api/test-critical-check/").status_code == 200
    assert AuditEntry.objects.filter(action="gis_core.auth.reauth_failed", result="failure").count() == 1
    assert AuditEntry.objects.filter(action="gis_core.auth.reauth").count() == 1
    user.refresh_from_db()
    assert user.failed_login_count == 0  # the successful re-authentication reset it


@pytestmark_urls
def test_reauth_required_then_satisfied_page(user, settings):
    minutes = settings.SECURITY_POLICY["REAUTH_MINUTES"]
    client = page_session(user)
    assert client.get("/test-critical/").status_code == 200
    with clock(later(minutes=minutes + 1)):
        response = client.get("/test-critical/")
        assert response.status_code == 302 and response["Location"] == "/reauth/?next=%2Ftest-critical%2F"
        page = client.get(response["Location"])
        assert page.status_code == 200 and 'name="password"' in page.content.decode()
        wrong = client.post("/reauth/", {"password": WRONG, "next": "/test-critical/"})
        assert wrong.status_code == 200 and "密码错误" in wrong.content.decode()
        done = client.post("/reauth/", {"password": DEFAULT_PASSWORD, "next": "/test-critical/"})
        assert done.status_code == 302 and done["Location"] == "/test-critical/"
        assert client.get("/test-critical/").status_code == 200


@pytestmark_urls
def test_reauth_failures_count_towards_the_lockout(user):
    client = api_session(user)
    for _ in range(5):
        client.post("/api/auth/reauth/", {"password": WRONG}, format="json")
    user.refresh_from_db()
    assert user.locked_until is not None
    assert client.get("/api/auth/me/").status_code == 401


@pytestmark_urls
def test_force_login_sessions_still_need_a_password_for_critical_operations(user):
    client = Client()
    client.force_login(user)
    assert client.get("/test-critical/").status_code == 302


@pytestmark_urls
def test_token_issue_time_counts_as_authentication(user, settings):
    minutes = settings.SECURITY_POLICY["REAUTH_MINUTES"]
    client = bearer(issue_token(user))
    assert client.post("/api/test-critical/").status_code == 200
    with clock(later(minutes=minutes + 1)):
        refused = client.post("/api/test-critical/")
        assert refused.status_code == 403 and _error_code(refused) == "reauth_required"
        assert client.post("/api/auth/reauth/", {"password": DEFAULT_PASSWORD}, format="json").status_code == 200
        assert client.post("/api/test-critical/").status_code == 200
