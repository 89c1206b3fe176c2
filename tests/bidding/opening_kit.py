"""Helpers of the opening tests: a lot with custodians, bidders whose sealed packages carry a price and
opening facts, submission through the API, the deadline, and the bidder tool's data-key step."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bidding import services
from bidding.package import container as c
from bidding.package import sealing
from core.events import commit
from tests.bidding.factories import make_custodians, make_lot
from tests.bidding.helpers import write_files
from tests.bidding.submitting import Bidder, new_bidder, submit
from tests.factories import bearer, token_for


@dataclass
class Opening:
    lot: object
    host: object
    host_headers: dict
    custodians: dict
    bidders: list = field(default_factory=list)
    packages: dict = field(default_factory=dict)
    prices: dict = field(default_factory=dict)

    @property
    def lot_id(self) -> int:
        return self.lot.id

    def url(self, tail: str = "") -> str:
        return f"/api/bidding/lots/{self.lot.id}/opening{tail}"


def make_opening(*, opening_fields=("duration_days",), remedy: bool = False, window: int = 30,
                 confirm: int = 15) -> Opening:
    """A published lot with its opening key, its opening terms and its host (the opening_host custodian)."""
    lot = make_lot()
    keepers = make_custodians(lot.id)
    services.create_opening_key(lot_id=lot.id)
    lot.opening_fields, lot.unseal_remedy = list(opening_fields), remedy
    lot.decrypt_window_minutes, lot.confirm_window_minutes = window, confirm
    commit()
    host = keepers["opening_host"][0]
    return Opening(lot=lot, host=host, host_headers=bearer(token_for(host)), custodians=keepers)


def sealed_package(root: Path, lot, bidder: Bidder, *, price: str, duration: int = 300, size: int = 4000,
                   name: str = "bid.pkg") -> bytes:
    """A valid package whose sealed facts carry the priced schedule's total and an opening fact."""
    opening = c.b64d(services.opening_key(lot_id=lot.id).public_key)
    out = root / name
    info = {"schedule": {"total": price, "currency": "CNY", "rows": []}, "opening": {"duration_days": duration}}
    sealing.pack(out=out, lot_id=lot.id, opening_public=opening, bidder_sign=bidder.sign,
                 bidder_encrypt_public=c.raw_public(bidder.encrypt),
                 documents=write_files(root / f"{name}.d", {"tech.pdf": os.urandom(size)}),
                 info=info, device={"mac": ["02:00:00:00:00:bb"]}, created_at="2026-03-01T00:00:00Z",
                 segment_size=64 * 1024)
    return out.read_bytes()


def add_bidders(client, world: Opening, root: Path, count: int, *, bond: bool = True) -> list[Bidder]:
    """``count`` bidders, each submitting a priced package through the API (and recording a bond)."""
    for i in range(count):
        bidder = new_bidder()
        price = f"{1_000_000 + 12_345 * (i + 1)}.{i:02d}"
        data = sealed_package(root, world.lot, bidder, price=price, duration=300 + i, name=f"b{len(world.bidders)}.pkg")
        resp = submit(client, bidder, world.lot.id, data)
        assert resp.status_code == 201, resp.get_json()
        if bond:
            services.record_bond(actor=bidder.user, lot=world.lot, amount=Decimal("10000.00"), method="transfer",
                                 payer_account=f"6222{bidder.org_id:012d}", payer_uscc=bidder.user.organisation.uscc)
            commit()
        world.bidders.append(bidder)
        world.packages[bidder.org_id] = data
        world.prices[bidder.org_id] = price
    return world.bidders


def data_key(world: Opening, bidder: Bidder) -> str:
    """What ``ggzy bid unseal --submit`` sends: the data key unwrapped with the bidder's own key."""
    import io

    manifest = sealing.read_manifest(io.BytesIO(world.packages[bidder.org_id])).manifest
    return c.b64e(sealing.data_key_for(manifest, bidder.encrypt))


def after_deadline(world: Opening, seconds: float = 11) -> dt.datetime:
    return world.lot.bid_deadline + dt.timedelta(seconds=seconds)


def close_at_deadline(world: Opening) -> str:
    """The scheduler's close job (bidding's), whose event starts the opening (eager dispatch in tests)."""
    from bidding import services as bidding

    outcome = bidding.close_bidding(lot_id=world.lot.id)
    commit()
    return outcome
