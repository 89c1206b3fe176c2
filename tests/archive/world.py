"""Permission-matrix world: a few sealed archive records (one confidential) for every role to try."""
from __future__ import annotations


def build(world) -> None:
    from archive import services
    from tests.archive.conftest import fake_event

    services.capture(fake_event("bidding.bid_submitted", {"lot_id": 1, "bidder_org_id": 1, "amount": "10.00"}))
    services.capture(fake_event("experts.committee_drawn", {"lot_id": 1, "experts": ["甲"]}))
    services.capture(fake_event("core.key_registered", {"kid": "ed25519:0"}))
    services.run_sequencer(max_seconds=60)
