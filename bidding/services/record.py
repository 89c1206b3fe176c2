"""The opening record (开标记录, EBM Art.32; TBL Art.36; TBR Art.44 ¶3).

Two signed documents per lot, both public:

1. the **opening table**, published the moment the unseal window closes: every bidder that
   submitted in time, its outcome (unsealed / revoked / withdrawn), price and the tender's other
   opening fields, the bond status; its SHA-256 is what bidders sign to confirm it;
2. the **final record**, after the confirmation window: the table's digest, every confirmation
   (with the bidder's signature), every objection with the host's answer, and the bidders deemed to
   accept by absence (GP87 Art.42).  It cannot be made while an objection is unanswered.

Both are RFC 8785 canonical JSON signed by the platform key (Ed25519), like receipts.
"""
from __future__ import annotations

import datetime as dt

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from bidding.models import Attendance, BidBond, OpeningRecord, OpeningSession, RecordResponse, Unsealing
from bidding.package import container
from bidding.package.records import RECORD_CONTEXT, confirm_message, digest_of
from bidding.services.hall import require_stage, session_of, touch, unsealings
from core import events
from core import keys as registry
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.keys import platform_keys
from core.models import Organisation
from core.scheduler import schedule_task
from trading import services as trading
from trading.models import Lot
from trading.services.common import add_notice, lot_title

RULE_RECORD = "电子招标投标办法 第三十二条 (开标记录公开)"
RULE_OBJECTION = "招标投标法实施条例 第四十四条第三款 (对开标有异议的，应当在开标现场提出，当场答复并记录)"
RULE_ABSENT = "政府采购货物和服务招标投标管理办法 第四十二条 (未参加开标的，视同认可开标结果)"
#: what a platform signature and a bidder's confirmation sign, so neither can be replayed elsewhere
FINISH_TASK = "bidding.finish_opening"


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _sign(lot_id: int, kind: str, body: dict) -> OpeningRecord:
    kid, signature = platform_keys().sign(RECORD_CONTEXT + container.canonical(body))
    row = OpeningRecord(lot_id=lot_id, kind=kind, body=body, digest=digest_of(body), signature=signature,
                        kid=kid, published_at=now())
    db.session.add(row)
    db.session.flush()
    return row


def _bidder_rows(lot) -> list[dict]:
    rows = unsealings(lot.id)
    orgs = _orgs({u.organisation_id for u in rows})
    bonds = dict(db.session.execute(select(BidBond.organisation_id, BidBond.method)
                                    .where(BidBond.lot_id == lot.id)).all())
    return [{"bid_id": u.bid_id, "bidder": orgs[u.organisation_id]["name"], "uscc": orgs[u.organisation_id]["uscc"],
             "outcome": "unsealed" if u.status == "unsealed" else ("withdrawn" if u.cause == "platform" else "revoked"),
             "status": u.status, "cause": u.cause, "price": u.price, "fields": u.fields or {},
             "unsealed_via": u.via, "bond": bonds.get(u.organisation_id)} for u in rows]


def publish_table(*, session: OpeningSession, actor=None) -> OpeningRecord:
    """Sign and publish the opening table; the confirmation window starts (scheduler ends it)."""

    lot = db.session.get(Lot, session.lot_id)
    attended = sorted({a.organisation_id for a in db.session.scalars(
        select(Attendance).where(Attendance.lot_id == lot.id))})
    body = {"type": "ggzy.opening-record", "v": 1, "kind": "table", "lot_id": lot.id,
            "project_code": lot.project.code, "project_name": lot.project.name, "lot_name": lot.name,
            "bid_deadline": _iso(lot.bid_deadline), "opening_started_at": _iso(session.started_at),
            "window_opened_at": _iso(session.window_opens_at), "window_closed_at": _iso(session.window_closes_at),
            "opening_fields": list(lot.opening_fields or []), "remedy_used": bool(session.remedy_used),
            "bids": _bidder_rows(lot), "attended_organisations": attended, "rule": RULE_RECORD}
    row = _sign(lot.id, "table", body)
    moment = now()
    session.stage, session.table_published_at = "confirming", moment
    session.confirm_until = moment + dt.timedelta(minutes=lot.confirm_window_minutes or 15)
    touch(session)
    schedule_task(job_id=f"bidding-finish-opening-{lot.id}", run_at=session.confirm_until, task=FINISH_TASK,
                  args=[lot.id])
    add_notice(lot, "opening_record", f"{lot_title(lot)} 开标记录", f"/bidding/opening/{lot.id}/record")
    events.record("bidding.opening_record_published", {"lot_id": lot.id, "kind": "table", "digest": row.digest,
                                                       "platform_kid": row.kid, "signature": row.signature})
    audit("bidding.opening_table_published", object_type="lot", object_id=lot.id, actor=actor, digest=row.digest)
    return row


