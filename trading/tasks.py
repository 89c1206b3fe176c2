"""Trading's registrations (the app factory calls :func:`register`).

Trading has no Celery task of its own: the deadline close belongs to bidding, which counts the bids
and moves the lot through trading's state machine.  Trading answers core's question of which lots
still take bids, and keeps the portal's cached counts in step with every change it lists
(:mod:`trading.services.portal_cache`).
"""
from __future__ import annotations

from core import signals


def register(app) -> None:
    """Connect trading's receivers (idempotent: blinker keeps one connection per receiver)."""
    from trading.permissions import lots_taking_bids
    from trading.services import portal_cache

    signals.open_lots_query.connect(lots_taking_bids, weak=False)
    portal_cache.init_app(app)
