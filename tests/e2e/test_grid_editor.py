# covers: GR-4 (issue 3 item 9 and its Tests: "a Playwright test in Chromium that draws a grid with the
# mouse, saves it, sees it listed, then draws an overlapping one and sees the error on the map"), GR-1
"""The grid editor in a real browser: a branch manager signs in through the login form, selects the
district grid of the institution, draws a street grid with the mouse (terra-draw polygon mode), fills
in code and name and saves; the grid is listed in the tree and stored. Then an overlapping grid is
drawn: the dry-run validation shows the overlap hatched on the map with a numbered pin, the message
names the first grid, and Save stays disabled. Finally an edit based on a stale version gets
"已被他人修改" with a reload button. The console stays free of errors."""
import json
from pathlib import Path

import pytest

from gis_core.choices import RoleCode
from gis_core.tests.factories import DEFAULT_PASSWORD, InstitutionFactory, UserFactory
from grids.models import Grid
from grids.services.editing import grid_update
from grids.tests.factories import GridFactory, square

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EDITOR_READY = "() => document.body.dataset.editorReady === 'true' && window.__gridEditor.map.loaded()"
SETTLED = "() => { const m = window.__gridEditor.map; return !m.isMoving() && m.loaded(); }"
VALIDATED = "() => { const s = window.__gridEditor.state; return Boolean(s.draft) && !s.validation.pending; }"


@pytest.fixture
def district(db):
    branch = InstitutionFactory(code="BA", name="芙蓉支行")
    manager = UserFactory(
        username="branch1", display_name="李支行长", institution=branch, roles=[RoleCode.BRANCH_MANAGER],
        must_change_password=False,
    )
    # about 4 × 4 km around 113.0 E, 28.2 N
    grid = GridFactory(
        institution=branch, level="district", code="DIS-01", name="芙蓉区网格", geom=square(112.98, 28.18, 0.04)
    )
    return manager, grid


