"""Shared browser fixtures for the end-to-end tests (Playwright's sync API over Debian's chromium).

Playwright cannot download browsers here, so it drives the system chromium (`CHROMIUM_PATH`, else
`chromium` on PATH). Every test gets a fresh browser context (`page`) whose console errors and
uncaught page errors are collected in `console_errors`; the test asserts the list is empty.

Playwright's sync API runs an asyncio loop in the test thread, which makes Django refuse ORM calls
from the test itself; DJANGO_ALLOW_ASYNC_UNSAFE lifts that for this test process only. Tests use
pytest-django's `live_server` and need `@pytest.mark.django_db(transaction=True)` (the server thread
must see committed rows; tests/fixtures.py re-seeds the roles after the previous test's flush).
"""
from __future__ import annotations

import os
import shutil

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless=new",
    # WebGL (MapLibre) in software: chromium no longer falls back to SwiftShader on its own.
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser, console_errors):
    """A fresh page (1440×900, Chinese browser locale) that records console errors."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("console", lambda message: console_errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(f"pageerror: {error}"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def login_page(page, live_server):
    """login_page(username, password): sign in through the login form; returns the page."""

    def _login(username: str, password: str):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return _login


@pytest.fixture
def screenshot_dir():
    """Where to save screenshots for a human to look at (E2E_SCREENSHOT_DIR), or None."""
    return os.environ.get("E2E_SCREENSHOT_DIR") or None
