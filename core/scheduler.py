"""The one scheduler process: APScheduler over a persistent SQLAlchemy job store, guarded by a lease.

Jobs only enqueue Celery tasks by name with primitive arguments (STYLE).  Exactly one process holds
the lease row; others wait.  Domains ask for a one-off job with :func:`schedule_task`, which writes a
row that the lease holder copies into APScheduler, so no web worker ever runs a scheduler.  Rules
never depend on punctuality: missed jobs run on restart (no misfire limit, coalesced).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import JSON, Boolean, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core import leases
from core.clock import now
from core.db import UTCDateTime, db

logger = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
#: periodic jobs: (job id, seconds, celery task name)
PERIODIC = [("core-sweep-outbox", 15, "core.sweep_outbox")]


class ScheduledTask(db.Model):
    """A one-off task a domain wants at an instant (e.g. close bidding at the deadline)."""

    __tablename__ = "core_scheduled_tasks"
    job_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task: Mapped[str] = mapped_column(String(120))
    args: Mapped[list] = mapped_column(JSON, default=list)
    synced: Mapped[bool] = mapped_column(Boolean, default=False)


def acquire_lease(holder: str, seconds: int) -> bool:
    """Take or renew the scheduler's lease (core.leases); True if ``holder`` has it afterwards."""
    return leases.acquire(LEASE_NAME, holder, seconds)


def lease_status() -> dict:
    return leases.status(LEASE_NAME)


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
    """A domain's periodic job (e.g. a catch-up sweep); idempotent, called by its tasks' ``register(app)``."""
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
    holder, seconds = leases.holder_id(), app.config["GGZY_SCHEDULER_LEASE_SECONDS"]
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
