"""Bid submission: finishing an upload (or one request with the whole package), the deadline, receipts.

An upload session (bidding.services.uploads) declares the package's size and SHA-256; chunks arrive
at client-chosen offsets (each hashed) into the chunk area on disk, never into memory or the database.
*Finishing* is the moment of submission: the server clock at the arrival of the finish request is
judged against the deadline (电子招标投标办法 第二十七条); then the assembled package is checked
as in the sealing issue (format v1, lot, opening key, registered signer, ciphertext), stored with
one streaming write-once put carrying the declared SHA-256, and only then does a bid row exist,
with its platform-signed receipt, in the same transaction as the ``bidding.bid_submitted`` event.

So an upload unfinished at the deadline, or finished one instant late, never becomes a bid and
never reaches the object store; its chunks are collected by ``bidding.collect_uploads``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import uuid
from pathlib import Path

from sqlalchemy.exc import IntegrityError, InvalidRequestError

from bidding.models import Bid, Upload
from bidding.package import receipts
from bidding.services.body import Receiving
from bidding.services.bonds import hold_again_for
from bidding.services.chunks import READ, Chunk, ChunkError
from bidding.services.eligibility import DeadlinePassed, check_eligible, check_open, hold_open
from bidding.services.opening import PackageRefused, validate_package
from bidding.services.uploads import (
    MIN_PACKAGE,
    UploadError,
    active_bid,
    chunk_area,
    chunk_max,
    chunk_refusal,
    package_max,
    standing_retry,
)
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict
from core.keys import platform_keys
from core.storage import ChecksumMismatch, get_storage
from trading.models import Lot

logger = logging.getLogger(__name__)


def package_key(lot_id: int, sha256: str) -> str:
    return f"bidding/packages/{lot_id}/{sha256}"


# --- finishing = submitting ---------------------------------------------------------------------

def finish_upload(*, upload: Upload, actor, ip: str = "", user_agent: str = "") -> tuple[Bid, bool]:
    """Submit the uploaded package: deadline, eligibility, package check, store, bid, receipt.

    :returns: ``(bid, created)``; ``created`` is False for an identical retry (same receipt)
    :raises DeadlinePassed: the finish request arrived at or after the deadline (nothing is kept)
    :raises UploadError: chunks missing, or the bytes differ from the declared size/SHA-256
    :raises PackageRefused: not a valid package for this lot (电子招标投标办法 第二十六条)
    :raises NotEligible: blacklisted, operator affiliate, … (see eligibility)
    """

    if upload.state == "finished" and upload.bid_id is not None:
        return db.session.get(Bid, upload.bid_id), False
    at = now()  # the instant of submission: every byte is already here
    lot = db.session.get(Lot, upload.lot_id)
    hold_open(lot, at=at)
    if (done := _lock_session(upload)) is not None:
        return done, False
    organisation = actor.organisation
    check_eligible(lot=lot, organisation=organisation, at=at)
    try:
        report, spool = _check_assembled(upload, organisation.id)
        try:
            standing = active_bid(lot_id=lot.id, organisation_id=organisation.id)
            if standing is not None and standing.package_sha256 == upload.sha256:
                upload.state, upload.bid_id = "finished", standing.id
                return standing, False
            info = _store(upload, spool)
        finally:
            if spool is not None:
                spool.unlink(missing_ok=True)
    except ChunkError as err:  # the chunks went under the reader: abandoned, discarded or collected
        raise chunk_refusal(err) from None
    bid = _record_bid(upload=upload, lot=lot, organisation=organisation, actor=actor, at=at, report=report,
                      storage_key=info.key, standing=standing, ip=ip, user_agent=user_agent,
                      sha256=upload.sha256, size=upload.size)
    return bid, True


def _lock_session(upload: Upload) -> Bid | None:
    """Lock the session row against a concurrent finish or abandon (``cancel_upload`` deletes only
    an open row) and read it again: the bid, if a finish committed meanwhile.

    :raises UploadError: 409 ``upload_abandoned``, the bidder abandoned it meanwhile
    """
    try:
        db.session.refresh(upload, with_for_update=True)
    except InvalidRequestError:  # the row is gone
        raise UploadError("this upload was abandoned; open a new one", code="upload_abandoned",
                          status=409) from None
    return db.session.get(Bid, upload.bid_id) if upload.state == "finished" else None


def _one_chunk(upload: Upload) -> bool:
    """The package came as one chunk, whose name is its verified SHA-256: no need to hash it again."""
    return chunk_area().chunks(upload.id) == [Chunk(0, upload.size, upload.sha256)]


def _check_assembled(upload: Upload, organisation_id: int) -> tuple[dict, Path | None]:
    """Check the assembled package, read once.  Returned: the check's report and a local file holding
    the package, which the store adopts by rename (None: no local spool, S3: the store reads the
    chunks and hashes as it writes).  Chunks written in place (bidding/services/chunks.py) are already the
    package: the check reads and hashes that file, and the store adopts a hard link to it, so the
    package is written once.  Otherwise the check copies the chunks into a spool as it hashes them.
    A refusal of bytes that are not the declared package is a mismatch: a chunk cut from other bytes
    (it matched only its own hash) breaks the package too, and blaming the package would send the
    bidder looking for a fault in a file that has none."""
    area = chunk_area()
    reader = area.open(upload.id, upload.size)
    try:
        spool = get_storage().spool_path()
        if spool is None:
            return _check_unspooled(upload, reader, organisation_id), None
        if (link := _link_package(upload, spool)) is not None:
            return _check_in_place(upload, link, organisation_id), link
        return _check_spooling(upload, reader, spool, organisation_id), spool
    finally:
        reader.close()


def _check_unspooled(upload: Upload, reader, organisation_id: int) -> dict:
    try:
        return validate_package(lot_id=upload.lot_id, stream=reader, organisation_id=organisation_id)
    except PackageRefused:  # one chunk is verified by its name; assembled chunks may not be
        if not _one_chunk(upload) and _assembled_sha256(upload) != upload.sha256:
            raise _not_declared(upload) from None
        raise


def _link_package(upload: Upload, spool: Path) -> Path | None:
    """A second name, in the store's spool area, for the session's package file when it holds the
    whole package (the session keeps its name until the commit, so a failed finish can be retried);
    None when some chunk sits in a file of its own, or on another filesystem."""
    package = chunk_area().package_file(upload.id, upload.size)
    if package is None:
        return None
    spool.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(package, spool)
    except FileNotFoundError:  # the session went meanwhile (collected, abandoned)
        raise ChunkError("upload_collected", "this upload's chunks are gone; ask for its status") from None
    except OSError:
        return None
    return spool


def _check_in_place(upload: Upload, package: Path, organisation_id: int) -> dict:
    """Check and hash the package in one read (no copy: the file is what the store adopts).  A package
    sent as one chunk is not hashed again: that chunk's name is its verified SHA-256.

    :raises UploadError: the bytes are not the declared package (the link is removed)"""
    try:
        with open(package, "rb") as fh:
            body = Receiving(fh, None, upload.size, digest=not _one_chunk(upload))
            try:
                report = validate_package(lot_id=upload.lot_id, stream=body, organisation_id=organisation_id)
            except PackageRefused:
                body.drain()
                if not _in_place_declared(body, upload):
                    raise _not_declared(upload) from None
                raise
            body.drain()
        if not _in_place_declared(body, upload):
            raise _not_declared(upload)
    except BaseException:
        package.unlink(missing_ok=True)
        raise
    return report


def _in_place_declared(body: Receiving, upload: Upload) -> bool:
    return body.size == upload.size and (body.hash is None or body.hash.hexdigest() == upload.sha256)


def _check_spooling(upload: Upload, reader, spool: Path, organisation_id: int) -> dict:
    """:raises UploadError: the assembled bytes are not the declared package (the spool is removed)"""
    spool.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(spool, "xb") as out:
            body = Receiving(reader, out, upload.size)
            try:
                report = validate_package(lot_id=upload.lot_id, stream=body, organisation_id=organisation_id)
            except PackageRefused:  # refused bytes that are not the declared package: say so
                body.drain()
                if not _is_declared(body, upload):
                    raise _not_declared(upload) from None
                raise
            body.drain()
        if not _is_declared(body, upload):
            raise _not_declared(upload)
    except BaseException:
        spool.unlink(missing_ok=True)
        raise
    return report


def _is_declared(body: Receiving, upload: Upload) -> bool:
    return body.size == upload.size and body.hash.hexdigest() == upload.sha256


def _assembled_sha256(upload: Upload) -> str:
    """A second read, only after a refusal, where the store hashes as it writes (no spool: S3)."""
    digest, reader = hashlib.sha256(), chunk_area().open(upload.id, upload.size)
    try:
        while data := reader.read(READ):
            digest.update(data)
    finally:
        reader.close()
    return digest.hexdigest()


def _not_declared(upload: Upload) -> UploadError:
    """The chunks do not make the declared package: drop them, so that the session can be resumed
    from nothing.  Kept, they would fail every finish again (each is a chunk of *some* bytes, never
    overlapped by the right ones), and the same session is what a restarted client resumes."""
    chunk_area().discard(upload.id)
    return _hash_mismatch("; the chunks were discarded: send the package again",
                          missing=[{"offset": 0, "length": upload.size}])


def _hash_mismatch(then: str = "", **extra) -> UploadError:
    return UploadError(f"the uploaded bytes are not the declared package (size or SHA-256 differ){then}",
                       code="package_hash_mismatch", **extra)


def _store(upload: Upload, spool: Path | None):
    """Write-once, never a second hash of the package: the file the check read (the session's package
    file linked, or the spool it wrote) is adopted by rename; else (no local spool: S3) one streaming
    put in which the store checks the declared size and SHA-256 and keeps nothing on a mismatch."""
    store = get_storage()
    key = package_key(upload.lot_id, upload.sha256)
    try:
        if spool is not None:
            return store.adopt(key, spool, size=upload.size, sha256=upload.sha256, write_once=True)
        reader = chunk_area().open(upload.id, upload.size)
        try:
            return store.put(key, reader, length=upload.size, sha256=upload.sha256, write_once=True)
        finally:
            reader.close()
    except ChecksumMismatch:
        raise _not_declared(upload) from None


def _record_bid(*, upload, lot, organisation, actor, at, report, storage_key, standing, ip, user_agent, sha256,
                size) -> Bid:
    if standing is not None:
        standing.state, standing.active_key, standing.ended_at = "replaced", None, at
        db.session.flush()
    bond = hold_again_for(lot_id=lot.id, organisation_id=organisation.id)
    bid = Bid(lot_id=lot.id, organisation_id=organisation.id, submitted_by=actor.id,
              active_key=f"{lot.id}:{organisation.id}", package_key=storage_key, package_sha256=sha256,
              size=size, ciphertext_sha256=report["ciphertext_sha256"],
              opening_key_id=report["opening_key_id"], received_at=at, receipt={},
              replaces_id=standing.id if standing else None, ip=(ip or "")[:45], user_agent=(user_agent or "")[:200],
              device=report["device"], signer_kid=report["bidder_key_id"],
              bond_payer_account=bond.payer_account if bond else None)
    db.session.add(bid)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("another submission of your organisation for this lot is being recorded; retry",
                       code="submission_in_progress") from None
    bid.receipt = receipts.sign(_receipt_body(bid, organisation), platform_keys())
    if upload is not None:
        upload.state, upload.bid_id = "finished", bid.id
    audit("bidding.bid_submitted", object_type="bid", object_id=bid.id, actor=actor, lot_id=lot.id,
          package_sha256=bid.package_sha256)
    # the outbox row is flushed with the receipt, the upload and the audit row: one flush, not two
    events.record("bidding.bid_submitted", {
        "bid_id": bid.id, "lot_id": lot.id, "organisation_id": organisation.id,
        "package_sha256": bid.package_sha256, "size": bid.size, "received_at": _iso(at),
        "receipt_id": bid.receipt["receipt_id"], "signer_kid": bid.signer_kid,
        "replaces_bid_id": bid.replaces_id, "receipt": bid.receipt})  # the archive keeps it, signed
    return bid


def _receipt_body(bid: Bid, organisation) -> dict:
    return {"receipt_id": uuid.uuid4().hex, "bid_id": bid.id, "lot_id": bid.lot_id,
            "organisation_id": bid.organisation_id, "bidder_uscc": organisation.uscc,
            "package_sha256": bid.package_sha256, "size": bid.size, "ciphertext_sha256": bid.ciphertext_sha256,
            "signer_kid": bid.signer_kid, "received_at": _iso(bid.received_at)}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- one request: the whole package in the body -------------------------------------------------

def submit_package(*, user, lot, stream, length: int | None, sha256: str, ip: str = "",
                   user_agent: str = "") -> tuple[Bid, bool]:
    """Submit a package sent whole in one request: the same checks, store, bid and receipt as an
    upload and its finish, for packages of at most ``chunk_max`` bytes.  The instant of submission
    is the arrival of the last byte; an identical retry returns the standing bid (``created`` False).

    :raises DeadlinePassed, NotEligible, UploadError, PackageRefused: as ``finish_upload``
    """
    organisation = user.organisation
    try:
        check_open(lot, at=now())  # refuse a late body before reading it
    except DeadlinePassed:
        if (standing := standing_retry(lot.id, organisation, sha256, length)) is not None:
            return standing, False
        raise
    if length is None:
        raise UploadError("a package needs a Content-Length", code="length_required", status=411)
    if not MIN_PACKAGE <= length <= min(package_max(), chunk_max()):
        raise UploadError(f"a package sent in one request has {MIN_PACKAGE}..{min(package_max(), chunk_max())} "
                          "bytes; open an upload for a larger one", code="size_out_of_range", status=413)
    store = get_storage()
    spool = store.spool_path() or chunk_area().root / f".{uuid.uuid4().hex}.spool"
    spool.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(spool, "xb") as out:
            body = Receiving(stream, out, length)
            report = validate_package(lot_id=lot.id, stream=body,
                                      organisation_id=organisation.id if organisation else None)
            body.drain()
        if body.size != length or body.hash.hexdigest() != sha256:
            raise _hash_mismatch()
        at = now()  # every byte is here: the instant of submission
        hold_open(lot, at=at)
        check_eligible(lot=lot, organisation=organisation, at=at)
        standing = active_bid(lot_id=lot.id, organisation_id=organisation.id)
        if standing is not None and standing.package_sha256 == sha256:
            return standing, False
        info = store.adopt(package_key(lot.id, sha256), spool, size=length, sha256=sha256, write_once=True)
    finally:
        spool.unlink(missing_ok=True)
    bid = _record_bid(upload=None, lot=lot, organisation=organisation, actor=user, at=at, report=report,
                      storage_key=info.key, standing=standing, ip=ip, user_agent=user_agent, sha256=sha256,
                      size=length)
    return bid, True


def discard_chunks(upload_id: str) -> None:
    """After the commit: the package is stored, its chunks are garbage."""
    chunk_area().discard(upload_id)