def record_of(lot_id: int, kind: str | None = None) -> OpeningRecord:
    """The final record if there is one, else the table (or exactly ``kind``).

    :raises NotFound: nothing published yet
    """
    q = select(OpeningRecord).where(OpeningRecord.lot_id == lot_id)
    q = q.where(OpeningRecord.kind == kind) if kind else q.order_by(OpeningRecord.id.desc())
    row = db.session.scalars(q.limit(1)).first()
    if row is None:
        raise NotFound(f"no opening record of lot {lot_id} is published yet", code="no_opening_record")
    return row


def _responder(lot_id: int, user) -> Unsealing:
    """The bidder's row, under the hall's lock (a response and the record's close never interleave)."""
    session = session_of(lot_id, lock=True)
    require_stage(session, "confirming", what="confirm or object to the opening table")
    if now() >= session.confirm_until:
        raise Conflict("the confirmation window has closed", code="confirmation_closed", rule=RULE_ABSENT)
    row = db.session.scalar(select(Unsealing).where(Unsealing.lot_id == lot_id,
                                                    Unsealing.organisation_id == user.organisation_id))
    if row is None:
        raise Forbidden("your organisation has no bid in this opening", code="not_a_bidder", rule=RULE_RECORD)
    return row


def confirm(*, lot_id: int, user, key_id: str, signature_b64: str) -> RecordResponse:
    """A bidder confirms the table by signing its digest with its organisation's registered key.

    :raises ValidationFailed: the key is not the organisation's valid signing key, or the signature
        does not verify over :func:`confirm_message`
    """
    _responder(lot_id, user)
    table = record_of(lot_id, "table")
    key = _signing_key(key_id, user.organisation_id)
    try:
        Ed25519PublicKey.from_public_bytes(container.b64d(key.public_key, length=32)).verify(
            container.b64d(signature_b64, length=64, what="signature"), confirm_message(table.digest))
    except (InvalidSignature, container.PackageError):
        raise ValidationFailed("the signature does not verify over this opening table's digest",
                               code="bad_confirmation_signature", rule=RULE_RECORD, digest=table.digest) from None
    existing = _response(lot_id, user.organisation_id, "confirmation")
    if existing is not None:
        return existing
    row = RecordResponse(lot_id=lot_id, organisation_id=user.organisation_id, user_id=user.id,
                         kind="confirmation", key_id=key.kid, signature=signature_b64, at=now())
    return _add_response(row, user)


def _signing_key(key_id: str, organisation_id: int):
    try:
        key = registry.get_key(key_id)
    except NotFound:
        key = None
    if key is None or key.kind != "sign" or key.organisation_id != organisation_id or not key.is_valid_at(now()):
        raise ValidationFailed(f"{key_id} is not a valid signing key of your organisation",
                               code="bad_confirmation_key", rule=RULE_RECORD)
    return key


def _response(lot_id: int, organisation_id: int, kind: str) -> RecordResponse | None:
    return db.session.scalar(select(RecordResponse).where(
        RecordResponse.lot_id == lot_id, RecordResponse.organisation_id == organisation_id,
        RecordResponse.kind == kind))


def _add_response(row: RecordResponse, user) -> RecordResponse:
    db.session.add(row)
    db.session.flush()
    touch(session_of(row.lot_id))
    audit(f"bidding.opening_{row.kind}", object_type="lot", object_id=row.lot_id, actor=user, response_id=row.id)
    return row


def object_to(*, lot_id: int, user, text: str) -> RecordResponse:
    """An objection raised on the spot (TBR Art.44 ¶3); the host answers it before the record closes."""
    _responder(lot_id, user)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("say what the objection is", code="empty_objection", rule=RULE_OBJECTION)
    row = RecordResponse(lot_id=lot_id, organisation_id=user.organisation_id, user_id=user.id,
                         kind="objection", text=text[:5000], at=now())
    _add_response(row, user)
    events.record("bidding.opening_objection", {"lot_id": lot_id, "objection_id": row.id,
                                                "organisation_id": user.organisation_id, "at": _iso(row.at)})
    return row


