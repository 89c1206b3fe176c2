"""The lot's bidders, handed down by bidding when the lot closes.

Experts sits below bidding (DESIGN §3): it never asks bidding who bid.  Bidding's close calls
:func:`record_bidders` in its own transaction, so the list exists exactly when bidding has closed,
and the draw reads it from here (an expert employed by a bidder is avoided, 招标投标法 第三十七条).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from core.db import db
from experts.models import LotBidder


def record_bidders(*, lot_id: int, organisation_ids: Iterable[int]) -> list[int]:
    """Replace the lot's bidder list (idempotent: a second close hands down the same list)."""
    wanted = sorted({int(i) for i in organisation_ids})
    db.session.execute(delete(LotBidder).where(LotBidder.lot_id == lot_id))
    db.session.add_all(LotBidder(lot_id=lot_id, organisation_id=org) for org in wanted)
    db.session.flush()
    return wanted


def bidders_of(lot_id: int) -> list[int]:
    """The organisations that bid on the lot, as handed down at its close (empty before)."""
    return list(db.session.scalars(select(LotBidder.organisation_id).where(LotBidder.lot_id == lot_id)
                                   .order_by(LotBidder.organisation_id)))
