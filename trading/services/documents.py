"""Tender documents: content-addressed upload, download by any registered bidder, and the
downloader list that nobody but the tenderee sees before the deadline (EBM Art.21, TBL Art.22)."""
from __future__ import annotations

import hashlib
import logging
from typing import BinaryIO

from sqlalchemy import select

from core import events
from core.clock import now
from core.db import db
from core.errors import Conflict, NotFound, ValidationFailed
from core.storage import get_storage
from trading.errors import Confidential, StateConflict
from trading.fsm import S
from trading.models import Download, Lot, TenderDocument
from trading.services.common import is_tenderee_side, lot_audit

logger = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
CONFIDENTIAL_RULE = "电子招标投标办法 第二十一条；招标投标法 第二十二条"


def upload_document(*, actor, lot: Lot, filename: str, data: bytes, content_type: str = "application/pdf",
                    amendment_id: int | None = None) -> TenderDocument:
    """Store the bytes write-once under their SHA-256 and attach them to the lot.

    Before publication any draft may gain documents; afterwards only an amendment may
    (:func:`trading.services.amendments.issue_amendment` passes ``amendment_id``).

    :raises StateConflict: a published lot without an amendment
    :raises ValidationFailed: empty or too large
    """
    if lot.state != S.DRAFT and amendment_id is None:
        raise StateConflict("after publication documents change only through an amendment",
                            code="use_amendment", rule="招标投标法实施条例 第二十一条")
    if not data:
        raise ValidationFailed("the document is empty", code="empty_document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(f"documents are limited to {MAX_DOCUMENT_BYTES // 2**20} MiB", code="too_large")
    digest = hashlib.sha256(data).hexdigest()
    info = get_storage().put_content_addressed(data, length=len(data), sha256=digest, content_type=content_type)
    doc = TenderDocument(filename=_clean_name(filename), content_type=content_type[:100],
                         size=len(data), sha256=digest, storage_key=info.key, uploaded_by=actor.id,
                         amendment_id=amendment_id, uploaded_at=now())
    lot.documents.append(doc)  # keeps the loaded relationship in step with the table
    db.session.flush()
    lot_audit(lot, "document.uploaded", actor=actor, document_id=doc.id, sha256=digest, size=len(data))
    return doc


def _clean_name(filename: str) -> str:
    name = (filename or "document").replace("\\", "/").rsplit("/", 1)[-1].strip() or "document"
    return name[:200]


def visible_document(user, doc: TenderDocument) -> TenderDocument:
    """Documents of a draft exist only for the tenderee side; others get a 404, not a hint."""
    lot = db.session.get(Lot, doc.lot_id)
    if lot.state == S.DRAFT and not is_tenderee_side(user, lot):
        raise NotFound(f"TenderDocument {doc.id} not found")
    return doc


def download_document(*, user, doc: TenderDocument) -> BinaryIO:
    """Open the document; a bidder's download is recorded (no sign-up step, EBM Art.20, 54(3)).

    Every bidder gets the same bytes (EBM Art.54(1)); the record is confidential until the
    deadline and is therefore not written to the general audit log, only to its own table
    and to the archive event.
    """
    lot = db.session.get(Lot, visible_document(user, doc).lot_id)
    if user.role == "bidder":
        if lot.project.mode == "invited" and user.organisation_id not in (lot.invitees or []):
            raise Conflict("invited tendering: the documents go to the invited bidders only",
                           code="not_invited", rule="招标投标法 第十七条")
        _record_download(user, lot, doc)
    return get_storage().open(doc.storage_key)


def _record_download(user, lot: Lot, doc: TenderDocument) -> None:
    row = Download(lot_id=lot.id, document_id=doc.id, user_id=user.id, organisation_id=user.organisation_id,
                   at=now())
    db.session.add(row)
    db.session.flush()
    events.record("trading.document_downloaded", {"lot_id": lot.id, "document_id": doc.id, "download_id": row.id,
                                                  "user_id": user.id, "organisation_id": user.organisation_id,
                                                  "at": row.at.isoformat(), "confidential_until":
                                                  lot.bid_deadline.isoformat()})


def downloads(*, user, lot: Lot) -> list[Download]:
    """The downloader list: the tenderee side always, supervisors once the deadline has passed.

    :raises Confidential: before the deadline for anyone but the tenderee side (EBM Art.21)
    """
    if not is_tenderee_side(user, lot):
        if user.role != "supervisor" or now() < lot.bid_deadline:
            raise Confidential("who downloaded the documents, and how many, stays confidential until the "
                               "bid deadline", code="downloaders_confidential", rule=CONFIDENTIAL_RULE)
    return db.session.scalars(select(Download).where(Download.lot_id == lot.id).order_by(Download.id)).all()


def first_download_at(*, lot: Lot, organisation_id: int | None):
    """When the organisation first obtained the documents (start of the GP challenge window)."""
    if organisation_id is None:
        return None
    return db.session.scalar(select(Download.at).where(Download.lot_id == lot.id,
                                                       Download.organisation_id == organisation_id)
                             .order_by(Download.at).limit(1))
