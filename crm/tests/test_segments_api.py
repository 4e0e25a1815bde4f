# covers: CR-4
"""The segments API: the scope matrix of every endpoint, visibility (private / public / submitted to
approvers), the approval flow with its log, and the masked, scoped member list."""
from __future__ import annotations

import pytest

from crm.choices import ApprovalStatus, Visibility
from crm.models import Segment, SegmentApproval
from crm.segments import segment_create, segment_refresh, segment_submit
from crm.tests.segments_support import make_customer, segment_world
from gis_core.choices import RoleCode
from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix, client_for

pytestmark = pytest.mark.django_db

STATUS_FORMAL = {"field": "status", "op": "eq", "value": "formal"}
FORMAL = {"v": 1, **STATUS_FORMAL}


@pytest.fixture
def w(bank, make_user):
    return segment_world(bank, make_user)


def new_segment(owner, *, visibility=Visibility.PUBLIC, definition=None, name="贵宾客群") -> Segment:
    return segment_create(actor=owner, name=name, definition=definition or {"v": 1, "tag": "vip"}, visibility=visibility)


# --- scope matrix ---------------------------------------------------------------------------------
def test_list_and_create(w):
    segment = new_segment(w["bm_a"])
    assert_scope_matrix(url="/api/crm/segments/", kind="list", object_id=segment.pk,
                        allowed=w["bm_a2"], no_permission=w["auditor"], out_of_scope=w["bm_b"])
    # Creating is filed under the creator's own institution: there is no "out of scope" to try.
    assert_scope_matrix(url="/api/crm/segments/", method="post", data={"name": "新客群", "definition": FORMAL},
                        allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=None, allowed_status=201)
    created = Segment.objects.get(name="新客群")
    assert (created.owner, created.institution, created.status, created.visibility) == (
        w["bm_a"], w["bank"]["a"], ApprovalStatus.DRAFT, Visibility.PRIVATE)


def test_detail_patch_delete(w):
    segment = new_segment(w["bm_a"])
    url = f"/api/crm/segments/{segment.pk}/"
    assert_scope_matrix(url=url, allowed=w["bm_a2"], no_permission=w["auditor"], out_of_scope=w["bm_b"],
                        check_allowed=lambda r: r.json()["definition"] == {"v": 1, "tag": "vip"})
    assert_scope_matrix(url=url, method="patch", data={"name": "改名"}, allowed=w["bm_a"], no_permission=w["auditor"],
                        out_of_scope=w["bm_b"])
    assert Segment.objects.get(pk=segment.pk).name == "改名"
    assert_scope_matrix(url=url, method="delete", allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=w["bm_b"],
                        allowed_status=204)
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_submit_approve_reject_approvals(w):
    segment = new_segment(w["bm_a"])
    base = f"/api/crm/segments/{segment.pk}"
    assert_scope_matrix(url=f"{base}/submit/", method="post", data={"comment": "请审批"}, allowed=w["bm_a"],
                        no_permission=w["auditor"], out_of_scope=w["bm_b"])
    # the analyst may edit but not approve
    assert_scope_matrix(url=f"{base}/reject/", method="post", data={"comment": "口径不对"}, allowed=w["bm_a2"],
                        no_permission=w["analyst_a"], out_of_scope=w["bm_b"])
    segment_submit(actor=w["bm_a"], segment=segment)
    assert_scope_matrix(url=f"{base}/approve/", method="post", data={"comment": "同意"}, allowed=w["leader"],
                        no_permission=w["analyst_a"], out_of_scope=w["bm_b"])
    assert_scope_matrix(url=f"{base}/approvals/", allowed=w["bm_a2"], no_permission=w["auditor"], out_of_scope=w["bm_b"],
                        check_allowed=lambda r: [e["action"] for e in r.json()] == ["approved", "submitted", "rejected", "submitted"])


def test_count(w):
    # The out-of-scope user gets 200 with their own (different) count, never branch A's.
    assert_scope_matrix(url="/api/crm/segments/count/", method="post", data={"definition": {"v": 1, "tag": "vip"}},
                        kind="list", allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=w["bm_b"],
                        check_allowed=lambda r: r.json() == {"count": 2})
    response = client_for(w["bm_b"]).post("/api/crm/segments/count/", {"definition": {"v": 1, "tag": "vip"}}, format="json")
    assert response.json() == {"count": 1}


def test_preview_points_masked_and_scoped(w):
    near = w["c"]["a1_near"]
    data = {"definition": {"v": 1}, "bbox": "112.8,28.0,113.2,28.3"}

    def check(response):
        body = response.json()
        assert body["mode"] == "points" and body["in_view"] == 4  # A's located customers
        names = {f["properties"]["name"] for f in body["features"]}
        assert "王**" in names and near.name not in names

    assert_scope_matrix(url="/api/crm/segments/preview/", method="post", data=data, kind="list", object_id=near.pk,
                        allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=w["bm_b"], check_allowed=check)


