"""The credit blacklist (失信黑名单) and the operator-affiliate rule, as data other domains query.

``bidding`` asks :func:`is_blacklisted` / :func:`bidder_exclusions` before accepting a bid:
an enterprise or person in force on the list, or an organisation affiliated with the platform
operator (EBM Art.23: the operator and entities it controls cannot bid), is refused.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import or_, select

from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import ValidationFailed
from core.identity import hash_id_number, validate_uscc
from core.models import Organisation, User
from trading.errors import StateConflict
from trading.models import BlacklistEntry

logger = logging.getLogger(__name__)
AFFILIATE_RULE = "电子招标投标办法 第二十三条"
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


def add_entry(*, actor, subject_kind: str, name: str, reason: str, legal_basis: str, starts_at: dt.datetime,
              ends_at: dt.datetime | None = None, uscc: str | None = None, id_number: str | None = None,
              decision: str = "") -> BlacklistEntry:
    """List an enterprise (by USCC) or a person (by id number, kept as a salted hash).

    :raises ValidationFailed: missing identifier, bad USCC, period ending before it starts
    """
    entry = BlacklistEntry(subject_kind=subject_kind, name=name, reason=reason, legal_basis=legal_basis,
                           decision=decision, starts_at=starts_at, ends_at=ends_at, created_by=actor.id)
    if subject_kind == "enterprise":
        if not uscc:
            raise ValidationFailed("an enterprise is identified by its USCC", code="uscc_required")
        entry.uscc = validate_uscc(uscc)
        entry.organisation_id = db.session.scalar(select(Organisation.id).where(Organisation.uscc == entry.uscc))
    elif subject_kind == "person":
        if not id_number:
            raise ValidationFailed("a person is identified by the id number", code="id_number_required")
        entry.id_number_hash = hash_id_number(id_number)
    else:
        raise ValidationFailed("subject_kind is enterprise or person", code="invalid_subject_kind")
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationFailed("the period must end after it starts", code="invalid_period")
    db.session.add(entry)
    db.session.flush()
    audit("blacklist.added", object_type="blacklist", object_id=entry.id, actor=actor, kind=subject_kind,
          name=name, legal_basis=legal_basis)
    return entry


def revoke_entry(*, actor, entry: BlacklistEntry, reason: str) -> BlacklistEntry:
    """Lift a listing early (e.g. a decision overturned on review); the row stays for the record."""
    if entry.revoked_at is not None:
        raise StateConflict("this listing is already revoked", code="already_revoked")
    entry.revoked_at, entry.revoke_reason = now(), reason
    audit("blacklist.revoked", object_type="blacklist", object_id=entry.id, actor=actor, reason=reason)
    return entry


def in_force(at: dt.datetime | None = None) -> list[BlacklistEntry]:
    """Listings in force at ``at`` (default now): the public list."""
    at = at or now()
    rows = db.session.scalars(select(BlacklistEntry).where(BlacklistEntry.starts_at <= at)
                              .order_by(BlacklistEntry.starts_at.desc(), BlacklistEntry.id.desc())).all()
    return [r for r in rows if r.in_force(at)]


def matches(subject, at: dt.datetime | None = None) -> list[BlacklistEntry]:
    """Listings in force that concern ``subject``.

    ``subject`` is an :class:`Organisation` (matched by id and USCC, and by its legal
    representative's id hash), a :class:`User` (their organisation), a USCC, an id number, or the
    hash of one.
    """
    at = at or now()
    usccs, hashes, org_ids = _identifiers(subject)
    conditions = [BlacklistEntry.uscc.in_(usccs), BlacklistEntry.id_number_hash.in_(hashes),
                  BlacklistEntry.organisation_id.in_(org_ids)]
    rows = db.session.scalars(select(BlacklistEntry).where(or_(*conditions))).all()
    return [r for r in rows if r.in_force(at)]


def is_blacklisted(subject, at: dt.datetime | None = None) -> bool:
    """True if an enterprise or person is on the blacklist at ``at`` (see :func:`matches`)."""
    return bool(matches(subject, at))


def _identifiers(subject) -> tuple[set[str], set[str], set[int]]:
    if isinstance(subject, User):
        subject = subject.organisation if subject.organisation is not None else ""
    if isinstance(subject, Organisation):
        rep_hash = (subject.legal_rep or {}).get("id_number_hash")
        return {subject.uscc}, {rep_hash} if rep_hash else set(), {subject.id}
    text = str(subject or "").strip()
    if _HEX64.match(text):
        return set(), {text}, set()
    if len(text) == 18:
        try:
            return {validate_uscc(text)}, {hash_id_number(text)}, set()
        except Exception:  # an 18-character id number: a person
            return set(), {hash_id_number(text)}, set()
    return set(), {hash_id_number(text)} if text else set(), set()


def bidder_exclusions(organisation: Organisation, at: dt.datetime | None = None) -> list[dict]:
    """Why an organisation may not bid at ``at``: blacklist listings and the affiliate rule."""
    reasons = [{"code": "blacklisted", "rule": e.legal_basis, "detail": e.reason, "entry_id": e.id}
               for e in matches(organisation, at)]
    if organisation.affiliated_with_operator:
        reasons.append({"code": "operator_affiliate", "rule": AFFILIATE_RULE,
                        "detail": "the platform operator and entities it controls may not bid on its platform"})
    return reasons
