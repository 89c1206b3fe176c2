"""Experts objects and actors for the permission matrix (tests/core/test_permission_matrix.py).

A small pool, a closed lot with a ``draw_operator`` (an agency user of another organisation), a
drawn committee whose first seat belongs to an expert with a login (``expert_member``), and the
world's plain ``expert`` who holds no seat — so "an expert touches only their own seat" and "only
the draw operator sees names" are exercised for every role.
"""
from __future__ import annotations

from core.models import User
from experts import services
from tests.experts import helpers as h
from tests.factories import make_user


def build(world: dict) -> None:
    actors = world["actors"]
    manager, supervisor = actors["pool_manager"], actors["supervisor"]
    member_user = make_user("expert")
    experts = h.pool(manager, n=12)
    experts[0].user_id = member_user.id
    lot = h.closed_lot(actors["agency"], name="宁波市奉化区水库除险加固工程")
    operator = h.operator_for(lot)
    draw = services.request_draw(actor=operator, lot=lot, size=5, tenderee_reps=0, quotas=h.quotas())
    h.run_draw(draw, operator, supervisor)
    seated = {s.expert_id for s in h.seats(draw)}
    owner = next(e for e in experts if e.id in seated)
    if owner.user_id != member_user.id:
        experts[0].user_id, owner.user_id = None, member_user.id
    actors["draw_operator"] = operator
    actors["expert_member"] = member_user
    assert isinstance(member_user, User)
