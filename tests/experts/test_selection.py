"""The pure draw: determinism, no modulo bias, uniformity (seeded chi-square), exclusions never drawn."""
from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from experts import selection as sel
from tests.experts.drawkit import bundle, contribution, snapshot

#: significance level of the uniformity test; the seeds are fixed, so the outcome is reproducible
ALPHA = 0.001


def _seed(i: int) -> str:
    return hashlib.sha256(f"seed-{i}".encode()).hexdigest()


def test_same_inputs_same_draw_and_a_different_contribution_changes_it():
    a, b = bundle(), bundle()
    assert a["result"] == b["result"]
    assert bundle(op="other")["result"] != a["result"]
    assert bundle(sup="other")["result"] != a["result"]


def test_seed_binds_lot_draw_number_and_every_hash():
    base = dict(contributions={"operator": contribution("a"), "supervisor": contribution("b")}, lot_id=1,
                draw_number=1, snapshot_hash="0" * 64, exclusions_hash="1" * 64, quotas_hash="2" * 64)
    seeds = {sel.seed(**base)}
    for key, value in (("lot_id", 2), ("draw_number", 2), ("snapshot_hash", "3" * 64),
                       ("exclusions_hash", "3" * 64), ("quotas_hash", "3" * 64)):
        seeds.add(sel.seed(**{**base, key: value}))
    assert len(seeds) == 6


@pytest.mark.parametrize("bad", ["", "ab", "G" * 64, "AB" * 32, "00" * 31, "00" * 33])
def test_contribution_must_be_32_lowercase_hex_bytes(bad):
    with pytest.raises(sel.SelectionError):
        sel.commitment(party="operator", lot_id=1, draw_number=1, contribution_hex=bad)


def test_seed_needs_both_parties():
    with pytest.raises(sel.SelectionError):
        sel.seed(contributions={"operator": contribution("a")}, lot_id=1, draw_number=1,
                 snapshot_hash="", exclusions_hash="", quotas_hash="")


def test_rejection_sampling_discards_the_biased_tail():
    n = 3
    limit = (1 << 64) - ((1 << 64) % n)
    stream = iter([limit, limit + 1, 5])  # the first two words are in the biased tail
    assert sel.uniform_below(stream, n) == 5 % n


def test_lengths_are_prefixed_so_inputs_cannot_be_shifted():
    assert sel.lp("ab") + sel.lp("c") != sel.lp("a") + sel.lp("bc")


def test_hierarchical_codes_and_too_few_candidates():
    snap = snapshot(10, codes=("A01",))
    draw = sel.run(seed_hex=_seed(1), snapshot=snap, exclusions=[], quotas=[{"specialty": "A", "count": 10}])
    assert sorted(draw.members[0]) == sorted(e["p"] for e in snap)
    with pytest.raises(sel.SelectionError, match="eligible"):
        sel.run(seed_hex=_seed(1), snapshot=snap, exclusions=[], quotas=[{"specialty": "A01", "count": 11}])
    with pytest.raises(sel.SelectionError):
        sel.run(seed_hex=_seed(1), snapshot=snap, exclusions=[], quotas=[{"specialty": "B", "count": 1}])


def test_members_of_earlier_quotas_are_not_candidates_of_later_ones():
    snap = [{"p": f"{i:064x}", "s": ["A01", "A02"], "r": ""} for i in range(6)]
    draw = sel.run(seed_hex=_seed(2), snapshot=snap, exclusions=[],
                   quotas=[{"specialty": "A02", "count": 3}, {"specialty": "A01", "count": 3}])
    flat = [p for m in draw.members for p in m]
    assert len(set(flat)) == 6


def test_uniform_within_a_quota_chi_square():
    """4,000 seeded draws of one seat from 20 candidates: counts consistent with uniform at α = 0.001."""
    snap = snapshot(20, codes=("A01",))
    counts = Counter()
    for i in range(4000):
        draw = sel.run(seed_hex=_seed(i), snapshot=snap, exclusions=[], quotas=[{"specialty": "A01", "count": 1}])
        counts[draw.members[0][0]] += 1
    observed = [counts[e["p"]] for e in snap]
    assert sum(observed) == 4000
    assert chisquare(observed).pvalue > ALPHA


def test_uniform_positions_of_a_three_seat_quota_chi_square():
    """Every candidate equally likely in every seat of a multi-seat quota (the shuffle is unbiased)."""
    snap = snapshot(8, codes=("A01",))
    seats = [Counter() for _ in range(3)]
    for i in range(3000):
        members = sel.run(seed_hex=_seed(10_000 + i), snapshot=snap, exclusions=[],
                          quotas=[{"specialty": "A01", "count": 3}]).members[0]
        for seat, p in zip(seats, members, strict=True):
            seat[p] += 1
    for seat in seats:
        assert chisquare([seat[e["p"]] for e in snap]).pvalue > ALPHA


pools = st.integers(min_value=8, max_value=60)


@settings(max_examples=150, deadline=None)
@given(n=pools, excluded=st.sets(st.integers(min_value=0, max_value=59), max_size=30),
       a=st.integers(min_value=1, max_value=3), b=st.integers(min_value=1, max_value=3),
       seed_n=st.integers(min_value=0, max_value=10**9))
def test_no_excluded_expert_is_ever_drawn(n, excluded, a, b, seed_n):
    snap = snapshot(n)
    exclusions = [{"p": snap[i]["p"], "reasons": ["banned"]} for i in excluded if i < n]
    barred = {x["p"] for x in exclusions}
    quotas = [{"specialty": "A01", "count": a}, {"specialty": "B02", "count": b}]
    try:
        draw = sel.run(seed_hex=_seed(seed_n), snapshot=snap, exclusions=exclusions, quotas=quotas)
    except sel.SelectionError:
        eligible = [e for e in snap if e["p"] not in barred]
        assert sum(sel.matches(e["s"], "A01") for e in eligible) < a or \
            sum(sel.matches(e["s"], "B02") for e in eligible) < b
        return
    flat = [p for m in draw.members for p in m]
    assert not barred & set(flat)
    assert len(flat) == len(set(flat)) == a + b
    by_p = {e["p"]: e for e in snap}
    for quota, members in zip(draw.quotas, draw.members, strict=True):
        assert all(sel.matches(by_p[p]["s"], quota["specialty"]) for p in members)
    # replacements never pick an excluded or already seated expert either
    try:
        picked, _pos, _skipped = sel.replace(draw, specialty="A01", unavailable=set(flat) | barred, start=0)
    except sel.SelectionError:
        return
    assert picked not in barred and picked not in flat


def test_replacement_follows_the_reserve_order_fixed_at_draw_time():
    snap = snapshot(30, codes=("A01",))
    draw = sel.run(seed_hex=_seed(3), snapshot=snap, exclusions=[], quotas=[{"specialty": "A01", "count": 3}])
    order = [draw.shuffles[0].position(i) for i in range(6)]
    seated = set(order[:3])
    picked, position, skipped = sel.replace(draw, specialty="A01", unavailable=seated | {order[3]}, start=3)
    assert (picked, position, skipped) == (order[4], 4, [order[3]])
