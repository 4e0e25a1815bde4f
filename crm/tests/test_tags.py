# covers: CR-5, CR-4
"""Tags: the catalogue (CRUD, TAG_MANAGE), manual tagging in bulk within the data scope, and rule
tags materialised incrementally over the whole bank; the scope matrix of every tag endpoint."""
from __future__ import annotations

import pytest

from crm.choices import TagKind
from crm.models import Customer, CustomerTag, Tag
from crm.segments import segment_create, tag_refresh, tags_refresh_rules
from crm.tasks import tag_refresh_task
from crm.tests.segments_support import make_customer, rule_tag, segment_world, years_ago
from gis_core.testing import assert_scope_matrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(bank, make_user):
    return segment_world(bank, make_user)


def tagged(tag: Tag) -> set[int]:
    return set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True))


# --- scope matrix (the catalogue is bank-wide: no "out of scope" for its own rows) ----------------
def test_catalogue_endpoints(w):
    vip = w["vip"]
    assert_scope_matrix(url="/api/crm/tags/", kind="list", object_id=vip.pk, allowed=w["analyst_a"],
                        no_permission=w["auditor"], out_of_scope=None)
    assert_scope_matrix(url="/api/crm/tags/", method="post", data={"code": "shop", "name": "商户", "category": "经营"},
                        allowed=w["bm_a"], no_permission=w["analyst_a"], out_of_scope=None, allowed_status=201)
    assert Tag.objects.get(code="shop").kind == TagKind.MANUAL
    # the count on the detail is the viewer's: branch A sees 2 of the 3 VIPs, branch B 1
    assert_scope_matrix(url=f"/api/crm/tags/{vip.pk}/", allowed=w["bm_a"], no_permission=w["auditor"], out_of_scope=None,
                        check_allowed=lambda r: r.json()["customer_count"] == 2)
    assert_scope_matrix(url=f"/api/crm/tags/{vip.pk}/", allowed=w["bm_b"], no_permission=None, out_of_scope=None,
                        check_allowed=lambda r: r.json()["customer_count"] == 1)
    assert_scope_matrix(url=f"/api/crm/tags/{vip.pk}/", method="patch", data={"name": "贵宾客户"}, allowed=w["admin"],
                        no_permission=w["analyst_a"], out_of_scope=None)
    shop = Tag.objects.get(code="shop")
    assert_scope_matrix(url=f"/api/crm/tags/{shop.pk}/", method="delete", allowed=w["bm_a"], no_permission=w["analyst_a"],
                        out_of_scope=None, allowed_status=204)
    assert not Tag.objects.filter(code="shop").exists()


def test_apply_and_remove_are_scoped(w):
    vip, c = w["vip"], w["c"]
    url = f"/api/crm/tags/{vip.pk}"
    data = {"customer_ids": [c["a_young"].pk, c["a_old"].pk]}
    assert_scope_matrix(url=f"{url}/apply/", method="post", data=data, allowed=w["bm_a"], no_permission=w["analyst_a"],
                        out_of_scope=w["bm_b"], check_allowed=lambda r: r.json() == {"added": 2})
    assert {c["a_young"].pk, c["a_old"].pk} <= tagged(vip)
    assert_scope_matrix(url=f"{url}/remove/", method="post", data=data, allowed=w["bm_a"], no_permission=w["analyst_a"],
                        out_of_scope=w["bm_b"], check_allowed=lambda r: r.json() == {"removed": 2})
    assert not {c["a_young"].pk, c["a_old"].pk} & tagged(vip)


def test_refresh_endpoint(w, django_capture_on_commit_callbacks):
    adults = rule_tag("adult40", {"v": 1, "field": "age", "op": "gte", "value": 40})
    with django_capture_on_commit_callbacks(execute=True):
        assert_scope_matrix(url=f"/api/crm/tags/{adults.pk}/refresh/", method="post", allowed=w["bm_a"],
                            no_permission=w["analyst_a"], out_of_scope=None, allowed_status=202)
    assert tagged(adults) == {w["c"]["a_old"].pk, w["c"]["b_vip"].pk}
    manual = login_post(w["bm_a"], f"/api/crm/tags/{w['vip'].pk}/refresh/", {})
    assert manual.status_code == 409 and manual.json()["error"]["code"] == "tag_not_rule"


def login_post(user, url, data):
    from gis_core.testing import client_for

    return client_for(user).post(url, data, format="json")


# --- the catalogue's rules ------------------------------------------------------------------------
def test_catalogue_rules(w):
    bm = w["bm_a"]
    assert login_post(bm, "/api/crm/tags/", {"code": "vip", "name": "重复"}).json()["error"]["code"] == "tag_code_taken"
    assert login_post(bm, "/api/crm/tags/", {"code": "有空 格", "name": "x"}).json()["error"]["code"] == "tag_code_invalid"
    bad_rule = login_post(bm, "/api/crm/tags/", {"code": "r1", "name": "规则", "kind": "rule",
                                                 "rule": {"v": 1, "any": [{"tag": "vip"}, {"field": "shoe_size", "op": "eq", "value": 42}]}})
    assert bad_rule.status_code == 400 and bad_rule.json()["error"]["details"]["path"] == "$.any[1]"
    own = login_post(bm, "/api/crm/tags/", {"code": "r2", "name": "自引用", "kind": "rule", "rule": {"v": 1, "tag": "r2"}})
    assert own.status_code == 400  # r2 does not exist yet: unknown tag; once it does, self-reference is refused
    r2 = rule_tag("r2", {"v": 1, "tag": "vip"})
    patched = login_post_patch(bm, f"/api/crm/tags/{r2.pk}/", {"rule": {"v": 1, "tag": "r2"}})
    assert patched.json()["error"]["code"] == "tag_rule_self_reference"
    manual_rule = login_post(bm, "/api/crm/tags/", {"code": "m1", "name": "手工", "rule": {"v": 1, "tag": "vip"}})
    assert manual_rule.json()["error"]["code"] == "tag_rule_not_allowed"
    # a rule tag is never put on by hand
    apply = login_post(bm, f"/api/crm/tags/{r2.pk}/apply/", {"customer_ids": [w["c"]["a_old"].pk]})
    assert apply.status_code == 409 and apply.json()["error"]["code"] == "tag_is_rule"


