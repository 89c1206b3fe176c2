"""Seats: notification, confirmation within a time limit, conflict declarations, and the automatic
replacement from the reserve order fixed at draw time (TBR Art.46 ¶2, 48 ¶3; GP87 Art.49)."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from core import events
from core.clock import now
from core.db import db
from core.errors import Conflict, ValidationFailed
from core.scheduler import schedule_task
from experts import avoidance as av
from experts import selection as sel
from experts.models import Draw, Expert, Member
from experts.services import snapshot

logger = logging.getLogger(__name__)
RULE_REPLACE = "招标投标法实施条例 第四十六条 第二款、第四十八条 第三款; 政府采购货物和服务招标投标管理办法 第四十九条"
RULE_AVOID = "招标投标法 第三十七条 第四款; 评标委员会和评标方法暂行规定 第十二条"
DEFAULT_CONFIRM_MINUTES = 30
SEATED = ("notified", "confirmed")


def confirm_within() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config.get("EXPERTS_CONFIRM_MINUTES", DEFAULT_CONFIRM_MINUTES))


def seat(*, draw: Draw, expert_id: int, pseudonym: str, specialty: str, position: int) -> Member:
    """Seat a drawn expert, tell them (in-app and by the SMS/voice gateway) and start the clock."""
    rules = draw.rules
    member = Member(draw_id=draw.id, lot_id=draw.lot_id, expert_id=expert_id, pseudonym=pseudonym,
                    specialty=specialty, position=position, respond_by=now() + confirm_within(),
                    tenderee_key=rules.get("tenderee_key", ""), agency_org_id=rules.get("agency_org_id"))
    db.session.add(member)
    db.session.flush()
    schedule_task(job_id=f"experts-confirm-{member.id}", run_at=member.respond_by,
                  task="experts.confirmation_timeout", args=[member.id])
    _notify_inbox(member)
    return member


def _notify_inbox(member: Member) -> None:
    """Only the expert is told; the message names no project (the list is confidential)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from core.models import User
    from core.notifications import notify

    expert = db.session.get(Expert, member.expert_id)
    user = db.session.get(User, expert.user_id) if expert.user_id else None
    if user is None:
        return
    with force_locale(user.locale):
        subject = _("You have been drawn for an evaluation committee")
        body = _("Confirm or decline before %(at)s.", at=member.respond_by.isoformat(timespec="minutes"))
    notify(user=user, subject=subject, body=body, link="/api/experts/memberships", source_event="experts.seat")


def _open_seat(member: Member) -> None:
    if member.state != "notified":
        raise Conflict(f"this seat is {member.state}", code="seat_not_open")


def confirm(*, actor, member: Member) -> Member:
    """Accept the seat before the limit; after it the seat is already being replaced."""
    _open_seat(member)
    if now() > member.respond_by:
        raise Conflict("the confirmation time limit has passed", code="confirmation_expired", rule=RULE_REPLACE)
    member.state, member.responded_at = "confirmed", now()
    return member


def decline(*, actor, member: Member, reason: str = "") -> Member:
    """Decline; a replacement is drawn at once under the same constraints."""
    _open_seat(member)
    member.state, member.responded_at, member.note = "declined", now(), reason[:500]
    return replace_member(member=member, reason="declined")


def declare(*, actor, member: Member, conflict: bool, bidder_org_ids: list[int] | None = None) -> Member:
    """The avoidance declaration against the bidder list; a conflict vacates the seat (主动回避)."""
    if member.state not in SEATED:
        raise Conflict(f"this seat is {member.state}", code="seat_not_open")
    listed = set(member.draw.rules.get("bidder_org_ids", []) if member.draw.parent_id is None
                 else db.session.get(Draw, member.draw.parent_id).rules.get("bidder_org_ids", []))
    if bidder_org_ids and not set(bidder_org_ids) <= listed:
        raise ValidationFailed("a declaration names only bidders of this lot", code="unknown_bidder", rule=RULE_AVOID)
    if not conflict:
        member.declared_no_conflict_at = now()
        return member
    member.state, member.responded_at = "conflict", now()
    events.record("experts.conflict_declared", {"lot_id": member.lot_id, "member_id": member.id,
                                                "bidder_org_ids": sorted(bidder_org_ids or [])})
    return replace_member(member=member, reason="conflict_declared")


