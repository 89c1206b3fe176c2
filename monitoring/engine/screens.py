"""Price screens per tender, vectorised over a sorted :class:`~monitoring.engine.table.BidTable`.

Screens (Imhof, Huber; García Rodríguez et al. 2022) describe the shape of one tender's bid
distribution.  Cartels compress cover bids around a chosen level and leave a gap under the
designated winner, so collusive tenders tend to show low dispersion (CV, spread), a large
relative distance between the two lowest bids, and peaked, skewed distributions.

All screens are computed with ``np.add.reduceat`` over contiguous tender blocks, so a
million bids take well under a second.
"""

from __future__ import annotations

import logging

import numpy as np

from monitoring.engine.table import BidTable

logger = logging.getLogger(__name__)

#: screen names in feature order
SCREENS = ("CV", "SPD", "DIFFP", "RD", "KURT", "SKEW", "KS")

#: direction in which a screen points to collusion (+1: high is suspicious, -1: low)
DIRECTION = {"CV": -1, "SPD": -1, "DIFFP": +1, "RD": +1, "KURT": +1, "SKEW": -1, "KS": 0}


def _seg_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if len(starts) == 0:
        return np.zeros(0)
    return np.add.reduceat(values, starts)


def compute(table: BidTable) -> dict[str, np.ndarray]:
    """Screens for every tender block of a sorted table.

    Returns arrays aligned with ``table.blocks()``: ``n`` plus each name in :data:`SCREENS`
    (NaN where a screen is undefined, e.g. fewer than 3 bids for RD).
    """
    _, starts, n = table.blocks()
    x = table.amount
    return compute_blocks(x, starts, n)


def compute_blocks(x: np.ndarray, starts: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Screens for amounts ``x`` sorted ascending inside blocks ``starts``/``n``."""
    nf = n.astype(np.float64)
    row_block = np.repeat(np.arange(len(starts)), n)
    mean = _seg_sum(x, starts) / nf
    dev = x - mean[row_block]
    m2 = _seg_sum(dev**2, starts)
    m3 = _seg_sum(dev**3, starts)
    m4 = _seg_sum(dev**4, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        var1 = np.where(n > 1, m2 / np.maximum(nf - 1, 1), np.nan)
        sd = np.sqrt(var1)
        lo = x[starts]
        hi = x[starts + n - 1]
        second = np.where(n > 1, x[np.minimum(starts + 1, starts + n - 1)], np.nan)
        out = {
            "n": n,
            "MEAN": mean,
            "CV": sd / mean,
            "SPD": np.where(n > 1, (hi - lo) / lo, np.nan),
            "DIFFP": (second - lo) / lo,
            "RD": _relative_distance(x, starts, n, row_block, second, lo),
            "SKEW": _skew(m2, m3, nf),
            "KURT": _kurt(m2, m4, nf),
            "KS": _ks_uniform(x, starts, n, row_block, lo, hi),
        }
    for k in SCREENS:
        out[k] = np.where(np.isfinite(out[k]), out[k], np.nan)
    return out


def _relative_distance(x, starts, n, row_block, second, lo) -> np.ndarray:
    """(b2 - b1) / sd(losing bids): a big gap under tight covers is the cover-bidding shape."""
    is_first = np.zeros(len(x), dtype=bool)
    is_first[starts] = True
    lose = np.where(is_first, 0.0, x)
    cnt = (n - 1).astype(np.float64)
    lmean = _seg_sum(lose, starts) / np.maximum(cnt, 1)
    ldev = np.where(is_first, 0.0, x - lmean[row_block])
    lvar = _seg_sum(ldev**2, starts) / np.maximum(cnt - 1, 1)
    lsd = np.sqrt(lvar)
    rd = (second - lo) / lsd
    rd = np.where(n >= 3, rd, np.nan)
    return np.where(lsd > 0, rd, np.where(second > lo, 10.0, np.nan))


def _skew(m2, m3, nf) -> np.ndarray:
    """Adjusted Fisher-Pearson skewness (scipy ``bias=False``)."""
    g1 = (m3 / nf) / (m2 / nf) ** 1.5
    adj = np.sqrt(nf * (nf - 1)) / (nf - 2)
    return np.where((nf >= 3) & (m2 > 0), adj * g1, np.nan)


def _kurt(m2, m4, nf) -> np.ndarray:
    """Unbiased excess kurtosis (scipy ``bias=False``)."""
    g2 = (m4 / nf) / (m2 / nf) ** 2 - 3.0
    adj = ((nf + 1) * g2 + 6.0) * (nf - 1) / ((nf - 2) * (nf - 3))
    return np.where((nf >= 4) & (m2 > 0), adj, np.nan)


def _ks_uniform(x, starts, n, row_block, lo, hi) -> np.ndarray:
    """KS statistic of the bids against a uniform law between the lowest and highest bid."""
    width = (hi - lo)[row_block]
    u = np.where(width > 0, (x - lo[row_block]) / np.where(width > 0, width, 1), 0.0)
    rank = np.arange(len(x)) - starts[row_block]
    nn = n[row_block].astype(np.float64)
    d = np.maximum((rank + 1) / nn - u, u - rank / nn)
    ks = np.maximum.reduceat(d, starts) if len(starts) else np.zeros(0)
    return np.where((n >= 2) & (hi > lo), ks, np.nan)


def percentile_scores(values: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                      names=("CV", "SPD", "DIFFP", "RD", "KURT", "SKEW")) -> np.ndarray:
    """Unsupervised screen score in [0,1]: mean over screens of the empirical percentile of
    the suspicious direction within ``reference`` (the analysed market).

    Ranking inside the market makes the score unit-free and comparable across markets,
    which fixed thresholds from one country are not.
    """
    parts = []
    for name in names:
        v = values[name]
        if values is reference:
            pct = _self_percentiles(v)
            if pct is None:
                continue
        else:
            ref = np.sort(reference[name][np.isfinite(reference[name])])
            if len(ref) == 0:
                continue
            pct = np.searchsorted(ref, v, side="right") / len(ref)
        pct = pct if DIRECTION[name] > 0 else 1.0 - pct
        parts.append(np.where(np.isfinite(v), pct, np.nan))
    if not parts:
        return np.zeros(len(next(iter(values.values()))))
    stacked = np.vstack(parts)
    with np.errstate(invalid="ignore"):
        cnt = np.sum(np.isfinite(stacked), axis=0)
        score = np.where(cnt > 0, np.nansum(stacked, axis=0) / np.maximum(cnt, 1), 0.0)
    return score


def _self_percentiles(v: np.ndarray) -> np.ndarray | None:
    """``searchsorted(sort(finite v), v, "right") / n`` for the market scored against
    itself: sorted queries into their own sorted array (numpy narrows each search from the
    previous one), scattered back, instead of 10⁵ random binary searches.  NaN where ``v``
    is not finite (masked by the caller anyway); None when no value is finite."""
    fin = np.flatnonzero(np.isfinite(v))
    if len(fin) == 0:
        return None
    order = np.argsort(v[fin])
    s = v[fin][order]
    out = np.full(len(v), np.nan)
    out[fin[order]] = np.searchsorted(s, s, side="right") / len(s)
    return out
