"""Demo data through the services (never raw inserts), on the demo clock.

``ggzy demo`` calls :func:`seed` after the core demo users exist.  Lots are published "today",
then the demo clock jumps past the first deadlines so the portal shows every state reached so
far: draft, published (with downloads, an amendment, objections), bidding closed, suspended,
cancelled.  A lot under the short demo procedure (minutes, demo only) is published last, so a
newcomer watches it close a few minutes later; ``ggzy trading demo-lot`` publishes another.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from core import identity
from core.calendar import SHANGHAI
from core.clock import advance_demo_clock, now
from core.db import savepoint
from core.demo import demo_user, ready_to_seed
from core.identity import make_uscc
from trading import procedures, services
from trading.models import Lot

logger = logging.getLogger(__name__)
PDF = ("%PDF-1.4\n% ggzy demo tender document\n" + "第一章 招标公告\n第二章 投标人须知\n第三章 评标办法\n"
       "第四章 合同条款\n第五章 工程量清单\n第六章 技术标准和要求\n") .encode()

#: (project, region, tenderee, category, mode, [(lot name, estimate)])
CLOSING = [("宁波市轨道交通7号线一期工程土建施工", "330200", "宁波市轨道交通集团有限公司", "construction", "open",
            [("土建施工1标段", "386000000.00"), ("土建施工2标段", "412500000.00")])]
OPEN = [
    ("宁波市鄞州区中心小学改扩建工程", "330212", "宁波市鄞州区教育局", "construction", "open", [("施工总承包", "58600000.00")]),
    ("宁波市第一医院医疗设备采购项目", "330203", "宁波市第一医院", "gov_procurement", "open",
     [("CT设备", "12800000.00"), ("超声设备", "3650000.00")]),
    ("宁波市江北区老旧小区综合改造工程", "330205", "宁波市江北区住房和城乡建设局", "construction", "open",
     [("施工一标段", "24300000.00")]),
    ("宁波市镇海区体育馆维修工程", "330211", "宁波市镇海区文化广电旅游体育局", "construction", "open",
     [("维修施工", "6850000.00")]),
]
DRAFT = ("宁波市奉化区农村饮用水达标提标工程", "330213", "宁波市奉化区水利局", "construction", "open",
         [("管网工程", "17900000.00")])


def seed() -> None:
    """Seed the trading demo; on a year missing from the holiday table, seed only what needs no calendar."""
    if not ready_to_seed("trading", Lot):
        return
    cast = {name: demo_user(f"{name}@demo.ggzy") for name in
            ("agency", "tenderee", "supervisor", "bidder1", "bidder2", "bidder3", "bidder4")}
    lifecycle = savepoint()
    try:
        _seed_lifecycle(cast)
        lifecycle.commit()
    except procedures.CalendarMissing as err:
        lifecycle.rollback()
        logger.warning("trading demo: lifecycle lots skipped (%s); add the year to core/data/holidays_cn.json", err)
    _seed_blacklist(cast["supervisor"])
    demo_lot(actor=cast["agency"])


def _project(actor, spec, deadline: dt.datetime, *, publish: bool = True, terms: dict | None = None) -> list:
    """``terms``: opening terms for every lot (trading/models.py), fixed before publication."""
    name, region, tenderee, category, mode, lots = spec
    project = services.create_project(
        actor=actor, name=name, category=category, mode=mode, region=region, tenderee_name=tenderee,
        tenderee_contact="0574-87000000", funding="财政资金" if category == "gov_procurement" else "国有资金",
        description=f"{tenderee}就{name}进行公开招标，欢迎符合资格条件的潜在投标人参加。",
        lots=[{"name": n, "estimate": Decimal(e), "bid_deadline": deadline,
               "bond_amount": (Decimal(e) * Decimal("0.01")).quantize(Decimal("1")), **(terms or {})}
              for n, e in lots])
    for lot in project.lots:
        services.upload_document(actor=actor, lot=lot, filename=f"{name}{lot.name}招标文件.pdf", data=PDF)
        _assign_duties(actor, lot)
        if publish:
            services.publish_lot(actor=actor, lot=lot)
    return project.lots


def _assign_duties(agency, lot) -> None:
    """The three holders of the lot's opening-key shares (DESIGN §5): the agency's opening host, the
    supervisor and the trading centre's custodian — granted before publication makes the key."""
    identity.grant(user=agency, grant_name="opening_host", scope_id=lot.id)
    for email in ("supervisor@demo.ggzy", "admin@demo.ggzy"):
        custodian = demo_user(email)
        if custodian is not None:
            identity.grant(user=custodian, grant_name="custodian", scope_id=lot.id)


