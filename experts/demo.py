"""Demo data for the experts domain, through the services (never raw inserts).

``ggzy demo`` calls :func:`seed` after core's demo users (pool manager 何专家库 ``pool@demo.ggzy``,
supervisor 刘监督, expert 钱专家) and trading's lots exist.  It admits a pool of 60 experts over five
specialties — a few of them employed by a demo bidder or the tenderee, with a declared relative,
suspended or banned, so the avoidance rules have something to exclude — and links 钱专家's login to
an entry.  If a lot is past its bid deadline and drawable, it runs one complete draw with both
commitments and reveals, so the committee, its hashes and the seats can be looked at.

Every step is idempotent: experts already in the pool are skipped, a lot that has a draw is left alone.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from sqlalchemy import select

from core import identity
from core.clock import now
from core.db import db
from core.demo import demo_user, ready_to_seed
from core.models import Organisation
from experts import selection as sel
from experts import services
from experts.models import Draw, Expert
from experts.services.draws import DRAWABLE_STATES
from trading.models import Download, Lot

logger = logging.getLogger(__name__)

SPECIALTIES = [
    ("A01", "房屋建筑与市政工程"), ("A0101", "房屋建筑工程"), ("A0102", "市政公用工程"),
    ("A03", "交通运输工程"), ("A0301", "城市轨道交通工程"),
    ("B01", "工程经济"), ("B0101", "工程造价"),
    ("C01", "医疗器械"), ("C0101", "医疗影像设备"),
]
#: specialty codes in turn for the 60 experts (building 12, municipal 12, rail 14, cost 12, medical 10)
ASSIGNMENT = ["A0101"] * 12 + ["A0102"] * 12 + ["A0301"] * 14 + ["B0101"] * 12 + ["C0101"] * 10
#: (USCC body without the check character, employer, region)
EMPLOYERS = [
    ("12330200MB1A00017", "宁波市建筑设计研究院", "330203"),
    ("12330000MB1B00027", "浙江大学建筑工程学院", "330106"),
    ("91330200MA1C00037", "宁波市政工程设计研究院有限公司", "330205"),
    ("91330000MA1D00047", "浙江省交通规划设计研究院有限公司", "330106"),
    ("91330200MA1E00057", "宁波中信工程造价咨询有限公司", "330212"),
    ("12330200MB1F00067", "宁波大学土木工程学院", "330211"),
    ("91330600MA1G00077", "绍兴市城建设计院有限公司", "330602"),
    ("12330200MB1H00087", "宁波市医疗中心李惠利医院", "330203"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建华", "志强", "秀英", "国平", "丽娟", "海涛", "明辉", "晓东", "春燕", "立新", "文博", "雪梅",
         "振宇", "俊杰", "慧敏"]
TITLES = ["高级工程师", "正高级工程师", "教授级高级工程师", "教授", "副教授", "高级经济师"]
#: demo organisations (by name, from core/demo.py) some experts are tied to, and how
TIES = {0: ("employer", "浙江华东建设集团有限公司"), 1: ("employer", "宁波市轨道交通集团有限公司"),
        2: ("relative", "宁波宏远市政工程有限公司"), 3: ("interest", "杭州恒达建筑工程有限公司")}
EXPERT_LOGIN = ("expert@demo.ggzy", 6)  # 钱专家 is entry 6 (a building expert)
DRAW_QUOTAS = [{"specialty": "A01", "count": 3}, {"specialty": "B01", "count": 2}]


def seed() -> None:
    """Seed the pool and, where a lot allows it, one complete draw (demo only)."""
    if not ready_to_seed("experts", Expert):
        return
    manager = demo_user("pool@demo.ggzy")
    if manager is None:
        logger.warning("experts demo skipped: core's demo pool manager pool@demo.ggzy is missing")
        return
    for code, name in SPECIALTIES:
        services.ensure_specialty(code=code, name=name)
    experts = [_admit(manager, i) for i in range(len(ASSIGNMENT))]
    _statuses(manager, experts)
    seed_draw()


def seed_draw() -> Draw | None:
    """One complete draw on the first drawable lot; bidding's demo calls it again once its lot has
    closed (experts seeds before bidding, which sits above it)."""
    lot = _drawable_lot()
    if lot is None:
        logger.info("experts demo: no lot past its bid deadline in a drawable state; no draw seeded")
        return None
    return _draw(lot)


def _org_uscc(name: str) -> str | None:
    return db.session.scalar(select(Organisation.uscc).where(Organisation.name == name))


def id_number(i: int) -> str:
    """A well-formed demo 居民身份证号码 (GB 11643 check character), unique per entry."""
    body = f"330203{1960 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _fields(i: int) -> dict:
    """Entry ``i`` of the pool: name, title, years, employer, region and specialty, all deterministic."""
    body, employer, region = EMPLOYERS[i % len(EMPLOYERS)]
    code = ASSIGNMENT[i]
    title = "高级经济师" if code.startswith("B") else TITLES[i % 5]
    fields = {"name": SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)], "id_number": id_number(i),
              "title": title, "senior_title": True, "years": 8 + (i * 5) % 23, "employer_uscc": identity.make_uscc(body),
              "employer_name": employer, "region": region, "specialties": [code],
              "phone": f"1395740{i:04d}"}
    if i % 9 == 4:  # some experts also hold the cost specialty
        fields["specialties"] = [code, "B0101"]
    return fields


def _admit(manager, i: int) -> Expert:
    """Admit entry ``i`` unless that person is already in the pool."""
    fields = _fields(i)
    existing = db.session.scalar(select(Expert).where(
        Expert.id_number_hash == identity.hash_id_number(fields["id_number"])))
    if existing is not None:
        return existing
    _tie(fields, i)
    if i == EXPERT_LOGIN[1]:
        login = demo_user(EXPERT_LOGIN[0])
        if login is not None:
            fields.update(name=login.name, user_id=login.id)
    return services.admit_expert(actor=manager, **fields)


def _tie(fields: dict, i: int) -> None:
    """Tie building experts 0–3 to demo organisations, so a draw against those bidders (or that
    tenderee) excludes them, with reasons."""
    kind, org_name = TIES.get(i, (None, None))
    uscc = _org_uscc(org_name) if org_name else None
    if uscc is None:
        return
    if kind == "employer":
        fields.update(employer_uscc=uscc, employer_name=org_name)
    else:
        fields[f"{kind}s"] = [{"org_uscc": uscc, "note": f"演示：申报与{org_name}的关系"}]


def _statuses(manager, experts: list[Expert]) -> None:
    """One building expert suspended, one banned with the penalty on record (set once)."""
    suspended, banned = experts[4], experts[5]
    if suspended.status == "active":
        services.set_status(actor=manager, expert=suspended, status="suspended", reason="演示：本人申请暂停一年")
    if banned.status == "active":
        services.add_credit_event(actor=manager, expert=banned, kind="administrative_penalty",
                                  detail="演示：评标中未按评标办法评审", legal_basis="招标投标法实施条例 第七十一条")
        services.set_status(actor=manager, expert=banned, status="banned",
                            ban_until=now() + dt.timedelta(days=365), reason="演示：禁止参加评标一年")


def _drawable_lot():
    """The first lot whose bidders are known and that has no committee draw yet."""

    drawn = select(Draw.lot_id)
    return db.session.scalar(select(Lot).where(Lot.state.in_(DRAWABLE_STATES), Lot.id.not_in(drawn))
                             .order_by(Lot.id))


def _draw(lot) -> Draw | None:
    """Request, commit, reveal: the trading centre operates the draw (only its staff may hold the
    draw_operator duty, 招标投标法 第三十七条), the demo supervisor takes part."""
    operator = demo_user("admin@demo.ggzy")
    if operator is None:
        logger.warning("experts demo: core's demo admin admin@demo.ggzy is missing; no draw seeded")
        return None
    supervisor = demo_user("supervisor@demo.ggzy")
    identity.grant(user=operator, grant_name="draw_operator", scope_id=lot.id)
    draw = services.request_draw(actor=operator, lot=lot, size=7, tenderee_reps=2, quotas=DRAW_QUOTAS,
                                 bidder_org_ids=_bidders(lot.id), frequency_limit=3)
    contributions = {"operator": secrets.token_hex(32), "supervisor": secrets.token_hex(32)}
    for party, actor in (("operator", operator), ("supervisor", supervisor)):
        services.commit(actor=actor, draw=draw, commitment=sel.commitment(
            party=party, lot_id=lot.id, draw_number=draw.number, contribution_hex=contributions[party]))
    for party, actor in (("operator", operator), ("supervisor", supervisor)):
        services.reveal(actor=actor, draw=draw, contribution=contributions[party])
    logger.info("experts demo: draw %s for lot %s is %s", draw.id, lot.id, draw.state)
    return draw


def _bidders(lot_id: int) -> list[int]:
    """Extra bidders to name in the request: none when bidding handed the lot's bidders down at its
    close (request_draw reads those itself), else the organisations that downloaded its documents."""

    if services.bidders_of(lot_id):
        return []
    downloads = select(Download.organisation_id).where(Download.lot_id == lot_id,
                                                       Download.organisation_id.is_not(None))
    return sorted(set(db.session.scalars(downloads)))
