"""The lot lifecycle (DESIGN §4) as data: states, and for each transition its sources, target and actors.

``draft → published → bidding_closed → opening → opened | failed → evaluating → publicity →
awarded → contracted → closed``; ``suspended`` (a supervisor's instruction, EBM Art.52) resumes to
where it was; ``cancelled`` from any live state.  Pure: services ask :func:`next_state` and store
the answer, so no code path can invent a transition the table does not list.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trading.errors import StateConflict


class LotState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    BIDDING_CLOSED = "bidding_closed"
    OPENING = "opening"
    OPENED = "opened"
    FAILED = "failed"
    EVALUATING = "evaluating"
    PUBLICITY = "publicity"
    AWARDED = "awarded"
    CONTRACTED = "contracted"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


S = LotState
TERMINAL = frozenset({S.CLOSED, S.FAILED, S.CANCELLED})
LIVE = frozenset(LotState) - TERMINAL
#: states a bidder can see on the portal (a draft is nobody's business but its agency's)
PUBLIC = frozenset(LotState) - {S.DRAFT}
#: states from which a supervisor may suspend: the trade has begun and has not ended
SUSPENDABLE = LIVE - {S.DRAFT, S.SUSPENDED}


@dataclass(frozen=True)
class Transition:
    """One step: allowed ``sources``, ``target`` (None: back to the state before suspension),
    ``actors`` (roles, ``owner`` = the lot's agency organisation, grants, ``system``) and its basis."""

    name: str
    sources: frozenset
    target: LotState | None
    actors: tuple[str, ...]
    article: str = ""


_OWNER = ("agency:owner", "grant:tenderee_rep")
TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("publish", frozenset({S.DRAFT}), S.PUBLISHED, _OWNER, "招标投标法 第十六条；电子招标投标办法 第十七条"),
    Transition("close_bidding", frozenset({S.PUBLISHED}), S.BIDDING_CLOSED, ("system",), "招标投标法 第二十八条"),
    Transition("fail", frozenset({S.PUBLISHED, S.BIDDING_CLOSED, S.OPENING}), S.FAILED,
               ("system", "grant:opening_host"), "招标投标法实施条例 第四十四条"),
    Transition("start_opening", frozenset({S.BIDDING_CLOSED}), S.OPENING, ("system", "grant:opening_host"),
               "招标投标法 第三十四条"),
    Transition("finish_opening", frozenset({S.OPENING}), S.OPENED, ("grant:opening_host",), "电子招标投标办法 第三十二条"),
    Transition("start_evaluation", frozenset({S.OPENED}), S.EVALUATING, ("system", *_OWNER), "招标投标法 第三十七条"),
    Transition("publish_candidates", frozenset({S.EVALUATING}), S.PUBLICITY, _OWNER, "招标投标法实施条例 第五十四条"),
    Transition("award", frozenset({S.PUBLICITY}), S.AWARDED, _OWNER, "招标投标法 第四十五条"),
    Transition("sign_contract", frozenset({S.AWARDED}), S.CONTRACTED, _OWNER, "招标投标法 第四十六条"),
    Transition("close", frozenset({S.CONTRACTED}), S.CLOSED, (*_OWNER, "system"), "招标投标法 第四十七条"),
    Transition("suspend", SUSPENDABLE, S.SUSPENDED, ("supervisor",), "电子招标投标办法 第五十二条"),
    Transition("resume", frozenset({S.SUSPENDED}), None, ("supervisor",), "电子招标投标办法 第五十二条"),
    Transition("cancel", LIVE, S.CANCELLED, _OWNER, "招标投标法实施条例 第三十一条"),
)}


def next_state(state: str, name: str, *, resume_to: str | None = None) -> LotState:
    """The state after ``name`` from ``state``; ``resume_to`` is the state saved at suspension.

    :raises StateConflict: the transition does not start from ``state`` (409, naming the sources)
    """
    step = TRANSITIONS[name]
    current = LotState(state)
    if current not in step.sources:
        allowed = ", ".join(sorted(step.sources))
        raise StateConflict(f"cannot {name.replace('_', ' ')} a lot that is {current}; "
                            f"allowed from: {allowed}", code=f"cannot_{name}", rule=step.article or None,
                            state=str(current))
    if step.target is None:
        if resume_to is None:
            raise StateConflict("the state before the suspension is unknown", code="cannot_resume")
        return LotState(resume_to)
    return step.target


def describe() -> list[dict]:
    """The table as data (docs, the API, the tests)."""
    return [{"name": t.name, "sources": sorted(t.sources), "target": t.target or "(state before suspension)",
             "actors": list(t.actors), "article": t.article} for t in TRANSITIONS.values()]
