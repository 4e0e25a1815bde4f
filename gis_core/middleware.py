"""Request middleware of gis_core (stubs: the session and password rules are filled in by the auth work)."""
from __future__ import annotations

import uuid

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


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
