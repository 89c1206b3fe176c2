"""The local store's metadata in the database (``core_stored_objects``) instead of sidecar files.

A version the local store *adopts* under a catalog (a file its caller hashed while writing it: a
bid package) is described by one row, added to the caller's session: the version exists once the
caller's transaction commits, together with whatever refers to it (the bid, its receipt, its
event), and not at all if it rolls back (its data file is then removed).  So the object costs the
fsync of its data and of its directory, and no sidecar with fsyncs of its own; the database's
commit, which the caller pays anyway, is the commit point.  Versions written by ``put`` keep their
sidecars (their callers do not commit with them); reads look at both (core/storage/local.py).

Imported by the app factory (the model must be known to the metadata); nothing here runs at import.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from sqlalchemy import BigInteger, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import UTCDateTime, db

logger = logging.getLogger(__name__)

#: ``session.info`` entries: data files to remove when the transaction ends one way or the other
_ON_ROLLBACK, _ON_COMMIT = "ggzy_storage_unlink_on_rollback", "ggzy_storage_unlink_on_commit"


class StoredObject(db.Model):
    """One version of one key of the local store, adopted under the catalog."""

    __tablename__ = "core_stored_objects"
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    #: sortable (nanosecond time first): the newest version of a key is the largest
    version_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: COMPLIANCE retention (the only mode), none when null
    retain_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    write_once: Mapped[bool] = mapped_column(default=False)


class DatabaseCatalog:
    """Metadata of adopted versions as rows of the current app's session (``core.db.db``)."""

    def newest(self, key: str) -> str | None:
        return db.session.scalar(select(StoredObject.version_id).where(StoredObject.key == key)
                                 .order_by(StoredObject.version_id.desc()).limit(1))

    def get(self, key: str, version_id: str) -> dict | None:
        row = db.session.get(StoredObject, (key, version_id))
        return None if row is None else _meta(row)

    def version_ids(self, key: str) -> list[str]:
        return list(db.session.scalars(select(StoredObject.version_id).where(StoredObject.key == key)))

    def keys(self, prefix: str) -> set[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return set(db.session.scalars(select(StoredObject.key).distinct()
                                      .where(StoredObject.key.like(f"{escaped}%", escape="\\"))))

    def add(self, meta: dict, data: Path) -> None:
        """Record a version whose data file is in place (and durable); the file goes if the caller's
        transaction rolls back."""
        db.session.add(StoredObject(**_columns(meta)))
        db.session.flush()
        db.session.info.setdefault(_ON_ROLLBACK, []).append(data)

    def update(self, meta: dict) -> None:
        row = db.session.get(StoredObject, (meta["key"], meta["version_id"]))
        for name, value in _columns(meta).items():
            setattr(row, name, value)
        db.session.flush()

    def remove(self, key: str, version_id: str, data: Path) -> None:
        """Delete the row; the data file goes once the deletion commits."""
        db.session.delete(db.session.get(StoredObject, (key, version_id)))
        db.session.flush()
        db.session.info.setdefault(_ON_COMMIT, []).append(data)


def _columns(meta: dict) -> dict:
    until, created = meta.get("retain_until"), meta.get("created")
    return {"key": meta["key"], "version_id": meta["version_id"], "size": meta["size"], "sha256": meta["sha256"],
            "content_type": meta["content_type"], "legal_hold": bool(meta.get("legal_hold")),
            "write_once": bool(meta.get("write_once")),
            "created": dt.datetime.fromisoformat(created) if created else None,
            "retain_until": dt.datetime.fromisoformat(until) if until else None}


def _meta(row: StoredObject) -> dict:
    """The sidecar's shape, so both read the same way."""
    return {"key": row.key, "version_id": row.version_id, "size": row.size, "sha256": row.sha256,
            "content_type": row.content_type, "created": row.created.isoformat() if row.created else None,
            "retain_until": row.retain_until.isoformat() if row.retain_until else None,
            "legal_hold": row.legal_hold, "write_once": row.write_once}


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _unlink(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
    _unlink(session.info.pop(_ON_ROLLBACK, []))


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a leftover file without a row is unreferenced, not wrong
            logger.warning("could not remove %s", path)
