"""What every object store backend promises, and the pieces both backends share.

The guarantees (DESIGN §8) are the interface, not a feature of one backend: the embedded local
directory and MinIO/S3 run the same test suite, so code above ``core.storage`` never asks which
backend it is talking to.
"""
from __future__ import annotations

import hashlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

logger = logging.getLogger(__name__)

#: size of the pieces streamed in and out; small enough to keep memory flat for 1 GB files
CHUNK = 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: the only lock mode this platform uses: nobody, not even an administrator, may delete early
COMPLIANCE = "COMPLIANCE"
#: content-addressed objects live under this prefix (``sha256/ab/abcd…``)
CONTENT_PREFIX = "sha256/"
#: a segment ending like this would collide with the local backend's version directories
VERSION_DIR_SUFFIX = "~v"

Data = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]

_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


class StorageError(Exception):
    """Any failure of the object store; the subclasses are the ones callers act upon."""


class ObjectNotFound(StorageError):
    """No such key (or no such version of it)."""


class RetentionError(StorageError):
    """The object is under retention or legal hold: deleting it (or shortening its lock) is refused."""


class ChecksumMismatch(StorageError):
    """The bytes received do not match the SHA-256 (or length) the caller declared; nothing was kept."""


class WriteOnceViolation(StorageError):
    """A write-once key already holds different content; the earlier content is untouched."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored version of one key, as both backends describe it."""

    key: str
    size: int
    sha256: str
    version_id: str
    content_type: str = DEFAULT_CONTENT_TYPE
    created: datetime | None = None
    #: COMPLIANCE retention: no delete before this instant (UTC, whole seconds)
    retain_until: datetime | None = None
    legal_hold: bool = False
    #: written with ``write_once=True``: a later put of different content is refused
    write_once: bool = False

    def locked(self, now: datetime | None = None) -> bool:
        """True while retention is in force or a legal hold is set."""
        now = now or utcnow()
        return self.legal_hold or (self.retain_until is not None and now < self.retain_until)


def utcnow() -> datetime:
    """Wall-clock UTC.

    Retention is enforced against the storage server's clock, never the platform's demo clock
    (``core.clock`` may be jumped forward in a demo; an archive lock must not be).
    """
    return datetime.now(UTC)


def normalize_until(until: datetime | None) -> datetime | None:
    """Aware UTC, rounded UP to whole seconds: the precision every S3 server keeps (MinIO's headers
    carry seconds only), and rounding up never makes a lock shorter than asked.  Naive is refused."""
    if until is None:
        return None
    if until.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware")
    until = until.astimezone(UTC)
    return until.replace(microsecond=0) + timedelta(seconds=1 if until.microsecond else 0)


def check_key(key: str) -> str:
    """Refuse keys that could escape the local root or mean different things on the two backends."""
    if not isinstance(key, str) or not key or len(key.encode()) > 1024:
        raise ValueError(f"invalid storage key {key!r}")
    if key.startswith("/") or key.endswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key {key!r}")
    for segment in key.split("/"):
        if not segment or segment.startswith(".") or segment.endswith(VERSION_DIR_SUFFIX):
            raise ValueError(f"invalid storage key segment {segment!r} in {key!r}")
        if any(ord(ch) < 32 for ch in segment):
            raise ValueError(f"control character in storage key {key!r}")
    return key


def check_sha256(value: str | None) -> str | None:
    """Declared digests are lower-case hex; anything else is a caller bug, not a mismatch."""
    if value is None:
        return None
    value = value.lower()
    if not _HEX64.match(value):
        raise ValueError(f"sha256 must be 64 hex digits, got {value!r}")
    return value


def content_key(hexdigest: str) -> str:
    """The key of content-addressed bytes: ``sha256/<first two hex digits>/<hex>``."""
    return f"{CONTENT_PREFIX}{hexdigest[:2]}/{hexdigest}"


