"""The demo seed goes through the services on the demo clock and shows every state reached so far;
the short demo procedure is refused outside GGZY_ENV=demo."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from bidding.services import CLOSE_GRACE
from core import clock
from core.db import db
from core.events import commit
from core.models import User
from tests.conftest import app_config
from tests.factories import make_org, make_user
from tests.trading.helpers import bj


@pytest.fixture
def demo_app(app, tmp_path, monkeypatch):
    """A separate app with GGZY_ENV=demo on its own database; the system clock is pinned.  Trading's
    demo runs alone here (the autouse fixture sets bidding's custodian check aside)."""
    from core.app import create_app

    monkeypatch.setattr(clock, "system_now", lambda: bj(2026, 3, 2, 10))
    session_app, app = app, create_app(app_config(GGZY_ENV="demo", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'demo.sqlite'}",
                                GGZY_STORAGE_DIR=str(tmp_path / "storage"), GGZY_TASKS_EAGER=False))
    from bidding.services import require_custodians
    from core import signals

    signals.lot_publishing.disconnect(require_custodians)  # the new app connected it again
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()
    clock._cache.update({"offset": 0.0, "read_at": -1.0})
    session_app.extensions["celery"].set_current()  # the demo app made its Celery app the current one:
    session_app.extensions["celery"].set_default()  # give the suite's back, or later tasks go to no worker


def _demo_users():
    agency_org = make_org(kind="agency", name="浙江甬诚工程咨询有限公司")
    for name, role, org in (("agency", "agency", agency_org), ("tenderee", "agency", make_org(kind="tenderee")),
                            ("supervisor", "supervisor", None), *((f"bidder{i}", "bidder", None) for i in range(1, 5))):
        make_user(role, org=org, email=f"{name}@demo.ggzy")


def test_seed_shows_every_state_reached_so_far(demo_app):
    from trading import demo
    from trading.models import BlacklistEntry, Lot

    _demo_users()
    demo.seed()
    commit()
    states = Counter(db.session.scalars(select(Lot.state)))
    assert set(states) == {"draft", "published", "suspended", "cancelled"}
    assert clock.now() > bj(2026, 3, 23), "the demo clock jumped past the first deadlines"
    passed = db.session.scalars(select(Lot).where(Lot.state == "published", Lot.bid_deadline < clock.now())).all()
    assert len(passed) == 2, "two lots wait for bidding's demo to close them (the close is bidding's)"
    short = db.session.scalar(select(Lot).where(Lot.name == "施工标段"))
    assert short.project.category == "demo" and short.bid_deadline - short.published_at == dt.timedelta(minutes=8)
    assert db.session.scalar(select(db.func.count()).select_from(BlacklistEntry)) == 2


def test_short_demo_lot_closes_minutes_later(demo_app):
    from bidding import services
    from trading import demo

    _demo_users()
    lot = demo.demo_lot(actor=db.session.scalar(select(User).where(User.email == "agency@demo.ggzy")))
    assert services.close_due_lots() == {}
    clock.advance_demo_clock(8 * 60)
    assert services.close_due_lots() == {}  # the deadline: submissions in time may still be committing
    clock.advance_demo_clock(CLOSE_GRACE.total_seconds())
    assert services.close_due_lots() == {lot.id: "failed"}  # no bid came (条例 第四十四条)


def test_cli_lists_the_table_and_refuses_the_demo_lot_outside_the_demo(app):
    from trading.cli import cli

    runner = app.test_cli_runner()
    out = runner.invoke(cli, ["procedures"])
    assert out.exit_code == 0 and "招标投标法 第二十四条" in out.output and "(demo only)" in out.output
    refused = runner.invoke(cli, ["demo-lot"])
    assert refused.exit_code != 0 and "GGZY_ENV=demo" in refused.output


def test_seed_waits_for_the_migration(tmp_path, monkeypatch):
    """Before the trading tables are migrated, `ggzy demo` still starts: the seed logs and skips."""
    from core.app import create_app
    from trading import demo

    app = create_app(app_config(GGZY_ENV="demo", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    with app.app_context():
        assert demo.seed() is None
        db.engine.dispose()
