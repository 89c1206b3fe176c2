"""Monitoring's event handlers: it learns through events and acts through events (DESIGN §3)."""
from __future__ import annotations

from core.events import subscriber
from monitoring import services


@subscriber("bidding.bidding_closed", name="monitoring.identity_check_at_close")
def identity_check_at_close(event) -> None:
    """The bids of a closed lot share an address, a device or a bond payer account → an alert."""
    services.check_lot_at_close(int(event.payload["lot_id"]))