class HashingSource:
    """Adapts bytes, a binary file or an iterable of byte chunks to ``read(n)``, hashing as it goes.

    Both backends consume input only through this, so both compute the digest while streaming and
    both refuse a declared length or SHA-256 that the bytes do not match.  The check fires the moment
    the end is seen, *before* a backend commits (S3: before CompleteMultipartUpload), so a mismatch
    never leaves an object behind.
    """

    def __init__(self, data: Data, length: int | None = None, sha256: str | None = None):
        self._expected_length = length
        self._expected_sha256 = check_sha256(sha256)
        self._hash = hashlib.sha256()
        self.size = 0
        self.done = False
        self._file = data if hasattr(data, "read") else None
        self._pending = memoryview(b"")
        self._chunks: Iterator[bytes] | None = None
        if isinstance(data, bytes | bytearray | memoryview):
            self._chunks = iter([bytes(data)])
        elif self._file is None:
            self._chunks = iter(data)  # type: ignore[arg-type]

    @property
    def declared_sha256(self) -> str | None:
        return self._expected_sha256

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (at most one source chunk); ``b""`` only at the verified end."""
        if self.done:
            return b""
        n = CHUNK if n is None or n < 0 else n
        data = self._next(n)
        if not data:
            self._finish()
            return b""
        self.size += len(data)
        if self._expected_length is not None and self.size > self._expected_length:
            raise ChecksumMismatch(f"more than the declared {self._expected_length} bytes")
        self._hash.update(data)
        return data

    def _next(self, n: int) -> bytes:
        if self._file is not None:
            return self._file.read(n)
        while not self._pending:
            chunk = next(self._chunks, None)  # type: ignore[arg-type]
            if chunk is None:
                return b""
            self._pending = memoryview(chunk).cast("B")
        data, self._pending = self._pending[:n], self._pending[n:]
        return bytes(data)

    def _finish(self) -> None:
        self.done = True
        if self._expected_length is not None and self.size != self._expected_length:
            raise ChecksumMismatch(f"declared length {self._expected_length}, received {self.size}")
        if self._expected_sha256 is not None and self.hexdigest != self._expected_sha256:
            raise ChecksumMismatch(f"declared sha256 {self._expected_sha256}, received {self.hexdigest}")


def write_once_existing(current: ObjectInfo | None, digest: str, write_once: bool) -> ObjectInfo | None:
    """Decide a put against the key's current version.

    :returns: the current version when the put is an idempotent repeat of write-once content
        (the caller stores nothing), ``None`` when a new version should be written.
    :raises WriteOnceViolation: the key is write-once and holds different content.
    """
    if current is None or not (write_once or current.write_once):
        return None
    if current.sha256 == digest:
        return current
    raise WriteOnceViolation(f"{current.key} is write-once and holds sha256 {current.sha256}")


class Storage(ABC):
    """The object store interface (MinIO/S3 in production, a local directory when embedded).

    Keys are ``/``-separated; every put creates a new version and never destroys an earlier one;
    versions under COMPLIANCE retention or legal hold cannot be deleted.
    """

    @abstractmethod
    def put(self, key: str, data: Data, *, length: int | None = None, sha256: str | None = None,
            content_type: str = DEFAULT_CONTENT_TYPE, retain_until: datetime | None = None,
            legal_hold: bool = False, write_once: bool = False) -> ObjectInfo:
        """Stream ``data`` to ``key`` as a new version.

        :param length: declared size; a different size raises :class:`ChecksumMismatch`
        :param sha256: declared hex digest; on mismatch nothing is kept and :class:`ChecksumMismatch`
        :param retain_until: COMPLIANCE retention (aware datetime)
        :param write_once: refuse (:class:`WriteOnceViolation`) if the key holds other content;
            the same content again returns the existing version
        """

    def spool_path(self):
        """A fresh local path where a caller may write a file that :meth:`adopt` takes by rename (same
        filesystem as the store), or None when this backend has no local files (adopt then copies)."""
        return None

    def adopt(self, key: str, path, *, size: int, sha256: str, content_type: str = DEFAULT_CONTENT_TYPE,
              write_once: bool = False) -> ObjectInfo:
        """Store a complete local file whose size and SHA-256 the caller computed while writing it;
        the file is consumed (moved or removed) either way.  Same guarantees as :meth:`put`.  This
        default streams it through ``put`` (which hashes again); the local store renames it instead.
        """
        from pathlib import Path

        try:
            with open(path, "rb") as fh:
                return self.put(key, fh, length=size, sha256=sha256, content_type=content_type,
                                write_once=write_once)
        finally:
            Path(path).unlink(missing_ok=True)

    @abstractmethod
    def put_content_addressed(self, data: Data, *, length: int | None = None, sha256: str | None = None,
                              content_type: str = DEFAULT_CONTENT_TYPE,
                              retain_until: datetime | None = None, legal_hold: bool = False) -> ObjectInfo:
        """Store under ``sha256/<hex[:2]>/<hex>`` (write-once); the same bytes twice give the same key.

        A repeat may extend the retention or set a legal hold, never weaken them.
        """

    @abstractmethod
    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A readable binary stream of the current (or given) version; close it after use."""

    @abstractmethod
    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """The current (or given) version's description; :class:`ObjectNotFound` if absent."""

    @abstractmethod
    def delete(self, key: str, version_id: str | None = None) -> None:
        """Permanently remove the current (or given) version; the previous version becomes current.

        :raises RetentionError: retention in force or legal hold set
        """

    @abstractmethod
    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        """Set or release the legal hold of the current (or given) version."""

    @abstractmethod
    def extend_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Lengthen COMPLIANCE retention; shortening raises :class:`RetentionError`."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys (with a current version) starting with ``prefix``, in lexicographic order."""

    @abstractmethod
    def versions(self, key: str) -> Sequence[ObjectInfo]:
        """Every stored version of ``key``, newest first (empty if none)."""

    @abstractmethod
    def healthcheck(self) -> tuple[bool, str]:
        """(ok, detail) for /healthz; never raises."""

    def retention(self, key: str, version_id: str | None = None) -> datetime | None:
        """The COMPLIANCE retain-until instant, or ``None`` when the version has no retention."""
        return self.stat(key, version_id).retain_until

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def iter_chunks(self, key: str, version_id: str | None = None,
                    chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The content in pieces of at most ``chunk_size``, for streaming responses and re-hashing."""
        with self.open(key, version_id) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        """The whole content in memory: only for small objects (records, manifests)."""
        return b"".join(self.iter_chunks(key, version_id))

    def verify(self, key: str, version_id: str | None = None) -> bool:
        """Re-hash the stored bytes and compare with the SHA-256 recorded at upload (the archive auditor)."""
        info = self.stat(key, version_id)
        digest, size = hashlib.sha256(), 0
        for chunk in self.iter_chunks(key, info.version_id):
            digest.update(chunk)
            size += len(chunk)
        ok = digest.hexdigest() == info.sha256 and size == info.size
        if not ok:
            logger.warning("storage verify failed: %s version %s", key, info.version_id)
        return ok

    def _reconcile(self, info: ObjectInfo, until: datetime | None, legal_hold: bool) -> ObjectInfo:
        """An idempotent repeat may strengthen the lock of the existing version, never weaken it."""
        changed = False
        if until is not None and (info.retain_until is None or until > info.retain_until):
            self.extend_retention(info.key, until, info.version_id)
            changed = True
        if legal_hold and not info.legal_hold:
            self.set_legal_hold(info.key, True, info.version_id)
            changed = True
        return self.stat(info.key, info.version_id) if changed else info
