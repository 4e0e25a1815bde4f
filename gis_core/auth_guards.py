"""Guards other apps put in front of critical operations (SEC-4: re-authentication).

    from gis_core.auth_guards import require_recent_auth

    class GridDeleteApi(APIView):
        @require_recent_auth
        def post(self, request, pk): ...

    class UserRolesApi(APIView):
        def put(self, request, pk):
            require_recent_auth(request)  # raises ReauthRequired
            ...

    @login_required
    @require_recent_auth
    def campaign_close(request, pk): ...

The user must have given their password within `SECURITY_POLICY["REAUTH_MINUTES"]`: at login, on
the re-authentication page or `POST /api/auth/reauth/`, or (bearer tokens) when the token was
issued. Otherwise API calls answer 403 `reauth_required` and pages redirect to the `reauth` page,
which comes back to `next` afterwards.
"""
from __future__ import annotations

import functools
from typing import Any, Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from gis_core.errors import PermissionDenied
from gis_core.session_policy import auth_at, has_recent_auth

__all__ = ["ReauthRequired", "auth_at", "ensure_recent_auth", "has_recent_auth", "require_recent_auth"]


class ReauthRequired(PermissionDenied):
    default_code = "reauth_required"
    default_message = _("此操作需要重新输入密码确认身份")


def ensure_recent_auth(request: Any) -> None:
    """Raise ReauthRequired (403 `reauth_required`) unless the password was given recently.
    For use inside services' callers that cannot take a decorator."""
    if not has_recent_auth(request):
        raise ReauthRequired()


def _find_request(args: tuple) -> Any:
    for arg in args[:2]:
        if isinstance(arg, (Request, HttpRequest)):
            return arg
    raise TypeError("require_recent_auth: no request among the view's arguments")


def require_recent_auth(view: Callable | Request | HttpRequest) -> Any:
    """Decorator for DRF view methods, function views and `method_decorator` on class-based views.

    Called with a request instead of a view (`require_recent_auth(request)` inside a DRF view), it
    checks at once and raises ReauthRequired (403 `reauth_required`) — the form for API views that
    check after parsing. Page views use the decorator form, which redirects to the `reauth` page.
    """
    if isinstance(view, (Request, HttpRequest)):
        ensure_recent_auth(view)
        return None

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = _find_request(args)
        if has_recent_auth(request):
            return view(*args, **kwargs)
        if isinstance(request, Request):
            raise ReauthRequired()  # the DRF exception handler answers 403 {"error": {...}}
        if request.path_info.startswith("/api/"):
            return JsonResponse({"error": ReauthRequired().as_dict()}, status=403)
        return HttpResponseRedirect(f"{reverse('reauth')}?{urlencode({'next': request.get_full_path()})}")

    return wrapper
