"""Builders for the experts service/API tests: a small pool, a closed lot, a draw run to the end."""
from __future__ import annotations

import datetime as dt
import hashlib

from core import identity
from core.clock import frozen
from core.db import db
from experts import selection as sel
from experts import services
from tests.factories import make_org, make_user
from tests.trading.helpers import bj, published_lot
from trading import services as trading

T0, DEADLINE = bj(2026, 3, 4, 10), bj(2026, 3, 24, 9)
_n = iter(range(10**6))


def uscc() -> str:
    return make_org().uscc


def pool(manager, n: int = 14, codes=("A01", "B02"), **extra) -> list:
    """``n`` qualified experts spread over ``codes`` with sub-codes (A0101, A0102 …)."""
    for code in codes:
        for sub in ("", "01", "02"):
            services.ensure_specialty(code=code + sub, name=f"专业{code}{sub}")
    return [expert(manager, specialties=[codes[i % len(codes)] + ("01", "02")[i % 2]], **extra) for i in range(n)]


def expert(manager, **fields):
    k = next(_n)
    data = {"name": f"专家{k}", "id_number": f"33020319700101{k:04d}", "title": "高级工程师", "senior_title": True,
            "years": 12, "employer_uscc": uscc(), "region": "330100", "specialties": ["A0101"],
            "phone": f"1380000{k:04d}"}
    data.update(fields)
    return services.admit_expert(actor=manager, **data)


def closed_lot(agency=None, **kwargs):
    agency = agency or make_user("agency")
    lot = published_lot(agency, at=T0, deadline=DEADLINE, **kwargs)
    with frozen(DEADLINE):  # as bidding's close does with three standing bids
        trading.close_lot(lot=lot, bids=3, moment=DEADLINE)
    return lot


def operator_for(lot):
    user = make_user("admin")  # the trading centre operates the draw (core.models.GRANT_ROLES)
    identity.grant(user=user, grant_name="draw_operator", scope_id=lot.id)
    return user


def contribution(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def commitment(draw, party: str, label: str) -> str:
    return sel.commitment(party=party, lot_id=draw.lot_id, draw_number=draw.number, contribution_hex=contribution(label))


def run_draw(draw, operator, supervisor, op: str = "op", sup: str = "sup"):
    services.commit(actor=operator, draw=draw, commitment=commitment(draw, "operator", op))
    services.commit(actor=supervisor, draw=draw, commitment=commitment(draw, "supervisor", sup))
    services.reveal(actor=operator, draw=draw, contribution=contribution(op))
    services.reveal(actor=supervisor, draw=draw, contribution=contribution(sup))
    db.session.flush()
    return draw


def quotas(a: int = 3, b: int = 2) -> list[dict]:
    return [{"specialty": "A01", "count": a}, {"specialty": "B02", "count": b}]


def seats(draw) -> list:
    from experts.models import Member

    return db.session.scalars(db.select(Member).where(Member.lot_id == draw.lot_id).order_by(Member.id)).all()


__all__ = ["dt"]
