"""DRF authentication with expiring bearer tokens for the mobile app (beside browser sessions).

`Authorization: Bearer <token>`; only the token's SHA-256 is stored (gis_core.models.ApiToken).
Expired tokens answer 401 `token_expired`; unknown, revoked, or a locked or inactive owner answer
401 `token_invalid`. A token user whose password must be changed (SEC-1) gets 403
`password_change_required` everywhere but the auth endpoints that change it, the same rule
PasswordChangeRequiredMiddleware applies to browser sessions.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.authentication import BaseAuthentication

from gis_core import errors
from gis_core.models import ApiToken

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenRejected(errors.AuthenticationFailed, drf_exceptions.AuthenticationFailed):
    """A refused bearer token: an ApplicationError (so the error body carries its code) that DRF
    also recognises as an authentication failure (so the request is marked unauthenticated)."""

    default_code = "token_invalid"
    default_message = _("登录凭证无效，请重新登录")


class PasswordChangeRequired(errors.PermissionDenied, drf_exceptions.PermissionDenied):
    default_code = "password_change_required"
    default_message = _("请先修改密码")


class ExpiringTokenAuthentication(BaseAuthentication):
    """Authenticates `Authorization: Bearer <token>`; `request.auth` is the ApiToken row."""

    keyword = "bearer"

    def authenticate(self, request):
        parts = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2 or not parts[1].isascii() or len(parts[1]) > 128:
            raise TokenRejected()
        key = parts[1]
        token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None:
            raise TokenRejected()
        if token.expires_at <= now:
            raise TokenRejected(_("登录凭证已过期，请重新登录"), code="token_expired")
        user = token.user
        if not user.is_active or (user.locked_until is not None and user.locked_until > now):
            raise TokenRejected()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        self._check_password_rule(request, user)
        return user, token

    @staticmethod
    def _check_password_rule(request, user) -> None:
        from gis_core.middleware import password_change_exempt_paths
        from gis_core.passwords import password_change_required

        if request.path not in password_change_exempt_paths() and password_change_required(user):
            raise PasswordChangeRequired()

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
