"""The lifecycle table: each transition only from its listed source states (DESIGN §4)."""
from __future__ import annotations

import pytest

from trading import fsm
from trading.errors import StateConflict
from trading.fsm import TRANSITIONS, S, next_state


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_each_transition_only_from_its_sources(name):
    step = TRANSITIONS[name]
    for state in fsm.LotState:
        if state in step.sources:
            resume = str(S.PUBLISHED) if step.target is None else None
            assert next_state(state, name, resume_to=resume) == (step.target or S.PUBLISHED)
        else:
            with pytest.raises(StateConflict) as err:
                next_state(state, name)
            assert err.value.status == 409 and err.value.code == f"cannot_{name}"


def test_the_happy_path_is_the_documented_chain():
    chain = ["publish", "close_bidding", "start_opening", "finish_opening", "start_evaluation",
             "publish_candidates", "award", "sign_contract", "close"]
    state = S.DRAFT
    for name in chain:
        state = next_state(state, name)
    assert state == S.CLOSED


def test_suspension_resumes_to_where_it_was_and_cancel_from_any_live_state():
    for state in fsm.SUSPENDABLE:
        assert next_state(state, "suspend") == S.SUSPENDED
        assert next_state(S.SUSPENDED, "resume", resume_to=state) == state
    for state in fsm.LIVE:
        assert next_state(state, "cancel") == S.CANCELLED
    for state in fsm.TERMINAL:
        with pytest.raises(StateConflict):
            next_state(state, "cancel")


def test_every_transition_names_its_actors_and_supervisors_only_instruct():
    for step in TRANSITIONS.values():
        assert step.actors and step.article
        if "supervisor" in step.actors:
            assert step.name in ("suspend", "resume"), "EBM Art.3: supervisors do not change tender content"


def test_describe_is_json_ready():
    rows = fsm.describe()
    assert {r["name"] for r in rows} == set(TRANSITIONS)
    assert next(r for r in rows if r["name"] == "resume")["target"] == "(state before suspension)"
