"""Tender features for the supervised calibration: screens plus id-free bidder-set features.

Firm ids, tender ids and dates are never features: in labelled data the label is tied to
them (a cartel period, a set of firms), so a model using them learns the file, not
collusion.  What we use instead describes *structure*: how the price distribution looks,
where the winner sits, how close bids are to the estimate, and, from earlier lots only
(causal, in date order), how often these bidders met before and how often the winner won.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from itertools import combinations

import numpy as np

from monitoring.engine import screens
from monitoring.engine.table import BidTable

logger = logging.getLogger(__name__)

PRICE_FEATURES = (*screens.SCREENS, "N", "LOG_MEAN", "WIN_IS_LOW", "WIN_GAP", "GAP_RATIO",
                  "LOSER_CV", "LOW_EST", "MEAN_EST", "TOP2_SHARE")
HISTORY_FEATURES = ("SEEN_SHARE", "PAIR_MEET_MEAN", "PAIR_MEET_MAX", "PAIR_JACCARD_MAX",
                    "WINNER_WIN_RATE", "WINNER_PRIOR_LOTS", "SET_REPEAT")


def price_features(table: BidTable, scr: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Per-tender price features (n_blocks x len(PRICE_FEATURES)); NaN where undefined."""
    scr = scr if scr is not None else screens.compute(table)
    _, starts, n = table.blocks()
    x, blk = table.amount, table.tender_of_rows()
    low = x[starts]
    win_amt = np.full(len(starts), np.nan)
    win_amt[blk[table.winner]] = x[table.winner]
    second = np.where(n > 1, x[np.minimum(starts + 1, starts + n - 1)], np.nan)
    third = np.where(n > 2, x[np.minimum(starts + 2, starts + n - 1)], np.nan)
    est = np.full(len(starts), np.nan) if table.estimate is None else table.estimate[starts]
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = [scr[k] for k in screens.SCREENS] + [
            n.astype(float), np.log(scr["MEAN"]), (win_amt <= low + 1e-9).astype(float),
            (win_amt - low) / low, (second - low) / (third - second),
            _loser_cv(x, starts, n), low / est, scr["MEAN"] / est,
            (second - low) / np.maximum(x[starts + n - 1] - low, 1e-9)]
    out = np.column_stack(cols)
    out[~np.isfinite(out)] = np.nan
    return out


def _loser_cv(x, starts, n) -> np.ndarray:
    """CV of all bids but the lowest: covers are compressed in cover bidding."""
    blk = np.repeat(np.arange(len(starts)), n)
    mean = np.add.reduceat(x, starts) / n
    c = x - mean[blk]
    m = (n - 1).astype(float)
    s1 = np.add.reduceat(c, starts) - c[starts]
    s2 = np.add.reduceat(c * c, starts) - c[starts] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (s2 - s1 * s1 / m) / (m - 1)
        cv = np.sqrt(np.maximum(var, 0)) / (mean + s1 / m)
    return np.where(n >= 3, cv, np.nan)


def history_features(table: BidTable) -> np.ndarray:
    """Causal bidder-set features from earlier lots only (date order; ties by input order).

    Without a date the lots are taken in input order; without firm ids (all bidders
    distinct) the features are simply uninformative.
    """
    _, starts, n = table.blocks()
    order = np.arange(len(starts))
    if table.date is not None:
        d = table.date[starts]
        order = np.lexsort((order, np.where(np.isfinite(d), d, -np.inf)))
    lots, wins = defaultdict(int), defaultdict(int)
    meet: dict[tuple[int, int], int] = defaultdict(int)
    sets: dict[frozenset, int] = defaultdict(int)
    out = np.full((len(starts), len(HISTORY_FEATURES)), np.nan)
    for k in order:
        rows = slice(starts[k], starts[k] + n[k])
        firms = sorted(set(table.bidder[rows].tolist()))
        winners = table.bidder[rows][table.winner[rows]].tolist()
        out[k] = _history_row(firms, winners, lots, wins, meet, sets)
        for f in firms:
            lots[f] += 1
        for w in winners:
            wins[w] += 1
        for a, b in combinations(firms, 2):
            meet[(a, b)] += 1
        sets[frozenset(firms)] += 1
    return out


def _history_row(firms, winners, lots, wins, meet, sets) -> list[float]:
    seen = [f for f in firms if lots[f] > 0]
    pairs = [meet.get(p, 0) for p in combinations(firms, 2)]
    jac = [meet.get((a, b), 0) / max(lots[a] + lots[b] - meet.get((a, b), 0), 1)
           for a, b in combinations(firms, 2)]
    w = winners[0] if winners else None
    return [
        len(seen) / max(len(firms), 1),
        float(np.mean(pairs)) if pairs else np.nan,
        float(max(pairs)) if pairs else np.nan,
        float(max(jac)) if jac else np.nan,
        wins[w] / lots[w] if w is not None and lots[w] else np.nan,
        float(lots[w]) if w is not None else np.nan,
        float(sets.get(frozenset(firms), 0)),
    ]


def all_features(table: BidTable, scr=None, history: bool = True) -> np.ndarray:
    """Price features, plus history features when asked."""
    p = price_features(table, scr)
    return np.hstack([p, history_features(table)]) if history else p
