"""Who may touch a bid, written out from the issue rather than read from the permission table (the
matrix test checks the routes obey the table; this one checks the table says what the law does).

A bid, its upload, its receipt and its bond are the bidder organisation's alone until the deadline
(电子招标投标办法 第二十一条, 招标投标法 第二十二条); only bidders submit; the refund of a bond is
confirmed by the centre or the tenderee, never by the bidder who is owed it."""
from __future__ import annotations

import datetime as dt

import pytest

from core.clock import frozen
from tests.bidding.submitting import new_bidder, open_lot, package, start, submit
from tests.factories import bearer, make_user, token_for

pytestmark = pytest.mark.usefixtures("fresh_store")

OTHER_ROLES = ("agency", "expert", "supervisor", "archivist", "pool_manager", "admin")


@pytest.fixture
def world(app, client, ctx, tmp_path):
    lot, owner = open_lot(), new_bidder()
    bond = client.post(f"/api/bidding/lots/{lot.id}/bonds", headers=owner.headers, json={
        "amount": "20000.00", "method": "transfer", "payer_account": "6222000011112222",
        "payer_uscc": owner.user.organisation.uscc}).get_json()
    bid = submit(client, owner, lot.id, package(tmp_path, lot, owner)).get_json()
    upload = start(client, owner, lot.id, package(tmp_path, lot, owner, name="next.pkg")).get_json()
    headers = {role: bearer(token_for(make_user(role))) for role in OTHER_ROLES}
    headers["other bidder"] = new_bidder().headers
    return {"lot": lot, "owner": owner.headers, "bid": bid["id"], "bond": bond["id"], "upload": upload["id"],
            "headers": headers, "package": package(tmp_path, lot, owner, name="third.pkg")}


def _refused(resp) -> bool:
    return resp.status_code in (403, 404)


def _owner_only(world) -> list[tuple[str, str]]:
    bid, upload = world["bid"], world["upload"]
    return [("get", f"/api/bidding/bids/{bid}"), ("get", f"/api/bidding/bids/{bid}/receipt"),
            ("post", f"/api/bidding/bids/{bid}/withdraw"), ("post", f"/api/bidding/bids/{bid}/confirm"),
            ("get", f"/api/bidding/uploads/{upload}"), ("post", f"/api/bidding/uploads/{upload}/finish"),
            ("put", f"/api/bidding/uploads/{upload}/chunks?offset=0"), ("delete", f"/api/bidding/uploads/{upload}"),
            ("get", f"/api/bidding/bonds/{world['bond']}"),
            ("get", f"/bidding/bids/{bid}"), ("post", f"/bidding/bids/{bid}/withdraw"),
            ("post", f"/bidding/bids/{bid}/confirm")]


@pytest.mark.parametrize("who", [*OTHER_ROLES, "other bidder"])
def test_before_the_deadline_a_bid_is_its_bidders_alone(client, world, who):
    for method, path in _owner_only(world):
        resp = getattr(client, method)(path, headers=world["headers"][who])
        assert _refused(resp), f"{who} {method.upper()} {path}: {resp.status_code}"
    assert client.get(f"/api/bidding/bids/{world['bid']}", headers=world["owner"]).status_code == 200


@pytest.mark.parametrize("who", OTHER_ROLES)
def test_only_bidders_submit_and_record_bonds(client, world, who):
    lot, headers = world["lot"].id, world["headers"][who]
    assert _refused(client.post(f"/api/bidding/lots/{lot}/uploads", headers=headers,
                                json={"size": 3000, "sha256": "0" * 64}))
    assert _refused(client.post(f"/api/bidding/lots/{lot}/bids", data=world["package"], headers={
        **headers, "Content-Type": "application/octet-stream", "X-Package-SHA256": "0" * 64}))
    assert _refused(client.post(f"/api/bidding/lots/{lot}/bonds", headers=headers, json={
        "amount": "1.00", "method": "transfer", "payer_account": "1", "payer_uscc": "x"}))
    assert _refused(client.get("/bidding/bids", headers=headers))


@pytest.mark.parametrize("who", ["owner", "other bidder", "agency", "expert", "supervisor", "archivist",
                                 "pool_manager"])
def test_a_bond_refund_is_confirmed_by_the_centre_not_by_the_bidder(client, world, who):
    headers = world["owner"] if who == "owner" else world["headers"][who]
    assert _refused(client.post(f"/api/bidding/bonds/{world['bond']}/refunded", headers=headers))


def test_the_centre_may_confirm_a_refund(client, world):
    resp = client.post(f"/api/bidding/bonds/{world['bond']}/refunded", headers=world["headers"]["admin"])
    assert resp.status_code == 409 and resp.get_json()["error"] == "bond_not_due"  # allowed; not due yet


def test_after_the_deadline_the_archivist_reads_receipts_and_the_supervisor_bonds(client, world):
    receipt, bond = f"/api/bidding/bids/{world['bid']}/receipt", f"/api/bidding/bonds/{world['bond']}"
    with frozen(world["lot"].bid_deadline + dt.timedelta(seconds=1)):
        assert client.get(receipt, headers=world["headers"]["archivist"]).status_code == 200
        assert client.get(bond, headers=world["headers"]["supervisor"]).status_code == 200
        for who in ("agency", "expert", "pool_manager", "other bidder"):
            assert _refused(client.get(receipt, headers=world["headers"][who])), who
            assert _refused(client.get(bond, headers=world["headers"][who])), who
