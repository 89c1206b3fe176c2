"""Celery tasks and event handlers of the experts domain (ids in, primitives out).

* ``experts.confirmation_timeout``: the scheduler job at a seat's time limit; an unanswered seat is
  vacated and replaced.  A periodic sweep catches seats whose job was lost.
* On ``experts.committee_drawn`` / ``experts.member_replaced``: text each newly seated expert through
  the SMS/voice gateway (once per event: the outbox handler is idempotent on the event id).
* On ``bidding.bidding_closed``: tell the lot's draw operators that the draw may start.
"""
from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import select

from core.clock import now
from core.db import db
from core.events import commit, subscriber
from core.scheduler import register_periodic

logger = logging.getLogger(__name__)


def register(app) -> None:
    """The periodic sweep of seats whose confirmation job was lost (the app factory calls this)."""
    register_periodic("experts-expire-seats", 60, "experts.expire_due_seats")


@shared_task(name="experts.confirmation_timeout", acks_late=True)
def confirmation_timeout(member_id: int) -> str:
    """Vacate and replace a seat not confirmed in time (idempotent).

    :param member_id: the seat
    """
    from experts.services import expire

    outcome = expire(member_id=member_id)
    commit()
    return outcome


@shared_task(name="experts.expire_due_seats", acks_late=True)
def expire_due_seats() -> int:
    """Catch-up: every notified seat past its limit."""
    from experts.models import Member
    from experts.services import expire

    ids = db.session.scalars(select(Member.id).where(Member.state == "notified", Member.respond_by <= now())).all()
    for member_id in ids:
        expire(member_id=member_id)
        commit()
    return len(ids)


def _text_members(member_ids: list[int]) -> None:
    from experts.gateway import gateway
    from experts.models import Member

    for member_id in member_ids:
        member = db.session.get(Member, member_id)
        if member is not None and member.state == "notified" and member.expert.phone:
            gateway().send_sms(member.expert.phone, f"【评标专家抽取】您已被抽中 (编号 {member.id})，请于 "
                               f"{member.respond_by.isoformat(timespec='minutes')} 前确认或拒绝。")


@subscriber("experts.committee_drawn", name="experts.sms_drawn")
def sms_drawn(event) -> None:
    _text_members(event.payload["member_ids"])


@subscriber("experts.member_replaced", name="experts.sms_replacement")
def sms_replacement(event) -> None:
    _text_members([event.payload["new_member_id"]])


@subscriber("bidding.bidding_closed", name="experts.draw_may_start")
def draw_may_start(event) -> None:
    """Bidders are known: the draw operators of the lot are told they may request the draw."""
    from core.models import Grant, User
    from core.notifications import notify

    lot_id = event.payload.get("lot_id")
    users = db.session.scalars(select(User).join(Grant).where(Grant.grant == "draw_operator",
                                                             Grant.scope_id == lot_id)).all()
    for user in users:
        notify(user=user, subject="Bidding closed: the expert draw may start", link=f"/experts/lots/{lot_id}",
               source_event=str(event.event_id))
