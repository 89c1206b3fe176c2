"""Freeze a draw's inputs: the relevant part of the pool, pseudonymised, and the avoidance exclusions.

Reads only the experts holding a specialty under one of the quota codes (a covering index on
``(code, expert_id)``), then only the declarations naming a bidder, the penalties and the recent
sittings for the same tenderee, so a draw from a pool of 100k reads a few thousand narrow rows.
The avoidance rules (:mod:`experts.avoidance`) then run in full only on the few candidates that have
something on record; the rest are clear by :func:`experts.avoidance.row_check`.  Names never enter
the snapshot.
"""
from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from core.clock import now
from core.db import db
from core.models import Organisation
from experts import avoidance as av
from experts import selection as sel
from experts.models import CreditEvent, Declaration, Draw, Expert, ExpertSpecialty, Member

FREQUENCY_WINDOW = dt.timedelta(days=365)


@dataclass(slots=True)
class Candidate:
    """One expert under a quota code: what the snapshot and the row-level avoidance checks need."""

    uscc: str
    region: str
    status: str
    #: the expert's codes under some quota code
    codes: list
    ban_until: dt.datetime | None = None


@dataclass(slots=True)
class SideFacts:
    """What is on record against candidates for this lot; an expert absent from all three is clear
    unless its own row says otherwise."""

    declarations: dict
    penalties: dict
    sittings: dict

    def expert_ids(self) -> set[int]:
        return {key[0] for key in self.declarations} | set(self.penalties) | set(self.sittings)


def _code_filter(quotas: list[dict]):
    """Prefix match as a range (``code >= p and code < p + U+FFFF``) so both databases use the index."""
    return or_(*((ExpertSpecialty.code >= q["specialty"]) & (ExpertSpecialty.code < q["specialty"] + "\uffff")
                 for q in quotas))


def candidate_rows(quotas: list[dict]) -> dict[int, Candidate]:
    """expert id → :class:`Candidate` for every expert under a quota code.

    Fetched in one go on the connection (Core tuples, no ORM objects, no datetime column): thousands
    of rows per draw, so per-row overhead matters; the few ban dates are read separately.
    """
    conn = db.session.connection()
    rows = conn.execute(
        select(ExpertSpecialty.expert_id, ExpertSpecialty.code, Expert.employer_uscc, Expert.region, Expert.status)
        .join(Expert, ExpertSpecialty.expert_id == Expert.id).where(_code_filter(quotas))).all()
    out: dict[int, Candidate] = {}
    for eid, code, uscc, region, status in rows:
        item = out.get(eid)
        if item is None:
            out[eid] = Candidate(uscc, region, status, [code])
        else:  # rare: two codes under the quotas; (expert, code) is unique, so no duplicates
            item.codes.append(code)
            item.codes.sort()
    banned = [eid for eid, item in out.items() if item.status == "banned"]
    if banned:
        for eid, until in conn.execute(select(Expert.id, Expert.ban_until).where(Expert.id.in_(banned))):
            out[eid].ban_until = until
    return out


def candidate_ids(quotas: list[dict]) -> list[int]:
    """Just the ids of :func:`candidate_rows`, from the covering index alone (for pseudonym look-ups)."""
    query = select(ExpertSpecialty.expert_id).where(_code_filter(quotas)).distinct()
    return list(db.session.connection().execute(query).scalars())


def lot_context(draw: Draw) -> av.LotContext:
    """The parties and rules a draw was requested with, as the pure avoidance rules take them."""
    r = draw.rules
    bidders = db.session.execute(select(Organisation.uscc, Organisation.legal_rep).where(
        Organisation.id.in_(r.get("bidder_org_ids", [])))).all()
    people = {rep.get("id_number_hash") for _, rep in bidders if rep}
    return av.LotContext(tenderee_uscc=r.get("tenderee_uscc", ""), agency_uscc=r.get("agency_uscc", ""),
                         bidder_usccs=frozenset(u for u, _ in bidders), bidder_person_hashes=frozenset(people - {None}),
                         supervising_usccs=frozenset(r.get("supervising_usccs", [])),
                         region_exclude=tuple(r.get("region_exclude", [])),
                         region_include=tuple(r.get("region_include", [])),
                         frequency_limit=r.get("frequency_limit"), at=now())


def side_facts(draw: Draw, lot: av.LotContext) -> SideFacts:
    """Declarations naming a bidder, penalties and sittings, each read through an indexed column of
    the lot (bidder USCCs and legal-rep hashes, penalty kinds, the tenderee) rather than by sending
    thousands of candidate ids to the database."""
    penalties = defaultdict(set)
    for eid, kind in db.session.execute(select(CreditEvent.expert_id, CreditEvent.kind).where(
            CreditEvent.kind.in_(sorted(av.PENALTY_KINDS)))):
        penalties[eid].add(kind)
    return SideFacts(_declarations(lot), dict(penalties), _sittings(draw))


