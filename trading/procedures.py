"""The procedure table (DESIGN §4): one declarative config per (category, trade mode).

Like Prozorro's per-procedure config, every validator of the trading domain derives from a row of
this table, and every limit carries the article it comes from, so a refusal can cite it.  Pure:
no database, no Flask request; legal days come from :mod:`core.calendar` (GP87 Art.85-86
semantics, holiday table).  The demo row counts minutes instead of days and exists only when
``GGZY_ENV=demo``.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from core import calendar as cal
from trading.errors import RuleViolation

logger = logging.getLogger(__name__)

TBL = "招标投标法"
TBR = "招标投标法实施条例"
GPL = "政府采购法"
GPR = "政府采购法实施条例"
GP87 = "政府采购货物和服务招标投标管理办法(财政部令第87号)"
EBM = "电子招标投标办法"

CATEGORIES = ("construction", "gov_procurement", "demo")
MODES = ("open", "invited")


class CalendarMissing(RuleViolation):
    """A deadline falls in a year the holiday table does not cover: refuse rather than guess."""

    code = "calendar_year_missing"


@dataclass(frozen=True)
class Limit:
    """One time limit: ``days`` legal days (calendar or working, GP87 Art.85 counting) or ``minutes``.

    Minutes exist only for the demo procedure, so a newcomer can watch a lot close in a few
    minutes; every real row counts legal days through :mod:`core.calendar`.
    """

    days: int = 0
    kind: cal.Kind = "calendar"
    minutes: int = 0
    article: str = ""
    extend_if_holiday: bool = True

    @property
    def rule(self) -> cal.PeriodRule:
        return cal.PeriodRule(self.days, kind=self.kind, extend_if_holiday=self.extend_if_holiday,
                              article=self.article)

    def describe(self) -> str:
        if self.minutes:
            return f"{self.minutes} minutes"
        return f"{self.days} {'working' if self.kind == 'working' else 'calendar'} days"

    def earliest_end(self, start: dt.datetime) -> dt.datetime:
        """The first instant an end may have for "≥ N from ``start``" (start of the earliest legal day)."""
        if self.minutes:
            return start + dt.timedelta(minutes=self.minutes)
        day = _calendar(lambda: self.rule.deadline_from(start))
        return dt.datetime.combine(day, dt.time.min, tzinfo=cal.SHANGHAI).astimezone(dt.UTC)

    def satisfied(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Minimum period ("不得少于N日"): exactly N is enough, N−1 ("不足") is not (GP87 Art.86)."""
        return end >= self.earliest_end(start)

    def last_instant(self, start: dt.datetime) -> dt.datetime:
        """When "within N of ``start``" runs out: the end of the last legal day (民法典 Art.203: 24:00)."""
        if self.minutes:
            return start + dt.timedelta(minutes=self.minutes)
        return _calendar(lambda: self.rule.end_instant_from(start))

    def within(self, start: dt.datetime, act: dt.datetime) -> bool:
        return act <= self.last_instant(start)

    def lead_ok(self, notice: dt.datetime, deadline: dt.datetime) -> bool:
        """Lead time ("截止时间至少N日前"): the notice day excluded, the deadline day included."""
        if self.minutes:
            return deadline - notice >= dt.timedelta(minutes=self.minutes)
        return _calendar(lambda: self.rule.lead_satisfied(notice, deadline))

    def postponed(self, notice: dt.datetime, deadline: dt.datetime) -> dt.datetime:
        """The earliest deadline that gives the lead time, keeping the deadline's Beijing time of day.

        A moved deadline lands on a working day: an opening on a public holiday serves nobody, and
        moving it later only lengthens the bidders' time (TBR Art.21 sets a minimum).
        """
        if self.lead_ok(notice, deadline):
            return deadline
        if self.minutes:
            return notice + dt.timedelta(minutes=self.minutes)
        day = _calendar(lambda: cal.next_working_day(
            cal.postponed_deadline(notice, deadline, self.days, kind=self.kind)))
        local = deadline.astimezone(cal.SHANGHAI)
        return dt.datetime.combine(day, local.timetz().replace(tzinfo=None),
                                   tzinfo=cal.SHANGHAI).astimezone(dt.UTC)


def _calendar(compute):
    try:
        return compute()
    except cal.CalendarYearMissing as err:
        raise CalendarMissing(str(err), rule=cal.ART_85) from None


@dataclass(frozen=True)
class Count:
    """A number limit with its article (minimum bids, maximum candidates, minimum invitees)."""

    value: int
    article: str


@dataclass(frozen=True)
class Ratio:
    """A money cap as a share of a base amount (bond ≤ 2 % of the estimate or budget)."""

    value: Decimal
    base: str
    article: str