def click_lnglat(page, points):
    """Click each (lng, lat) with the mouse at its pixel position on the map."""
    box = page.locator("#map").bounding_box()
    for lng, lat in points:
        x, y = page.evaluate(
            f"() => {{ const p = window.__gridEditor.map.project([{lng}, {lat}]); return [p.x, p.y]; }}"
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(120)


def draw_square(page, west, south, size):
    corners = [(west, south), (west + size, south), (west + size, south + size), (west, south + size)]
    page.click("#tool-draw")
    page.wait_for_function("() => window.__gridEditor.draw.getMode() === 'polygon'")
    click_lnglat(page, [*corners, corners[0]])  # clicking the first vertex again closes the polygon


def select_in_tree(page, name):
    page.locator("#ge-tree-list .ge-tree-item", has_text=name).first.click()
    page.wait_for_function(f"() => document.getElementById('ge-title').textContent === {name!r}")
    page.wait_for_function(SETTLED)


def test_draw_save_and_overlap_error(live_server, login_page, page, console_errors, district, screenshot_dir):
    manager, parent = district
    shots = Path(screenshot_dir) if screenshot_dir else None
    login_page("branch1", DEFAULT_PASSWORD)
    assert page.url == f"{live_server.url}/"
    page.click(".app-nav a:has-text('网格管理')")
    page.wait_for_url(f"{live_server.url}/grids/editor/")
    page.wait_for_function(EDITOR_READY, timeout=30_000)

    # select the district, then draw a street grid inside it with the mouse
    select_in_tree(page, "芙蓉区网格")
    assert page.locator("#ge-version").inner_text() == "版本 1"
    draw_square(page, 112.990, 28.190, 0.010)
    page.wait_for_function(VALIDATED)
    assert page.locator("#ge-title").inner_text() == "新网格"
    assert "边界检查通过" in page.locator("#ge-problems").inner_text()
    assert page.locator("#ge-save").is_enabled()
    page.fill("#ge-code", "STR-001")
    page.fill("#ge-name", "五一街道网格")
    if shots:
        page.screenshot(path=str(shots / "grid-editor-drawn.png"))
    page.click("#ge-save")

    # saved: listed in the tree under the district, selected, stored with the right level and parent
    page.locator("#ge-tree-list .ge-tree-item", has_text="五一街道网格").wait_for()
    page.wait_for_function("() => document.getElementById('ge-title').textContent === '五一街道网格'")
    child = Grid.objects.get(code="STR-001")
    assert (child.name, child.level, child.parent_id) == ("五一街道网格", "street", parent.pk)
    assert child.kind == "physical"
    assert abs(child.area_m2 - 1.09e6) < 0.1e6  # 0.01° × 0.01° at 28.2° N ≈ 1.09 km²
    assert page.locator("#ge-history li").first.inner_text().startswith("新建")

    # snapping to neighbouring grid edges: near the new grid's corner → exactly the corner; near its
    # bottom edge → a point on that edge; far from every edge → no snap
    select_in_tree(page, "芙蓉区网格")
    snapped = page.evaluate("""() => {
      const { map, snapper } = window.__gridEditor;
      const context = {
        project: (lng, lat) => map.project([lng, lat]),
        unproject: (x, y) => map.unproject([x, y]),
      };
      const at = (lng, lat, dx, dy) => {
        const p = map.project([lng, lat]);
        return { containerX: p.x + dx, containerY: p.y + dy };
      };
      return [
        snapper(at(113.0, 28.19, 5, -4), context),
        snapper(at(112.9953, 28.19, 0, 6), context),
        snapper(at(113.01, 28.21, 0, 0), context) ?? null,
      ];
    }""")
    assert snapped[0] == [113.0, 28.19]
    assert snapped[1][1] == pytest.approx(28.19, abs=1e-9)
    assert snapped[1][0] == pytest.approx(112.9953, abs=2e-5)
    assert snapped[2] is None

    # an overlapping grid: the overlap appears on the map, the message names the first grid
    draw_square(page, 112.995, 28.195, 0.010)
    page.wait_for_function(VALIDATED)
    page.wait_for_function(SETTLED)
    problems = page.locator("#ge-problem-list li")
    assert problems.count() >= 1
    assert "五一街道网格" in problems.first.inner_text() and "重叠" in problems.first.inner_text()
    overlap = page.evaluate(
        "() => window.__gridEditor.map.querySourceFeatures('problems').map(f => f.properties.sibling_name)"
    )
    assert overlap and set(overlap) == {"五一街道网格"}
    rendered = page.evaluate(
        "() => window.__gridEditor.map.queryRenderedFeatures({ layers: ['problems-fill'] }).length"
    )
    assert rendered > 0
    assert page.locator("#map .ge-problem-pin").count() >= 1
    assert page.locator("#ge-save").is_disabled()
    page.fill("#ge-code", "STR-002")
    page.fill("#ge-name", "重叠网格")
    assert page.locator("#ge-save").is_disabled()  # still refused while the problem stands
    if shots:
        page.screenshot(path=str(shots / "grid-editor-overlap.png"))
    assert not Grid.objects.filter(code="STR-002").exists()

    # cancel, then an attribute edit based on a stale version: 409 → "已被他人修改" with a reload button
    page.click("#ge-cancel")
    select_in_tree(page, "五一街道网格")
    grid_update(actor=manager, grid=Grid.objects.get(code="STR-001"), expected_version=1, name="五一街道网格（新）")
    page.fill("#ge-name", "五一街道")
    page.click("#ge-save")
    conflict = page.locator("#ge-conflict")
    conflict.wait_for()
    assert "已被他人修改" in conflict.inner_text()
    if shots:
        page.screenshot(path=str(shots / "grid-editor-conflict.png"))
    page.click("#ge-conflict-reload")
    page.wait_for_function("() => document.getElementById('ge-title').textContent === '五一街道网格（新）'")
    assert page.locator("#ge-version").inner_text() == "版本 2"
    assert conflict.is_hidden()

    # the only console error allowed is the browser's own log line of the expected 409 response
    unexpected = [e for e in console_errors if "status of 409" not in e]
    assert unexpected == []


def forget_recent_password(page):
    """Make the browser session old enough to need the password again (SEC-4)."""
    from importlib import import_module

    from django.conf import settings

    from gis_core.session_policy import AUTH_AT

    key = next(c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    session.pop(AUTH_AT, None)
    session.save()


def test_assign_then_transfer_asks_for_the_password_again(
    live_server, login_page, page, console_errors, district, screenshot_dir
):
    manager, parent = district
    for username, name in (("am1", "张经理"), ("am2", "王经理")):
        UserFactory(
            username=username, display_name=name, institution=parent.institution,
            roles=[RoleCode.ACCOUNT_MANAGER],
        )
    GridFactory(institution=parent.institution, parent=parent, level="street", code="STR-9", name="东屯渡网格",
                geom=square(112.99, 28.19, 0.01))
    login_page("branch1", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/grids/editor/")
    page.wait_for_function(EDITOR_READY, timeout=30_000)
    select_in_tree(page, "东屯渡网格")
    assert page.locator("#ge-manager").inner_text() == "未指定"

    # assign the responsible manager
    page.select_option("#ge-manager-select", label="张经理（芙蓉支行）")
    page.click("#ge-assign")
    page.wait_for_function("() => document.getElementById('ge-manager').textContent.startsWith('张经理')")

    # transferring is critical: with no recent password the API answers 403 reauth_required, the page
    # asks for the password, confirms it with /api/auth/reauth/ and retries
    forget_recent_password(page)
    page.select_option("#ge-manager-select", label="王经理（芙蓉支行）")
    page.click("#ge-transfer")
    dialog = page.locator("#ge-reauth-dialog")
    dialog.wait_for()
    if screenshot_dir:
        page.screenshot(path=str(Path(screenshot_dir) / "grid-editor-reauth.png"))
    page.fill("#ge-reauth-password", DEFAULT_PASSWORD)
    page.click("#ge-reauth-ok")
    page.wait_for_function("() => document.getElementById('ge-manager').textContent.startsWith('王经理')")
    assert dialog.is_hidden()
    grid = Grid.objects.get(code="STR-9")
    transfer = grid.transfers.get()
    assert (transfer.from_user.username, transfer.to_user.username) == ("am1", "am2")
    page.locator("#ge-history li", has_text="移交").first.wait_for()

    # import a GeoJSON file (GCJ-02 coordinates) under the district, then export the district's children
    select_in_tree(page, "芙蓉区网格")
    page.click("#tool-import")
    feature = {
        "type": "Feature", "properties": {"code": "STR-10", "name": "马王堆网格"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [113.0068, 28.1875], [113.0148, 28.1875], [113.0148, 28.1955], [113.0068, 28.1955], [113.0068, 28.1875],
        ]]},
    }
    page.set_input_files("#ge-import-file", files=[{
        "name": "streets.geojson", "mimeType": "application/geo+json",
        "buffer": json.dumps({"type": "FeatureCollection", "features": [feature]}).encode(),
    }])
    page.select_option("#ge-import-crs", "gcj02")
    page.click("#ge-import-ok")
    page.locator("#ge-tree-list .ge-tree-item", has_text="马王堆网格").wait_for()
    imported = Grid.objects.get(code="STR-10")
    assert imported.parent_id == parent.pk and imported.level == "street"
    assert imported.geom.extent[0] < 113.0068  # converted from GCJ-02 (the WGS-84 position lies west)
    page.click("#tool-export")
    page.select_option("#ge-export-fmt", "geojson")
    with page.expect_download() as download_info:
        page.click("#ge-export-ok")
    download = download_info.value
    assert download.suggested_filename.endswith(".geojson")
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert sorted(f["properties"]["code"] for f in exported["features"]) == ["STR-10", "STR-9"]

    unexpected = [e for e in console_errors if "status of 403" not in e]
    assert unexpected == []
