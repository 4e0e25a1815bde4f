"""Declared permissions (ORG-2) and the one DRF permission class that checks them.

Each app declares its permission codes in `<app>/permissions.py` as a `Perm` StrEnum and says which
role grants which in `GRANTS`. Views declare what they need:

    class InstitutionListApi(APIView):
        required_permissions = {"GET": Perm.INSTITUTION_VIEW}

A view that declares nothing is refused (fail closed). Data scope is a separate, second check done
by selectors (gis_core.scope).
"""
from __future__ import annotations

import importlib
from enum import StrEnum
from functools import lru_cache
from typing import Any, Iterable

from django.conf import settings
from rest_framework.permissions import BasePermission

from gis_core.choices import RoleCode


class Perm(StrEnum):
    MAP_VIEW = "gis_core.map.view"
    INSTITUTION_VIEW = "gis_core.institution.view"
    INSTITUTION_MANAGE = "gis_core.institution.manage"
    USER_VIEW = "gis_core.user.view"
    USER_MANAGE = "gis_core.user.manage"
    AUDIT_VIEW = "gis_core.audit.view"
    AUDIT_EXPORT = "gis_core.audit.export"
    DICTIONARY_VIEW = "gis_core.dictionary.view"
    DICTIONARY_MANAGE = "gis_core.dictionary.manage"
    CALENDAR_VIEW = "gis_core.calendar.view"
    CALENDAR_MANAGE = "gis_core.calendar.manage"
    POI_MANAGE = "gis_core.poi.manage"
    BACK_OFFICE = "gis_core.back_office"


_EVERY_STAFF = {Perm.MAP_VIEW, Perm.INSTITUTION_VIEW, Perm.DICTIONARY_VIEW, Perm.CALENDAR_VIEW}

GRANTS: dict[str, set[str]] = {
    RoleCode.SYSTEM_ADMIN: _EVERY_STAFF
    | {
        Perm.INSTITUTION_MANAGE,
        Perm.USER_VIEW,
        Perm.USER_MANAGE,
        Perm.DICTIONARY_MANAGE,
        Perm.CALENDAR_MANAGE,
        Perm.POI_MANAGE,
        Perm.BACK_OFFICE,
    },
    # The auditor reads the audit trail and who is who, and changes nothing (SEC-4).
    RoleCode.AUDITOR: {Perm.INSTITUTION_VIEW, Perm.USER_VIEW, Perm.AUDIT_VIEW, Perm.AUDIT_EXPORT, Perm.DICTIONARY_VIEW},
    RoleCode.LEADER: _EVERY_STAFF | {Perm.USER_VIEW},
    RoleCode.BRANCH_MANAGER: _EVERY_STAFF | {Perm.USER_VIEW},
    RoleCode.ACCOUNT_MANAGER: _EVERY_STAFF,
    RoleCode.ANALYST: _EVERY_STAFF | {Perm.USER_VIEW},
    RoleCode.GRID_LIAISON: {Perm.MAP_VIEW, Perm.DICTIONARY_VIEW},
}


@lru_cache(maxsize=1)
def _all_grants() -> dict[str, frozenset[str]]:
    """GRANTS of every local app, merged per role."""
    merged: dict[str, set[str]] = {}
    for app in settings.LOCAL_APPS:
        try:
            module = importlib.import_module(f"{app}.permissions")
        except ModuleNotFoundError as exc:
            if exc.name == f"{app}.permissions":
                continue
            raise
        for role, codes in getattr(module, "GRANTS", {}).items():
            merged.setdefault(str(role), set()).update(str(c) for c in codes)
    return {role: frozenset(codes) for role, codes in merged.items()}


@lru_cache(maxsize=256)
def _permissions_for(role_codes: frozenset[str]) -> frozenset[str]:
    grants = _all_grants()
    out: set[str] = set()
    for role in role_codes:
        out |= grants.get(role, frozenset())
    return frozenset(out)


def permissions_for_roles(role_codes: Iterable[str]) -> frozenset[str]:
    """Every permission code granted by any of these roles."""
    return _permissions_for(frozenset(role_codes))


def declared_permission_codes() -> set[str]:
    """Every permission code declared by any local app (for docs and tests)."""
    codes: set[str] = set()
    for app in settings.LOCAL_APPS:
        try:
            module = importlib.import_module(f"{app}.permissions")
        except ModuleNotFoundError:
            continue
        perm_enum = getattr(module, "Perm", None)
        if perm_enum is not None:
            codes |= {str(p) for p in perm_enum}
    return codes


class HasDeclaredPermission(BasePermission):
    """Grants access when the user holds the permission the view declares for this HTTP method.

    `required_permissions` maps methods to a code (HEAD and OPTIONS follow GET);
    `permission_required` applies one code to every method. A tuple of codes means any one of
    them suffices (e.g. `(Perm.GRID_VIEW_SUBTREE, Perm.GRID_VIEW_OWN)` for reads whose scope the
    selector narrows further). Nothing declared → refused.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return any(user.has_perm_code(code) for code in required_permission_codes(view, request.method))


def required_permission_codes(view: Any, method: str) -> tuple[str, ...]:
    """The codes the view declares for `method` (any one of them grants access); () if none."""
    per_method = getattr(view, "required_permissions", None) or {}
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    declared = per_method.get(method) or getattr(view, "permission_required", None)
    if not declared:
        return ()
    if isinstance(declared, (tuple, list, set, frozenset)):
        return tuple(str(code) for code in declared if code)
    return (str(declared),)


def required_permission(view: Any, method: str) -> str | None:
    """The single code the view declares for `method`; None when nothing or an any-of tuple is
    declared (use `required_permission_codes` for those)."""
    codes = required_permission_codes(view, method)
    return codes[0] if len(codes) == 1 else None