def test_preview_aggregates_when_many(w, login):
    for n in range(30):
        make_customer(w["bank"]["a"], f"聚合{n}", location=(112.95 + n * 0.0001, 28.15))
    response = login(w["bm_a"]).post(
        "/api/crm/segments/preview/", {"definition": {"v": 1}, "bbox": "112.8,28.0,113.2,28.3", "limit": 10}, format="json"
    )
    body = response.json()
    assert body["mode"] == "cells" and body["in_view"] == 34
    assert sum(f["properties"]["count"] for f in body["features"]) == 34
    assert all("name" not in f["properties"] for f in body["features"])


def test_preview_bbox_in_gcj02(w, login):
    from gis_core.crs import CRS, convert_point

    x, y = convert_point(112.906, 28.1055, src=CRS.WGS84, dst=CRS.GCJ02)
    bbox = f"{x - 0.0005},{y - 0.0005},{x + 0.0005},{y + 0.0005}"
    client = login(w["bm_a"])
    gcj = client.post("/api/crm/segments/preview/", {"definition": {"v": 1}, "bbox": bbox, "crs": "gcj02"}, format="json").json()
    wgs = client.post("/api/crm/segments/preview/", {"definition": {"v": 1}, "bbox": bbox}, format="json").json()
    assert [f["id"] for f in gcj["features"]] == [w["c"]["a1_near"].pk] and wgs["features"] == []


def test_refresh_and_members(w, django_capture_on_commit_callbacks):
    segment = new_segment(w["bm_a"], definition={"v": 1})
    url = f"/api/crm/segments/{segment.pk}/refresh/"
    with django_capture_on_commit_callbacks(execute=True):
        assert_scope_matrix(url=url, method="post", allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=w["bm_b"],
                            allowed_status=202)
    segment.refresh_from_db()
    assert segment.member_count == 5 and segment.refreshed_at is not None

    def check(response):
        rows = response.json()["results"]
        assert len(rows) == 5
        by_id = {r["id"]: r for r in rows}
        near = by_id[w["c"]["a1_near"].pk]
        assert near["name"] == "王**" and near["phone"] != "13800000000" and near["phone"].startswith("138")

    assert_scope_matrix(url=f"/api/crm/segments/{segment.pk}/members/", kind="detail", allowed=w["leader"],
                        no_permission=w["auditor"], out_of_scope=w["bm_b"], check_allowed=check)


# --- visibility -----------------------------------------------------------------------------------
def test_private_segments_are_the_owners_until_submitted(w, login):
    private = new_segment(w["bm_a"], visibility=Visibility.PRIVATE)
    assert login(w["bm_a"]).get(f"/api/crm/segments/{private.pk}/").status_code == 200
    assert login(w["bm_a2"]).get(f"/api/crm/segments/{private.pk}/").status_code == 404
    assert login(w["analyst_a"]).get(f"/api/crm/segments/{private.pk}/").status_code == 404
    segment_submit(actor=w["bm_a"], segment=private)
    # submitted: the approvers of the scope see it, other colleagues still do not
    assert login(w["bm_a2"]).get(f"/api/crm/segments/{private.pk}/").status_code == 200
    assert login(w["analyst_a"]).get(f"/api/crm/segments/{private.pk}/").status_code == 404
    assert login(w["bm_b"]).get(f"/api/crm/segments/{private.pk}/").status_code == 404


def test_public_segments_reach_the_scope_that_covers_their_institution(w, login):
    public = new_segment(w["bm_a"])
    assert login(w["analyst_a"]).get(f"/api/crm/segments/{public.pk}/").status_code == 200
    assert login(w["leader"]).get(f"/api/crm/segments/{public.pk}/").status_code == 200
    # the account manager's scope (sub-branch A1) does not cover branch A
    assert login(w["am"]).get(f"/api/crm/segments/{public.pk}/").status_code == 404
    ids = [s["id"] for s in login(w["bm_b"]).get("/api/crm/segments/").json()["results"]]
    assert public.pk not in ids


def test_members_are_filtered_by_the_viewers_customer_scope(w, bank, make_user, login):
    bm_a1 = make_user(bank["a1"], RoleCode.BRANCH_MANAGER)
    other = make_customer(bank["a1"], "钱多多")  # in A1, not managed by the account manager
    segment = new_segment(bm_a1, definition={"v": 1})
    segment_refresh(segment=segment)
    everyone = {r["id"] for r in login(bm_a1).get(f"/api/crm/segments/{segment.pk}/members/").json()["results"]}
    assert everyone == {w["c"]["a1_near"].pk, w["c"]["a1_unlocated"].pk, other.pk}
    mine = login(w["am"]).get(f"/api/crm/segments/{segment.pk}/members/").json()["results"]
    assert {r["id"] for r in mine} == {w["c"]["a1_near"].pk, w["c"]["a1_unlocated"].pk}
    assert {r["name"] for r in mine} == {"王小红", "赵小兵"}  # the manager sees their own customers' names


