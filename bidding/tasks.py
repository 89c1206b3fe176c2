"""Event handlers and tasks of the bidding domain.

``trading.lot_published`` → make the lot's opening key.  The handler only changes rows in
``db.session`` (core.events runs it once in effect).  When the custodians are incomplete the
refusal is recorded (audit + log) and the event is acknowledged: retrying blindly would not help;
``POST /api/bidding/lots/<id>/opening-key`` makes the key once the grants and keys are in place.
"""
from __future__ import annotations

import logging

from bidding import services
from core.audit import audit
from core.errors import DomainError
from core.events import subscriber

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
