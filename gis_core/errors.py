"""The platform's error family (STYLE rule 11).

Services raise these; one DRF exception handler (gis_core.api.exceptions) and the page views map
them to HTTP. Every error has a stable `code`, a message a bank clerk understands (Chinese msgid,
English through i18n) and optional `details` (for example one entry per invalid row or feature).
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """Base of every expected failure. Never carries a stack trace to the user."""

    status_code = 400
    default_code = "invalid"
    default_message = _("请求无法处理")

    def __init__(self, message: Any = None, *, code: str | None = None, details: Any = None) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.details = details
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(ApplicationError):
    status_code = 400
    default_code = "validation_failed"
    default_message = _("输入有误")


class AuthenticationFailed(ApplicationError):
    status_code = 401
    default_code = "authentication_failed"
    default_message = _("用户名或密码错误，或账户不可用")


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = "permission_denied"
    default_message = _("没有执行此操作的权限")


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"
    default_message = _("未找到")


class Conflict(ApplicationError):
    status_code = 409
    default_code = "conflict"
    default_message = _("数据已被他人修改，请刷新后重试")
