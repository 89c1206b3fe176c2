"""Domain events through a transactional outbox (DESIGN §3, data flow 1-2).

``record(name, payload)`` adds a row in the caller's transaction, so a change and its event commit
together or not at all.  After the commit, :func:`dispatch_pending` enqueues one Celery task per
(event, subscribed handler).  A handler marks its delivery in the same transaction as its own
effects, so running it twice changes nothing; the sweeper re-enqueues whatever is still unhandled,
so a crash between commit and dispatch, or a worker killed mid-task, loses nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import now
from core.db import JSONText, UTCDateTime, commit_keeping_loaded, db

logger = logging.getLogger(__name__)

_D = "archive"  # most events are archived; the catalogue below is DESIGN §3's table
#: event name → the consumers (handler name prefixes: a domain, or ``notifications``) that subscribe to
#: it.  tests/core/test_catalogue.py holds it against the subscribers, with a pending list naming the
#: capability that will add each consumer not built yet.
CATALOGUE: dict[str, tuple[str, ...]] = {
    # trading's lifecycle.  The close at the deadline is armed through core.signals.deadline_set (in the
    # same transaction), and trading's services message the people concerned themselves (the agency,
    # the downloaders), so neither the scheduler nor notifications consume these.
    "trading.lot_published": (_D, "bidding"),  # bidding makes the lot's opening key
    "trading.amendment_issued": (_D, "bidding"),  # standing bids need re-confirmation
    "trading.lot_suspended": (_D,),
    "trading.lot_resumed": (_D,),
    **{f"trading.{n}": (_D, "bidding") for n in ("lot_cancelled", "lot_failed")},  # bonds fall due for refund
    "trading.document_downloaded": (_D,),
    **{f"bidding.{n}": (_D,) for n in ("bid_submitted", "bid_withdrawn", "bond_recorded")},
    #: recorded by bidding's close at the deadline; the opening starts, the draw may start, identities are checked
    "bidding.bidding_closed": (_D, "bidding", "experts", "monitoring"),
    "bidding.opening_key_created": (_D,),
    **{f"bidding.{n}": (_D,) for n in ("opening_started", "bid_unsealed", "unseal_failed", "opening_objection")},
    "bidding.opening_record_published": (_D, "monitoring"),  # the price patterns of the record
    **{f"experts.{n}": (_D,) for n in ("draw_committed", "conflict_declared")},
    **{f"experts.{n}": (_D, "experts") for n in ("committee_drawn", "member_replaced")},  # seated experts are told
    **{n: (_D, "monitoring", "notifications") for n in (
        "bidding.score_sheet_submitted", "bidding.report_signed", "trading.candidates_published",
        "trading.complaint_filed", "trading.complaint_decided", "trading.award_notified")},
    #: the answer's time limit (条例 第二十二条) is watched by monitoring; the services message filer and tenderee
    **{f"trading.{n}": (_D, "monitoring") for n in ("objection_filed", "objection_answered")},
    #: bidding refunds bonds when the contract is signed (条例 第五十七条)
    "trading.contract_signed": (_D, "monitoring", "notifications", "bidding"),
    #: published for outside witnesses of the log (``ggzy archive verify --prior``); nothing inside consumes it
    "archive.checkpoint_signed": (),
    "archive.mismatch_detected": ("monitoring",),
    "monitoring.alert_raised": (_D, "notifications"),
    "monitoring.alert_updated": (_D, "notifications"),
    # platform-level events of the foundation
    "core.key_registered": (_D,),
    "core.key_revoked": (_D,),
    "core.notification_created": ("notifications",),
    #: the reset link is mailed from here: built on GGZY_BASE_URL, its token recomputed, never stored
    "core.password_reset_requested": ("notifications",),
    #: operational self-test: `ggzy events ping` proves web → outbox → broker → worker end to end
    "core.selftest": ("core",),
}

#: handler name → (event name, function); filled by :func:`subscriber` as the app factory registers each domain
HANDLERS: dict[str, tuple[str, Callable]] = {}


class UnknownEvent(ValueError):
    """An event name that is not in the catalogue."""


class OutboxEvent(db.Model):
    """One domain event, written in the transaction of the change it describes."""

    __tablename__ = "core_event_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict] = mapped_column(JSONText)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    #: set once every handler subscribed at that time has acknowledged it
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)


class EventDelivery(db.Model):
    """Acknowledgement that one handler handled one event; unique, so a replay is a no-op."""

    __tablename__ = "core_event_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("core_event_outbox.id"))
    handler: Mapped[str] = mapped_column(String(80))
    handled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


def record(name: str, payload: dict) -> OutboxEvent:
    """Add an event to the current transaction; it is dispatched only if the transaction commits."""
    if name not in CATALOGUE:
        raise UnknownEvent(f"event {name!r} is not in the catalogue (core.events.CATALOGUE)")
    row = OutboxEvent(name=name, payload={"v": 1, **payload})
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault("ggzy_recorded", []).append((row.id, name))
    return row


@event.listens_for(Session, "after_commit")
def _queue_committed(session: Session) -> None:
    recorded = session.info.pop("ggzy_recorded", [])
    session.info.setdefault("ggzy_dispatch", []).extend(recorded)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("ggzy_recorded", None)


def subscriber(event_name: str, name: str):
    """Register a handler ``fn(event: OutboxEvent)``; it must only change rows in ``db.session``."""
    if event_name not in CATALOGUE:
        raise UnknownEvent(event_name)

    def decorator(fn):
        HANDLERS[name] = (event_name, fn)
        return fn

    return decorator


def handlers_for(event_name: str) -> list[str]:
    return sorted(h for h, (ev, _fn) in HANDLERS.items() if ev == event_name)


def commit(*, keep: tuple = ()) -> None:
    """Commit the request's or task's one transaction, then hand its events to the workers.

    :param keep: objects not to expire (``core.db.commit_keeping_loaded``): what a view answers with
        after writing it
    """
    if keep:
        commit_keeping_loaded(*keep)
    else:
        db.session.commit()
    dispatch_pending()


def dispatch_pending() -> None:
    """Enqueue the committed events; failures are left to the sweeper."""
    for event_pk, name in db.session.info.pop("ggzy_dispatch", []):
        enqueue(event_pk, name)


def _send(event_pk: int, handler: str) -> None:
    """Through this app's own Celery (eager in unit tests, a broker elsewhere)."""
    from flask import current_app

    current_app.extensions["celery"].tasks["core.handle_event"].apply_async(args=(event_pk, handler))


