"""定格-定岗-定人-定责 (GR-5), grid transfer (GR-6) and grid liaisons (GR-9)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gis_core.audit import audit_log
from gis_core.choices import RoleCode
from gis_core.crypto import keyed_hash
from gis_core.errors import Conflict, ValidationFailed
from gis_core.models import User
from grids.choices import GridPost, GridStatus, HistoryAction, LiaisonAction, LiaisonType
from grids.models import Grid, GridAssignment, GridLiaison, GridTransfer
from grids.services.common import check_scope, lock_grid, record
from grids.transfer import transfer_participants


def _check_person(grid: Grid, person: User, post: str) -> None:
    if not person.is_active or person.institution is None or not person.institution.path.startswith(grid.institution.path):
        raise ValidationFailed(
            _("「%(person)s」不属于网格所属机构「%(inst)s」") % {"person": person, "inst": grid.institution.name},
            code="assignee_outside_institution",
        )
    if post == GridPost.RESPONSIBLE and not (person.has_role(RoleCode.ACCOUNT_MANAGER) or person.has_role(RoleCode.BRANCH_MANAGER)):
        raise ValidationFailed(_("网格责任人须为客户经理"), code="assignee_not_account_manager")


def current_responsible(grid: Grid) -> GridAssignment | None:
    return GridAssignment.objects.filter(grid=grid, post=GridPost.RESPONSIBLE, ends_on__isnull=True).select_related("person").first()


@transaction.atomic
def grid_assign(
    *, actor: Any, grid: Grid, person: User, post: str = GridPost.RESPONSIBLE, responsibility: str = "",
    starts_on: dt.date | None = None, reason: str = "",
) -> GridAssignment:
    """Put a person in a post on a grid. For the responsible post the previous holder's assignment
    ends today, so there is exactly one responsible person at a time and the history stays."""
    check_scope(actor, grid.institution.path)
    grid = lock_grid(grid.pk)
    if grid.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("已撤销的网格不能分派"), code="grid_retired")
    if post not in GridPost.values:
        raise ValidationFailed(_("未知岗位"), code="post_invalid")
    _check_person(grid, person, post)
    today = timezone.localdate()
    previous = None
    if post == GridPost.RESPONSIBLE:
        previous = current_responsible(grid)
        if previous is not None:
            if previous.person_id == person.pk:
                return previous
            previous.ends_on = today
            previous.save(update_fields=["ends_on"])
    try:
        with transaction.atomic():
            assignment = GridAssignment.objects.create(
                grid=grid, post=post, person=person, responsibility=responsibility, starts_on=starts_on or today,
                assigned_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise Conflict(_("该人员已在此岗位"), code="assignment_exists") from None
    record(
        grid=grid, action=HistoryAction.ASSIGNED, actor=actor, reason=reason,
        data={"post": post, "person": person.username, "previous": previous.person.username if previous else None},
    )
    return assignment


@transaction.atomic
def grid_unassign(*, actor: Any, assignment: GridAssignment, reason: str = "") -> GridAssignment:
    """End an assignment today."""
    check_scope(actor, assignment.grid.institution.path)
    lock_grid(assignment.grid_id)
    assignment.ends_on = timezone.localdate()
    assignment.save(update_fields=["ends_on"])
    record(grid=assignment.grid, action=HistoryAction.ASSIGNED, actor=actor, reason=reason,
           data={"ended": assignment.person.username, "post": assignment.post})
    return assignment


@transaction.atomic
def grid_transfer(*, actor: Any, grid: Grid, to_user: User, reason: str = "") -> GridTransfer:
    """Move a grid and what hangs on it — customer relationships, open tasks, follow-ups, as the
    registered participants define — from its responsible manager to `to_user`, atomically."""
    check_scope(actor, grid.institution.path)
    grid = lock_grid(grid.pk)
    current = current_responsible(grid)
    if current is None:
        raise ValidationFailed(_("该网格尚未分派责任人，无需移交"), code="transfer_no_responsible")
    from_user = current.person
    if from_user.pk == to_user.pk:
        raise ValidationFailed(_("移交对象与当前责任人相同"), code="transfer_same_person")
    _check_person(grid, to_user, GridPost.RESPONSIBLE)
    moved: dict[str, int] = {}
    for name, participant in transfer_participants().items():
        moved[name] = int(participant(grid=grid, from_user=from_user, to_user=to_user, actor=actor))
    today = timezone.localdate()
    current.ends_on = today
    current.save(update_fields=["ends_on"])
    GridAssignment.objects.create(
        grid=grid, post=GridPost.RESPONSIBLE, person=to_user, responsibility=current.responsibility, starts_on=today,
        assigned_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transfer = GridTransfer.objects.create(
        grid=grid, from_user=from_user, to_user=to_user, actor=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason, moved=moved,
    )
    record(grid=grid, action=HistoryAction.TRANSFERRED, actor=actor, reason=reason,
           data={"from": from_user.username, "to": to_user.username, "moved": moved})
    audit_log(actor=actor, action="grids.transfer.created", obj=transfer, data={"grid": grid.code, "moved": moved})
    return transfer


@transaction.atomic
def liaison_create(
    *, actor: Any, grid: Grid, name: str, liaison_type: str, organisation: str = "", phone: str = "",
    allowed_actions: Sequence[str] = (), user: User | None = None,
) -> GridLiaison:
    """Register a grid liaison (金融三员) and what they may do."""
    check_scope(actor, grid.institution.path)
    if liaison_type not in LiaisonType.values:
        raise ValidationFailed(_("未知的协理人员类型"), code="liaison_type_invalid")
    bad = set(allowed_actions) - set(LiaisonAction.values)
    if bad:
        raise ValidationFailed(_("未知的授权事项"), code="liaison_action_invalid", details={"actions": sorted(bad)})
    if user is not None and not user.has_role(RoleCode.GRID_LIAISON):
        raise ValidationFailed(_("关联账号须具有金融三员角色"), code="liaison_user_role")
    liaison = GridLiaison.objects.create(
        grid=grid, name=name, liaison_type=liaison_type, organisation=organisation, phone=phone, phone_hash=keyed_hash(phone),
        allowed_actions=sorted(set(allowed_actions)), user=user,
    )
    audit_log(actor=actor, action="grids.liaison.created", obj=liaison, data={"grid": grid.code, "actions": liaison.allowed_actions})
    return liaison


@transaction.atomic
def liaison_update(*, actor: Any, liaison: GridLiaison, **changes: Any) -> GridLiaison:
    """Change a liaison's details, rights or active flag."""
    check_scope(actor, liaison.grid.institution.path)
    allowed = {"name", "organisation", "phone", "allowed_actions", "is_active", "liaison_type"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(details={k: [_("不可修改")] for k in sorted(unknown)})
    if "allowed_actions" in changes:
        bad = set(changes["allowed_actions"]) - set(LiaisonAction.values)
        if bad:
            raise ValidationFailed(_("未知的授权事项"), code="liaison_action_invalid", details={"actions": sorted(bad)})
        changes["allowed_actions"] = sorted(set(changes["allowed_actions"]))
    for key, value in changes.items():
        setattr(liaison, key, value)
    if "phone" in changes:
        liaison.phone_hash = keyed_hash(changes["phone"])
    liaison.save()
    audit_log(actor=actor, action="grids.liaison.updated", obj=liaison, data={k: ("***" if k == "phone" else v) for k, v in changes.items()})
    return liaison


def liaison_may(*, user: User, grid: Grid, action: str) -> bool:
    """True when `user` is an active liaison of `grid` allowed to do `action` (record, visit, …)."""
    return GridLiaison.objects.filter(user=user, grid=grid, is_active=True, allowed_actions__contains=[action]).exists()
