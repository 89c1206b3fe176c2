"""Who may bid (blacklist, revoked key, operator affiliates; nothing else: EBM Art.54) and bid bonds."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bidding import services
from bidding.models import Bid, BidBond
from core import keys
from core.clock import frozen, now
from core.db import db
from core.events import OutboxEvent, commit
from core.models import Notification
from core.scheduler import ScheduledTask
from tests.bidding.submitting import finish, new_bidder, open_lot, package, start, submit, upload_all
from tests.factories import make_org, make_user

pytestmark = pytest.mark.usefixtures("fresh_store")


def _refusal(resp, code):
    body = resp.get_json()
    assert resp.status_code == 422 and body["error"] == code, body
    return body


def test_blacklisted_enterprise_is_refused_with_the_reason(app, client, ctx, tmp_path):
    from trading.services import add_entry

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = upload_all(client, bidder, lot.id, data)  # listed after the upload began
    add_entry(actor=make_user("supervisor"), subject_kind="enterprise", name="x", reason="串通投标",
              legal_basis="招标投标法实施条例 第六十七条", starts_at=now() - dt.timedelta(days=1),
              uscc=bidder.user.organisation.uscc)
    commit()
    body = _refusal(finish(client, bidder, upload_id), "blacklisted")
    assert body["rule"] == "招标投标法实施条例 第六十七条" and body["detail"] == "串通投标"
    _refusal(start(client, bidder, lot.id, data), "blacklisted")
    assert db.session.scalar(select(Bid.id)) is None


def test_revoked_key_is_refused(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = upload_all(client, bidder, lot.id, data)
    for key in keys.valid_keys(organisation_id=bidder.org_id, kind="sign"):
        keys.revoke_key(key=key, reason="private key lost")
    commit()
    assert _refusal(finish(client, bidder, upload_id), "no_valid_signing_key")["rule"].startswith("电子签名法")
    _refusal(start(client, bidder, lot.id, data), "no_valid_signing_key")


def test_package_signed_by_a_revoked_key_is_refused_even_with_a_new_key(app, client, ctx, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.bidding.factories import register

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = upload_all(client, bidder, lot.id, data)
    (old,) = keys.valid_keys(organisation_id=bidder.org_id, kind="sign")
    keys.revoke_key(key=old, reason="compromised")
    register(bidder.user, Ed25519PrivateKey.generate(), kind="sign", owner={"organisation_id": bidder.org_id})
    commit()
    _refusal(finish(client, bidder, upload_id), "bidder_key_not_valid")


@pytest.mark.parametrize("how", ["affiliate", "operator"])
def test_operator_and_affiliates_may_not_bid(app, client, ctx, tmp_path, how):
    lot = open_lot()
    org = make_org(kind="platform_operator") if how == "operator" else make_org(affiliated_with_operator=True)
    bidder = new_bidder(org=org)
    body = _refusal(start(client, bidder, lot.id, package(tmp_path, lot, bidder)), "operator_affiliate")
    assert body["rule"] == "电子招标投标办法 第二十三条"


def test_no_other_precondition_restricts_who_bids(app, client, ctx, tmp_path):
    """电子招标投标办法 第五十四条: another province, no local registration, no download, no bond."""
    lot = open_lot()
    assert lot.project.region == "330200"
    far = new_bidder(org=make_org(region="650100", name="新疆某建设有限公司"))
    unregistered = new_bidder(org=make_org(region="", name="某新设立科技有限公司"))  # no region on file at all
    for i, bidder in enumerate((far, unregistered)):  # neither downloaded the documents nor paid a bond
        resp = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name=f"{i}.pkg"))
        assert resp.status_code == 201, resp.get_json()


def test_invited_tender_takes_only_invitees(app, client, ctx, tmp_path):
    invited, outsider = new_bidder(), new_bidder()
    lot = open_lot(invitees=[invited.org_id, make_org().id, make_org().id])
    _refusal(start(client, outsider, lot.id, package(tmp_path, lot, outsider)), "not_invited")
    assert submit(client, invited, lot.id, package(tmp_path, lot, invited, name="i.pkg")).status_code == 201


def _conflict(resp, code):
    assert resp.status_code == 409 and resp.get_json()["error"] == code, resp.get_json()


def _bond(client, bidder, lot_id, **changes):
    body = {"amount": "20000.00", "method": "transfer", "payer_account": "6222 0000 1111 2222",
            "payer_uscc": bidder.user.organisation.uscc, **changes}
    return client.post(f"/api/bidding/lots/{lot_id}/bonds", headers=bidder.headers, json=body)


def test_bond_cap_payer_and_evidence(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()  # estimate 1,000,000.00 → cap 20,000.00
    over = _refusal(_bond(client, bidder, lot.id, amount="20000.01"), "bond_too_high")
    assert over["rule"] == "招标投标法实施条例 第二十六条"
    other = make_org().uscc
    _refusal(_bond(client, bidder, lot.id, payer_uscc=other), "payer_not_bidder")
    _refusal(_bond(client, bidder, lot.id, payer_uscc="91330200MA0000000X"), "bad_payer_uscc")
    assert _bond(client, bidder, lot.id, amount="abc").status_code == 422
    guarantee = _bond(client, bidder, lot.id, method="guarantee", payer_uscc=other, reference="BH-2026-1")
    assert guarantee.status_code == 201 and guarantee.get_json()["payer_account"] == "6222000011112222"
    assert _bond(client, bidder, lot.id).status_code == 409
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.name == "bidding.bond_recorded"))
    assert "payer_account" not in event.payload and len(event.payload["payer_account_sha256"]) == 64
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    assert db.session.get(Bid, bid["id"]).bond_payer_account == "6222000011112222"
    b = new_bidder()
    assert client.get(f"/api/bidding/bonds/{guarantee.get_json()['id']}", headers=b.headers).status_code == 404


def test_withdrawal_arms_the_refund_timer(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    bond_id = _bond(client, bidder, lot.id).get_json()["id"]
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    client.post(f"/api/bidding/bids/{bid['id']}/withdraw", headers=bidder.headers)
    bond = db.session.get(BidBond, bond_id)
    db.session.refresh(bond)
    assert bond.state == "refund_due" and bond.refund_reason == "withdrawn"
    job = db.session.get(ScheduledTask, f"bidding-bond-refund-{bond_id}")
    assert job.task == "bidding.bond_refund_check" and job.run_at == bond.refund_due_at
    job.synced = True  # the scheduler has taken it
    commit()
    assert services.check_refund(bond_id=bond_id) == "not_due"
    commit()
    db.session.refresh(job)
    assert (job.run_at, job.synced) == (bond.refund_due_at, False), "fired early: armed again for when due"
    with frozen(bond.refund_due_at + dt.timedelta(seconds=1)):
        assert services.check_refund(bond_id=bond_id) == "overdue"
    commit()
    assert db.session.scalar(select(Notification).where(Notification.subject.contains("bond refund overdue")))


def test_failed_lot_makes_every_bond_due(app, client, ctx, tmp_path):
    from bidding.services import close_bidding

    lot, bidder = open_lot(), new_bidder()
    bond_id = _bond(client, bidder, lot.id, amount="100.00").get_json()["id"]
    with frozen(lot.bid_deadline + dt.timedelta(seconds=1)):
        assert close_bidding(lot_id=lot.id) == "failed"
        commit()
    bond = db.session.get(BidBond, bond_id)
    db.session.refresh(bond)
    assert (bond.state, bond.refund_reason, bond.amount) == ("refund_due", "lot_failed", Decimal("100.00"))


def test_a_bond_below_the_tender_s_amount_or_with_a_bad_account_is_refused(app, client, ctx):
    lot, bidder = open_lot(bond_amount=Decimal("10000.00")), new_bidder()
    low = _refusal(_bond(client, bidder, lot.id, amount="9999.99"), "bond_too_low")
    assert low["rule"] == "招标投标法实施条例 第二十六条"
    for account in ("账户号码一二三四", "12 34 5", "6222-0000-1111", "x" * 65):
        _refusal(_bond(client, bidder, lot.id, payer_account=account), "bad_payer_account")
    assert db.session.scalar(select(BidBond).where(BidBond.lot_id == lot.id)) is None  # nothing half-written
    assert _bond(client, bidder, lot.id, amount="10000.00", payer_account="6222 0000 1111 2222").status_code == 201


def test_a_refund_is_confirmed_once_by_the_centre_or_the_tenderee_rep(app, client, ctx, tmp_path):
    from core import identity
    from tests.factories import bearer, token_for

    lot, bidder = open_lot(), new_bidder()
    bond_id = _bond(client, bidder, lot.id).get_json()["id"]
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    url = f"/api/bidding/bonds/{bond_id}/refunded"
    rep = make_user("agency")
    identity.grant(user=rep, grant_name="tenderee_rep", scope_id=lot.id)
    rep_headers, admin_headers = bearer(token_for(rep)), bearer(token_for(make_user("admin")))
    early = client.post(url, headers=rep_headers)
    assert early.status_code == 409 and early.get_json()["error"] == "bond_not_due"
    client.post(f"/api/bidding/bids/{bid['id']}/withdraw", headers=bidder.headers)
    paid = client.post(url, headers=rep_headers)
    assert paid.status_code == 200 and paid.get_json()["state"] == "refunded"
    again = client.post(url, headers=admin_headers)
    assert again.status_code == 409 and again.get_json()["error"] == "bond_not_due"
    assert services.check_refund(bond_id=bond_id) != "overdue"


def test_the_tender_s_agency_a_suspended_lot_and_a_closed_lot_take_no_bid(app, client, ctx, tmp_path):
    from core.models import Organisation

    lot = open_lot()
    agency_org = db.session.get(Organisation, lot.project.agency_org_id)
    own_agency = new_bidder(org=agency_org)
    refused = _refusal(start(client, own_agency, lot.id, package(tmp_path, lot, own_agency)), "agency_may_not_bid")
    assert refused["rule"] == "招标投标法实施条例 第十三条"
    bidder = new_bidder()
    data = package(tmp_path, lot, bidder, name="b.pkg")
    for state, code, rule in (("suspended", "lot_suspended", "电子招标投标办法 第五十二条"),
                              ("bidding_closed", "lot_not_open", "电子招标投标办法 第二十七条")):
        lot.state = state
        commit()
        resp = start(client, bidder, lot.id, data)
        assert resp.status_code == 409 and resp.get_json()["error"] == code, resp.get_json()
        assert resp.get_json()["rule"].startswith(rule)
    assert db.session.scalar(select(Bid).where(Bid.lot_id == lot.id)) is None


@pytest.mark.parametrize(("estimate", "cap"), [("1000000.75", "20000.01"), ("1000000.40", "20000.00"),
                                               ("1000000.00", "20000.00")])
def test_the_two_percent_cap_is_never_rounded_up(app, client, ctx, estimate, cap):
    """2 % of 1,000,000.75 is 20,000.015: 20,000.02 exceeds it (条例 第二十六条), whatever rounding
    to the cent would say; the cap named in the refusal is the largest amount allowed."""
    lot, bidder = open_lot(estimate=Decimal(estimate)), new_bidder()
    over = _refusal(_bond(client, bidder, lot.id, amount=str(Decimal(cap) + Decimal("0.01"))), "bond_too_high")
    assert over["rule"] == "招标投标法实施条例 第二十六条" and f"({cap})" in over["detail"]
    assert _bond(client, bidder, lot.id, amount=cap).status_code == 201


def test_a_bidder_who_withdraws_and_bids_again_keeps_or_renews_its_bond(app, client, ctx, tmp_path):
    """Withdrawn, then a new bid before the deadline: a bond not yet refunded backs the new bid (held,
    no refund overdue); one already refunded is paid anew, and the old one stays in the audit trail."""
    from core.models import AuditLog

    lot, bidder = open_lot(), new_bidder()
    bond_id = _bond(client, bidder, lot.id).get_json()["id"]
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    client.post(f"/api/bidding/bids/{bid['id']}/withdraw", headers=bidder.headers)
    again = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name="2.pkg")).get_json()
    bond = db.session.get(BidBond, bond_id)
    db.session.refresh(bond)
    assert (bond.state, bond.refund_reason, bond.refund_due_at) == ("held", "", None)
    assert db.session.get(Bid, again["id"]).bond_payer_account == "6222000011112222"
    with frozen(now() + dt.timedelta(days=6)):
        assert services.check_refund(bond_id=bond_id) == "nothing"
    _conflict(_bond(client, bidder, lot.id), "bond_exists")

    client.post(f"/api/bidding/bids/{again['id']}/withdraw", headers=bidder.headers)
    rep = make_user("admin")
    from tests.factories import bearer, token_for
    assert client.post(f"/api/bidding/bonds/{bond_id}/refunded", headers=bearer(token_for(rep))).status_code == 200
    renewed = _bond(client, bidder, lot.id, amount="15000.00", payer_account="6222 0000 3333 4444")
    assert renewed.status_code == 201, renewed.get_json()
    assert (renewed.get_json()["id"], renewed.get_json()["state"]) == (bond_id, "held")
    trail = db.session.scalar(select(AuditLog).where(AuditLog.action == "bidding.bond_renewed"))
    assert trail.detail["previous_amount"] == "20000.00" and trail.detail["refunded_at"]
    third = submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name="3.pkg")).get_json()
    assert db.session.get(Bid, third["id"]).bond_payer_account == "6222000033334444"


def test_a_second_recording_racing_the_first_is_a_409_not_a_500(app, client, ctx, monkeypatch):
    """Two requests both find no bond, then both insert: the unique row makes the second a 409 and
    leaves nothing of it (the race is reproduced by hiding the first bond from the second's check)."""
    from bidding.services import bonds

    lot, bidder = open_lot(), new_bidder()
    assert _bond(client, bidder, lot.id).status_code == 201
    monkeypatch.setattr(bonds, "_bond_of", lambda *_: None)
    _conflict(_bond(client, bidder, lot.id, amount="100.00"), "bond_exists")
    rows = db.session.scalars(select(BidBond).where(BidBond.lot_id == lot.id)).all()
    assert [r.amount for r in rows] == [Decimal("20000.00")]
    assert db.session.scalar(select(OutboxEvent).where(OutboxEvent.name == "bidding.bond_recorded")
                             .order_by(OutboxEvent.id.desc())).payload["bond_id"] == rows[0].id


def test_a_refund_after_a_platform_caused_unseal_failure_cites_its_rule(app, client, ctx):
    """Not decrypted for a cause outside the bidder: deemed withdrawn (电子招标投标办法 第三十一条),
    refunded within 5 days as a withdrawal (条例 第三十五条); an overdue refund names both."""
    from core.models import AuditLog

    lot, bidder = open_lot(), new_bidder()
    bond_id = _bond(client, bidder, lot.id).get_json()["id"]
    services.refund_due(lot_id=lot.id, organisation_id=bidder.org_id, reason="platform_unseal_failure", at=now())
    commit()
    with frozen(now() + dt.timedelta(days=5, seconds=1)):
        assert services.check_refund(bond_id=bond_id) == "overdue"
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "bidding.bond_refund_overdue"))
    assert row.detail["rule"] == "电子招标投标办法 第三十一条; 招标投标法实施条例 第三十五条"


@pytest.mark.parametrize(("amount", "says"), [("19999.995", "two decimal places"), ("0.001", "two decimal places"),
                                              (19999.5, "decimal string"), (True, "decimal string"),
                                              ("1e99999", "Not a valid number")])
def test_money_is_taken_exactly_or_refused(app, client, ctx, amount, says):
    """19,999.995 would round to 20,000.00 and a JSON float is not the decimal it looks like: both are
    a 422 on ``amount`` with the reason, and no bond is recorded."""
    lot, bidder = open_lot(), new_bidder()
    resp = _bond(client, bidder, lot.id, amount=amount)
    assert resp.status_code == 422 and says in resp.get_data(as_text=True) and "amount" in resp.get_data(as_text=True)
    assert db.session.scalar(select(BidBond).where(BidBond.lot_id == lot.id)) is None
    assert _bond(client, bidder, lot.id, amount="19999.990").status_code == 201  # trailing zeros are exact
