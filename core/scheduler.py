"""The one scheduler process: APScheduler over a persistent SQLAlchemy job store, guarded by a lease.

Jobs only enqueue Celery tasks by name with primitive arguments (STYLE).  Exactly one process holds
the lease row; others wait.  Domains ask for a one-off job with :func:`schedule_task`, which writes a
row that the lease holder copies into APScheduler, so no web worker ever runs a scheduler.  Rules
never depend on punctuality: missed jobs run on restart (no misfire limit, coalesced).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import JSON, Boolean, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.db import UTCDateTime, db

logger = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
#: periodic jobs: (job id, seconds, celery task name)
PERIODIC = [("core-sweep-outbox", 15, "core.sweep_outbox")]


class SchedulerLease(db.Model):
    """Who runs the scheduler, until when; renewed while alive."""

    __tablename__ = "core_scheduler_lease"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ScheduledTask(db.Model):
    """A one-off task a domain wants at an instant (e.g. close bidding at the deadline)."""

    __tablename__ = "core_scheduled_tasks"
    job_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task: Mapped[str] = mapped_column(String(120))
    args: Mapped[list] = mapped_column(JSON, default=list)
    synced: Mapped[bool] = mapped_column(Boolean, default=False)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(holder: str, seconds: int) -> bool:
    """Take or renew the lease atomically; True if ``holder`` has it afterwards."""
    moment = now()
    until = moment + dt.timedelta(seconds=seconds)
    result = db.session.execute(update(SchedulerLease).where(
        SchedulerLease.name == LEASE_NAME,
        (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < moment),
    ).values(holder=holder, expires_at=until))
    if result.rowcount == 0:
        try:
            db.session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=until))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return False
    db.session.commit()
    return True


def lease_status() -> dict:
    row = db.session.get(SchedulerLease, LEASE_NAME)
    if row is None:
        return {"held": False}
    return {"held": row.expires_at > now(), "holder": row.holder, "expires_at": row.expires_at.isoformat()}


def schedule_task(*, job_id: str, run_at: dt.datetime, task: str, args: list | None = None) -> None:
    """Ask for ``task(*args)`` at ``run_at`` (replaces an earlier request with the same id)."""
    row = db.session.get(ScheduledTask, job_id) or ScheduledTask(job_id=job_id)
    row.run_at, row.task, row.args, row.synced = run_at, task, list(args or []), False
    db.session.add(row)


def enqueue_task(task: str, args: list) -> None:
    """APScheduler job body: send a Celery task by name.  Module-level, so the job store can pickle it."""
    from flask import current_app as app

    celery = app.extensions["celery"]
    if task in celery.tasks:
        celery.tasks[task].apply_async(args=args)
    else:
        celery.send_task(task, args=args)


def build_scheduler(app):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    store = SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename="core_apscheduler_jobs")
    return BackgroundScheduler(jobstores={"default": store}, timezone="UTC",
                               job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})


def _job(task: str, args: list) -> None:
    """Run inside the scheduler's thread with an app context."""
    from core.scheduler import _APP

    with _APP[0].app_context():
        enqueue_task(task, args)


_APP: list = []


def register_periodic(job_id: str, seconds: int, task: str) -> None:
    """A domain's periodic job (e.g. a catch-up sweep); idempotent, called at import of its tasks."""
    if all(existing != job_id for existing, _s, _t in PERIODIC):
        PERIODIC.append((job_id, seconds, task))


def _system_instant(run_at: dt.datetime) -> dt.datetime:
    """APScheduler fires on the system clock; a demo-clock instant is shifted back by the offset."""
    from core.clock import system_now

    return run_at - (now() - system_now())


def sync_scheduled(scheduler) -> int:
    """Copy new one-off requests into APScheduler (stable ids, replace_existing)."""
    rows = db.session.scalars(select(ScheduledTask).where(ScheduledTask.synced.is_(False))).all()
    for row in rows:
        scheduler.add_job(_job, "date", run_date=_system_instant(row.run_at), id=row.job_id,
                          replace_existing=True, args=[row.task, list(row.args)])
        row.synced = True
    db.session.commit()
    return len(rows)


def run_forever(app, stop: threading.Event | None = None, tick: float = 2.0) -> None:
    """Wait for the lease, then run the scheduler and renew the lease until stopped or lost."""
    stop = stop or threading.Event()
    _APP[:] = [app]
    holder, seconds = holder_id(), app.config["GGZY_SCHEDULER_LEASE_SECONDS"]
    scheduler = None
    with app.app_context():
        while not stop.is_set():
            if acquire_lease(holder, seconds):
                if scheduler is None:
                    scheduler = _start(app)
                sync_scheduled(scheduler)
            elif scheduler is not None:
                logger.warning("scheduler lease lost; stopping jobs")
                _stop(scheduler)
                scheduler = None
            db.session.remove()
            stop.wait(tick)
        if scheduler is not None:
            _stop(scheduler)


def _start(app):
    scheduler = build_scheduler(app)
    for job_id, seconds, task in PERIODIC:
        scheduler.add_job(_job, "interval", seconds=seconds, id=job_id, replace_existing=True, args=[task, []])
    scheduler.start()
    logger.info("scheduler started, holding the lease")
    return scheduler


def _stop(scheduler) -> None:
    scheduler.shutdown(wait=False)
    scheduler._jobstores["default"].engine.dispose()
