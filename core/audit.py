"""Write append-only audit rows in the caller's transaction, and decide who may read them when.

Disclosure is one rule over every entry, decided from the lot it concerns and the instant: while a lot
still takes bids, only what the tenderee side and the supervisors did on it is shown to others; an
entry written by a bidder or by the platform on a bidder's account (a submission, a bond, a
re-confirmation after an amendment…) waits for the deadline, whatever its name (电子招标投标办法
第二十一条; 招标投标法 第二十二条).  No list of event names can forget one.
"""
from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import or_

from core.db import db
from core.models import AuditLog

#: whose acts on a lot are disclosed before its deadline: the tenderee side and the supervision
OPEN_ACTORS = ("agency", "supervisor", "admin")


def audit(action: str, *, object_type: str = "", object_id: object = "", actor=None, **detail) -> AuditLog:
    """Record who did what to which object; ``actor`` defaults to the signed-in user.  The lot it
    concerns is the object itself (``object_type="lot"``) or ``lot_id`` in the detail."""
    if actor is None and has_request_context():
        actor = g.get("user")
    lot_id = detail.get("lot_id")
    if object_type == "lot":
        lot_id = object_id
    row = AuditLog(
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:200],
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(actor, "role", "system"),
        ip=request.remote_addr or "" if has_request_context() else "",
        request_id=g.get("request_id", "") if has_request_context() else "",
        detail=detail,
        lot_id=int(lot_id) if lot_id not in (None, "") else None,
    )
    db.session.add(row)
    return row


def disclosed():
    """The SQL condition an entry meets to be shown to anyone but its own actor now: it concerns no
    lot, or its lot's bid deadline has passed, or the tenderee side or a supervisor made it."""
    from core.permissions import lots_taking_bids

    return or_(AuditLog.lot_id.is_(None), AuditLog.actor_role.in_(OPEN_ACTORS),
               AuditLog.lot_id.not_in(lots_taking_bids()))
