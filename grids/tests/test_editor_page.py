# covers: GR-4 (issue 3 item 9: the grid editor page), ORG-2 (menu by permission), GC-6 (no CDN)
"""The grid editor page: who may open it, what it carries (map container, import map, config with
the user's rights) and the navigation entry. The editor itself is tested in a browser
(tests/e2e/test_grid_editor.py)."""
import json
import re

import pytest
from django.urls import reverse

from gis_core.choices import RoleCode

pytestmark = pytest.mark.django_db

URL = "/grids/editor/"


def editor_config(response) -> dict:
    pattern = r'<script id="grid-editor-config" type="application/json">(.*?)</script>'
    match = re.search(pattern, response.content.decode(), re.S)
    assert match, "the page must carry its configuration"
    return json.loads(match.group(1))


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_manager_without_subtree_view_gets_403(client, bank, make_user):
    client.force_login(make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER))
    response = client.get(URL)
    assert response.status_code == 403
    assert "没有访问权限" in response.content.decode()


def test_branch_manager_gets_the_editor_with_drawing_tools(client, bank, make_user):
    client.force_login(make_user(bank["a"], RoleCode.BRANCH_MANAGER))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="map"' in html and 'id="grid-editor"' in html
    assert '<script type="importmap">' in html
    assert '"terra-draw": "/static/vendor/terra-draw/terra-draw.module.js"' in html
    assert '<script type="module" src="/static/grids/editor.js"></script>' in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "api.mapbox.com", "tile.openstreetmap"):
        assert cdn not in html
    # drawing tools, import/export, assignment; the menu entry is the current page
    tools = ("tool-draw", "tool-split", "tool-merge", "tool-retire", "tool-import", "tool-export", "ge-save",
             "ge-assign", "ge-transfer")
    for element in (f'id="{tool}"' for tool in tools):
        assert element in html, element
    assert f'href="{URL}" class="is-active"' in html and "网格管理" in html
    config = editor_config(response)
    assert config["can"] == {"edit": True, "assign": True, "export": True}
    assert config["urls"]["api"] == "/api/grids/" and config["urls"]["reauth"] == "/api/auth/reauth/"
    levels = [level["value"] for level in config["levels"]]
    assert levels == ["city", "district", "street", "community", "building"]
    assert config["strings"]["conflict"] == "已被他人修改"


def test_leader_reads_without_drawing_tools(client, bank, make_user):
    client.force_login(make_user(bank["head"], RoleCode.LEADER))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="map"' in html and "is-readonly" in html
    for tool in ("tool-draw", "tool-split", "tool-import", "ge-save", "ge-assign"):
        element = f'id="{tool}"'
        assert element not in html, element
    assert 'id="tool-export"' in html  # leaders may export
    assert editor_config(response)["can"] == {"edit": False, "assign": False, "export": True}


def test_menu_shows_grids_only_to_those_who_may_see_the_subtree(client, bank, make_user):
    client.force_login(make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER))
    assert "网格管理" not in client.get("/").content.decode()
    client.force_login(make_user(bank["a"], RoleCode.BRANCH_MANAGER))
    assert f'href="{URL}"' in client.get("/").content.decode()


def test_english_page(client, bank, make_user):
    client.force_login(make_user(bank["a"], RoleCode.BRANCH_MANAGER))
    client.post("/i18n/setlang/", {"language": "en", "next": URL})
    response = client.get(URL)
    html = response.content.decode()
    assert "Draw grid" in html and "Grid management" in html
    assert editor_config(response)["strings"]["conflict"] == "Modified by someone else"
