"""The fast freeze equals the straightforward one on real rows: same snapshot, same exclusions.

The freeze reads narrow rows, builds avoidance facts only for candidates with something on record
and names entries with the batch pseudonym function; here every shortcut is compared with the plain
definition (docs/expert-draw.md §3) over a pool that trips every reason code the rows can produce.
"""
from __future__ import annotations

import datetime as dt

from core import identity
from core.clock import now
from experts import avoidance as av
from experts import selection as sel
from experts import services
from experts.services import snapshot
from tests.experts import helpers as h
from tests.factories import make_org, make_user

REP = "330203196001010001"


def _pool_with_every_reason(manager, bidder) -> None:
    experts = h.pool(manager, n=16)
    h.expert(manager, employer_uscc=bidder.uscc)
    h.expert(manager, relatives=[{"id_number": REP}])
    h.expert(manager, interests=[{"org_uscc": bidder.uscc}])
    h.expert(manager, relatives=[{"org_uscc": make_org().uscc}])  # declares someone else: stays eligible
    h.expert(manager, region="330203", specialties=["A0101", "B0201"])
    services.set_status(actor=manager, expert=experts[0], status="banned", ban_until=now() + dt.timedelta(days=30))
    services.set_status(actor=manager, expert=experts[1], status="suspended")
    services.set_status(actor=manager, expert=experts[2], status="banned", ban_until=now() - dt.timedelta(days=1))
    services.add_credit_event(actor=manager, expert=experts[3], kind="administrative_penalty", legal_basis="第七十二条")
    services.add_credit_event(actor=manager, expert=experts[4], kind="warning", legal_basis="-")


def _draw(ctx):
    manager = make_user("pool_manager")
    bidder = make_org(legal_rep={"name": "法人", "id_number_hash": identity.hash_id_number(REP)})
    _pool_with_every_reason(manager, bidder)
    lot = h.closed_lot()
    return services.request_draw(actor=h.operator_for(lot), lot=lot, size=5, tenderee_reps=0, quotas=h.quotas(),
                                 bidder_org_ids=[bidder.id], region_exclude=["3302"], frequency_limit=2)


def test_fast_exclusions_equal_the_rules_applied_to_every_candidate(ctx):
    draw = _draw(ctx)
    rows, lot, side = snapshot.read_inputs(draw)
    everyone = av.exclusions(snapshot.facts(draw, rows, lot, side), lot)
    by_rule = {f.id: av.reasons(f, lot) for f in snapshot.facts(draw, rows, lot, side) if av.reasons(f, lot)}
    assert snapshot.barred(draw, rows, lot, side) == everyone == by_rule
    reasons = {r for found in everyone.values() for r in found}
    assert {"employer_bidder", "relative_of_bidder", "interest_in_bidder", "banned", "suspended",
            "prior_penalty", "region_excluded"} <= reasons
    assert len(everyone) == 7  # one per reason above; the expired ban, warning and unrelated declaration do not bar


def test_frozen_snapshot_is_the_plain_definition(ctx):
    draw = _draw(ctx)
    snapshot.freeze(draw)
    rows, lot, _side = snapshot.read_inputs(draw)
    salt = bytes.fromhex(draw.salt)
    name = {eid: sel.pseudonym(expert_id=eid, nonce_hex=sel.entry_nonce(salt=salt, expert_id=eid)) for eid in rows}
    plain = sorted(({"p": name[eid], "r": row.region, "s": sorted(set(row.codes))} for eid, row in rows.items()),
                   key=lambda e: e["p"])
    assert draw.snapshot == plain and draw.snapshot_hash == sel.canonical_hash(plain)
    assert [x["p"] for x in draw.exclusions] == sorted(x["p"] for x in draw.exclusions)
    assert {e["p"]: e["s"] for e in draw.snapshot}[name[max(rows)]] == ["A0101", "B0201"]
    assert snapshot.pseudonym_index(draw) == {p: eid for eid, p in name.items()}