def _deadline(days_after: int = 0) -> dt.datetime:
    """The earliest lawful construction deadline from now (09:30 Beijing), plus ``days_after``."""
    rule = procedures.PROCEDURES["construction.open"].bidding_period
    day = rule.earliest_end(now()).astimezone(SHANGHAI).date() + dt.timedelta(days=days_after)
    return dt.datetime.combine(day, dt.time(9, 30), tzinfo=SHANGHAI).astimezone(dt.UTC)


def _seed_lifecycle(cast: dict) -> None:
    agency, tenderee, supervisor = cast["agency"], cast["tenderee"], cast["supervisor"]
    first = _deadline()
    closing = _project(tenderee, CLOSING[0], first)
    school, hospital, oldtown, gym = (_project(agency, spec, _deadline(10)) for spec in OPEN)
    _project(agency, DRAFT, _deadline(15), publish=False)
    for bidder in ("bidder1", "bidder2", "bidder3", "bidder4"):
        for lot in (*closing, *school, hospital[0]):
            services.download_document(user=cast[bidder], doc=lot.documents[0])
    services.issue_amendment(actor=agency, lot=school[0], title="关于工程量清单的澄清",
                             body="第五章工程量清单第3.2项“外墙保温”计量单位更正为平方米。")
    answered = services.file_objection(actor=cast["bidder2"], lot=school[0],
                                       body="招标文件要求近三年同类业绩5项，明显高于项目需要，排斥潜在投标人。")
    services.answer_objection(actor=agency, objection=answered, answer="经复核，业绩要求调整为近三年同类业绩2项，详见澄清。")
    services.file_objection(actor=cast["bidder3"], lot=hospital[0], body="技术参数第7项指向特定品牌，请予修改。")
    services.cancel_lot(actor=agency, lot=gym[0], reason="项目资金未落实，招标人决定终止招标。")
    advance_demo_clock((first - now()).total_seconds() + 3600)  # bidding's demo closes the lot it passed
    services.suspend_lot(actor=supervisor, lot=oldtown[0], reason="收到投诉，监督部门核查期间暂停招标投标活动。")


def _seed_blacklist(supervisor) -> None:
    start = now() - dt.timedelta(days=90)
    services.add_entry(actor=supervisor, subject_kind="enterprise", name="宁波市某某建筑工程有限公司",
                       uscc=make_uscc("91330200MA2K99997"), reason="与其他投标人相互串通投标，情节严重。",
                       legal_basis="招标投标法实施条例 第六十七条", decision="甬建罚〔2026〕12号", starts_at=start,
                       ends_at=start + dt.timedelta(days=730))
    services.add_entry(actor=supervisor, subject_kind="person", name="张某某", id_number="330203198205120017",
                       reason="评标专家收受投标人财物。", legal_basis="招标投标法实施条例 第七十二条",
                       decision="甬发改罚〔2026〕3号", starts_at=start)


def demo_lot(*, actor, **terms) -> object:
    """Publish a lot under the short demo procedure: the deadline is a few minutes away.

    ``terms``: its opening terms (``opening_fields``, ``confirm_window_minutes``…).
    """
    deadline = now() + dt.timedelta(minutes=8)
    spec = ("演示：宁波市海曙区口袋公园建设工程（短周期）", "330203", "宁波市海曙区园林局", "demo", "open",
            [("施工标段", "980000.00")])
    return _project(actor, spec, deadline, terms=terms)[0]