def test_membership_follows_the_owners_scope(w):
    a_segment = new_segment(w["bm_a"], definition={"v": 1})
    b_segment = new_segment(w["bm_b"], definition={"v": 1})
    segment_refresh(segment=a_segment)
    segment_refresh(segment=b_segment)
    a_members = set(a_segment.members.values_list("customer_id", flat=True))
    assert a_members == {c.pk for k, c in w["c"].items() if k.startswith("a")}
    assert set(b_segment.members.values_list("customer_id", flat=True)) == {w["c"]["b_vip"].pk, w["c"]["b1_plain"].pk}


# --- approval flow --------------------------------------------------------------------------------
def test_approval_flow_with_log(w, login, django_capture_on_commit_callbacks):
    owner, approver = login(w["bm_a"]), login(w["bm_a2"])
    created = owner.post("/api/crm/segments/", {"name": "正式贵宾", "definition": {"v": 1, "all": [STATUS_FORMAL, {"tag": "vip"}]},
                                                "visibility": "public"}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    base = f"/api/crm/segments/{pk}"
    assert created.json()["can"] == {"edit": True, "submit": True, "delete": True, "approve": False, "refresh": True}
    # approving a draft, or one's own pending segment, is refused
    assert approver.post(f"{base}/approve/", {}, format="json").status_code == 409
    assert owner.post(f"{base}/submit/", {"comment": "请审批"}, format="json").json()["status"] == "pending"
    own = owner.post(f"{base}/approve/", {}, format="json")
    assert own.status_code == 403 and own.json()["error"]["code"] == "segment_own_approval"
    # pending: the owner cannot edit, the approver sees it can be approved
    assert owner.patch(f"{base}/", {"name": "x"}, format="json").status_code == 409
    assert approver.get(f"{base}/").json()["can"]["approve"] is True
    # a rejection needs a reason
    assert approver.post(f"{base}/reject/", {"comment": " "}, format="json").json()["error"]["code"] == "comment_required"
    assert approver.post(f"{base}/reject/", {"comment": "请加上客户经理条件"}, format="json").json()["status"] == "rejected"
    # rejected → edit (back to draft) → resubmit → approved by someone else
    edited = owner.patch(f"{base}/", {"definition": {"v": 1, "all": [STATUS_FORMAL, {"tag": "vip"},
                                                                      {"field": "manager", "op": "eq", "value": w["am"].pk}]}},
                         format="json")
    assert edited.json()["status"] == "draft"
    assert owner.post(f"{base}/submit/", {}, format="json").json()["status"] == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        approved = approver.post(f"{base}/approve/", {"comment": "同意"}, format="json")
    assert approved.json()["status"] == "approved"
    assert Segment.objects.get(pk=pk).member_count == 1  # refreshed after the approval committed: a1_near
    log = owner.get(f"{base}/approvals/").json()
    assert [(e["action"], e["actor"]["id"], e["comment"]) for e in log] == [
        ("approved", w["bm_a2"].pk, "同意"),
        ("submitted", w["bm_a"].pk, ""),
        ("reopened", w["bm_a"].pk, ""),
        ("rejected", w["bm_a2"].pk, "请加上客户经理条件"),
        ("submitted", w["bm_a"].pk, "请审批"),
    ]
    actions = list(AuditEntry.objects.filter(object_type="crm.segment", object_id=str(pk)).values_list("action", flat=True))
    for action in ("crm.segment.created", "crm.segment.submitted", "crm.segment.rejected", "crm.segment.updated",
                   "crm.segment.approved", "crm.segment.refreshed"):
        assert action in actions
    # approved: not deletable; re-defining it sends it back to draft
    assert owner.delete(f"{base}/").status_code == 409
    assert owner.patch(f"{base}/", {"name": "正式贵宾（新）"}, format="json").json()["status"] == "approved"
    assert owner.patch(f"{base}/", {"definition": FORMAL}, format="json").json()["status"] == "draft"


def test_only_the_owner_edits_submits_or_deletes(w, login):
    segment = new_segment(w["bm_a"])
    other = login(w["bm_a2"])
    for method, suffix, data in (("patch", "", {"name": "x"}), ("post", "submit/", {}), ("delete", "", None)):
        response = getattr(other, method)(f"/api/crm/segments/{segment.pk}/{suffix}", data, format="json")
        assert response.status_code == 403, (method, suffix)
        assert response.json()["error"]["code"] == "segment_not_owner"
    assert SegmentApproval.objects.filter(segment=segment).count() == 0


def test_create_rejects_a_bad_definition_with_its_path(w, login):
    response = login(w["bm_a"]).post("/api/crm/segments/", {"name": "坏", "definition": {"v": 1, "all": [{"tag": "gone"}]}},
                                     format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["path"] == "$.all[0]"
    assert not Segment.objects.filter(name="坏").exists()
