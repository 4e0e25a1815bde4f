"""The browser-session rules (SEC-3, SEC-4) at the request level.

A session created by `session_login` carries three times (POSIX seconds, from `timezone.now()`):
`login_at` (absolute limit), `last_activity` (idle limit) and `auth_at` (last time the password
was given: login or re-authentication, used by `require_recent_auth`). The user row holds the one
current session key. SessionPolicyMiddleware asks `session_problem()` on every request.

Both the page views and the API views sign in and out through here, so the rules are the same.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth import update_session_auth_hash
from django.core.cache import cache
from django.utils import timezone

from gis_core.middleware import client_ip
from gis_core.models import ApiToken, User
from gis_core.services.auth import login_attempt, session_end, session_register

LOGIN_AT = "gis_login_at"
LAST_ACTIVITY = "gis_last_activity"
AUTH_AT = "gis_auth_at"
# Left in the fresh anonymous session after the rules end one, for the login page to explain why.
END_REASON = "gis_session_end_reason"
# Writing the session on every request would cost a database write each time: record activity at
# most this often. The idle limit is therefore exact to within this many seconds.
ACTIVITY_RESOLUTION_SECONDS = 60


def _now() -> float:
    return timezone.now().timestamp()


def session_login(request, *, username: str, password: str) -> User:
    """Sign in through `login_attempt` (lockout, audit), start a new session with a new id and make
    it the user's only one. Raises AuthenticationFailed with the vague message."""
    user = login_attempt(username=username, password=password, ip=client_ip(request), method="session")
    django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # rotates the session id
    now = _now()
    request.session[LOGIN_AT] = now
    request.session[LAST_ACTIVITY] = now
    request.session[AUTH_AT] = now
    if request.session.session_key is None:
        request.session.save()
    session_register(user=user, session_key=request.session.session_key)
    return user


def session_logout(request, *, reason: str = "logout") -> None:
    """End the request's session (the user's logout, or a rule) and record it."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        session_end(user=user, session_key=request.session.session_key, reason=reason)
    django_logout(request)
    if reason != "logout":
        request.session[END_REASON] = reason


def session_adopt(request) -> None:
    """A signed-in session not made by `session_login` (Django's test `force_login`): stamp it as
    if it had just signed in, without a recent password (so `require_recent_auth` still asks)."""
    now = _now()
    request.session[LOGIN_AT] = now
    request.session[LAST_ACTIVITY] = now
    if request.session.session_key is None:
        request.session.save()
    session_register(user=request.user, session_key=request.session.session_key)


def session_problem(request) -> str | None:
    """Why the signed-in session must end now, or None: `replaced` (the user signed in elsewhere),
    `locked`, `absolute` (older than SESSION_ABSOLUTE_HOURS), `idle` (no request for
    SESSION_IDLE_MINUTES)."""
    policy = settings.SECURITY_POLICY
    user = request.user
    session = request.session
    if session.session_key != user.current_session_key:
        return "replaced"
    now = timezone.now()
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    login_at = session.get(LOGIN_AT)
    last_activity = session.get(LAST_ACTIVITY, login_at)
    if login_at is None or now.timestamp() - login_at > policy["SESSION_ABSOLUTE_HOURS"] * 3600:
        return "absolute"
    if last_activity is None or now.timestamp() - last_activity > policy["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    return None


def session_touch(request) -> None:
    """Record activity (at most once per ACTIVITY_RESOLUTION_SECONDS)."""
    now = _now()
    if now - request.session.get(LAST_ACTIVITY, 0) >= ACTIVITY_RESOLUTION_SECONDS:
        request.session[LAST_ACTIVITY] = now


def session_password_changed(request, user: User) -> None:
    """After the user changed their own password: keep this session valid (Django rotates its id
    and its password hash) and keep it the user's current one. Other sessions end."""
    update_session_auth_hash(request, user)
    session_register(user=user, session_key=request.session.session_key)


# --- re-authentication (SEC-4) -----------------------------------------------------------------


def _token_reauth_key(token: ApiToken) -> str:
    return f"gis_core:token-reauth:{token.key_hash}"


def mark_reauthenticated(request) -> None:
    """The user just gave their password again: record it on the session, or for a token request
    (which has no session) in the cache for the re-authentication window."""
    token = getattr(request, "auth", None)
    now = _now()
    if isinstance(token, ApiToken):
        cache.set(_token_reauth_key(token), now, timeout=settings.SECURITY_POLICY["REAUTH_MINUTES"] * 60)
    else:
        request.session[AUTH_AT] = now


def auth_at(request) -> dt.datetime | None:
    """When the user behind `request` last proved their password: for a bearer token the later of
    its issue and a re-authentication made with it; for a browser session the session's `auth_at`."""
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        stamps = [token.created_at.timestamp()]
        cached = cache.get(_token_reauth_key(token))
        if cached is not None:
            stamps.append(float(cached))
        seconds = max(stamps)
    else:
        session = getattr(request, "session", None)
        seconds = session.get(AUTH_AT) if session is not None else None
        if seconds is None:
            return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def has_recent_auth(request) -> bool:
    """True when the password was given within REAUTH_MINUTES."""
    at = auth_at(request)
    if at is None:
        return False
    return timezone.now() - at <= dt.timedelta(minutes=settings.SECURITY_POLICY["REAUTH_MINUTES"])
