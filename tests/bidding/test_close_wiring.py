"""The close at the deadline does not depend on what a process happened to import (DESIGN §3).

A worker started through the app factory alone (``celery -A wsgi:celery``) closes a lot with two
bids as failed (招标投标法实施条例 第四十四条), and an app whose domains did not register their
receivers refuses to start instead of skipping the rule.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from sqlalchemy import select

from core import signals
from core.clock import now
from core.db import db
from core.events import OutboxEvent, commit
from experts.services import bidders_of
from tests.bidding.submitting import new_bidder, open_lot, package, submit
from tests.core.test_outbox_worker import broker_app  # noqa: F401  (fixture: an app on a real broker)
from tests.workers import ROOT, start_worker, wait_for, worker_env
from trading.models import Lot


def _state(app, lot_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Lot.state).where(Lot.id == lot_id))


def test_a_worker_from_the_app_factory_alone_fails_a_lot_with_two_bids(app, client, ctx, broker_app, tmp_path):  # noqa: F811
    lot, bidders = open_lot(), [new_bidder() for _ in range(2)]
    for i, bidder in enumerate(bidders):
        assert submit(client, bidder, lot.id, package(tmp_path, lot, bidder, name=f"{i}.pkg")).status_code == 201
    lot.bid_deadline = now() + dt.timedelta(seconds=1)  # both bids came in time
    commit()
    lot_id = lot.id
    assert wait_for(lambda: now() > lot.bid_deadline, 5)
    control = tmp_path / "control"
    control.mkdir()
    worker = start_worker(worker_env(broker_app.config, control), tmp_path / "worker.log")
    try:
        broker_app.extensions["celery"].send_task("bidding.close_bidding", args=[lot_id])
        closed = wait_for(lambda: _state(broker_app, lot_id) != "published", 90)
        assert closed, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(20)
    assert _state(broker_app, lot_id) == "failed"  # 2 < 3 (条例 第四十四条), counted by the worker
    with broker_app.app_context():
        closed = db.session.scalars(select(OutboxEvent.payload).where(OutboxEvent.name == "bidding.bidding_closed"))
        assert [(p["lot_id"], p["bids"], p["outcome"]) for p in closed] == [(lot_id, 2, "failed")]
    orgs = sorted(b.org_id for b in bidders)
    with broker_app.app_context():
        assert bidders_of(lot_id) == orgs  # handed down to the draw by the worker's close


def test_an_app_without_bidding_registered_does_not_start(app, tmp_path):
    """In a fresh process whose app factory skips bidding's registrations, start-up fails naming the
    rule that would have been skipped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"GGZY_ENV": "test", "GGZY_SECRET_KEY": "x" * 40, "PYTHONPATH": str(ROOT),
                "GGZY_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "GGZY_INSTANCE_DIR": str(tmp_path),
                "GGZY_KEY_DIR": str(tmp_path / "keys"), "GGZY_STORAGE_DIR": str(tmp_path / "store")})
    code = ("import core.tasks as t\n"
            "t.TASK_MODULES.remove('bidding.tasks')\n"
            "from core.app import create_app\n"
            "create_app()\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "MissingRegistration" in run.stderr and "deadline-set" in run.stderr and "第四十四条" in run.stderr
    assert "lot-publishing" in run.stderr


def test_check_required_names_a_signal_nobody_receives(app):
    receivers = dict(signals.deadline_set.receivers)
    signals.deadline_set.receivers.clear()
    try:
        try:
            signals.check_required()
        except signals.MissingRegistration as err:
            assert "deadline-set" in str(err)
        else:
            raise AssertionError("a required signal without a receiver must stop the app")
    finally:
        signals.deadline_set.receivers.update(receivers)
    signals.check_required()  # registered again: nothing missing


def test_ggzy_bidding_close_due_closes_what_the_scheduler_missed(app, ctx):
    from bidding.cli import cli

    lot = open_lot()
    lot.bid_deadline = now() - dt.timedelta(minutes=5)
    commit()
    out = app.test_cli_runner().invoke(cli, ["close-due"])
    assert out.exit_code == 0, out.output
    assert f"lot {lot.id}: failed" in out.output and "1 lot(s) past the deadline" in out.output
