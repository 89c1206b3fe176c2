"""Archive tables: pending events, signed records, the Merkle log's nodes, checkpoints, segments.

The database is the index and the log's working state; the authoritative bytes of every record
and checkpoint are write-once objects in ``core.storage`` (see ``docs/archive.md``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import JSONText, UTCDateTime, db


class ArchivePending(db.Model):
    """An outbox event captured for the archive and not yet sequenced (the sequencer's queue)."""

    __tablename__ = "archive_pending"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSONText)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ArchiveSegment(db.Model):
    """One sequencer batch: the records' canonical envelopes, one per line, stored write-once."""

    __tablename__ = "archive_segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: storage key (content-addressed: ``sha256/ab/<hex>``)
    key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    first_leaf: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    retain_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    #: last time the auditor re-hashed it
    audited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ArchiveRecord(db.Model):
    """Index row of one signed record (the signed bytes live in its segment)."""

    __tablename__ = "archive_records"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: position in the Merkle log (0-based, gap-free)
    leaf_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    #: ``lot:<id>`` or ``platform``; seq is gap-free per chain, starting at 1
    chain: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event_name: Mapped[str] = mapped_column(String(60), index=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    archived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: space-separated ``org:12 user:3`` tokens, padded with spaces for whole-token search
    parties: Mapped[str] = mapped_column(String(400), default=" ")
    category: Mapped[str] = mapped_column(String(40))
    retain_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    #: attachment references ``[{"name", "sha256", "size", "content_type"}]`` (also in the signed record)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    segment_id: Mapped[int] = mapped_column(ForeignKey("archive_segments.id"), index=True)
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(Integer)
    segment: Mapped[ArchiveSegment] = relationship(lazy="joined")


class ArchiveNode(db.Model):
    """Hash of the perfect subtree of 2^level leaves starting at leaf index·2^level (level 0 = leaves)."""

    __tablename__ = "archive_nodes"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class ArchiveCheckpoint(db.Model):
    """A signed tree head; ``document`` is the exact canonical JSON that bundles carry."""

    __tablename__ = "archive_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    kid: Mapped[str] = mapped_column(String(60))
    document: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(String(200))


class ArchiveChainHead(db.Model):
    """Last sequence number and payload hash of each chain (written only by the sequencer)."""

    __tablename__ = "archive_chain_heads"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class ArchiveMismatch(db.Model):
    """A stored object that no longer matches the log, as found by the auditor."""

    __tablename__ = "archive_mismatches"
    id: Mapped[int] = mapped_column(primary_key=True)
    object_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
