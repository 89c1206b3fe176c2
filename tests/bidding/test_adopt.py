"""core.storage adopt(): the rename path bidding uses for received packages (local store)."""
import hashlib

from core.storage.base import ChecksumMismatch, WriteOnceViolation
from core.storage.local import LocalStorage


def test_adopt(tmp_path):
    st = LocalStorage(tmp_path / "s")
    p = st.spool_path(); p.write_bytes(b"abc")
    info = st.adopt("a/b", p, size=3, sha256=hashlib.sha256(b"abc").hexdigest(), write_once=True)
    assert st.get_bytes("a/b") == b"abc" and st.verify("a/b") and not p.exists()
    q = tmp_path / "other"; q.write_bytes(b"abc")
    assert st.adopt("a/b", q, size=3, sha256=info.sha256, write_once=True).version_id == info.version_id
    assert not q.exists()
    q.write_bytes(b"abd")
    try:
        st.adopt("a/b", q, size=3, sha256=hashlib.sha256(b"abd").hexdigest(), write_once=True); assert 0
    except WriteOnceViolation: pass
    q.write_bytes(b"abcd")
    try:
        st.adopt("a/c", q, size=3, sha256=info.sha256); assert 0
    except ChecksumMismatch: pass
    assert not q.exists() and not list((tmp_path/"s"/"tmp").iterdir())
