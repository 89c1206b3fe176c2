"""Trading objects and actors for the permission matrix (tests/core/test_permission_matrix.py).

Two agencies' projects; lots in draft, published (deadline ahead), bidding closed and suspended;
documents, downloads, objections of two bidders, blacklist entries; and a ``tenderee_rep`` who
belongs to another agency, so grant-based and same-role-other-owner cases are both exercised.
"""
from __future__ import annotations

import datetime as dt

from core import identity
from core.clock import frozen, now
from tests.factories import make_org, make_user
from tests.trading.helpers import bj, draft_lot, published_lot
from trading import services

T0, DEADLINE = bj(2026, 3, 4, 10), bj(2026, 3, 24, 9)


def build(world: dict) -> None:
    actors = world["actors"]
    agency, agency_b, bidder, bidder_b = actors["agency"], actors["agency_b"], actors["bidder"], actors["bidder_b"]
    draft_lot(agency, deadline=DEADLINE, name="宁波市海曙区中小学校舍维修工程")
    open_lot = published_lot(agency, at=T0, deadline=DEADLINE, name="宁波市鄞州区道路提升工程")
    closed = published_lot(agency, at=T0, deadline=DEADLINE, name="宁波市江北区污水管网改造工程")
    other = published_lot(agency_b, at=T0, deadline=DEADLINE, category="gov_procurement",
                          name="宁波市医疗设备采购项目")
    with frozen(bj(2026, 3, 5)):
        for lot in (open_lot, other):
            services.download_document(user=bidder, doc=lot.documents[0])
        services.download_document(user=bidder_b, doc=open_lot.documents[0])
    with frozen(bj(2026, 3, 10)):
        services.file_objection(actor=bidder, lot=open_lot, body="评分标准倾向性明显")
        answered = services.file_objection(actor=bidder_b, lot=open_lot, body="工期要求不合理")
        services.answer_objection(actor=agency, objection=answered, answer="工期已调整")
        services.suspend_lot(actor=actors["supervisor"], lot=other, reason="投诉处理")
    with frozen(DEADLINE):
        from bidding.services import close_bidding

        close_bidding(lot_id=closed.id)  # bidding's close: no bid, so the lot fails
    # the deadline of the open lot lies ahead of the real clock, so "before the deadline" is tested
    open_lot.bid_deadline = now() + dt.timedelta(days=30)
    rep = make_user("agency", org=make_org(kind="agency"))
    identity.grant(user=rep, grant_name="tenderee_rep", scope_id=open_lot.id)
    actors["tenderee_rep"] = rep
    _blacklist(actors["supervisor"])


def _blacklist(supervisor) -> None:
    start = now() - dt.timedelta(days=10)
    services.add_entry(actor=supervisor, subject_kind="enterprise", name="宁波某建设工程有限公司",
                       uscc=identity.make_uscc("91330200MA2X00017"), reason="串通投标",
                       legal_basis="招标投标法实施条例 第六十七条", starts_at=start,
                       ends_at=start + dt.timedelta(days=365))
    revoked = services.add_entry(actor=supervisor, subject_kind="person", name="张某", id_number="330203198001011234",
                                 reason="弄虚作假", legal_basis="招标投标法实施条例 第六十八条", starts_at=start)
    services.revoke_entry(actor=supervisor, entry=revoked, reason="复议撤销")
