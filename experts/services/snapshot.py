"""Freeze a draw's inputs: the relevant part of the pool, pseudonymised, and the avoidance exclusions.

Reads only the experts holding a specialty under one of the quota codes (indexed), then their
matching declarations, penalties and recent sittings for the same tenderee, so a draw from a pool
of 100k reads a few thousand rows.  Names never enter the snapshot.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, or_, select

from core.clock import now
from core.db import db
from core.models import Organisation
from experts import avoidance as av
from experts import selection as sel
from experts.models import CreditEvent, Declaration, Draw, Expert, ExpertSpecialty, Member

FREQUENCY_WINDOW = dt.timedelta(days=365)


def _code_filter(quotas: list[dict]):
    """Prefix match as a range (``code >= p and code < p + U+FFFF``) so both databases use the index."""
    return or_(*((ExpertSpecialty.code >= q["specialty"]) & (ExpertSpecialty.code < q["specialty"] + "\uffff")
                 for q in quotas))


def candidate_rows(quotas: list[dict]) -> dict[int, dict]:
    """expert id → {employer, region, status, ban_until, codes} for every expert under a quota code.

    Executed on the connection (Core rows, no ORM loading) and without the datetime column: thousands
    of rows per draw, so per-row overhead matters; the few ban dates are read separately.
    """
    conn = db.session.connection()
    rows = conn.execute(
        select(Expert.id, Expert.employer_uscc, Expert.region, Expert.status, ExpertSpecialty.code)
        .join(ExpertSpecialty, ExpertSpecialty.expert_id == Expert.id).where(_code_filter(quotas)))
    out: dict[int, dict] = {}
    for eid, uscc, region, status, code in rows:
        item = out.get(eid)
        if item is None:
            item = out[eid] = {"uscc": uscc, "region": region, "status": status, "ban_until": None, "codes": set()}
        item["codes"].add(code)
    banned = [eid for eid, item in out.items() if item["status"] == "banned"]
    if banned:
        for eid, until in conn.execute(select(Expert.id, Expert.ban_until).where(Expert.id.in_(banned))):
            out[eid]["ban_until"] = until
    return out


def lot_context(draw: Draw) -> av.LotContext:
    """The parties and rules a draw was requested with, as the pure avoidance rules take them."""
    r = draw.rules
    bidders = db.session.scalars(select(Organisation).where(Organisation.id.in_(r.get("bidder_org_ids", [])))).all()
    people = {o.legal_rep.get("id_number_hash") for o in bidders if o.legal_rep}
    return av.LotContext(tenderee_uscc=r.get("tenderee_uscc", ""), agency_uscc=r.get("agency_uscc", ""),
                         bidder_usccs=frozenset(o.uscc for o in bidders), bidder_person_hashes=frozenset(people - {None}),
                         supervising_usccs=frozenset(r.get("supervising_usccs", [])),
                         region_exclude=tuple(r.get("region_exclude", [])),
                         region_include=tuple(r.get("region_include", [])),
                         frequency_limit=r.get("frequency_limit"), at=now())


def facts(draw: Draw, rows: dict[int, dict], lot: av.LotContext) -> list[av.ExpertFacts]:
    """Turn candidate rows plus their declarations, penalties and sittings into avoidance facts.

    Each side query is driven by an indexed column of the lot (bidder USCCs and legal-rep hashes,
    penalty kinds, the tenderee) and intersected with the candidates here, rather than sending a
    list of thousands of candidate ids to the database.
    """
    decls = _declarations(lot)
    penalties = defaultdict(set)
    for eid, kind in db.session.execute(select(CreditEvent.expert_id, CreditEvent.kind).where(
            CreditEvent.kind.in_(av.PENALTY_KINDS))):
        penalties[eid].add(kind)
    counts = _sittings(draw)
    get, none = decls.get, frozenset()
    return [av.ExpertFacts(id=eid, employer_uscc=row["uscc"], region=row["region"], status=row["status"],
                           ban_until=row["ban_until"], relative_orgs=get((eid, "relative", "org"), none),
                           relative_persons=get((eid, "relative", "person"), none),
                           interest_orgs=get((eid, "interest", "org"), none),
                           interest_persons=get((eid, "interest", "person"), none),
                           credit_kinds=frozenset(penalties.get(eid, ())), tenderee_count_12m=counts.get(eid, 0))
            for eid, row in rows.items()]


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


def freeze(draw: Draw) -> None:
    """Fix the snapshot, exclusions and their hashes (before any contribution is revealed)."""
    rows = candidate_rows(draw.quotas)
    lot = lot_context(draw)
    barred = av.exclusions(facts(draw, rows, lot), lot)
    salt = bytes.fromhex(draw.salt)
    names = {eid: sel.pseudonym(expert_id=eid, nonce_hex=sel.entry_nonce(salt=salt, expert_id=eid)) for eid in rows}
    draw.snapshot = sorted(({"p": names[eid], "r": row["region"], "s": sorted(row["codes"])}
                            for eid, row in rows.items()), key=lambda e: e["p"])
    draw.exclusions = sorted(({"p": names[eid], "reasons": r} for eid, r in barred.items()), key=lambda x: x["p"])
    draw.snapshot_hash = sel.canonical_hash(draw.snapshot)
    draw.exclusions_hash = sel.canonical_hash(draw.exclusions)
    draw.quotas_hash = sel.canonical_hash(draw.quotas)


def pseudonym_index(draw: Draw) -> dict[str, int]:
    """pseudonym → expert id for a draw's snapshot (the platform alone can invert it, with the salt)."""
    rows = candidate_rows(draw.quotas)
    salt = bytes.fromhex(draw.salt)
    return {sel.pseudonym(expert_id=eid, nonce_hex=sel.entry_nonce(salt=salt, expert_id=eid)): eid for eid in rows}
