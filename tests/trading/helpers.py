"""Builders for the trading tests: actors, draft and published lots through the services."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from core import identity, signals
from core.clock import frozen
from tests.factories import make_org, make_user
from trading import services

BJ = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n% tender document\n" + "招标文件 第一章 招标公告".encode() * 20


def bj(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> dt.datetime:
    """An aware UTC instant given in Beijing time (how the rules and the agencies speak)."""
    return dt.datetime(y, m, d, h, mi, tzinfo=BJ).astimezone(dt.UTC)


def actors() -> dict:
    """The cast: two agencies, a tenderee rep, two bidders, a supervisor, an admin."""
    agency_org = make_org(kind="agency", name="浙江甬诚工程咨询有限公司")
    cast = {"agency": make_user("agency", org=agency_org), "agency_b": make_user("agency"),
            "rep": make_user("agency"), "bidder": make_user("bidder"), "bidder_b": make_user("bidder"),
            "supervisor": make_user("supervisor"), "admin": make_user("admin")}
    cast["agency2"] = make_user("agency", org=agency_org)
    return cast


def lot_spec(deadline: dt.datetime, **extra) -> dict:
    spec = {"name": "第一标段", "estimate": Decimal("1000000.00"), "bid_deadline": deadline}
    spec.update(extra)
    return spec


def draft_lot(agency, *, deadline: dt.datetime, category: str = "construction", mode: str = "open",
              name: str = "宁波市轨道交通5号线车站装修工程", region: str = "330203", document: bool = True,
              **lot_extra):
    project = services.create_project(actor=agency, name=name, category=category, mode=mode, region=region,
                                      tenderee_name="宁波市轨道交通集团有限公司",
                                      lots=[lot_spec(deadline, **lot_extra)])
    lot = project.lots[0]
    if document:
        services.upload_document(actor=agency, lot=lot, filename="招标文件.pdf", data=PDF)
    return lot


def published_lot(agency, *, at: dt.datetime, deadline: dt.datetime, **kwargs):
    """A lot published as trading alone would publish it: other domains' publish checks (bidding's
    opening-key custodians) are set aside here and tested where they belong (tests/bidding)."""
    lot = draft_lot(agency, deadline=deadline, **kwargs)
    with frozen(at), signals.lot_publishing.muted():
        services.publish_lot(actor=agency, lot=lot)
    return lot


def grant_rep(user, lot) -> None:
    identity.grant(user=user, grant_name="tenderee_rep", scope_id=lot.id)
