"""Submission: chunked resumable upload, the deadline by the server clock, receipts, modify, withdraw."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from bidding import services
from bidding.models import Bid, Upload
from bidding.package import receipts
from bidding.services import close_bidding
from core.clock import frozen, now
from core.db import db
from core.events import commit
from core.keys import platform_keys
from core.storage import get_storage
from tests.bidding.submitting import (
    finish,
    new_bidder,
    open_lot,
    package,
    put_chunk,
    sha,
    start,
    submit,
    upload_all,
)

pytestmark = pytest.mark.usefixtures("fresh_store")


def _bids(lot_id: int) -> int:
    return db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot_id))


def _objects(lot_id: int) -> list[str]:
    return list(get_storage().list(f"bidding/packages/{lot_id}/"))


def test_submit_returns_a_signed_receipt_that_verifies(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    resp = submit(client, bidder, lot.id, data)
    assert resp.status_code == 201, resp.get_json()
    bid = resp.get_json()
    receipt = bid["receipt"]
    assert (receipt["package_sha256"], receipt["size"], receipt["lot_id"]) == (sha(data), len(data), lot.id)
    assert receipt["organisation_id"] == bidder.org_id and receipt["received_at"].endswith("Z")
    receipts.verify(receipt, platform_keys().manifest())
    public = client.get("/api/keys/platform").get_json()
    receipts.verify(receipt, public)  # what a bidder or the archive has
    row = db.session.get(Bid, bid["id"])
    assert get_storage().get_bytes(row.package_key) == data
    assert row.signer_kid.startswith("ed25519:") and len(row.device["mac"][0]) == 64  # hashed per component
    assert row.ip == "127.0.0.1"
    tampered = {**receipt, "size": receipt["size"] + 1}
    try:
        receipts.verify(tampered, public)
    except receipts.ReceiptError as err:
        assert err.code == "bad_signature"
    else:
        raise AssertionError("a changed receipt verified")


def test_identical_retry_returns_the_same_receipt(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = upload_all(client, bidder, lot.id, data)
    first = finish(client, bidder, upload_id)
    again = finish(client, bidder, upload_id)  # the response was lost: ask again
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["receipt"] == first.get_json()["receipt"]
    fresh = start(client, bidder, lot.id, data)  # a new session for the same package
    assert fresh.status_code == 200 and fresh.get_json()["state"] == "already_submitted"
    assert fresh.get_json()["receipt"] == first.get_json()["receipt"]
    assert _bids(lot.id) == 1


def test_resume_out_of_order_chunks_and_bad_chunks(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    upload_id = start(client, bidder, lot.id, data).get_json()["id"]
    assert put_chunk(client, bidder, upload_id, data, 3000, 10_000).status_code == 200  # the tail first
    bad = put_chunk(client, bidder, upload_id, data, 0, 1000, digest="0" * 64)
    assert bad.status_code == 422 and bad.get_json()["error"] == "chunk_hash_mismatch"
    overlap = put_chunk(client, bidder, upload_id, data, 2500, 1000)
    assert overlap.status_code == 409 and overlap.get_json()["error"] == "chunk_overlap"
    early = finish(client, bidder, upload_id)
    assert early.status_code == 409 and early.get_json()["error"] == "upload_incomplete"
    status = client.get(f"/api/bidding/uploads/{upload_id}", headers=bidder.headers).get_json()
    assert status["missing"] == [{"offset": 0, "length": 3000}]
    for offset in (0, 1500):  # resume: send what is missing
        assert put_chunk(client, bidder, upload_id, data, offset, 1500).status_code == 200
    assert put_chunk(client, bidder, upload_id, data, 0, 1500).status_code == 200  # a repeat is harmless
    assert finish(client, bidder, upload_id).status_code == 201


def test_wrong_declared_hash_and_not_a_package_are_refused(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    created = client.post(f"/api/bidding/lots/{lot.id}/uploads", headers=bidder.headers,
                          json={"size": len(data), "sha256": "a" * 64}).get_json()
    for offset in range(0, len(data), 4096):
        put_chunk(client, bidder, created["id"], data, offset, 4096)
    resp = finish(client, bidder, created["id"])
    assert resp.status_code == 422 and resp.get_json()["error"] == "package_hash_mismatch"
    plain = b"%PDF-1.7 not sealed" * 10
    resp = submit(client, bidder, lot.id, plain, chunk=len(plain))
    assert resp.status_code == 422 and resp.get_json()["error"] == "not_a_package"
    assert resp.get_json()["rule"].startswith("电子招标投标办法 第二十六条")
    assert _bids(lot.id) == 0 and _objects(lot.id) == []


def test_late_upload_is_refused_and_leaves_nothing(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    lot.bid_deadline = now() - dt.timedelta(seconds=1)
    commit()
    resp = start(client, bidder, lot.id, data)
    assert resp.status_code == 409 and resp.get_json()["error"] == "deadline_passed"
    assert "第二十七条" in resp.get_json()["rule"]
    assert db.session.scalar(select(func.count(Upload.id))) == 0 and _bids(lot.id) == 0


def test_finish_one_millisecond_after_the_deadline_leaves_no_bid(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    deadline = now() + dt.timedelta(minutes=5)
    lot.bid_deadline = deadline
    commit()
    upload_id = upload_all(client, bidder, lot.id, data)
    with frozen(deadline + dt.timedelta(milliseconds=1)):
        resp = finish(client, bidder, upload_id)
        assert resp.status_code == 409 and resp.get_json()["error"] == "deadline_passed"
        assert _bids(lot.id) == 0 and _objects(lot.id) == []
        assert services.collect_uploads()["sessions"] == 0  # not closed yet: a finish may be in flight
        close_bidding(lot_id=lot.id)  # its bidding_closed event collects the lot's sessions
        commit()
    assert db.session.scalar(select(func.count(Upload.id))) == 0
    assert not (services.chunk_area().root / upload_id).exists()
    later = open_lot()
    deadline = later.bid_deadline = now() + dt.timedelta(minutes=5)
    commit()
    with frozen(deadline - dt.timedelta(milliseconds=1)):  # the same finish a moment earlier is fine
        other = new_bidder()
        assert submit(client, other, later.id, package(tmp_path, later, other, name="o.pkg")).status_code == 201


def test_upload_interrupted_at_the_deadline_is_collected(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    deadline = now() + dt.timedelta(minutes=5)
    lot.bid_deadline = deadline
    commit()
    upload_id = start(client, bidder, lot.id, data).get_json()["id"]
    assert put_chunk(client, bidder, upload_id, data, 0, 2000).status_code == 200
    with frozen(deadline):
        late = put_chunk(client, bidder, upload_id, data, 2000, 10_000)
        assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"
        assert finish(client, bidder, upload_id).status_code == 409
        from bidding.tasks import collect_uploads

        assert collect_uploads.delay().get() == {"sessions": 0, "orphans": 0}  # the lot is not closed yet
        assert close_bidding(lot_id=lot.id) == "failed"  # no bid (条例 第四十四条); the close collects
        commit()
    assert db.session.scalar(select(func.count(Upload.id))) == 0 and _bids(lot.id) == 0
    assert not (services.chunk_area().root / upload_id).exists() and _objects(lot.id) == []


def test_modify_replaces_and_withdraw_until_the_deadline(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    first = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name="a.pkg")).get_json()
    second = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name="b.pkg")).get_json()
    assert second["replaces_id"] == first["id"]
    mine = client.get(f"/api/bidding/bids?lot_id={lot.id}", headers=bidder.headers).get_json()
    assert [(b["id"], b["state"]) for b in mine] == [(second["id"], "submitted"), (first["id"], "replaced")]
    assert services.count_standing_bids(lot.id) == 1
    gone = client.post(f"/api/bidding/bids/{second['id']}/withdraw", headers=bidder.headers)
    assert gone.status_code == 200 and gone.get_json()["state"] == "withdrawn"
    assert services.count_standing_bids(lot.id) == 0
    again = client.post(f"/api/bidding/bids/{second['id']}/withdraw", headers=bidder.headers)
    assert again.status_code == 409 and again.get_json()["error"] == "bid_not_standing"
    third = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name="c.pkg")).get_json()
    with frozen(lot.bid_deadline):
        late = client.post(f"/api/bidding/bids/{third['id']}/withdraw", headers=bidder.headers)
        assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"


def test_amendment_marks_standing_bids_for_reconfirmation(app, client, ctx, tmp_path):
    from core.models import User
    from trading.services import issue_amendment

    lot, bidder = open_lot(), new_bidder()
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    agency = db.session.scalar(select(User).where(User.organisation_id == lot.project.agency_org_id))
    issue_amendment(actor=agency, lot=lot, title="澄清第1号", body="工期改为 180 日历天")
    commit()  # eager tasks: trading's amendment_issued event reaches bidding's subscriber now
    fetched = client.get(f"/api/bidding/bids/{bid['id']}", headers=bidder.headers).get_json()
    assert fetched["needs_reconfirmation"] is True
    ok = client.post(f"/api/bidding/bids/{bid['id']}/confirm", headers=bidder.headers).get_json()
    assert ok["needs_reconfirmation"] is False and ok["confirmed_at"]


def test_closing_counts_real_bids(app, client, ctx, tmp_path):
    from experts.services import bidders_of

    lot, bidders = open_lot(), [new_bidder() for _ in range(2)]
    for i, b in enumerate(bidders):
        assert submit(client, b, lot.id, package(tmp_path, lot, b, name=f"{i}.pkg")).status_code == 201
    assert services.count_standing_bids(lot.id) == 2
    with frozen(lot.bid_deadline + dt.timedelta(seconds=1)):
        assert close_bidding(lot_id=lot.id) == "failed"  # fewer than 3 (条例 第四十四条)
    assert bidders_of(lot.id) == sorted(b.org_id for b in bidders)  # handed down to the draw
    lot2 = open_lot()
    for i, b in enumerate([*bidders, new_bidder()]):
        submit(client, b, lot2.id, package(tmp_path, lot2, b, name=f"x{i}.pkg"))
    with frozen(lot2.bid_deadline + dt.timedelta(seconds=1)):
        assert close_bidding(lot_id=lot2.id) == "closed"


def test_bidder_a_cannot_read_or_size_bidder_b(app, client, ctx, tmp_path):
    """B's bid answers A exactly as an id that does not exist: bids are numbered in sequence, so a
    403 would let A count them (电子招标投标办法 第二十一条)."""
    lot, a, b = open_lot(), new_bidder(), new_bidder()
    bid_b = submit(client, b, lot.id, package(tmp_path, lot, b)).get_json()
    upload_b = start(client, b, lot.id, package(tmp_path, lot, b, name="b2.pkg")).get_json()["id"]
    nobody = bid_b["id"] + 1000

    def same_as_missing(method: str, path: str) -> None:
        theirs = getattr(client, method)(path.format(bid_b["id"]), headers=a.headers)
        missing = getattr(client, method)(path.format(nobody), headers=a.headers)
        assert theirs.status_code == missing.status_code == 404, path
        body = theirs.get_json()
        assert {**body, "detail": None, "request_id": None} == {**missing.get_json(), "detail": None,
                                                                "request_id": None}
        assert body["detail"] == missing.get_json()["detail"].replace(str(nobody), str(bid_b["id"]))
        told = {k: v for k, v in body.items() if k != "request_id"}  # a random id may hold any digits
        assert str(bid_b["size"]) not in str(told)

    for path in ("/api/bidding/bids/{}", "/api/bidding/bids/{}/receipt"):
        same_as_missing("get", path)
    for path in ("/api/bidding/bids/{}/withdraw", "/api/bidding/bids/{}/confirm"):
        same_as_missing("post", path)
    resp = client.get(f"/api/bidding/uploads/{upload_b}", headers=a.headers)  # ids of 128 random bits
    assert resp.status_code == 403 and str(bid_b["size"]) not in resp.get_data(as_text=True)
    assert client.post(f"/api/bidding/uploads/{upload_b}/finish", headers=a.headers).status_code == 403
    assert put_chunk(client, a, upload_b, b"x" * 100, 0, 100).status_code == 403
    assert client.delete(f"/api/bidding/uploads/{upload_b}", headers=a.headers).status_code == 403
    assert client.get(f"/api/bidding/uploads/{upload_b}", headers=b.headers).status_code == 200  # still B's
    assert client.get("/api/bidding/bids", headers=a.headers).get_json() == []
    assert client.get(f"/api/bidding/bids?lot_id={lot.id}", headers=a.headers).get_json() == []
    page = client.get("/bidding/bids", headers=a.headers)
    assert page.status_code == 200 and bid_b["package_sha256"] not in page.get_data(as_text=True)
    assert client.get(f"/bidding/bids/{bid_b['id']}", headers=a.headers).status_code == 404


def test_the_archive_keeps_the_signed_receipt_and_it_verifies_after_a_key_rotation(app, client, ctx, tmp_path):
    """A receipt is checked later with nothing but the platform's key manifest: the archived event
    carries it as issued, and a rotation retires the signing key without dropping it."""
    from archive import services as archive

    lot, bidder = open_lot(), new_bidder()
    issued = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()["receipt"]
    platform_keys().rotate()
    manifest = client.get("/api/keys/platform").get_json()
    assert manifest["current"] != issued["platform_kid"]
    receipts.verify(issued, manifest)
    archive.run_sequencer(max_seconds=60)
    with frozen(lot.bid_deadline):  # the archive shows who bid once the lot stops taking bids
        record = archive.search(lot_id=lot.id, event="bidding.bid_submitted", limit=5)[0]
    envelope = json.loads(archive.record_bytes(record))  # the signed record, as the archive keeps it
    kept = envelope["payload"]["data"]["receipt"]
    assert kept == issued
    receipts.verify(kept, manifest)
    with pytest.raises(receipts.ReceiptError):
        receipts.verify({**kept, "size": kept["size"] + 1}, manifest)


def test_a_bid_s_evidence_and_receipt_cannot_change_after_submission(app, client, ctx, tmp_path):
    from core.errors import Conflict

    lot, bidder = open_lot(), new_bidder()
    bid_id = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()["id"]
    changes = (("ip", "10.9.9.9"), ("device", {"mac": ["02:00:00:00:00:bb"]}),
               ("bond_payer_account", "6222000099998888"), ("received_at", now()), ("receipt", {"forged": True}))
    for (name, value), expired in [(change, False) for change in changes] + [(change, True) for change in changes]:
        bid = db.session.get(Bid, bid_id)
        if expired:  # as after a commit: the old value is not loaded when the new one is set
            db.session.expire(bid)
        setattr(bid, name, value)
        with pytest.raises(Conflict) as err:
            db.session.flush()
        assert err.value.code == "evidence_fixed" and name in err.value.detail and "第四十九条" in err.value.rule
        db.session.rollback()
    bid = db.session.get(Bid, bid_id)
    bid.needs_reconfirmation = True  # the bid's state may change; what it is may not
    db.session.flush()
    db.session.rollback()


def test_an_amendment_marks_only_the_bids_that_stood_before_it(app, client, ctx, tmp_path):
    """The handler runs after the amendment: a package sealed after it was issued needs no
    re-confirmation (the bidder already knew the amended documents)."""
    lot, early, late = open_lot(), new_bidder(), new_bidder()
    before = submit(client, early, lot.id, package(tmp_path, lot, early)).get_json()
    issued_at = now()
    with frozen(issued_at + dt.timedelta(seconds=1)):
        after = submit(client, late, lot.id, package(tmp_path, lot, late, name="late.pkg")).get_json()
    assert services.mark_for_reconfirmation(lot_id=lot.id, issued_at=issued_at) == 1
    commit()
    assert db.session.get(Bid, before["id"]).needs_reconfirmation is True
    assert db.session.get(Bid, after["id"]).needs_reconfirmation is False


def test_an_amendment_tells_supervisors_nothing_of_who_bid(app, client, ctx, tmp_path):
    """Issue 18 item 2: the re-confirmation an amendment asks of standing bids, the submissions and
    their audit entries are not in the lot's audit trail nor in /api/audit before the deadline: what a
    supervisor or an admin reads of a lot with 2 bids is what they read of one with none (电子招标投标办法
    第二十一条).  After the deadline the entries are there."""
    from core.models import User
    from tests.factories import bearer, make_user, token_for
    from trading.services import issue_amendment

    empty, taken = open_lot(), open_lot()
    for i in range(2):
        bidder = new_bidder()
        assert submit(client, bidder, taken.id, package(tmp_path, taken, bidder, name=f"{i}.pkg")).status_code == 201
    for lot in (empty, taken):
        agency = db.session.scalar(select(User).where(User.organisation_id == lot.project.agency_org_id))
        issue_amendment(actor=agency, lot=lot, title="澄清第1号", body="工期改为 180 日历天")
    commit()  # eager: bidding marks the standing bids (an audit entry naming them)

    def trails(lot, h) -> list:
        return [[(row["action"], row["actor_role"]) for row in client.get(path, headers=h).get_json()]
                for path in (f"/api/trading/lots/{lot.id}/audit", f"/api/audit?object_type=lot&object_id={lot.id}")]

    for role in ("supervisor", "admin"):
        h = bearer(token_for(make_user(role)))
        assert trails(empty, h) == trails(taken, h)
        assert ("amendment.issued", "agency") in trails(taken, h)[0]  # the tenderee's acts stay visible
    with frozen(taken.bid_deadline):
        after = client.get(f"/api/audit?object_type=lot&object_id={taken.id}",
                           headers=bearer(token_for(make_user("supervisor")))).get_json()
    assert {"bidding.bids_need_reconfirmation", "bidding.bid_submitted"} <= {a["action"] for a in after}