def answer(*, response: RecordResponse, actor, text: str) -> RecordResponse:
    """The host answers an objection on the spot (TBR Art.44 ¶3)."""
    if response.kind != "objection":
        raise Conflict("only objections are answered", code="not_an_objection")
    if response.answered_at is not None:
        raise Conflict("this objection is already answered", code="already_answered", rule=RULE_OBJECTION)
    session = session_of(response.lot_id, lock=True)
    require_stage(session, "confirming", what="answer an objection")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("the answer is empty", code="empty_answer", rule=RULE_OBJECTION)
    response.answer, response.answered_by, response.answered_at = text[:5000], actor.id, now()
    touch(session)
    audit("bidding.opening_objection_answered", object_type="lot", object_id=response.lot_id, actor=actor,
          response_id=response.id)
    db.session.flush()
    return response


def responses(lot_id: int) -> list[RecordResponse]:
    return list(db.session.scalars(select(RecordResponse).where(RecordResponse.lot_id == lot_id)
                                   .order_by(RecordResponse.id)))


def finish(*, lot_id: int, actor=None) -> OpeningRecord | None:
    """Sign the final record, publish it and move the lot to ``opened``.

    The scheduler calls it at the end of the confirmation window (and does nothing before, or while
    an objection is unanswered); the host may finish earlier once every bidder has confirmed.

    :raises Conflict: an objection is unanswered, or (host) bidders may still confirm or object
    """
    try:
        session = session_of(lot_id, lock=True)
    except NotFound:
        if actor is not None:
            raise
        return None
    if actor is not None and session.stage == "closed":
        return record_of(lot_id, "final")  # a repeated click: the same record
    if actor is not None:
        require_stage(session, "confirming", what="close the opening record")
    if session.stage != "confirming":
        return None
    answers = responses(lot_id)
    open_objections = [r.id for r in answers if r.kind == "objection" and r.answered_at is None]
    early = now() < session.confirm_until
    if actor is None and (early or open_objections):
        return None
    if open_objections:
        raise Conflict("answer every objection before the opening record is closed", code="objection_unanswered",
                       rule=RULE_OBJECTION, objections=open_objections)
    bidders = {u.organisation_id for u in unsealings(lot_id)}
    confirmed = {r.organisation_id for r in answers if r.kind == "confirmation"}
    if early and bidders - confirmed:
        raise Conflict(f"bidders may confirm or object until {_iso(session.confirm_until)}",
                       code="confirmation_open", rule=RULE_ABSENT)
    return _close(session, answers, bidders, actor)


def _close(session: OpeningSession, answers: list[RecordResponse], bidders: set[int], actor) -> OpeningRecord:

    table = record_of(session.lot_id, "table")
    responded = {r.organisation_id for r in answers}
    orgs = _orgs(bidders | responded)
    body = {**table.body, "kind": "final", "table_digest": table.digest, "table_signature": table.signature,
            "table_kid": table.kid, "responses": [_response_json(r, orgs[r.organisation_id]) for r in answers],
            "deemed_accepted": [orgs[o]["uscc"] for o in sorted(bidders - responded)], "absent_rule": RULE_ABSENT,
            "closed_at": _iso(now())}
    row = _sign(session.lot_id, "final", body)
    session.stage, session.closed_at = "closed", now()
    touch(session)
    trading.finish_opening(lot=db.session.get(Lot, session.lot_id), actor=actor)
    events.record("bidding.opening_record_published", {"lot_id": session.lot_id, "kind": "final",
                                                       "digest": row.digest, "platform_kid": row.kid,
                                                       "signature": row.signature})
    audit("bidding.opening_record_closed", object_type="lot", object_id=session.lot_id, actor=actor,
          digest=row.digest)
    return row


def _orgs(ids: set[int]) -> dict[int, dict]:
    """Name and USCC of each organisation, in one query."""
    if not ids:
        return {}
    rows = db.session.execute(select(Organisation.id, Organisation.name, Organisation.uscc)
                              .where(Organisation.id.in_(ids))).all()
    return {i: {"name": name, "uscc": uscc} for i, name, uscc in rows}


def _response_json(r: RecordResponse, org: dict) -> dict:
    return {"bidder": org["name"], "uscc": org["uscc"], "kind": r.kind,
            "key_id": r.key_id or None, "signature": r.signature or None, "text": r.text or None,
            "answer": r.answer or None, "at": _iso(r.at), "answered_at": _iso(r.answered_at)}
