"""Sign-in, passwords, re-authentication and API tokens (SEC-1 .. SEC-4, SEC-8, ORG-6 login log).

Every login, failed login, logout, password change or reset and token issue or revocation leaves
an audit entry. Failures that must be recorded although the request is refused (a wrong password)
are committed before the error is raised, so that callers must not wrap these services in an outer
transaction that the error would roll back.

Limits come from `settings.SECURITY_POLICY`, read at call time so that tests may override them.
Request-level work (Django's session, cookies) is in gis_core.session_policy; this module only
sees users, passwords and tokens.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gis_core import context
from gis_core.audit import audit_log
from gis_core.choices import AuditResult
from gis_core.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from gis_core.models import ApiToken, User
from gis_core.scope import in_scope
from gis_core.services.organisation import remember_password

# One message for every login failure: unknown user, wrong password, locked or inactive (SEC-2).
LOGIN_FAILED_MESSAGE = _("用户名或密码错误，或账户已被锁定")
TOKEN_PURGE_GRACE_DAYS = 7


def _policy(key: str) -> int:
    return settings.SECURITY_POLICY[key]


def _clean_ip(ip: str | None) -> str | None:
    """A syntactically valid IP address or None (the value comes from request headers)."""
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def user_is_locked(*, user: User, now: dt.datetime | None = None) -> bool:
    """True while a lockout (SEC-2) is running."""
    return user.locked_until is not None and user.locked_until > (now or timezone.now())


def _count_failure(user: User, now: dt.datetime) -> dict[str, Any]:
    """One more consecutive failure; the threshold-th locks the account and restarts the count."""
    user.failed_login_count += 1
    data: dict[str, Any] = {"failed_count": user.failed_login_count}
    if user.failed_login_count >= _policy("LOCKOUT_THRESHOLD"):
        user.locked_until = now + dt.timedelta(minutes=_policy("LOCKOUT_MINUTES"))
        user.failed_login_count = 0
        data["locked_until"] = user.locked_until.isoformat()
    user.save(update_fields=["failed_login_count", "locked_until"])
    return data


def _check_password_of(user: User, password: str, now: dt.datetime) -> str | None:
    """Why `password` does not sign `user` in, or None. Locked `user` row expected.

    The password is always hashed, even for a locked account, so that the answer takes as long
    whatever the reason.
    """
    password_ok = user.check_password(password)
    if user_is_locked(user=user, now=now):
        return "locked"
    if not password_ok:
        return "wrong_password"
    if not user.is_active:
        return "inactive"
    return None


def login_attempt(*, username: str, password: str, ip: str | None = None, method: str = "session") -> User:
    """Check a username and password (SEC-2) and return the user, or raise AuthenticationFailed
    with one vague message whatever the reason.

    `LOCKOUT_THRESHOLD` consecutive wrong passwords lock the account for `LOCKOUT_MINUTES`; during
    the lock even the right password fails; a success resets the count. A success moves the last
    login time and address to `previous_login_*` so the next sign-in can report them. `method` is
    "session" (browser) or "token" (mobile app) and is recorded in the audit entry.
    """
    now = timezone.now()
    ip = _clean_ip(ip if ip is not None else context.current().ip)
    failure: dict[str, Any] | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            User().set_password(password)  # the same hashing cost as for a real account
            failure = {"reason": "unknown_user"}
        else:
            reason = _check_password_of(user, password, now)
            if reason == "wrong_password":
                failure = {"reason": reason, **_count_failure(user, now)}
            elif reason is not None:
                failure = {"reason": reason}
        if failure is not None:
            audit_log(
                actor=None,
                action="gis_core.auth.login_failed",
                obj=user,
                data={"method": method, **failure},
                result=AuditResult.FAILURE,
                username=username,
            )
        else:
            user.previous_login_at = user.last_login
            user.previous_login_ip = user.last_login_ip
            user.last_login = now
            user.last_login_ip = ip
            user.failed_login_count = 0
            user.locked_until = None
            user.save(
                update_fields=[
                    "previous_login_at",
                    "previous_login_ip",
                    "last_login",
                    "last_login_ip",
                    "failed_login_count",
                    "locked_until",
                ]
            )
            audit_log(actor=user, action="gis_core.auth.login", obj=user, data={"method": method})
    # Raised outside the transaction: the failure count and the audit entry are committed.
    if failure is not None:
        raise AuthenticationFailed(LOGIN_FAILED_MESSAGE, code="login_failed")
    return user


def _verify_password(*, user: User, password: str, failed_action: str) -> bool:
    """Check the signed-in user's own password (re-authentication, password change).

    A wrong password counts towards the lockout like a failed login; the failure is audited and
    committed. A success resets the count.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        reason = _check_password_of(locked, password, now)
        if reason is None:
            if locked.failed_login_count:
                locked.failed_login_count = 0
                locked.save(update_fields=["failed_login_count"])
        else:
            data: dict[str, Any] = {"reason": reason}
            if reason == "wrong_password":
                data.update(_count_failure(locked, now))
            audit_log(actor=locked, action=failed_action, obj=locked, data=data, result=AuditResult.FAILURE)
    user.failed_login_count = locked.failed_login_count
    user.locked_until = locked.locked_until
    user.password = locked.password  # check_password may have upgraded the hash
    return reason is None


