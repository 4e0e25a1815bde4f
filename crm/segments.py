"""Segments (客群, CR-4) and tags (CR-5): writes and rules. Keyword-only, typed, atomic, audited.

A segment is a definition in the filter language of crm.segment_filters, owned by the user who made
it and filed under their institution, private or public, and approved before it is used (draft →
pending → approved / rejected, never approved by its owner, every step in `SegmentApproval`).

Membership is materialised in `SegmentMember` and kept INCREMENTALLY (`segment_refresh`): one
statement computes the current id set, inserts the new members (`INSERT … SELECT … ON CONFLICT DO
NOTHING`) and deletes the gone (an anti-join), so members who stay keep their row and `added_at`,
and a refresh after a 1 % change writes 1 % of the rows — Mautic rebuilds a 260k segment in 40
minutes whatever changed (#8113). The scope of a segment is its owner's data scope, re-entered on
every refresh: a segment never reaches customers its owner may not see.

Tags are a bank-wide catalogue. Manual tags are put on and taken off customers in the actor's
scope; rule tags (`kind=rule`, `rule` in the same filter language) are materialised into
`CustomerTag` the same incremental way, evaluated over the WHOLE bank (system scope): a tag is a
fact about a customer ("holds a loan above 500k"), not a view of one user, so every user sees the
same tag on the same customer; who may see the customer is still decided by the customer scope.
"""
from __future__ import annotations

import graphlib
import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import ApprovalStatus, TagKind, Visibility
from crm.models import Customer, CustomerTag, ImportBatch, Segment, SegmentApproval, SegmentMember, Tag
from crm.permissions import Perm
from crm.segment_filters import definition_compile, definition_problems, definition_tag_codes
from crm.segment_selectors import customers_for_definition
from gis_core.audit import audit_log
from gis_core.bbox import BBox
from gis_core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gis_core.masking import mask_name

logger = logging.getLogger(__name__)

PREVIEW_LIMIT = 2000  # points shown one by one; above that the preview aggregates into cells
PREVIEW_CELLS_PER_SIDE = 40
TAG_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_TAG_BATCH = 10_000


@dataclass(frozen=True)
class MembershipDelta:
    """What one incremental refresh did."""

    members: int
    added: int
    removed: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


