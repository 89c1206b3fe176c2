"""Optional supervised calibration of the price/pattern score (``scan --train``).

Hand-set weights rank lots; a labelled history lets the platform learn how its own market's
collusive lots look.  A random forest over id-free features (see features.py) gives a
probability that replaces the screen and group components of the tender score; the Art.40
and Art.34 evidence still combines on top, so training can never hide a rule hit.
scikit-learn is the ``train`` extra, loaded only when a forest is made: :func:`tender_labels`
(used by the simulator's calibration report) works without it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from monitoring.engine import extras, features
from monitoring.engine.io import InputError
from monitoring.engine.table import BidTable

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

logger = logging.getLogger(__name__)


def forest(seed: int = 0) -> RandomForestClassifier:
    """The learner used by both the calibration and the benchmark baseline."""
    with extras.needs("train", "the trained calibration (ggzy monitoring scan --train)"):
        from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=300, min_samples_leaf=2, n_jobs=2, random_state=seed)


def tender_labels(table: BidTable) -> np.ndarray:
    """Tender label = max of its bids' labels (a lot with a colluding bid is collusive)."""
    if table.label is None:
        raise InputError("the training file needs a label column (1 collusive, 0 not)")
    _, starts, _ = table.blocks()
    lab = np.where(np.isfinite(table.label), table.label, 0.0)
    return (np.maximum.reduceat(lab, starts) > 0).astype(int)


class Calibrator:
    """Random forest on :func:`features.all_features`; ``threshold`` = training prevalence."""

    def __init__(self, history: bool = True, seed: int = 0) -> None:
        self.history = history
        self.model = forest(seed)
        self.threshold = 0.5

    def fit(self, x: np.ndarray, y: np.ndarray) -> Calibrator:
        if len(set(y.tolist())) < 2:
            raise InputError("the training labels must contain both classes")
        self.model.fit(x, y)
        self.threshold = float(np.mean(y))
        return self

    def fit_table(self, table: BidTable) -> Calibrator:
        t = table.sort()
        return self.fit(features.all_features(t, history=self.history), tender_labels(t))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]

    def predict_table(self, table: BidTable, scr=None) -> np.ndarray:
        return self.predict(features.all_features(table.sort(), scr, history=self.history))
