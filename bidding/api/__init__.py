"""Bidding JSON API (flask-smorest blueprint ``blp`` under /api/bidding), split by concern:

* :mod:`bidding.api.bids` — the way in: opening keys, key shares, the package check, uploads, bids,
  receipts, bonds;
* :mod:`bidding.api.opening` — the opening hall (不见面开标) and the opening record.

Both modules add routes to the one blueprint of :mod:`bidding.api.blueprint`; importing this package
imports both, so the app factory registers every route.  Thin views: parse, one service call, commit.
"""
from bidding.api import bids, opening
from bidding.api.blueprint import blp

__all__ = ["blp", "bids", "opening"]
