"""Every avoidance rule: a case that must be excluded and a near twin that must not."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experts import avoidance as av
from experts import selection as sel

AT = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
TENDEREE, AGENCY, BIDDER, OTHER, SUPERVISOR = "T" * 18, "A" * 18, "B" * 18, "O" * 18, "S" * 18
LEGAL_REP = "hash-of-legal-rep"
LOT = av.LotContext(tenderee_uscc=TENDEREE, agency_uscc=AGENCY, bidder_usccs=frozenset({BIDDER}),
                    bidder_person_hashes=frozenset({LEGAL_REP}), supervising_usccs=frozenset({SUPERVISOR}),
                    region_exclude=("3302",), frequency_limit=2, at=AT)
BASE = av.ExpertFacts(id=1, employer_uscc=OTHER, region="3301")

# (reason, excluded case, near twin, lot context if not LOT)
CASES = [
    ("employer_tenderee", {"employer_uscc": TENDEREE}, {"employer_uscc": OTHER}, None),
    ("employer_agency", {"employer_uscc": AGENCY}, {"employer_uscc": OTHER}, None),
    ("employer_bidder", {"employer_uscc": BIDDER}, {"employer_uscc": OTHER}, None),
    ("relative_of_bidder", {"relative_orgs": frozenset({BIDDER})}, {"relative_orgs": frozenset({OTHER})}, None),
    ("relative_of_bidder", {"relative_persons": frozenset({LEGAL_REP})},
     {"relative_persons": frozenset({"someone-else"})}, None),
    ("interest_in_bidder", {"interest_orgs": frozenset({BIDDER})}, {"interest_orgs": frozenset({OTHER})}, None),
    ("interest_in_bidder", {"interest_persons": frozenset({LEGAL_REP})},
     {"interest_persons": frozenset({"someone-else"})}, None),
    ("supervising_department", {"employer_uscc": SUPERVISOR}, {"employer_uscc": OTHER}, None),
    ("prior_penalty", {"credit_kinds": frozenset({"administrative_penalty"})},
     {"credit_kinds": frozenset({"warning"})}, None),
    ("prior_penalty", {"credit_kinds": frozenset({"criminal_penalty"})},
     {"credit_kinds": frozenset({"praise"})}, None),
    ("suspended", {"status": "suspended"}, {"status": "active"}, None),
    ("banned", {"status": "banned", "ban_until": AT + dt.timedelta(seconds=1)},
     {"status": "banned", "ban_until": AT}, None),
    ("banned", {"status": "banned", "ban_until": None}, {"status": "active", "ban_until": None}, None),
    ("frequency", {"tenderee_count_12m": 3}, {"tenderee_count_12m": 2}, None),
    ("region_excluded", {"region": "330203"}, {"region": "330103"}, None),
    ("region_outside", {"region": "110101"}, {"region": "330101"},
     av.LotContext(region_include=("33",), at=AT)),
]


@pytest.mark.parametrize(("reason", "excluded", "twin", "lot"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_excludes_the_case_and_not_its_near_twin(reason, excluded, twin, lot):
    lot = lot or LOT
    assert reason in av.reasons(_expert(**excluded), lot)
    assert av.reasons(_expert(**twin), lot) == []


def _expert(**changes) -> av.ExpertFacts:
    return dataclasses.replace(BASE, **changes)


def test_no_frequency_rule_when_unset_and_every_reason_cites_a_rule():
    lot = av.LotContext(frequency_limit=None, at=AT)
    assert av.reasons(_expert(tenderee_count_12m=99), lot) == []
    assert {c[0] for c in CASES} <= set(av.REASONS)


def test_empty_employer_never_matches_an_unknown_tenderee():
    assert av.reasons(_expert(employer_uscc=""), av.LotContext(at=AT)) == []


facts = st.builds(
    av.ExpertFacts, id=st.integers(1, 10**6),
    employer_uscc=st.sampled_from([TENDEREE, AGENCY, BIDDER, OTHER, SUPERVISOR, ""]),
    region=st.sampled_from(["330203", "330101", "110101"]),
    status=st.sampled_from(["active", "suspended", "banned"]),
    relative_orgs=st.frozensets(st.sampled_from([BIDDER, OTHER]), max_size=2),
    interest_persons=st.frozensets(st.sampled_from([LEGAL_REP, "x"]), max_size=2),
    credit_kinds=st.frozensets(st.sampled_from(["administrative_penalty", "warning"]), max_size=2),
    tenderee_count_12m=st.integers(0, 4))


@settings(max_examples=100, deadline=None)
@given(pool=st.lists(facts, min_size=1, max_size=40, unique_by=lambda e: e.id), seed_n=st.integers(0, 10**6))
def test_avoidance_then_draw_never_seats_a_barred_expert(pool, seed_n):
    """End to end over the pure parts: whatever the pool, nobody with a reason is drawn."""
    barred = av.exclusions(pool, LOT)
    salt = b"k" * 32
    names = {e.id: sel.pseudonym(expert_id=e.id, nonce_hex=sel.entry_nonce(salt=salt, expert_id=e.id)) for e in pool}
    snap = sorted(({"p": names[e.id], "s": ["A01"], "r": e.region} for e in pool), key=lambda x: x["p"])
    exclusions = [{"p": names[i], "reasons": r} for i, r in barred.items()]
    free = len(pool) - len(barred)
    if free == 0:
        return
    draw = sel.run(seed_hex=f"{seed_n:064x}", snapshot=snap, exclusions=exclusions,
                   quotas=[{"specialty": "A01", "count": min(free, 3)}])
    assert not {names[i] for i in barred} & set(draw.members[0])


@settings(max_examples=200, deadline=None)
@given(pool=st.lists(facts, min_size=1, max_size=30, unique_by=lambda e: e.id))
def test_fast_path_agrees_with_the_rules(pool):
    """``exclusions`` skips plainly clear experts; it must equal applying ``reasons`` to everyone."""
    for lot in (LOT, av.LotContext(region_include=("33",), at=AT), av.LotContext(at=AT)):
        slow = {e.id: av.reasons(e, lot) for e in pool if av.reasons(e, lot)}
        assert av.exclusions(pool, lot) == slow
