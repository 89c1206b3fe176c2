"""Combine rule hits, screens and group patterns into a tender score in [0,1].

Evidence of different kinds is treated as independent signals and combined with a noisy-or
(1 - Π(1 - wᵢ)): one Art.40 hit is enough to alert, two weak signals reinforce each other,
and the score never exceeds 1.  Screens alone are kept below the alert threshold on
purpose: an unusual price distribution is a reason to look, not evidence.
"""

from __future__ import annotations

import logging
import math

import numpy as np

logger = logging.getLogger(__name__)

#: score at or above which a tender is an alert for supervisors
ALERT_THRESHOLD = 0.5

#: weight of each deterministic flag in the noisy-or
FLAG_WEIGHT = {
    "ART40_1": 0.95, "ART40_2": 0.95, "ART40_3": 0.95, "ART40_4": 0.95, "ART40_5": 0.95,
    "ART40_6": 0.95, "ART34": 0.95, "NEAR_DUPLICATE_DOC": 0.9, "REGULAR_PRICE_GAP": 0.9,
    "IDENTICAL_PRICE": 0.6,
}
#: all flag codes, in output order
FLAG_CODES = ("ART40_1", "ART40_2", "ART40_3", "ART40_4", "ART40_5", "ART40_6", "ART34",
              "IDENTICAL_PRICE", "REGULAR_PRICE_GAP", "SCREEN_LOW_SPREAD", "ROTATION",
              "COVER_BIDDING", "EXCLUSIVE_GROUP", "NEAR_DUPLICATE_DOC")
#: ceiling of the screen-only contribution (stays under the alert threshold)
SCREEN_CEILING = 0.45
#: screen percentile score from which SCREEN_LOW_SPREAD is reported
SCREEN_FLAG_AT = 0.9


def noisy_or(weights) -> float:
    """1 - Π(1 - w) over ``weights`` (each clipped to [0,1])."""
    p = 1.0
    for w in weights:
        p *= 1.0 - min(max(float(w), 0.0), 1.0)
    return 1.0 - p


def screen_component(pct: np.ndarray) -> np.ndarray:
    """Map a screen percentile score to its share of the tender score (convex: only the
    extreme tail of the market contributes much)."""
    return SCREEN_CEILING * np.clip(np.nan_to_num(pct), 0.0, 1.0) ** 4


def tender_score(flags: set[str], screen_part: float, pattern_part: float) -> float:
    """Noisy-or of flag weights, the screen component and the group-pattern component."""
    ws = [FLAG_WEIGHT[f] for f in flags if f in FLAG_WEIGHT]
    return round(noisy_or([*ws, screen_part, pattern_part]), 6)


def tender_scores(flags: list[set[str]], screen_part: np.ndarray,
                  pattern_part: np.ndarray) -> np.ndarray:
    """:func:`tender_score` of every tender: the noisy-or of the two components is computed
    in numpy for tenders without flags (same IEEE operations in the same order, so the same
    values), the per-flag product only for flagged tenders."""
    s = np.clip(np.asarray(screen_part, dtype=np.float64), 0.0, 1.0)
    g = np.clip(np.asarray(pattern_part, dtype=np.float64), 0.0, 1.0)
    raw = 1.0 - (1.0 - s) * (1.0 - g)
    out = np.array(round_list(raw, 6), dtype=np.float64)
    for i, f in enumerate(flags):
        if f:
            out[i] = tender_score(f, screen_part[i], pattern_part[i])
    return out


def ordered(flags: set[str]) -> list[str]:
    """Flags in the canonical order of :data:`FLAG_CODES`."""
    return [f for f in FLAG_CODES if f in flags]


def round_list(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """``round(x, digits)`` (None when not finite) over an array, as a list, without a
    Python ``round`` per value.

    ``rint(x·10ⁿ) / 10ⁿ`` is Python's correctly rounded ``round(x, n)`` whenever the
    rounding direction of ``x·10ⁿ`` is certain (the division of two exact doubles is the
    double nearest the decimal); values close to a half, large or not finite are left to
    ``round`` itself."""
    x = np.asarray(values, dtype=np.float64)
    scale = 10.0 ** digits
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * scale
        out = np.rint(y) / scale
        frac = np.abs(y - np.trunc(y))
        slow = ~(np.abs(y) < 1e10) | (np.abs(frac - 0.5) < 1e-6)  # |error of y| < 1e-6
    res = out.tolist()
    if slow.any():
        src = x.tolist()
        for i in np.flatnonzero(slow).tolist():
            v = src[i]
            res[i] = round(v, digits) if math.isfinite(v) else None
    return res
