"""Draw requests and the two-party commit–reveal (DESIGN §6).

Order of events: a ``draw_operator`` requests the draw for a lot after its bid deadline; the
operator and a supervisor each commit to a secret contribution; the second commitment freezes the
pool snapshot and the exclusions (their hashes are recorded in ``experts.draw_committed``); both
reveal; the second reveal computes the seed, draws, seats the members and notifies them.  Nobody
can name an expert: there is no parameter for it.
"""
from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select

from core import events
from core.clock import now
from core.db import db
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import Organisation
from experts import composition
from experts import selection as sel
from experts.models import Draw, Specialty
from experts.services import snapshot
from experts.services.bidders import bidders_of
from trading.models import Lot

logger = logging.getLogger(__name__)
RULE_DRAW = "招标投标法实施条例 第四十六条; 政府采购货物和服务招标投标管理办法 第四十八条"
RULE_TIMING = "评标委员会和评标方法暂行规定 第八条 (开标前确定, 投标人已知)"
#: lot states in which the bidders are known and the committee may be drawn
DRAWABLE_STATES = ("bidding_closed", "opening", "opened", "evaluating")


def _lot(lot_id: int):

    return db.session.get(Lot, lot_id)


def request_draw(*, actor, lot, size: int, tenderee_reps: int, quotas: list[dict],
                 bidder_org_ids: list[int] | None = None, tenderee_uscc: str = "",
                 supervising_usccs: list[str] | None = None, region_exclude: list[str] | None = None,
                 region_include: list[str] | None = None, frequency_limit: int | None = None,
                 complex_project: bool = False, social_impact: bool = False) -> Draw:
    """Open a draw for ``lot`` with the committee make-up, quotas and avoidance rules.

    :raises Conflict: bidding not closed yet, or the lot already has a live committee draw.
    :raises ValidationFailed: the make-up breaks RULES §2b, or an unknown specialty or bidder.
    """
    _require_drawable(lot)
    quotas = _quotas(quotas)
    try:
        composition.check(size=size, tenderee_reps=tenderee_reps, quotas=quotas, category=lot.project.category,
                          budget=lot.estimate, complex_project=complex_project, social_impact=social_impact)
    except composition.CompositionError as err:
        raise ValidationFailed(str(err), code=err.code, rule=err.rule) from None
    live = select(Draw.id).where(Draw.lot_id == lot.id, Draw.parent_id.is_(None), Draw.state != "aborted")
    if db.session.scalar(live):
        raise Conflict("this lot already has a committee draw; replacements follow from it",
                       code="draw_exists", rule=RULE_DRAW)
    rules = _rules(lot, bidder_org_ids or [], tenderee_uscc, supervising_usccs or [], region_exclude or [],
                   region_include or [], frequency_limit)
    number = (db.session.scalar(select(func.max(Draw.number)).where(Draw.lot_id == lot.id)) or 0) + 1
    draw = Draw(lot_id=lot.id, number=number, size=size, tenderee_reps=tenderee_reps, quotas=quotas, rules=rules,
                salt=secrets.token_hex(32), created_by=actor.id)
    db.session.add(draw)
    db.session.flush()
    return draw


def _require_drawable(lot) -> None:
    if lot.state not in DRAWABLE_STATES and not (lot.state == "published" and now() >= lot.bid_deadline):
        raise Conflict(f"the draw starts after the bid deadline (lot is {lot.state})", code="bidding_not_closed",
                       rule=RULE_TIMING)


def _quotas(quotas: list[dict]) -> list[dict]:
    try:
        quotas = sel.normalise_quotas(quotas)
    except (sel.SelectionError, KeyError, TypeError, ValueError) as err:
        raise ValidationFailed(str(err), code="invalid_quotas") from None
    codes = [q["specialty"] for q in quotas]
    known = set(db.session.scalars(select(Specialty.code).where(Specialty.code.in_(codes))))
    if set(codes) - known:
        raise ValidationFailed(f"unknown specialty codes: {', '.join(sorted(set(codes) - known))}",
                               code="unknown_specialty")
    return quotas


def _rules(lot, bidder_org_ids, tenderee_uscc, supervising, region_exclude, region_include, limit) -> dict:
    """Resolve the lot's parties: agency from the project, tenderee by USCC or by registered name."""
    from core.identity import validate_uscc
    bidders = sorted({int(i) for i in bidder_org_ids} | set(bidders_of(lot.id)))
    found = set(db.session.scalars(select(Organisation.id).where(Organisation.id.in_(bidders))))
    if set(bidders) - found:
        raise ValidationFailed(f"unknown bidder organisations: {sorted(set(bidders) - found)}", code="unknown_bidder")
    agency = db.session.get(Organisation, lot.project.agency_org_id)
    tenderee = validate_uscc(tenderee_uscc) if tenderee_uscc else _tenderee_by_name(lot.project.tenderee_name)
    if limit is not None and limit < 0:
        raise ValidationFailed("frequency_limit cannot be negative", code="invalid_frequency_limit")
    return {"bidder_org_ids": bidders, "tenderee_uscc": tenderee, "agency_uscc": agency.uscc if agency else "",
            "agency_org_id": lot.project.agency_org_id, "tenderee_key": tenderee or lot.project.tenderee_name,
            "supervising_usccs": sorted({validate_uscc(u) for u in supervising}),
            "region_exclude": sorted(set(region_exclude)), "region_include": sorted(set(region_include)),
            "frequency_limit": limit}


