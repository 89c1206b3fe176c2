"""A real browser (Debian's chromium): a bidder uploads a sealed package from the "My bids" page
(hashed slice by slice, sent in chunks with a progress bar), reads the signed receipt on the bid's
page, downloads it, and withdraws the bid with the page's form (CSRF token included)."""
from __future__ import annotations

import json

import pytest

from bidding.models import Bid
from bidding.package import receipts
from core.db import db
from core.keys import platform_keys
from tests.bidding.submitting import new_bidder, open_lot, package, sha
from tests.bidding.test_opening_browser import _shot, _sign_in
from tests.core.test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("fresh_store")


def _amend(lot) -> None:
    from sqlalchemy import select

    from core.events import commit
    from core.models import User
    from trading.services import issue_amendment

    agency = db.session.scalar(select(User).where(User.organisation_id == lot.project.agency_org_id))
    issue_amendment(actor=agency, lot=lot, title="澄清第1号", body="工期改为 180 日历天")
    commit()  # eager tasks: bidding's subscriber marks the standing bid now


def test_a_bidder_uploads_reads_the_receipt_and_withdraws_in_the_browser(app, ctx, live_server, browser,  # noqa: F811
                                                                         tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=2_500_000)  # three slices of the page's hashing
    path = tmp_path / "bid.pkg"
    path.write_bytes(data)
    page = browser.new_page(locale="en", accept_downloads=True)
    _sign_in(page, live_server, bidder.user.email)
    page.goto(f"{live_server}/bidding/bids")
    page.fill("#bid-upload input[name=lot_id]", str(lot.id))
    page.set_input_files("#bid-upload input[type=file]", str(path))
    page.click("#bid-upload button[type=submit]")
    page.wait_for_function("document.getElementById('bid-status').textContent.includes('package_sha256')",
                           timeout=30_000)
    assert page.eval_on_selector("#bid-progress", "bar => bar.value") == 100
    shown = page.get_by_test_id("upload-status").inner_text()
    assert sha(data) in shown, shown
    db.session.expire_all()
    bid = db.session.query(Bid).filter_by(lot_id=lot.id).one()
    assert bid.package_sha256 == sha(data) and bid.state == "submitted"
    page.goto(f"{live_server}/bidding/bids/{bid.id}")
    receipt = json.loads(page.get_by_test_id("receipt").inner_text())
    receipts.verify(receipt, platform_keys().manifest())
    with page.expect_download() as download:
        page.click("a[href$='/receipt.json']")
    assert json.loads(download.value.path().read_text()) == receipt
    _shot(page, "bid-receipt.png")
    assert page.get_by_test_id("reconfirm").count() == 0
    _amend(lot)  # the documents change: the page asks the bidder to confirm the bid or replace it
    page.reload()
    assert page.get_by_test_id("reconfirm").is_visible()
    page.click("form[action$='/confirm'] button[type=submit]")
    page.wait_for_load_state()
    assert page.get_by_test_id("reconfirm").count() == 0
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).needs_reconfirmation is False
    page.click("form[action$='/withdraw'] button[type=submit]")
    page.wait_for_load_state()
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).state == "withdrawn"


def test_the_upload_page_shows_a_refusal_with_the_rule_it_enforces(app, ctx, live_server, browser,  # noqa: F811
                                                                    tmp_path):
    """A package sealed for another lot: the page says why, and which article says so."""
    lot, other, bidder = open_lot(), open_lot(), new_bidder()
    path = tmp_path / "bid.pkg"
    path.write_bytes(package(tmp_path, other, bidder))
    page = browser.new_page(locale="en")
    _sign_in(page, live_server, bidder.user.email)
    page.goto(f"{live_server}/bidding/bids")
    page.fill("#bid-upload input[name=lot_id]", str(lot.id))
    page.set_input_files("#bid-upload input[type=file]", str(path))
    page.click("#bid-upload button[type=submit]")
    page.wait_for_function("document.getElementById('bid-status').textContent.includes('lot_mismatch')",
                           timeout=30_000)
    shown = page.get_by_test_id("upload-status").inner_text()
    assert "电子招标投标办法" in shown and "第" in shown, shown
    db.session.expire_all()
    assert db.session.query(Bid).filter_by(lot_id=lot.id).count() == 0
