"""Projects and lots: create, edit the draft, publish, cancel, suspend/resume, close bidding."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal

from sqlalchemy import select

from core import events, signals
from core.clock import now
from core.db import db
from core.errors import ValidationFailed
from core.models import Organisation
from core.notifications import notify
from trading import procedures
from trading.errors import StateConflict
from trading.fsm import S
from trading.models import Download, Lot, Objection, Project
from trading.procedures import procedure_for
from trading.services.common import (
    add_notice,
    config_of,
    deadline_set,
    env,
    iso,
    lot_audit,
    lot_title,
    require_state,
    transition,
)

logger = logging.getLogger(__name__)

LOT_FIELDS = ("name", "estimate", "max_price", "bond_amount", "bid_deadline", "issue_end", "invitees")
#: the opening terms (trading/models.py): set in the draft, read by bidding's opening hall
OPENING_TERMS = ("decrypt_window_minutes", "confirm_window_minutes", "unseal_remedy", "opening_fields")


def create_project(*, actor, name: str, category: str, mode: str, region: str, tenderee_name: str,
                   lots: list[dict], code: str | None = None, tenderee_contact: str = "", funding: str = "",
                   description: str = "") -> Project:
    """Register a project with its lots as drafts; the agency's organisation owns them.

    :raises RuleViolation: unknown procedure, or the demo procedure outside the demo
    :raises ValidationFailed: no lots, duplicate code
    """
    procedure_for(category, mode, env=env())
    if not lots:
        raise ValidationFailed("a project needs at least one lot", code="no_lots")
    if code and db.session.scalar(select(Project.id).where(Project.code == code)):
        raise ValidationFailed(f"project code {code} is already used", code="duplicate_code")
    project = Project(code=code or f"tmp-{uuid.uuid4().hex[:16]}", name=name, category=category, mode=mode,
                      region=region, tenderee_name=tenderee_name, tenderee_contact=tenderee_contact,
                      funding=funding, description=description, agency_org_id=actor.organisation_id,
                      created_by=actor.id)
    db.session.add(project)
    db.session.flush()
    if not code:
        project.code = f"{'GC' if category == 'construction' else 'CG' if category == 'gov_procurement' else 'DEMO'}" \
                       f"-{now().year}-{project.id:05d}"
    for spec in lots:
        add_lot(actor=actor, project=project, **spec)
    return project


def add_lot(*, actor, project: Project, name: str, estimate: Decimal, bid_deadline: dt.datetime,
            max_price: Decimal | None = None, bond_amount: Decimal | None = None,
            issue_end: dt.datetime | None = None, invitees: list[int] | None = None, **terms) -> Lot:
    """Add a draft lot; the bond cap is checked now, the schedule at publication.

    ``terms`` are the optional opening terms (:data:`OPENING_TERMS`); omitted ones keep their defaults.
    """
    number = len(project.lots) + 1
    lot = Lot(project=project, number=number, name=name, estimate=estimate, max_price=max_price,
              bond_amount=bond_amount, bid_deadline=bid_deadline, issue_end=issue_end,
              invitees=_invitees(invitees or []), state=str(S.DRAFT),
              **{k: v for k, v in terms.items() if k in OPENING_TERMS and v is not None})
    db.session.add(lot)
    db.session.flush()
    procedures.check_bond(config_of(lot), bond=bond_amount, base=estimate)
    lot_audit(lot, "lot.created", actor=actor, project_id=project.id, name=name)
    return lot


def _invitees(ids: list[int]) -> list[int]:
    unique = sorted(set(ids))
    found = set(db.session.scalars(select(Organisation.id).where(Organisation.id.in_(unique)))) if unique else set()
    missing = [i for i in unique if i not in found]
    if missing:
        raise ValidationFailed(f"unknown organisations invited: {missing}", code="unknown_invitee")
    return unique


def update_lot(*, actor, lot: Lot, changes: dict) -> Lot:
    """Edit a draft; once published, only an amendment changes the tender (TBR Art.21)."""
    require_state(lot, S.DRAFT, what="edit (issue an amendment instead)")
    unknown = sorted(set(changes) - set(LOT_FIELDS) - set(OPENING_TERMS))
    if unknown:
        raise ValidationFailed(f"{', '.join(unknown)} cannot be changed", code="not_editable")
    merged = {name: changes.get(name, getattr(lot, name)) for name in (*LOT_FIELDS, *OPENING_TERMS)}
    procedures.check_bond(config_of(lot), bond=merged["bond_amount"], base=merged["estimate"])
    if "invitees" in changes:
        merged["invitees"] = _invitees(changes["invitees"])
    for name in changes:  # checked first, applied after: a refusal leaves the draft as it was
        setattr(lot, name, merged[name])
    lot_audit(lot, "lot.updated", actor=actor, fields=sorted(changes))
    return lot


def publish_lot(*, actor, lot: Lot) -> Lot:
    """Publish notice and documents: the schedule must satisfy the procedure table.

    :raises StateConflict: not a draft, or no tender document uploaded
    :raises RuleViolation: ``bidding_period_too_short`` (TBL Art.24), ``doc_issue_too_short``
        (TBR Art.16), ``too_few_invitees`` (TBL Art.17), ``bond_too_high`` (TBR Art.26)
    """
    require_state(lot, S.DRAFT, what="publish")
    config = config_of(lot)
    if not lot.documents:
        raise StateConflict("upload the tender documents before publishing", code="no_documents",
                            rule="电子招标投标办法 第十九条")
    start = now()
    issue_end = lot.issue_end or lot.bid_deadline
    procedures.check_schedule(config, issue_start=start, issue_end=issue_end, deadline=lot.bid_deadline)
    procedures.check_bond(config, bond=lot.bond_amount, base=lot.estimate)
    if config.min_invitees:
        procedures.check_invitees(config, len(lot.invitees))
    signals.lot_publishing.send(lot)  # bidding: the opening key's custodians exist, or no publication
    lot.issue_start, lot.issue_end, lot.published_at = start, issue_end, start
    transition(lot, "publish", actor=actor)
    kind = "invitation" if lot.project.mode == "invited" else "tender_notice"
    add_notice(lot, kind, f"{lot_title(lot)} 招标公告", lot.project.description)
    events.record("trading.lot_published", {"lot_id": lot.id, "project_id": lot.project_id,
                                            "procedure": config.key, "published_at": iso(start),
                                            "bid_deadline": iso(lot.bid_deadline)})
    deadline_set(lot)
    return lot


def cancel_lot(*, actor, lot: Lot, reason: str) -> Lot:
    """Terminate the tender (终止招标): announce it and tell everyone who got the documents (TBR Art.31)."""
    old = transition(lot, "cancel", actor=actor, reason=reason)
    if old != S.DRAFT:
        add_notice(lot, "cancellation", f"{lot_title(lot)} 终止公告", reason)
        notify_downloaders(lot, subject=f"招标终止：{lot_title(lot)}", body=reason)
    events.record("trading.lot_cancelled", {"lot_id": lot.id, "from_state": old, "reason": reason})
    return lot


def suspend_lot(*, actor, lot: Lot, reason: str) -> Lot:
    """A supervisor's instruction (EBM Art.52): every step of the lot waits until it is lifted."""
    old = transition(lot, "suspend", actor=actor, reason=reason)
    add_notice(lot, "suspension", f"{lot_title(lot)} 暂停公告", reason)
    events.record("trading.lot_suspended", {"lot_id": lot.id, "from_state": old, "reason": reason})
    return lot


