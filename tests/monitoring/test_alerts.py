"""The platform's own bids through the detector: when a lot closes, bids of different organisations
that share a device, an address or a bond payer account raise an alert that every supervisor
receives with the evidence (条例 第四十条; a flag is not a finding)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bidding.models import Bid
from core.clock import frozen
from core.db import db
from core.events import OutboxEvent, commit
from core.models import Notification
from monitoring import services
from tests.bidding.conftest import fresh_store  # noqa: F401  (fixture)
from tests.bidding.submitting import new_bidder, open_lot, package, submit
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("fresh_store")


def _evidence(bid_id: int, *, ip: str, device: dict, account: str | None) -> None:
    """What the submissions carried (the test client submits from 127.0.0.1 with one device)."""
    from sqlalchemy import update

    db.session.execute(update(Bid).where(Bid.id == bid_id).values(ip=ip, device=device, bond_payer_account=account))


def _lot_with_bids(client, tmp_path, evidence: list[dict]):
    lot = open_lot()
    bidders = [new_bidder() for _ in evidence]
    for i, (bidder, ev) in enumerate(zip(bidders, evidence, strict=True)):
        bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name=f"{i}.pkg")).get_json()
        _evidence(bid["id"], **ev)
    commit()
    return lot, bidders


def _close(lot) -> None:
    from bidding.services import close_bidding

    with frozen(lot.bid_deadline + dt.timedelta(seconds=11)):
        close_bidding(lot_id=lot.id)
        commit()  # eager tasks: monitoring's handler, then the notifications handler


def test_shared_device_and_bond_account_alert_every_supervisor(app, client, ctx, tmp_path):
    supervisors = [make_user("supervisor"), make_user("supervisor")]
    commit()
    lot, (a, b, c) = _lot_with_bids(client, tmp_path, [
        {"ip": "114.114.114.114", "device": {"mac": ["aa:01"], "disk": ["SN-9"]}, "account": "6222000011110001"},
        {"ip": "223.5.5.5", "device": {"mac": ["aa:02"], "disk": ["SN-9"]}, "account": "6222000011110001"},
        {"ip": "180.76.76.76", "device": {"mac": ["aa:03"], "disk": ["SN-3"]}, "account": "6222000011110003"}])
    _close(lot)
    alert = db.session.scalar(select(OutboxEvent).where(OutboxEvent.name == "monitoring.alert_raised"))
    assert alert.payload["flags"] == ["ART40_1", "ART40_6"]
    assert alert.payload["bidder_org_ids"] == sorted([a.org_id, b.org_id])  # the clean third is not named
    fields = {(i["field"], i["value"]) for items in alert.payload["evidence"].values() for i in items}
    assert fields == {("device", "disk:SN-9"), ("bond_account", "6222000011110001")}
    for user in supervisors:
        note = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
        assert note.subject.endswith(f"lot {lot.id}") and note.link == f"/supervisor/lots/{lot.id}"
        assert a.user.organisation.name in note.body and c.user.organisation.name not in note.body
        assert "第四十条" in note.body and "6222000011110001" in note.body


def test_distinct_evidence_and_non_public_addresses_raise_nothing(app, client, ctx, tmp_path):
    make_user("supervisor")
    commit()
    lot, _ = _lot_with_bids(client, tmp_path, [
        {"ip": "127.0.0.1", "device": {"mac": ["aa:01"]}, "account": None},
        {"ip": "127.0.0.1", "device": {"mac": ["aa:02"]}, "account": "6222000011110002"},
        {"ip": "::1", "device": {}, "account": None}, {"ip": "10.0.0.5", "device": {}, "account": None},
        {"ip": "10.0.0.5", "device": {}, "account": None}])
    assert services.identity_matches(lot.id) == {}  # a proxy's or an intranet's address says nothing
    _close(lot)
    assert db.session.scalar(select(OutboxEvent).where(OutboxEvent.name == "monitoring.alert_raised")) is None
    assert db.session.scalar(select(Notification)) is None


def test_a_shared_public_address_is_evidence(app, ctx, client, tmp_path):
    lot, (a, b) = _lot_with_bids(client, tmp_path, [
        {"ip": "114.114.114.114", "device": {}, "account": None}, {"ip": "114.114.114.114", "device": {}, "account": None}])
    assert services.identity_matches(lot.id) == {
        "ART40_1": [{"field": "ip", "value": "114.114.114.114", "bidders": sorted([a.org_id, b.org_id])}]}


def test_a_bond_recorded_after_the_bid_is_still_evidence(app, client, ctx, tmp_path):
    """Two bidders bid first and record their bonds afterwards, before the deadline, from one account:
    the close reads the bonds, not only what each bid carried when it was submitted (条例 第四十条(六))."""
    make_user("supervisor")
    lot, bidders = _lot_with_bids(client, tmp_path, [
        {"ip": "114.114.114.114", "device": {"mac": ["aa:01"]}, "account": None},
        {"ip": "223.5.5.5", "device": {"mac": ["aa:02"]}, "account": None}])
    for bidder in bidders:
        resp = client.post(f"/api/bidding/lots/{lot.id}/bonds", headers=bidder.headers, json={
            "amount": "100.00", "method": "guarantee", "payer_account": "6222 0000 1111 0009",
            "payer_uscc": bidder.user.organisation.uscc, "reference": "BH-1"})
        assert resp.status_code == 201, resp.get_json()
    assert services.identity_matches(lot.id) == {"ART40_6": [{
        "field": "bond_account", "value": "6222000011110009", "bidders": sorted(b.org_id for b in bidders)}]}