# --- helpers ------------------------------------------------------------------------------------
def _require(actor: Any, perm: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm_code(perm):
        raise PermissionDenied()


def _require_owner(actor: Any, segment: Segment) -> None:
    if segment.owner_id != actor.pk:
        raise PermissionDenied(_("只有客群的创建人可以执行此操作"), code="segment_not_owner")


def _locked(segment: Segment) -> Segment:
    return Segment.objects.select_for_update(of=("self",)).select_related("owner", "institution").get(pk=segment.pk)


def _enqueue_segment_refresh(segment_id: int) -> None:
    from crm.tasks import segment_refresh_task

    transaction.on_commit(lambda: segment_refresh_task.delay(segment_id))


def _enqueue_tag_refresh(tag_id: int) -> None:
    from crm.tasks import tag_refresh_task

    transaction.on_commit(lambda: tag_refresh_task.delay(tag_id))


def _log(segment: Segment, *, action: str, actor: Any, comment: str = "") -> SegmentApproval:
    return SegmentApproval.objects.create(segment=segment, action=action, actor=actor, comment=comment[:255])


def _sync_membership(*, table: str, fixed: dict[str, int], stamp_column: str, customers: QuerySet) -> MembershipDelta:
    """Make the rows of `table` whose `fixed` columns hold the given values (one segment, one tag)
    equal the customer id set of `customers`, in ONE statement: the id set is computed once, new
    ids are inserted, gone ids deleted, rows that stay are not touched."""
    started = time.perf_counter()
    inner_sql, inner_params = customers.order_by().values("pk").query.sql_with_params()
    fixed_columns = list(fixed)
    fixed_values = [fixed[c] for c in fixed_columns]
    fixed_match = " AND ".join(f"m.{c} = %s" for c in fixed_columns)
    statement = f"""
        WITH cur(id) AS MATERIALIZED ({inner_sql}),
        ins AS (
            INSERT INTO {table} ({", ".join(fixed_columns)}, customer_id, {stamp_column})
            SELECT {", ".join("%s" for _c in fixed_columns)}, cur.id, %s FROM cur
            WHERE NOT EXISTS (SELECT 1 FROM {table} m WHERE {fixed_match} AND m.customer_id = cur.id)
            ORDER BY cur.id
            ON CONFLICT DO NOTHING
            RETURNING 1
        ),
        del AS (
            DELETE FROM {table} m WHERE {fixed_match}
            AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.id = m.customer_id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM cur), (SELECT count(*) FROM ins), (SELECT count(*) FROM del)"""
    params = [*inner_params, *fixed_values, timezone.now(), *fixed_values, *fixed_values]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        members, added, removed = cursor.fetchone()
    return MembershipDelta(members=members, added=added, removed=removed, seconds=time.perf_counter() - started)


# --- segments: editing ----------------------------------------------------------------------------
@transaction.atomic
def segment_create(
    *,
    actor: Any,
    name: str,
    definition: dict,
    description: str = "",
    visibility: str = Visibility.PRIVATE,
    source_batch: ImportBatch | None = None,
) -> Segment:
    """A new draft segment owned by the actor and filed under the actor's institution. The
    definition is validated (400 with the path of the bad node); membership is computed after commit."""
    _require(actor, Perm.SEGMENT_EDIT)
    if actor.institution_id is None:
        raise ValidationFailed(_("您没有所属机构，不能创建客群"), code="institution_required")
    definition_compile(definition)
    segment = Segment.objects.create(
        name=name, description=description, definition=definition, visibility=visibility,
        status=ApprovalStatus.DRAFT, institution_id=actor.institution_id, owner=actor, source_batch=source_batch,
    )
    audit_log(actor=actor, action="crm.segment.created", obj=segment, data={"visibility": visibility, "definition": definition})
    _enqueue_segment_refresh(segment.pk)
    return segment


@transaction.atomic
def segment_update(
    *,
    actor: Any,
    segment: Segment,
    name: str | None = None,
    description: str | None = None,
    definition: dict | None = None,
    visibility: str | None = None,
) -> Segment:
    """Edit a segment (its owner only; not while it awaits approval). A rejected segment returns to
    draft; so does an approved one whose definition or visibility changes (it must be approved again)."""
    _require(actor, Perm.SEGMENT_EDIT)
    segment = _locked(segment)
    _require_owner(actor, segment)
    if segment.status == ApprovalStatus.PENDING:
        raise Conflict(_("客群正在审批中，不能修改"), code="segment_pending")
    changes: dict[str, Any] = {}
    if definition is not None and definition != segment.definition:
        definition_compile(definition)
        changes["definition"] = definition
    for field, value in (("name", name), ("description", description), ("visibility", visibility)):
        if value is not None and value != getattr(segment, field):
            changes[field] = value
    if not changes:
        return segment
    before_status = segment.status
    for field, value in changes.items():
        setattr(segment, field, value)
    if segment.status == ApprovalStatus.REJECTED or (
        segment.status == ApprovalStatus.APPROVED and ({"definition", "visibility"} & set(changes))
    ):
        segment.status = ApprovalStatus.DRAFT
    segment.save()
    if segment.status != before_status:
        _log(segment, action="reopened", actor=actor)
    audit_log(actor=actor, action="crm.segment.updated", obj=segment, data={"changes": changes, "status": segment.status})
    if "definition" in changes:
        _enqueue_segment_refresh(segment.pk)
    return segment


@transaction.atomic
def segment_delete(*, actor: Any, segment: Segment) -> None:
    """Delete a draft or rejected segment (its owner only); its membership goes with it."""
    _require(actor, Perm.SEGMENT_EDIT)
    segment = _locked(segment)
    _require_owner(actor, segment)
    if segment.status not in (ApprovalStatus.DRAFT, ApprovalStatus.REJECTED):
        raise Conflict(_("只能删除草稿或已驳回的客群"), code="segment_not_deletable")
    audit_log(actor=actor, action="crm.segment.deleted", obj=segment, data={"name": segment.name, "members": segment.member_count})
    segment.delete()


# --- segments: approval ---------------------------------------------------------------------------
@transaction.atomic
def segment_submit(*, actor: Any, segment: Segment, comment: str = "") -> Segment:
    """Ask for approval (owner only): draft or rejected → pending."""
    _require(actor, Perm.SEGMENT_EDIT)
    segment = _locked(segment)
    _require_owner(actor, segment)
    if segment.status not in (ApprovalStatus.DRAFT, ApprovalStatus.REJECTED):
        raise Conflict(_("只有草稿或已驳回的客群可以提交审批"), code="segment_not_submittable")
    definition_compile(segment.definition)  # a tag may have gone since it was saved
    segment.status = ApprovalStatus.PENDING
    segment.save(update_fields=["status", "updated_at"])
    _log(segment, action="submitted", actor=actor, comment=comment)
    audit_log(actor=actor, action="crm.segment.submitted", obj=segment, data={"comment": comment})
    return segment


def _decide(*, actor: Any, segment: Segment, approve: bool, comment: str) -> Segment:
    _require(actor, Perm.SEGMENT_APPROVE)
    segment = _locked(segment)
    if segment.owner_id == actor.pk:
        raise PermissionDenied(_("不能审批自己创建的客群"), code="segment_own_approval")
    if segment.status != ApprovalStatus.PENDING:
        raise Conflict(_("该客群不在待审批状态"), code="segment_not_pending")
    segment.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    segment.save(update_fields=["status", "updated_at"])
    action = "approved" if approve else "rejected"
    _log(segment, action=action, actor=actor, comment=comment)
    audit_log(actor=actor, action=f"crm.segment.{action}", obj=segment, data={"comment": comment})
    return segment


@transaction.atomic
def segment_approve(*, actor: Any, segment: Segment, comment: str = "") -> Segment:
    """Approve a pending segment (SEGMENT_APPROVE, never its owner); membership refreshes after commit."""
    segment = _decide(actor=actor, segment=segment, approve=True, comment=comment)
    _enqueue_segment_refresh(segment.pk)
    return segment


@transaction.atomic
def segment_reject(*, actor: Any, segment: Segment, comment: str) -> Segment:
    """Reject a pending segment with a reason (SEGMENT_APPROVE, never its owner); the owner may edit
    and submit it again."""
    if not (comment or "").strip():
        raise ValidationFailed(_("驳回时请填写原因"), code="comment_required")
    return _decide(actor=actor, segment=segment, approve=False, comment=comment)


# --- segments: live count, preview, membership ----------------------------------------------------
def segment_count(*, actor: Any, definition: Any) -> int:
    """The live count while editing: customers in the actor's scope matching the definition. Writes nothing."""
    return customers_for_definition(actor=actor, definition=definition).count()


def segment_preview(*, actor: Any, definition: Any, bbox: BBox, limit: int = PREVIEW_LIMIT) -> dict[str, Any]:
    """The map preview while editing: the located matching customers inside `bbox` (WGS-84) as a
    GeoJSON FeatureCollection of points with masked names when there are at most `limit`, else
    square cells (about 40 across the box) with their count at the members' mean position."""
    customers = customers_for_definition(actor=actor, definition=definition).filter(
        location__isnull=False, location__bboverlaps=bbox.as_polygon()
    )
    in_view = customers.count()
    if in_view <= limit:
        rows = customers.order_by("id").values_list("id", "name", "status", "kind", "location")
        features = [
            {"type": "Feature", "id": pk, "geometry": {"type": "Point", "coordinates": [round(p.x, 7), round(p.y, 7)]},
             "properties": {"id": pk, "name": mask_name(name), "status": status, "kind": kind}}
            for pk, name, status, kind, p in rows
        ]
        return {"type": "FeatureCollection", "mode": "points", "in_view": in_view, "features": features}
    size = max(bbox.xmax - bbox.xmin, bbox.ymax - bbox.ymin) / PREVIEW_CELLS_PER_SIDE
    inner_sql, inner_params = customers.order_by().values("location").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT floor(ST_X(s.loc) / %s)::bigint AS i, floor(ST_Y(s.loc) / %s)::bigint AS j, count(*),
                       avg(ST_X(s.loc)), avg(ST_Y(s.loc))
                FROM ({inner_sql}) AS s(loc) GROUP BY 1, 2 ORDER BY 3 DESC""",
            [size, size, *inner_params],
        )
        cells = cursor.fetchall()
    features = [
        {"type": "Feature", "id": f"cell:{i}:{j}", "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
         "properties": {"count": n, "cell": [i * size, j * size, (i + 1) * size, (j + 1) * size]}}
        for i, j, n, x, y in cells
    ]
    return {"type": "FeatureCollection", "mode": "cells", "in_view": in_view, "cell_degrees": size, "features": features}


@transaction.atomic
def segment_refresh(*, segment: Segment) -> MembershipDelta:
    """Bring a segment's membership up to date, incrementally (see the module docstring), under its
    owner's data scope re-entered now. Serialised per segment by a row lock; safe to run twice."""
    segment = _locked(segment)
    customers = Customer.objects.for_actor(segment.owner).filter(definition_compile(segment.definition))
    delta = _sync_membership(
        table=SegmentMember._meta.db_table, fixed={"segment_id": segment.pk}, stamp_column="added_at", customers=customers
    )
    Segment.objects.filter(pk=segment.pk).update(member_count=delta.members, refreshed_at=timezone.now())
    audit_log(actor=None, action="crm.segment.refreshed", obj=segment, data=delta.as_dict())
    return delta


@transaction.atomic
def segment_refresh_request(*, actor: Any, segment: Segment) -> None:
    """Ask for a refresh now (the API answers 202; the task does the work)."""
    _require(actor, Perm.SEGMENT_EDIT)
    audit_log(actor=actor, action="crm.segment.refresh_requested", obj=segment)
    _enqueue_segment_refresh(segment.pk)


def segments_refresh_nightly() -> dict[str, Any]:
    """The nightly job: rule tags first (segments may name them), then every approved segment, each
    in its own transaction; one failure (a tag deleted under a segment) is logged and skipped."""
    result: dict[str, Any] = {"tags": tags_refresh_rules(), "segments": 0, "failed": []}
    for pk in Segment.objects.filter(status=ApprovalStatus.APPROVED).order_by("pk").values_list("pk", flat=True):
        try:
            segment_refresh(segment=Segment(pk=pk))
            result["segments"] += 1
        except Exception:  # noqa: BLE001 - one broken segment must not stop the others
            logger.exception("segment %s refresh failed", pk)
            result["failed"].append(pk)
    return result


# --- tags -----------------------------------------------------------------------------------------
def _check_rule(*, code: str, kind: str, rule: Any) -> dict:
    if kind != TagKind.RULE:
        if rule:
            raise ValidationFailed(_("手工标签不能设置规则"), code="tag_rule_not_allowed")
        return {}
    if not rule:
        raise ValidationFailed(_("规则标签须设置规则"), code="tag_rule_required")
    definition_compile(rule)
    if code in definition_tag_codes(rule):
        raise ValidationFailed(_("规则不能引用标签自身"), code="tag_rule_self_reference", details={"path": "$"})
    return rule


@transaction.atomic
def tag_create(
    *, actor: Any, code: str, name: str, category: str = "", kind: str = TagKind.MANUAL, rule: dict | None = None,
    is_active: bool = True,
) -> Tag:
    """Add a tag to the catalogue (TAG_MANAGE). Rule tags are materialised after commit."""
    _require(actor, Perm.TAG_MANAGE)
    if not TAG_CODE.match(code or ""):
        raise ValidationFailed(_("标签代码只能包含字母、数字、下划线、点和短横线，最长 64 个字符"), code="tag_code_invalid")
    if Tag.objects.filter(code=code).exists():
        raise Conflict(_("标签代码已存在"), code="tag_code_taken")
    rule = _check_rule(code=code, kind=kind, rule=rule)
    tag = Tag.objects.create(code=code, name=name, category=category, kind=kind, rule=rule, is_active=is_active)
    audit_log(actor=actor, action="crm.tag.created", obj=tag, data={"code": code, "kind": kind, "rule": rule})
    if kind == TagKind.RULE:
        _enqueue_tag_refresh(tag.pk)
    return tag


@transaction.atomic
def tag_update(
    *, actor: Any, tag: Tag, name: str | None = None, category: str | None = None, rule: dict | None = None,
    is_active: bool | None = None,
) -> Tag:
    """Edit a tag (TAG_MANAGE). Code and kind never change: segments and rules name tags by code."""
    _require(actor, Perm.TAG_MANAGE)
    tag = Tag.objects.select_for_update().get(pk=tag.pk)
    changes: dict[str, Any] = {}
    if rule is not None and rule != tag.rule:
        changes["rule"] = _check_rule(code=tag.code, kind=tag.kind, rule=rule)
    for field, value in (("name", name), ("category", category), ("is_active", is_active)):
        if value is not None and value != getattr(tag, field):
            changes[field] = value
    if not changes:
        return tag
    for field, value in changes.items():
        setattr(tag, field, value)
    tag.save()
    audit_log(actor=actor, action="crm.tag.updated", obj=tag, data={"changes": changes})
    if "rule" in changes:
        _enqueue_tag_refresh(tag.pk)
    return tag


@transaction.atomic
def tag_delete(*, actor: Any, tag: Tag) -> None:
    """Remove a tag and every customer's copy of it (TAG_MANAGE); refused (409 `tag_in_use`) while a
    segment definition or another rule names it."""
    _require(actor, Perm.TAG_MANAGE)
    tag = Tag.objects.select_for_update().get(pk=tag.pk)
    segments = [pk for pk, definition in Segment.objects.values_list("pk", "definition") if tag.code in definition_tag_codes(definition)]
    rules = [code for code, rule in Tag.objects.filter(kind=TagKind.RULE).exclude(pk=tag.pk).values_list("code", "rule")
             if tag.code in definition_tag_codes(rule)]
    if segments or rules:
        raise Conflict(_("标签仍被客群或规则标签使用，不能删除"), code="tag_in_use", details={"segments": segments, "tags": rules})
    audit_log(actor=actor, action="crm.tag.deleted", obj=tag, data={"code": tag.code, "customers": tag.customer_tags.count()})
    tag.delete()


def _scoped_customer_ids(*, actor: Any, customer_ids: list[int]) -> list[int]:
    wanted = sorted(set(customer_ids))
    if len(wanted) > MAX_TAG_BATCH:
        raise ValidationFailed(_("一次最多处理 {n} 个客户").format(n=MAX_TAG_BATCH), code="too_many_customers")
    found = list(Customer.objects.for_actor(actor).filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True))
    if len(found) != len(wanted):
        raise NotFound(_("部分客户不存在或不在您的管辖范围内"), code="customers_not_found")
    return found


