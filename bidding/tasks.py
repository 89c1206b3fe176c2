"""Event handlers and tasks of the bidding domain, and its registrations (:func:`register`, called
by the app factory): the close at each lot's deadline (条例 第四十四条), the publication check of the
opening key's custodians, the periodic catch-ups.

``trading.lot_published`` → make the lot's opening key.  The handler only changes rows in
``db.session`` (core.events runs it once in effect).  When the custodians are incomplete the
refusal is recorded (audit + log) and the event is acknowledged: retrying blindly would not help;
``POST /api/bidding/lots/<id>/opening-key`` makes the key once the grants and keys are in place.
"""
from __future__ import annotations

import logging

from celery import shared_task

from bidding import services
from bidding.services import hall, record
from core import signals
from core.audit import audit
from core.errors import DomainError
from core.events import commit, subscriber
from core.scheduler import register_periodic

logger = logging.getLogger(__name__)


@subscriber("trading.lot_published", name="bidding.create_opening_key")
def create_opening_key(event) -> None:
    """Make the opening key of the lot just published (idempotent)."""
    lot_id = int(event.payload["lot_id"])
    try:
        services.create_opening_key(lot_id=lot_id)
    except DomainError as err:
        logger.error("lot %s published without an opening key: %s", lot_id, err.detail)
        audit("bidding.opening_key_refused", object_type="lot", object_id=lot_id, error=err.code,
              detail=err.detail, event_id=event.event_id)


# --- the close at the deadline -----------------------------------------------------------------

@shared_task(name="bidding.close_bidding", acks_late=True)
def close_bidding(lot_id: int) -> str:
    """Close bidding of one lot at its deadline (idempotent; early or repeated runs change nothing).

    :returns: the outcome (closed, failed, not_due, held_by_objection, skipped:<state>, missing)
    """
    outcome = services.close_bidding(lot_id=lot_id)
    commit()
    logger.info("close_bidding(%s): %s", lot_id, outcome)
    return outcome


@shared_task(name="bidding.close_due_lots", acks_late=True)
def close_due_lots() -> dict:
    """Catch up on published lots past their deadline (scheduler down, job lost)."""
    outcomes = services.close_due_lots()
    commit()
    return {str(k): v for k, v in outcomes.items()}


# --- submission ---------------------------------------------------------------------------------

@subscriber("trading.amendment_issued", name="bidding.mark_for_reconfirmation")
def mark_for_reconfirmation(event) -> None:
    """Standing bids were sealed against the old documents: each bidder must re-confirm or replace."""
    services.mark_for_reconfirmation(lot_id=int(event.payload["lot_id"]),
                                     amendment_id=event.payload.get("amendment_id"), issued_at=event.created_at)


@subscriber("bidding.bidding_closed", name="bidding.collect_closed_uploads")
def collect_closed_uploads(event) -> None:
    """Unfinished uploads of a closed lot never become bids: drop them and their chunks now."""
    services.collect_uploads(lot_id=int(event.payload["lot_id"]))


def _refund_subscriber(event_name: str, reason: str):
    @subscriber(event_name, name=f"bidding.bond_refund_on_{reason}")
    def handler(event) -> None:
        services.refund_due(lot_id=int(event.payload["lot_id"]), reason=reason, at=event.created_at)

    handler.__doc__ = f"{event_name}: every bond of the lot falls due for refund within 5 days."
    return handler


for _event, _reason in (("trading.lot_failed", "lot_failed"), ("trading.lot_cancelled", "lot_cancelled"),
                        ("trading.contract_signed", "contract_signed")):
    _refund_subscriber(_event, _reason)


@shared_task(name="bidding.collect_uploads", acks_late=True)
def collect_uploads(lot_id: int | None = None) -> dict:
    """Periodic and per-lot: remove unfinished uploads past the deadline and orphaned chunks."""
    result = services.collect_uploads(lot_id=lot_id)
    commit()
    return result


@shared_task(name="bidding.bond_refund_check", acks_late=True)
def bond_refund_check(bond_id: int) -> str:
    """The refund timer of one bond (idempotent)."""
    result = services.check_refund(bond_id=bond_id)
    commit()
    return result


# --- the remote opening -------------------------------------------------------------------------

@subscriber("bidding.bidding_closed", name="bidding.start_opening")
def start_opening(event) -> None:
    """The deadline passed and enough bids stood: open the hall and extract the bids (EBM Art.30)."""
    if event.payload.get("outcome") == "closed":
        hall.start_opening(lot_id=int(event.payload["lot_id"]))


@shared_task(name="bidding.start_due_openings", acks_late=True)
def start_due_openings() -> dict:
    """Catch up after a restart: a closed lot whose opening has not started is opened now."""
    result = hall.start_due_openings()
    commit()
    return {str(k): v for k, v in result.items()}


@shared_task(name="bidding.close_unseal_window", acks_late=True)
def close_unseal_window(lot_id: int) -> str:
    """The window's end (scheduled when the host opens it): settle failures, publish the table."""
    session = hall.close_window(lot_id=lot_id)
    commit()
    return session.stage if session is not None else "not_due"


@shared_task(name="bidding.finish_opening", acks_late=True)
def finish_opening(lot_id: int) -> str:
    """The confirmation window's end: the final record, unless an objection still waits for its answer."""
    row = record.finish(lot_id=lot_id)
    commit()
    return "closed" if row is not None else "waiting"


def register(app) -> None:
    """Connect bidding's receivers and periodic jobs (idempotent)."""
    signals.deadline_set.connect(services.arm_close, weak=False)  # the close at the deadline
    signals.lot_publishing.connect(services.require_custodians, weak=False)  # no lot without its key's keepers
    register_periodic("bidding-close-due-lots", 60, "bidding.close_due_lots")
    register_periodic("bidding-collect-uploads", 600, "bidding.collect_uploads")
    register_periodic("bidding-start-due-openings", 60, "bidding.start_due_openings")
