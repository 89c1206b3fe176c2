"""Archive test helpers: a fresh object store per test, fake events, sealing, trust."""
from __future__ import annotations

import datetime as dt
import json
import types
import uuid

import pytest

from core.storage import LocalStorage


def fake_event(name: str, payload: dict, at: dt.datetime | None = None):
    """What an OutboxEvent looks like to the capture handler (no other domain's handler runs)."""
    return types.SimpleNamespace(event_id=str(uuid.uuid4()), name=name, payload={"v": 1, **payload},
                                 created_at=at or dt.datetime.now(dt.UTC))


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    """A fresh local store for this test (the session app keeps its own otherwise)."""
    fresh = LocalStorage(tmp_path / "store")
    monkeypatch.setitem(app.extensions, "storage", fresh)
    return fresh


@pytest.fixture
def archive(ctx, store):
    """Capture events and seal them: ``archive.add(name, payload)``, ``archive.seal()``."""
    from archive import services

    class Helper:
        store_ = store

        @staticmethod
        def add(name: str, payload: dict):
            services.capture(fake_event(name, payload))

        @staticmethod
        def seal() -> int:
            return services.run_sequencer(max_seconds=60)

        @staticmethod
        def trust():
            from archive import verify

            return verify.load_trust(json.dumps(services.trust_document()).encode())

    return Helper


def lot_events(archive, lot_id: int = 7, *, bids: int = 3, attachment: bytes | None = None, store=None):
    """A small lot history: publication, bids (one with an attachment), a confidential draw."""
    import hashlib

    archive.add("trading.lot_published", {"lot_id": lot_id, "category": "government_procurement",
                                          "budget": "1250000.00", "agency_org_id": 3})
    for i in range(bids):
        payload = {"lot_id": lot_id, "bidder_org_id": 100 + i, "amount": f"{1000000 + i * 1234}.50"}
        if attachment is not None and i == 0:
            info = store.put_content_addressed(attachment)
            payload["attachments"] = [{"name": "bid.pkg", "sha256": info.sha256, "size": len(attachment)}]
            assert info.sha256 == hashlib.sha256(attachment).hexdigest()
        archive.add("bidding.bid_submitted", payload)
    archive.add("experts.committee_drawn", {"lot_id": lot_id, "experts": ["张三", "李四", "王五"]})