def resume_lot(*, actor, lot: Lot, reason: str = "") -> Lot:
    """Lift a suspension: back to the state before it.

    :raises StateConflict: ``deadline_passed_during_suspension`` — bidders lost time they were
        promised, so the tenderee must first move the deadline by an amendment (TBR Art.21)
    """
    if lot.state == S.SUSPENDED and lot.resume_state == S.PUBLISHED and lot.bid_deadline <= now():
        raise StateConflict("the bid deadline passed during the suspension; the tenderee must issue an "
                            "amendment with a new deadline before the lot resumes",
                            code="deadline_passed_during_suspension", rule="招标投标法实施条例 第二十一条")
    transition(lot, "resume", actor=actor, reason=reason)
    add_notice(lot, "resumption", f"{lot_title(lot)} 恢复公告", reason)
    events.record("trading.lot_resumed", {"lot_id": lot.id, "to_state": lot.state, "reason": reason})
    if lot.state == S.PUBLISHED:
        deadline_set(lot)
    return lot


def close_lot(*, lot: Lot, bids: int, moment) -> str:
    """Bidding has closed at the deadline with ``bids`` standing bids: ``published → bidding_closed``,
    or ``failed`` with fewer than the procedure's minimum (条例 第四十四条), its notice and the
    agency's message.  Called by bidding's close, which counts the bids and records
    ``bidding.bidding_closed``; the caller holds the lot row's lock.

    :returns: ``closed`` or ``failed``
    """
    config = config_of(lot)
    lot.closed_at = moment
    if procedures.enough_bids(config, bids):
        transition(lot, "close_bidding", reason="bid deadline reached")
        return "closed"
    reason = f"fewer than {config.min_bids.value} bids ({bids}): no opening, re-tender"
    transition(lot, "fail", reason=reason)
    add_notice(lot, "failure", f"{lot_title(lot)} 招标失败公告", reason)
    notify_agency(lot, subject=f"招标失败，请重新招标：{lot_title(lot)}", body=f"{reason} ({config.min_bids.article})")
    events.record("trading.lot_failed", {"lot_id": lot.id, "bids": bids, "reason": "too_few_bids",
                                         "rule": config.min_bids.article})
    return "failed"


