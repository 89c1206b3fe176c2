"""A real browser (Debian's chromium): an agency signs in, creates and publishes a lot; a visitor
finds it on the portal by keyword; an amendment issued afterwards appears on the notice page.
Screenshots go to tests/artifacts/."""
from __future__ import annotations

from core.clock import frozen
from core.events import commit
from tests.factories import PASSWORD, make_org, make_user
from tests.trading.conftest import ARTIFACTS
from tests.trading.helpers import PDF, bj

KEYWORD = "杭州湾新区"


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 5000


def test_publish_find_and_amend(app, live_server, browser):
    with app.app_context():
        make_user("agency", org=make_org(kind="agency", name="浙江甬诚工程咨询有限公司"), email="browser-agency@test.ggzy")
        commit()
    agency = browser.new_context(locale="zh-CN").new_page()
    with frozen(bj(2026, 3, 4, 10)):
        agency.goto(f"{live_server}/login")
        agency.fill("input[name=email]", "browser-agency@test.ggzy")
        agency.fill("input[name=password]", PASSWORD)
        agency.click("form.form button[type=submit]")
        agency.goto(f"{live_server}/agency/new")
        form = agency.get_by_test_id("project-form")
        form.locator("input[name=name]").fill(f"{KEYWORD}滨海大道综合管廊工程")
        form.locator("input[name=region]").fill("330282")
        form.locator("input[name=tenderee_name]").fill("宁波杭州湾新区开发建设管理委员会")
        form.locator("textarea[name=description]").fill("本工程为综合管廊土建及安装，工期365日历天。")
        form.locator("input[name=lot_name]").fill("施工总承包一标段")
        form.locator("input[name=estimate]").fill("86500000.00")
        form.locator("input[name=bond_amount]").fill("800000.00")
        form.locator("input[name=bid_deadline]").fill("2026-03-30T09:30")
        form.locator("input[name=document]").set_input_files(
            files=[{"name": "招标文件.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        form.locator("button[type=submit]").click()
        agency.get_by_test_id("publish").click()
        assert agency.get_by_test_id("lot-state").inner_text() == "招标中"
        _shot(agency, "trading-agency-published.png")

        visitor = browser.new_context(locale="zh-CN").new_page()
        visitor.goto(f"{live_server}/notices")
        visitor.get_by_test_id("notice-search").locator("input[name=q]").fill(KEYWORD)
        visitor.get_by_test_id("notice-search").locator("button[type=submit]").click()
        visitor.get_by_test_id("notice-list").get_by_role("link", name=KEYWORD).first.click()
        assert KEYWORD in visitor.get_by_test_id("lot-title").inner_text()
        assert visitor.get_by_test_id("bid-deadline").inner_text().startswith("2026-03-30 09:30")
        _shot(visitor, "trading-portal-notice.png")

    with frozen(bj(2026, 3, 20, 15)):  # 10 days before the deadline: the amendment moves it
        amend = agency.get_by_test_id("amendment-form")
        amend.locator("input[name=title]").fill("关于工程量清单的澄清")
        amend.locator("textarea[name=body]").fill("第三章工程量清单第12项数量更正为1200米。")
        amend.locator("button[type=submit]").click()
        visitor.reload()
        amendment = visitor.get_by_test_id("amendment")
        assert "关于工程量清单的澄清" in amendment.inner_text()
        assert "2026-04-07 09:30" in visitor.get_by_test_id("bid-deadline").inner_text()
        assert "澄清" in visitor.get_by_test_id("timeline").inner_text()
        _shot(visitor, "trading-portal-amendment.png")
