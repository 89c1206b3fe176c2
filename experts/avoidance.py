"""Avoidance (回避) as a pure function over plain facts: who may not sit on a lot's committee, and why.

Kept free of the database so every rule has a small, exact test (an excluded case and a near twin
that is not excluded) and so the benchmark measures the rules apart from the reads.  The services
turn rows into :class:`ExpertFacts` and a :class:`LotContext`; the reasons become the draw's
published exclusion list (pseudonym + reason codes, never names).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

#: reason code → the rule it applies (shown to supervisors and in the published exclusion list)
REASONS: dict[str, str] = {
    "employer_tenderee": "政府采购货物和服务招标投标管理办法 第四十七条; 招标投标法实施条例 第四十六条",
    "employer_agency": "招标投标法 第三十七条 第四款 (与投标人/代理机构有利害关系)",
    "employer_bidder": "招标投标法 第三十七条 第四款; 评标委员会和评标方法暂行规定 第十二条",
    "relative_of_bidder": "评标委员会和评标方法暂行规定 第十二条 (一)",
    "interest_in_bidder": "评标委员会和评标方法暂行规定 第十二条 (三)",
    "supervising_department": "招标投标法实施条例 第四十六条 第四款; 暂行规定 第十二条 (二)",
    "prior_penalty": "评标委员会和评标方法暂行规定 第十二条 (四)",
    "suspended": "招标投标法实施条例 第七十二条 (暂停评标资格)",
    "banned": "招标投标法实施条例 第七十二条 (禁止参加评标)",
    "frequency": "专家库管理办法: 同一招标人 12 个月内抽取次数上限 (可配置)",
    "region_excluded": "抽取规则: 回避本地区 (可配置)",
    "region_outside": "抽取规则: 限定地区 (可配置)",
    "already_member": "招标投标法实施条例 第四十六条 (同一委员会不重复)",
    "declined": "招标投标法实施条例 第四十六条 第二款 (拒绝/未确认, 按原条件补抽)",
    "conflict_declared": "招标投标法实施条例 第四十六条 第三款 (主动回避)",
    "left_pool": "已不在专家库该专业 (补抽时跳过)",
}
PENALTY_KINDS = frozenset({"administrative_penalty", "criminal_penalty"})


@dataclass(slots=True)
class ExpertFacts:
    """What the rules need to know about one expert (ids and hashes, no names).

    Not frozen: a draw builds thousands of these, and a frozen dataclass's __init__ is several times
    slower; nothing mutates them after construction.
    """

    id: int
    employer_uscc: str
    region: str
    status: str = "active"
    ban_until: dt.datetime | None = None
    #: USCCs of organisations in which a declared relative works or holds office
    relative_orgs: frozenset = frozenset()
    #: id-number hashes of declared near relatives
    relative_persons: frozenset = frozenset()
    #: USCCs of organisations in which the expert has an economic interest
    interest_orgs: frozenset = frozenset()
    #: id-number hashes of persons with whom the expert has an economic interest
    interest_persons: frozenset = frozenset()
    credit_kinds: frozenset = frozenset()
    #: how often the expert already sat for this lot's tenderee within the last 12 months
    tenderee_count_12m: int = 0


@dataclass(frozen=True)
class LotContext:
    """The lot's parties and the configurable draw rules."""

    tenderee_uscc: str = ""
    agency_uscc: str = ""
    bidder_usccs: frozenset = frozenset()
    #: id-number hashes of the bidders' legal representatives (单位负责人)
    bidder_person_hashes: frozenset = frozenset()
    supervising_usccs: frozenset = frozenset()
    region_exclude: tuple = ()
    region_include: tuple = ()
    #: more than this many sittings for the same tenderee in 12 months excludes (None: no rule)
    frequency_limit: int | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime(1970, 1, 1, tzinfo=dt.UTC))


def reasons(expert: ExpertFacts, lot: LotContext) -> list[str]:
    """Every reason code that bars ``expert`` from ``lot``, in a fixed order (empty: eligible)."""
    found = []
    for code, check in _CHECKS:
        if check(expert, lot):
            found.append(code)
    return found


def _employer(party: str):
    return lambda e, lot: bool(e.employer_uscc) and e.employer_uscc == getattr(lot, party)


def _banned(e: ExpertFacts, lot: LotContext) -> bool:
    return e.status == "banned" and (e.ban_until is None or e.ban_until > lot.at)


def _region_outside(e: ExpertFacts, lot: LotContext) -> bool:
    return bool(lot.region_include) and not any(e.region.startswith(p) for p in lot.region_include)


_CHECKS = (
    ("employer_tenderee", _employer("tenderee_uscc")),
    ("employer_agency", _employer("agency_uscc")),
    ("employer_bidder", lambda e, lot: e.employer_uscc in lot.bidder_usccs),
    ("relative_of_bidder", lambda e, lot: bool(e.relative_orgs & lot.bidder_usccs
                                               or e.relative_persons & lot.bidder_person_hashes)),
    ("interest_in_bidder", lambda e, lot: bool(e.interest_orgs & lot.bidder_usccs
                                               or e.interest_persons & lot.bidder_person_hashes)),
    ("supervising_department", lambda e, lot: e.employer_uscc in lot.supervising_usccs),
    ("prior_penalty", lambda e, lot: bool(e.credit_kinds & PENALTY_KINDS)),
    ("suspended", lambda e, lot: e.status == "suspended"),
    ("banned", _banned),
    ("frequency", lambda e, lot: lot.frequency_limit is not None and e.tenderee_count_12m > lot.frequency_limit),
    ("region_excluded", lambda e, lot: any(e.region.startswith(p) for p in lot.region_exclude)),
    ("region_outside", _region_outside),
)


def parties(lot: LotContext) -> set:
    """Every organisation an expert's employer must not be (tenderee, agency, bidders, supervisors)."""
    return {lot.tenderee_uscc, lot.agency_uscc} | lot.bidder_usccs | lot.supervising_usccs


def row_check(lot: LotContext) -> Callable[[str, str, str], bool]:
    """``clear(status, employer_uscc, region)``: the part of the fast path that needs only the
    expert's own row, with the lot's parties and region prefixes prepared once.

    The draw calls it on every candidate row and builds :class:`ExpertFacts` only for rows that fail
    it or that have a declaration, penalty or sitting on record; everyone else is plainly clear.
    """
    barred_orgs, exclude = parties(lot), tuple(lot.region_exclude)
    include = tuple(lot.region_include) or ("",)  # no include rule: every region qualifies

    def clear(status: str, employer_uscc: str, region: str) -> bool:
        return (status == "active" and employer_uscc not in barred_orgs and not region.startswith(exclude)
                and region.startswith(include))
    return clear


def exclusions(experts: list[ExpertFacts], lot: LotContext) -> dict[int, list[str]]:
    """expert id → reasons, for the barred experts only.

    Most of a large candidate set is plainly clear; :func:`_plainly_clear` lets those skip the twelve
    checks.  It only ever answers "clear" when :func:`reasons` would (a property test holds them equal).
    """
    clear_row = row_check(lot)
    out = {}
    for expert in experts:
        if _plainly_clear(expert, lot, clear_row):
            continue
        found = reasons(expert, lot)
        if found:
            out[expert.id] = found
    return out


def _plainly_clear(e: ExpertFacts, lot: LotContext, clear_row) -> bool:
    return (clear_row(e.status, e.employer_uscc, e.region)
            and not e.relative_orgs and not e.relative_persons and not e.interest_orgs
            and not e.interest_persons and not e.credit_kinds
            and (lot.frequency_limit is None or e.tenderee_count_12m <= lot.frequency_limit))
