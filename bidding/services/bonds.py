"""Bid bonds (投标保证金): recording, the 2 % cap, refund timers.

The cap comes from trading's procedure table (``bond_max``: 2 % of the estimate, 招标投标法实施条例
第二十六条; of the budget, 政府采购法实施条例 第三十三条).  A cash transfer must come from the
bidder's own basic account (条例 第二十六条第二款), so its payer USCC is the bidder's.  The payer
account is kept as evidence: equal accounts across bidders are 条例 第四十条(六).

Refunds are the tenderee's act outside the platform; the platform records when a refund falls due
and, through a scheduled task, flags a bond still unrefunded at that time:
withdrawal → within 5 days (条例 第三十五条); failed lot (条例 第四十四条, no refund period of its own:
the 5 days of 第五十七条 are applied) or cancelled lot (条例 第三十一条, "及时") → 5 days; contract
signed → 5 days for every bidder (条例 第五十七条).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bidding.models import BidBond
from bidding.services.eligibility import check_eligible, check_open
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict, ValidationFailed
from core.identity import validate_uscc
from core.scheduler import schedule_task
from trading import procedures
from trading.models import Lot
from trading.services import config_of, notify_agency

logger = logging.getLogger(__name__)

RULE_BOND = "招标投标法实施条例 第二十六条"
RULE_REFUND = {"withdrawn": "招标投标法实施条例 第三十五条", "contract_signed": "招标投标法实施条例 第五十七条",
               "lot_failed": "招标投标法实施条例 第四十四条 (招标失败; 5 日比照第五十七条)",
               "lot_cancelled": "招标投标法实施条例 第三十一条",
               # not decrypted for a cause outside the bidder: deemed withdrawn, so refunded as a withdrawal
               "platform_unseal_failure": "电子招标投标办法 第三十一条; 招标投标法实施条例 第三十五条"}
REFUND_DAYS = 5
METHODS = ("transfer", "guarantee")


class BondRefused(ValidationFailed):
    code = "bond_refused"


def record_bond(*, actor, lot, amount: Decimal, method: str, payer_account: str, payer_uscc: str,
                payer_name: str = "", reference: str = "") -> BidBond:
    """Record the bidder organisation's bond for a lot (one per lot), before the deadline.

    :raises BondRefused: over the cap, under the amount the tender asks, bad payer, bad method
    :raises Conflict: a bond is already recorded; DeadlinePassed; NotEligible
    """

    at = now()
    check_open(lot, at=at)
    check_eligible(lot=lot, organisation=actor.organisation, at=at)
    if method not in METHODS:
        raise BondRefused(f"method must be one of {', '.join(METHODS)}", code="bad_method")
    if amount <= 0:
        raise BondRefused("the amount must be positive", code="bad_amount")
    procedures.check_bond(config_of(lot), bond=amount, base=lot.estimate)
    if lot.bond_amount is not None and amount < lot.bond_amount:
        raise BondRefused(f"the tender asks for a bond of {lot.bond_amount}", code="bond_too_low", rule=RULE_BOND)
    payer_uscc = _uscc(payer_uscc)
    if method == "transfer" and payer_uscc != actor.organisation.uscc:
        raise BondRefused("a cash bond must be transferred from the bidder's own basic account",
                          code="payer_not_bidder", rule=f"{RULE_BOND}第二款")
    account = "".join(payer_account.split())
    if not (account.isascii() and account.isalnum()) or not 6 <= len(account) <= 64:
        raise BondRefused("payer_account must be 6-64 ASCII letters or digits (spaces are ignored)",
                          code="bad_payer_account")
    fields = {"amount": amount, "method": method, "payer_account": account, "payer_uscc": payer_uscc,
              "payer_name": payer_name, "reference": reference, "recorded_by": actor.id, "recorded_at": at}
    bond = _bond_of(lot.id, actor.organisation_id)
    if bond is None:
        bond = _insert_bond(lot_id=lot.id, organisation_id=actor.organisation_id, **fields)
    elif bond.state == "refunded" and bond.refund_reason == "withdrawn":
        _renew(bond, fields, actor=actor)
    else:
        raise Conflict("a bond is already recorded for your organisation on this lot", code="bond_exists")
    events.record("bidding.bond_recorded", {
        "bond_id": bond.id, "lot_id": lot.id, "organisation_id": bond.organisation_id, "method": method,
        "payer_uscc": payer_uscc, "payer_account_sha256": hashlib.sha256(account.encode()).hexdigest()})
    audit("bidding.bond_recorded", object_type="bond", object_id=bond.id, actor=actor, lot_id=lot.id)
    return bond


def _insert_bond(**columns) -> BidBond:
    """The one bond row of an organisation on a lot; a concurrent recording that got there first is
    the 409 a sequential one gets, not a unique-constraint error and a 500."""
    bond = BidBond(**columns)
    db.session.add(bond)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the request ends here: nothing of it is kept
        raise Conflict("a bond is already recorded for your organisation on this lot", code="bond_exists") from None
    return bond


def _renew(bond: BidBond, fields: dict, *, actor) -> None:
    """A bidder who withdrew, was refunded and bids again before the deadline pays a new bond.  The row
    describes the bond backing the organisation's bid on this lot (one per lot), so it is rewritten;
    the refunded bond stays in the audit trail here and, signed, in the archive (its
    ``bond_recorded`` event)."""
    audit("bidding.bond_renewed", object_type="bond", object_id=bond.id, actor=actor, lot_id=bond.lot_id,
          previous_amount=str(bond.amount), previous_method=bond.method,
          previous_payer_account_sha256=hashlib.sha256(bond.payer_account.encode()).hexdigest(),
          refunded_at=bond.refunded_at.isoformat() if bond.refunded_at else None)
    for name, value in fields.items():
        setattr(bond, name, value)
    bond.state, bond.refund_reason, bond.refund_due_at, bond.refunded_at = "held", "", None, None
    db.session.flush()


def hold_again_for(*, lot_id: int, organisation_id: int) -> BidBond | None:
    """A new bid after a withdrawal, before the deadline: a bond not yet refunded backs it again
    (the tenderee still holds the money), so it is held, not due for refund (条例 第三十五条 applies
    to a bid that stays withdrawn).  The refund timer already armed then finds nothing to flag."""
    bond = _bond_of(lot_id, organisation_id)
    if bond is not None and bond.state == "refund_due" and bond.refund_reason == "withdrawn":
        bond.state, bond.refund_reason, bond.refund_due_at = "held", "", None
        audit("bidding.bond_held_again", object_type="bond", object_id=bond.id, lot_id=lot_id)
    return bond


def _uscc(value: str) -> str:
    try:
        return validate_uscc(value.strip().upper())
    except Exception as err:
        raise BondRefused(f"payer_uscc is not a valid USCC: {err}", code="bad_payer_uscc") from None


def _bond_of(lot_id: int, organisation_id: int) -> BidBond | None:
    return db.session.scalar(select(BidBond).where(BidBond.lot_id == lot_id,
                                                   BidBond.organisation_id == organisation_id))


def bonds_of(*, organisation_id: int | None) -> list[BidBond]:
    if organisation_id is None:
        return []
    return list(db.session.scalars(select(BidBond).where(BidBond.organisation_id == organisation_id)
                                   .order_by(BidBond.id.desc())))


def refund_due(*, lot_id: int, organisation_id: int | None = None, reason: str, at: dt.datetime) -> int:
    """Mark the lot's bonds (or one organisation's) due for refund within 5 days and arm a timer."""
    q = select(BidBond).where(BidBond.lot_id == lot_id, BidBond.state == "held")
    if organisation_id is not None:
        q = q.where(BidBond.organisation_id == organisation_id)
    rows = db.session.scalars(q).all()
    for bond in rows:
        bond.state, bond.refund_reason = "refund_due", reason
        bond.refund_due_at = at + dt.timedelta(days=REFUND_DAYS)
        _arm(bond)
    db.session.flush()
    return len(rows)


def _arm(bond: BidBond) -> None:
    schedule_task(job_id=f"bidding-bond-refund-{bond.id}", run_at=bond.refund_due_at,
                  task="bidding.bond_refund_check", args=[bond.id])


def mark_refunded(*, bond: BidBond, actor) -> BidBond:
    """The tenderee (or the centre) confirms the refund was paid."""
    if bond.state != "refund_due":
        raise Conflict(f"the bond is {bond.state}, not due for refund", code="bond_not_due")
    bond.state, bond.refunded_at = "refunded", now()
    audit("bidding.bond_refunded", object_type="bond", object_id=bond.id, actor=actor, lot_id=bond.lot_id)
    db.session.flush()
    return bond


def check_refund(*, bond_id: int) -> str:
    """The timer: a bond still unrefunded when due is flagged (audit + the lot's agency notified)."""

    bond = db.session.get(BidBond, bond_id)
    if bond is None or bond.state != "refund_due":
        return "nothing"
    if bond.refund_due_at and now() < bond.refund_due_at:
        _arm(bond)  # fired early (a clock set back, a job run by hand): fire again when due
        return "not_due"
    lot = db.session.get(Lot, bond.lot_id)
    audit("bidding.bond_refund_overdue", object_type="bond", object_id=bond.id, lot_id=bond.lot_id,
          rule=RULE_REFUND.get(bond.refund_reason, RULE_BOND))
    notify_agency(lot, subject=f"投标保证金退还逾期 / bid bond refund overdue (lot {lot.id})",
                  body=f"bond {bond.id}: {RULE_REFUND.get(bond.refund_reason, RULE_BOND)}")
    return "overdue"
