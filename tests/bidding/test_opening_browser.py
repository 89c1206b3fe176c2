"""A real browser (Debian's chromium): the opening host (in Chinese) and one bidder (in English) in
the hall.  The bidder signs in to the hall and unseals by pasting its data key; the host publishes
the list, opens and closes the window; each page follows the other's actions live.  Screenshots go
to tests/artifacts/."""
from __future__ import annotations

import pyotp
import pytest

from core import second_factor
from core.clock import frozen
from core.db import db
from core.events import commit
from core.models import User
from tests.bidding.opening_kit import add_bidders, after_deadline, close_at_deadline, data_key, make_opening
from tests.core.test_browser import ARTIFACTS, browser, live_server  # noqa: F401  (fixtures)
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("fresh_store")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 5000


def _sign_in(page, base: str, email: str, totp_secret: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    if totp_secret:
        page.fill("input[name=totp]", pyotp.TOTP(totp_secret).now())
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()


def _row(page, org_id: int):
    return page.locator(f'#rows tr[data-org="{org_id}"]')


def test_host_and_bidder_in_the_hall(app, live_server, browser, tmp_path):  # noqa: F811
    with app.app_context():
        world = make_opening()
        bidders = add_bidders(app.test_client(), world, tmp_path, 3)
        host = db.session.get(User, world.host.id)
        second_factor.start_totp(host)
        host.totp_confirmed = True
        commit()
        f = {"lot": world.lot.id, "host_email": host.email, "secret": host.totp_secret,
             "bidder_email": bidders[0].user.email, "org": bidders[0].org_id, "deadline": after_deadline(world),
             "key": data_key(world, bidders[0]), "price": world.prices[bidders[0].org_id],
             "others": [(b.headers, data_key(world, b)) for b in bidders[1:]], "host_headers": world.host_headers}
    host_page = browser.new_context(locale="zh-CN").new_page()
    bidder_page = browser.new_context(locale="en-US").new_page()
    _sign_in(host_page, live_server, f["host_email"], f["secret"])  # real clock for the one-time code
    _sign_in(bidder_page, live_server, f["bidder_email"])
    bidder_page.goto(f"{live_server}/lang/en")
    hall = f"{live_server}/bidding/opening/{f['lot']}"
    with frozen(f["deadline"]):
        with app.app_context():
            close_at_deadline(world)
        host_page.goto(hall)
        bidder_page.goto(hall)
        host_page.get_by_test_id("live").filter(has_text="实时").wait_for()
        assert _row(host_page, f["org"]).get_attribute("data-status") == "pending"
        bidder_page.get_by_test_id("action-attendance").click()
        _row(host_page, f["org"]).locator("td", has_text="是").first.wait_for()  # signed in, seen live

        host_page.get_by_test_id("action-bidder-list").click()
        bidder_page.get_by_test_id("stage").filter(has_text="listed").wait_for()  # the bidder's page follows
        host_page.get_by_test_id("stage").filter(has_text="已公布名单").wait_for()
        host_page.get_by_test_id("action-window").click()
        bidder_page.get_by_test_id("stage").filter(has_text="unsealing").wait_for()

        bidder_page.get_by_test_id("data-key").fill(f["key"])
        bidder_page.locator("#unseal-form button[type=submit]").click()
        host_page.locator(f'#rows tr[data-org="{f["org"]}"][data-status="unsealed"]').wait_for()  # pushed live
        assert f["price"] not in host_page.content()  # unsealed, but no price before the table
        _shot(host_page, "opening-hall-host.png")
        client = app.test_client()
        for headers, key in f["others"]:
            client.post(f"/api/bidding/lots/{f['lot']}/opening/unseal", headers=headers, json={"data_key": key})
        host_page.get_by_test_id("action-close").click()
        bidder_page.get_by_test_id("stage").filter(has_text="confirming").wait_for()
        bidder_page.locator("#rows td", has_text=f["price"]).wait_for()
        _shot(bidder_page, "opening-hall-bidder.png")
        bidder_page.goto(f"{hall}/record")
        assert f["price"] in bidder_page.get_by_test_id("record-bids").inner_text()
