"""One handler maps every error to `{"error": {"code", "message", "details"}}` with the right status.

ApplicationError subclasses carry their own status; DRF and Django errors are translated to the
same shape; anything unexpected becomes a 500 with a generic message and is logged, never shown.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response

from gis_core.errors import ApplicationError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    drf.NotAuthenticated: ("not_authenticated", lambda: _("请先登录")),
    drf.AuthenticationFailed: ("authentication_failed", lambda: _("身份认证失败，请重新登录")),
    drf.PermissionDenied: ("permission_denied", lambda: _("没有执行此操作的权限")),
    drf.NotFound: ("not_found", lambda: _("未找到")),
    drf.MethodNotAllowed: ("method_not_allowed", lambda: _("不支持该请求方法")),
    drf.UnsupportedMediaType: ("unsupported_media_type", lambda: _("不支持的内容类型")),
    drf.ParseError: ("parse_error", lambda: _("请求内容格式错误")),
    drf.Throttled: ("throttled", lambda: _("请求过于频繁，请稍后再试")),
    drf.NotAcceptable: ("not_acceptable", lambda: _("无法提供所请求的格式")),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"error": exc.as_dict()}, status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"error": {"code": "not_found", "message": _("未找到")}}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"error": {"code": "permission_denied", "message": _("没有执行此操作的权限")}}, status=403)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"error": {"code": "validation_failed", "message": _("输入有误"), "details": details}}, status=400)
    if isinstance(exc, drf.ValidationError):
        return Response(
            {"error": {"code": "validation_failed", "message": _("输入有误"), "details": exc.detail}}, status=400
        )
    if isinstance(exc, drf.APIException):
        for cls, (code, message) in _DRF_CODES.items():
            if isinstance(exc, cls):
                status = exc.status_code
                # An unauthenticated session request gets 403 from DRF; say 401 so clients know to log in.
                headers = {}
                if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
                    status = 401
                    headers["WWW-Authenticate"] = 'Bearer realm="api"'
                if isinstance(exc, drf.Throttled) and exc.wait:
                    headers["Retry-After"] = str(int(exc.wait))
                return Response({"error": {"code": code, "message": message()}}, status=status, headers=headers)
        return Response({"error": {"code": "error", "message": str(exc.detail)}}, status=exc.status_code)
    logger.exception("unhandled error in %s", context.get("view").__class__.__name__ if context.get("view") else "?")
    return Response({"error": {"code": "server_error", "message": _("系统繁忙，请稍后再试")}}, status=500)
