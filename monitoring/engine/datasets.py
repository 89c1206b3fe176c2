"""Loader of the labelled collusion data (García Rodríguez et al. 2022) for evaluation.

The files stay in the shared data directory and are never copied into the repository.
Only prices, winners, estimates, dates (for ordering) and firm ids (for structure) are
read; the precomputed screens in the files are ignored and recomputed.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from monitoring.engine.io import InputError, parse_float
from monitoring.engine.table import BidTable, from_columns

logger = logging.getLogger(__name__)

FILES = {
    "brazil": "garcia2022_brazil/DB_Collusion_Brazil_processed.csv",
    "japan": "garcia2022_japan/DB_Collusion_Japan_processed.csv",
    "switzerland_gr_sg": "garcia2022_switzerland_gr_sg/DB_Collusion_Switzerland_GR_and_See-Gaster_processed.csv",
    "switzerland_ticino": "garcia2022_switzerland_ticino/DB_Collusion_Switzerland_Ticino_processed.csv",
}


def load(root: str | Path, name: str) -> tuple[BidTable, bool]:
    """(table with label, has_firm_ids).  Without firm ids each bid gets its own bidder id."""
    path = Path(root) / FILES[name]
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    has_firms = "Competitors" in rows[0]
    cols: dict[str, list] = {k: [] for k in ("tender_id", "bidder_id", "amount", "winner",
                                             "date", "estimate", "label")}
    for i, r in enumerate(rows):
        amount = parse_float(r["Bid_value"])
        if amount is None:
            continue
        date = parse_float(r.get("Date", ""))
        cols["tender_id"].append(r["Tender"])
        cols["bidder_id"].append(r["Competitors"] if has_firms else f"row{i}")
        cols["amount"].append(amount)
        cols["winner"].append((parse_float(r.get("Winner", "")) or 0) > 0)
        cols["date"].append(date if date is not None and date > 0 else None)
        cols["estimate"].append(parse_float(r.get("Pre-Tender Estimate (PTE)", "")))
        cols["label"].append(parse_float(r["Collusive_competitor"]))
    return from_columns(cols), has_firms
