"""Bidding use cases: opening-key custody and the platform-side package check.

Keyword-only functions that flush, never commit, and raise DomainError subclasses (STYLE habit 3).

**Custodian rule** (who holds the three shares of a lot's opening key, DESIGN §5):

1. *opening host* — a user holding the ``opening_host`` grant on the lot;
2. *supervisor* — a user whose global role is ``supervisor`` holding the ``custodian`` grant on it;
3. *trading centre* — a user of a ``trading_centre`` organisation holding the ``custodian`` grant.

Each must have a valid X25519 key registered to them *personally* (not their organisation's, which
colleagues share).  The three must be different people from different organisations, so no single
person or body ever holds two shares — two shares are the key.  Where several users qualify for a
slot, the earliest grant wins.  If a slot cannot be filled the key is not made and the refusal names
every missing piece.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select

from bidding.models import KeyShare, OpeningKey
from bidding.package import container, custody, sealing
from core import keys as registry
from core.audit import audit
from core.clock import now
from core.crypto import b64d
from core.db import db
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.models import Grant, User
from trading.models import Lot

logger = logging.getLogger(__name__)

RULE_ENCRYPTION = "电子招标投标办法 第二十六条"
RULE_CUSTODY = "电子招标投标办法 第二十七条 (投标截止前任何单位和个人不得解密、提取投标文件)"


@dataclass
class Custodian:
    slot: str
    user: User
    key: registry.PublicKey


class CustodiansMissing(ValidationFailed):
    code = "custodians_missing"


class PackageRefused(ValidationFailed):
    """An incoming package that is not sealed as format v1 requires (EBM Art.26: refuse and say why)."""

    code = "package_refused"


# --- custody ------------------------------------------------------------------------------------

def _lot_exists(lot_id: int) -> bool:

    return db.session.get(Lot, lot_id) is not None


def _grant_holders(lot_id: int, grant: str) -> list[User]:
    q = (select(User).join(Grant, Grant.user_id == User.id)
         .where(Grant.grant == grant, Grant.scope_type == "lot", Grant.scope_id == lot_id, User.active)
         .order_by(Grant.id))
    return list(db.session.scalars(q))


def _slot_candidates(lot_id: int) -> dict[str, list[User]]:
    custodians = _grant_holders(lot_id, "custodian")
    return {
        "opening_host": _grant_holders(lot_id, "opening_host"),
        "supervisor": [u for u in custodians if u.role == "supervisor"],
        "trading_centre": [u for u in custodians if u.role != "supervisor" and u.organisation is not None
                           and u.organisation.kind == "trading_centre"],
    }


def _personal_key(user: User) -> registry.PublicKey | None:
    found = registry.valid_keys(user_id=user.id, kind="encrypt")
    return max(found, key=lambda k: k.id) if found else None


def custodians_for(*, lot_id: int) -> list[Custodian]:
    """The three custodians of a lot under the rule in the module docstring, in share order.

    :raises CustodiansMissing: a slot is empty, a candidate has no personal X25519 key, or one
        person or organisation would hold two shares
    """
    problems, chosen, taken_users, taken_orgs = [], [], set(), set()
    for slot, users in _slot_candidates(lot_id).items():
        pick = next((u for u in users if u.id not in taken_users
                     and (u.organisation_id is None or u.organisation_id not in taken_orgs)
                     and _personal_key(u)), None)
        if pick is None:
            problems.append(_why_missing(slot, users))
            continue
        chosen.append(Custodian(slot, pick, _personal_key(pick)))
        taken_users.add(pick.id)
        if pick.organisation_id is not None:
            taken_orgs.add(pick.organisation_id)
    if problems:
        raise CustodiansMissing("cannot split the opening key 2-of-3: " + "; ".join(problems),
                                rule=RULE_CUSTODY, missing=problems)
    return chosen


def _why_missing(slot: str, users: list[User]) -> str:
    grant = "opening_host" if slot == "opening_host" else "custodian"
    if not users:
        who = {"opening_host": "user", "supervisor": "supervisor",
               "trading_centre": "trading-centre user"}[slot]
        return f"{slot}: no {who} holds the '{grant}' grant on this lot"
    names = ", ".join(u.email for u in users)
    return (f"{slot}: {names} hold(s) the grant but none has a valid personal X25519 key, "
            f"or each is already custodian for another slot or of the same organisation")


def require_custodians(lot) -> None:
    """Receiver of ``core.signals.lot_publishing``: a lot whose opening key cannot be made is not published, or
    bidders could not seal to it (电子招标投标办法 第二十七条).

    :raises CustodiansMissing: 422 naming every missing custodian
    """
    custodians_for(lot_id=lot.id)


def create_opening_key(*, lot_id: int, actor=None) -> OpeningKey:
    """Make the lot's opening key, split it 2-of-3, seal each share to its custodian, store only
    the public half and the sealed shares.  Idempotent: an existing key is returned unchanged.

    :raises NotFound: no such lot
    :raises CustodiansMissing: see :func:`custodians_for`
    """
    existing = db.session.get(OpeningKey, lot_id)
    if existing is not None:
        return existing
    if not _lot_exists(lot_id):
        raise NotFound(f"lot {lot_id} not found", code="lot_not_found")
    custodians = custodians_for(lot_id=lot_id)
    private = custody.new_opening_key()
    public = container.raw_public(private)
    row = OpeningKey(lot_id=lot_id, kid=container.key_id("x25519", public), public_key=container.b64e(public),
                     threshold=custody.THRESHOLD)
    db.session.add(row)
    for share, keeper in zip(custody.split_opening_key(private, lot_id=lot_id), custodians, strict=True):
        sealed = custody.encrypt_share(share, b64d(keeper.key.public_key))
        db.session.add(KeyShare(lot_id=lot_id, user_id=keeper.user.id, slot=keeper.slot, x=share.x,
                                recipient_kid=sealed["recipient_kid"],
                                ephemeral_public_key=sealed["ephemeral_public_key"],
                                ciphertext=sealed["ciphertext"]))
    del private
    db.session.flush()
    audit("bidding.opening_key_created", object_type="lot", object_id=lot_id, actor=actor, kid=row.kid,
          custodians={c.slot: c.user.id for c in custodians})
    logger.info("opening key %s made for lot %s", row.kid, lot_id)
    return row


def opening_key(*, lot_id: int) -> OpeningKey:
    """:raises Conflict: the lot has no opening key yet (not published, or custodians missing)"""
    row = db.session.get(OpeningKey, lot_id)
    if row is None:
        raise Conflict(f"lot {lot_id} has no opening key yet: it is not published or its custodians "
                       "are not complete", code="no_opening_key", rule=RULE_ENCRYPTION)
    return row


def shares_of(*, user: User, lot_id: int | None = None) -> list[KeyShare]:
    q = select(KeyShare).where(KeyShare.user_id == user.id).order_by(KeyShare.lot_id, KeyShare.x)
    if lot_id is not None:
        q = q.where(KeyShare.lot_id == lot_id)
    return list(db.session.scalars(q))


def rebuild_opening_key(*, lot_id: int, shares: list[custody.ClearShare]):
    """The remedy path: rebuild the lot's key in memory from custodians' decrypted shares.

    :raises ValidationFailed: fewer than two good shares, or shares of another key
    """
    row = opening_key(lot_id=lot_id)
    try:
        return custody.rebuild_opening_key([s for s in shares if s.lot_id == lot_id], opening_key_id=row.kid)
    except custody.CustodyError as err:
        raise ValidationFailed(err.detail, code=err.code, rule="电子招标投标办法 第三十一条") from None


# --- package check ------------------------------------------------------------------------------

def _refuse(code: str, detail: str, **extra) -> DomainError:
    return PackageRefused(detail, code=code, rule=RULE_ENCRYPTION, **extra)


def validate_package(*, lot_id: int, stream: BinaryIO, organisation_id: int | None = None) -> dict:
    """Check an incoming package without storing it: format, lot, opening key, signature by a
    registered and currently valid bidder key, ciphertext size and hash, both wrapped keys.

    :param organisation_id: when given, the signing key must belong to this organisation
    :raises PackageRefused: 422 with the precise reason (电子招标投标办法 第二十六条)
    :raises Conflict: the lot has no opening key
    """
    lot_key = opening_key(lot_id=lot_id)
    try:
        found = sealing.read_manifest(stream)
    except container.PackageError as err:
        raise _refuse(err.code, err.detail) from None
    m = found.manifest
    if m["lot_id"] != lot_id:
        raise _refuse("lot_mismatch", f"the package is sealed for lot {m['lot_id']}, not lot {lot_id}")
    if m["opening_key_id"] != lot_key.kid:
        raise _refuse("opening_key_mismatch", f"the data key is wrapped to {m['opening_key_id']}, "
                      f"not to this lot's opening key {lot_key.kid}")
    signer = _check_signer(m, organisation_id)
    try:
        for _segment in sealing.ciphertext_segments(stream, m):
            pass
    except container.PackageError as err:
        raise _refuse(err.code, err.detail) from None
    return {"lot_id": lot_id, "valid": True, "bidder_key_id": m["bidder_key_id"],
            "organisation_id": signer.organisation_id, "opening_key_id": m["opening_key_id"],
            "files": len(m["files"]) - 1, "ciphertext_size": m["payload"]["size"],
            "ciphertext_sha256": m["payload"]["sha256"], "device": m["device"], "tool": m["tool"]}


def _check_signer(m: dict, organisation_id: int | None) -> registry.PublicKey:
    try:
        key = registry.get_key(m["bidder_key_id"])
    except NotFound:
        raise _refuse("bidder_key_unknown", f"{m['bidder_key_id']} is not a registered key; register "
                      "your organisation's signing key first") from None
    if key.kind != "sign" or key.public_key != m["bidder_public_key"] or key.organisation_id is None:
        raise _refuse("bidder_key_unknown", f"{m['bidder_key_id']} is not an organisation's registered "
                      "signing key")
    if not key.is_valid_at(now()):
        raise _refuse("bidder_key_not_valid", f"{key.kid} is expired or revoked")
    if organisation_id is not None and key.organisation_id != organisation_id:
        raise _refuse("signer_not_your_organisation", f"{key.kid} belongs to another organisation")
    return key
