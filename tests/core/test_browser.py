"""Harness (c): a real browser (Debian's chromium, driven by Playwright) signs in and is shown the
account page; the screenshot is kept under tests/artifacts/."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from core.events import commit
from tests.factories import PASSWORD, make_user
from tests.support import free_port, need

CHROMIUM = os.environ.get("GGZY_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(app):
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def browser():
    need("browser", Path(CHROMIUM).exists(), f"{CHROMIUM} not found (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def test_bidder_signs_in(app, live_server, browser):
    with app.app_context():
        user = make_user("bidder", email="browser-bidder@test.ggzy")
        commit()
        name = user.name
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.fill("input[name=email]", "browser-bidder@test.ggzy")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.goto(f"{live_server}/account")
    assert page.get_by_test_id("account-link").inner_text().startswith(name)
    assert "投标人" in page.content(), "the role is shown in Chinese by default"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-account.png"), full_page=True)
    assert (ARTIFACTS / "login-account.png").stat().st_size > 5000


def test_wrong_password_is_explained(app, live_server, browser):
    with app.app_context():
        make_user("bidder", email="browser-wrong@test.ggzy")
        commit()
    page = browser.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.fill("input[name=email]", "browser-wrong@test.ggzy")
    page.fill("input[name=password]", "not-the-password")
    page.click("form.form button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "e-mail or password is wrong"
