# covers: SEC-2 (lockout for token logins), SEC-3 (tokens beside sessions), SEC-7 (input limits), SEC-8 (audit)
"""Expiring bearer tokens for the mobile app."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from gis_core.choices import RoleCode
from gis_core.models import ApiToken, AuditEntry
from gis_core.services.auth import token_issue
from gis_core.tasks import purge_expired_tokens
from gis_core.tests.auth_support import bearer, clock, issue_token, later
from gis_core.tests.factories import DEFAULT_PASSWORD

VAGUE = "用户名或密码错误，或账户已被锁定"


@pytest.fixture
def user(bank, make_user):
    return make_user(bank["b1"], RoleCode.ACCOUNT_MANAGER, username="zhaoliu")


def _code(response):
    return response.json()["error"]["code"]


def test_issue_stores_only_the_hash(user, settings):
    moment = later()
    with clock(moment):
        response = APIClient().post(
            "/api/auth/token/", {"username": "zhaoliu", "password": DEFAULT_PASSWORD, "device_name": "华为 Mate"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    key = body["token"]
    assert len(key) >= 43 and body["token_type"] == "Bearer"
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest() != key
    assert token.prefix == key[:8] == body["prefix"]
    assert token.device_name == "华为 Mate"
    assert token.expires_at == moment + dt.timedelta(hours=settings.SECURITY_POLICY["API_TOKEN_HOURS"])
    assert dt.datetime.fromisoformat(body["expires_at"]) == token.expires_at
    assert key not in str(list(ApiToken.objects.values()))
    assert key not in str(list(AuditEntry.objects.values()))
    assert AuditEntry.objects.filter(action="gis_core.auth.login", data__method="token").count() == 1
    assert AuditEntry.objects.filter(action="gis_core.auth.token_issued").count() == 1


def test_bearer_token_authenticates(user):
    response = bearer(issue_token(user)).get("/api/auth/me/")
    assert response.status_code == 200 and response.json()["username"] == "zhaoliu"


def test_token_failures_are_vague_and_lock(user):
    client = APIClient()
    for _ in range(5):
        response = client.post("/api/auth/token/", {"username": "zhaoliu", "password": "Wrong#Pass1"}, format="json")
        assert response.status_code == 401 and response.json()["error"]["message"] == VAGUE
    response = client.post("/api/auth/token/", {"username": "zhaoliu", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 401 and response.json() == {"error": {"code": "login_failed", "message": VAGUE}}
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action="gis_core.auth.login_failed", data__method="token").count() == 6


def test_expired_token_is_refused(user, settings):
    key = issue_token(user)
    hours = settings.SECURITY_POLICY["API_TOKEN_HOURS"]
    with clock(later(hours=hours, minutes=-1)):
        assert bearer(key).get("/api/auth/me/").status_code == 200
    with clock(later(hours=hours, seconds=1)):
        response = bearer(key).get("/api/auth/me/")
    assert response.status_code == 401 and _code(response) == "token_expired"


def test_revoked_token_is_refused_and_revocation_audited(user):
    key = issue_token(user)
    client = bearer(key)
    assert client.post("/api/auth/token/revoke/").status_code == 204
    response = client.get("/api/auth/me/")
    assert response.status_code == 401 and _code(response) == "token_invalid"
    entry = AuditEntry.objects.get(action="gis_core.auth.token_revoked")
    assert entry.actor == user and entry.data["prefix"] == key[:8]


def test_logout_with_a_token_revokes_it(user):
    key = issue_token(user)
    assert bearer(key).post("/api/auth/logout/").status_code == 204
    assert ApiToken.objects.get().revoked_at is not None
    assert bearer(key).get("/api/auth/me/").status_code == 401


def test_revoke_needs_a_token(user):
    client = APIClient()
    client.post("/api/auth/login/", {"username": "zhaoliu", "password": DEFAULT_PASSWORD}, format="json")
    response = client.post("/api/auth/token/revoke/")
    assert response.status_code == 400 and _code(response) == "token_required"


@pytest.mark.parametrize("header", ["Bearer nonsense-token", "Bearer", "Bearer a b", "Bearer 令牌"])
def test_unknown_or_malformed_tokens_are_refused(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/auth/me/")
    assert response.status_code == 401 and _code(response) == "token_invalid"


@pytest.mark.parametrize("change", [{"is_active": False}, {"locked_until": "future"}])
def test_inactive_or_locked_owner_is_refused(user, change):
    key = issue_token(user)
    if change.get("locked_until"):
        change = {"locked_until": later(minutes=10)}
    for field, value in change.items():
        setattr(user, field, value)
    user.save()
    response = bearer(key).get("/api/auth/me/")
    assert response.status_code == 401 and _code(response) == "token_invalid"


def test_last_used_is_updated_at_most_once_a_minute(user):
    token, key = token_issue(user=user, device_name="phone")
    client = bearer(key)
    start = later()
    with clock(start):
        client.get("/api/auth/me/")
    token.refresh_from_db()
    assert token.last_used_at == start
    with clock(start + dt.timedelta(seconds=30)):
        client.get("/api/auth/me/")
    token.refresh_from_db()
    assert token.last_used_at == start
    with clock(start + dt.timedelta(seconds=61)):
        client.get("/api/auth/me/")
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(seconds=61)


def test_tokens_are_per_device(user):
    first, second = issue_token(user, device_name="手机"), issue_token(user, device_name="平板")
    assert bearer(first).get("/api/auth/me/").status_code == 200
    assert bearer(second).get("/api/auth/me/").status_code == 200


def test_token_input_limits(user):
    response = APIClient().post(
        "/api/auth/token/", {"username": "zhaoliu", "password": DEFAULT_PASSWORD, "device_name": "x" * 101}, format="json"
    )
    assert response.status_code == 400 and "device_name" in response.json()["error"]["details"]


def test_purge_deletes_tokens_expired_more_than_seven_days_ago(user):
    now = timezone.now()
    old, _k1 = token_issue(user=user)
    recent, _k2 = token_issue(user=user)
    valid, _k3 = token_issue(user=user)
    ApiToken.objects.filter(pk=old.pk).update(expires_at=now - dt.timedelta(days=8))
    ApiToken.objects.filter(pk=recent.pk).update(expires_at=now - dt.timedelta(days=6))
    assert purge_expired_tokens.delay().get() == 1
    assert set(ApiToken.objects.values_list("pk", flat=True)) == {recent.pk, valid.pk}
    assert purge_expired_tokens() == 0  # safe to run twice
    assert AuditEntry.objects.filter(action="gis_core.auth.tokens_purged").count() == 1


def test_purge_task_is_scheduled_by_its_name(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["gis_core.purge_expired_tokens"]
    assert schedule["task"] == purge_expired_tokens.name == "gis_core.purge_expired_tokens"
