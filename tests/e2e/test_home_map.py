# covers: GC-5, GC-6, ORG-2, issue item 9 (shell UI and home map)
"""The home map in a real browser: sign in, the offline map draws the districts from the API,
keyword search flies to a district, a click opens a popup, the language switch works, and the
browser console stays free of errors (no CDN, no basemap, no glyph server needed)."""
from pathlib import Path

import pytest

from gis_core.choices import RoleCode
from gis_core.tests.factories import DEFAULT_PASSWORD, InstitutionFactory, UserFactory
from gis_core.tests.place_factories import make_places

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAP_READY = """() => {
  const map = window.__map;
  return Boolean(map && map.loaded() && document.body.dataset.mapReady === "true"
    && map.queryRenderedFeatures({ layers: ["districts-fill"] }).length > 0);
}"""


@pytest.fixture
def leader(db):
    institution = InstitutionFactory(code="HO", name="长沙农商银行总行")
    return UserFactory(
        username="leader1", display_name="王行长", institution=institution, roles=[RoleCode.LEADER], must_change_password=False
    )


def test_home_map_loads_offline_layers_searches_and_switches_language(
    live_server, login_page, page, console_errors, leader, screenshot_dir
):
    make_places()
    login_page("leader1", DEFAULT_PASSWORD)
    assert page.url == f"{live_server.url}/"
    # the shell
    assert page.locator(".app-user-name").inner_text() == "王行长"
    assert "行领导" in page.locator(".app-user-meta").inner_text()
    assert page.locator(".app-nav a.is-active").inner_text().strip() == "首页地图"

    # the map draws the districts fetched from the API, with no basemap at all
    page.wait_for_function(MAP_READY, timeout=30_000)
    rendered = page.evaluate(
        "() => [...new Set(window.__map.queryRenderedFeatures({ layers: ['districts-fill'] }).map(f => f.properties.name))].sort()"
    )
    assert rendered == ["岳麓区", "芙蓉区"]
    assert page.locator("#district-list button").count() == 2
    assert page.locator(".map-label-district").count() == 2
    if screenshot_dir:
        page.screenshot(path=str(Path(screenshot_dir) / "home-map-zh.png"))

    # keyword search (GC-5): the exact district comes first, a click flies there
    page.fill("#map-search-input", "芙蓉区")
    first = page.locator("#map-search-results .search-result").first
    first.wait_for()
    assert first.locator(".search-result-name").inner_text() == "芙蓉区"
    zoom_before = page.evaluate("() => window.__map.getZoom()")
    first.click()
    page.wait_for_function(f"() => !window.__map.isMoving() && window.__map.getZoom() > {zoom_before + 1}")
    page.wait_for_function("() => window.__map.loaded()")

    # a click on the district opens a popup with its name and code
    x, y = page.evaluate("() => { const p = window.__map.project([113.04, 28.16]); return [p.x, p.y]; }")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".maplibregl-popup .map-popup")
    popup.wait_for()
    assert "芙蓉区" in popup.inner_text() and "430102000000" in popup.inner_text()

    # POIs appear from zoom 12, coloured by category, and can be filtered
    page.wait_for_function(
        "() => window.__map.getSource('pois') && window.__map.querySourceFeatures('pois').length >= 2"
    )
    if screenshot_dir:
        page.screenshot(path=str(Path(screenshot_dir) / "home-map-zoomed.png"))

    # language switch: English labels in the navigation after the POST to set_language
    page.click(".app-language button[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".app-nav a.is-active").inner_text().strip() == "Home map"
    assert page.locator("html").get_attribute("lang") == "en"
    page.wait_for_function(MAP_READY, timeout=30_000)
    if screenshot_dir:
        page.screenshot(path=str(Path(screenshot_dir) / "home-map-en.png"))

    assert console_errors == []
