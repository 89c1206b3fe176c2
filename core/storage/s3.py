"""MinIO / any S3 with object lock, through the ``minio`` SDK.

How a put travels (the digest must be known before the object becomes visible under its key):

* up to ``part_size`` bytes: read into memory while hashing, then ONE PutObject carrying
  ``x-amz-checksum-sha256`` (the server re-hashes and refuses a mismatch), the retention and the
  legal hold;
* larger, SHA-256 declared by the caller: multipart upload straight to the key; the hashing reader
  raises at the end of the stream, before CompleteMultipartUpload, and the upload is aborted;
* larger, digest unknown (or content-addressed without a declared digest): multipart upload to a
  staging key, then a server-side copy to the final key with the digest in its metadata, then the
  staging version is removed.

Memory per upload is about two parts (``part_size``, 5 MiB by default), whatever the object size.
Multipart uploads carry no lock headers (AWS wants Content-MD5 per part for those, which minio-py
only sends over HTTPS; moto silently drops them): the lock is applied right after completion
and checked, so a server that ignores a lock is an error, not a silent gap.
"""
from __future__ import annotations

import base64
import contextlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Part
from minio.error import S3Error
from minio.helpers import MIN_PART_SIZE, genheaders
from minio.retention import Retention

from core.storage.base import (
    CHUNK,
    COMPLIANCE,
    DEFAULT_CONTENT_TYPE,
    ChecksumMismatch,
    Data,
    HashingSource,
    ObjectInfo,
    ObjectNotFound,
    RetentionError,
    Storage,
    StorageError,
    check_key,
    content_key,
    normalize_until,
    write_once_existing,
)
from core.storage.streams import Chain, ResponseStream, read_head, read_part

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".staging/"
_META_SHA = "x-amz-meta-sha256"
_META_WRITE_ONCE = "x-amz-meta-ggzy-write-once"
_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}
#: what real S3 answers for a malformed version id
_BAD_VERSION = {"InvalidArgument", "BadRequest"}
_BAD_DIGEST = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch"}


