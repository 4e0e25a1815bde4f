# covers: ORG-1, ORG-2, ORG-5, ORG-6, ORG-7, SEC-4, SEC-5, SEC-7, SEC-8
"""Organisation API: the scope matrix on every endpoint, and the rules behind the writes."""
import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password

from gis_core.audit import audit_log
from gis_core.choices import RoleCode
from gis_core.models import AuditEntry, CalendarDay, Institution, User
from gis_core.selectors import is_workday, workdays_between
from gis_core.testing import assert_scope_matrix, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(bank, make_user):
    return {
        "admin_head": make_user(bank["head"], RoleCode.SYSTEM_ADMIN),
        "admin_a": make_user(bank["a"], RoleCode.SYSTEM_ADMIN),
        "leader_a": make_user(bank["a"], RoleCode.LEADER),
        "leader_b": make_user(bank["b"], RoleCode.LEADER),
        "manager_a1": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER),
        "auditor_a": make_user(bank["a"], RoleCode.AUDITOR),
        "auditor_b": make_user(bank["b"], RoleCode.AUDITOR),
        "liaison_a": make_user(bank["a"], RoleCode.GRID_LIAISON),
        "nobody_a": make_user(bank["a"]),
    }


def test_institution_endpoints_scope_matrix(bank, people):
    assert_scope_matrix(
        url=f"/api/institutions/{bank['a1'].pk}/", kind="detail",
        allowed=people["leader_a"], no_permission=people["nobody_a"], out_of_scope=people["leader_b"],
    )
    assert_scope_matrix(
        url="/api/institutions/", kind="list", object_id=bank["a1"].pk,
        allowed=people["leader_a"], no_permission=people["nobody_a"], out_of_scope=people["leader_b"],
    )


def test_sub_branch_user_sees_only_its_subtree(bank, people):
    body = client_for(people["manager_a1"]).get("/api/institutions/").json()
    assert {r["code"] for r in body["results"]} == {"BA1"}
    body = client_for(people["leader_a"]).get("/api/institutions/").json()
    assert {r["code"] for r in body["results"]} == {"BA", "BA1"}
    assert client_for(people["manager_a1"]).get(f"/api/institutions/{bank['b'].pk}/").status_code == 404
    # even the parent of one's own institution is out of scope
    assert client_for(people["manager_a1"]).get(f"/api/institutions/{bank['a'].pk}/").status_code == 404


def test_user_endpoints_scope_matrix(bank, people):
    target = people["manager_a1"]
    assert_scope_matrix(
        url=f"/api/users/{target.pk}/", kind="detail",
        allowed=people["leader_a"], no_permission=people["manager_a1"], out_of_scope=people["leader_b"],
    )
    assert_scope_matrix(
        url="/api/users/", kind="list", object_id=target.pk,
        allowed=people["leader_a"], no_permission=people["liaison_a"], out_of_scope=people["leader_b"],
    )


def test_audit_endpoints_scope_matrix(bank, people):
    entry = audit_log(actor=people["manager_a1"], action="gis_core.test.done")
    assert_scope_matrix(
        url=f"/api/audit/{entry.pk}/", kind="detail",
        allowed=people["auditor_a"], no_permission=people["admin_a"], out_of_scope=people["auditor_b"],
    )
    assert_scope_matrix(
        url="/api/audit/", kind="list", object_id=entry.pk,
        allowed=people["auditor_a"], no_permission=people["leader_a"], out_of_scope=people["auditor_b"],
    )


