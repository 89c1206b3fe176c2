"""Objections to the tender documents (异议): in time, answered within the reply period, and the
lot waits until answered (TBR Art.22; GPL Art.52-53 for procurement challenges; EBM Art.39)."""
from __future__ import annotations

import logging

from sqlalchemy import select

from core import events
from core.clock import now
from core.db import db
from core.models import User
from core.notifications import notify
from trading import procedures
from trading.errors import StateConflict
from trading.fsm import S
from trading.models import Lot, Objection
from trading.services.common import config_of, deadline_set, iso, lot_audit, lot_title
from trading.services.documents import first_download_at

logger = logging.getLogger(__name__)


def file_objection(*, actor, lot: Lot, body: str) -> Objection:
    """File an objection; the reply is due in 3 days (7 working days in procurement).

    :raises StateConflict: bidding is not open
    :raises RuleViolation: ``objection_too_late`` (< 10 days before the deadline, TBR Art.22)
    """
    if lot.state != S.PUBLISHED:
        raise StateConflict(f"objections to the documents are filed while bidding is open; the lot is {lot.state}",
                            code="invalid_state", state=lot.state)
    config = config_of(lot)
    filed_at = now()
    knew_at = first_download_at(lot=lot, organisation_id=actor.organisation_id) or lot.issue_start or filed_at
    procedures.check_objection_time(config, filed_at=filed_at, deadline=lot.bid_deadline, knew_at=knew_at)
    row = Objection(lot_id=lot.id, filed_by=actor.id, filer_org_id=actor.organisation_id, body=body,
                    filed_at=filed_at, reply_due=procedures.reply_due(config, filed_at))
    db.session.add(row)
    db.session.flush()
    for user in _agency_users(lot):
        notify(user=user, subject=f"收到异议：{lot_title(lot)}", body=body[:500], link=f"/agency/lots/{lot.id}")
    lot_audit(lot, "objection.filed", actor=actor, objection_id=row.id, reply_due=iso(row.reply_due))
    events.record("trading.objection_filed", {"lot_id": lot.id, "objection_id": row.id, "target": row.target,
                                              "filed_at": iso(filed_at), "reply_due": iso(row.reply_due),
                                              "suspends": bool(config.objection_suspends)})
    return row


def answer_objection(*, actor, objection: Objection, answer: str) -> Objection:
    """Answer once; a late answer is accepted and shown as late.  If the deadline passed while the
    lot waited, the close job is re-armed so bidding closes at once.

    :raises StateConflict: already answered
    """
    if not objection.is_open:
        raise StateConflict("this objection has already been answered", code="already_answered")
    lot = db.session.get(Lot, objection.lot_id)
    objection.answer, objection.answered_at, objection.answered_by = answer, now(), actor.id
    late = objection.answered_at > objection.reply_due
    filer = db.session.get(User, objection.filed_by)
    notify(user=filer, subject=f"异议答复：{lot_title(lot)}", body=answer[:1000], link=f"/lots/{lot.id}")
    lot_audit(lot, "objection.answered", actor=actor, objection_id=objection.id, late=late)
    events.record("trading.objection_answered", {"lot_id": lot.id, "objection_id": objection.id,
                                                 "answered_at": iso(objection.answered_at), "late": late})
    if lot.state == S.PUBLISHED:
        deadline_set(lot)
    return objection


def objections_for(*, user, lot: Lot) -> list[Objection]:
    """Bidders see their own objections; the tenderee side and supervisors see all of the lot's."""
    q = select(Objection).where(Objection.lot_id == lot.id).order_by(Objection.id)
    if user.role == "bidder":
        q = q.where(Objection.filed_by == user.id)
    return db.session.scalars(q).all()


def _agency_users(lot: Lot) -> list[User]:
    return db.session.scalars(select(User).where(User.organisation_id == lot.project.agency_org_id,
                                                 User.role == "agency", User.active.is_(True))).all()
