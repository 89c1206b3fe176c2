"""How close the simulator's competitive lots are to real non-collusive tenders.

The simulator is only useful if clean lots look like clean lots.  We compare the screen
distributions of its competitive lots with those of the NON-collusive tenders of the
labelled collusion data (each market weighted equally) by the two-sample KS distance.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy import stats

from monitoring.engine import datasets, screens
from monitoring.engine.supervised import tender_labels
from monitoring.engine.table import from_columns

logger = logging.getLogger(__name__)

COMPARED = ("CV", "SPD", "DIFFP", "RD", "KURT", "SKEW", "KS")


def reference_screens(root: str | Path, per_market: int = 500, seed: int = 0) -> dict[str, np.ndarray]:
    """Screens of non-collusive tenders with ≥ 3 bids, ``per_market`` resampled per market."""
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {k: [] for k in COMPARED}
    for name in datasets.FILES:
        table, _ = datasets.load(root, name)
        t = table.sort()
        s = screens.compute(t)
        idx = np.flatnonzero((tender_labels(t) == 0) & (s["n"] >= 3))
        pick = rng.choice(idx, per_market, replace=True)
        for k in COMPARED:
            out[k].append(s[k][pick])
    return {k: np.concatenate(v) for k, v in out.items()}


def calibration_ks(market, root: str | Path) -> dict:
    """KS distance per screen: simulated competitive lots vs real non-collusive tenders."""
    planted = {t["tender_id"] for t in market.truth}
    keep = [i for i, t in enumerate(market.cols["tender_id"]) if t not in planted]
    cols = {k: [market.cols[k][i] for i in keep] for k in ("tender_id", "bidder_id", "amount", "winner")}
    t = from_columns(cols).sort()
    sim = screens.compute(t)
    ref = reference_screens(root)
    ks = {}
    for k in COMPARED:
        a = sim[k][(sim["n"] >= 3) & np.isfinite(sim[k])]
        b = ref[k][np.isfinite(ref[k])]
        ks[k] = round(float(stats.ks_2samp(a, b).statistic), 4)
    return {"ks": ks, "simulated_lots": int(np.sum(sim["n"] >= 3)), "reference_lots": int(len(ref["CV"])),
            "sim_median": {k: round(float(np.nanmedian(sim[k])), 4) for k in COMPARED},
            "reference_median": {k: round(float(np.nanmedian(ref[k])), 4) for k in COMPARED}}
