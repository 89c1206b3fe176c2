"""Upload sessions: a package declared by size and SHA-256, its chunks received at client-chosen
offsets into the chunk area on disk (bidding/services/chunks.py), the status a resuming client asks for.

Nothing here makes a bid: finishing an upload does (bidding.services.submission).  A session and its
chunks are working state, not a record: they carry no event and are collected when the lot closes.
"""
from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import delete, select

from bidding.models import Bid, Upload
from bidding.services.chunks import ChunkArea, ChunkError
from bidding.services.eligibility import DeadlinePassed, check_eligible, check_open
from core.clock import now
from core.db import db
from core.errors import ValidationFailed
from trading.models import Lot

#: a package is at least magic + length + manifest + signature
MIN_PACKAGE = 8 + 4 + 2 + 64
PACKAGE_MAX = 2 * 1024**3
CHUNK_MAX = 64 * 1024 * 1024


def _cfg(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def package_max() -> int:
    return _cfg("GGZY_PACKAGE_MAX_BYTES", PACKAGE_MAX)


def chunk_max() -> int:
    return _cfg("GGZY_UPLOAD_CHUNK_MAX", CHUNK_MAX)


def chunk_area() -> ChunkArea:
    """``GGZY_UPLOAD_DIR``, default ``<instance>/uploads`` (shared between web hosts, see chunks.py)."""
    root = current_app.config.get("GGZY_UPLOAD_DIR") or f"{current_app.config['GGZY_INSTANCE_DIR']}/uploads"
    return ChunkArea(root)


class UploadError(ValidationFailed):
    code = "upload_refused"


def chunk_refusal(err: ChunkError) -> Exception:
    status = 409 if err.code in ("chunk_overlap", "upload_incomplete", "upload_collected") else 422
    return UploadError(err.detail, code=err.code, status=status, **err.extra)


# --- upload sessions ----------------------------------------------------------------------------

def active_bid(*, lot_id: int, organisation_id: int) -> Bid | None:
    return db.session.scalar(select(Bid).where(Bid.active_key == f"{lot_id}:{organisation_id}"))


def start_upload(*, user, lot, size: int, sha256: str) -> tuple[Upload | None, Bid | None]:
    """Open an upload session, or (idempotent retry) return the standing bid with this very package.

    :returns: ``(upload, None)`` for a new session, ``(None, bid)`` when this package already stands
    :raises DeadlinePassed, NotEligible, UploadError: with the article
    """
    at = now()
    try:
        check_open(lot, at=at)
    except DeadlinePassed:
        if (standing := standing_retry(lot.id, user.organisation, sha256, size)) is not None:
            return None, standing
        raise
    check_eligible(lot=lot, organisation=user.organisation, at=at)
    if not MIN_PACKAGE <= size <= package_max():
        raise UploadError(f"declared size {size} is outside {MIN_PACKAGE}..{package_max()} bytes",
                          code="size_out_of_range")
    if (standing := standing_retry(lot.id, user.organisation, sha256, size)) is not None:
        return None, standing
    if (open_upload := _open_upload(lot.id, user.organisation_id, size, sha256)) is not None:
        return open_upload, None  # a client restarted after a drop sends only what is missing
    upload = Upload(id=uuid.uuid4().hex, lot_id=lot.id, organisation_id=user.organisation_id, user_id=user.id,
                    size=size, sha256=sha256)
    db.session.add(upload)
    db.session.flush()
    return upload, None


def standing_retry(lot_id: int, organisation, sha256: str, size: int | None) -> Bid | None:
    """The standing bid, if it is this very package: a retry gets its receipt back, also after the
    deadline (its first answer may have been lost on the way; the bid is in, it is not late)."""
    if organisation is None:
        return None
    standing = active_bid(lot_id=lot_id, organisation_id=organisation.id)
    if standing is not None and standing.package_sha256 == sha256 and standing.size == size:
        return standing
    return None


def _open_upload(lot_id: int, organisation_id: int, size: int, sha256: str) -> Upload | None:
    """The organisation's unfinished upload of this very package (declared size and SHA-256), if any."""
    return db.session.scalars(select(Upload).where(
        Upload.lot_id == lot_id, Upload.organisation_id == organisation_id, Upload.state == "open",
        Upload.size == size, Upload.sha256 == sha256).order_by(Upload.created_at.desc()).limit(1)).first()


def upload_status(upload: Upload) -> dict:
    """What a resuming client needs: the chunks received and the ranges still missing."""
    chunks, gaps = chunk_area().missing(upload.id, upload.size) if upload.state == "open" else ([], [])
    return {"id": upload.id, "lot_id": upload.lot_id, "size": upload.size, "sha256": upload.sha256,
            "state": upload.state, "bid_id": upload.bid_id, "chunk_max": chunk_max(),
            "received_bytes": sum(c.length for c in chunks) if upload.state == "open" else upload.size,
            "chunks": [{"offset": c.offset, "length": c.length, "sha256": c.sha256} for c in chunks],
            "missing": [{"offset": s, "length": e - s} for s, e in gaps]}


def put_chunk(*, upload: Upload, offset: int, length: int | None, sha256: str, stream) -> dict:
    """Store one chunk (idempotent for the same bytes at the same offset).

    :raises DeadlinePassed: the deadline has passed: nothing more is accepted
    :raises UploadError: bad length or hash, out of range, overlap, session finished
    """

    if upload.state != "open":
        raise UploadError("this upload is already finished", code="upload_finished", status=409)
    check_open(db.session.get(Lot, upload.lot_id), at=now())
    if length is None:
        raise UploadError("a chunk needs a Content-Length", code="length_required", status=411)
    if length > chunk_max():
        raise UploadError(f"a chunk may have at most {chunk_max()} bytes", code="chunk_too_large", status=413)
    try:
        chunk = chunk_area().write(upload.id, offset=offset, stream=stream, length=length, sha256=sha256,
                                   total=upload.size)
    except ChunkError as err:
        raise chunk_refusal(err) from None
    return {"offset": chunk.offset, "length": chunk.length, "sha256": chunk.sha256}


def cancel_upload(*, upload: Upload) -> None:
    """Drop an open session (a finished one is a bid: withdraw that instead).  Only a row still open
    is deleted, so an abandon racing a finish loses cleanly either way (the finish locks the row).
    The chunks go after the commit (:func:`~bidding.services.submission.discard_chunks`)."""
    gone = db.session.execute(delete(Upload).where(Upload.id == upload.id, Upload.state == "open")
                              .execution_options(synchronize_session=False)).rowcount
    if not gone:
        raise UploadError("this upload is finished; withdraw the bid instead", code="upload_finished", status=409)
    db.session.expunge(upload)