def held_by_objection(lot: Lot) -> bool:
    """An unanswered objection holds the close where the procedure says so (条例 第二十二条)."""
    return config_of(lot).objection_suspends and bool(_open_objections(lot.id))


def start_opening(*, lot_id: int) -> Lot | None:
    """The opening begins at the deadline (TBL Art.34): ``bidding_closed → opening``, by the system.

    Idempotent: returns None (and changes nothing) unless the lot is ``bidding_closed``.
    """
    lot = db.session.get(Lot, lot_id, with_for_update=True)
    if lot is None or lot.state != S.BIDDING_CLOSED:
        return None
    transition(lot, "start_opening", reason="bid deadline reached: online opening")
    return lot


def finish_opening(*, lot: Lot, actor=None) -> Lot:
    """The opening record is published (EBM Art.32): ``opening → opened``."""
    transition(lot, "finish_opening", actor=actor, reason="opening record published")
    return lot


def notify_agency(lot: Lot, *, subject: str, body: str) -> int:
    """One message to every active user of the lot's agency organisation; returns how many."""
    from core.models import User

    users = db.session.scalars(select(User).where(User.organisation_id == lot.project.agency_org_id,
                                                  User.active)).all()
    for user in users:
        notify(user=user, subject=subject, body=body, link=f"/agency/lots/{lot.id}")
    return len(users)


def _open_objections(lot_id: int) -> list[Objection]:
    return db.session.scalars(select(Objection).where(Objection.lot_id == lot_id,
                                                      Objection.answered_at.is_(None))).all()


def notify_downloaders(lot: Lot, *, subject: str, body: str, link: str = "") -> int:
    """One message to every user who downloaded a document of the lot; returns how many."""
    from core.models import User

    user_ids = sorted(set(db.session.scalars(select(Download.user_id).where(Download.lot_id == lot.id))))
    for user_id in user_ids:
        notify(user=db.session.get(User, user_id), subject=subject, body=body,
               link=link or f"/lots/{lot.id}")
    return len(user_ids)
