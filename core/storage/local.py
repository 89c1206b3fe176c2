"""The embedded object store: a local directory that emulates S3 versioning and object lock.

Layout under ``root``::

    objects/<key segments>~v/<version_id>.data   content, read-only once committed
    objects/<key segments>~v/<version_id>.json   sidecar metadata; its presence commits the version
    objects/<key segments>~v/.lock               flock: one writer per key across processes
    tmp/                                         uploads in progress

Every write goes to ``tmp/`` first (fsync), then is renamed into place and the directory fsynced,
so a crash leaves either the old state or the new one.  A file *adopted* under a catalog
(core/storage/catalog.py, the app's database) has no sidecar: its metadata is a row in the caller's
transaction, whose commit commits the version; a data file without a sidecar or a row is not a
version (a crash between rename and commit leaves one, unreferenced).  Retention and legal hold are enforced
by this code, not by the filesystem: whoever has shell access can still remove files, which is
why production uses S3/MinIO object lock.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from core.storage.base import (
    CHUNK,
    COMPLIANCE,
    DEFAULT_CONTENT_TYPE,
    VERSION_DIR_SUFFIX,
    ChecksumMismatch,
    Data,
    HashingSource,
    ObjectInfo,
    ObjectNotFound,
    RetentionError,
    Storage,
    StorageError,
    check_key,
    check_sha256,
    content_key,
    normalize_until,
    utcnow,
    write_once_existing,
)

logger = logging.getLogger(__name__)


class LocalStorage(Storage):
    """A directory with write-once, versioning, retention and legal-hold emulation."""

    def __init__(self, root: Path | str, now=utcnow, catalog=None):
        """:param catalog: where adopted versions are described (a
            :class:`~core.storage.catalog.DatabaseCatalog`), or None: sidecars for every version"""
        self.root = Path(root).resolve()
        self._now = now
        self._catalog = catalog
        self._objects = self.root / "objects"  # root is resolved, so this is too
        self._tmp = self.root / "tmp"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # -- writing ---------------------------------------------------------------------------------

    def put(self, key: str, data: Data, *, length: int | None = None, sha256: str | None = None,
            content_type: str = DEFAULT_CONTENT_TYPE, retain_until: datetime | None = None,
            legal_hold: bool = False, write_once: bool = False) -> ObjectInfo:
        check_key(key)
        until = normalize_until(retain_until)
        tmp, source = self._spool(data, length, sha256)
        return self._commit(key, tmp, source, content_type, until, legal_hold, write_once)

    def put_content_addressed(self, data: Data, *, length: int | None = None, sha256: str | None = None,
                              content_type: str = DEFAULT_CONTENT_TYPE,
                              retain_until: datetime | None = None, legal_hold: bool = False) -> ObjectInfo:
        until = normalize_until(retain_until)
        tmp, source = self._spool(data, length, sha256)
        return self._commit(content_key(source.hexdigest), tmp, source, content_type, until, legal_hold, True)

    def spool_path(self) -> Path:
        return self._tmp / f"{uuid.uuid4().hex}.spool"

    def adopt(self, key: str, path, *, size: int, sha256: str, content_type: str = DEFAULT_CONTENT_TYPE,
              write_once: bool = False) -> ObjectInfo:
        """Take a complete, already-hashed file by rename instead of copying it: fsync it, move it into
        ``tmp/`` (if it is not there yet) and commit it like a put.  The caller vouches for ``sha256``
        (it hashed the bytes as it wrote them); the size is checked here.  Another filesystem → copy.
        Under a catalog the new version's metadata is a row in the caller's transaction, not a
        sidecar: the version exists once that transaction commits."""
        check_key(key)
        sha256 = check_sha256(sha256)
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if os.fstat(fd).st_size != size:
                    raise ChecksumMismatch(f"{path} has {os.fstat(fd).st_size} bytes, not {size}")
                os.fsync(fd)  # the content is durable before any name points at it
            finally:
                os.close(fd)
            tmp = path
            if path.parent.resolve() != self._tmp:
                tmp = self._tmp / f"{uuid.uuid4().hex}.part"
                try:
                    os.rename(path, tmp)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    return super().adopt(key, path, size=size, sha256=sha256, content_type=content_type,
                                         write_once=write_once)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return self._commit(key, tmp, _Adopted(size, sha256), content_type, None, False, write_once,
                            catalog=self._catalog)

    def _spool(self, data: Data, length: int | None, sha256: str | None) -> tuple[Path, HashingSource]:
        """Stream into a fsynced temp file while hashing; on any failure the temp file is gone."""
        source = HashingSource(data, length, sha256)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            with open(tmp, "xb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, source

    def _commit(self, key: str, tmp: Path, source: HashingSource, content_type: str,
                until: datetime | None, legal_hold: bool, write_once: bool, catalog=None) -> ObjectInfo:
        """Under the key lock: an idempotent repeat keeps the old version, else rename in a new one,
        described by a sidecar or (``catalog``) by a row."""
        try:
            with self._locked(key) as vdir:
                newest = self._newest(key, vdir)  # one look serves both the write-once check and the new id
                current = None if newest is None else _info(self._read_meta(key, vdir, newest))
                existing = write_once_existing(current, source.hexdigest, write_once)
                if existing is None:
                    meta = {"key": key, "version_id": self._next_version(newest), "size": source.size,
                            "sha256": source.hexdigest, "content_type": content_type,
                            "created": self._now().isoformat(), "mode": COMPLIANCE if until else None,
                            "retain_until": until.isoformat() if until else None,
                            "legal_hold": legal_hold, "write_once": write_once}
                    os.chmod(tmp, 0o444)
                    data = vdir / f"{meta['version_id']}.data"
                    os.replace(tmp, data)
                    if catalog is None:
                        self._write_meta(vdir, meta)
                    else:
                        _fsync_dir(vdir)  # the name is durable before the row that points at it commits
                        catalog.add(meta, data)
                    logger.debug("stored %s version %s (%d bytes)", key, meta["version_id"], source.size)
                    return _info(meta)
        finally:
            tmp.unlink(missing_ok=True)
        return self._reconcile(existing, until, legal_hold)

    def _next_version(self, last: str | None) -> str:
        """Sortable ids (nanosecond time, strictly increasing per key) so the newest is the largest."""
        stamp = max(time.time_ns(), int((last or "")[:20] or 0) + 1)
        return f"{stamp:020d}{uuid.uuid4().hex[:8]}"

    def _save_meta(self, vdir: Path, meta: dict) -> None:
        """Rewrite a version's metadata where it is kept: its sidecar, or its catalog row."""
        if self._catalog is not None and not (vdir / f"{meta['version_id']}.json").exists():
            self._catalog.update(meta)
        else:
            self._write_meta(vdir, meta)

    def _write_meta(self, vdir: Path, meta: dict) -> None:
        """Atomically (re)write a sidecar: temp file, fsync, rename, fsync the directory."""
        tmp = self._tmp / f"{uuid.uuid4().hex}.json"
        with open(tmp, "x", encoding="utf-8") as out:
            json.dump(meta, out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, vdir / f"{meta['version_id']}.json")
        _fsync_dir(vdir)

    # -- reading ---------------------------------------------------------------------------------

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        info = self.stat(key, version_id)
        try:
            return open(self._vdir(key) / f"{info.version_id}.data", "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{key} version {info.version_id}") from exc

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        check_key(key)
        vdir = self._vdir(key)
        if version_id is None:
            info = self._current(key, vdir)
            if info is None:
                raise ObjectNotFound(key)
            return info
        return _info(self._read_meta(key, vdir, version_id))

    def list(self, prefix: str = "") -> Iterator[str]:
        start = (self._objects / prefix.rpartition("/")[0]).resolve()
        if not start.is_relative_to(self._objects) or not start.is_dir():  # "../" matches no key
            return iter(())
        keys = []
        for dirpath, dirnames, _ in os.walk(start):
            for name in [d for d in dirnames if d.endswith(VERSION_DIR_SUFFIX)]:
                vdir = Path(dirpath) / name
                key = vdir.relative_to(self._objects).as_posix()[: -len(VERSION_DIR_SUFFIX)]
                if key.startswith(prefix) and any(vdir.glob("*.json")):
                    keys.append(key)
        if self._catalog is not None:
            keys = set(keys) | self._catalog.keys(prefix)
        return iter(sorted(keys))

    def versions(self, key: str) -> Sequence[ObjectInfo]:
        check_key(key)
        vdir = self._vdir(key)
        ids = {p.stem for p in vdir.glob("*.json")} | set(self._catalog.version_ids(key) if self._catalog else ())
        return [_info(self._read_meta(key, vdir, v)) for v in sorted(ids, reverse=True)]

    # -- locks and deletion ----------------------------------------------------------------------

    def delete(self, key: str, version_id: str | None = None) -> None:
        with self._locked(key) as vdir:
            info = self.stat(key, version_id)
            if info.locked(self._now()):
                raise RetentionError(f"{key} version {info.version_id} is under retention or legal hold")
            data = vdir / f"{info.version_id}.data"
            if not (vdir / f"{info.version_id}.json").exists():  # adopted: the row's deletion commits it
                self._catalog.remove(key, info.version_id, data)
                return
            (vdir / f"{info.version_id}.json").unlink()  # the commit point of a delete
            data.unlink(missing_ok=True)
            _fsync_dir(vdir)
        logger.info("deleted %s version %s", key, info.version_id)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        with self._locked(key) as vdir:
            meta = self._read_meta(key, vdir, self.stat(key, version_id).version_id)
            meta["legal_hold"] = bool(on)
            self._save_meta(vdir, meta)

    def extend_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        until = normalize_until(until)
        with self._locked(key) as vdir:
            info = self.stat(key, version_id)
            if info.retain_until is not None and until < info.retain_until:
                raise RetentionError(f"{key}: COMPLIANCE retention cannot be shortened")
            meta = self._read_meta(key, vdir, info.version_id)
            meta.update(mode=COMPLIANCE, retain_until=until.isoformat())
            self._save_meta(vdir, meta)

    def healthcheck(self) -> tuple[bool, str]:
        probe = self._tmp / f"health-{uuid.uuid4().hex}"
        try:
            with open(probe, "xb") as out:
                out.write(b"ok")
                os.fsync(out.fileno())
            probe.unlink()
        except OSError as exc:
            return False, f"local store {self.root} not writable: {exc}"
        return True, f"local store {self.root}"

    # -- helpers ---------------------------------------------------------------------------------

    def _vdir(self, key: str) -> Path:
        return self._objects / f"{key}{VERSION_DIR_SUFFIX}"

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[Path]:
        """flock the key's directory so web workers, Celery workers and threads never interleave."""
        check_key(key)
        vdir = self._vdir(key)
        vdir.mkdir(parents=True, exist_ok=True)
        with open(vdir / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield vdir
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _current(self, key: str, vdir: Path) -> ObjectInfo | None:
        newest = self._newest(key, vdir)
        return None if newest is None else _info(self._read_meta(key, vdir, newest))

    def _newest(self, key: str, vdir: Path) -> str | None:
        """The newest committed version id: of the sidecars and (under a catalog) of the rows."""
        found = [_newest_version(vdir)]
        if self._catalog is not None:
            found.append(self._catalog.newest(key))
        return max((v for v in found if v is not None), default=None)

    def _read_meta(self, key: str, vdir: Path, version_id: str) -> dict:
        if not version_id.isalnum():
            raise ObjectNotFound(f"{key} version {version_id}")
        try:
            return json.loads((vdir / f"{version_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            meta = self._catalog.get(key, version_id) if self._catalog is not None else None
            if meta is None:
                raise ObjectNotFound(f"{key} version {version_id}") from exc
            return meta
        except ValueError as exc:
            raise StorageError(f"corrupt metadata for {key} version {version_id}") from exc


class _Adopted:
    """What ``_commit`` needs of a source, for a file hashed by the caller."""

    def __init__(self, size: int, hexdigest: str):
        self.size, self.hexdigest = size, hexdigest


def _info(meta: dict) -> ObjectInfo:
    until = meta.get("retain_until")
    created = meta.get("created")
    return ObjectInfo(key=meta["key"], size=meta["size"], sha256=meta["sha256"],
                      version_id=meta["version_id"],
                      content_type=meta.get("content_type") or DEFAULT_CONTENT_TYPE,
                      created=datetime.fromisoformat(created) if created else None,
                      retain_until=datetime.fromisoformat(until) if until else None,
                      legal_hold=bool(meta.get("legal_hold")), write_once=bool(meta.get("write_once")))


def _newest_version(vdir: Path) -> str | None:
    """The newest committed version id (its sidecar's name), or None; one scandir, no glob."""
    try:
        with os.scandir(vdir) as entries:
            return max((e.name[:-5] for e in entries if e.name.endswith(".json") and e.name[0] != "."),
                       default=None)
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: POSIX only promises it once the directory itself is synced."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
