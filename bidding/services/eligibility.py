"""Who may submit to a lot, and until when: the only pre-conditions the law allows.

Refused, with the reason: an enterprise on the credit blacklist in force (trading's list), one
without a valid registered signing key (revoked or expired: it could not sign a bid), the platform
operator and entities it controls (电子招标投标办法 第二十三条), the lot's own agency (条例 第十三条),
and, in invited tendering only, an organisation that was not invited (招标投标法 第十七条).

Nothing else restricts bidding (电子招标投标办法 第五十四条): no region, no local registration, no
sign-up, no prior document download, no bond before the package.  Adding a condition here needs an
article that allows it.
"""
from __future__ import annotations

import datetime as dt

from core import keys as registry
from core.errors import Conflict, ValidationFailed
from core.models import Organisation
from trading.models import Lot
from trading.services import bidder_exclusions

RULE_DEADLINE = ("电子招标投标办法 第二十七条 (投标截止时间前未完成投标文件传输的，视为撤回投标文件；"
                 "投标截止时间后送达的投标文件，电子招标投标交易平台应当拒收)")
RULE_WINDOW = "招标投标法 第二十九条"
RULE_AGENCY = "招标投标法实施条例 第十三条"
RULE_INVITED = "招标投标法 第十七条"
RULE_SUSPENDED = "电子招标投标办法 第五十二条"
RULE_KEYS = "电子签名法 第十三条"


class NotEligible(ValidationFailed):
    code = "not_eligible"


class DeadlinePassed(Conflict):
    code = "deadline_passed"


def check_open(lot, *, at: dt.datetime) -> None:
    """The lot takes bids at ``at`` (server clock): published and before its deadline.

    :raises DeadlinePassed: at or after the deadline, or bidding already closed
    :raises Conflict: suspended (supervision instruction) or not published
    """
    if at >= lot.bid_deadline:
        raise DeadlinePassed(f"the bid deadline {lot.bid_deadline.isoformat()} has passed (server time "
                             f"{at.isoformat()})", rule=RULE_DEADLINE)
    if lot.state == "suspended":
        raise Conflict("the lot is suspended by a supervision instruction", code="lot_suspended",
                       rule=RULE_SUSPENDED)
    if lot.state != "published":
        raise DeadlinePassed(f"the lot does not take bids (state {lot.state})", code="lot_not_open",
                             rule=RULE_DEADLINE)


def hold_open(lot, *, at: dt.datetime) -> None:
    """Check the lot takes bids at ``at`` and keep its close waiting until this submission commits.

    Why: ``at`` is the instant of submission, but the bid row comes later (the package is checked and
    stored first).  A close landing in between would count the bids without this one, which then
    commits into a closed lot, in time but never opened.  The lot row is held FOR KEY SHARE, the
    lock the bid's foreign key takes anyway, only earlier: the close's FOR UPDATE waits for it, while
    submissions share it and an amendment's ordinary update is not held up.  A close that came first
    is seen here, and the submission is refused as late: the close runs ``CLOSE_GRACE`` after the
    deadline, so that needs a submission slower than that between its instant and this lock.
    SQLite has no row locks: the transaction takes the database's write lock now instead
    (:func:`core.db.begin_writing`), which the close also takes before it counts.

    :raises DeadlinePassed, Conflict: as :func:`check_open`
    """
    from sqlalchemy import select

    from core.db import begin_writing, db

    begin_writing()
    held = db.session.execute(select(Lot.state, Lot.bid_deadline).where(Lot.id == lot.id)
                              .with_for_update(read=True, key_share=True)).one()
    if tuple(held) != (lot.state, lot.bid_deadline):
        db.session.refresh(lot)  # the close (or a supervision instruction) got there first
    check_open(lot, at=at)


def check_eligible(*, lot, organisation: Organisation | None, at: dt.datetime) -> None:
    """:raises NotEligible: the first reason this organisation may not bid, with its article"""

    if organisation is None:
        raise NotEligible("bids are submitted on behalf of an organisation; your account has none",
                          code="no_organisation")
    if organisation.kind == "platform_operator":
        reasons = [{"code": "operator_affiliate", "rule": "电子招标投标办法 第二十三条",
                    "detail": "the platform operator may not bid on its own platform"}]
    else:
        reasons = bidder_exclusions(organisation, at)
    if reasons:
        first = reasons[0]
        raise NotEligible(first["detail"], code=first["code"], rule=first["rule"], reasons=reasons)
    if organisation.id == lot.project.agency_org_id:
        raise NotEligible("the agency of this tender may not bid in it", code="agency_may_not_bid",
                          rule=RULE_AGENCY)
    if lot.invitees and organisation.id not in lot.invitees:
        raise NotEligible("this is an invited tender and your organisation was not invited",
                          code="not_invited", rule=RULE_INVITED)
    if not registry.valid_keys(organisation_id=organisation.id, kind="sign"):
        raise NotEligible("your organisation has no valid registered signing key (revoked or expired); "
                          "register a new one before bidding", code="no_valid_signing_key", rule=RULE_KEYS)