def _require_manual(tag: Tag) -> None:
    if tag.kind != TagKind.MANUAL:
        raise Conflict(_("规则标签由系统按规则计算，不能手工添加或移除"), code="tag_is_rule")


@transaction.atomic
def tag_apply(*, actor: Any, tag: Tag, customer_ids: list[int]) -> int:
    """Put a manual tag on customers in the actor's scope (all of them, or 404 and nothing). Returns
    how many did not have it yet."""
    _require(actor, Perm.TAG_MANAGE)
    _require_manual(tag)
    ids = _scoped_customer_ids(actor=actor, customer_ids=customer_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {CustomerTag._meta.db_table} (customer_id, tag_id, created_by_id, created_at)
                SELECT c, %s, %s, %s FROM unnest(%s::bigint[]) AS c
                ON CONFLICT (customer_id, tag_id) DO NOTHING""",
            [tag.pk, actor.pk, timezone.now(), ids],
        )
        added = cursor.rowcount
    audit_log(actor=actor, action="crm.tag.applied", obj=tag, data={"customers": len(ids), "added": added})
    return added


@transaction.atomic
def tag_remove(*, actor: Any, tag: Tag, customer_ids: list[int]) -> int:
    """Take a manual tag off customers in the actor's scope. Returns how many had it."""
    _require(actor, Perm.TAG_MANAGE)
    _require_manual(tag)
    ids = _scoped_customer_ids(actor=actor, customer_ids=customer_ids)
    removed, _detail = CustomerTag.objects.filter(tag=tag, customer_id__in=ids).delete()
    audit_log(actor=actor, action="crm.tag.removed", obj=tag, data={"customers": len(ids), "removed": removed})
    return removed


@transaction.atomic
def tag_refresh(*, tag: Tag) -> MembershipDelta:
    """Materialise a rule tag into CustomerTag, incrementally, over the whole bank (see the module
    docstring for why the system scope). Serialised per tag by a row lock; safe to run twice."""
    tag = Tag.objects.select_for_update().get(pk=tag.pk)
    if tag.kind != TagKind.RULE:
        raise Conflict(_("只有规则标签可以按规则刷新"), code="tag_not_rule")
    customers = Customer.objects.filter(definition_compile(tag.rule))
    delta = _sync_membership(table=CustomerTag._meta.db_table, fixed={"tag_id": tag.pk}, stamp_column="created_at", customers=customers)
    audit_log(actor=None, action="crm.tag.refreshed", obj=tag, data=delta.as_dict())
    return delta


@transaction.atomic
def tag_refresh_request(*, actor: Any, tag: Tag) -> None:
    """Ask for a rule tag's refresh now (the API answers 202)."""
    _require(actor, Perm.TAG_MANAGE)
    if tag.kind != TagKind.RULE:
        raise Conflict(_("只有规则标签可以按规则刷新"), code="tag_not_rule")
    audit_log(actor=actor, action="crm.tag.refresh_requested", obj=tag)
    _enqueue_tag_refresh(tag.pk)


def tags_refresh_rules() -> dict[str, Any]:
    """Refresh every active rule tag, those a rule names before the rule (a cycle falls back to code
    order). Each in its own transaction; failures are logged and skipped."""
    rules = {tag.code: tag for tag in Tag.objects.filter(kind=TagKind.RULE, is_active=True).order_by("code")}
    graph = {code: definition_tag_codes(tag.rule) & set(rules) for code, tag in rules.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        order = list(rules)
    done, failed = 0, []
    for code in order:
        if definition_problems(rules[code].rule):
            failed.append(code)
            continue
        try:
            tag_refresh(tag=rules[code])
            done += 1
        except Exception:  # noqa: BLE001 - one broken rule must not stop the others
            logger.exception("rule tag %s refresh failed", code)
            failed.append(code)
    return {"refreshed": done, "failed": failed}


def segment_refresh_by_id(*, segment_id: int) -> dict[str, Any]:
    """The task's entry: a segment deleted meanwhile is skipped (idempotent)."""
    if not Segment.objects.filter(pk=segment_id).exists():
        return {"segment": segment_id, "skipped": "missing"}
    return {"segment": segment_id, **segment_refresh(segment=Segment(pk=segment_id)).as_dict()}


def tag_refresh_by_id(*, tag_id: int) -> dict[str, Any]:
    """The task's entry: a tag deleted (or turned inactive) meanwhile is skipped (idempotent)."""
    tag = Tag.objects.filter(pk=tag_id, kind=TagKind.RULE).first()
    if tag is None:
        return {"tag": tag_id, "skipped": "missing"}
    return {"tag": tag_id, **tag_refresh(tag=tag).as_dict()}


__all__ = [
    "MembershipDelta", "segment_approve", "segment_count", "segment_create", "segment_delete", "segment_preview",
    "segment_refresh", "segment_refresh_by_id", "segment_refresh_request", "segment_reject", "segment_submit",
    "segment_update", "segments_refresh_nightly", "tag_apply", "tag_create", "tag_delete", "tag_refresh",
    "tag_refresh_by_id", "tag_refresh_request", "tag_remove", "tag_update", "tags_refresh_rules",
]