class S3Storage(Storage):
    """A bucket with object lock (hence versioning), created on first use if absent."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 region: str | None = "us-east-1", part_size: int = MIN_PART_SIZE):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE}")
        self.endpoint, self.bucket, self.part_size = endpoint, bucket, part_size
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120), maxsize=10,
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                            region=region, http_client=http)
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.endpoint!r}, bucket={self.bucket!r})"

    # -- the bucket --------------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock, or check an existing one has it (else refuse to run)."""
        if self._ready:
            return
        with self._ready_lock, _s3_errors(self.bucket):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
                logger.info("created bucket %s with object lock", self.bucket)
            self._check_lock_config()
            self._ready = True

    def _check_lock_config(self) -> None:
        """Object lock must be on, with no bucket-default retention: retention is chosen per object
        (per archive category), and a default rule would also lock staging objects forever."""
        try:
            config = self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            raise StorageError(f"bucket {self.bucket} has no object lock: "
                               "archive guarantees impossible") from exc
        if config.mode:
            raise StorageError(f"bucket {self.bucket} has a default retention rule ({config.mode} "
                               f"{config.duration}); remove it, ggzy sets retention per object")

    def healthcheck(self) -> tuple[bool, str]:
        try:
            self.ensure_bucket()
        except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
            return False, f"s3 {self.endpoint}/{self.bucket}: {exc}"
        return True, f"s3 {self.endpoint}/{self.bucket} (object lock)"

    # -- writing -------------------------------------------------------------------------------------

    def put(self, key: str, data: Data, *, length: int | None = None, sha256: str | None = None,
            content_type: str = DEFAULT_CONTENT_TYPE, retain_until: datetime | None = None,
            legal_hold: bool = False, write_once: bool = False) -> ObjectInfo:
        check_key(key)
        return self._store(lambda _digest: key, HashingSource(data, length, sha256), sha256, content_type,
                           normalize_until(retain_until), legal_hold, write_once)

    def put_content_addressed(self, data: Data, *, length: int | None = None, sha256: str | None = None,
                              content_type: str = DEFAULT_CONTENT_TYPE,
                              retain_until: datetime | None = None, legal_hold: bool = False) -> ObjectInfo:
        return self._store(content_key, HashingSource(data, length, sha256), sha256, content_type,
                           normalize_until(retain_until), legal_hold, True)

    def _store(self, key_for, source: HashingSource, declared: str | None, content_type: str,
               until: datetime | None, legal_hold: bool, write_once: bool) -> ObjectInfo:
        """Pick the small, declared-digest or staged path (module docstring)."""
        self.ensure_bucket()
        head, small = read_head(source, self.part_size)
        opts = (content_type, until, legal_hold, write_once)
        if small:
            key, digest = key_for(source.hexdigest), source.hexdigest
            return self._unless_present(key, digest, until, legal_hold, write_once) or \
                self._put_small(key, b"".join(head), digest, *opts)
        stream = Chain(head, source)
        if source.declared_sha256 is not None:
            key = key_for(source.declared_sha256)
            return self._unless_present(key, source.declared_sha256, until, legal_hold, write_once) or \
                self._put_multipart(key, stream, source, *opts)
        return self._put_staged(key_for, stream, source, *opts)

    def _unless_present(self, key: str, digest: str, until: datetime | None, legal_hold: bool,
                        write_once: bool) -> ObjectInfo | None:
        """The existing version for an idempotent write-once repeat (lock strengthened), else None."""
        existing = write_once_existing(self._current(key), digest, write_once)
        return None if existing is None else self._reconcile(existing, until, legal_hold)

    def _put_small(self, key: str, body: bytes, digest: str, content_type: str, until: datetime | None,
                   legal_hold: bool, write_once: bool) -> ObjectInfo:
        checksum = base64.b64encode(bytes.fromhex(digest)).decode()
        metadata = {**_user_meta(digest, write_once),
                    "x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum}
        with _s3_errors(key):
            result = self.client.put_object(
                self.bucket, key, io.BytesIO(body), len(body), content_type=content_type, metadata=metadata,
                retention=Retention(COMPLIANCE, until) if until else None, legal_hold=legal_hold)
        return self._locked_info(key, result.version_id, len(body), until, legal_hold)

    def _put_multipart(self, key: str, stream: Chain, source: HashingSource, content_type: str,
                       until: datetime | None, legal_hold: bool, write_once: bool) -> ObjectInfo:
        """Stream to the key; the digest was declared up front so it goes into the metadata now."""
        metadata = _user_meta(source.declared_sha256 or "", write_once)
        version_id = self._multipart(key, stream, content_type, metadata)
        return self._locked_info(key, version_id, source.size, until, legal_hold)

    def _multipart(self, key: str, stream: Chain, content_type: str, metadata: dict[str, str]) -> str | None:
        """Our own part loop: minio's ``put_object`` holds about three parts in memory for an unknown
        size, this holds two.  The source raises at its end on a bad digest, before Complete, and
        the upload is aborted.  Uses the SDK's multipart primitives (pinned ``minio<8``)."""
        headers = {**genheaders(metadata, None, None, None, False), "Content-Type": content_type}
        with _s3_errors(key):
            upload_id = self.client._create_multipart_upload(self.bucket, key, headers)
        try:
            parts, number = [], 0
            while body := read_part(stream, self.part_size):
                number += 1
                with _s3_errors(key):
                    etag = self.client._upload_part(self.bucket, key, body, None, upload_id, number)
                parts.append(Part(number, etag))
                del body  # free this part before reading the next
            with _s3_errors(key):
                return self.client._complete_multipart_upload(self.bucket, key, upload_id, parts).version_id
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client._abort_multipart_upload(self.bucket, key, upload_id)
        except Exception:  # noqa: BLE001 - the original error matters more
            logger.exception("could not abort multipart upload %s of %s", upload_id, key)

    def _put_staged(self, key_for, stream: Chain, source: HashingSource, content_type: str,
                    until: datetime | None, legal_hold: bool, write_once: bool) -> ObjectInfo:
        """Upload to a staging key, then copy server-side once the digest (hence key) is known."""
        staging = f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staged_version = self._multipart(staging, stream, content_type, {})
        try:
            digest = source.hexdigest
            key = key_for(digest)
            existing = self._unless_present(key, digest, until, legal_hold, write_once)
            if existing:
                return existing
            with _s3_errors(key):
                result = self.client.copy_object(
                    self.bucket, key, CopySource(self.bucket, staging, version_id=staged_version),
                    metadata={**_user_meta(digest, write_once), "Content-Type": content_type},
                    metadata_directive=REPLACE)
            return self._locked_info(key, result.version_id, source.size, until, legal_hold)
        finally:
            self._discard(staging, staged_version)

    def _discard(self, staging: str, version_id: str | None) -> None:
        """Remove a staging version for good; a failure is logged, not raised over the real outcome."""
        try:
            self.client.remove_object(self.bucket, staging, version_id=version_id)
        except Exception:  # noqa: BLE001
            logger.exception("could not remove staging object %s version %s", staging, version_id)

    def _locked_info(self, key: str, version_id: str | None, size: int, until: datetime | None,
                     legal_hold: bool) -> ObjectInfo:
        """Apply any lock the server did not take from the upload, then prove the version is as asked."""
        if not version_id:
            raise StorageError(f"bucket {self.bucket} returned no version id: versioning is off")
        info = self.stat(key, version_id)
        if _short(info, until) or (legal_hold and not info.legal_hold):
            logger.debug("applying the lock of %s version %s after upload", key, version_id)
            if _short(info, until):
                self.extend_retention(key, until, version_id)
            if legal_hold and not info.legal_hold:
                self.set_legal_hold(key, True, version_id)
            info = self.stat(key, version_id)
        if info.size != size or _short(info, until) or info.legal_hold != legal_hold:
            raise StorageError(f"{key} version {version_id} was not stored as requested: {info}")
        return info

    # -- reading -------------------------------------------------------------------------------------

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        check_key(key)
        self.ensure_bucket()
        with _s3_errors(key, version_given=version_id is not None):
            response = self.client.get_object(self.bucket, key, version_id=version_id)
        return io.BufferedReader(ResponseStream(response), buffer_size=CHUNK)

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        check_key(key)
        self.ensure_bucket()
        with _s3_errors(key, version_given=version_id is not None):
            st = self.client.stat_object(self.bucket, key, version_id=version_id)
        return _info(key, st)

    def list(self, prefix: str = "") -> Iterator[str]:
        self.ensure_bucket()
        with _s3_errors(prefix):
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if not obj.object_name.startswith(STAGING_PREFIX):
                    yield obj.object_name

    def versions(self, key: str) -> Sequence[ObjectInfo]:
        check_key(key)
        self.ensure_bucket()
        with _s3_errors(key):
            listed = [o for o in self.client.list_objects(self.bucket, prefix=key, include_version=True)
                      if o.object_name == key and not o.is_delete_marker]
        infos = [self.stat(key, o.version_id) for o in listed]
        # servers differ in listing order (moto is not AWS order): newest first, stable for ties
        return sorted(infos, key=lambda i: i.created or datetime.min, reverse=True)

    def _current(self, key: str) -> ObjectInfo | None:
        try:
            return self.stat(key)
        except ObjectNotFound:
            return None

    # -- locks and deletion ----------------------------------------------------------------------------

    def delete(self, key: str, version_id: str | None = None) -> None:
        """Delete by version id (never a delete marker), so the server's object lock decides."""
        info = self.stat(key, version_id)
        with _s3_errors(key, denied=RetentionError):
            self.client.remove_object(self.bucket, key, version_id=info.version_id)
        if info.locked():
            logger.critical("server deleted locked %s version %s: object lock NOT enforced",
                            key, info.version_id)
        logger.info("deleted %s version %s", key, info.version_id)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        vid = self.stat(key, version_id).version_id
        with _s3_errors(key):
            if on:
                self.client.enable_object_legal_hold(self.bucket, key, version_id=vid)
            else:
                self.client.disable_object_legal_hold(self.bucket, key, version_id=vid)

    def extend_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Checked here too: real S3 refuses to shorten COMPLIANCE, moto does not."""
        until = normalize_until(until)
        info = self.stat(key, version_id)
        if info.retain_until is not None and until < info.retain_until:
            raise RetentionError(f"{key}: COMPLIANCE retention cannot be shortened")
        with _s3_errors(key):
            self.client.set_object_retention(self.bucket, key, Retention(COMPLIANCE, until),
                                             version_id=info.version_id)


def _short(info: ObjectInfo, until: datetime | None) -> bool:
    """The version's retention ends before the one asked for (or is missing)."""
    return until is not None and (info.retain_until is None or info.retain_until < until)


def _user_meta(digest: str, write_once: bool) -> dict[str, str]:
    meta = {_META_SHA: digest}
    if write_once:
        meta[_META_WRITE_ONCE] = "1"
    return meta


def _info(key: str, st) -> ObjectInfo:
    """ObjectInfo from HeadObject: lock state is read from headers (moto has no GET ?retention)."""
    meta = st.metadata
    until = meta.get("x-amz-object-lock-retain-until-date")
    return ObjectInfo(key=key, size=st.size, sha256=meta.get(_META_SHA, ""), version_id=st.version_id,
                      content_type=st.content_type or DEFAULT_CONTENT_TYPE, created=st.last_modified,
                      retain_until=normalize_until(datetime.fromisoformat(until)) if until else None,
                      legal_hold=meta.get("x-amz-object-lock-legal-hold", "").upper() == "ON",
                      write_once=meta.get(_META_WRITE_ONCE) == "1")


@contextlib.contextmanager
def _s3_errors(key: str, *, denied: type[StorageError] = StorageError,
               version_given: bool = False) -> Iterator[None]:
    """Translate SDK and transport failures into the storage error hierarchy.

    :param denied: what AccessDenied means here (on a version delete: the object lock refused it)
    """
    try:
        yield
    except S3Error as exc:
        if exc.code in _NOT_FOUND or (version_given and exc.code in _BAD_VERSION):
            raise ObjectNotFound(f"{key}: {exc.code}") from exc
        if exc.code == "AccessDenied":
            raise denied(f"{key}: refused by the server ({exc.code})") from exc
        if exc.code in _BAD_DIGEST:
            raise ChecksumMismatch(f"{key}: server refused the checksum ({exc.code})") from exc
        raise StorageError(f"{key}: {exc.code} {exc.message}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageError(f"{key}: object store unreachable: {exc}") from exc
