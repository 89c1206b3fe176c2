"""Storage guarantees the archive relies on, on the local store and on the S3 test server (moto):
write-once, retention refuses deletion (and the refusal is audited), versions survive overwrite
attempts, checksums are enforced; the auditor reports any difference as an event."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid

import pytest
from sqlalchemy import select

from archive import services
from archive.models import ArchiveMismatch, ArchiveRecord, ArchiveSegment
from core.db import db
from core.errors import Conflict
from core.events import OutboxEvent, commit
from core.models import AuditLog
from core.storage import ChecksumMismatch, LocalStorage, S3Storage, WriteOnceViolation
from tests.archive.conftest import lot_events
from tests.support import need


@pytest.fixture(scope="module")
def s3_endpoint():
    from tests.s3server import start_s3_server

    try:
        endpoint, stop = start_s3_server()
    except RuntimeError as exc:
        need("s3", False, str(exc))
        return
    yield endpoint
    stop()


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path, monkeypatch):
    if request.param == "local":
        store = LocalStorage(tmp_path / "store")
    else:
        from tests.s3server import ACCESS_KEY, SECRET_KEY

        endpoint = request.getfixturevalue("s3_endpoint")
        store = S3Storage(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                          bucket=f"archive-{uuid.uuid4().hex[:12]}")
    monkeypatch.setitem(app.extensions, "storage", store)
    return store


@pytest.fixture
def sealed(backend, ctx):
    from tests.archive.conftest import fake_event

    class A:
        @staticmethod
        def add(name, payload):
            services.capture(fake_event(name, payload))

    lot_events(A, lot_id=3, bids=2, attachment=b"bid package bytes", store=backend)
    services.run_sequencer(max_seconds=60)
    return db.session.scalar(select(ArchiveSegment))


def test_sealed_objects_are_locked_and_exportable(backend, sealed):
    info = backend.stat(sealed.key)
    assert info.write_once and info.sha256 == sealed.sha256
    assert info.retain_until > dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 19)
    att = db.session.scalars(select(ArchiveRecord.attachments)).all()
    sha = next(a[0]["sha256"] for a in att if a)
    assert backend.stat(f"sha256/{sha[:2]}/{sha}").retain_until is not None
    cp = services.latest_checkpoint()
    assert backend.get_bytes(cp.storage_key) == cp.document.encode()
    from archive import verify

    trust = verify.load_trust(json.dumps(services.trust_document()).encode())
    assert verify.verify_files(services.build_bundle(chain="lot:3"), trust)[0] == 0


def test_write_once_and_versions_survive_overwrite(backend, sealed):
    original = backend.get_bytes(sealed.key)
    for attempt in ({}, {"write_once": True}):
        with pytest.raises(WriteOnceViolation):
            backend.put(sealed.key, b"rewritten history\n", **attempt)
    assert backend.get_bytes(sealed.key) == original
    assert len(backend.versions(sealed.key)) == 1
    again = backend.put_content_addressed(original)
    assert again.key == sealed.key and len(backend.versions(sealed.key)) == 1


def test_early_deletion_is_refused_and_audited(backend, sealed):
    with pytest.raises(Conflict) as err:
        services.delete_object(key=sealed.key, reason="tidy up")
    commit()
    assert err.value.code == "retention_in_force" and err.value.rule
    assert backend.get_bytes(sealed.key)
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "archive.delete_refused"))
    assert row is not None and row.object_id == sealed.key


def test_legal_hold_blocks_deletion(backend, sealed):
    rec = db.session.scalar(select(ArchiveRecord))
    services.set_legal_hold(record=rec, on=True, reason="complaint")
    assert backend.stat(sealed.key).legal_hold
    with pytest.raises(Conflict):
        services.delete_object(key=sealed.key, reason="x")


def test_checksums_are_enforced(backend, ctx):
    data = b"attachment"
    with pytest.raises(ChecksumMismatch):
        backend.put_content_addressed(data, sha256=hashlib.sha256(b"other").hexdigest())
    assert not backend.exists(f"sha256/{hashlib.sha256(data).hexdigest()[:2]}/{hashlib.sha256(data).hexdigest()}")


def test_auditor_reports_a_log_mismatch_once(backend, sealed):
    assert services.audit_storage() == {"segments": 1, "mismatches": 0}
    rec = db.session.scalar(select(ArchiveRecord).order_by(ArchiveRecord.leaf_index))
    rec.leaf_hash = "0" * 64  # the index and the store now disagree
    db.session.flush()
    assert services.audit_storage()["mismatches"] == 1
    assert services.audit_storage()["mismatches"] == 0  # reported once
    commit()
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.name == "archive.mismatch_detected"))
    assert event.payload["kind"] == "record_hash" and event.payload["object_key"] == sealed.key
    assert db.session.scalar(select(db.func.count(ArchiveMismatch.id))) == 1


def test_auditor_detects_bytes_changed_behind_the_stores_back(app, ctx, store):
    """Only the local store can be altered outside its API (shell access); the auditor sees it."""
    lot_events(_Adder, lot_id=4, bids=1)
    services.run_sequencer(max_seconds=60)
    seg = db.session.scalar(select(ArchiveSegment))
    info = store.stat(seg.key)
    path = store._vdir(seg.key) / f"{info.version_id}.data"
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))
    result = services.audit_storage()
    assert result["mismatches"] == 1
    assert db.session.scalar(select(ArchiveMismatch.kind)) == "segment_hash"


class _Adder:
    @staticmethod
    def add(name, payload):
        from tests.archive.conftest import fake_event

        services.capture(fake_event(name, payload))
