"""The scheduler: one lease holder at a time, one-off jobs persisted and caught up after a restart."""
from __future__ import annotations

import datetime as dt
import threading

from core.clock import frozen, now
from core.db import db
from core.scheduler import ScheduledTask, acquire_lease, lease_status, run_forever, schedule_task
from tests.workers import wait_for


def test_only_one_process_holds_the_lease(app):
    with app.app_context():
        assert acquire_lease("host-a:1", 30)
        assert not acquire_lease("host-b:2", 30), "a second scheduler must wait while the lease is live"
        assert acquire_lease("host-a:1", 30), "the holder renews"
        assert lease_status()["holder"] == "host-a:1"


def test_expired_lease_is_taken_over(app):
    with app.app_context():
        assert acquire_lease("host-a:1", 30)
        with frozen(now() + dt.timedelta(seconds=31)):
            assert acquire_lease("host-b:2", 30), "a dead holder's lease expires"
            assert not acquire_lease("host-a:1", 30)


def _run_scheduler(app, stop):
    thread = threading.Thread(target=run_forever, args=(app, stop), kwargs={"tick": 0.3}, daemon=True)
    thread.start()
    return thread


def test_one_off_job_runs_and_a_missed_job_is_caught_up(app, tmp_path, monkeypatch):
    """A job due while no scheduler ran still runs once a scheduler starts (rules never depend on punctuality)."""
    from core import events

    monkeypatch.setattr(events, "HANDLERS", dict(events.HANDLERS))  # its test.slow subscriber does not stay
    import tests.support_handlers  # noqa: F401  (registers the tests.touch task)

    assert "tests.touch" in app.extensions["celery"].tasks
    missed, future = tmp_path / "missed", tmp_path / "future"
    with app.app_context():
        schedule_task(job_id="test-missed", run_at=now() - dt.timedelta(hours=1), task="tests.touch",
                      args=[str(missed)])
        schedule_task(job_id="test-future", run_at=now() + dt.timedelta(seconds=2), task="tests.touch",
                      args=[str(future)])
        db.session.commit()
    stop = threading.Event()
    thread = _run_scheduler(app, stop)
    try:
        assert wait_for(missed.exists, 20), "a missed job must run after the scheduler starts"
        assert wait_for(future.exists, 20), "a future job must run when due"
        with app.app_context():
            assert db.session.get(ScheduledTask, "test-missed").synced
    finally:
        stop.set()
        thread.join(20)
    with app.app_context():
        db.session.execute(db.text("delete from core_apscheduler_jobs"))
        db.session.commit()


def test_demo_clock_jobs_fire_on_the_system_clock(app):
    """A job due "in 10 minutes" of demo time after a 23-day jump is placed 10 minutes from now,
    not 23 days away (the scheduler fires on the system clock)."""
    from core.clock import ClockSetting, system_now
    from core.scheduler import _system_instant

    with app.app_context():
        app.config["GGZY_ENV"] = "demo"
        try:
            from core.clock import advance_demo_clock

            schedule_task(job_id="test-demo", run_at=now() + dt.timedelta(minutes=5), task="tests.touch")
            db.session.commit()
            db.session.get(ScheduledTask, "test-demo").synced = True
            advance_demo_clock(23 * 86400)
            db.session.commit()
            assert not db.session.get(ScheduledTask, "test-demo").synced, "an advance re-places pending jobs"
            due = now() + dt.timedelta(minutes=10)
            assert abs((_system_instant(due) - system_now()) - dt.timedelta(minutes=10)) < dt.timedelta(seconds=5)
        finally:
            app.config["GGZY_ENV"] = "test"
            db.session.query(ClockSetting).delete()
            db.session.commit()