@dataclass(frozen=True)
class ProcedureConfig:
    """Everything the lifecycle needs to know about one (category, trade mode)."""

    key: str
    category: str
    mode: str
    title: str
    bidding_period: Limit
    doc_issue: Limit
    amendment_lead: Limit
    objection_reply: Limit
    min_bids: Count
    max_candidates: Count
    bond_max: Ratio
    performance_bond_max: Ratio
    publicity: Limit
    publicity_start: Limit
    contract_within: Limit
    report_within: Limit
    #: objections to the documents must come ≥ N before the deadline (TBR Art.22) …
    objection_lead: Limit | None = None
    #: … or within N of when the supplier got the documents (GPL Art.52, GPR Art.53)
    objection_window: Limit | None = None
    #: the lot waits while an objection is unanswered (TBR Art.22 "作出答复前，应当暂停招标投标活动")
    objection_suspends: str = ""
    min_invitees: Count | None = None
    opening_at_deadline: str = f"{TBL} 第三十四条"
    demo_only: bool = False
    notes: tuple[str, ...] = field(default=())

    def limits(self) -> dict[str, Limit]:
        """Every time limit of the row by name (documentation, the API and the tests iterate it)."""
        names = ("bidding_period", "doc_issue", "amendment_lead", "objection_lead", "objection_window",
                 "objection_reply", "publicity", "publicity_start", "contract_within", "report_within")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def _construction(mode: str) -> ProcedureConfig:
    return ProcedureConfig(
        key=f"construction.{mode}", category="construction", mode=mode,
        title="工程建设项目" + ("公开招标" if mode == "open" else "邀请招标"),
        bidding_period=Limit(20, article=f"{TBL} 第二十四条"),
        doc_issue=Limit(5, article=f"{TBR} 第十六条"),
        amendment_lead=Limit(15, article=f"{TBL} 第二十三条；{TBR} 第二十一条"),
        objection_lead=Limit(10, article=f"{TBR} 第二十二条"),
        objection_reply=Limit(3, article=f"{TBR} 第二十二条"),
        objection_suspends=f"{TBR} 第二十二条",
        min_bids=Count(3, f"{TBR} 第四十四条"),
        max_candidates=Count(3, f"{TBR} 第五十三条"),
        bond_max=Ratio(Decimal("0.02"), "estimate", f"{TBR} 第二十六条"),
        performance_bond_max=Ratio(Decimal("0.10"), "contract", f"{TBR} 第五十八条"),
        publicity=Limit(3, article=f"{TBR} 第五十四条"),
        publicity_start=Limit(3, article=f"{TBR} 第五十四条"),
        contract_within=Limit(30, article=f"{TBL} 第四十六条"),
        report_within=Limit(15, article=f"{TBL} 第四十七条"),
        min_invitees=Count(3, f"{TBL} 第十七条") if mode == "invited" else None,
    )


def _procurement(mode: str) -> ProcedureConfig:
    return ProcedureConfig(
        key=f"gov_procurement.{mode}", category="gov_procurement", mode=mode,
        title="政府采购" + ("公开招标" if mode == "open" else "邀请招标"),
        bidding_period=Limit(20, article=f"{GPL} 第三十五条"),
        doc_issue=Limit(5, kind="working", article=f"{GPR} 第三十一条"),
        amendment_lead=Limit(15, article=f"{GP87} 第二十七条"),
        objection_window=Limit(7, kind="working", article=f"{GPL} 第五十二条；{GPR} 第五十三条"),
        objection_reply=Limit(7, kind="working", article=f"{GPL} 第五十三条"),
        min_bids=Count(3, f"{GPL} 第三十六条；{GP87} 第四十一条"),
        max_candidates=Count(3, f"{GPR} 第四十三条"),
        bond_max=Ratio(Decimal("0.02"), "budget", f"{GPR} 第三十三条"),
        performance_bond_max=Ratio(Decimal("0.10"), "contract", f"{GPR} 第四十八条"),
        publicity=Limit(1, kind="working", article=f"{GP87} 第六十九条"),
        publicity_start=Limit(2, kind="working", article=f"{GPR} 第四十三条"),
        contract_within=Limit(30, article=f"{GPL} 第四十六条"),
        report_within=Limit(7, kind="working", article=f"{GPL} 第四十七条"),
        min_invitees=Count(3, f"{GPL} 第三十四条") if mode == "invited" else None,
        notes=("质疑 does not suspend by law; the supervisor may suspend (政府采购法 第五十七条)",
               "report_within is the contract filing (合同备案) of 政府采购法 第四十七条",
               "max_candidates: 政府采购法实施条例 第四十三条 orders the candidates; the cap of 3 is "
               "practice (GP87) not yet checked against the primary text [M]"),
    )


