"""Closing bidding at the deadline: bidding counts its own bids and moves the lot through trading.

Bidding sits above trading and experts (DESIGN §3), so the close lives here: it counts the bids
standing at the deadline, asks trading's state machine to close or fail the lot (fewer than the
procedure's minimum, 招标投标法实施条例 第四十四条), hands the bidder list down to experts (the draw
avoids bidders' employees) and records ``bidding.bidding_closed``, all in one transaction.  Nothing
depends on which modules a process happened to import.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bidding.models import Bid
from core import events
from core.clock import now
from core.db import begin_writing, db
from core.scheduler import schedule_task
from experts import services as experts
from trading import services as trading
from trading.fsm import S
from trading.models import Lot

#: the close runs this long after the deadline, so a submission that arrived in time (the server
#: clock decided at its arrival) but is still committing is counted; it changes no legal time
CLOSE_GRACE = dt.timedelta(seconds=10)
CLOSE_TASK = "bidding.close_bidding"


def arm_close(lot) -> None:
    """Receiver of ``core.signals.deadline_set``: one job per lot (stable id), so a moved deadline
    replaces the earlier request."""
    schedule_task(job_id=f"bidding-close-{lot.id}", run_at=lot.bid_deadline + CLOSE_GRACE, task=CLOSE_TASK,
                  args=[lot.id])


def _standing(lot):
    return select(Bid.organisation_id).where(Bid.lot_id == lot.id, Bid.state == "submitted",
                                             Bid.received_at < lot.bid_deadline)


def count_standing_bids(lot_id: int) -> int:
    """Bids standing at the close and received before the deadline."""
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(_standing(lot).subquery())) or 0


def close_bidding(*, lot_id: int) -> str:
    """The deadline job: close bidding, or fail the lot with too few bids (条例 第四十四条).

    Safe to run twice or early: it acts only on a published lot whose deadline has passed and that
    no unanswered objection holds (条例 第二十二条); otherwise it re-arms the job and returns why.
    The lot row is locked (PostgreSQL) so two closers cannot both act.

    :returns: ``closed``, ``failed``, ``not_due``, ``held_by_objection``, ``skipped:<state>`` or ``missing``
    """
    begin_writing()  # SQLite: the write lock before the count, as the submissions in flight hold it
    lot = db.session.get(Lot, lot_id, with_for_update=True)
    if lot is None:
        return "missing"
    if lot.state != S.PUBLISHED:
        return f"skipped:{lot.state}"
    moment = now()
    if moment < lot.bid_deadline:
        arm_close(lot)
        return "not_due"
    if trading.held_by_objection(lot):
        return "held_by_objection"
    bidders = list(db.session.scalars(_standing(lot)))
    outcome = trading.close_lot(lot=lot, bids=len(bidders), moment=moment)
    experts.record_bidders(lot_id=lot.id, organisation_ids=bidders)  # the draw avoids their employees
    events.record("bidding.bidding_closed", {"lot_id": lot.id, "closed_at": moment.isoformat(),
                                             "bids": len(bidders), "outcome": outcome,
                                             "deadline": lot.bid_deadline.isoformat()})
    return outcome


def close_due_lots(*, limit: int = 200) -> dict[int, str]:
    """Catch up: close every published lot whose close is due (a missed or lost job), at the deadline
    plus ``CLOSE_GRACE`` as the scheduled job, so submissions that came in time commit first."""
    due = now() - CLOSE_GRACE
    ids = db.session.scalars(select(Lot.id).where(Lot.state == S.PUBLISHED, Lot.bid_deadline <= due)
                             .order_by(Lot.bid_deadline).limit(limit)).all()
    return {lot_id: close_bidding(lot_id=lot_id) for lot_id in ids}