def enqueue(event_pk: int, name: str) -> None:
    """Send a committed event to each of its handlers (the name is kept from ``record``: no select)."""
    names = handlers_for(name)
    if not names:
        db.session.execute(update(OutboxEvent).where(OutboxEvent.id == event_pk, OutboxEvent.name == name)
                           .values(completed_at=now()))
        db.session.commit()
        return
    for handler in names:
        try:
            _send(event_pk, handler)
        except Exception:  # broker down: the sweeper will retry
            logger.exception("could not enqueue event %s for %s", event_pk, handler)


def run_handler(event_pk: int, handler: str) -> str:
    """Run one handler for one event exactly once in effect; returns 'handled' or 'duplicate'."""
    ev = db.session.get(OutboxEvent, event_pk)
    if ev is None or handler not in HANDLERS or HANDLERS[handler][0] != ev.name:
        logger.warning("event %s or handler %s unknown (or not this event's)", event_pk, handler)
        return "missing"
    done = select(EventDelivery.id).where(EventDelivery.event_id == event_pk, EventDelivery.handler == handler)
    if db.session.scalar(done):
        return "duplicate"
    HANDLERS[handler][1](ev)
    db.session.add(EventDelivery(event_id=event_pk, handler=handler))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    _complete_if_done(ev)
    commit()
    return "handled"


def _complete_if_done(ev: OutboxEvent) -> None:
    handled = set(db.session.scalars(select(EventDelivery.handler).where(EventDelivery.event_id == ev.id)))
    if set(handlers_for(ev.name)) <= handled:
        ev.completed_at = now()


def sweep(*, grace_seconds: float, limit: int = 500) -> int:
    """Re-enqueue events older than the grace period that some handler has not acknowledged."""
    cutoff = now() - dt.timedelta(seconds=grace_seconds)
    rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.completed_at.is_(None),
                                                        OutboxEvent.created_at < cutoff)
                              .order_by(OutboxEvent.id).limit(limit)).all()
    count = 0
    for ev in rows:
        handled = set(db.session.scalars(select(EventDelivery.handler).where(EventDelivery.event_id == ev.id)))
        missing = [h for h in handlers_for(ev.name) if h not in handled]
        ev.dispatch_count += 1
        if not missing:
            ev.completed_at = now()
        db.session.commit()
        for handler in missing:
            _enqueue_one(ev.id, handler)
            count += 1
    return count


def _enqueue_one(event_pk: int, handler: str) -> None:
    try:
        _send(event_pk, handler)
    except Exception:
        logger.exception("sweeper could not enqueue event %s for %s", event_pk, handler)