def reauth_attempt(*, user: User, password: str) -> None:
    """Confirm the signed-in user's password before a critical operation (SEC-4).

    The caller records the new authentication time (session or token). Wrong passwords count
    towards the lockout; a lockout ends the session at its next request.
    """
    if not _verify_password(user=user, password=password, failed_action="gis_core.auth.reauth_failed"):
        raise PermissionDenied(_("密码错误，或账户已被锁定"), code="reauth_failed")
    audit_log(actor=user, action="gis_core.auth.reauth", obj=user)


def _validate_new_password(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            _("密码不符合安全要求"), code="password_invalid", details={field: exc.messages}
        ) from None


def _revoke_tokens(user: User, *, keep: ApiToken | None = None) -> int:
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if keep is not None:
        tokens = tokens.exclude(pk=keep.pk)
    return tokens.update(revoked_at=timezone.now())


def password_change(
    *, user: User, old_password: str, new_password: str, keep_token: ApiToken | None = None
) -> User:
    """The user changes their own password (SEC-1).

    Checks the old password (a wrong one counts towards the lockout), validates the new one
    (length, classes, no reuse of the last five), stores it, clears `must_change_password` and
    restarts the 90-day age. The user's other API tokens are revoked (`keep_token`, the one making
    the request, stays); the browser session stays valid when the view calls
    `update_session_auth_hash` (gis_core.session_policy.session_password_changed).
    """
    failed_action = "gis_core.auth.password_change_failed"
    if not _verify_password(user=user, password=old_password, failed_action=failed_action):
        raise ValidationFailed(
            _("原密码错误"), code="old_password_wrong", details={"old_password": [str(_("原密码错误"))]}
        )
    with transaction.atomic():
        _validate_new_password(new_password, user, "new_password")
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        remember_password(user)
        revoked = _revoke_tokens(user, keep=keep_token)
        audit_log(
            actor=user, action="gis_core.auth.password_changed", obj=user, data={"tokens_revoked": revoked}
        )
    return user


@transaction.atomic
def password_reset(*, actor: User | None, user: User, new_password: str) -> User:
    """An administrator sets a temporary password for a user in their scope (SEC-1).

    The user must change it at the next sign-in; the lockout is lifted, the browser session ends
    (the password hash changes) and every API token of the user is revoked. Administrators change
    their own password through `password_change`, which asks for the old one.
    """
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(_("请通过修改密码功能修改自己的密码"), code="password_reset_self")
    if actor is not None and not in_scope(actor, user.institution.path if user.institution else ""):
        raise PermissionDenied()
    _validate_new_password(new_password, user, "new_password")
    user.set_password(new_password)
    user.must_change_password = True
    user.password_changed_at = timezone.now()
    user.failed_login_count = 0
    user.locked_until = None
    user.current_session_key = ""
    user.save(
        update_fields=[
            "password",
            "must_change_password",
            "password_changed_at",
            "failed_login_count",
            "locked_until",
            "current_session_key",
        ]
    )
    remember_password(user)
    revoked = _revoke_tokens(user)
    audit_log(actor=actor, action="gis_core.auth.password_reset", obj=user, data={"tokens_revoked": revoked})
    return user


def session_register(*, user: User, session_key: str) -> None:
    """Make `session_key` the user's one browser session (SEC-3); any older session ends at its next
    request. Part of the audited login, so not audited on its own."""
    User.objects.filter(pk=user.pk).update(current_session_key=session_key)
    user.current_session_key = session_key


@transaction.atomic
def session_end(*, user: User, session_key: str | None, reason: str = "logout") -> None:
    """Record the end of a browser session: `logout` by the user (audited `gis_core.auth.logout`),
    or `idle`, `absolute`, `replaced`, `locked` by the session rules (`gis_core.auth.session_ended`)."""
    if session_key:
        User.objects.filter(pk=user.pk, current_session_key=session_key).update(current_session_key="")
    if reason == "logout":
        audit_log(actor=user, action="gis_core.auth.logout", obj=user, data={"method": "session"})
    else:
        audit_log(actor=user, action="gis_core.auth.session_ended", obj=user, data={"reason": reason})


@transaction.atomic
def token_issue(*, user: User, device_name: str = "") -> tuple[ApiToken, str]:
    """Issue a bearer token for the mobile app; returns the row and the token itself, which is
    shown once and never stored (only its SHA-256). Lives `API_TOKEN_HOURS`."""
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=ApiToken.hash_key(key),
        prefix=key[:8],
        device_name=device_name[:100],
        created_at=now,
        expires_at=now + dt.timedelta(hours=_policy("API_TOKEN_HOURS")),
    )
    audit_log(
        actor=user,
        action="gis_core.auth.token_issued",
        obj=user,
        data={
            "prefix": token.prefix,
            "device_name": token.device_name,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, key


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token (the app signs out, or the user withdraws a lost device). Idempotent."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(
            actor=actor,
            action="gis_core.auth.token_revoked",
            obj=token.user,
            data={"prefix": token.prefix, "device_name": token.device_name},
        )
    return token


@transaction.atomic
def token_purge_expired(*, grace_days: int = TOKEN_PURGE_GRACE_DAYS) -> int:
    """Delete tokens that expired more than `grace_days` ago (run hourly by Celery beat).
    Safe to run twice; returns how many were deleted."""
    cutoff = timezone.now() - dt.timedelta(days=grace_days)
    deleted, _rows = ApiToken.objects.filter(expires_at__lt=cutoff).delete()
    if deleted:
        audit_log(
            actor=None,
            action="gis_core.auth.tokens_purged",
            data={"count": deleted, "expired_before": cutoff.isoformat()},
        )
    return deleted