def login_post_patch(user, url, data):
    from gis_core.testing import client_for

    return client_for(user).patch(url, data, format="json")


def test_a_tag_in_use_cannot_be_deleted(w):
    segment = segment_create(actor=w["bm_a"], name="用贵宾", definition={"v": 1, "not": {"tags_any": ["farmer", "vip"]}})
    rule_tag("vip_formal", {"v": 1, "all": [{"tag": "vip"}, {"field": "status", "op": "eq", "value": "formal"}]})
    from gis_core.testing import client_for

    response = client_for(w["bm_a"]).delete(f"/api/crm/tags/{w['vip'].pk}/")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"segments": [segment.pk], "tags": ["vip_formal"]}
    assert Tag.objects.filter(code="vip").exists()


def test_apply_is_all_or_nothing_within_the_scope(w):
    c, vip = w["c"], w["vip"]
    response = login_post(w["bm_a"], f"/api/crm/tags/{vip.pk}/apply/", {"customer_ids": [c["a_young"].pk, c["b1_plain"].pk]})
    assert response.status_code == 404
    assert c["a_young"].pk not in tagged(vip) and c["b1_plain"].pk not in tagged(vip)
    again = login_post(w["bm_a"], f"/api/crm/tags/{vip.pk}/apply/", {"customer_ids": [c["a1_near"].pk, c["a_young"].pk]})
    assert again.json() == {"added": 1}  # a1_near had it already
    # the account manager (no TAG_MANAGE) may not tag at all
    assert login_post(w["am"], f"/api/crm/tags/{vip.pk}/apply/", {"customer_ids": [c["a1_near"].pk]}).status_code == 403


# --- rule tags ------------------------------------------------------------------------------------
def test_rule_tags_materialise_incrementally_over_the_whole_bank(w):
    c = w["c"]
    adults = rule_tag("adult40", {"v": 1, "field": "age", "op": "gte", "value": 40})
    first = tag_refresh(tag=adults)
    assert (first.members, first.added, first.removed) == (2, 2, 0)
    assert tagged(adults) == {c["a_old"].pk, c["b_vip"].pk}  # both branches: the system scope
    before = {cid: (pk, at) for pk, cid, at in CustomerTag.objects.filter(tag=adults).values_list("pk", "customer_id", "created_at")}
    manual_before = set(CustomerTag.objects.filter(tag=w["vip"]).values_list("pk", flat=True))

    Customer.objects.filter(pk=c["a_old"].pk).update(birth_date=years_ago(35))
    newcomer = make_customer(w["bank"]["b1"], "吴五十", birth_date=years_ago(50))
    second = tag_refresh(tag=adults)
    assert (second.members, second.added, second.removed) == (2, 1, 1)
    after = {cid: (pk, at) for pk, cid, at in CustomerTag.objects.filter(tag=adults).values_list("pk", "customer_id", "created_at")}
    assert set(after) == {c["b_vip"].pk, newcomer.pk}
    assert after[c["b_vip"].pk] == before[c["b_vip"].pk]  # the unchanged row is kept
    assert set(CustomerTag.objects.filter(tag=w["vip"]).values_list("pk", flat=True)) == manual_before  # other tags untouched
    assert tag_refresh_task.delay(adults.pk).get()["added"] == 0


def test_rule_tags_refresh_in_dependency_order(w):
    rich_vip = rule_tag("a_rich_vip", {"v": 1, "all": [{"tag": "z_rich"}, {"tag": "vip"}]})
    rich = rule_tag("z_rich", {"v": 1, "product_category": "deposit", "min_balance": 50_000})
    result = tags_refresh_rules()
    assert result == {"refreshed": 2, "failed": []}
    assert tagged(rich) == {w["c"]["a1_near"].pk, w["c"]["b_vip"].pk}
    assert tagged(rich_vip) == {w["c"]["a1_near"].pk, w["c"]["b_vip"].pk}


def test_tag_changes_are_audited(w):
    from gis_core.models import AuditEntry

    login_post(w["bm_a"], "/api/crm/tags/", {"code": "shop", "name": "商户"})
    shop = Tag.objects.get(code="shop")
    login_post(w["bm_a"], f"/api/crm/tags/{shop.pk}/apply/", {"customer_ids": [w["c"]["a_young"].pk]})
    actions = set(AuditEntry.objects.filter(object_type="crm.tag").values_list("action", flat=True))
    assert {"crm.tag.created", "crm.tag.applied"} <= actions
