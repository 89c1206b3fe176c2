"""Fixtures of the trading tests: fast password hashing, the cast of actors, trading without bidding's publication check."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from core import identity, signals


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def _trading_alone(request):
    """Trading's own tests publish lots without bidding's opening-key custodians (tested in
    tests/bidding): bidding's receiver of ``lot_publishing`` is set aside for the test."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    from bidding.services import require_custodians

    signals.lot_publishing.disconnect(require_custodians)
    yield
    signals.lot_publishing.connect(require_custodians, weak=False)


@pytest.fixture
def cast(ctx):
    from tests.trading.helpers import actors

    return actors()


from tests.core.test_browser import ARTIFACTS, browser, live_server  # noqa: E402,F401  (shared harness)
