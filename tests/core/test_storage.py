"""One behaviour, two backends: every test here runs on LocalStorage and on S3Storage (moto server).

The S3 server runs in a child process (tests/s3server.py), so tracemalloc only sees this process:
the storage client, not moto's copy of the data.
"""
from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio.commonconfig import COMPLIANCE
from minio.helpers import MIN_PART_SIZE
from minio.objectlockconfig import DAYS, ObjectLockConfig

from core.storage import (
    ChecksumMismatch,
    LocalStorage,
    ObjectNotFound,
    RetentionError,
    S3Storage,
    StorageError,
    WriteOnceViolation,
    content_key,
    get_storage,
    storage_from_config,
)
from core.storage.s3 import STAGING_PREFIX
from tests.s3server import ACCESS_KEY, SECRET_KEY, s3_config, start_s3_server

MB = 1024 * 1024
#: bigger than one S3 part (5 MiB by default), so S3 takes the multipart paths
LARGE = MIN_PART_SIZE + MB // 2


@pytest.fixture(scope="session")
def s3_endpoint():
    endpoint, stop = start_s3_server()  # raises (the test errors, never skips) if moto cannot start
    yield endpoint
    stop()


def make_s3(endpoint: str, **kwargs) -> S3Storage:
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    return S3Storage(endpoint, ACCESS_KEY, SECRET_KEY, bucket=bucket, secure=False, **kwargs)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return make_s3(request.getfixturevalue("s3_endpoint"))  # default part size: MIN_PART_SIZE


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-periodic bytes (a shifted pattern would hide part-ordering bugs)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return b"".join(i.to_bytes(8, "big") + block[8:] for i in range(size // len(block) + 1))[:size]


def leftovers(storage) -> list[str]:
    """Anything an aborted or finished upload left behind (temp files, staging objects)."""
    if isinstance(storage, LocalStorage):
        return os.listdir(storage.root / "tmp")
    objects = storage.client.list_objects(storage.bucket, prefix=STAGING_PREFIX, include_version=True)
    uploads = storage.client._list_multipart_uploads(storage.bucket).uploads
    return [o.object_name for o in objects] + [u.object_name for u in uploads]


def tamper(storage, key: str) -> None:
    """Change the bytes of ``key`` behind the store's back, keeping the recorded SHA-256.

    Local: rewrite the data file on disk.  S3: object lock forbids changing a version, so the
    attacker's move is a new version with forged metadata (the old digest) through the raw client.
    """
    info = storage.stat(key)
    forged = b"X" * info.size
    if isinstance(storage, LocalStorage):
        path = storage.root / "objects" / f"{key}~v" / f"{info.version_id}.data"
        path.chmod(0o644)
        path.write_bytes(forged)
        return
    storage.client.put_object(storage.bucket, key, io.BytesIO(forged), len(forged),
                              metadata={"x-amz-meta-sha256": info.sha256})


# -- round trip and streaming --------------------------------------------------------------------


def test_round_trip(storage):
    info = storage.put("docs/lot-1/notice.pdf", b"%PDF hello", content_type="application/pdf")
    assert (info.key, info.size, info.sha256) == ("docs/lot-1/notice.pdf", 10, sha(b"%PDF hello"))
    assert info.version_id and info.content_type == "application/pdf" and not info.locked()
    assert storage.stat("docs/lot-1/notice.pdf") == info
    assert storage.get_bytes("docs/lot-1/notice.pdf") == b"%PDF hello"
    with storage.open("docs/lot-1/notice.pdf") as stream:
        assert stream.read() == b"%PDF hello"
    assert b"".join(storage.iter_chunks("docs/lot-1/notice.pdf", chunk_size=3)) == b"%PDF hello"
    assert storage.exists("docs/lot-1/notice.pdf") and storage.verify("docs/lot-1/notice.pdf")


@pytest.mark.parametrize("size", [0, 1, LARGE])
def test_every_input_kind_gives_the_same_object(storage, size):
    data = pattern(size)
    inputs = [data, io.BytesIO(data), (data[i:i + 65536] for i in range(0, size, 65536))]
    infos = [storage.put(f"in/{n}", source, length=size) for n, source in enumerate(inputs)]
    assert {(i.size, i.sha256) for i in infos} == {(size, sha(data))}
    assert all(storage.get_bytes(i.key) == data for i in infos)
    assert leftovers(storage) == []


def test_streams_64_mb_with_flat_memory(storage):
    total, chunk = 64 * MB, 64 * 1024
    expected = hashlib.sha256()
    for i in range(total // chunk):
        expected.update(i.to_bytes(8, "big") * (chunk // 8))

    def generate():
        for i in range(total // chunk):
            yield i.to_bytes(8, "big") * (chunk // 8)

    tracemalloc.start()
    try:
        info = storage.put("big/64mb.bin", generate())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.size, info.sha256) == (total, expected.hexdigest())
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MB while streaming 64 MB"
    assert storage.verify("big/64mb.bin")
    assert leftovers(storage) == []


# -- content addressing and integrity --------------------------------------------------------------


@pytest.mark.parametrize("size", [5, LARGE])
def test_content_addressing_is_idempotent(storage, size):
    data = pattern(size, seed=size)
    first = storage.put_content_addressed(data)
    again = storage.put_content_addressed(io.BytesIO(data))
    assert first.key == content_key(sha(data)) == f"sha256/{sha(data)[:2]}/{sha(data)}"
    assert (again.key, again.version_id, again.sha256) == (first.key, first.version_id, sha(data))
    assert [v.version_id for v in storage.versions(first.key)] == [first.version_id]
    assert list(storage.list("sha256/")) == [first.key]
    assert leftovers(storage) == []


def test_content_addressed_repeat_strengthens_the_lock_never_weakens(storage):
    first = storage.put_content_addressed(b"attachment", retain_until=soon(2))
    longer = soon(4)
    storage.put_content_addressed(b"attachment", retain_until=longer, legal_hold=True)
    info = storage.put_content_addressed(b"attachment", retain_until=soon(1))
    assert info.version_id == first.version_id
    assert info.retain_until == storage.retention(first.key)
    assert timedelta(0) <= info.retain_until - longer < timedelta(seconds=1)  # whole seconds, rounded up
    assert info.legal_hold
    with pytest.raises(RetentionError):
        storage.extend_retention(first.key, soon(1))
    storage.set_legal_hold(first.key, False)


@pytest.mark.parametrize("size", [100, LARGE])
def test_checksum_mismatch_is_refused_and_leaves_nothing(storage, size):
    data = pattern(size)
    with pytest.raises(ChecksumMismatch):
        storage.put("bids/b1.pkg", iter([data]), sha256=sha(b"other"), retain_until=soon(60), legal_hold=True)
    with pytest.raises(ChecksumMismatch):
        storage.put("bids/b1.pkg", data, length=size + 1)
    with pytest.raises(ChecksumMismatch):
        storage.put("bids/b1.pkg", data, length=size - 1, sha256=sha(data))
    with pytest.raises(ChecksumMismatch):
        storage.put_content_addressed(io.BytesIO(data), sha256=sha(b"other"))
    assert not storage.exists("bids/b1.pkg") and storage.versions("bids/b1.pkg") == []
    assert list(storage.list("")) == [] and leftovers(storage) == []
    assert storage.put("bids/b1.pkg", data, sha256=sha(data).upper(), length=size).sha256 == sha(data)


def test_write_once_refuses_different_content(storage):
    first = storage.put("records/r1.json", b'{"amount":"1.00"}', write_once=True)
    assert first.write_once
    same = storage.put("records/r1.json", b'{"amount":"1.00"}', write_once=True)
    assert same.version_id == first.version_id
    with pytest.raises(WriteOnceViolation):
        storage.put("records/r1.json", b'{"amount":"9.00"}', write_once=True)
    with pytest.raises(WriteOnceViolation):  # write-once belongs to the object, not to the call
        storage.put("records/r1.json", iter([b'{"amount":"9.00"}']))
    assert storage.get_bytes("records/r1.json") == b'{"amount":"1.00"}'
    assert [v.version_id for v in storage.versions("records/r1.json")] == [first.version_id]


# -- retention, legal hold, versions -------------------------------------------------------------------


def test_retention_refuses_delete_until_it_expires(storage):
    until = soon(2)
    info = storage.put("archive/r.json", b"sealed", retain_until=until)
    assert info.retain_until == storage.retention("archive/r.json")
    assert timedelta(0) <= info.retain_until - until < timedelta(seconds=1) and info.locked()
    with pytest.raises(RetentionError):
        storage.delete("archive/r.json")
    with pytest.raises(RetentionError):
        storage.delete("archive/r.json", version_id=info.version_id)
    with pytest.raises(RetentionError):
        storage.extend_retention("archive/r.json", until - timedelta(seconds=1))
    assert storage.get_bytes("archive/r.json") == b"sealed"
    time.sleep(max(0.0, (info.retain_until - datetime.now(UTC)).total_seconds()) + 0.3)
    storage.delete("archive/r.json")
    assert not storage.exists("archive/r.json")


def test_legal_hold_refuses_delete_until_released(storage):
    info = storage.put("evidence/e1", b"evidence", legal_hold=True)
    assert info.legal_hold and storage.stat("evidence/e1").legal_hold
    with pytest.raises(RetentionError):
        storage.delete("evidence/e1")
    storage.set_legal_hold("evidence/e1", False)
    assert not storage.stat("evidence/e1").locked()
    storage.put("evidence/e2", b"later held")
    storage.set_legal_hold("evidence/e2", True)
    with pytest.raises(RetentionError):
        storage.delete("evidence/e2")
    storage.delete("evidence/e1")
    assert not storage.exists("evidence/e1") and storage.exists("evidence/e2")
    storage.set_legal_hold("evidence/e2", False)


@pytest.mark.parametrize("declared", [True, False], ids=["sha256-declared", "sha256-unknown"])
def test_large_objects_are_locked_too(storage, declared):
    """S3 takes the multipart paths here, where the lock is applied after completion."""
    data = pattern(LARGE, seed=3)
    info = storage.put("bids/big.pkg", iter([data]), sha256=sha(data) if declared else None,
                       retain_until=soon(30), legal_hold=True)
    assert info.sha256 == sha(data) and info.legal_hold and info.retain_until > soon(20)
    assert storage.stat("bids/big.pkg") == info
    storage.set_legal_hold("bids/big.pkg", False)
    with pytest.raises(RetentionError):
        storage.delete("bids/big.pkg")
    assert storage.verify("bids/big.pkg") and leftovers(storage) == []


def test_versions_survive_overwrite(storage):
    v1 = storage.put("docs/tender.pdf", b"original", legal_hold=True)
    v2 = storage.put("docs/tender.pdf", iter([b"amended"]))
    assert v2.version_id != v1.version_id
    assert storage.get_bytes("docs/tender.pdf") == b"amended"
    assert storage.get_bytes("docs/tender.pdf", v1.version_id) == b"original"
    assert [v.version_id for v in storage.versions("docs/tender.pdf")] == [v2.version_id, v1.version_id]
    storage.delete("docs/tender.pdf")  # removes v2 for good; v1 becomes current again
    assert storage.stat("docs/tender.pdf").version_id == v1.version_id
    with pytest.raises(RetentionError):
        storage.delete("docs/tender.pdf")
    assert storage.verify("docs/tender.pdf", v1.version_id)
    storage.set_legal_hold("docs/tender.pdf", False)


def test_missing_objects_raise_not_found(storage):
    storage.put("here", b"x")
    for call in (lambda: storage.stat("absent"), lambda: storage.open("absent"),
                 lambda: storage.get_bytes("absent"), lambda: storage.delete("absent"),
                 lambda: storage.set_legal_hold("absent", True), lambda: storage.verify("absent"),
                 lambda: storage.retention("absent"), lambda: storage.extend_retention("absent", soon(5)),
                 lambda: storage.stat("here", version_id="0000000000000000000000000000")):
        with pytest.raises(ObjectNotFound):
            call()
    assert not storage.exists("absent") and storage.versions("absent") == []
    assert issubclass(ObjectNotFound, StorageError) and issubclass(RetentionError, StorageError)


def test_list_by_prefix(storage):
    for key in ("a/1", "a/2", "a-b", "ab/3", "b/1", "a/deep/x"):
        storage.put(key, key.encode())
    storage.delete("a/2")
    assert list(storage.list("a/")) == ["a/1", "a/deep/x"]
    assert list(storage.list("a")) == ["a-b", "a/1", "a/deep/x", "ab/3"]
    assert list(storage.list("")) == ["a-b", "a/1", "a/deep/x", "ab/3", "b/1"]
    assert list(storage.list("c")) == list(storage.list("../")) == list(storage.list("a/../")) == []


def test_verify_detects_tampering(storage):
    original = storage.put("archive/bag.tar", pattern(4096))
    assert storage.verify("archive/bag.tar")
    tamper(storage, "archive/bag.tar")
    assert storage.verify("archive/bag.tar") is False
    if isinstance(storage, S3Storage):  # the locked-in original version is still intact
        assert storage.verify("archive/bag.tar", original.version_id)


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "../x", "a/./b", ".staging/x", "a/b~v", "a\\b",
                                 "a\nb"])
def test_unsafe_keys_are_refused(storage, key):
    with pytest.raises(ValueError):
        storage.put(key, b"x")


def test_naive_retention_is_refused(storage):
    with pytest.raises(ValueError):
        storage.put("k", b"x", retain_until=datetime.now() + timedelta(days=1))  # noqa: DTZ005


def test_healthcheck(storage, tmp_path):
    ok, detail = storage.healthcheck()
    assert ok, detail
    if isinstance(storage, LocalStorage):
        (storage.root / "tmp").rmdir()
        broken = storage
    else:
        broken = S3Storage("127.0.0.1:9", ACCESS_KEY, SECRET_KEY, bucket="nowhere", secure=False)
    ok, detail = broken.healthcheck()
    assert not ok and detail


# -- S3 specifics and configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("setup", ["no lock", "default rule"])
def test_s3_refuses_a_bucket_it_cannot_keep_promises_in(s3_endpoint, setup):
    store = make_s3(s3_endpoint)
    if setup == "no lock":  # plain bucket: no versioning, no lock
        store.client.make_bucket(store.bucket)
    else:  # a default retention would lock every staging object too
        store.client.make_bucket(store.bucket, object_lock=True)
        store.client.set_object_lock_config(store.bucket, ObjectLockConfig(COMPLIANCE, 1, DAYS))
    ok, detail = store.healthcheck()
    assert not ok and ("object lock" in detail if setup == "no lock" else "default retention" in detail)
    with pytest.raises(StorageError):
        store.put("x", b"x")


def test_s3_bucket_is_created_with_object_lock(s3_endpoint):
    store = make_s3(s3_endpoint)
    assert store.healthcheck()[0]
    assert store.client.get_bucket_versioning(store.bucket).status == "Enabled"


def test_storage_from_config(tmp_path, s3_endpoint):
    local = storage_from_config({"GGZY_STORAGE_DIR": str(tmp_path / "s")})
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "s").resolve()
    s3 = storage_from_config(s3_config(s3_endpoint, bucket="cfg-bucket"))
    assert isinstance(s3, S3Storage) and s3.bucket == "cfg-bucket" and s3.healthcheck()[0]
    url = storage_from_config({**s3_config(s3_endpoint), "GGZY_S3_ENDPOINT": f"http://{s3_endpoint}"})
    assert url.endpoint == s3_endpoint and url.healthcheck()[0]
    with pytest.raises(StorageError):
        storage_from_config({"GGZY_STORAGE": "ftp"})
    with pytest.raises(StorageError):
        storage_from_config({"GGZY_STORAGE": "s3"})


def test_get_storage_returns_the_apps_store(tmp_path):
    from flask import Flask

    app = Flask(__name__)
    app.extensions["storage"] = store = LocalStorage(Path(tmp_path))
    with app.app_context():
        assert get_storage() is store
