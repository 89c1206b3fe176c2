"""Bidding objects and actors for the permission matrix (tests/core/test_permission_matrix.py).

A lot with its opening key and three custodians (whose shares are owned objects: custodian A must
not read custodian B's share), plus a lot without custodians.
"""
from __future__ import annotations

from bidding import services
from tests.bidding.factories import make_custodians, make_lot


def build(world: dict) -> None:
    lot = make_lot()
    custodians = make_custodians(lot.id)
    services.create_opening_key(lot_id=lot.id)
    make_lot()  # no custodians, no opening key
    for slot, (user, _key) in custodians.items():
        world["actors"][f"custodian_{slot}"] = user
    world["bidding_lot_id"] = lot.id
