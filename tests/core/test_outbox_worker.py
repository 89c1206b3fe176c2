"""Harness (d): the outbox survives a worker killed mid-task — the event is re-dispatched by the
sweeper and its effects happen exactly once.  Real Celery worker processes on a real broker
(Redis in CI, the embedded SQLAlchemy broker otherwise) and the suite's real database.
"""
from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, select

from core.app import create_app
from core.db import db
from core.events import EventDelivery, OutboxEvent, commit, record, sweep
from core.models import AuditLog
from tests.conftest import TMP, app_config
from tests.support import need
from tests.workers import broker_url, start_worker, wait_for, worker_env


def _redis_ok(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return False


@pytest.fixture
def broker_app(app, tmp_path, monkeypatch):
    """A second app on the same database whose tasks go to a real broker (not eager).

    Creating it makes its Celery app both the current and the default one, and the test subscriber
    ``test.slow`` joins the process-wide handler table: both are given back afterwards, or later
    tests would run shared tasks (``close_unseal_window(...)``) in this app, whose events then go to
    a broker nobody reads, and ``core.selftest`` would have a second handler.
    """
    from core import events

    url = broker_url(tmp_path)
    if url.startswith("redis"):
        need("redis", _redis_ok(url), f"no Redis at {url}")
    elif "redis" in os.environ.get("GGZY_TEST_REQUIRE", ""):
        pytest.fail("GGZY_TEST_REQUIRE has redis but GGZY_TEST_BROKER_URL is not set")
    monkeypatch.setattr(events, "HANDLERS", dict(events.HANDLERS))  # restored after the test
    try:
        os.environ["GGZY_EXTRA_TASK_MODULES"] = "tests.support_handlers"
        try:
            worker_app = create_app(app_config(GGZY_TASKS_EAGER=False, GGZY_BROKER_URL=url))
        finally:
            os.environ.pop("GGZY_EXTRA_TASK_MODULES")
        from tests import support_handlers  # already imported: make sure its subscriber is in this table

        events.HANDLERS.setdefault("test.slow", ("core.selftest", support_handlers.slow))
        yield worker_app
    finally:  # give the shared tasks back to the session app
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()


def _effects(event_pk: int, event_id: str) -> tuple[int, int]:
    db.session.expire_all()
    audits = db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "test.handled", AuditLog.object_id == event_id))
    deliveries = db.session.scalar(select(func.count()).select_from(EventDelivery).where(
        EventDelivery.event_id == event_pk, EventDelivery.handler == "test.slow"))
    return audits, deliveries


def test_event_survives_worker_killed_mid_task(broker_app, tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    (control / "block").write_text("1")
    env = worker_env(broker_app.config, control)
    first = start_worker(env, tmp_path / "worker1.log")
    try:
        with broker_app.app_context():
            ev = record("core.selftest", {"test": "kill"})
            commit()
            event_pk, event_id = ev.id, ev.event_id
        assert wait_for(lambda: (control / "started").exists(), 60), (tmp_path / "worker1.log").read_text()[-3000:]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        with broker_app.app_context():
            assert _effects(event_pk, event_id) == (0, 0), "a killed task must leave no effect"
            assert db.session.get(OutboxEvent, event_pk).completed_at is None
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker(env, tmp_path / "worker2.log")
    try:
        with broker_app.app_context():
            assert sweep(grace_seconds=0) >= 1, "the sweeper must re-dispatch the unhandled event"
            handled = wait_for(lambda: _effects(event_pk, event_id) == (1, 1), 60)
            assert handled, (tmp_path / "worker2.log").read_text()[-3000:]
            sweep(grace_seconds=0)  # a second sweep finds nothing to do ...
            wait_for(lambda: False, 2)
            assert _effects(event_pk, event_id) == (1, 1)  # ... and nothing ran twice
            assert db.session.get(OutboxEvent, event_pk).completed_at is not None
    finally:
        second.terminate()
        second.wait(20)


def test_replayed_delivery_is_a_no_op(app):
    """Handlers are idempotent on the event id: running one again changes nothing."""
    from core.events import run_handler

    with app.app_context():
        ev = record("core.selftest", {"test": "replay"})
        commit()
        assert run_handler(ev.id, "core.selftest_ack") == "duplicate"
        count = db.session.scalar(select(func.count()).select_from(EventDelivery).where(
            EventDelivery.event_id == ev.id, EventDelivery.handler == "core.selftest_ack"))
        assert count == 1


def test_unknown_event_name_is_refused(app):
    from core.events import UnknownEvent

    with app.app_context(), pytest.raises(UnknownEvent):
        record("trading.lot_publishd", {})


def test_rolled_back_change_dispatches_nothing(app):
    """The event is part of the transaction: a rollback leaves neither row nor dispatch."""
    with app.app_context():
        record("core.selftest", {"test": "rollback"})
        db.session.rollback()
        assert db.session.info.get("ggzy_dispatch", []) == []
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


assert TMP  # the session's temporary directory holds the SQLite database the workers share


def test_a_commit_keeping_objects_expires_every_other_one(app):
    """``commit(keep=...)``: what a view answers with stays loaded, the rest is read afresh, and the
    events of the transaction are dispatched as after any commit."""
    from sqlalchemy import inspect

    with app.app_context():
        kept = AuditLog(action="test.kept", object_type="test", detail={})
        other = AuditLog(action="test.other", object_type="test", detail={})
        db.session.add_all([kept, other])
        ev = record("core.selftest", {"test": "keep"})
        commit(keep=(kept,))
        assert not inspect(kept).expired and inspect(other).expired
        assert kept.action == "test.kept" and other.action == "test.other"
        handled = db.session.scalar(select(func.count()).select_from(EventDelivery).where(
            EventDelivery.event_id == ev.id, EventDelivery.handler == "core.selftest_ack"))
        assert handled == 1


def test_a_handler_runs_only_for_its_own_event(app):
    """A delivery naming another event's handler (a stale or mistaken task) does nothing."""
    from core.events import HANDLERS, run_handler

    with app.app_context():
        ev = record("core.selftest", {"test": "foreign handler"})
        commit()
        foreign = next(h for h, (name, _fn) in HANDLERS.items() if name != "core.selftest")
        assert run_handler(ev.id, foreign) == "missing"
        assert db.session.scalar(select(func.count()).select_from(EventDelivery).where(
            EventDelivery.event_id == ev.id, EventDelivery.handler == foreign)) == 0
