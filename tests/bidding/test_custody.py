"""Opening-key custody with the database: trigger, custodian rule, shares, rebuild."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from bidding import services
from bidding.models import KeyShare, OpeningKey
from bidding.package import custody
from bidding.package.container import raw_public
from core import events, identity
from core.crypto import b64e
from core.db import db
from core.errors import DomainError
from core.events import commit
from core.models import AuditLog
from tests.bidding.factories import make_custodian, make_custodians, make_lot, register
from tests.factories import make_org, make_user


def _publish(lot_id: int) -> None:
    """What trading.publish_lot does for us: record the event and commit (eager dispatch)."""
    events.record("trading.lot_published", {"lot_id": lot_id})
    commit()


def test_publication_makes_the_key_and_seals_one_share_to_each_custodian(ctx):
    lot = make_lot()
    keepers = make_custodians(lot.id)
    _publish(lot.id)
    row = db.session.get(OpeningKey, lot.id)
    assert row is not None and row.kid.startswith("x25519:")
    shares = {s.slot: s for s in row.shares}
    assert sorted(shares) == sorted(keepers) and sorted(s.x for s in row.shares) == [1, 2, 3]
    clear = {slot: custody.decrypt_share(shares[slot].record(), key) for slot, (_u, key) in keepers.items()}
    for slot, (user, _key) in keepers.items():
        assert shares[slot].user_id == user.id
    for a, b in (("opening_host", "supervisor"), ("supervisor", "trading_centre"), ("opening_host", "trading_centre")):
        rebuilt = services.rebuild_opening_key(lot_id=lot.id, shares=[clear[a], clear[b]])
        assert b64e(raw_public(rebuilt)) == row.public_key
    with pytest.raises(DomainError) as err:
        services.rebuild_opening_key(lot_id=lot.id, shares=[clear["supervisor"]])
    assert err.value.code == "not_enough_shares"
    secret = b64e(custody.private_raw(rebuilt))
    stored = [row.public_key] + [s.ciphertext for s in row.shares] + [s.ephemeral_public_key for s in row.shares]
    assert secret not in stored
    _publish(lot.id)  # a second publication event changes nothing
    assert db.session.scalar(select(db.func.count()).select_from(KeyShare).where(KeyShare.lot_id == lot.id)) == 3


def test_a_custodian_cannot_open_another_custodians_share(ctx):
    lot = make_lot()
    keepers = make_custodians(lot.id)
    row = services.create_opening_key(lot_id=lot.id)
    share = next(s for s in row.shares if s.slot == "opening_host")
    with pytest.raises(custody.CustodyError):
        custody.decrypt_share(share.record(), keepers["supervisor"][1])


def test_missing_custodians_are_refused_with_every_reason_and_recorded(ctx):
    lot = make_lot()
    make_custodian("supervisor", lot.id, key=False)
    _publish(lot.id)
    assert db.session.get(OpeningKey, lot.id) is None
    refused = db.session.scalar(select(AuditLog).where(AuditLog.action == "bidding.opening_key_refused"))
    assert refused.detail["error"] == "custodians_missing"
    with pytest.raises(services.CustodiansMissing) as err:
        services.create_opening_key(lot_id=lot.id)
    text = err.value.detail
    assert "opening_host: no user holds the 'opening_host' grant" in text
    assert "supervisor:" in text and "personal X25519 key" in text
    assert "trading_centre: no trading-centre user holds the 'custodian' grant" in text
    assert err.value.status == 422 and "第二十七条" in err.value.rule


def test_one_person_never_holds_two_shares(ctx):
    """A trading-centre admin may host an opening and keep the centre's share, but never both on one
    lot: the host slot goes to the agency's host (the earlier grant), the admin keeps the centre's."""
    lot = make_lot()
    host, _ = make_custodian("opening_host", lot.id)
    make_custodian("supervisor", lot.id)
    admin = make_user("admin", org=make_org(kind="trading_centre"))
    identity.grant(user=admin, grant_name="opening_host", scope_id=lot.id)
    identity.grant(user=admin, grant_name="custodian", scope_id=lot.id)
    register(admin, X25519PrivateKey.generate(), kind="encrypt", owner={"user_id": admin.id})
    row = services.create_opening_key(lot_id=lot.id)
    assert {s.slot: s.user_id for s in row.shares} == {"opening_host": host.id, "trading_centre": admin.id,
                                                        "supervisor": row.shares[1].user_id}
    lot2 = make_lot()
    identity.grant(user=admin, grant_name="opening_host", scope_id=lot2.id)
    identity.grant(user=admin, grant_name="custodian", scope_id=lot2.id)
    make_custodian("supervisor", lot2.id)
    with pytest.raises(services.CustodiansMissing) as err:
        services.create_opening_key(lot_id=lot2.id)
    assert "trading_centre:" in err.value.detail


def test_same_organisation_cannot_fill_two_slots(ctx):
    lot = make_lot()
    centre = make_org(kind="trading_centre")
    for role, grant in (("agency", "opening_host"), ("admin", "custodian")):
        user = make_user(role, org=centre)
        identity.grant(user=user, grant_name=grant, scope_id=lot.id)
        register(user, X25519PrivateKey.generate(), kind="encrypt", owner={"user_id": user.id})
    make_custodian("supervisor", lot.id)
    with pytest.raises(services.CustodiansMissing) as err:
        services.create_opening_key(lot_id=lot.id)
    assert err.value.extra["missing"][0].startswith("trading_centre")


def test_organisation_key_does_not_make_a_custodian(ctx):
    lot = make_lot()
    host, _ = make_custodian("opening_host", lot.id, key=False)
    register(host, X25519PrivateKey.generate(), kind="encrypt", owner={"organisation_id": host.organisation_id})
    make_custodian("supervisor", lot.id)
    make_custodian("trading_centre", lot.id)
    with pytest.raises(services.CustodiansMissing) as err:
        services.create_opening_key(lot_id=lot.id)
    assert "opening_host" in err.value.detail


def test_unknown_lot(ctx):
    with pytest.raises(DomainError) as err:
        services.create_opening_key(lot_id=999999)
    assert err.value.status == 404


def test_a_lot_without_its_custodians_is_not_published(ctx):
    """bidding registers ``require_custodians`` in trading's publish checks (电子招标投标办法 第二十七条)."""
    from core.clock import frozen
    from tests.bidding.factories import make_custodian
    from tests.trading.helpers import bj, draft_lot
    from trading import services as trading

    agency = make_user("agency")
    lot = draft_lot(agency, deadline=bj(2026, 3, 30, 9, 30))
    with frozen(bj(2026, 3, 4, 10)):
        with pytest.raises(DomainError) as refused:
            trading.publish_lot(actor=agency, lot=lot)
        assert refused.value.code == "custodians_missing" and "第二十七条" in refused.value.rule
        assert lot.state == "draft"
        identity.grant(user=agency, grant_name="opening_host", scope_id=lot.id)
        register(agency, X25519PrivateKey.generate(), kind="encrypt", owner={"user_id": agency.id})
        make_custodian("supervisor", lot.id)
        make_custodian("trading_centre", lot.id)
        trading.publish_lot(actor=agency, lot=lot)
        commit()  # the trading.lot_published event makes the key
    assert lot.state == "published" and db.session.get(OpeningKey, lot.id) is not None
