"""Pages: the portal without login (zh and en), the agency console's forms with CSRF, the
supervisor console; refusals are shown with their rule; wrong roles get 403."""
from __future__ import annotations

import io
import re

import pyotp
import pytest

from core import second_factor
from core.clock import frozen
from core.events import commit
from tests.factories import PASSWORD
from tests.trading.helpers import PDF, bj, published_lot
from trading.models import Lot

T0, DEADLINE = bj(2026, 3, 4, 10), bj(2026, 3, 24, 9)


def csrf_from(resp) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))[1]


def sign_in(client, user):
    """Sign in by the login form; supervisors and admins get a second factor enrolled first."""
    data = {"email": user.email, "password": PASSWORD}
    if user.needs_totp:
        second_factor.start_totp(user)
        user.totp_confirmed = True
        commit()
        data["totp"] = pyotp.TOTP(user.totp_secret).now()
    page = client.get("/login")
    resp = client.post("/login", data={"csrf_token": csrf_from(page), **data})
    assert resp.status_code == 302
    return csrf_from(client.get("/notices"))


@pytest.fixture
def lot_id(app, cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    commit()
    return lot.id


def test_portal_lists_searches_and_shows_a_notice_in_chinese(client, lot_id):
    html = client.get("/notices").get_data(as_text=True)
    assert "宁波市轨道交通5号线车站装修工程" in html and "招标中" in html
    assert "宁波市轨道交通5号线" not in client.get("/notices?q=医院").get_data(as_text=True)
    assert client.get("/notices?date_from=yesterday").status_code == 400
    page = client.get(f"/lots/{lot_id}").get_data(as_text=True)
    assert "招标文件.pdf" in page and "2026-03-24 09:00" in page and "招标文件" in page


def test_portal_in_english(client, lot_id):
    html = client.get("/notices?lang=en").get_data(as_text=True)
    assert "Tender notices" in html and "published" in html


def test_agency_creates_publishes_and_amends_through_the_pages(client, cast, lot_id):
    token = sign_in(client, cast["agency"])
    with frozen(T0):
        resp = client.post("/agency/new", content_type="multipart/form-data", data={
            "csrf_token": token, "name": "宁波市北仑区港区道路工程", "category": "construction", "mode": "open",
            "region": "330206", "tenderee_name": "宁波市北仑区交通局", "lot_name": "一标段", "estimate": "3000000",
            "bid_deadline": "2026-03-30T09:30", "document": (io.BytesIO(PDF), "招标文件.pdf")})
        assert resp.status_code == 302
        new_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        resp = client.post(f"/agency/lots/{new_id}/publish", data={"csrf_token": token}, follow_redirects=True)
        assert "已发布" in resp.get_data(as_text=True) or "Published" in resp.get_data(as_text=True)
    with frozen(bj(2026, 3, 20)):
        resp = client.post(f"/agency/lots/{new_id}/amendments", data={"csrf_token": token, "title": "澄清一",
                                                                       "body": "补充地质勘察报告"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "2026-04-04 09:30" in html or "2026-04-07 09:30" in html, "moved by the 15-day rule"
    public = client.get(f"/lots/{new_id}").get_data(as_text=True)
    assert "澄清一" in public and "补充地质勘察报告" in public


def test_refusals_are_shown_with_their_rule(client, cast):
    token = sign_in(client, cast["agency"])
    with frozen(T0):
        resp = client.post("/agency/new", content_type="multipart/form-data", data={
            "csrf_token": token, "name": "短期项目", "category": "construction", "region": "330206",
            "tenderee_name": "某局", "estimate": "100000", "bond_amount": "5000", "bid_deadline": "2026-03-30T09:30"})
    assert resp.status_code == 422 and "招标投标法实施条例 第二十六条" in resp.get_data(as_text=True)
    assert client.post("/agency/new", data={"name": "x"}).status_code == 403, "no CSRF token, no write"


def test_forms_need_the_csrf_token(client, cast, lot_id):
    sign_in(client, cast["agency"])
    assert client.post(f"/agency/lots/{lot_id}/cancel", data={"reason": "x"}).status_code == 403


def test_wrong_roles_get_403_on_console_pages(client, cast, lot_id):
    sign_in(client, cast["bidder"])
    for url in ("/agency", "/agency/new", f"/agency/lots/{lot_id}", "/supervisor", f"/supervisor/lots/{lot_id}"):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    sign_in(client, cast["agency_b"])
    assert client.get(f"/agency/lots/{lot_id}").status_code == 403, "another agency's lot"


def test_supervisor_suspends_and_sees_the_audit_trail(client, cast, lot_id):
    token = sign_in(client, cast["supervisor"])
    with frozen(bj(2026, 3, 6)):
        html = client.get(f"/supervisor/lots/{lot_id}").get_data(as_text=True)
        assert 'data-testid="downloads-hidden"' in html and "lot.publish" in html
        client.post(f"/supervisor/lots/{lot_id}/suspend", data={"csrf_token": token, "reason": "举报核查"})
    from core.db import db

    db.session.expire_all()
    assert db.session.get(Lot, lot_id).state == "suspended"
    assert "举报核查" in client.get(f"/lots/{lot_id}").get_data(as_text=True)
    html = client.get("/supervisor").get_data(as_text=True)
    assert "宁波市轨道交通5号线" in html


def test_blacklist_page_and_form(client, cast):
    token = sign_in(client, cast["supervisor"])
    with frozen(bj(2026, 3, 6)):
        client.post("/supervisor/blacklist", data={"csrf_token": token, "subject_kind": "person", "name": "王某",
                                                   "id_number": "330203197001011234", "reason": "提供虚假材料",
                                                   "legal_basis": "招标投标法实施条例 第六十八条",
                                                   "starts_at": "2026-03-01T00:00"})
        html = client.get("/blacklist").get_data(as_text=True)
    assert "王某" in html and "330203197001011234" not in html
