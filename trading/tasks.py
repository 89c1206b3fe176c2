"""Celery tasks of the trading domain: closing bidding at the deadline (a scheduler job per lot,
plus a periodic catch-up so a lost job never leaves a lot open past its deadline)."""
from __future__ import annotations

import logging

from celery import shared_task

from core.events import commit
from core.scheduler import register_periodic

logger = logging.getLogger(__name__)
register_periodic("trading-close-due-lots", 60, "trading.close_due_lots")


@shared_task(name="trading.close_bidding", acks_late=True)
def close_bidding(lot_id: int) -> str:
    """Close bidding of one lot at its deadline (idempotent; early or repeated runs change nothing).

    :param lot_id: the lot
    :returns: the outcome (closed, failed, not_due, held_by_objection, skipped:<state>, missing)
    """
    from trading.services import close_bidding as close

    outcome = close(lot_id=lot_id)
    commit()
    logger.info("close_bidding(%s): %s", lot_id, outcome)
    return outcome


@shared_task(name="trading.close_due_lots", acks_late=True)
def close_due_lots() -> dict:
    """Catch up on published lots past their deadline (scheduler down, job lost)."""
    from trading.services import close_due_lots as sweep

    outcomes = sweep()
    commit()
    return {str(k): v for k, v in outcomes.items()}
