# covers: CR-4, CR-5
"""Membership is kept incrementally: a refresh inserts the new members and deletes the gone ones,
members who stay keep their row (id and added_at); the task and the nightly job are idempotent."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.choices import ApprovalStatus, CustomerStatus
from crm.models import Customer, Segment, SegmentMember, Tag
from crm.segments import segment_create, segment_refresh, segments_refresh_nightly
from crm.tasks import segment_refresh_task, segments_refresh_nightly_task
from crm.tests.segments_support import make_customer, rule_tag, segment_world

pytestmark = pytest.mark.django_db

FORMAL = {"v": 1, "field": "status", "op": "eq", "value": "formal"}


@pytest.fixture
def w(bank, make_user):
    return segment_world(bank, make_user)


def rows(segment) -> dict[int, tuple[int, dt.datetime]]:
    """customer id → (membership row id, added_at)."""
    return {cid: (pk, added) for pk, cid, added in SegmentMember.objects.filter(segment=segment).values_list("pk", "customer_id", "added_at")}


def test_refresh_changes_only_the_delta(w):
    c = w["c"]
    segment = segment_create(actor=w["bm_a"], name="正式客户", definition=FORMAL)
    first = segment_refresh(segment=segment)
    assert (first.members, first.added, first.removed) == (3, 3, 0)
    before = rows(segment)
    assert set(before) == {c["a1_near"].pk, c["a_old"].pk, c["a1_unlocated"].pk}

    Customer.objects.filter(pk=c["a_old"].pk).update(status=CustomerStatus.POTENTIAL)  # leaves
    newcomer = make_customer(w["bank"]["a1"], "孙新来")  # joins
    make_customer(w["bank"]["b"], "乙行新客")  # formal but out of the owner's scope: never joins
    second = segment_refresh(segment=segment)
    assert (second.members, second.added, second.removed) == (3, 1, 1)
    after = rows(segment)
    assert set(after) == {c["a1_near"].pk, c["a1_unlocated"].pk, newcomer.pk}
    for stayed in (c["a1_near"].pk, c["a1_unlocated"].pk):
        assert after[stayed] == before[stayed]  # same row, same added_at: not deleted and re-inserted
    assert after[newcomer.pk][0] > max(pk for pk, _added in before.values())

    segment.refresh_from_db()
    assert segment.member_count == 3 and segment.refreshed_at is not None
    third = segment_refresh(segment=segment)
    assert (third.added, third.removed) == (0, 0)
    assert rows(segment) == after


def test_refresh_is_one_statement_without_truncation(w):
    segment = segment_create(actor=w["bm_a"], name="全部", definition={"v": 1})
    segment_refresh(segment=segment)
    with CaptureQueriesContext(connection) as queries:
        segment_refresh(segment=segment)
    statements = [q["sql"] for q in queries.captured_queries]
    membership = [s for s in statements if "crm_segmentmember" in s]
    assert len(membership) == 1
    assert "ON CONFLICT DO NOTHING" in membership[0] and "NOT EXISTS" in membership[0]
    assert not any(s.lstrip().upper().startswith(("TRUNCATE", "DELETE FROM \"CRM_SEGMENTMEMBER\"")) for s in statements)


def test_the_task_is_idempotent_and_skips_deleted_segments(w):
    segment = segment_create(actor=w["bm_a"], name="贵宾", definition={"v": 1, "tag": "vip"})
    first = segment_refresh_task.delay(segment.pk).get()
    again = segment_refresh_task.delay(segment.pk).get()
    assert (first["members"], first["added"]) == (2, 2)
    assert (again["members"], again["added"], again["removed"]) == (2, 0, 0)
    Segment.objects.filter(pk=segment.pk).delete()
    assert segment_refresh_task.delay(segment.pk).get() == {"segment": segment.pk, "skipped": "missing"}


def test_nightly_refreshes_rule_tags_then_approved_segments(w):
    rule_tag("rich", {"v": 1, "product": "DEP1Y", "min_balance": 50_000}, name="高净值")
    approved = segment_create(actor=w["bm_a"], name="高净值", definition={"v": 1, "tag": "rich"})
    draft = segment_create(actor=w["bm_a"], name="草稿", definition={"v": 1})
    Segment.objects.filter(pk=approved.pk).update(status=ApprovalStatus.APPROVED)
    broken = segment_create(actor=w["bm_a"], name="坏掉的", definition={"v": 1, "tag": "farmer"})
    Segment.objects.filter(pk=broken.pk).update(status=ApprovalStatus.APPROVED)
    Tag.objects.filter(code="farmer").delete()  # behind the service's back: the segment can no longer compile

    result = segments_refresh_nightly_task.delay().get()
    assert result["tags"] == {"refreshed": 1, "failed": []}
    assert result["segments"] == 1 and result["failed"] == [broken.pk]
    # the rule tag was materialised first, so the segment naming it has its member (a1_near, in A's scope)
    assert set(approved.members.values_list("customer_id", flat=True)) == {w["c"]["a1_near"].pk}
    assert not draft.members.exists()
    assert segments_refresh_nightly()["segments"] == 1