def test_audit_export_is_scoped_escaped_and_audited(bank, people):
    bank["a1"].name = "=SUM(A1)"
    bank["a1"].save()
    audit_log(actor=people["manager_a1"], action="gis_core.test.a", data={"note": "备注"})
    audit_log(actor=people["leader_b"], action="gis_core.test.b")
    response = client_for(people["auditor_a"]).get("/api/audit/export/", {"action": "gis_core.test"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "gis_core.test.a" in text and "gis_core.test.b" not in text
    assert "'=SUM(A1)" in text and ",=SUM" not in text  # formula injection escaped
    assert "备注" in text
    assert AuditEntry.objects.filter(action="gis_core.audit.exported", actor=people["auditor_a"]).exists()
    assert client_for(people["admin_head"]).get("/api/audit/export/").status_code == 403


def test_admin_creates_user_with_forced_password_change_and_masked_phone(bank, people):
    client = client_for(people["admin_a"])
    response = client.post(
        "/api/users/",
        {"username": "zhangsan", "display_name": "张三", "institution": bank["a1"].pk, "roles": ["account_manager"],
         "password": "Initial#2026", "phone": "13812341234", "employee_no": "A0001"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "138****1234"
    user = User.objects.get(username="zhangsan")
    assert user.must_change_password and check_password("Initial#2026", user.password)
    raw = User.objects.filter(pk=user.pk).values_list("phone", flat=True).query
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM gis_core_user WHERE id = %s", [user.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("sm4gcm:1:") and "13812341234" not in stored, raw
    entry = AuditEntry.objects.get(action="gis_core.user.created", object_id=str(user.pk))
    assert "Initial#2026" not in str(entry.data)


def test_admin_cannot_create_user_outside_scope(bank, people):
    response = client_for(people["admin_a"]).post(
        "/api/users/",
        {"username": "lisi", "display_name": "李四", "institution": bank["b1"].pk, "roles": [], "password": "Initial#2026"},
        format="json",
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="lisi").exists()


def test_bad_user_input_is_refused_with_details(bank, people):
    client = client_for(people["admin_a"])
    response = client.post(
        "/api/users/",
        {"username": "x" * 200, "display_name": "", "institution": bank["a1"].pk, "roles": ["pope"], "password": "short", "phone": "123"},
        format="json",
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert {"username", "display_name", "roles", "phone"} <= set(details)
    weak = client.post(
        "/api/users/",
        {"username": "wangwu", "display_name": "王五", "institution": bank["a1"].pk, "roles": [], "password": "alllowercase"},
        format="json",
    )
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "password_invalid"
    assert not User.objects.filter(username="wangwu").exists()


def test_administrator_and_auditor_roles_are_kept_apart(bank, people, settings):
    client = client_for(people["admin_head"])
    target = people["manager_a1"]
    session = client.session if hasattr(client, "session") else None  # noqa: F841
    from gis_core.services.organisation import user_set_roles
    from gis_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        user_set_roles(actor=people["admin_head"], user=target, roles=["system_admin", "auditor"])
    assert info.value.code == "role_separation"
    target.refresh_from_db()
    target._role_codes = None
    assert target.role_codes == {"account_manager"}


def test_role_change_requires_recent_reauthentication(bank, people):
    # force_authenticate has no session, hence no recent authentication: refused.
    response = client_for(people["admin_head"]).put(
        f"/api/users/{people['manager_a1'].pk}/roles/", {"roles": ["analyst"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauth_required"


def test_institution_create_checks_tree_rules_and_scope(bank, people):
    client = client_for(people["admin_a"])
    ok = client.post(
        "/api/institutions/",
        {"code": "BA2", "name": "火星分理处", "kind": "sub_branch", "parent": bank["a"].pk,
         "location": {"lng": 113.0, "lat": 28.2, "crs": "gcj02"}},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    created = Institution.objects.get(code="BA2")
    assert created.path == f"{bank['a'].path}{created.pk}/"
    # stored in WGS-84: GCJ-02 input moved back by the datum shift (~0.005 deg west)
    assert 112.99 < created.location.x < 112.9990
    bad_kind = client.post("/api/institutions/", {"code": "BA3", "name": "x", "kind": "branch", "parent": bank["a1"].pk}, format="json")
    assert bad_kind.status_code == 400 and bad_kind.json()["error"]["code"] == "institution_kind_invalid"
    outside = client.post("/api/institutions/", {"code": "BB9", "name": "x", "kind": "outlet", "parent": bank["b"].pk}, format="json")
    assert outside.status_code == 404
    bad_crs = client.post(
        "/api/institutions/",
        {"code": "BA4", "name": "x", "kind": "outlet", "parent": bank["a"].pk, "location": {"lng": 113, "lat": 28, "crs": "mars"}},
        format="json",
    )
    assert bad_crs.status_code == 400 and "crs" in str(bad_crs.json()["error"]["details"])
    assert not Institution.objects.filter(code__in=["BA3", "BB9", "BA4"]).exists()
    assert AuditEntry.objects.filter(action="gis_core.institution.created", object_id=str(created.pk)).exists()


def test_dictionary_and_calendar(bank, people):
    admin = client_for(people["admin_head"])
    response = admin.put(
        "/api/dictionaries/customer_class/",
        {"name": "客户类别", "items": [{"value": "farmer", "label": "农户"}, {"value": "merchant", "label": "商户"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    listed = client_for(people["manager_a1"]).get("/api/dictionaries/").json()
    assert [i["value"] for i in listed[0]["items"]] == ["farmer", "merchant"]
    dup = admin.put("/api/dictionaries/customer_class/", {"name": "x", "items": [{"value": "a", "label": "1"}, {"value": "a", "label": "2"}]}, format="json")
    assert dup.status_code == 400
    assert client_for(people["manager_a1"]).put("/api/dictionaries/x/", {"name": "x", "items": []}, format="json").status_code == 403

    # 2026-10-01 (Thursday, National Day) off; 2026-10-10 (Saturday) a make-up working day
    assert admin.put("/api/calendar/", {"date": "2026-10-01", "is_workday": False, "note": "国庆节"}, format="json").status_code == 200
    assert admin.put("/api/calendar/", {"date": "2026-10-10", "is_workday": True, "note": "调休"}, format="json").status_code == 200
    assert not is_workday(dt.date(2026, 10, 1)) and is_workday(dt.date(2026, 10, 10)) and is_workday(dt.date(2026, 10, 2))
    assert len(workdays_between(dt.date(2026, 10, 1), dt.date(2026, 10, 11))) == 7
    month = client_for(people["manager_a1"]).get("/api/calendar/", {"year": 2026, "month": 10}).json()
    assert len(month) == 31 and month[0]["is_workday"] is False and month[9]["is_workday"] is True
    assert client_for(people["manager_a1"]).get("/api/calendar/", {"year": 2026, "month": 13}).status_code == 400
    assert CalendarDay.objects.count() == 2