def facts(draw: Draw, rows: dict[int, Candidate], lot: av.LotContext, side: SideFacts | None = None,
          ids=None) -> list[av.ExpertFacts]:
    """:class:`~experts.avoidance.ExpertFacts` for ``ids`` (default: every candidate row)."""
    side = side or side_facts(draw, lot)
    get, none, pen, sit = side.declarations.get, frozenset(), side.penalties, side.sittings
    out = []
    for eid in rows if ids is None else ids:
        row = rows[eid]
        out.append(av.ExpertFacts(
            id=eid, employer_uscc=row.uscc, region=row.region, status=row.status, ban_until=row.ban_until,
            relative_orgs=get((eid, "relative", "org"), none), relative_persons=get((eid, "relative", "person"), none),
            interest_orgs=get((eid, "interest", "org"), none), interest_persons=get((eid, "interest", "person"), none),
            credit_kinds=frozenset(pen.get(eid, ())), tenderee_count_12m=sit.get(eid, 0)))
    return out


def barred(draw: Draw, rows: dict[int, Candidate], lot: av.LotContext, side: SideFacts) -> dict[int, list[str]]:
    """expert id → reasons; equal to ``av.exclusions(facts(every row))`` (a test holds them equal),
    but facts are built only for rows with something on record or failing the row-level check."""
    flagged, clear = side.expert_ids(), av.row_check(lot)
    suspects = [eid for eid, r in rows.items() if eid in flagged or not clear(r.status, r.uscc, r.region)]
    return av.exclusions(facts(draw, rows, lot, side, suspects), lot)


def _declarations(lot: av.LotContext) -> dict:
    """Only declarations naming a bidder or a bidder's legal representative can matter."""
    out: defaultdict = defaultdict(set)
    if not lot.bidder_usccs and not lot.bidder_person_hashes:
        return {}
    query = select(Declaration.expert_id, Declaration.kind, Declaration.org_uscc, Declaration.person_hash).where(
        or_(Declaration.org_uscc.in_(lot.bidder_usccs), Declaration.person_hash.in_(lot.bidder_person_hashes)))
    for eid, kind, uscc, person in db.session.execute(query):
        if uscc in lot.bidder_usccs:
            out[eid, kind, "org"].add(uscc)
        if person in lot.bidder_person_hashes:
            out[eid, kind, "person"].add(person)
    return {key: frozenset(v) for key, v in out.items()}


def _sittings(draw: Draw) -> dict[int, int]:
    """Seats for the same tenderee in the last 12 months (declined and replaced seats do not count)."""
    key = draw.rules.get("tenderee_key", "")
    if draw.rules.get("frequency_limit") is None or not key:
        return {}
    query = select(Member.expert_id, func.count()).where(
        Member.tenderee_key == key, Member.created_at >= now() - FREQUENCY_WINDOW,
        Member.state.in_(("notified", "confirmed"))).group_by(Member.expert_id)
    return dict(db.session.execute(query).all())


def read_inputs(draw: Draw) -> tuple[dict[int, Candidate], av.LotContext, SideFacts]:
    """Every database read a freeze needs (timed on its own by the benchmark)."""
    rows = candidate_rows(draw.quotas)
    lot = lot_context(draw)
    return rows, lot, side_facts(draw, lot)


@contextmanager
def gc_paused():
    """Hold the cyclic garbage collector while a freeze builds and drops thousands of short-lived rows.

    Nothing here forms reference cycles, so reference counting frees every temporary; left running,
    the collector would promote them mid-build and then sweep the whole process heap (tens of ms,
    the draw's p95 tail).  Re-enabled on the way out, exceptions included.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze(draw: Draw) -> None:
    """Fix the snapshot, exclusions and their hashes (before any contribution is revealed)."""
    with gc_paused():
        rows, lot, side = read_inputs(draw)
        excluded = barred(draw, rows, lot, side)
        names = sel.pseudonyms(salt=bytes.fromhex(draw.salt), expert_ids=rows)
        draw.snapshot = _entries(rows, names)
        draw.exclusions = sorted(({"p": names[eid], "reasons": r} for eid, r in excluded.items()),
                                 key=lambda x: x["p"])
        _hash_inputs(draw)


def _entries(rows: dict[int, Candidate], names: dict[int, str]) -> list[dict]:
    """Snapshot entries sorted by pseudonym (sorting the bare strings, then looking the rows up)."""
    by_name = {p: rows[eid] for eid, p in names.items()}
    return [{"p": p, "r": row.region, "s": row.codes} for p, row in ((p, by_name[p]) for p in sorted(by_name))]


def _hash_inputs(draw: Draw) -> None:
    draw.snapshot_hash = sel.canonical_hash(draw.snapshot)
    draw.exclusions_hash = sel.canonical_hash(draw.exclusions)
    draw.quotas_hash = sel.canonical_hash(draw.quotas)


def pseudonym_index(draw: Draw) -> dict[str, int]:
    """pseudonym → expert id for a draw's snapshot (the platform alone can invert it, with the salt)."""
    names = sel.pseudonyms(salt=bytes.fromhex(draw.salt), expert_ids=candidate_ids(draw.quotas))
    return {p: eid for eid, p in names.items()}
