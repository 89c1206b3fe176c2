"""Trading's registrations (the app factory calls :func:`register`).

Trading has no Celery task of its own: the deadline close belongs to bidding, which counts the bids
and moves the lot through trading's state machine.  Trading answers core's question of which lots
still take bids.
"""
from __future__ import annotations

from core import signals


def register(app) -> None:
    """Connect trading's receivers (idempotent: blinker keeps one connection per receiver)."""
    from trading.permissions import lots_taking_bids

    signals.open_lots_query.connect(lots_taking_bids, weak=False)