def _demo() -> ProcedureConfig:
    """Minutes instead of days, so the demo shows a lot closing while the newcomer watches."""
    demo = "demo only (GGZY_ENV=demo)"
    return ProcedureConfig(
        key="demo.open", category="demo", mode="open", title="演示用短周期程序 (demo)",
        bidding_period=Limit(minutes=5, article=demo), doc_issue=Limit(minutes=2, article=demo),
        amendment_lead=Limit(minutes=3, article=demo), objection_lead=Limit(minutes=2, article=demo),
        objection_reply=Limit(minutes=3, article=demo), objection_suspends=demo,
        min_bids=Count(3, f"{TBR} 第四十四条"), max_candidates=Count(3, f"{TBR} 第五十三条"),
        bond_max=Ratio(Decimal("0.02"), "estimate", f"{TBR} 第二十六条"),
        performance_bond_max=Ratio(Decimal("0.10"), "contract", f"{TBR} 第五十八条"),
        publicity=Limit(minutes=3, article=demo), publicity_start=Limit(minutes=3, article=demo),
        contract_within=Limit(minutes=30, article=demo), report_within=Limit(minutes=15, article=demo),
        demo_only=True,
    )


PROCEDURES: dict[str, ProcedureConfig] = {
    c.key: c for c in (_construction("open"), _construction("invited"), _procurement("open"),
                       _procurement("invited"), _demo())}


def procedure_for(category: str, mode: str, *, env: str) -> ProcedureConfig:
    """The row for (category, mode); the demo row is refused outside ``GGZY_ENV=demo``.

    :raises RuleViolation: unknown procedure, or the demo procedure outside the demo
    """
    config = PROCEDURES.get(f"{category}.{mode}")
    if config is None:
        raise RuleViolation(f"no procedure for category {category!r} and mode {mode!r}",
                            code="unknown_procedure")
    if config.demo_only and env != "demo":
        raise RuleViolation("the short demo procedure exists only when GGZY_ENV=demo",
                            code="demo_procedure_refused")
    return config


# --------------------------------------------------------------------------------------------------
# Validators derived from a row
# --------------------------------------------------------------------------------------------------


def check_schedule(config: ProcedureConfig, *, issue_start: dt.datetime, issue_end: dt.datetime,
                   deadline: dt.datetime) -> None:
    """Publishing: bidding period ≥ 20 days, document issue ≥ 5 (working) days, issue ends by the deadline.

    :raises RuleViolation: ``bidding_period_too_short``, ``doc_issue_too_short``, ``doc_issue_after_deadline``
    """
    if not config.bidding_period.satisfied(issue_start, deadline):
        earliest = config.bidding_period.earliest_end(issue_start)
        raise RuleViolation(f"the bid deadline must be on or after {_local(earliest)} "
                            f"({config.bidding_period.describe()} from the first issue of the documents)",
                            code="bidding_period_too_short", rule=config.bidding_period.article)
    if not config.doc_issue.satisfied(issue_start, issue_end):
        raise RuleViolation(f"documents must be on offer for at least {config.doc_issue.describe()}; "
                            f"the issue may end on {_local(config.doc_issue.earliest_end(issue_start))} at the earliest",
                            code="doc_issue_too_short", rule=config.doc_issue.article)
    if issue_end > deadline:
        raise RuleViolation("the document issue cannot end after the bid deadline",
                            code="doc_issue_after_deadline", rule=config.bidding_period.article)


def amended_deadline(config: ProcedureConfig, *, issued_at: dt.datetime, deadline: dt.datetime,
                     requested: dt.datetime | None) -> dt.datetime:
    """The deadline after an amendment: < 15 days before it moves it (TBR Art.21 "应当顺延").

    A requested new deadline must itself leave the lead time; without one the deadline moves to
    the earliest compliant date, same time of day.  A requested deadline may never be earlier
    than the current one (bidders plan on it).

    :raises RuleViolation: ``amendment_deadline_too_early``
    """
    lead = config.amendment_lead
    if requested is None:
        return lead.postponed(issued_at, deadline)
    if requested < deadline:
        raise RuleViolation("an amendment may postpone the bid deadline, never bring it forward",
                            code="deadline_brought_forward", rule=lead.article)
    if not lead.lead_ok(issued_at, requested):
        earliest = lead.postponed(issued_at, requested)
        raise RuleViolation(f"an amendment needs {lead.describe()} before the deadline: "
                            f"the new deadline must be on or after {_local(earliest)}",
                            code="amendment_deadline_too_early", rule=lead.article)
    return requested


