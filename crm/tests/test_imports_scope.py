# covers: CR-3, SEC-6, ORG-2
"""The scope matrix (anonymous / no permission / out of scope / allowed) of every list-template and
import endpoint, plus the template visibility rule (ancestors' templates usable, not editable) and
account managers seeing only their own batches."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.imports import import_batch_commit, import_batch_upload, list_template_create, list_template_default_ensure
from crm.tests.imports_support import DEFAULT_HEADER, person, xlsx_bytes
from gis_core.choices import RoleCode
from gis_core.testing import assert_scope_matrix, client_for

COLUMNS = [{"key": "name", "label": "名称", "type": "text", "required": True, "maps_to": "name"}]


@pytest.fixture
def people(bank, make_user):
    return {
        "manager_a": make_user(bank["a"], RoleCode.BRANCH_MANAGER),
        "manager_b": make_user(bank["b"], RoleCode.BRANCH_MANAGER),
        "analyst_a": make_user(bank["a"], RoleCode.ANALYST),  # no CUSTOMER_IMPORT
        "am_a1": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER),
        "am_a1_other": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER),
    }


@pytest.fixture
def template_a(people):
    return list_template_create(actor=people["manager_a"], name="支行A模板", columns=COLUMNS)


def staged(actor, template, rows=None):
    content = xlsx_bytes(DEFAULT_HEADER, rows or [person(1), person(2)])
    return import_batch_upload(actor=actor, template=template, name="批次", upload=io.BytesIO(content), file_name="a.xlsx")


@pytest.fixture
def batch_a(people, bank):
    return staged(people["manager_a"], list_template_default_ensure(institution=bank["a"]))


def matrix(people, **kwargs):
    assert_scope_matrix(allowed=people["manager_a"], no_permission=people["analyst_a"], out_of_scope=people["manager_b"], **kwargs)


def test_template_list_and_create(people, template_a):
    matrix(people, url="/api/crm/list-templates/", kind="list", object_id=template_a.pk)
    # creating puts the template in the actor's own institution, so "out of scope" cannot exist here
    assert_scope_matrix(
        url="/api/crm/list-templates/", method="post", allowed=people["manager_a"], no_permission=people["analyst_a"],
        out_of_scope=None, allowed_status=201, data={"name": "新模板", "columns": COLUMNS},
    )


def test_template_detail_update_delete_and_xlsx(people, template_a):
    url = f"/api/crm/list-templates/{template_a.pk}/"
    matrix(people, url=url)
    matrix(people, url=url + "xlsx/")
    matrix(people, url=url, method="patch", data={"name": "改名"})
    matrix(people, url=url, method="delete", allowed_status=204)


def test_ancestor_templates_are_usable_but_not_editable(people, bank):
    default = list_template_default_ensure(institution=bank["a1"])
    assert default.institution == bank["head"]
    client = client_for(people["am_a1"])
    listed = {t["id"]: t for t in client.get("/api/crm/list-templates/").json()["results"]}
    assert listed[default.pk]["is_default"] is True and listed[default.pk]["editable"] is False
    assert client.get(f"/api/crm/list-templates/{default.pk}/xlsx/").status_code == 200
    assert client.patch(f"/api/crm/list-templates/{default.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client.delete(f"/api/crm/list-templates/{default.pk}/").status_code == 404
    # the default is seeded once, whoever asks first
    client_for(people["manager_b"]).get("/api/crm/list-templates/")
    assert list_template_default_ensure(institution=bank["b1"]).pk == default.pk


def test_template_in_use_keeps_its_columns(people, template_a):
    content = xlsx_bytes(["名称"], [["甲"]])
    import_batch_upload(actor=people["manager_a"], template=template_a, name="b", upload=io.BytesIO(content), file_name="a.xlsx")
    client = client_for(people["manager_a"])
    changed = COLUMNS + [{"key": "addr", "label": "地址", "type": "address", "maps_to": "address"}]
    response = client.patch(f"/api/crm/list-templates/{template_a.pk}/", {"columns": changed}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "template_in_use"
    assert client.patch(f"/api/crm/list-templates/{template_a.pk}/", {"name": "新名字"}, format="json").status_code == 200


def test_invalid_template_columns_are_explained(people):
    client = client_for(people["manager_a"])
    bad = [
        {"key": "name", "label": "名称", "type": "text", "maps_to": "name"},
        {"key": "kind", "label": "类型", "type": "choice", "choices": ["个人客户", "外星客户"], "maps_to": "kind"},
    ]
    response = client.post("/api/crm/list-templates/", {"name": "坏模板", "columns": bad}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_columns_invalid"
    assert "外星客户" in response.json()["error"]["details"]["columns"]["1"][0]
    no_name = [{"key": "phone", "label": "手机", "type": "phone", "maps_to": "phone"}]
    assert client.post("/api/crm/list-templates/", {"name": "x", "columns": no_name}, format="json").status_code == 400
    regex = [{"key": "name", "label": "名称", "type": "text", "maps_to": "name", "regex": "(["}]
    assert "正则" in client.post("/api/crm/list-templates/", {"name": "x", "columns": regex}, format="json").json()["error"]["details"]["columns"]["0"][0]


def test_batch_list_detail_rows_and_errors(people, batch_a):
    matrix(people, url="/api/crm/imports/", kind="list", object_id=batch_a.pk)
    matrix(people, url=f"/api/crm/imports/{batch_a.pk}/")
    matrix(people, url=f"/api/crm/imports/{batch_a.pk}/rows/")
    matrix(people, url=f"/api/crm/imports/{batch_a.pk}/errors.xlsx")


def test_batch_commit_discard_and_segment(people, bank, batch_a):
    matrix(people, url=f"/api/crm/imports/{batch_a.pk}/commit/", method="post", data={"mode": "valid_rows"}, allowed_status=202)
    matrix(people, url=f"/api/crm/imports/{batch_a.pk}/save-as-segment/", method="post", data={}, allowed_status=201)
    other = staged(people["manager_a"], list_template_default_ensure(institution=bank["a"]), rows=[person(5)])
    matrix(people, url=f"/api/crm/imports/{other.pk}/discard/", method="post", data={})


def test_upload_matrix(people, template_a):
    content = xlsx_bytes(["名称"], [["甲"]])

    def post(user):
        return client_for(user).post(
            "/api/crm/imports/", {"template": template_a.pk, "name": "n", "file": SimpleUploadedFile("a.xlsx", content)},
            format="multipart",
        )

    assert post(None).status_code == 401
    assert post(people["analyst_a"]).status_code == 403
    assert post(people["manager_b"]).status_code == 404  # branch A's template does not exist for branch B
    assert post(people["manager_a"]).status_code == 201


def test_account_managers_see_only_their_own_batches(people, bank):
    template = list_template_default_ensure(institution=bank["a1"])
    own = staged(people["am_a1"], template)
    theirs = staged(people["am_a1_other"], template, rows=[person(7)])
    ids = {b["id"] for b in client_for(people["am_a1"]).get("/api/crm/imports/").json()["results"]}
    assert ids == {own.pk}
    assert client_for(people["am_a1"]).get(f"/api/crm/imports/{theirs.pk}/").status_code == 404
    # the branch manager above sees both
    ids = {b["id"] for b in client_for(people["manager_a"]).get("/api/crm/imports/").json()["results"]}
    assert {own.pk, theirs.pk} <= ids
    assert import_batch_commit(actor=people["am_a1"], batch=own, mode="valid_rows").committed_rows == 2


def test_import_page_and_menu(people):
    from django.test import Client

    page = Client()
    assert page.get("/crm/imports/").status_code == 302  # anonymous → login
    page.force_login(people["analyst_a"])
    assert page.get("/crm/imports/").status_code == 403
    assert "名单导入" not in page.get("/").content.decode()
    page.force_login(people["manager_a"])
    response = page.get("/crm/imports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="imports-config"' in html and "crm/imports.js" in html and "/api/crm/list-templates/" in html
    assert 'href="/crm/imports/"' in html  # the menu entry 名单导入
