"""Helpers for the monitoring tests: tiny hand-made lots analysed as a market."""

from __future__ import annotations

from monitoring.engine.market import Market
from monitoring.engine.table import from_columns


def lot_rows(tender: str, bids: list[dict]) -> dict[str, list]:
    """Columns for one lot; every bid dict needs bidder_id and amount, lowest bid wins."""
    keys = sorted(set().union(*bids) - {"bidder_id", "amount"})
    low = min(b["amount"] for b in bids)
    cols = {"tender_id": [tender] * len(bids), "bidder_id": [b["bidder_id"] for b in bids],
            "amount": [b["amount"] for b in bids], "winner": [b["amount"] == low for b in bids]}
    for k in keys:
        cols[k] = [b.get(k) for b in bids]
    return cols


def merge(*parts: dict[str, list]) -> dict[str, list]:
    keys = set().union(*parts)
    n = [len(p["tender_id"]) for p in parts]
    return {k: sum((p.get(k, [None] * m) for p, m in zip(parts, n, strict=True)), []) for k in keys}


def scan_lots(*parts: dict[str, list]) -> dict[str, dict]:
    """Analyse the given lots as one market; tender_id -> output record."""
    market = Market(from_columns(merge(*parts))).analyse()
    return {r["tender_id"]: r for r in market.tender_records()}


