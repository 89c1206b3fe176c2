"""Custody of stored objects: the re-hash auditor, legal holds, and refused early deletion.

The auditor is the archive's "long-term preservation" four-property check: it re-reads every
segment from the store, re-hashes it, and compares each record with its leaf in the log, and the
newest checkpoint with the nodes.  A difference is recorded once as ``archive.mismatch_detected``
(monitoring turns it into an alert) plus an audit row; the archive never "repairs" silently.
"""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select

from archive import merkle
from archive.models import ArchiveMismatch, ArchiveRecord, ArchiveSegment
from archive.services.log import latest_checkpoint, root_at
from archive.services.sequencer import storage
from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict
from core.storage.base import ObjectNotFound, RetentionError, content_key

logger = logging.getLogger(__name__)
RULE_RETENTION = "电子签名法 第五条、第六条; 政府采购法 第四十二条 (保存期限内不得销毁)"


def _mismatch(key: str, kind: str, detail: str) -> bool:
    """Record a finding once (until someone deals with it); True if new."""
    seen = db.session.scalar(select(ArchiveMismatch.id).where(ArchiveMismatch.object_key == key,
                                                              ArchiveMismatch.kind == kind))
    if seen:
        return False
    db.session.add(ArchiveMismatch(object_key=key, kind=kind, detail=detail[:500], detected_at=now()))
    events.record("archive.mismatch_detected", {"object_key": key, "kind": kind, "detail": detail[:500]})
    audit("archive.mismatch_detected", object_type="archive_object", object_id=key, kind=kind, detail=detail)
    logger.error("archive mismatch %s on %s: %s", kind, key, detail)
    return True


def _audit_segment(seg: ArchiveSegment) -> list[tuple[str, str]]:
    try:
        body = storage().get_bytes(seg.key)
    except ObjectNotFound:
        return [("missing", f"segment of leaves {seg.first_leaf}… is gone from the store")]
    if hashlib.sha256(body).hexdigest() != seg.sha256 or len(body) != seg.size:
        return [("segment_hash", f"stored bytes no longer hash to {seg.sha256}")]
    recs = db.session.execute(select(ArchiveRecord.leaf_index, ArchiveRecord.offset, ArchiveRecord.length,
                                     ArchiveRecord.leaf_hash).where(ArchiveRecord.segment_id == seg.id)).all()
    return [("record_hash", f"leaf {r.leaf_index} differs from the log")
            for r in recs if merkle.leaf_hash(body[r.offset:r.offset + r.length]).hex() != r.leaf_hash]


def audit_storage(*, limit: int | None = None) -> dict:
    """Re-hash stored segments (oldest-audited first), attachments and the newest checkpoint."""
    found = 0
    q = select(ArchiveSegment).order_by(ArchiveSegment.audited_at.is_not(None), ArchiveSegment.audited_at,
                                        ArchiveSegment.id)
    segments = list(db.session.scalars(q.limit(limit) if limit else q))
    for seg in segments:
        for kind, detail in _audit_segment(seg):
            found += _mismatch(seg.key, kind, detail)
        seg.audited_at = now()
    found += _audit_attachments(segments)
    found += _audit_checkpoint()
    db.session.flush()
    return {"segments": len(segments), "mismatches": found}


def _audit_attachments(segments) -> int:
    ids = [s.id for s in segments]
    refs = {a["sha256"] for atts in db.session.scalars(select(ArchiveRecord.attachments)
                                                       .where(ArchiveRecord.segment_id.in_(ids))) for a in atts}
    found = 0
    for sha in sorted(refs):
        key = content_key(sha)
        try:
            ok = storage().verify(key) and storage().stat(key).sha256 == sha
        except ObjectNotFound:
            continue  # referenced by hash only
        if not ok:
            found += _mismatch(key, "attachment_hash", "stored attachment no longer matches its hash")
    return found


def _audit_checkpoint() -> int:
    cp = latest_checkpoint()
    if cp is None:
        return 0
    if root_at(cp.size).hex() != cp.root:
        return _mismatch(cp.storage_key, "log_root", f"nodes no longer give the signed root at size {cp.size}")
    try:
        stored = storage().get_bytes(cp.storage_key)
    except ObjectNotFound:
        return _mismatch(cp.storage_key, "missing", "checkpoint object gone from the store")
    return 0 if stored == cp.document.encode() else _mismatch(cp.storage_key, "checkpoint", "stored checkpoint differs")


def set_legal_hold(*, record: ArchiveRecord, on: bool, reason: str, actor=None) -> ArchiveSegment:
    """Hold (or release) the stored segment that carries a record, e.g. during a complaint."""
    seg = record.segment
    storage().set_legal_hold(seg.key, on)
    seg.legal_hold = on
    audit("archive.legal_hold" if on else "archive.legal_hold_released", object_type="archive_record",
          object_id=record.id, actor=actor, segment=seg.key, reason=reason[:200])
    return seg


def delete_object(*, key: str, reason: str, actor=None, version_id: str | None = None) -> None:
    """Try to delete a stored object; under retention or legal hold it is refused and logged.

    The caller must commit even when this raises, so that the refusal stays in the audit trail.

    :raises Conflict: ``retention_in_force``
    """
    try:
        storage().delete(key, version_id)
    except RetentionError as exc:
        audit("archive.delete_refused", object_type="archive_object", object_id=key, actor=actor,
              reason=reason[:200], detail=str(exc))
        raise Conflict(f"{key} is under retention or legal hold", code="retention_in_force",
                       rule=RULE_RETENTION) from None
    audit("archive.deleted", object_type="archive_object", object_id=key, actor=actor, reason=reason[:200])