def check_objection_time(config: ProcedureConfig, *, filed_at: dt.datetime, deadline: dt.datetime,
                         knew_at: dt.datetime) -> None:
    """Objection to the tender documents in time: ≥ 10 days before the deadline (TBR Art.22), or
    within 7 working days of getting the documents (GPL Art.52, GPR Art.53).

    :raises RuleViolation: ``objection_too_late``
    """
    if filed_at >= deadline:
        raise RuleViolation("the bid deadline has passed", code="objection_too_late",
                            rule=(config.objection_lead or config.objection_window).article)
    if config.objection_lead and not config.objection_lead.lead_ok(filed_at, deadline):
        raise RuleViolation(f"objections to the tender documents must be raised at least "
                            f"{config.objection_lead.describe()} before the bid deadline",
                            code="objection_too_late", rule=config.objection_lead.article)
    if config.objection_window and not config.objection_window.within(knew_at, filed_at):
        raise RuleViolation(f"a challenge (质疑) to the documents must come within "
                            f"{config.objection_window.describe()} of obtaining them",
                            code="objection_too_late", rule=config.objection_window.article)


def reply_due(config: ProcedureConfig, filed_at: dt.datetime) -> dt.datetime:
    """When the reply to an objection is due (3 days, TBR Art.22; 7 working days, GPL Art.53)."""
    return config.objection_reply.last_instant(filed_at)


def cap_of(base: Decimal, ratio: Decimal) -> Decimal:
    """The largest amount in cents that does not exceed ``ratio`` of ``base``: rounded down, because a
    cap rounded to nearest lets 20,000.02 pass as 2 % of 1,000,000.75 (20,000.015)."""
    return (base * ratio).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def check_bond(config: ProcedureConfig, *, bond: Decimal | None, base: Decimal) -> None:
    """Bid bond ≤ 2 % of the estimate (TBR Art.26) or budget (GPR Art.33).

    :raises RuleViolation: ``bond_too_high``
    """
    if bond is None:
        return
    cap = cap_of(base, config.bond_max.value)
    if bond > cap:
        raise RuleViolation(f"the bid bond may not exceed {config.bond_max.value:%} of the "
                            f"{config.bond_max.base} ({cap})", code="bond_too_high", rule=config.bond_max.article)


def check_performance_bond(config: ProcedureConfig, *, bond: Decimal, contract: Decimal) -> None:
    """Performance bond ≤ 10 % of the contract (TBR Art.58, GPR Art.48)."""
    cap = cap_of(contract, config.performance_bond_max.value)
    if bond > cap:
        raise RuleViolation(f"the performance bond may not exceed {cap}", code="performance_bond_too_high",
                            rule=config.performance_bond_max.article)


def check_candidates(config: ProcedureConfig, count: int) -> None:
    """At most 3 ranked candidates (TBR Art.53)."""
    if count > config.max_candidates.value:
        raise RuleViolation(f"at most {config.max_candidates.value} candidates", code="too_many_candidates",
                            rule=config.max_candidates.article)


def check_invitees(config: ProcedureConfig, count: int) -> None:
    """Invited tendering goes to at least 3 invitees (TBL Art.17, GPL Art.34)."""
    if config.min_invitees and count < config.min_invitees.value:
        raise RuleViolation(f"invited tendering needs at least {config.min_invitees.value} invited bidders",
                            code="too_few_invitees", rule=config.min_invitees.article)


def enough_bids(config: ProcedureConfig, count: int) -> bool:
    """Fewer than 3 bids: no opening, re-tender (TBR Art.44 ¶2)."""
    return count >= config.min_bids.value


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(cal.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def as_dict(config: ProcedureConfig) -> dict:
    """The row as JSON-ready data (the public /procedures endpoint and docs)."""
    limits = {name: {"days": lim.days, "kind": lim.kind, "minutes": lim.minutes, "article": lim.article,
                     "text": lim.describe()} for name, lim in config.limits().items()}
    counts = {name: {"value": c.value, "article": c.article} for name, c in (
        ("min_bids", config.min_bids), ("max_candidates", config.max_candidates),
        ("min_invitees", config.min_invitees)) if c is not None}
    ratios = {name: {"value": str(r.value), "base": r.base, "article": r.article} for name, r in (
        ("bond_max", config.bond_max), ("performance_bond_max", config.performance_bond_max))}
    return {"key": config.key, "category": config.category, "mode": config.mode, "title": config.title,
            "limits": limits, "counts": counts, "ratios": ratios,
            "objection_suspends": config.objection_suspends, "opening_at_deadline": config.opening_at_deadline,
            "demo_only": config.demo_only, "notes": list(config.notes)}
