"""Institutions, users, roles, dictionaries and the workday calendar (ORG-1, ORG-2, ORG-5, ORG-7).

Every function is keyword-only, atomic and audited. `actor=None` is for system jobs (loaders,
demo data, migrations) and is recorded as such.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from django.contrib.auth.password_validation import validate_password
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gis_core.audit import audit_log
from gis_core.choices import INCOMPATIBLE_ROLES, InstitutionKind, RoleCode
from gis_core.crypto import keyed_hash
from gis_core.errors import PermissionDenied, ValidationFailed
from gis_core.models import CalendarDay, Dictionary, DictionaryItem, Institution, PasswordHistory, Role, User
from gis_core.scope import in_scope
from gis_core.choices import INSTITUTION_CHILD_KINDS


def _check_parent(*, kind: str, parent: Institution | None) -> None:
    if parent is None:
        if kind != InstitutionKind.HEAD_OFFICE:
            raise ValidationFailed(_("只有总行可以没有上级机构"), code="institution_parent_required")
        return
    if kind not in INSTITUTION_CHILD_KINDS[InstitutionKind(parent.kind)]:
        raise ValidationFailed(
            _("%(parent)s下不能设立%(kind)s")
            % {"parent": InstitutionKind(parent.kind).label, "kind": InstitutionKind(kind).label},
            code="institution_kind_invalid",
        )


def _check_actor_may_manage(actor: User | None, institution_path: str) -> None:
    if actor is not None and not in_scope(actor, institution_path):
        raise PermissionDenied()


@transaction.atomic
def institution_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    kind: str,
    parent: Institution | None = None,
    address: str = "",
    location: Point | None = None,
    phone: str = "",
    is_active: bool = True,
) -> Institution:
    """Add an institution under `parent` (inside the actor's scope) and compute its path."""
    _check_parent(kind=kind, parent=parent)
    if parent is not None:
        _check_actor_may_manage(actor, parent.path)
    elif actor is not None:
        # A second head office can only be created by the system itself.
        raise PermissionDenied()
    if Institution.objects.filter(code=code).exists():
        raise ValidationFailed(_("机构代码已存在"), code="institution_code_taken", details={"code": [code]})
    institution = Institution.objects.create(
        code=code, name=name, kind=kind, parent=parent, address=address, location=location, phone=phone, is_active=is_active
    )
    institution.path = f"{parent.path if parent else '/'}{institution.pk}/"
    institution.depth = (parent.depth + 1) if parent else 0
    institution.save(update_fields=["path", "depth"])
    audit_log(actor=actor, action="gis_core.institution.created", obj=institution, data={"code": code, "name": name, "kind": kind})
    return institution


@transaction.atomic
def institution_update(*, actor: User | None, institution: Institution, **fields: Any) -> Institution:
    """Change the name, address, location, phone or active flag of an institution in scope."""
    _check_actor_may_manage(actor, institution.path)
    allowed = {"name", "address", "location", "phone", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(details={k: [_("不可修改")] for k in sorted(unknown)})
    if actor is not None and actor.institution_id == institution.pk and fields.get("is_active") is False:
        raise ValidationFailed(_("不能停用自己所在的机构"), code="institution_self_disable")
    before = {k: str(getattr(institution, k)) for k in fields}
    for key, value in fields.items():
        setattr(institution, key, value)
    institution.save()
    audit_log(
        actor=actor,
        action="gis_core.institution.updated",
        obj=institution,
        data={"before": before, "after": {k: str(v) for k, v in fields.items()}},
    )
    return institution


def _check_roles(role_codes: Iterable[str]) -> list[Role]:
    codes = set(role_codes)
    unknown = codes - set(RoleCode.values)
    if unknown:
        raise ValidationFailed(_("未知角色"), code="role_unknown", details={"roles": sorted(unknown)})
    for pair in INCOMPATIBLE_ROLES:
        if pair <= codes:
            raise ValidationFailed(
                _("系统管理员与审计员角色不能由同一人兼任"), code="role_separation", details={"roles": sorted(pair)}
            )
    return list(Role.objects.filter(code__in=codes))


def _validate_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("密码不符合安全要求"), code="password_invalid", details={"password": exc.messages}) from None


def remember_password(user: User) -> None:
    """Keep the current hash in the history (SEC-1: no reuse of the last five)."""
    PasswordHistory.objects.create(user=user, password=user.password)


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    institution: Institution,
    password: str,
    display_name: str = "",
    employee_no: str | None = None,
    phone: str = "",
    email: str = "",
    roles: Iterable[str] = (),
    must_change_password: bool = True,
) -> User:
    """Create a user in an institution of the actor's scope. Initial passwords must be changed at
    first login (SEC-1) unless a system job says otherwise (demo data)."""
    _check_actor_may_manage(actor, institution.path)
    role_objects = _check_roles(roles)
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(_("用户名已存在"), code="username_taken", details={"username": [username]})
    if employee_no and User.objects.filter(employee_no=employee_no).exists():
        raise ValidationFailed(_("工号已存在"), code="employee_no_taken", details={"employee_no": [employee_no]})
    user = User(
        username=username,
        institution=institution,
        display_name=display_name,
        employee_no=employee_no or None,
        phone=phone,
        phone_hash=keyed_hash(phone),
        email=email,
        must_change_password=must_change_password,
        password_changed_at=timezone.now(),
    )
    _validate_password(password, user)
    user.set_password(password)
    user.save()
    user.roles.set(role_objects)
    remember_password(user)
    audit_log(
        actor=actor,
        action="gis_core.user.created",
        obj=user,
        data={"username": username, "institution": institution.code, "roles": sorted(roles)},
    )
    return user


