# covers: ORG-6 (an auditor searches the audit log and exports it), ORG-2 and SEC-1/SEC-4 (an
# administrator creates a user with an initial password shown once and changes roles after
# re-authentication), ORG-1, ORG-5, ORG-7 (the institution tree and the settings pages render)
"""The back-office pages in a real browser, signed in through the login form.

An auditor opens the audit log, finds his own sign-in, filters by `gis_core.auth.login` and
downloads the CSV export of the same selection. An administrator browses the institution tree,
creates a user on the users page (the generated initial password works and must be changed),
changes the user's roles through the password prompt, and opens the settings page. The console
stays free of errors."""
from pathlib import Path

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore

from gis_core.choices import InstitutionKind, RoleCode
from gis_core.models import AuditEntry, CalendarDay, DictionaryItem, Institution, User
from gis_core.services.organisation import dictionary_upsert
from gis_core.session_policy import AUTH_AT
from gis_core.tests.factories import DEFAULT_PASSWORD, InstitutionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY = "() => document.body.dataset.ready === 'true'"


@pytest.fixture
def bank(db):
    head = InstitutionFactory(code="HO", name="长沙农商银行总行", kind=InstitutionKind.HEAD_OFFICE)
    branch = InstitutionFactory(code="BA", name="芙蓉支行", kind=InstitutionKind.BRANCH, parent=head, address="五一大道 1 号")
    InstitutionFactory(code="BA1", name="五里牌分理处", kind=InstitutionKind.SUB_BRANCH, parent=branch)
    return {"head": head, "a": branch}


def sign_in(page, live_server, username: str, next_url: str):
    """Through the login form, straight to the page (the home map is not every role's page)."""
    page.goto(f"{live_server.url}/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")
    page.wait_for_function(READY)


def shoot(page, screenshot_dir, name: str):
    if screenshot_dir:
        page.screenshot(path=str(Path(screenshot_dir) / name), full_page=False)


def test_auditor_finds_his_login_filters_and_exports(live_server, page, console_errors, bank, screenshot_dir):
    UserFactory(username="shenji", display_name="审计员小周", institution=bank["head"], roles=[RoleCode.AUDITOR])
    # someone else's entry that the filter must leave out
    UserFactory(username="admin1", institution=bank["head"], roles=[RoleCode.SYSTEM_ADMIN])
    AuditEntry.objects.create(actor_username="admin1", institution=bank["head"], action="gis_core.user.created", result="success")

    sign_in(page, live_server, "shenji", "/org/audit/")
    assert page.locator(".app-nav a.is-active").inner_text().strip() == "审计日志"
    rows = page.locator("#audit-rows tr[data-id]")
    own_login = rows.filter(has_text="shenji").filter(has_text="gis_core.auth.login")
    assert own_login.count() == 1
    assert rows.filter(has_text="gis_core.user.created").count() == 1
    shoot(page, screenshot_dir, "org-audit.png")

    page.fill("#af-action", "gis_core.auth.login")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('#audit-rows tr[data-id]')];"
        " return rows.length > 0 && !rows.some(r => r.textContent.includes('gis_core.user.created')); }"
    )
    actions = page.locator("#audit-rows tr[data-id] td:nth-child(4)").all_inner_texts()
    assert actions and all(a.startswith("gis_core.auth.login") for a in actions)
    assert "action=gis_core.auth.login" in page.url

    # the drawer shows the entry with its data
    rows.first.click()
    drawer = page.locator("#audit-drawer")
    page.wait_for_function("() => document.getElementById('audit-drawer').classList.contains('is-open')")
    assert drawer.locator('[data-field="action"]').inner_text() == "gis_core.auth.login"
    assert '"method"' in page.locator("#audit-json").inner_text()
    shoot(page, screenshot_dir, "org-audit-drawer.png")
    page.keyboard.press("Escape")

    # the export link carries the same filter and downloads a CSV with the entry
    assert page.get_attribute("#audit-export", "href") == "/api/audit/export/?action=gis_core.auth.login"
    with page.expect_download() as download_info:
        page.click("#audit-export")
    download = download_info.value
    assert download.suggested_filename.startswith("audit-") and download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("时间,账号,机构,操作")
    assert any("shenji" in line and ",gis_core.auth.login," in line for line in lines[1:])
    assert "gis_core.user.created" not in text
    assert AuditEntry.objects.filter(action="gis_core.audit.exported", actor_username="shenji").exists()
    assert console_errors == []


