"""Bidding objects and actors for the permission matrix (tests/core/test_permission_matrix.py).

A lot with its opening key and three custodians (whose shares are owned objects: custodian A must
not read custodian B's share), plus a lot without custodians.  On the first lot, the two bidders of
the core world (``bidder`` and ``bidder_b``, different organisations) each have a standing bid, an
open upload and a bond, so every owner-scoped submission operation is tried by the other bidder.
"""
from __future__ import annotations

import io
import tempfile
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding import services
from tests.bidding.factories import make_custodians, make_lot, register
from tests.bidding.submitting import Bidder, package, sha

#: organisation id -> (sign, encrypt) private keys registered in this world
_KEYS: dict = {}


def build(world: dict) -> None:
    lot = make_lot()
    custodians = make_custodians(lot.id)
    services.create_opening_key(lot_id=lot.id)
    make_lot()  # no custodians, no opening key
    for slot, (user, _key) in custodians.items():
        world["actors"][f"custodian_{slot}"] = user
    world["bidding_lot_id"] = lot.id
    for name in ("bidder", "bidder_b"):
        _submission_objects(lot, world["actors"][name])
    _opening(world)


def _opening(world: dict) -> None:
    """A lot in its opening where only ``bidder`` has a bid: ``bidder_b`` must stay outside the hall,
    and an objection (a response object) the host may answer and nobody else."""
    import datetime as dt

    from bidding.models import RecordResponse
    from bidding.services import hall
    from core.clock import now
    from core.db import db

    lot = make_lot()
    custodians = make_custodians(lot.id)
    services.create_opening_key(lot_id=lot.id)
    _submission_objects(lot, world["actors"]["bidder"], keys=False)
    lot.state, lot.bid_deadline = "bidding_closed", now() + dt.timedelta(microseconds=1)
    db.session.flush()
    hall.start_opening(lot_id=lot.id)
    user = world["actors"]["bidder"]
    db.session.add(RecordResponse(lot_id=lot.id, organisation_id=user.organisation_id, user_id=user.id,
                                  kind="objection", text="matrix"))
    for slot, (keeper, _key) in custodians.items():
        world["actors"][f"opening_{slot}"] = keeper


def _submission_objects(lot, user, *, keys: bool = True) -> None:
    sign, encrypt = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    if not keys:  # the organisation's keys are registered already: use them again
        sign, encrypt = _KEYS[user.organisation_id]
    else:
        register(user, sign, kind="sign", owner={"organisation_id": user.organisation_id})
        register(user, encrypt, kind="encrypt", owner={"organisation_id": user.organisation_id})
        _KEYS[user.organisation_id] = (sign, encrypt)
    bidder = Bidder.__new__(Bidder)
    bidder.user, bidder.sign, bidder.encrypt = user, sign, encrypt
    with tempfile.TemporaryDirectory() as tmp:
        data = package(Path(tmp), lot, bidder)
        other = package(Path(tmp), lot, bidder, name="other.pkg")
    upload, _ = services.start_upload(user=user, lot=lot, size=len(data), sha256=sha(data))
    services.put_chunk(upload=upload, offset=0, length=len(data), sha256=sha(data), stream=io.BytesIO(data))
    services.finish_upload(upload=upload, actor=user)
    services.start_upload(user=user, lot=lot, size=len(other), sha256=sha(other))  # left open
    services.record_bond(actor=user, lot=lot, amount=Decimal("10000.00"), method="transfer",
                         payer_account=f"6222{user.organisation_id:012d}", payer_uscc=user.organisation.uscc)
