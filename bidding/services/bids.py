"""After submission: withdraw, re-confirm after an amendment, list an organisation's own bids, and collect
unfinished uploads.

Split from services/uploads.py and services/submission.py, which hold the way in (upload sessions,
then the moment of submission).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bidding.models import Bid, Upload
from bidding.services.eligibility import RULE_WINDOW, hold_open
from bidding.services.submission import _iso
from bidding.services.uploads import chunk_area
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict
from trading.models import Lot


def withdraw_bid(*, bid: Bid, actor) -> Bid:
    """Withdraw before the deadline (招标投标法 第二十九条); the bond falls due for refund in 5 days.

    :raises DeadlinePassed: at or after the deadline
    :raises Conflict: the bid is not standing (already replaced or withdrawn)
    """
    from bidding.services.bonds import refund_due

    lot = db.session.get(Lot, bid.lot_id)
    at = now()
    hold_open(lot, at=at)  # a close in the meantime would count this bid as standing
    if bid.state != "submitted":
        raise Conflict(f"this bid is {bid.state}, not standing", code="bid_not_standing", rule=RULE_WINDOW)
    bid.state, bid.active_key, bid.ended_at = "withdrawn", None, at
    events.record("bidding.bid_withdrawn", {"bid_id": bid.id, "lot_id": bid.lot_id,
                                            "organisation_id": bid.organisation_id, "withdrawn_at": _iso(at),
                                            "package_sha256": bid.package_sha256})
    audit("bidding.bid_withdrawn", object_type="bid", object_id=bid.id, actor=actor, lot_id=bid.lot_id)
    refund_due(lot_id=bid.lot_id, organisation_id=bid.organisation_id, reason="withdrawn", at=at)
    db.session.flush()
    return bid


def confirm_bid(*, bid: Bid, actor) -> Bid:
    """Confirm a standing bid after an amendment (or replace it with a new package instead).

    :raises DeadlinePassed, Conflict
    """

    hold_open(db.session.get(Lot, bid.lot_id), at=now())
    if bid.state != "submitted":
        raise Conflict(f"this bid is {bid.state}, not standing", code="bid_not_standing", rule=RULE_WINDOW)
    bid.needs_reconfirmation, bid.confirmed_at = False, now()
    audit("bidding.bid_confirmed", object_type="bid", object_id=bid.id, actor=actor, lot_id=bid.lot_id)
    db.session.flush()
    return bid


def bids_of(*, organisation_id: int | None, lot_id: int | None = None) -> list[Bid]:
    """An organisation's own bids, newest first (nobody else's: 招标投标法 第二十二条)."""
    if organisation_id is None:
        return []
    q = select(Bid).where(Bid.organisation_id == organisation_id).order_by(Bid.id.desc())
    if lot_id is not None:
        q = q.where(Bid.lot_id == lot_id)
    return list(db.session.scalars(q))


def mark_for_reconfirmation(*, lot_id: int, amendment_id: int | None = None,
                            issued_at: dt.datetime | None = None) -> int:
    """An amendment changed the documents: every bid standing when it was issued needs the bidder's
    re-confirmation.  A bid received after ``issued_at`` was sealed knowing the amendment; the handler
    runs a little later and must not mark it."""
    q = select(Bid).where(Bid.lot_id == lot_id, Bid.state == "submitted")
    if issued_at is not None:
        q = q.where(Bid.received_at < issued_at)
    rows = db.session.scalars(q).all()
    for bid in rows:
        bid.needs_reconfirmation, bid.confirmed_at = True, None
    if rows:
        audit("bidding.bids_need_reconfirmation", object_type="lot", object_id=lot_id,
              bids=[b.id for b in rows], amendment_id=amendment_id)
    db.session.flush()
    return len(rows)


def collect_uploads(*, lot_id: int | None = None) -> dict:
    """Remove upload sessions of closed lots (never bids), and orphaned chunk folders.

    Safe at any time: a lot is collected only once its close has committed, and the close waits for
    every finish in flight (:func:`~bidding.services.eligibility.hold_open`), so no finish that came
    in time is reading chunks removed here.  A lot past its deadline but not closed yet (the close
    runs a little later, or an objection holds it) keeps its sessions until it is.
    """

    q = select(Upload).join(Lot, Lot.id == Upload.lot_id).where(Lot.bid_deadline <= now(),
                                                                Lot.state.not_in(("published", "suspended")))
    if lot_id is not None:
        q = q.where(Upload.lot_id == lot_id)
    area, removed = chunk_area(), 0
    for upload in db.session.scalars(q).all():
        area.discard(upload.id)
        db.session.delete(upload)
        removed += 1
    finished = db.session.scalars(select(Upload.id).where(Upload.state == "finished")).all()
    for upload_id in finished:
        area.discard(upload_id)
    known = set(db.session.scalars(select(Upload.id)).all())
    orphans = [s for s in area.sessions() if s not in known]
    for session in orphans:
        area.discard(session)
    db.session.flush()
    return {"sessions": removed, "orphans": len(orphans)}