def expire(*, member_id: int) -> str:
    """Scheduler task body: an unanswered seat at its limit is vacated and replaced (idempotent)."""
    member = db.session.get(Member, member_id)
    if member is None or member.state != "notified":
        return "nothing to do"
    if now() < member.respond_by:
        return "not yet due"
    member.state = "timed_out"
    replace_member(member=member, reason="declined")
    return "replaced"


def root_draw(draw: Draw) -> Draw:
    return draw if draw.parent_id is None else db.session.get(Draw, draw.parent_id)


def replace_member(*, member: Member, reason: str) -> Member:
    """Seat the next reserve of the member's quota; the new draw row links to the original.

    :raises Conflict: the reserve list is exhausted (GP: stop, seal, re-form the committee).
    """
    root = root_draw(member.draw)
    outcome = sel.run(seed_hex=root.seed, snapshot=root.snapshot, exclusions=root.exclusions, quotas=root.quotas)
    family = db.session.scalars(select(Member).where(Member.lot_id == root.lot_id,
                                                     Member.draw_id.in_(_family_ids(root)))).all()
    ever = {m.pseudonym for m in family}
    start = max([m.position + 1 for m in family if m.specialty == member.specialty] + [0])
    newly = _newly_barred(root, outcome, member.specialty, ever, start)
    newly.setdefault(member.pseudonym, [reason])
    try:
        picked, position, _skipped = sel.replace(outcome, specialty=member.specialty, start=start,
                                                 unavailable=ever | set(newly))
    except sel.SelectionError as err:
        raise Conflict(str(err), code="reserve_exhausted", rule=RULE_REPLACE) from None
    exclusions = sorted(({"p": p, "reasons": r} for p, r in newly.items()), key=lambda x: x["p"])
    return _seat_replacement(root, member, picked, position, exclusions, reason)


def _family_ids(root: Draw) -> list[int]:
    return [root.id, *db.session.scalars(select(Draw.id).where(Draw.parent_id == root.id))]


def _newly_barred(root: Draw, outcome: sel.Draw, specialty: str, ever: set, start: int) -> dict[str, list[str]]:
    """Reserves that became barred since the draw (a new ban, a new declaration) are skipped, with reasons."""
    index = snapshot.pseudonym_index(root)
    lot = snapshot.lot_context(root)
    rows = snapshot.candidate_rows(root.quotas)
    facts = {f.id: f for f in snapshot.facts(root, rows, lot)}
    quota = next(i for i, q in enumerate(outcome.quotas) if q["specialty"] == specialty)
    barred, i = {}, start
    while (p := outcome.shuffles[quota].position(i)) is not None:
        if p not in ever:
            eid = index.get(p)
            found = ["left_pool"] if eid is None else av.reasons(facts[eid], lot)
            if not found:
                break
            barred[p] = found
        i += 1
    return barred


def _seat_replacement(root: Draw, member: Member, picked: str, position: int, exclusions: list, reason: str):
    from sqlalchemy import func

    number = db.session.scalar(select(func.max(Draw.number)).where(Draw.lot_id == root.lot_id)) + 1
    rep = Draw(lot_id=root.lot_id, number=number, parent_id=root.id, state="drawn", size=1, quotas=[], rules={},
               salt=root.salt, created_by=root.created_by, drawn_at=now(), seed=root.seed,
               replacement={"number": number, "specialty": member.specialty, "replaces": member.pseudonym,
                            "exclusions": exclusions, "picked": picked, "position": position, "reason": reason})
    db.session.add(rep)
    db.session.flush()
    index = snapshot.pseudonym_index(root)
    new = seat(draw=rep, expert_id=index[picked], pseudonym=picked, specialty=member.specialty, position=position)
    new.tenderee_key, new.agency_org_id = member.tenderee_key, member.agency_org_id
    member.replaced_by_id = new.id
    events.record("experts.member_replaced", {"lot_id": root.lot_id, "draw_id": rep.id, "parent_draw_id": root.id,
                                              "replaced_member_id": member.id, "new_member_id": new.id,
                                              "reason": reason, "position": position})
    return member
