"""The audit trail (ORG-6, SEC-8): one call, `audit_log(...)`, from every write service.

Call it inside the service's transaction so the entry and the change commit or roll back together.
For failures that must be recorded although the change is refused (a failed login), the service
commits the entry itself before raising.
"""
from __future__ import annotations

from typing import Any

from django.db import models

from gis_core import context
from gis_core.choices import AuditResult
from gis_core.models import AuditEntry

# Keys whose values never reach the audit log.
SECRET_KEYS = {"password", "password1", "password2", "old_password", "new_password", "token", "key", "secret", "authorization"}


def _clean(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: ("***" if str(k).lower() in SECRET_KEYS else _clean(v)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    if isinstance(data, (str, int, float, bool)) or data is None:
        return data
    return str(data)


def audit_log(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    result: str = AuditResult.SUCCESS,
    username: str = "",
) -> AuditEntry:
    """Record one audited event. `action` is dotted: `<app>.<entity>.<verb>` (e.g. `gis_core.user.created`)."""
    ctx = context.current()
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_username=(user.username if user else username)[:150],
        institution_id=getattr(user, "institution_id", None) if user else _institution_of(obj),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        data=_clean(data or {}),
        result=result,
        ip=ctx.ip,
        user_agent=ctx.user_agent[:255],
        request_id=ctx.request_id,
    )


def _institution_of(obj: models.Model | None) -> int | None:
    """For events without a signed-in actor (failed logins), file them under the target's institution."""
    return getattr(obj, "institution_id", None) if obj is not None else None
