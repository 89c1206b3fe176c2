"""experts/demo.py: the seed runs through the services, excludes its tied experts, completes a
verifiable draw when a lot allows one, and running it again changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import User
from experts import demo
from experts.models import Draw, Expert, Member
from experts.verify import verify_bundle
from tests.experts import helpers as h
from tests.factories import make_org, make_user


@pytest.fixture
def demo_env(app, ctx, monkeypatch):
    """Core's demo cast (the names experts/demo.py looks up) and a lot whose bidding has closed."""
    monkeypatch.setitem(app.config, "GGZY_ENV", "demo")
    make_user("pool_manager", email="pool@demo.ggzy")
    make_user("supervisor", email="supervisor@demo.ggzy")
    make_user("admin", email="admin@demo.ggzy")  # the trading centre operates the draw
    make_user("expert", email="expert@demo.ggzy")
    bidder = make_org(name="浙江华东建设集团有限公司")
    lot = h.closed_lot()
    return {"lot": lot, "bidder": bidder}


def _counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(t)) for t in (Expert, Draw, Member))


def test_seed_builds_the_pool_and_one_verifiable_draw_and_is_idempotent(demo_env, monkeypatch):
    from experts import services

    services.record_bidders(lot_id=demo_env["lot"].id, organisation_ids=[demo_env["bidder"].id])  # the close
    demo.seed()
    db.session.flush()
    experts, draws, members = _counts()
    assert experts == 60 and draws == 1 and members == 5
    draw = db.session.scalar(select(Draw))
    assert draw.state == "drawn" and draw.lot_id == demo_env["lot"].id
    assert {"employer_bidder", "suspended", "banned", "prior_penalty"} <= {
        r for x in draw.exclusions for r in x["reasons"]}
    login = db.session.scalar(select(Expert).where(Expert.user_id.is_not(None)))
    user = db.session.scalar(select(User).where(User.email == "expert@demo.ggzy"))
    assert (login.user_id, login.name, login.specialty_codes) == (user.id, user.name, ["A0101"])
    demo_env["lot"].state = "awarded"
    from experts.services import publication_bundle, publish

    publish(draw=draw)
    assert verify_bundle(publication_bundle(draw=draw))["valid"]
    demo.seed()
    db.session.flush()
    assert _counts() == (experts, draws, members)


def test_without_a_drawable_lot_only_the_pool_is_seeded(demo_env):
    demo_env["lot"].state = "failed"
    demo.seed()
    demo.seed()
    db.session.flush()
    assert _counts() == (60, 0, 0)


def test_seed_refuses_outside_the_demo(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "GGZY_ENV", "test")
    with pytest.raises(RuntimeError, match="GGZY_ENV=demo"):
        demo.seed()


def test_demo_id_numbers_carry_a_valid_check_character():
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    numbers = [demo.id_number(i) for i in range(60)]
    assert len(set(numbers)) == 60
    for n in numbers:
        assert len(n) == 18 and n[-1] == "10X98765432"[sum(int(c) * w for c, w in zip(n[:17], weights, strict=True)) % 11]