def _tenderee_by_name(name: str) -> str:
    """Trading keeps the tenderee as a name (CORE_REQUESTS: an organisation id); match a registered one."""
    return db.session.scalar(select(Organisation.uscc).where(Organisation.name == name)) or ""


def party_of(user, draw: Draw) -> str:
    """The operator holds the lot's draw_operator grant; the other party is a supervisor."""
    if user.has_grant("draw_operator", "lot", draw.lot_id):
        return "operator"
    if user.role == "supervisor":
        return "supervisor"
    raise Forbidden("only the lot's draw operator and a supervisor take part in the draw", code="not_a_party")


def commit(*, actor, draw: Draw, commitment: str) -> Draw:
    """Record a party's commitment; the second one freezes the inputs and records their hashes."""
    if draw.state != "open":
        raise Conflict(f"commitments are closed (draw is {draw.state})", code="draw_not_open", rule=RULE_DRAW)
    party = party_of(actor, draw)
    commitment = (commitment or "").strip().lower()
    if len(commitment) != 64 or any(c not in "0123456789abcdef" for c in commitment):
        raise ValidationFailed("a commitment is a SHA-256 in 64 hex digits", code="invalid_commitment")
    if getattr(draw, f"commit_{party}"):
        raise Conflict(f"the {party} has already committed", code="already_committed")
    other = draw.supervisor_user_id if party == "operator" else draw.operator_user_id
    if other == actor.id:
        raise Conflict("the two contributions must come from two different people", code="same_person",
                       rule=RULE_DRAW)
    setattr(draw, f"commit_{party}", commitment)
    setattr(draw, f"{party}_user_id", actor.id)
    if draw.commit_operator and draw.commit_supervisor:
        _freeze(draw)
    db.session.flush()
    return draw


def _freeze(draw: Draw) -> None:
    snapshot.freeze(draw)
    draw.state = "committed"
    events.record("experts.draw_committed", {
        "draw_id": draw.id, "lot_id": draw.lot_id, "draw_number": draw.number,
        "commitments": {"operator": draw.commit_operator, "supervisor": draw.commit_supervisor},
        "snapshot_hash": draw.snapshot_hash, "exclusions_hash": draw.exclusions_hash,
        "quotas_hash": draw.quotas_hash, "pool_size": len(draw.snapshot), "excluded": len(draw.exclusions)})


def reveal(*, actor, draw: Draw, contribution: str) -> Draw:
    """Open a party's commitment; the second reveal computes the seed and seats the committee.

    :raises ValidationFailed: the contribution does not open the party's commitment (a party that
        changed its contribution after seeing the other's commitment is refused here).
    """
    if draw.state != "committed":
        raise Conflict(f"reveals need both commitments first (draw is {draw.state})", code="draw_not_committed")
    party = party_of(actor, draw)
    if getattr(draw, f"{party}_user_id") != actor.id:
        raise Forbidden("only the person who committed may reveal", code="not_the_committer")
    try:
        opened = sel.commitment(party=party, lot_id=draw.lot_id, draw_number=draw.number, contribution_hex=contribution)
    except sel.SelectionError as err:
        raise ValidationFailed(str(err), code="invalid_contribution") from None
    if opened != getattr(draw, f"commit_{party}"):
        raise ValidationFailed("this contribution does not open your commitment", code="commitment_mismatch",
                               rule=RULE_DRAW)
    setattr(draw, f"reveal_{party}", contribution)
    if draw.reveal_operator and draw.reveal_supervisor:
        _draw(draw)
    db.session.flush()
    return draw


def _draw(draw: Draw) -> None:
    from experts.services.members import seat

    draw.seed = sel.seed(contributions={"operator": draw.reveal_operator, "supervisor": draw.reveal_supervisor},
                         lot_id=draw.lot_id, draw_number=draw.number, snapshot_hash=draw.snapshot_hash,
                         exclusions_hash=draw.exclusions_hash, quotas_hash=draw.quotas_hash)
    try:
        outcome = sel.run(seed_hex=draw.seed, snapshot=draw.snapshot, exclusions=draw.exclusions, quotas=draw.quotas)
    except sel.SelectionError as err:
        draw.state = "aborted"
        logger.warning("draw %s aborted: %s", draw.id, err)
        return
    draw.result, draw.state, draw.drawn_at = outcome.result(), "drawn", now()
    draw.result_hash = sel.canonical_hash(draw.result)
    index = snapshot.pseudonym_index(draw)
    members = [seat(draw=draw, expert_id=index[p], pseudonym=p, specialty=q["specialty"], position=i)
               for q in draw.result for i, p in enumerate(q["members"])]
    events.record("experts.committee_drawn", {
        "draw_id": draw.id, "lot_id": draw.lot_id, "draw_number": draw.number, "seed": draw.seed,
        "result_hash": draw.result_hash, "member_ids": [m.id for m in members]})


def lot_of(draw: Draw):
    return _lot(draw.lot_id)
