"""Unsealing one bid at the opening, and the custodians' remedy (DESIGN §5, EBM Art.30–31).

The bidder's tool unwraps the package's data key with the bidder's own X25519 key and sends it;
the platform reads the stored package, checks it is byte for byte the one the receipt names,
decrypts every segment, checks every file against the bidder's signed manifest, keeps the plain
files content-addressed for the archive and only then writes the price.  Who is at fault decides
what a failure means (EBM Art.31): a package the store cannot return intact is the platform's
fault; a wrong key or a package that does not match its own signed manifest is the bidder's.

The remedy (备用方案), where the tender allows it: two custodians send their decrypted shares; the
opening key is rebuilt in memory, unseals every bid whose unsealing failed, and is dropped.  A share
waiting for the second one is kept sealed to the platform's own key and deleted after use.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select

from bidding.models import Bid, KeyShare, OpeningSession, RemedyShare, Unsealing
from bidding.package import container, custody, sealing
from bidding.services.hall import RULE_FAILURE, require_stage, session_of, touch, unsealings
from bidding.services.opening import rebuild_opening_key
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict, Forbidden, ValidationFailed
from core.keys import platform_keys
from core.storage import get_storage
from core.storage.base import StorageError
from trading.models import Lot

logger = logging.getLogger(__name__)


class PlatformFault(Exception):
    """The platform cannot produce the package it received intact (EBM Art.31: not the bidder's fault)."""


def unseal_with_key(*, lot_id: int, user, data_key_b64: str) -> Unsealing:
    """The bidder's own unsealing: ``data_key_b64`` is the package's 32-byte data key, base64.

    A wrong key is recorded as a failure caused by the bidder, who may try again until the window
    closes; only the window's close turns a failure into a revocation (services/hall.py).  The
    decryption runs before any lock is taken; its outcome is then written under the hall's lock,
    after checking again that the window is still open (the window's close takes the same lock).

    :raises Conflict: the window is not open, or this bid is already unsealed
    :raises Forbidden: the organisation has no bid in this opening
    :raises ValidationFailed: the value is not a base64 32-byte key (nothing is recorded)
    """
    _require_open_window(session_of(lot_id))
    row = _row_of(lot_id, user.organisation_id)
    if row.status == "unsealed":
        raise Conflict("this bid is already unsealed", code="already_unsealed")
    try:
        key = container.b64d(data_key_b64, length=32, what="data_key")
    except container.PackageError as err:
        raise ValidationFailed(err.detail, code="bad_data_key", rule=RULE_FAILURE) from None
    outcome = _try(db.session.get(Bid, row.bid_id), key=key)
    session = session_of(lot_id, lock=True)
    _require_open_window(session)
    row = _row_of(lot_id, user.organisation_id, lock=True)
    if row.status == "unsealed":
        raise Conflict("this bid is already unsealed", code="already_unsealed")
    _apply(row, session, outcome, via="bidder", actor=user)
    return row


def _row_of(lot_id: int, organisation_id: int, *, lock: bool = False) -> Unsealing:
    q = select(Unsealing).where(Unsealing.lot_id == lot_id, Unsealing.organisation_id == organisation_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalars(q).first()
    if row is None:
        raise Forbidden("your organisation has no bid in this opening", code="not_a_bidder", rule=RULE_FAILURE)
    return row


def _require_open_window(session: OpeningSession) -> None:
    require_stage(session, "unsealing", what="unseal")
    if now() >= session.window_closes_at:
        raise Conflict("the unseal window has closed", code="window_closed", rule=RULE_FAILURE)


def _try(bid: Bid, *, key: bytes | None = None, private=None) -> tuple:
    """Decrypt, check and store; the outcome as data: ``("unsealed", result, files)`` or
    ``("failed", cause, detail)``.  Never raises for a bad package or a platform fault."""
    try:
        result, files = _decrypt(bid, key=key, private=private)
    except PlatformFault as err:
        return "failed", "platform", str(err)
    except container.PackageError as err:
        return "failed", "bidder", f"{err.code}: {err.detail}"
    return "unsealed", result, files


def _apply(row: Unsealing, session: OpeningSession, outcome: tuple, *, via: str, actor=None) -> None:
    """Write one attempt's outcome on ``row`` (the caller holds the hall's lock)."""
    row.attempts += 1
    if outcome[0] == "unsealed":
        _unsealed(row, db.session.get(Bid, row.bid_id), outcome[1], outcome[2], via=via, actor=actor)
    else:
        _failed(row, outcome[1], outcome[2], actor)
    touch(session)
    db.session.flush()


def _decrypt(bid: Bid, *, key: bytes | None, private) -> tuple[sealing.Unsealed, dict]:
    """Unseal the stored package into a private temporary directory, keep each file content-addressed.

    Anything that goes wrong on the platform's side (disk, store, an unexpected error) is a
    :class:`PlatformFault`: the bidder is not to blame for it (EBM Art.31).
    """
    work = None
    try:
        store = get_storage()
        work = Path(tempfile.mkdtemp(prefix="ggzy-unseal-"))
        package = work / "package.bid"
        _fetch(store, bid, package)
        with open(package, "rb") as fh:
            result = sealing.unseal(fh, work / "out", data_key=key, private_key=private)
        files = {}
        for path in sealing.iter_files(work / "out"):
            name = path.relative_to(work / "out").as_posix()
            data = path.read_bytes()
            info = store.put_content_addressed(data, length=len(data))
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "key": info.key}
        return result, files
    except (container.PackageError, PlatformFault):
        raise
    except (OSError, StorageError) as err:
        raise PlatformFault(f"the platform could not unseal the package: {type(err).__name__}") from None
    except Exception as err:  # a defect of ours is still not the bidder's fault
        logger.exception("unsealing bid %s failed unexpectedly", bid.id)
        raise PlatformFault(f"the platform could not unseal the package: {type(err).__name__}") from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _fetch(store, bid: Bid, target: Path) -> None:
    """Copy the stored package out, checking it is the one the receipt names (else: the platform's fault)."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(target, "wb") as out:
            for chunk in store.iter_chunks(bid.package_key):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except (OSError, StorageError) as err:
        raise PlatformFault(f"the stored package cannot be read: {type(err).__name__}") from None
    if size != bid.size or digest.hexdigest() != bid.package_sha256:
        raise PlatformFault("the stored package differs from the one the receipt names")


def _failed(row: Unsealing, cause: str, detail: str, actor) -> None:
    row.status, row.cause, row.detail = "failed", cause, detail[:500]
    audit("bidding.unseal_attempt_failed", object_type="bid", object_id=row.bid_id, actor=actor,
          lot_id=row.lot_id, cause=cause, detail=detail[:500])
    logger.info("unsealing bid %s failed (%s): %s", row.bid_id, cause, detail)


def _unsealed(row: Unsealing, bid: Bid, result: sealing.Unsealed, files: dict, *, via: str, actor) -> None:

    lot = db.session.get(Lot, row.lot_id)
    schedule = (result.info or {}).get("schedule") or {}
    facts = (result.info or {}).get("opening") or {}
    row.price = str(schedule["total"]) if schedule.get("total") is not None else None
    row.fields = {name: _text(facts.get(name)) for name in (lot.opening_fields or [])}
    row.files, row.via, row.unsealed_at = files, via, now()
    row.status, row.cause, row.detail = "unsealed", None, ""
    events.record("bidding.bid_unsealed", {
        "lot_id": row.lot_id, "bid_id": bid.id, "organisation_id": bid.organisation_id, "via": via,
        "unsealed_at": row.unsealed_at.isoformat(), "package_sha256": bid.package_sha256,
        "files": {name: {"sha256": f["sha256"], "size": f["size"]} for name, f in files.items()},
        "authors": [f.get("author", {}) for f in result.files if isinstance(f, dict)]})
    audit("bidding.bid_unsealed", object_type="bid", object_id=bid.id, actor=actor, lot_id=row.lot_id, via=via)


def _text(value) -> str | None:
    return None if value is None else str(value)[:200]


# --- the remedy ---------------------------------------------------------------------------------

def submit_remedy_share(*, lot_id: int, user, share_json: str) -> dict:
    """A custodian's decrypted share for the remedy; the second one rebuilds the key and unseals the
    bids whose unsealing failed (EBM Art.31: the remedy is for failures; a bidder who never tries is
    revoked at the window's close).

    :raises Conflict: the tender has no remedy plan, or the window is not open
    :raises Forbidden: the user holds no share of this lot's key
    :raises ValidationFailed: not a share of this lot's key, or the wrong custodian's share
    """

    session = session_of(lot_id, lock=True)
    _require_open_window(session)
    if not db.session.get(Lot, lot_id).unseal_remedy:
        raise Conflict("the tender documents provide no remedy plan: custodians cannot unseal bids",
                       code="no_remedy_plan", rule=RULE_FAILURE)
    mine = db.session.scalar(select(KeyShare).where(KeyShare.lot_id == lot_id, KeyShare.user_id == user.id))
    if mine is None:
        raise Forbidden("you hold no share of this lot's opening key", code="not_a_custodian", rule=RULE_FAILURE)
    share = _parse_share(share_json, lot_id=lot_id, x=mine.x)
    sealed = custody.encrypt_share(share, _platform_public())
    existing = db.session.scalar(select(RemedyShare).where(RemedyShare.lot_id == lot_id, RemedyShare.x == share.x))
    if existing is None:
        db.session.add(RemedyShare(lot_id=lot_id, x=share.x, user_id=user.id, sealed=sealed))
    audit("bidding.remedy_share_submitted", object_type="lot", object_id=lot_id, actor=user, x=share.x)
    db.session.flush()
    held = db.session.scalars(select(RemedyShare).where(RemedyShare.lot_id == lot_id)).all()
    if len(held) < 2:
        touch(session)
        return {"shares": len(held), "unsealed": []}
    return _run_remedy(session, held, actor=user)


def _parse_share(text: str, *, lot_id: int, x: int) -> custody.ClearShare:
    try:
        share = custody.ClearShare.from_json(text)
    except (custody.CustodyError, ValueError, TypeError, KeyError) as err:
        raise ValidationFailed(f"not a decrypted share: {err}", code="bad_share", rule=RULE_FAILURE) from None
    if share.lot_id != lot_id or share.x != x:
        raise ValidationFailed("this is not your share of this lot's opening key", code="wrong_share",
                               rule=RULE_FAILURE)
    return share


def _platform_public() -> bytes:
    return container.raw_public(platform_keys().encryption_public())


def _run_remedy(session: OpeningSession, held: list[RemedyShare], *, actor) -> dict:
    """Rebuild the opening key in memory, unseal the bids whose unsealing failed, drop the key and the
    shares.  Shares that do not rebuild this lot's key are dropped too (one of them is wrong: which
    one cannot be known), and ``error`` says so; the custodians send them again."""
    private_platform = platform_keys().encryption_private()
    try:
        opening = rebuild_opening_key(lot_id=session.lot_id, shares=[custody.decrypt_share(r.sealed, private_platform)
                                                                     for r in held])
    except (ValidationFailed, custody.CustodyError) as err:
        for r in held:
            db.session.delete(r)
        touch(session)
        db.session.flush()
        return {"shares": 0, "unsealed": [], "error": getattr(err, "detail", str(err))}
    done = []
    try:
        for row in unsealings(session.lot_id, lock=True):
            if row.status == "failed":
                _apply(row, session, _try(db.session.get(Bid, row.bid_id), private=opening), via="remedy",
                       actor=actor)
                if row.status == "unsealed":
                    done.append(row.bid_id)
    finally:
        del opening
        for r in held:
            db.session.delete(r)
    session.remedy_used = True
    touch(session)
    audit("bidding.remedy_used", object_type="lot", object_id=session.lot_id, actor=actor, unsealed=done)
    db.session.flush()
    return {"shares": len(held), "unsealed": done}