@transaction.atomic
def user_update(*, actor: User | None, user: User, **fields: Any) -> User:
    """Change a user's name, phone, email, institution or active flag (within the actor's scope)."""
    _check_actor_may_manage(actor, user.institution.path if user.institution else "")
    allowed = {"display_name", "phone", "email", "institution", "is_active", "employee_no"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(details={k: [_("不可修改")] for k in sorted(unknown)})
    if "institution" in fields:
        _check_actor_may_manage(actor, fields["institution"].path)
    if actor is not None and actor.pk == user.pk and fields.get("is_active") is False:
        raise ValidationFailed(_("不能停用自己的账户"), code="user_self_disable")
    changed = {}
    for key, value in fields.items():
        changed[key] = "***" if key == "phone" else str(value)
        setattr(user, key, value)
    if "phone" in fields:
        user.phone_hash = keyed_hash(fields["phone"])
    user.save()
    audit_log(actor=actor, action="gis_core.user.updated", obj=user, data={"changed": changed})
    return user


@transaction.atomic
def user_set_roles(*, actor: User | None, user: User, roles: Iterable[str]) -> User:
    """Replace a user's roles; the administrator and auditor roles never go to one person (SEC-4)."""
    _check_actor_may_manage(actor, user.institution.path if user.institution else "")
    codes = sorted(set(roles))
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(_("不能修改自己的角色"), code="role_self_change")
    before = sorted(user.role_codes)
    user.roles.set(_check_roles(codes))
    user._role_codes = None
    audit_log(actor=actor, action="gis_core.user.roles_changed", obj=user, data={"before": before, "after": codes})
    return user


@transaction.atomic
def dictionary_upsert(
    *, actor: User | None, code: str, name: str, items: Iterable[dict[str, Any]], description: str = "", is_system: bool = False
) -> Dictionary:
    """Create or replace a code table and its values (ORG-5). Values keep their order."""
    items = list(items)
    values = [str(i.get("value", "")).strip() for i in items]
    if any(not v for v in values):
        raise ValidationFailed(_("码值不能为空"), code="dictionary_value_empty")
    if len(set(values)) != len(values):
        raise ValidationFailed(_("码值重复"), code="dictionary_value_duplicate")
    dictionary, created = Dictionary.objects.update_or_create(
        code=code, defaults={"name": name, "description": description, "is_system": is_system}
    )
    dictionary.items.exclude(value__in=values).delete()
    for order, item in enumerate(items):
        DictionaryItem.objects.update_or_create(
            dictionary=dictionary,
            value=str(item["value"]).strip(),
            defaults={
                "label": item["label"],
                "label_en": item.get("label_en", ""),
                "sort_order": item.get("sort_order", order),
                "is_active": item.get("is_active", True),
            },
        )
    audit_log(
        actor=actor,
        action="gis_core.dictionary.created" if created else "gis_core.dictionary.updated",
        obj=dictionary,
        data={"values": values},
    )
    return dictionary


@transaction.atomic
def calendar_day_set(*, actor: User | None, date: dt.date, is_workday: bool, note: str = "") -> CalendarDay | None:
    """Mark a date as a working day or a day off (ORG-7). A row equal to the weekday rule is removed."""
    default = date.weekday() < 5
    if is_workday == default and not note:
        CalendarDay.objects.filter(date=date).delete()
        day = None
    else:
        day, _created = CalendarDay.objects.update_or_create(date=date, defaults={"is_workday": is_workday, "note": note})
    audit_log(
        actor=actor,
        action="gis_core.calendar.day_set",
        obj=day,
        data={"date": date.isoformat(), "is_workday": is_workday, "note": note},
    )
    return day
