"""core.storage adopt(): the rename path bidding uses for received packages (local store)."""
import hashlib

import pytest

from core.storage.base import ChecksumMismatch, WriteOnceViolation
from core.storage.local import LocalStorage


def test_adopt_renames_and_keeps_write_once(tmp_path):
    store = LocalStorage(tmp_path / "s")
    spooled = store.spool_path()
    spooled.write_bytes(b"abc")
    info = store.adopt("a/b", spooled, size=3, sha256=hashlib.sha256(b"abc").hexdigest(), write_once=True)
    assert store.get_bytes("a/b") == b"abc"
    assert store.verify("a/b")
    assert not spooled.exists()
    other = tmp_path / "other"  # outside the store's tmp/: moved in first
    other.write_bytes(b"abc")
    again = store.adopt("a/b", other, size=3, sha256=info.sha256, write_once=True)
    assert again.version_id == info.version_id  # idempotent repeat
    assert not other.exists()
    other.write_bytes(b"abd")
    with pytest.raises(WriteOnceViolation):
        store.adopt("a/b", other, size=3, sha256=hashlib.sha256(b"abd").hexdigest(), write_once=True)
    other.write_bytes(b"abcd")
    with pytest.raises(ChecksumMismatch):
        store.adopt("a/c", other, size=3, sha256=info.sha256)
    assert not other.exists()
    assert not list((tmp_path / "s" / "tmp").iterdir())
    assert store.get_bytes("a/b") == b"abc"
