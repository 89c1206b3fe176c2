"""The event catalogue (core.events.CATALOGUE, DESIGN §3) and the subscribers agree.

Every consumer the catalogue names for an event the code emits has a subscriber, unless PENDING names
the capability that will add it; a pending entry that is already served fails, so the list only
shrinks.  Every subscriber is catalogued, so the catalogue cannot fall behind the code either.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.domains import PACKAGES
from core.events import CATALOGUE, HANDLERS

ROOT = Path(__file__).resolve().parents[2]
#: (event, consumer) → the capability (an open issue) that will subscribe it
PENDING = {
    ("bidding.opening_record_published", "monitoring"):
        "supervisor console (issue 24): price patterns at the opening record become alerts",
    ("trading.objection_filed", "monitoring"):
        "supervisor console (issue 24): a missed legal time limit becomes an alert",
    ("trading.objection_answered", "monitoring"):
        "supervisor console (issue 24): a missed legal time limit becomes an alert",
    ("archive.mismatch_detected", "monitoring"):
        "supervisor console (issue 24): an archive mismatch becomes an alert",
}


def emitted() -> set[str]:
    """The event names the platform's code records (``events.record("…")``), read from the source."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found.update(re.findall(r"""\brecord\(\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text()))
    return found


def subscribed(app) -> set[tuple[str, str]]:
    """(event, consumer) for every registered handler; the consumer is the handler name's prefix."""
    return {(event, name.split(".")[0]) for name, (event, fn) in HANDLERS.items()
            if not fn.__module__.startswith("tests")}


def test_the_scan_finds_the_events_the_code_records():
    names = emitted()
    assert {"trading.lot_published", "bidding.bidding_closed", "experts.committee_drawn",
            "monitoring.alert_raised", "archive.mismatch_detected"} <= names
    assert names <= set(CATALOGUE), f"recorded but not catalogued: {sorted(names - set(CATALOGUE))}"


def test_every_catalogued_consumer_of_an_emitted_event_subscribes_or_is_pending(app):
    have = subscribed(app)
    missing = sorted((event, consumer) for event in emitted() for consumer in CATALOGUE[event]
                     if (event, consumer) not in have and (event, consumer) not in PENDING)
    assert not missing, f"catalogued consumers without a subscriber or a pending entry: {missing}"


def test_a_pending_consumer_that_now_subscribes_leaves_the_list(app):
    served = sorted(pair for pair in PENDING if pair in subscribed(app))
    assert not served, f"these subscribe now: remove them from PENDING: {served}"
    assert all(consumer in CATALOGUE[event] for event, consumer in PENDING), "pending pairs must be catalogued"


def test_every_subscriber_is_in_the_catalogue(app):
    extra = sorted((event, consumer) for event, consumer in subscribed(app) if consumer not in CATALOGUE[event])
    assert not extra, f"subscribers the catalogue does not list as consumers: {extra}"
