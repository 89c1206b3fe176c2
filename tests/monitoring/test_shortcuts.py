"""Speed shortcuts of the scan equal the plain numpy/Python they replace, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.engine import screens
from monitoring.engine.patterns import _by_firm_then_meetings
from monitoring.engine.scoring import round_list
from monitoring.engine.table import sort_order


@pytest.mark.parametrize("seed", range(40))
def test_sort_order_is_lexsort(seed):
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(1, 60))
    sizes = rng.integers(1, int(rng.integers(2, 90)), n_t)
    tender = np.repeat(np.sort(rng.choice(10 * n_t, n_t, replace=False)), sizes)
    amount = rng.integers(0, 4, len(tender)) * rng.choice([1.0, -1.0, 0.5])  # many ties
    if seed % 3 == 0:
        amount = rng.random(len(tender))
    if seed % 4 == 0:
        amount[rng.integers(0, len(amount), 3)] = rng.choice([-0.0, np.inf, -np.inf])
    if seed % 5 == 0:
        amount[0] = np.nan  # NaN: lexsort itself
    if seed % 7 == 0:
        tender = rng.permutation(tender)  # rows of a tender apart: lexsort itself
    assert np.array_equal(sort_order(tender, amount), np.lexsort((amount, tender)))


def test_sort_order_of_nothing():
    assert len(sort_order(np.zeros(0, dtype=np.int64), np.zeros(0))) == 0


@pytest.mark.parametrize("seed", range(20))
def test_firm_then_meetings_order_is_lexsort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    src, w = rng.integers(0, 40, n), rng.integers(1, 7, n)
    assert np.array_equal(_by_firm_then_meetings(src, w), np.lexsort((-w, src)))


def test_self_percentiles_equal_searchsorted():
    rng = np.random.default_rng(3)
    v = np.round(rng.normal(size=5000), 2)  # ties
    v[::17] = np.nan
    ref = np.sort(v[np.isfinite(v)])
    want = np.searchsorted(ref, v, side="right") / len(ref)
    got = screens._self_percentiles(v)
    fin = np.isfinite(v)
    assert np.array_equal(got[fin], want[fin]) and np.isnan(got[~fin]).all()
    assert screens._self_percentiles(np.full(3, np.nan)) is None
    d = {k: rng.normal(size=300) for k in ("CV", "SPD", "DIFFP", "RD", "KURT", "SKEW")}
    assert np.array_equal(screens.percentile_scores(d, d), screens.percentile_scores(d, dict(d)))


def test_round_list_six_digits_equals_round():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.random(50_000), np.arange(0, 10_000) / 1e6 + 5e-7,
                        rng.normal(0, 1, 10_000) * 10.0 ** rng.integers(-9, 7, 10_000),
                        [0.0, -0.0, 1.0, np.nan, 0.4999995, 0.0000005]])
    want = [round(v, 6) if np.isfinite(v) else None for v in x.tolist()]
    assert [repr(v) for v in round_list(x, 6)] == [repr(v) for v in want]
