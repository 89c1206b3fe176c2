"""Fixtures of the monitoring tests."""

from __future__ import annotations

import pytest

from monitoring.engine.simulate import simulate


@pytest.fixture(scope="session")
def small_market():
    """A 1,500-lot simulated market with planted cartels (≈ 13k bids)."""
    return simulate(1500, seed=7)
