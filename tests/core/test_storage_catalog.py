"""The local store's catalog (core/storage/catalog.py): adopted versions described by rows of the
caller's transaction; what holds for a sidecar version holds for them (docs/storage.md)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from core.db import db
from core.storage import LocalStorage, ObjectNotFound, RetentionError, WriteOnceViolation, storage_from_config
from core.storage.catalog import DatabaseCatalog, StoredObject


@pytest.fixture
def store(ctx, tmp_path):
    return LocalStorage(tmp_path / "store", catalog=DatabaseCatalog())


def _adopt(store, key: str, data: bytes, **kw):
    spool = store.spool_path()
    spool.write_bytes(data)
    return store.adopt(key, spool, size=len(data), sha256=hashlib.sha256(data).hexdigest(), **kw)


def test_the_apps_local_store_has_the_catalog(tmp_path):
    assert isinstance(storage_from_config({"GGZY_STORAGE_DIR": str(tmp_path)})._catalog, DatabaseCatalog)


def test_a_put_keeps_its_sidecar_and_reads_mix_with_adopted_versions(store):
    old = store.put("k/a", b"first")  # a put's caller does not commit with it: a sidecar
    new = _adopt(store, "k/a", b"second")
    vdir = store.root / "objects" / "k/a~v"
    assert (vdir / f"{old.version_id}.json").exists() and not (vdir / f"{new.version_id}.json").exists()
    assert store.get_bytes("k/a") == b"second" and [v.version_id for v in store.versions("k/a")] == [
        new.version_id, old.version_id]
    assert list(store.list("k/")) == ["k/a"]


def test_an_adopted_write_once_version_refuses_other_content(store):
    info = _adopt(store, "k/b", b"sealed", write_once=True)
    assert _adopt(store, "k/b", b"sealed", write_once=True).version_id == info.version_id
    with pytest.raises(WriteOnceViolation):
        _adopt(store, "k/b", b"other", write_once=True)
    with pytest.raises(WriteOnceViolation):
        store.put("k/b", b"other")


def test_hold_retention_and_delete_of_an_adopted_version_act_on_its_row(store):
    info = _adopt(store, "k/c", b"bytes")
    store.set_legal_hold("k/c", True)
    assert db.session.get(StoredObject, ("k/c", info.version_id)).legal_hold
    with pytest.raises(RetentionError):
        store.delete("k/c")
    store.set_legal_hold("k/c", False)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    store.extend_retention("k/c", until)
    assert store.stat("k/c").retain_until >= until.replace(microsecond=0)
    with pytest.raises(RetentionError):
        store.delete("k/c")


def test_deleting_an_adopted_version_removes_its_file_once_the_deletion_commits(store):
    info = _adopt(store, "k/d", b"bytes")
    data = store.root / "objects" / "k/d~v" / f"{info.version_id}.data"
    db.session.commit()
    store.delete("k/d")
    with pytest.raises(ObjectNotFound):
        store.stat("k/d")
    assert data.exists()  # still there until the deletion commits
    db.session.commit()
    assert not data.exists()
