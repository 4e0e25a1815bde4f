# covers: ORG-1, ORG-2, ORG-5, ORG-6, ORG-7 (back-office pages: institutions, users, audit log, settings)
"""The back-office pages: each one asks for a login, then for its permission (403 page), and an
allowed user gets the page frame with its configuration; the menu lists only what the roles allow;
write controls appear only for the roles that may write."""
import json
import re

import pytest
from django.test import Client

from gis_core.choices import RoleCode

pytestmark = pytest.mark.django_db

# url, a role that may open the page, a role that may not, the page's container id
PAGES = [
    ("/org/institutions/", RoleCode.LEADER, RoleCode.GRID_LIAISON, "institutions-page"),
    ("/org/users/", RoleCode.LEADER, RoleCode.ACCOUNT_MANAGER, "users-page"),
    ("/org/audit/", RoleCode.AUDITOR, RoleCode.SYSTEM_ADMIN, "audit-page"),
    ("/org/settings/", RoleCode.GRID_LIAISON, None, "settings-page"),
]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _config(response) -> dict:
    match = re.search(r'<script id="org-config" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert match, "the page hands its configuration to the module"
    return json.loads(match.group(1))


@pytest.mark.parametrize(("url", "allowed", "refused", "container"), PAGES)
def test_page_requires_login_then_permission(bank, make_user, url, allowed, refused, container):
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/login/?next={url}"

    denied = _client(make_user(bank["a"], *([refused] if refused else []))).get(url)
    assert denied.status_code == 403
    assert "没有访问权限" in denied.content.decode()
    assert f'id="{container}"' not in denied.content.decode()

    ok = _client(make_user(bank["a"], allowed)).get(url)
    assert ok.status_code == 200
    body = ok.content.decode()
    assert f'id="{container}"' in body
    assert 'type="module"' in body and "/static/gis_core/org/" in body
    # the page's own menu entry is the active one
    assert re.search(rf'<a href="{url}" class="is-active" aria-current="page"', body)


def test_menu_lists_the_back_office_pages_by_permission(bank, make_user):
    def menu(user):
        body = _client(user).get("/org/settings/").content.decode()
        return set(re.findall(r'<a href="(/org/[a-z]+/)"', body))

    assert menu(make_user(bank["a"], RoleCode.SYSTEM_ADMIN)) == {"/org/institutions/", "/org/users/", "/org/settings/"}
    assert menu(make_user(bank["a"], RoleCode.AUDITOR)) == {"/org/institutions/", "/org/users/", "/org/audit/", "/org/settings/"}
    assert menu(make_user(bank["a"], RoleCode.ACCOUNT_MANAGER)) == {"/org/institutions/", "/org/settings/"}
    assert menu(make_user(bank["a"], RoleCode.GRID_LIAISON)) == {"/org/settings/"}


def test_write_controls_only_for_managers(bank, make_user):
    admin = _client(make_user(bank["a"], RoleCode.SYSTEM_ADMIN))
    leader = _client(make_user(bank["a"], RoleCode.LEADER))

    page = admin.get("/org/users/")
    assert _config(page)["can_manage"] is True
    assert 'id="user-create"' in page.content.decode() and 'id="org-reauth"' in page.content.decode()
    page = leader.get("/org/users/")
    assert _config(page)["can_manage"] is False
    assert 'id="user-create"' not in page.content.decode()

    assert 'id="inst-dialog"' in admin.get("/org/institutions/").content.decode()
    assert 'id="inst-dialog"' not in leader.get("/org/institutions/").content.decode()

    settings_admin = _config(admin.get("/org/settings/"))
    settings_leader = _config(leader.get("/org/settings/"))
    assert (settings_admin["can_manage_dictionaries"], settings_admin["can_manage_calendar"]) == (True, True)
    assert (settings_leader["can_manage_dictionaries"], settings_leader["can_manage_calendar"]) == (False, False)
    assert settings_leader["can_view_calendar"] is True


def test_auditor_sees_the_export_link_and_no_calendar(bank, make_user):
    auditor = _client(make_user(bank["a"], RoleCode.AUDITOR))
    page = auditor.get("/org/audit/")
    assert 'id="audit-export" href="/api/audit/export/"' in page.content.decode()
    config = _config(page)
    assert config["urls"] == {"reauth": "/api/auth/reauth/", "audit": "/api/audit/", "export": "/api/audit/export/"}
    assert set(config["results"]) == {"success", "failure", "denied"}
    settings_page = auditor.get("/org/settings/")
    assert _config(settings_page)["can_view_calendar"] is False
    assert 'id="panel-calendar"' not in settings_page.content.decode()


def test_institution_page_knows_which_kinds_may_sit_under_which(bank, make_user):
    config = _config(_client(make_user(bank["a"], RoleCode.SYSTEM_ADMIN)).get("/org/institutions/"))
    assert config["child_kinds"]["sub_branch"] == ["outlet"]
    assert config["child_kinds"]["outlet"] == []
    assert config["own_institution"] == bank["a"].pk
    assert config["can_view_map"] is True


def test_pages_speak_english_when_chosen(bank, make_user):
    client = _client(make_user(bank["a"], RoleCode.SYSTEM_ADMIN))
    client.cookies["django_language"] = "en"
    body = client.get("/org/users/").content.decode()
    assert "User management" in body and "Add user" in body
    assert "用户管理" not in body


@pytest.mark.django_db
def test_auditor_home_goes_to_the_first_allowed_page(bank, make_user):
    from django.test import Client

    from gis_core.choices import RoleCode

    auditor = make_user(bank["a"], RoleCode.AUDITOR)
    client = Client()
    client.force_login(auditor)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] != "/"
    assert client.get(response["Location"]).status_code == 200
