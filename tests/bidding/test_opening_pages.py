"""The hall and record pages: who may open them, what they show at each stage, and no price early.

Page requests run outside an application context (each request gets its own, as in production), so
that several signed-in browsers do not share ``g``; the data is made inside one.
"""
from __future__ import annotations

import pytest

from core.clock import frozen
from core.db import db
from core.models import User
from tests.bidding.opening_kit import add_bidders, after_deadline, close_at_deadline, data_key, make_opening
from tests.factories import make_user
from tests.trading.test_pages import sign_in

pytestmark = pytest.mark.usefixtures("fresh_store")


def _world(app, tmp_path):
    with app.app_context():
        world = make_opening()
        bidders = add_bidders(app.test_client(), world, tmp_path, 3, bond=False)
        outsider = make_user("bidder")
        users = {"host": world.host.id, "b1": bidders[0].user.id, "outsider": outsider.id}
        db.session.commit()
        facts = {"lot_id": world.lot.id, "deadline": after_deadline(world),
                 "keys": {b.org_id: data_key(world, b) for b in bidders}, "prices": dict(world.prices),
                 "headers": [b.headers for b in bidders], "orgs": [b.org_id for b in bidders],
                 "host_headers": world.host_headers}
    browsers = {name: app.test_client() for name in users}
    for name, user_id in users.items():
        with app.app_context():  # one sign-in per application context: flask-login keeps the user in g
            sign_in(browsers[name], db.session.get(User, user_id))  # by the real clock, before it moves
    return world, facts, browsers


def test_hall_page_by_role_and_stage(app, tmp_path):
    world, f, browsers = _world(app, tmp_path)
    lot, api, hall_page = f["lot_id"], app.test_client(), f"/bidding/opening/{f['lot_id']}"
    with frozen(f["deadline"]):
        with app.app_context():
            close_at_deadline(world)
        page = browsers["b1"].get(hall_page)
        assert page.status_code == 200 and 'data-testid="bidder-actions"' in page.get_data(as_text=True)
        assert 'data-testid="host-actions"' not in page.get_data(as_text=True)
        assert browsers["outsider"].get(hall_page).status_code == 403
        html = browsers["host"].get(hall_page).get_data(as_text=True)
        assert 'data-testid="host-actions"' in html and 'data-testid="bidder-actions"' not in html
        assert 'data-testid="remedy"' not in html  # this tender has no remedy plan
        assert all(price not in html for price in f["prices"].values())
        api.post(f"/api/bidding/lots/{lot}/opening/bidder-list", headers=f["host_headers"])
        api.post(f"/api/bidding/lots/{lot}/opening/window", headers=f["host_headers"])
        for org, headers in zip(f["orgs"], f["headers"], strict=True):
            api.post(f"/api/bidding/lots/{lot}/opening/unseal", headers=headers, json={"data_key": f["keys"][org]})
        html = browsers["host"].get(hall_page).get_data(as_text=True)
        assert all(price not in html for price in f["prices"].values())  # unsealed, but the table is not out
        assert api.get(f"{hall_page}/record").status_code == 404
        api.post(f"/api/bidding/lots/{lot}/opening/close", headers=f["host_headers"])
        record = app.test_client().get(f"{hall_page}/record")  # public: nobody signed in
        assert record.status_code == 200
        assert all(price in record.get_data(as_text=True) for price in f["prices"].values())


def test_hall_page_before_the_opening_says_when_it_starts(app, tmp_path):
    _world_, f, browsers = _world(app, tmp_path)
    page = browsers["host"].get(f"/bidding/opening/{f['lot_id']}")  # the lot is still taking bids
    assert page.status_code == 200 and 'data-testid="hall-not-started"' in page.get_data(as_text=True)


def test_the_hall_page_escapes_what_bidders_write(app, tmp_path):
    """An objection (or a company name) is data, never markup in the host's or a bidder's page."""
    world, f, browsers = _world(app, tmp_path)
    lot, api = f["lot_id"], app.test_client()
    attack = "</script><img src=x onerror=alert(1)>"
    with frozen(f["deadline"]):
        with app.app_context():
            close_at_deadline(world)
        api.post(f"/api/bidding/lots/{lot}/opening/bidder-list", headers=f["host_headers"])
        api.post(f"/api/bidding/lots/{lot}/opening/window", headers=f["host_headers"])
        for org, headers in zip(f["orgs"], f["headers"], strict=True):
            api.post(f"/api/bidding/lots/{lot}/opening/unseal", headers=headers, json={"data_key": f["keys"][org]})
        api.post(f"/api/bidding/lots/{lot}/opening/close", headers=f["host_headers"])
        resp = api.post(f"/api/bidding/lots/{lot}/opening-record/objections", headers=f["headers"][0],
                        json={"text": attack})
        assert resp.status_code == 201
        html = browsers["host"].get(f"/bidding/opening/{lot}").get_data(as_text=True)
    assert attack not in html and "<img src=x" not in html
    assert "\\u003c/script\\u003e" in html  # the text is there, escaped inside the JSON
