# covers: SEC-1 (password rules, history, age, forced change, reset), SEC-7 (length limits), SEC-8 (audit)
"""Password rules: complexity, history, age, forced change and administrator reset."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from gis_core.choices import RoleCode
from gis_core.errors import PermissionDenied, ValidationFailed
from gis_core.models import ApiToken, AuditEntry, PasswordHistory
from gis_core.passwords import CharacterClassValidator, character_classes, password_change_required, password_expires_at
from gis_core.services.auth import password_change, password_reset, token_issue
from gis_core.services.organisation import user_create
from gis_core.tests.auth_support import api_session, bearer, clock, issue_token, later, page_session
from gis_core.tests.factories import DEFAULT_PASSWORD

CLASS_MESSAGE = "密码须包含大写字母、小写字母、数字、符号四类中的至少3类。"
HISTORY = [f"Hunan#{i}Road{i}x" for i in range(7)]


def test_production_hasher_is_pbkdf2_and_minimum_length_is_8():
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    minimum = next(v for v in base.AUTH_PASSWORD_VALIDATORS if v["NAME"].endswith("MinimumLengthValidator"))
    assert minimum["OPTIONS"]["min_length"] == 8


@pytest.mark.parametrize(
    ("password", "classes"),
    [("abcdefgh", 1), ("abcd1234", 2), ("ABCDabcd", 2), ("abcd123!", 3), ("Abcd1234", 3), ("Ab1!cdef", 4), ("网格abc123", 3)],
)
def test_character_classes(password, classes):
    assert character_classes(password) == classes


@pytest.mark.parametrize("weak", ["abcdefgh12", "ABCDEFGH12", "abcdefghXY", "12345678!!"])
def test_two_classes_are_refused_with_the_class_message(db, weak):
    with pytest.raises(ValidationError) as caught:
        validate_password(weak)
    assert CLASS_MESSAGE in caught.value.messages


def test_three_classes_pass_the_class_rule():
    CharacterClassValidator(min_classes=3).validate("Lakeside2026")  # upper, lower, digit


def test_short_password_refused(db):
    with pytest.raises(ValidationError) as caught:
        validate_password("Ab1!x")
    assert any("8" in m for m in caught.value.messages)


@pytest.fixture
def fresh_user(bank):
    """A user made by the organisation service (initial password remembered, must change it)."""
    return user_create(actor=None, username="zhangsan", institution=bank["a"], password=HISTORY[0], roles=[RoleCode.LEADER])


def _change(user, old, new):
    return password_change(user=user, old_password=old, new_password=new)


def test_last_five_passwords_refused_sixth_oldest_allowed(fresh_user):
    for old, new in zip(HISTORY[:5], HISTORY[1:6]):
        _change(fresh_user, old, new)
    # Current password is HISTORY[5]; the last five used are HISTORY[1..5].
    for reused in HISTORY[1:6]:
        with pytest.raises(ValidationFailed) as caught:
            _change(fresh_user, HISTORY[5], reused)
        assert caught.value.code == "password_invalid"
        fresh_user.refresh_from_db()
        assert fresh_user.check_password(HISTORY[5])
    _change(fresh_user, HISTORY[5], HISTORY[0])
    fresh_user.refresh_from_db()
    assert fresh_user.check_password(HISTORY[0])


def test_current_password_refused_even_without_history(bank, make_user):
    user = make_user(bank["a"])  # the factory writes no history row
    assert not PasswordHistory.objects.filter(user=user).exists()
    with pytest.raises(ValidationFailed) as caught:
        _change(user, DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert "新密码不能与当前密码相同。" in caught.value.details["new_password"]


def test_weak_new_password_refused_by_the_change_service(fresh_user):
    with pytest.raises(ValidationFailed) as caught:
        _change(fresh_user, HISTORY[0], "lakeside2026")
    assert CLASS_MESSAGE in caught.value.details["new_password"]


def test_password_change_effects_and_audit(fresh_user):
    assert fresh_user.must_change_password
    before = PasswordHistory.objects.filter(user=fresh_user).count()
    moment = later(days=3)
    with clock(moment):
        _change(fresh_user, HISTORY[0], HISTORY[1])
    fresh_user.refresh_from_db()
    assert not fresh_user.must_change_password
    assert fresh_user.password_changed_at == moment
    assert PasswordHistory.objects.filter(user=fresh_user).count() == before + 1
    entry = AuditEntry.objects.get(action="gis_core.auth.password_changed")
    assert entry.actor == fresh_user and entry.result == "success"
    dumped = json.dumps(list(AuditEntry.objects.values_list("data", flat=True)), ensure_ascii=False)
    assert HISTORY[0] not in dumped and HISTORY[1] not in dumped


def test_wrong_old_password_refused_audited_and_counted(fresh_user):
    with pytest.raises(ValidationFailed) as caught:
        _change(fresh_user, "Wrong#Pass123", HISTORY[1])
    assert caught.value.code == "old_password_wrong"
    fresh_user.refresh_from_db()
    assert fresh_user.failed_login_count == 1
    assert fresh_user.check_password(HISTORY[0])
    entry = AuditEntry.objects.get(action="gis_core.auth.password_change_failed")
    assert entry.result == "failure" and "Wrong#Pass123" not in json.dumps(entry.data)


def test_password_age(bank, make_user):
    user = make_user(bank["a"], password_changed_at=timezone.now() - dt.timedelta(days=89))
    assert password_expires_at(user) == user.password_changed_at + dt.timedelta(days=90)
    assert not password_change_required(user)
    user.password_changed_at = timezone.now() - dt.timedelta(days=91)
    assert password_change_required(user)
    user.password_changed_at = None
    assert password_change_required(user)


def test_password_age_follows_settings(bank, make_user, settings):
    settings.SECURITY_POLICY = {**settings.SECURITY_POLICY, "PASSWORD_MAX_AGE_DAYS": 30}
    user = make_user(bank["a"], password_changed_at=timezone.now() - dt.timedelta(days=31))
    assert password_change_required(user)


def test_initial_password_must_be_changed(fresh_user):
    assert password_change_required(fresh_user)


# --- administrator reset --------------------------------------------------------------------------


def test_password_reset_forces_change_revokes_tokens_and_is_audited(bank, make_user):
    admin = make_user(bank["head"], RoleCode.SYSTEM_ADMIN)
    user = make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, failed_login_count=3, locked_until=later(minutes=10))
    token, _key = token_issue(user=user, device_name="phone")
    password_reset(actor=admin, user=user, new_password="Temp#Pass2026")
    user.refresh_from_db()
    token.refresh_from_db()
    assert user.must_change_password and user.check_password("Temp#Pass2026")
    assert user.locked_until is None and user.failed_login_count == 0
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="gis_core.auth.password_reset")
    assert entry.actor == admin and entry.object_id == str(user.pk)
    assert "Temp#Pass2026" not in json.dumps(entry.data)


def test_password_reset_out_of_scope_or_self_refused(bank, make_user):
    admin_a = make_user(bank["a"], RoleCode.SYSTEM_ADMIN)
    user_b = make_user(bank["b"])
    with pytest.raises(PermissionDenied):
        password_reset(actor=admin_a, user=user_b, new_password="Temp#Pass2026")
    with pytest.raises(ValidationFailed):
        password_reset(actor=admin_a, user=admin_a, new_password="Temp#Pass2026")


def test_password_reset_validates_the_new_password(bank, make_user):
    admin = make_user(bank["head"], RoleCode.SYSTEM_ADMIN)
    user = make_user(bank["a"])
    with pytest.raises(ValidationFailed) as caught:
        password_reset(actor=admin, user=user, new_password="temppass1")
    assert CLASS_MESSAGE in caught.value.details["new_password"]


# --- forced change through HTTP --------------------------------------------------------------------


def test_forced_change_blocks_other_api_calls_until_changed(fresh_user):
    client = api_session(fresh_user, HISTORY[0])
    blocked = client.get("/api/institutions/")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "password_change_required"
    me = client.get("/api/auth/me/")
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    changed = client.post(
        "/api/auth/password/", {"old_password": HISTORY[0], "new_password": HISTORY[1]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["must_change_password"] is False
    assert client.get("/api/institutions/").status_code == 200  # same session still valid


def test_expired_password_blocks_api_and_pages(bank, make_user):
    user = make_user(bank["a"], RoleCode.LEADER, password_changed_at=timezone.now() - dt.timedelta(days=91))
    client = api_session(user)
    assert client.get("/api/institutions/").json()["error"]["code"] == "password_change_required"
    page = page_session(user)
    response = page.get("/")
    assert response.status_code == 302 and response["Location"] == "/password/change/?next=%2F"


def test_forced_change_applies_to_token_requests(fresh_user):
    key = issue_token(fresh_user, HISTORY[0])
    client = bearer(key)
    response = client.get("/api/institutions/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "password_change_required"
    changed = client.post("/api/auth/password/", {"old_password": HISTORY[0], "new_password": HISTORY[1]}, format="json")
    assert changed.status_code == 200, changed.content
    assert client.get("/api/institutions/").status_code == 200  # the token used to change it stays valid


def test_password_change_revokes_the_other_tokens(bank, make_user):
    user = make_user(bank["a"], RoleCode.LEADER)
    kept, other = issue_token(user), issue_token(user, device_name="旧手机")
    response = bearer(kept).post(
        "/api/auth/password/", {"old_password": DEFAULT_PASSWORD, "new_password": HISTORY[2]}, format="json"
    )
    assert response.status_code == 200
    assert bearer(kept).get("/api/auth/me/").status_code == 200
    assert bearer(other).get("/api/auth/me/").json()["error"]["code"] == "token_invalid"
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=False).count() == 1


def test_password_change_page_flow_keeps_the_session(fresh_user):
    client = page_session(fresh_user, HISTORY[0])
    redirected = client.get("/")
    assert redirected.status_code == 302 and redirected["Location"].startswith("/password/change/")
    page = client.get("/password/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert CLASS_MESSAGE in body and "首次登录或密码被重置后须修改密码" in body
    old_key = client.cookies["sessionid"].value
    weak = client.post(
        "/password/change/",
        {"old_password": HISTORY[0], "new_password": "lakeside2026", "new_password_again": "lakeside2026"},
    )
    assert weak.status_code == 200 and CLASS_MESSAGE in weak.content.decode()
    mismatch = client.post(
        "/password/change/", {"old_password": HISTORY[0], "new_password": HISTORY[1], "new_password_again": HISTORY[2]}
    )
    assert "两次输入的新密码不一致" in mismatch.content.decode()
    done = client.post(
        "/password/change/",
        {"old_password": HISTORY[0], "new_password": HISTORY[1], "new_password_again": HISTORY[1], "next": "/"},
    )
    assert done.status_code == 302 and done["Location"] == "/"
    fresh_user.refresh_from_db()
    assert not fresh_user.must_change_password
    assert fresh_user.current_session_key == client.cookies["sessionid"].value != old_key
    assert client.get("/reauth/").status_code == 200


def test_password_change_api_input_limits(bank, make_user):
    client = api_session(make_user(bank["a"]))
    response = client.post("/api/auth/password/", {"old_password": DEFAULT_PASSWORD, "new_password": "A1!" + "x" * 126}, format="json")
    assert response.status_code == 400
    assert "new_password" in response.json()["error"]["details"]
