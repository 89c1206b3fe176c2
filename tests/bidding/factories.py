"""Factories of the bidding tests: lots (trading rows), custodians with personal keys, bidders."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core import crypto, identity, keys
from core.clock import now
from core.db import db
from tests.factories import make_org, make_user

_seq = itertools.count(1)


def make_lot(agency=None):
    """A published lot made from trading's tables directly (independent of trading's services)."""
    from trading.models import Lot, Project

    agency = agency or make_user("agency")
    n = next(_seq)
    project = Project(code=f"BID-TEST-{n:05d}", name=f"测试项目{n}", category="construction", mode="open",
                      region="330200", tenderee_name="测试招标人", agency_org_id=agency.organisation_id,
                      created_by=agency.id)
    lot = Lot(project=project, number=1, name=f"标段{n}", estimate=Decimal("1000000.00"), state="published",
              bid_deadline=now() + dt.timedelta(days=25), published_at=now())
    db.session.add_all([project, lot])
    db.session.flush()
    return lot


def register(user, private, *, kind: str, owner: dict):
    """Register a public key with a real proof of possession (as a client would)."""
    challenge = keys.issue_challenge(user)
    pub = crypto.b64e(crypto.raw_public(private))
    message = crypto.pop_message(challenge=challenge, kind=kind, public_key_b64=pub, owner=keys.owner_ref(
        organisation_id=owner.get("organisation_id"), user_id=owner.get("user_id")))
    proof = crypto.make_proof(private, message, keys.platform_keys().encryption_public())
    return keys.register_key(actor=user, kind=kind, public_key_b64=pub, challenge=challenge, proof=proof, **owner)


def make_custodian(slot: str, lot_id: int, *, key: bool = True):
    """A user filling one custody slot of the lot; returns (user, X25519 private key or None)."""
    if slot == "opening_host":
        user, grant = make_user("agency"), "opening_host"
    elif slot == "supervisor":
        user, grant = make_user("supervisor", org=make_org(kind="supervisor_dept")), "custodian"
    else:
        user, grant = make_user("admin", org=make_org(kind="trading_centre")), "custodian"
    identity.grant(user=user, grant_name=grant, scope_id=lot_id)
    private = X25519PrivateKey.generate() if key else None
    if private is not None:
        register(user, private, kind="encrypt", owner={"user_id": user.id})
    return user, private


def make_custodians(lot_id: int) -> dict:
    return {slot: make_custodian(slot, lot_id) for slot in ("opening_host", "supervisor", "trading_centre")}


def make_bidder():
    """A bidder user whose organisation has a registered signing key; returns (user, sign, encrypt)."""
    user = make_user("bidder")
    sign, encrypt = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    register(user, sign, kind="sign", owner={"organisation_id": user.organisation_id})
    register(user, encrypt, kind="encrypt", owner={"organisation_id": user.organisation_id})
    return user, sign, encrypt
