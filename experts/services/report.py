"""Staged publication at the award, the verifiable bundle, and the supervisors' fairness report."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import select

from core.clock import now
from core.db import db
from core.errors import Conflict
from experts import selection as sel
from experts.models import Draw, Expert, Member

RULE_CONFIDENTIAL = "招标投标法 第三十七条 第五款; 政府采购货物和服务招标投标管理办法 第六十九条"
#: lot states in which the award is determined and the draw material may be published
AWARDED_STATES = ("awarded", "contracted", "closed")


def publish(*, draw: Draw) -> Draw:
    """Publish a committee draw (and its replacements) once the lot's award is determined."""
    from experts.services.draws import lot_of

    root = draw if draw.parent_id is None else db.session.get(Draw, draw.parent_id)
    if lot_of(root).state not in AWARDED_STATES:
        raise Conflict("the committee stays confidential until the award is determined", code="not_awarded",
                       rule=RULE_CONFIDENTIAL)
    if root.state != "drawn":
        raise Conflict(f"only a completed draw is published (draw is {root.state})", code="draw_not_drawn")
    moment = now()
    for row in [root, *_replacements(root)]:
        row.published_at = row.published_at or moment
    return root


def _replacements(root: Draw) -> list[Draw]:
    return list(db.session.scalars(select(Draw).where(Draw.parent_id == root.id).order_by(Draw.number)))


def publication_bundle(*, draw: Draw, openings: bool = True) -> dict:
    """The material ``ggzy experts verify-draw`` checks (docs/expert-draw.md §5)."""
    if draw.published_at is None:
        raise Conflict("not published before the award", code="not_published", rule=RULE_CONFIDENTIAL)
    reps = _replacements(draw)
    salt = bytes.fromhex(draw.salt)
    bundle = {
        "version": sel.VERSION, "lot_id": draw.lot_id, "draw_number": draw.number,
        "recorded": {"commitments": {"operator": draw.commit_operator, "supervisor": draw.commit_supervisor},
                     "snapshot_hash": draw.snapshot_hash, "exclusions_hash": draw.exclusions_hash,
                     "quotas_hash": draw.quotas_hash, "seed": draw.seed, "result_hash": draw.result_hash},
        "contributions": {"operator": draw.reveal_operator, "supervisor": draw.reveal_supervisor},
        "snapshot": draw.snapshot, "exclusions": draw.exclusions, "quotas": draw.quotas, "seed": draw.seed,
        "result": draw.result, "replacements": [r.replacement for r in reps], "openings": []}
    if openings:
        members = db.session.scalars(select(Member).where(Member.draw_id.in_([draw.id, *[r.id for r in reps]])))
        bundle["openings"] = [{"expert_id": m.expert_id, "p": m.pseudonym,
                               "nonce": sel.entry_nonce(salt=salt, expert_id=m.expert_id)} for m in members]
    return bundle


def summary(draw: Draw) -> dict:
    """What a supervisor sees of any draw: states, hashes and counts, never who."""
    members = list(draw.members)
    return {"id": draw.id, "lot_id": draw.lot_id, "number": draw.number, "parent_id": draw.parent_id,
            "state": draw.state, "size": draw.size, "tenderee_reps": draw.tenderee_reps, "quotas": draw.quotas,
            "commitments": {"operator": draw.commit_operator, "supervisor": draw.commit_supervisor},
            "revealed": {"operator": bool(draw.reveal_operator), "supervisor": bool(draw.reveal_supervisor)},
            "snapshot_hash": draw.snapshot_hash, "exclusions_hash": draw.exclusions_hash,
            "quotas_hash": draw.quotas_hash, "seed": draw.seed, "result_hash": draw.result_hash,
            "pool_size": len(draw.snapshot), "excluded": len(draw.exclusions),
            "exclusion_reasons": dict(Counter(r for x in draw.exclusions for r in x["reasons"])),
            "seats": dict(Counter(m.state for m in members)), "published": draw.published_at is not None}


def fairness_report(*, since: dt.datetime | None = None, repeat_threshold: int = 2) -> dict:
    """Draws per expert against the expected frequency, repeated meetings with the same tenderee or
    agency, and declines — over published draws only, so nothing confidential is disclosed."""
    roots = db.session.scalars(select(Draw).where(Draw.parent_id.is_(None), Draw.published_at.is_not(None),
                                                  Draw.drawn_at >= (since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC))))
    from experts.services.snapshot import pseudonym_index

    expected: defaultdict[int, float] = defaultdict(float)
    draw_ids = []
    for root in roots:
        draw_ids += [root.id, *(r.id for r in _replacements(root))]
        index = pseudonym_index(root)  # pseudonyms are salted per draw: map back to experts
        for p, share in _expected_shares(root).items():
            if p in index:
                expected[index[p]] += share
    members = list(db.session.scalars(select(Member).where(Member.draw_id.in_(draw_ids)))) if draw_ids else []
    seats, declines, pairs = Counter(), Counter(), Counter()
    for m in members:
        declines[m.expert_id] += m.state in ("declined", "timed_out")
        seats[m.expert_id] += m.replaced_by_id is None or m.state == "conflict"
        pairs["tenderee", m.expert_id, m.tenderee_key] += 1
        pairs["agency", m.expert_id, str(m.agency_org_id)] += 1
    return {"experts": _rows(seats, declines, expected), "draws": len(draw_ids),
            "repeats": [{"kind": k, "expert_id": e, "party": party, "count": c}
                        for (k, e, party), c in sorted(pairs.items()) if c >= repeat_threshold]}


def _expected_shares(root: Draw) -> dict[str, float]:
    """Each eligible candidate of a quota expects count / eligible seats from it."""
    barred = {x["p"] for x in root.exclusions}
    shares: defaultdict[str, float] = defaultdict(float)
    for quota in root.quotas:
        eligible = [e["p"] for e in root.snapshot if e["p"] not in barred and sel.matches(e["s"], quota["specialty"])]
        for p in eligible:
            shares[p] += quota["count"] / len(eligible)
    return shares


def _rows(seats: Counter, declines: Counter, by_expert: dict) -> list[dict]:
    """Experts who sat or declined, and those expected at least once who never sat."""
    ids = sorted(set(seats) | set(declines) | {i for i, e in by_expert.items() if e >= 1})
    experts = {e.id: e.name for e in db.session.scalars(select(Expert).where(Expert.id.in_(ids)))} if ids else {}
    return [{"expert_id": i, "name": experts.get(i, ""), "seats": seats[i], "declines": declines[i],
             "expected": round(by_expert.get(i, 0.0), 3),
             "ratio": round(seats[i] / by_expert[i], 2) if by_expert.get(i) else None} for i in ids]
