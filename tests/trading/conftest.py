"""Fixtures of the trading tests: fast password hashing, the cast of actors, a clean bid-counter hook."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from core import identity
from trading import services


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def _no_bid_counters():
    """Tests that register a counter must not leak it into the next test."""
    saved = list(services.bid_counters)
    services.bid_counters.clear()
    yield
    services.bid_counters[:] = saved


@pytest.fixture(autouse=True)
def _no_publish_checks():
    """Trading's own tests publish lots without the bidding domain's custodians (tested in tests/bidding)."""
    saved = list(services.publish_checks)
    services.publish_checks.clear()
    yield
    services.publish_checks[:] = saved


@pytest.fixture
def cast(ctx):
    from tests.trading.helpers import actors

    return actors()


from tests.core.test_browser import ARTIFACTS, browser, live_server  # noqa: E402,F401  (shared harness)
