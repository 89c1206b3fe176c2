"""Seed the portal benchmark's database: N public notices with the projects, lots, amendments,
documents and timeline rows that the trading services would have written for them.

Bulk inserts (a few statements of thousands of rows each), not N service calls: 100k notices take
seconds instead of an hour.  The rows are shaped as the services shape them (trading/services/):

* a project per procurement, code ``GC-YYYY-NNNNN`` / ``CG-YYYY-NNNNN``, 1–3 lots ``第N标段``;
* a published lot has its tender document, the ``publish`` transition and a ``tender_notice``
  (``invitation`` for invited tendering) titled ``"{project} {lot} 招标公告"`` at its publication;
* amendments (``Amendment`` row + ``amendment`` notice, deadline moved as the 15-day rule moves it),
  suspensions and resumptions, cancellations, failures (fewer than 3 bids) and opening records, each
  with its notice and its transition, in the order the lifecycle allows;
* about 5 % of the lots are still drafts: no notice, never on the portal.

Not written, because the portal never reads them: audit rows, outbox events, scheduler jobs,
downloads, bids.  Ids follow time, as when the rows are created one by one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert, text

#: GB/T 2260 codes (province, city, district) the generated projects are spread over
REGIONS = ("110105", "110108", "310104", "310115", "320102", "320205", "320506", "330102", "330106",
           "330203", "330212", "330304", "330602", "340104", "350203", "370212", "420106", "440106",
           "440305", "500103", "510107", "610113")
WORKS = ("轨道交通车站装修工程", "市政道路改造工程", "污水处理厂提标改造", "中学教学楼新建工程", "医院门诊楼改扩建",
         "河道综合整治工程", "公园景观提升工程", "安置房建设项目", "桥梁加固工程", "智慧城市平台建设")
GOODS = ("办公设备采购", "医疗设备采购", "物业管理服务", "信息化系统运维服务", "校园食堂食材配送",
         "公务用车定点维修", "图书采购", "环卫保洁服务", "监控设备采购", "档案数字化服务")
CITIES = ("北京市", "上海市", "南京市", "无锡市", "苏州市", "杭州市", "宁波市", "温州市", "绍兴市", "合肥市",
          "厦门市", "青岛市", "武汉市", "广州市", "深圳市", "重庆市", "成都市", "西安市")
DAY = dt.timedelta(days=1)


@dataclass
class Rows:
    projects: list = field(default_factory=list)
    lots: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    amendments: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    transitions: list = field(default_factory=list)


class Builder:
    """Generates the rows of one lot after another until exactly ``target`` notices exist."""

    def __init__(self, *, rng: random.Random, now: dt.datetime, agencies: list[tuple[int, int]], target: int):
        self.rng, self.now, self.agencies, self.target = rng, now, agencies, target
        self.rows = Rows()
        self.filed: dict[int, tuple[str, str]] = {}  # lot id → (category, region) of its project

    def build(self) -> Rows:
        project_id = 0
        while len(self.rows.notices) < self.target:
            project_id += 1
            self._project(project_id)
        self._number()
        return self.rows

    def _project(self, pid: int) -> None:
        rng = self.rng
        category = "construction" if rng.random() < 0.55 else "gov_procurement"
        mode = "invited" if rng.random() < 0.08 else "open"
        created = self.now - dt.timedelta(days=rng.uniform(3, 730))
        region = rng.choice(REGIONS)
        city = CITIES[REGIONS.index(region) % len(CITIES)]
        name = f"{city}{rng.choice(WORKS if category == 'construction' else GOODS)}（{pid % 97 + 1}期）"
        org_id, user_id = rng.choice(self.agencies)
        prefix = "GC" if category == "construction" else "CG"
        self.rows.projects.append({
            "id": pid, "code": f"{prefix}-{created.year}-{pid:05d}", "name": name, "category": category,
            "mode": mode, "region": region, "tenderee_name": f"{city}{'建设' if prefix == 'GC' else '机关事务'}管理中心",
            "tenderee_contact": "0574-8888 0000", "funding": "财政资金", "description": f"{name}，详见招标文件。",
            "agency_org_id": org_id, "created_by": user_id, "created_at": created})
        for number in range(1, rng.choices((1, 2, 3), (60, 30, 10))[0] + 1):
            self._lot(pid, number, name, mode, created, user_id)
            if len(self.rows.notices) >= self.target:
                return

    def _lot(self, pid: int, number: int, project_name: str, mode: str, created: dt.datetime, user_id: int) -> None:
        rng, lid = self.rng, len(self.rows.lots) + 1
        estimate = Decimal(rng.randrange(200_000, 80_000_000, 1000))
        lot = {"id": lid, "project_id": pid, "number": number, "name": f"第{number}标段", "estimate": estimate,
               "max_price": estimate, "bond_amount": (estimate * Decimal("0.01")).quantize(Decimal("0.01")),
               "state": "draft", "resume_state": None, "issue_start": None, "issue_end": None,
               "bid_deadline": created + 30 * DAY, "published_at": None, "closed_at": None,
               "invitees": [], "state_reason": "", "decrypt_window_minutes": 30, "confirm_window_minutes": 15,
               "unseal_remedy": False, "opening_fields": [], "created_at": created}
        self.rows.lots.append(lot)
        project = self.rows.projects[-1]
        self.filed[lid] = (project["category"], project["region"])
        remaining = self.target - len(self.rows.notices)
        if rng.random() < 0.05 and remaining > 1:
            return  # a draft: nobody but its agency sees it
        title = f"{project_name} {lot['name']}"
        published = created + dt.timedelta(hours=rng.uniform(2, 96))
        deadline = published + dt.timedelta(days=rng.uniform(21, 40))
        lot.update(state="published", issue_start=published, issue_end=deadline, bid_deadline=deadline,
                   published_at=published)
        self.rows.documents.append({"lot_id": lid, "filename": "招标文件.pdf", "content_type": "application/pdf",
                                    "size": 2_000_000 + lid, "sha256": hashlib.sha256(str(lid).encode()).hexdigest(),
                                    "storage_key": f"trading/documents/{hashlib.sha256(str(lid).encode()).hexdigest()}",
                                    "amendment_id": None, "uploaded_by": user_id, "uploaded_at": created})
        self._transition(lot, "publish", "published", published, user_id)
        self._notice(lot, "invitation" if mode == "invited" else "tender_notice", f"{title} 招标公告", published,
                     f"{project_name}，详见招标文件。")
        if remaining == 1:
            return
        self._life(lot, title, published, user_id, budget=remaining - 1)

    def _life(self, lot: dict, title: str, published: dt.datetime, user_id: int, budget: int) -> None:
        """Amendments, a suspension, then the fate of the lot after its deadline, within ``budget`` notices."""
        rng = self.rng
        moment = published
        for n in range(1, rng.choices((0, 1, 2), (78, 17, 5))[0] + 1):
            if budget < 1:
                return
            moment = moment + dt.timedelta(days=rng.uniform(1, 5))
            if moment >= lot["bid_deadline"] or moment >= self.now:
                break
            old = lot["bid_deadline"]
            new = max(old, moment + 15 * DAY)
            self.rows.amendments.append({"lot_id": lot["id"], "number": n, "title": f"澄清第{n}号",
                                         "body": "对招标文件第三章技术要求的澄清。", "issued_at": moment, "issued_by": user_id,
                                         "old_deadline": old, "new_deadline": new, "moved_by_rule": new != old,
                                         "notified": rng.randrange(0, 12)})
            lot["bid_deadline"] = lot["issue_end"] = new
            self._notice(lot, "amendment", f"{title} 澄清/修改公告（第{n}号）", moment, "对招标文件第三章技术要求的澄清。")
            budget -= 1
        if budget >= 2 and rng.random() < 0.03:
            stop = moment + dt.timedelta(days=rng.uniform(0.5, 3))
            if stop < min(lot["bid_deadline"], self.now) - 2 * DAY:
                self._transition(lot, "suspend", "suspended", stop, None, reason="监督部门责令暂停")
                self._notice(lot, "suspension", f"{title} 暂停公告", stop, "监督部门责令暂停")
                back = stop + dt.timedelta(days=rng.uniform(0.5, 1.5))
                self._transition(lot, "resume", "published", back, None, reason="整改完成")
                self._notice(lot, "resumption", f"{title} 恢复公告", back, "整改完成")
                budget -= 2
        self._fate(lot, title, user_id, budget)

    def _fate(self, lot: dict, title: str, user_id: int, budget: int) -> None:
        rng, deadline = self.rng, lot["bid_deadline"]
        at = max(lot["published_at"] + DAY, min(deadline, self.now) - dt.timedelta(hours=rng.uniform(1, 48)))
        if rng.random() < 0.03 and budget >= 1 and at < self.now:
            self._transition(lot, "cancel", "cancelled", at, user_id, reason="项目资金调整，终止招标")
            self._notice(lot, "cancellation", f"{title} 终止公告", at, "项目资金调整，终止招标")
            return
        if deadline + dt.timedelta(minutes=1) >= self.now:
            return  # bidding still open
        lot["closed_at"] = deadline
        if rng.random() < 0.06 and budget >= 1:
            self._transition(lot, "fail", "failed", deadline, None, reason="fewer than 3 bids (2): no opening, re-tender")
            self._notice(lot, "failure", f"{title} 招标失败公告", deadline, "fewer than 3 bids (2): no opening, re-tender")
            return
        self._transition(lot, "close_bidding", "bidding_closed", deadline, None, reason="bid deadline reached")
        self._transition(lot, "start_opening", "opening", deadline, None, reason="bid deadline reached: online opening")
        if budget < 1:
            return
        opened = deadline + dt.timedelta(minutes=rng.uniform(35, 90))
        self._notice(lot, "opening_record", f"{title} 开标记录", opened, f"/bidding/opening/{lot['id']}/record")
        self._transition(lot, "finish_opening", "opened", opened, None, reason="opening record published")
        later = [("start_evaluation", "evaluating"), ("publish_candidates", "publicity"), ("award", "awarded"),
                 ("sign_contract", "contracted"), ("close", "closed")]
        at = opened
        for action, state in later[:rng.randrange(0, len(later) + 1)]:
            at = at + dt.timedelta(days=rng.uniform(1, 6))
            if at >= self.now:
                break
            self._transition(lot, action, state, at, None)

    def _notice(self, lot: dict, kind: str, title: str, at: dt.datetime, body: str) -> None:
        category, region = self.filed[lot["id"]]
        row = {"lot_id": lot["id"], "kind": kind, "title": title[:300], "body": body, "published_at": at,
               "category": category, "region": region, "city": region[:4]}
        self.rows.notices.append(row)

    def _transition(self, lot: dict, action: str, to_state: str, at: dt.datetime, actor, reason: str = "") -> None:
        row = {"lot_id": lot["id"], "action": action, "from_state": lot["state"], "to_state": to_state, "at": at,
               "actor_id": actor, "reason": reason}
        if to_state == "suspended":
            lot["resume_state"] = lot["state"]
        elif action == "resume":
            lot["resume_state"] = None
        lot["state"], lot["state_reason"] = to_state, reason
        self.rows.transitions.append(row)

    def _number(self) -> None:
        """Ids in time order, as rows written one by one over two years would have them."""
        for name in ("notices", "transitions"):
            getattr(self.rows, name).sort(key=lambda r: r["published_at" if name == "notices" else "at"])
            for i, row in enumerate(getattr(self.rows, name), 1):
                row["id"] = i


def agencies(count: int = 12) -> list[tuple[int, int]]:
    """Agency organisations with one user each, through the identity services: (org id, user id)."""
    from core.events import commit
    from tests.factories import make_user

    users = [make_user("agency") for _ in range(count)]
    commit()
    return [(u.organisation_id, u.id) for u in users]


def seed(*, target: int, seed_value: int = 20261210, batch: int = 5000) -> dict:
    """Write ``target`` notices and everything they hang off (call inside an app context, on empty
    trading tables); returns the row counts."""
    from core.clock import now
    from core.db import db
    from trading.models import Amendment, Lot, LotTransition, Notice, Project, TenderDocument

    builder = Builder(rng=random.Random(seed_value), now=now(), agencies=agencies(), target=target)
    rows = builder.build()
    plan = ((Project, rows.projects), (Lot, rows.lots), (TenderDocument, rows.documents),
            (Amendment, rows.amendments), (Notice, rows.notices), (LotTransition, rows.transitions))
    conn = db.session.connection()
    for model, items in plan:
        for start in range(0, len(items), batch):
            conn.execute(insert(model.__table__), items[start:start + batch])
    if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for model, _items in plan:
            table = model.__table__.name
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    db.session.commit()
    return {name: len(getattr(rows, name)) for name in ("projects", "lots", "notices", "amendments", "documents",
                                                        "transitions")}
