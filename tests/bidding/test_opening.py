"""The remote opening end to end through the API, with real cryptography (电子招标投标办法 第二十九条至第三十二条).

Five bidders submit sealed, priced packages, one withdraws, the deadline passes (the scheduler's
close job starts the opening), three unseal with their own keys, one fails by its own fault and is
revoked, the table is published and confirmed, an objection is answered, and the final record
verifies against the platform's public keys.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bidding.models import Bid, BidBond, OpeningSession, Unsealing
from bidding.package.records import confirm_message, verify_record
from core.clock import frozen
from core.db import db
from core.events import OutboxEvent
from core.models import AuditLog
from tests.bidding.opening_kit import add_bidders, after_deadline, close_at_deadline, data_key, make_opening
from trading.models import Lot

pytestmark = pytest.mark.usefixtures("fresh_store")


def _events(lot_id: int) -> list[str]:
    rows = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    return [r.name for r in rows if r.payload.get("lot_id") == lot_id and r.name.startswith("bidding.")]


def _sign(bidder, digest: str) -> dict:
    from bidding.package import container as c

    return {"key_id": c.key_id("ed25519", c.raw_public(bidder.sign)),
            "signature": c.b64e(bidder.sign.sign(confirm_message(digest)))}


def _damage_stored(root, data: bytes) -> None:
    """Zero the stored copy of ``data`` in the local object store (whatever its layout)."""
    hits = [p for p in root.rglob("*") if p.is_file() and p.stat().st_size == len(data) and p.read_bytes() == data]
    assert hits, "the package is not in the store"
    for path in hits:
        path.chmod(0o600)
        path.write_bytes(b"\0" * len(data))


def test_five_bidders_one_withdraws_three_unseal_one_revoked_record_confirmed(app, client, ctx, tmp_path):
    world = make_opening()
    bidders = add_bidders(client, world, tmp_path, 5)
    b1, b2, b3, b4, b5 = bidders
    withdrawn = client.get("/api/bidding/bids", headers=b5.headers).get_json()[0]["id"]
    assert client.post(f"/api/bidding/bids/{withdrawn}/withdraw", headers=b5.headers).status_code == 200

    t0 = after_deadline(world)
    with frozen(t0):
        assert close_at_deadline(world) == "closed"
        assert db.session.get(Lot, world.lot_id).state == "opening"
        hall = client.get(world.url(), headers=world.host_headers).get_json()
        assert hall["stage"] == "waiting" and len(hall["bidders"]) == 4  # the withdrawn bid is not extracted
        assert b5.org_id not in {b["organisation_id"] for b in hall["bidders"]}
        early = client.get(world.url(), headers=b1.headers).get_json()
        assert [b["organisation_id"] for b in early["bidders"]] == [b1.org_id]  # the list is not public yet
        assert client.get(world.url(), headers=b5.headers).status_code == 403  # no bid in this opening
        for b in (b1, b2, b3):
            key_id = _sign(b, "x")["key_id"]
            assert client.post(world.url("/attendance"), headers=b.headers, json={"key_id": key_id}).status_code == 201
        fake = client.post(world.url("/attendance"), headers=b1.headers, json={"key_id": "ed25519:0000"})
        assert fake.status_code == 422 and fake.get_json()["error"] == "unknown_key"
        assert client.post(world.url("/bidder-list"), headers=b1.headers).status_code == 403  # host only
        assert client.post(world.url("/bidder-list"), headers=world.host_headers).status_code == 200
        opened = client.post(world.url("/window"), headers=world.host_headers).get_json()
        assert opened["stage"] == "unsealing"

    with frozen(t0 + dt.timedelta(minutes=5)):
        for b in (b1, b2, b3):
            resp = client.post(world.url("/unseal"), headers=b.headers, json={"data_key": data_key(world, b)})
            assert resp.status_code == 200 and resp.get_json()["status"] == "unsealed", resp.get_json()
        wrong = client.post(world.url("/unseal"), headers=b4.headers, json={"data_key": data_key(world, b1)})
        assert wrong.status_code == 200 and wrong.get_json()["status"] == "failed"
        assert wrong.get_json()["cause"] == "bidder"
        # nobody sees a price before the table: not the host, not a bidder, not the raw responses
        for headers in (world.host_headers, b1.headers, b4.headers):
            text = client.get(world.url(), headers=headers).get_data(as_text=True)
            assert all(price not in text for price in world.prices.values())
            assert all(b["price"] is None for b in json.loads(text)["bidders"])
        seen_by_b1 = {b["organisation_id"]: b for b in client.get(world.url(), headers=b1.headers).get_json()["bidders"]}
        assert seen_by_b1[b4.org_id]["status"] == "failed" and seen_by_b1[b4.org_id]["cause"] is None  # not b1's business
        assert client.get(f"/api/bidding/lots/{world.lot_id}/opening-record").status_code == 404
        early = client.post(world.url("/close"), headers=world.host_headers)  # b4 may still try again
        assert early.status_code == 409 and early.get_json()["error"] == "bids_not_unsealed"

    with frozen(t0 + dt.timedelta(minutes=31)):  # the window's end: the scheduler closes it
        from bidding.tasks import close_unseal_window

        assert close_unseal_window(world.lot_id) == "confirming"
        hall = client.get(world.url(), headers=b1.headers).get_json()
        assert {b["organisation_id"]: b["fields"] for b in hall["bidders"]}[b1.org_id] == {"duration_days": "300"}
        table = client.get(f"/api/bidding/lots/{world.lot_id}/opening-record").get_json()
        rows = {r["uscc"]: r for r in table["body"]["bids"]}
        for b in (b1, b2, b3):
            row = rows[b.user.organisation.uscc]
            assert row["outcome"] == "unsealed" and row["price"] == world.prices[b.org_id]
            assert row["fields"] == {"duration_days": str(300 + bidders.index(b))}
        assert rows[b4.user.organisation.uscc]["outcome"] == "revoked" and rows[b4.user.organisation.uscc]["price"] is None
        assert db.session.get(Bid, rows[b4.user.organisation.uscc]["bid_id"]).state == "revoked"
        bond = db.session.scalar(select(BidBond).where(BidBond.organisation_id == b4.org_id))
        assert bond.state == "forfeitable"

        for b in (b1, b2):
            assert client.post(f"/api/bidding/lots/{world.lot_id}/opening-record/confirmations", headers=b.headers,
                               json=_sign(b, table["digest"])).status_code == 201
        forged = _sign(b1, table["digest"])  # b3 presenting b1's key and signature
        assert client.post(f"/api/bidding/lots/{world.lot_id}/opening-record/confirmations", headers=b3.headers,
                           json=forged).status_code == 422
        objection = client.post(f"/api/bidding/lots/{world.lot_id}/opening-record/objections", headers=b3.headers,
                                json={"text": "我方报价单位应为元，请核对"})
        assert objection.status_code == 201
        finish = client.post(f"/api/bidding/lots/{world.lot_id}/opening-record/finish", headers=world.host_headers)
        assert finish.status_code == 409 and finish.get_json()["error"] == "objection_unanswered"
        answer_url = f"/api/bidding/opening-responses/{objection.get_json()['id']}/answer"
        assert client.post(answer_url, headers=b1.headers, json={"answer": "x"}).status_code == 403
        assert client.post(answer_url, headers=world.host_headers, json={"answer": "已核对，单位为元"}).status_code == 200
        finish = client.post(f"/api/bidding/lots/{world.lot_id}/opening-record/finish", headers=world.host_headers)
        assert finish.status_code == 409 and finish.get_json()["error"] == "confirmation_open"

    session = db.session.get(OpeningSession, world.lot_id)
    with frozen(session.confirm_until + dt.timedelta(seconds=1)):
        from bidding.tasks import finish_opening

        assert finish_opening(world.lot_id) == "closed"
    db.session.expire_all()
    assert db.session.get(Lot, world.lot_id).state == "opened"
    final = client.get(f"/api/bidding/lots/{world.lot_id}/opening-record").get_json()
    assert final["kind"] == "final" and final["body"]["table_digest"] == table["digest"]
    verify_record(final, client.get("/api/keys/platform").get_json())
    kinds = {(r["uscc"], r["kind"]) for r in final["body"]["responses"]}
    assert (b3.user.organisation.uscc, "objection") in kinds and (b1.user.organisation.uscc, "confirmation") in kinds
    assert final["body"]["deemed_accepted"] == [b4.user.organisation.uscc]  # absent: deemed to accept
    tampered = {**final, "body": {**final["body"], "bids": final["body"]["bids"][::-1]}}
    with pytest.raises(ValueError):
        verify_record(tampered, client.get("/api/keys/platform").get_json())
    names = _events(world.lot_id)
    assert names.count("bidding.bid_unsealed") == 3 and names.count("bidding.unseal_failed") == 1
    assert names.count("bidding.opening_record_published") == 2 and "bidding.opening_started" in names
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "bidding.hall_sign_in")) is not None
    from archive.models import ArchivePending, ArchiveRecord

    archived = set(db.session.scalars(select(ArchivePending.name))) | set(db.session.scalars(
        select(ArchiveRecord.event_name)))
    assert {"bidding.opening_started", "bidding.bid_unsealed", "bidding.unseal_failed",
            "bidding.opening_record_published", "bidding.opening_objection"} <= archived  # every step kept


def test_fewer_than_three_bids_fail_the_lot_and_tell_the_agency(app, client, ctx, tmp_path):
    from core.models import Notification, User

    world = make_opening()
    add_bidders(client, world, tmp_path, 2)
    with frozen(after_deadline(world)):
        assert close_at_deadline(world) == "failed"
    assert db.session.get(Lot, world.lot_id).state == "failed"
    assert db.session.get(OpeningSession, world.lot_id) is None
    agency_org = world.lot.project.agency_org_id
    notes = db.session.scalars(select(Notification)).all()
    assert any("重新招标" in n.subject for n in notes if db.session.get(User, n.user_id).organisation_id == agency_org)


def test_timeout_revokes_and_platform_failure_withdraws_with_refund(app, client, ctx, tmp_path):
    from core.storage import get_storage

    world = make_opening()
    b1, b2, b3 = add_bidders(client, world, tmp_path, 3)
    t0 = after_deadline(world)
    with frozen(t0):
        close_at_deadline(world)
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        _damage_stored(get_storage().root, world.packages[b3.org_id])  # the platform's disk fails
        assert client.post(world.url("/unseal"), headers=b1.headers,
                           json={"data_key": data_key(world, b1)}).get_json()["status"] == "unsealed"
        failed = client.post(world.url("/unseal"), headers=b3.headers, json={"data_key": data_key(world, b3)})
        assert failed.get_json()["status"] == "failed" and failed.get_json()["cause"] == "platform"
        early = client.post(world.url("/close"), headers=world.host_headers)
        assert early.status_code == 409 and early.get_json()["error"] == "bids_not_unsealed"  # b2 pending
    session = db.session.get(OpeningSession, world.lot_id)
    with frozen(session.window_closes_at + dt.timedelta(seconds=1)):
        from bidding.tasks import close_unseal_window

        assert close_unseal_window(world.lot_id) == "confirming"
    db.session.expire_all()
    states = {u.organisation_id: u.status for u in db.session.scalars(select(Unsealing))}
    assert states[b2.org_id] == "timed_out"
    bids = {b.organisation_id: b.state for b in db.session.scalars(select(Bid))}
    assert (bids[b1.org_id], bids[b2.org_id], bids[b3.org_id]) == ("submitted", "revoked", "withdrawn")
    bonds = {b.organisation_id: b.state for b in db.session.scalars(select(BidBond))}
    assert (bonds[b2.org_id], bonds[b3.org_id]) == ("forfeitable", "refund_due")


def test_remedy_two_custodians_unseal_the_failed_bids(app, client, ctx, tmp_path):
    from bidding.models import KeyShare, RemedyShare
    from bidding.package import custody
    from tests.factories import bearer, token_for

    world = make_opening(remedy=True)
    b1, b2, b3 = add_bidders(client, world, tmp_path, 3)
    shares = {s.slot: s for s in db.session.scalars(select(KeyShare).where(KeyShare.lot_id == world.lot_id))}
    with frozen(after_deadline(world)):
        close_at_deadline(world)
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        client.post(world.url("/unseal"), headers=b1.headers, json={"data_key": data_key(world, b1)})
        failed = client.post(world.url("/unseal"), headers=b2.headers, json={"data_key": data_key(world, b1)})
        assert failed.get_json()["status"] == "failed"  # b2 cannot unseal; b3 has not tried
        sup_user, sup_key = world.custodians["supervisor"]
        host_key = world.custodians["opening_host"][1]
        clear_sup = custody.decrypt_share(shares["supervisor"].record(), sup_key).to_json()
        clear_host = custody.decrypt_share(shares["opening_host"].record(), host_key).to_json()
        sup_headers = bearer(token_for(sup_user))
        assert client.post(world.url("/remedy"), headers=b2.headers, json={"share": clear_sup}).status_code == 403
        wrong = client.post(world.url("/remedy"), headers=sup_headers, json={"share": clear_host})
        assert wrong.status_code == 422 and wrong.get_json()["error"] == "wrong_share"  # not the sender's share
        first = client.post(world.url("/remedy"), headers=sup_headers, json={"share": clear_sup}).get_json()
        assert first == {"shares": 1, "unsealed": []}
        second = client.post(world.url("/remedy"), headers=world.host_headers, json={"share": clear_host})
        assert second.status_code == 200, second.get_json()
        bid2 = db.session.scalar(select(Bid.id).where(Bid.organisation_id == b2.org_id))
        assert second.get_json()["unsealed"] == [bid2]
    assert db.session.scalars(select(RemedyShare)).all() == []  # the shares are gone once used
    rows = {u.organisation_id: (u.status, u.via) for u in db.session.scalars(select(Unsealing))}
    assert rows == {b1.org_id: ("unsealed", "bidder"), b2.org_id: ("unsealed", "remedy"), b3.org_id: ("pending", None)}


def test_remedy_shares_that_do_not_rebuild_the_key_are_dropped(app, client, ctx, tmp_path):
    import json as _json

    from bidding.models import KeyShare, RemedyShare
    from bidding.package import custody
    from tests.factories import bearer, token_for

    world = make_opening(remedy=True)
    b1, _b2, _b3 = add_bidders(client, world, tmp_path, 3, bond=False)
    shares = {s.slot: s for s in db.session.scalars(select(KeyShare).where(KeyShare.lot_id == world.lot_id))}
    with frozen(after_deadline(world)):
        close_at_deadline(world)
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        client.post(world.url("/unseal"), headers=b1.headers, json={"data_key": data_key(world, world.bidders[1])})
        sup_user, sup_key = world.custodians["supervisor"]
        bad = _json.loads(custody.decrypt_share(shares["supervisor"].record(), sup_key).to_json())
        bad["y"] = custody.b64e(bytes(32))  # a corrupted share: right lot and x, wrong value
        client.post(world.url("/remedy"), headers=bearer(token_for(sup_user)), json={"share": _json.dumps(bad)})
        host_share = custody.decrypt_share(shares["opening_host"].record(), world.custodians["opening_host"][1])
        resp = client.post(world.url("/remedy"), headers=world.host_headers, json={"share": host_share.to_json()})
    assert resp.status_code == 422 and resp.get_json()["error"] == "remedy_shares_rejected"
    assert db.session.scalars(select(RemedyShare)).all() == []  # both custodians send theirs again


def test_remedy_refused_when_the_tender_has_no_plan(app, client, ctx, tmp_path):
    from bidding.models import KeyShare
    from bidding.package import custody

    world = make_opening(remedy=False)
    add_bidders(client, world, tmp_path, 3, bond=False)
    share = db.session.scalar(select(KeyShare).where(KeyShare.lot_id == world.lot_id, KeyShare.slot == "opening_host"))
    with frozen(after_deadline(world)):
        close_at_deadline(world)
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        clear = custody.decrypt_share(share.record(), world.custodians["opening_host"][1]).to_json()
        resp = client.post(world.url("/remedy"), headers=world.host_headers, json={"share": clear})
    assert resp.status_code == 409 and resp.get_json()["error"] == "no_remedy_plan"
    assert "第三十一条" in resp.get_json()["rule"]


def test_steps_out_of_order_and_bad_input_are_4xx(app, client, ctx, tmp_path):
    world = make_opening()
    b1, _b2, _b3 = add_bidders(client, world, tmp_path, 3, bond=False)
    assert client.get(world.url(), headers=world.host_headers).status_code == 404  # before the deadline
    with frozen(after_deadline(world)):
        close_at_deadline(world)
        early = client.post(world.url("/unseal"), headers=b1.headers, json={"data_key": data_key(world, b1)})
        assert early.status_code == 409 and early.get_json()["error"] == "wrong_opening_stage"
        assert client.post(world.url("/window"), headers=world.host_headers).status_code == 409  # list first
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        for body in ({"data_key": "not base64!" * 4}, {"data_key": "A" * 44}, {}, {"data_key": 7}):
            resp = client.post(world.url("/unseal"), headers=b1.headers, json=body)
            assert 400 <= resp.status_code < 500, (body, resp.get_json())
        assert client.post(world.url("/unseal"), headers=b1.headers,
                           json={"data_key": data_key(world, b1)}).get_json()["status"] == "unsealed"
        again = client.post(world.url("/unseal"), headers=b1.headers, json={"data_key": data_key(world, b1)})
        assert again.status_code == 409


def test_the_agency_sets_the_opening_terms_on_the_draft(app, client, ctx):
    from decimal import Decimal

    from core.clock import now
    from tests.factories import bearer, make_user, token_for
    from trading import services as trading

    agency = make_user("agency")
    project = trading.create_project(actor=agency, name="开标条款", category="construction", mode="open",
                                     region="330200", tenderee_name="某招标人",
                                     lots=[{"name": "一标段", "estimate": Decimal("1000000.00"),
                                            "bid_deadline": now() + dt.timedelta(days=30)}])
    lot_id = project.lots[0].id
    headers = bearer(token_for(agency))
    resp = client.patch(f"/api/trading/lots/{lot_id}", headers=headers,
                        json={"decrypt_window_minutes": 45, "unseal_remedy": True, "opening_fields": ["duration_days"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["decrypt_window_minutes"], body["unseal_remedy"], body["opening_fields"]) == (45, True, ["duration_days"])
    assert body["confirm_window_minutes"] == 15  # the default stays
    for bad in ({"decrypt_window_minutes": 1}, {"opening_fields": ["Not A Name"]}, {"confirm_window_minutes": 0}):
        assert client.patch(f"/api/trading/lots/{lot_id}", headers=headers, json=bad).status_code == 422
    other = bearer(token_for(make_user("agency")))
    assert client.patch(f"/api/trading/lots/{lot_id}", headers=other, json={"unseal_remedy": False}).status_code == 403


def test_catch_up_after_a_restart_opens_closes_and_finishes(app, client, ctx, tmp_path):
    """Lost events and jobs (a worker or scheduler down at the wrong moment) are caught up by the
    periodic ``bidding.start_due_openings``: start, window end and confirmation end."""
    from bidding import services as bidding
    from bidding.tasks import start_due_openings

    world = make_opening(confirm=1)
    b1, _b2, _b3 = add_bidders(client, world, tmp_path, 3, bond=False)
    t0 = after_deadline(world)
    with frozen(t0):
        lot = db.session.get(Lot, world.lot_id)
        bidding.close_bidding(lot_id=lot.id)
        db.session.commit()  # committed without dispatching: the start event is "lost"
        assert db.session.get(OpeningSession, world.lot_id) is None
        assert start_due_openings() == {str(world.lot_id): "started"}
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        client.post(world.url("/unseal"), headers=b1.headers, json={"data_key": data_key(world, b1)})
    with frozen(t0 + dt.timedelta(minutes=31)):
        assert start_due_openings() == {str(world.lot_id): "window_closed"}
    with frozen(t0 + dt.timedelta(minutes=33)):
        assert start_due_openings() == {str(world.lot_id): "record_closed"}
        assert start_due_openings() == {}  # nothing left to do
    db.session.expire_all()
    assert db.session.get(Lot, world.lot_id).state == "opened"


def test_the_expert_draw_learns_the_lots_bidders(app, client, ctx, tmp_path):
    from experts import services as experts

    world = make_opening()
    bidders = add_bidders(client, world, tmp_path, 3, bond=False)
    expected = sorted(b.org_id for b in bidders)
    assert experts.bidders_of(world.lot_id) == []  # who bid is bidding's secret until the close
    with frozen(after_deadline(world)):
        close_at_deadline(world)
    assert experts.bidders_of(world.lot_id) == expected  # handed down by the close


def test_an_unsealing_overtaken_by_the_windows_close_is_refused(app, client, ctx, tmp_path, monkeypatch):
    """The decryption runs unlocked; if the window closes meanwhile, the outcome is not written: the
    bidder gets 409 and the bid stays as the close settled it (no unsealed row under a published table)."""
    import threading

    from bidding.services import unsealing
    from bidding.tasks import close_unseal_window

    world = make_opening()
    b1, b2, b3 = add_bidders(client, world, tmp_path, 3, bond=False)
    decrypted, release = threading.Event(), threading.Event()
    real_try = unsealing._try

    def slow_try(bid, **kwargs):  # the real decryption, then a pause at the moment that matters
        outcome = real_try(bid, **kwargs)
        decrypted.set()
        assert release.wait(30)
        return outcome

    t0 = after_deadline(world)
    results = {}
    with frozen(t0):
        close_at_deadline(world)
        client.post(world.url("/bidder-list"), headers=world.host_headers)
        client.post(world.url("/window"), headers=world.host_headers)
        for b in (b1, b2):
            client.post(world.url("/unseal"), headers=b.headers, json={"data_key": data_key(world, b)})
        monkeypatch.setattr(unsealing, "_try", slow_try)
        url, headers, body = world.url("/unseal"), b3.headers, {"data_key": data_key(world, b3)}
        late = threading.Thread(target=lambda: results.setdefault("resp", app.test_client().post(
            url, headers=headers, json=body)))
        late.start()
        assert decrypted.wait(30)
        session = db.session.get(OpeningSession, world.lot_id)
        with frozen(session.window_closes_at):
            assert close_unseal_window(world.lot_id) == "confirming"
        release.set()
        late.join(30)
    resp = results["resp"]
    assert resp.status_code == 409 and resp.get_json()["error"] in ("wrong_opening_stage", "window_closed")
    db.session.expire_all()
    row = db.session.scalar(select(Unsealing).where(Unsealing.organisation_id == b3.org_id))
    assert (row.status, row.price) == ("timed_out", None)
    assert db.session.scalar(select(Bid.state).where(Bid.organisation_id == b3.org_id)) == "revoked"
