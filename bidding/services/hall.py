"""The opening hall (不见面开标): the session from the deadline to the unseal window's close.

The scheduler closes bidding at the deadline (trading), and the ``bidding.bidding_closed`` event
starts the session here: the bids that stood at the deadline are extracted (EBM Art.30), each gets
an :class:`~bidding.models.Unsealing` row, and the lot moves to ``opening``.  The host then
publishes the list of bidders with their bond status, opens the unseal window for the tender's
``decrypt_window_minutes``, and the window closes either when the host closes it after everybody
unsealed, or by the scheduler when the time is up.  At the close, a failure caused by the bidder
or a timeout revokes the bid (bond forfeitable) and a platform-caused failure withdraws it (bond
refunded), as EBM Art.31 says; then the opening table is published (services/record.py).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from bidding.models import Attendance, Bid, BidBond, OpeningSession, Unsealing
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict, Forbidden, NotFound
from core.scheduler import schedule_task
from trading import services as trading
from trading.models import Lot

logger = logging.getLogger(__name__)

RULE_OPENING = "电子招标投标办法 第二十九条 (在线开标)"
RULE_EXTRACT = "电子招标投标办法 第三十条 (自动提取所有投标文件, 在线解密)"
RULE_FAILURE = "电子招标投标办法 第三十一条 (解密失败)"
CLOSE_WINDOW_TASK = "bidding.close_unseal_window"
STAGES = ("waiting", "listed", "unsealing", "confirming", "closed")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def session_of(lot_id: int, *, lock: bool = False) -> OpeningSession:
    """The lot's session, freshly read; ``lock``: FOR UPDATE (PostgreSQL), which every change to the
    hall takes first, so changes to one hall are serialised (e.g. an unsealing and the window's close).

    :raises NotFound: the opening has not started (the deadline has not passed, or the lot failed)
    """
    q = select(OpeningSession).where(OpeningSession.lot_id == lot_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalars(q).first()
    if row is None:
        raise NotFound(f"the opening of lot {lot_id} has not started: it begins at the bid deadline",
                       code="opening_not_started", rule=RULE_OPENING)
    return row


def touch(session: OpeningSession) -> None:
    """One more change: an atomic increment, so two concurrent changes never write the same version."""
    db.session.execute(update(OpeningSession).where(OpeningSession.lot_id == session.lot_id)
                       .values(version=OpeningSession.version + 1))
    db.session.expire(session, ["version"])


def require_stage(session: OpeningSession, *stages: str, what: str) -> None:
    if session.stage not in stages:
        raise Conflict(f"cannot {what} while the opening is at stage '{session.stage}' "
                       f"(allowed at: {', '.join(stages)})", code="wrong_opening_stage", stage=session.stage,
                       rule=RULE_OPENING)


def start_opening(*, lot_id: int) -> OpeningSession | None:
    """Extract the bids that stood at the deadline and open the hall (idempotent).

    Returns None when the lot is not ``bidding_closed`` (failed for too few bids, or already open).
    """

    existing = db.session.get(OpeningSession, lot_id)
    if existing is not None:
        return existing
    lot = trading.start_opening(lot_id=lot_id)
    if lot is None:
        return None
    session = OpeningSession(lot_id=lot_id, stage="waiting", started_at=now())
    db.session.add(session)
    db.session.flush()
    bids = standing_bids(lot)
    for bid in bids:
        db.session.add(Unsealing(bid_id=bid.id, lot_id=lot_id, organisation_id=bid.organisation_id))
    db.session.flush()
    events.record("bidding.opening_started", {"lot_id": lot_id, "started_at": _iso(session.started_at),
                                              "bids": [b.id for b in bids]})
    audit("bidding.opening_started", object_type="lot", object_id=lot_id, bids=len(bids))
    logger.info("opening of lot %s started with %d bids", lot_id, len(bids))
    return session


def standing_bids(lot) -> list[Bid]:
    """The bids that stood at the deadline: submitted, received before it (the server clock decided)."""
    return list(db.session.scalars(select(Bid).where(
        Bid.lot_id == lot.id, Bid.state == "submitted", Bid.received_at < lot.bid_deadline).order_by(Bid.id)))


def start_due_openings(*, limit: int = 100) -> dict[int, str]:
    """Catch up after a restart or a lost job: open every ``bidding_closed`` lot without a session,
    close overdue unseal windows and finish overdue confirmation windows."""
    from bidding.services import record

    ids = db.session.scalars(select(Lot.id).where(Lot.state == "bidding_closed").order_by(Lot.bid_deadline)
                             .limit(limit)).all()
    done = {lot_id: "started" if start_opening(lot_id=lot_id) else "skipped" for lot_id in ids}
    moment = now()
    for session in db.session.scalars(select(OpeningSession).where(
            OpeningSession.stage == "unsealing", OpeningSession.window_closes_at <= moment).limit(limit)).all():
        done[session.lot_id] = "window_closed" if close_window(lot_id=session.lot_id) else "skipped"
    for session in db.session.scalars(select(OpeningSession).where(
            OpeningSession.stage == "confirming", OpeningSession.confirm_until <= moment).limit(limit)).all():
        done[session.lot_id] = "record_closed" if record.finish(lot_id=session.lot_id) else "waiting"
    return done


def bid_of(lot_id: int, organisation_id: int) -> Unsealing | None:
    return db.session.scalar(select(Unsealing).where(Unsealing.lot_id == lot_id,
                                                     Unsealing.organisation_id == organisation_id))


def sign_in(*, lot_id: int, user, key_id: str = "", ip: str = "") -> Attendance:
    """A bidder enters the hall: recorded with its key and address (EBM Art.29 "bidders attend online").
    Every sign-in is kept (a second address is evidence too); the hall changes only at the first.

    :raises Forbidden: the bidder's organisation has no bid in this opening
    :raises ValidationFailed: ``key_id`` is not a valid key of the bidder's organisation
    """
    from core import keys as registry
    from core.errors import ValidationFailed

    session = session_of(lot_id, lock=True)
    require_stage(session, "waiting", "listed", "unsealing", "confirming", what="sign in")
    if bid_of(lot_id, user.organisation_id) is None:
        raise Forbidden("your organisation has no bid in this opening", code="not_a_bidder", rule=RULE_EXTRACT)
    if key_id and key_id not in {k.kid for k in registry.valid_keys(organisation_id=user.organisation_id)}:
        raise ValidationFailed(f"{key_id} is not a valid key of your organisation", code="unknown_key",
                               rule=RULE_OPENING)
    first = db.session.scalar(select(Attendance.id).where(Attendance.lot_id == lot_id,
                                                          Attendance.organisation_id == user.organisation_id)) is None
    row = Attendance(lot_id=lot_id, organisation_id=user.organisation_id, user_id=user.id,
                     key_id=key_id[:40], ip=(ip or "")[:45], at=now())
    db.session.add(row)
    if first:
        touch(session)
    audit("bidding.hall_sign_in", object_type="lot", object_id=lot_id, actor=user, key_id=key_id, ip=ip)
    db.session.flush()
    return row


def publish_list(*, lot_id: int, actor) -> OpeningSession:
    """The host announces who submitted in time and each bond's status (EBM Art.30)."""
    session = session_of(lot_id, lock=True)
    require_stage(session, "waiting", what="publish the bidder list")
    session.stage, session.listed_at = "listed", now()
    touch(session)
    audit("bidding.bidder_list_published", object_type="lot", object_id=lot_id, actor=actor)
    return session


def open_window(*, lot_id: int, actor) -> OpeningSession:
    """Open the unseal window for the tender's ``decrypt_window_minutes``; the scheduler closes it."""

    session = session_of(lot_id, lock=True)
    require_stage(session, "listed", what="open the unseal window")
    lot = db.session.get(Lot, lot_id)
    start = now()
    session.stage, session.window_opens_at = "unsealing", start
    session.window_closes_at = start + dt.timedelta(minutes=lot.decrypt_window_minutes or 30)
    touch(session)
    schedule_task(job_id=f"bidding-unseal-window-{lot_id}", run_at=session.window_closes_at,
                  task=CLOSE_WINDOW_TASK, args=[lot_id])
    audit("bidding.unseal_window_opened", object_type="lot", object_id=lot_id, actor=actor,
          closes_at=_iso(session.window_closes_at))
    return session


def close_window(*, lot_id: int, actor=None) -> OpeningSession | None:
    """End the unseal window and settle every bid not unsealed (EBM Art.31), then publish the table.

    The host may close early only once every bid is unsealed: a bidder whose attempt failed may try
    again until the window's end.  The scheduler closes at the window's end.  Idempotent: a session
    past ``unsealing`` is returned unchanged; an early scheduler run does nothing.  The session and
    every unsealing row are locked first, so an unsealing in flight either lands before or is refused.

    :raises Conflict: ``bids_not_unsealed`` — the host closes early while a bid is not unsealed
    """
    from bidding.services import record

    try:
        session = session_of(lot_id, lock=True)
    except NotFound:
        return None
    if session.stage != "unsealing":
        return session
    moment = now()
    rows = unsealings(lot_id, lock=True)
    if actor is None and moment < session.window_closes_at:
        return None
    waiting = [u.bid_id for u in rows if u.status != "unsealed"]
    if actor is not None and moment < session.window_closes_at and waiting:
        raise Conflict("not every bid is unsealed: the window stays open until its end, so a bidder whose "
                       "attempt failed may try again", code="bids_not_unsealed", rule=RULE_FAILURE, bids=waiting)
    for row in rows:
        settle(row, at=moment)
    session.window_closes_at = min(session.window_closes_at, moment)
    record.publish_table(session=session, actor=actor)
    return session


def settle(row: Unsealing, *, at: dt.datetime) -> None:
    """At the window's close: pending → timed out; a bidder's failure or timeout revokes the bid and
    keeps its bond forfeitable; a platform failure withdraws it and refunds the bond (EBM Art.31)."""
    if row.status == "unsealed":
        return
    if row.status == "pending":
        row.status, row.cause, row.detail = "timed_out", "bidder", "not unsealed within the window"
    bid = db.session.get(Bid, row.bid_id)
    outcome = "withdrawn" if row.cause == "platform" else "revoked"
    bid.state, bid.active_key, bid.ended_at = outcome, None, at
    bond = db.session.scalar(select(BidBond).where(BidBond.lot_id == row.lot_id,
                                                   BidBond.organisation_id == row.organisation_id))
    if bond is not None and bond.state == "held":
        if outcome == "withdrawn":
            from bidding.services.bonds import refund_due

            refund_due(lot_id=row.lot_id, organisation_id=row.organisation_id, reason="platform_unseal_failure",
                       at=at)
        else:
            bond.state, bond.refund_reason = "forfeitable", "bid revoked at the opening (招标投标法实施条例 第三十五条)"
    events.record("bidding.unseal_failed", {"lot_id": row.lot_id, "bid_id": row.bid_id,
                                            "organisation_id": row.organisation_id, "status": row.status,
                                            "cause": row.cause, "outcome": outcome, "rule": RULE_FAILURE})
    audit(f"bidding.bid_{outcome}", object_type="bid", object_id=row.bid_id, lot_id=row.lot_id,
          cause=row.cause, detail=row.detail)


def unsealings(lot_id: int, *, lock: bool = False) -> list[Unsealing]:
    q = select(Unsealing).where(Unsealing.lot_id == lot_id).order_by(Unsealing.bid_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(q))


# --- what the hall shows ------------------------------------------------------------------------

def version_of(lot_id: int) -> tuple | None:
    """The session's change counter and start (one row by key): the live stream polls this, not the
    snapshot.  The start is part of it so a cached snapshot can never outlive its session."""
    row = db.session.execute(select(OpeningSession.version, OpeningSession.started_at)
                             .where(OpeningSession.lot_id == lot_id)).first()
    return tuple(row) if row is not None else None


def base_snapshot(lot_id: int) -> dict:
    """Everything the hall may show anyone, in a handful of queries; :func:`for_user` trims it.

    Prices and opening fields come only from the published opening table, never from the rows,
    so nothing about a price is sent before the table exists.
    """
    from bidding.models import OpeningRecord, RecordResponse
    from core.models import Organisation

    session = session_of(lot_id)
    rows = unsealings(lot_id)
    org_ids = {r.organisation_id for r in rows}
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                    .where(Organisation.id.in_(org_ids))).all()) if org_ids else {}
    bonds = dict(db.session.execute(select(BidBond.organisation_id, BidBond.state)
                                    .where(BidBond.lot_id == lot_id)).all())
    present = set(db.session.scalars(select(Attendance.organisation_id).where(Attendance.lot_id == lot_id)))
    table = db.session.scalar(select(OpeningRecord).where(OpeningRecord.lot_id == lot_id,
                                                          OpeningRecord.kind == "table"))
    published = {b["bid_id"]: b for b in table.body["bids"]} if table is not None else {}
    answers = db.session.scalars(select(RecordResponse).where(RecordResponse.lot_id == lot_id)
                                 .order_by(RecordResponse.id)).all()
    return {
        "lot_id": lot_id, "stage": session.stage, "version": session.version,
        "started_at": _iso(session.started_at), "listed_at": _iso(session.listed_at),
        "window_opens_at": _iso(session.window_opens_at), "window_closes_at": _iso(session.window_closes_at),
        "confirm_until": _iso(session.confirm_until), "closed_at": _iso(session.closed_at),
        "remedy_used": session.remedy_used,
        "bidders": [{"bid_id": r.bid_id, "organisation_id": r.organisation_id,
                     "organisation": names.get(r.organisation_id, str(r.organisation_id)), "status": r.status,
                     "cause": r.cause, "attempts": r.attempts, "signed_in": r.organisation_id in present,
                     "bond": bonds.get(r.organisation_id, "none"),
                     "price": published[r.bid_id]["price"] if r.bid_id in published else None,
                     "fields": published[r.bid_id]["fields"] if r.bid_id in published else {},
                     "detail": r.detail} for r in rows],
        "table_digest": table.digest if table is not None else None,
        "responses": [{"id": a.id, "organisation": names.get(a.organisation_id, ""), "kind": a.kind,
                       "text": a.text or None, "answer": a.answer or None, "at": _iso(a.at)} for a in answers],
    }


def for_user(base: dict, *, role: str | None, organisation_id: int | None) -> dict:
    """Trim the shared snapshot for one viewer: before the host publishes the list a bidder sees only
    its own row (who else bid is not public yet); a failure's cause, detail and attempts are its own
    bidder's business until the table is out (a competitor sees only "failed")."""
    mine = organisation_id if role == "bidder" else None
    published = base["table_digest"] is not None
    rows = []
    for row in base["bidders"]:
        own = row["organisation_id"] == mine
        if base["stage"] == "waiting" and mine is not None and not own:
            continue
        open_to_me = own or published or mine is None
        rows.append({**row, "own": own, "detail": row["detail"] if open_to_me else "",
                     "cause": row["cause"] if open_to_me else None, "attempts": row["attempts"] if open_to_me else 0,
                     "bond": row["bond"] if (own or base["stage"] != "waiting" or mine is None) else None})
    return {**base, "bidders": rows, "server_time": _iso(now())}


def snapshot(*, lot_id: int, user) -> dict:
    """The hall as ``user`` may see it (the polling fallback; the stream sends the same)."""
    return for_user(base_snapshot(lot_id), role=getattr(user, "role", None),
                    organisation_id=getattr(user, "organisation_id", None))
