"""What happens around the deadline besides late refusals: a retry whose answer was lost, a client
that restarts an upload, and a close that lands while a submission that came in time is committing
(电子招标投标办法 第二十七条: the server clock at arrival decides, and nothing in time is lost)."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from bidding import services
from bidding.models import Bid, Upload
from bidding.services.chunks import ChunkArea
from bidding.services.eligibility import hold_open
from core.clock import frozen, now
from core.db import db
from core.events import commit
from tests.bidding.submitting import finish, new_bidder, open_lot, package, put_chunk, sha, start, upload_all

pytestmark = pytest.mark.usefixtures("fresh_store")


def _one_request(client, bidder, lot_id: int, data: bytes):
    return client.post(f"/api/bidding/lots/{lot_id}/bids", data=data,
                       headers={**bidder.headers, "Content-Type": "application/octet-stream",
                                "X-Package-SHA256": sha(data)})


def _deadline_in(lot, minutes: int = 5) -> dt.datetime:
    lot.bid_deadline = now() + dt.timedelta(minutes=minutes)
    commit()
    return lot.bid_deadline


def test_a_retry_after_the_deadline_gets_the_receipt_of_the_bid_that_stands(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    deadline = _deadline_in(lot)
    with frozen(deadline - dt.timedelta(milliseconds=1)):
        first = _one_request(client, bidder, lot.id, data)
    assert first.status_code == 201, first.get_json()
    with frozen(deadline + dt.timedelta(milliseconds=5)):  # the answer was lost; the client tries again
        again = _one_request(client, bidder, lot.id, data)
        assert again.status_code == 200 and again.get_json()["receipt"] == first.get_json()["receipt"]
        via_upload = start(client, bidder, lot.id, data)
        assert via_upload.status_code == 200 and via_upload.get_json()["state"] == "already_submitted"
        assert via_upload.get_json()["receipt"] == first.get_json()["receipt"]
        other = package(tmp_path, lot, bidder, name="changed.pkg")  # a different package is late
        late = _one_request(client, bidder, lot.id, other)
        assert late.status_code == 409 and late.get_json()["error"] == "deadline_passed"
        assert "第二十七条" in late.get_json()["rule"]
        assert start(client, bidder, lot.id, other).status_code == 409
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 1


def test_opening_the_same_package_again_resumes_the_open_upload(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    first = start(client, bidder, lot.id, data).get_json()
    assert put_chunk(client, bidder, first["id"], data, 0, 2000).status_code == 200
    again = start(client, bidder, lot.id, data).get_json()  # the client restarted after a drop
    assert again["id"] == first["id"] and again["received_bytes"] == 2000
    assert again["missing"] == [{"offset": 2000, "length": len(data) - 2000}]
    other_bidder = new_bidder()  # another organisation's upload of other bytes is its own
    assert start(client, other_bidder, lot.id, package(tmp_path, lot, other_bidder, name="b.pkg")).get_json()["id"] \
        != first["id"]
    assert put_chunk(client, bidder, first["id"], data, 2000, len(data)).status_code == 200
    assert finish(client, bidder, first["id"]).status_code == 201
    assert start(client, bidder, lot.id, data).get_json()["state"] == "already_submitted"


def test_a_finish_whose_chunks_were_collected_is_refused_not_a_500(app, client, ctx, tmp_path, monkeypatch):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    upload_id = upload_all(client, bidder, lot.id, data)
    listed = ChunkArea.missing

    def listed_then_collected(self, session, total):  # the gap check passes, then the files go
        found = listed(self, session, total)
        os.unlink(sorted((self.root / session).iterdir())[-1])
        return found

    monkeypatch.setattr(ChunkArea, "missing", listed_then_collected)
    resp = finish(client, bidder, upload_id)
    assert resp.status_code == 409 and resp.get_json()["error"] == "upload_collected", resp.get_json()
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


def test_uploads_of_a_lot_past_its_deadline_are_kept_until_its_close(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    deadline = _deadline_in(lot)
    upload_id = upload_all(client, bidder, lot.id, data)
    with frozen(deadline + dt.timedelta(seconds=1)):
        assert services.collect_uploads()["sessions"] == 0  # a finish that came in time may be reading them
        assert db.session.get(Upload, upload_id) is not None
        assert (services.chunk_area().root / upload_id).exists()


def test_a_close_waits_for_a_submission_in_flight_but_not_an_amendment(app, ctx):
    """The submission holds the lot FOR KEY SHARE from its instant of submission to its commit: the
    close's FOR UPDATE waits (so it counts the bid), an ordinary UPDATE of the lot does not."""
    if db.engine.dialect.name != "postgresql":
        return _sqlite_submission_holds_the_write_lock()
    lot = open_lot()
    commit()
    hold_open(lot, at=now())  # the submission's transaction, still open
    with db.engine.connect() as other:
        other.execute(text("SET lock_timeout = '300ms'"))
        other.execute(text("UPDATE trading_lots SET name = name WHERE id = :id"), {"id": lot.id})
        other.rollback()
        other.execute(text("SET lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock"):
            other.execute(text("SELECT id FROM trading_lots WHERE id = :id FOR UPDATE"), {"id": lot.id})
        other.rollback()
        db.session.rollback()  # the submission commits or fails: the close goes on
        other.execute(text("SELECT id FROM trading_lots WHERE id = :id FOR UPDATE NOWAIT"), {"id": lot.id})


def test_a_submission_that_reaches_the_lot_after_its_close_is_refused_as_late(app, client, ctx, tmp_path):
    """The close runs CLOSE_GRACE after the deadline and has counted without this submission, which
    took longer than that from its instant to the lock: it cannot join a count already made."""
    from bidding.services import close_bidding

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    deadline = _deadline_in(lot)
    upload_id = upload_all(client, bidder, lot.id, data)
    with frozen(deadline):
        close_bidding(lot_id=lot.id)
        commit()
    closed = lot.state
    set_committed_value(lot, "state", "published")  # what a finish loaded before the close committed
    with frozen(deadline - dt.timedelta(milliseconds=1)):
        from bidding.services.eligibility import DeadlinePassed

        with pytest.raises(DeadlinePassed) as err:
            hold_open(lot, at=now())
    assert err.value.code == "lot_not_open" and lot.state == closed
    db.session.rollback()
    assert finish(client, bidder, upload_id).status_code == 404  # the close collected the session
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


def _sqlite_submission_holds_the_write_lock() -> None:
    """SQLite has no row locks: from its instant of submission the submission holds the database's
    write lock, so a close (or anything else that writes) waits for it; here it gives up at once."""
    lot = open_lot()
    commit()
    hold_open(lot, at=now())
    with db.engine.connect() as other:
        other.exec_driver_sql("PRAGMA busy_timeout = 100")
        with pytest.raises(OperationalError, match="locked"):
            other.exec_driver_sql("UPDATE trading_lots SET state = 'bidding_closed' WHERE id = ?", (lot.id,))
        other.rollback()
        db.session.rollback()
        other.exec_driver_sql("UPDATE trading_lots SET name = name WHERE id = ?", (lot.id,))
        other.rollback()
