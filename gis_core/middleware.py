"""Request middleware of gis_core: request context, the session rules (SEC-3) and the forced
password change (SEC-1).

The session and password middleware sit after Django's AuthenticationMiddleware. They only see
browser sessions: bearer-token requests are authenticated later by DRF
(gis_core.authentication.ExpiringTokenAuthentication), which applies the password rule itself.
"""
from __future__ import annotations

import uuid
from functools import lru_cache
from urllib.parse import urlencode

from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from gis_core import context


class RequestContextMiddleware:
    """Binds ip, user agent and a request id for audit entries and logs (gis_core.context)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:64]
        token = context.bind(
            context.RequestContext(
                ip=client_ip(request), user_agent=request.headers.get("User-Agent", "")[:255], request_id=request_id
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def client_ip(request) -> str | None:
    """REMOTE_ADDR; behind the trusted proxy (nginx in docker/) the first X-Forwarded-For hop."""
    from django.conf import settings

    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def is_api_request(request) -> bool:
    return request.path_info.startswith("/api/")


def has_bearer_token(request) -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


@lru_cache(maxsize=1)
def _anonymous_paths() -> frozenset[str]:
    """Where a signed-out visitor must still get through (to sign in again)."""
    return frozenset(
        {
            reverse("login"),
            reverse("logout"),
            reverse("gis_core_api:auth-login"),
            reverse("gis_core_api:auth-logout"),
            reverse("gis_core_api:auth-token"),
        }
    )


@lru_cache(maxsize=1)
def password_change_exempt_paths() -> frozenset[str]:
    """Pages and API endpoints a user who must change their password may still use."""
    return frozenset(
        {
            reverse("login"),
            reverse("logout"),
            reverse("password_change"),
            reverse("gis_core_api:auth-login"),
            reverse("gis_core_api:auth-logout"),
            reverse("gis_core_api:auth-me"),
            reverse("gis_core_api:auth-password"),
            reverse("gis_core_api:auth-token"),
            reverse("gis_core_api:auth-token-revoke"),
        }
    )


@lru_cache(maxsize=1)
def _admin_paths() -> tuple[str, str]:
    return reverse("admin:login"), reverse("admin:index")


def _always_open(path: str) -> bool:
    from django.conf import settings

    return (
        path.startswith(settings.STATIC_URL)
        or path.startswith("/i18n/")
        or path in ("/healthz", "/readyz", "/favicon.ico")
    )


def _redirect_with_next(url_name: str, request) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}")


SESSION_END_MESSAGES = {
    "idle": ("session_expired", lambda: _("长时间未操作，请重新登录")),
    "absolute": ("session_expired", lambda: _("登录已超过最长时间，请重新登录")),
    "locked": ("session_expired", lambda: _("会话已结束，请重新登录")),
    "replaced": ("session_replaced", lambda: _("您的账号已在其他地方登录，本次会话已结束")),
}


class SessionPolicyMiddleware:
    """Ends browser sessions that are idle too long, older than the absolute limit, replaced by a
    newer sign-in of the same user, or whose account is locked (SEC-3).

    An ended session answers 401 (`session_expired` / `session_replaced`) to API calls and
    redirects pages to the login page with `?next=`. Django's admin login is sent to the platform's
    login page, so that every sign-in goes through the lockout and the audit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from gis_core import session_policy

        path = request.path
        admin_login, admin_index = _admin_paths()
        if path == admin_login:
            target = request.GET.get("next") or admin_index
            return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': target})}")
        user = request.user
        if user.is_authenticated and not _always_open(request.path_info):
            if session_policy.LOGIN_AT not in request.session:
                session_policy.session_adopt(request)
            reason = session_policy.session_problem(request)
            if reason is not None:
                session_policy.session_logout(request, reason=reason)
                if path not in _anonymous_paths():
                    if is_api_request(request):
                        if not has_bearer_token(request):
                            code, message = SESSION_END_MESSAGES[reason]
                            return JsonResponse({"error": {"code": code, "message": message()}}, status=401)
                    else:
                        return _redirect_with_next("login", request)
            else:
                session_policy.session_touch(request)
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """Signed-in users whose password is initial, reset by an administrator or older than
    PASSWORD_MAX_AGE_DAYS may do nothing but change it (SEC-1): pages redirect to the password
    change page, API calls answer 403 `password_change_required`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from gis_core.passwords import password_change_required

        path = request.path
        user = request.user
        if (
            user.is_authenticated
            and not _always_open(request.path_info)
            and path not in password_change_exempt_paths()
            and password_change_required(user)
        ):
            if is_api_request(request):
                if not has_bearer_token(request):
                    return JsonResponse(
                        {"error": {"code": "password_change_required", "message": _("请先修改密码")}}, status=403
                    )
            else:
                return _redirect_with_next("password_change", request)
        return self.get_response(request)


class ChineseFirstLocaleMiddleware:
    """The UI is Chinese unless the user picked another language with the switch (the language
    cookie set by /i18n/setlang/). The browser's Accept-Language is deliberately ignored: bank
    workstations often run English-language browsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