def test_administrator_creates_a_user_and_changes_roles(live_server, page, console_errors, bank, screenshot_dir):
    UserFactory(username="guanli", display_name="系统管理员", institution=bank["head"], roles=[RoleCode.SYSTEM_ADMIN])

    # the institution tree and the detail panel
    sign_in(page, live_server, "guanli", "/org/institutions/")
    page.wait_for_function("() => window.__institutionMap && window.__institutionMap.loaded()")
    assert page.locator("#inst-tree .org-tree-node").count() == 3
    page.locator("#inst-tree .org-tree-node", has_text="芙蓉支行").click()
    assert page.locator("#inst-code").inner_text() == "BA"
    assert page.locator("#inst-address").inner_text() == "五一大道 1 号"
    assert "五里牌分理处" in page.locator("#inst-children").inner_text()
    page.fill("#inst-search", "五里")
    page.wait_for_function("() => document.querySelectorAll('#inst-tree mark').length === 1")
    page.fill("#inst-search", "")
    page.wait_for_function("() => document.querySelectorAll('#inst-tree mark').length === 0")
    shoot(page, screenshot_dir, "org-institutions.png")

    # add an outlet under the sub-branch, its location picked on the map
    page.locator("#inst-tree .org-tree-node", has_text="五里牌分理处").click()
    page.click("#inst-add-child")
    page.wait_for_function("() => window.__pickerMap && window.__pickerMap.loaded()")
    assert page.locator("#inst-f-kind option").all_inner_texts() == ["网点"]
    page.fill("#inst-f-code", "BA1-01")
    page.fill("#inst-f-name", "五里牌营业网点")
    box = page.locator("#inst-picker-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 - 30)
    lng, lat = float(page.input_value("#inst-f-lng")), float(page.input_value("#inst-f-lat"))
    shoot(page, screenshot_dir, "org-institutions-add.png")
    page.click("#inst-submit")
    page.wait_for_function("() => document.getElementById('inst-name').textContent === '五里牌营业网点'")
    outlet = Institution.objects.get(code="BA1-01")
    assert (outlet.kind, outlet.parent.code) == ("outlet", "BA1")
    assert outlet.location.x == pytest.approx(lng, abs=1e-6) and outlet.location.y == pytest.approx(lat, abs=1e-6)
    assert lng > 112.98 and lat > 28.19  # the click was right of and above the centre

    # create a user: the generated initial password is shown once
    page.click(".app-nav a[href='/org/users/']")
    page.wait_for_function(READY)
    page.wait_for_function("() => document.querySelectorAll('#uf-institution option').length === 5")
    shoot(page, screenshot_dir, "org-users.png")
    page.click("#user-create")
    page.fill("#u-username", "zhangsan")
    page.fill("#u-display-name", "张三")
    page.fill("#u-employee-no", "E1001")
    page.fill("#u-phone", "13800138000")
    page.select_option("#u-institution", str(bank["a"].pk))
    page.check("#u-roles input[value=account_manager]")
    shoot(page, screenshot_dir, "org-users-create.png")
    page.click("#user-submit")
    secret = page.locator("#password-value")
    secret.wait_for()
    password = secret.inner_text()
    assert len(password) >= 12
    shoot(page, screenshot_dir, "org-users-password.png")
    page.click("#password-dialog button[value=done]")
    row = page.locator("#user-rows tr", has_text="zhangsan")
    row.wait_for()
    assert "138****8000" in row.inner_text() and "客户经理" in row.inner_text() and "芙蓉支行" in row.inner_text()
    user = User.objects.get(username="zhangsan")
    assert user.check_password(password) and user.must_change_password
    assert user.institution_id == bank["a"].pk and user.role_codes == {"account_manager"}

    # changing roles needs a recent password: drop it from the session, the page asks and retries
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=session_key)
    del session[AUTH_AT]
    session.save()
    row.locator("button[data-action=roles]").click()
    page.check("#roles-list input[value=analyst]")
    page.click("#roles-submit")
    page.locator("#org-reauth-password").wait_for()
    page.fill("#org-reauth-password", DEFAULT_PASSWORD)
    page.click("#org-reauth-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#user-rows').textContent.includes('数据分析员')")
    user.refresh_from_db()
    user._role_codes = None
    assert user.role_codes == {"account_manager", "analyst"}
    assert AuditEntry.objects.filter(action="gis_core.auth.reauth", actor_username="guanli").exists()
    shoot(page, screenshot_dir, "org-users-list.png")
    # the one refused request is the 403 reauth_required the page answered with the prompt
    refused = [e for e in console_errors if "status of 403" in e]
    assert len(refused) == 1
    console_errors[:] = [e for e in console_errors if e not in refused]

    # settings: edit a dictionary's values, then mark a day off in the calendar
    dictionary_upsert(actor=None, code="customer.level", name="客户等级", items=[
        {"value": "A", "label": "优质客户", "label_en": "Prime"}, {"value": "B", "label": "一般客户"},
    ])
    page.click(".app-nav a[href='/org/settings/']")
    page.wait_for_function(READY)
    page.locator("#dict-items tr").nth(1).locator("input[name=label]").fill("普通客户")
    page.click("#dict-add-item")
    new_row = page.locator("#dict-items tr").nth(2)
    new_row.locator("input[name=value]").fill("C")
    new_row.locator("input[name=label]").fill("潜在客户")
    shoot(page, screenshot_dir, "org-settings.png")
    page.click("#dict-save")
    page.wait_for_function("() => document.querySelector('#dict-list .dict-meta').textContent.includes('3')")
    assert list(DictionaryItem.objects.filter(dictionary__code="customer.level").order_by("sort_order").values_list("value", "label")) == [
        ("A", "优质客户"), ("B", "普通客户"), ("C", "潜在客户"),
    ]

    page.click("#tab-calendar")
    page.wait_for_function("() => document.querySelectorAll('#cal-grid .org-day:not(.org-day-blank)').length >= 28")
    workday = page.locator("#cal-grid button.org-day.is-workday").first
    date = workday.get_attribute("data-date")
    workday.click()
    page.check("#day-form input[name=is_workday][value=false]")
    page.fill("#day-note", "测试假日")
    page.click("#day-save")
    page.wait_for_function(f"() => document.querySelector('#cal-grid [data-date=\"{date}\"]').classList.contains('is-holiday')")
    assert "测试假日" in page.locator(f"#cal-grid [data-date='{date}']").inner_text()
    day = CalendarDay.objects.get(date=date)
    assert (day.is_workday, day.note) == (False, "测试假日")
    shoot(page, screenshot_dir, "org-settings-calendar.png")
    assert console_errors == []
