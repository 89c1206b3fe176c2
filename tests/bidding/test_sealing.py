"""Property tests of package format v1: round trips and every refusal the issue lists."""
from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidding.package import container as c
from bidding.package import custody, sealing
from tests.bidding.helpers import SEGMENT, Keys, make_package, resign, split, unseal_bytes

KEYS = Keys()
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_component = st.text(alphabet="abcXYZ019_-中文标书 ", min_size=1, max_size=8).filter(
    lambda s: s == s.strip() and not s.endswith("."))
_name = st.lists(_component, min_size=1, max_size=3).map("/".join)
_content = st.one_of(st.binary(max_size=3000),
                     st.builds(lambda n, seed: random.Random(seed).randbytes(n),
                               st.integers(0, 3 * SEGMENT + 17), st.integers(0, 2**32)))


def _consistent(names: list[str]) -> bool:
    folded = [n.casefold() for n in names]
    dirs = {"/".join(n.split("/")[:i]) for n in folded for i in range(1, n.count("/") + 1)}
    return len(set(folded)) == len(folded) and not dirs & set(folded)


_folders = st.dictionaries(_name, _content, min_size=0, max_size=6).filter(lambda d: _consistent(list(d)))


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sealing.iter_files(root)}


@SETTINGS
@given(files=_folders)
def test_round_trip_with_bidder_key_and_with_two_shares(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_package(root, KEYS, files)
        mine = unseal_bytes(data, root / "bidder", private_key=KEYS.encrypt)
        assert _read_tree(root / "bidder") == files
        assert [f["name"] for f in mine.files] == list(files)
        assert mine.info["lot_id"] == KEYS.lot_id
        for pair in ((0, 1), (1, 2), (0, 2)):
            key = custody.rebuild_opening_key([KEYS.shares[i] for i in pair])
            unseal_bytes(data, root / f"opening{pair}", private_key=key)
            assert _read_tree(root / f"opening{pair}") == files


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("pkg")
    files = {"a.txt": b"alpha" * 40000, "dir/b.bin": bytes(range(256)) * 300, "empty": b""}
    return make_package(root, KEYS, files)


def test_one_share_is_refused(tmp_path, package):
    for share in KEYS.shares:
        with pytest.raises(custody.CustodyError) as err:
            custody.rebuild_opening_key([share])
        assert err.value.code == "not_enough_shares"
    with pytest.raises(custody.CustodyError):
        custody.rebuild_opening_key([KEYS.shares[0], KEYS.shares[0]])


def test_a_single_share_used_as_a_key_does_not_open(tmp_path, package):
    fake = X25519PrivateKey.from_private_bytes(KEYS.shares[0].y)
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(package, tmp_path / "o", private_key=fake)
    assert err.value.code == "wrong_key"
    assert not (tmp_path / "o").exists()


def test_wrong_key_and_wrong_data_key_are_refused(tmp_path, package):
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(package, tmp_path / "o", private_key=X25519PrivateKey.generate())
    assert err.value.code == "wrong_key"
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(package, tmp_path / "o2", data_key=bytes(32))
    assert err.value.code == "segment_corrupt"
    assert not list(tmp_path.iterdir()), "nothing may be left behind after a refusal"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_flipped_bit_anywhere_is_refused(package, data):
    position = data.draw(st.integers(0, len(package) * 8 - 1))
    tampered = bytearray(package)
    tampered[position // 8] ^= 1 << (position % 8)
    with tempfile.TemporaryDirectory() as tmp:
        with pytest.raises(c.PackageError):
            unseal_bytes(bytes(tampered), Path(tmp) / "o", private_key=KEYS.encrypt)
        with pytest.raises(c.PackageError):
            sealing.verify(io.BytesIO(bytes(tampered)))
        assert not (Path(tmp) / "o").exists()


@pytest.mark.parametrize("where", ["header", "manifest", "signature", "ciphertext", "last byte"])
def test_a_flipped_bit_in_each_region_is_refused_by_verify(package, where):
    manifest, ciphertext = split(package)
    header = len(package) - len(ciphertext) - 64
    at = {"header": 9, "manifest": 20, "signature": header + 3, "ciphertext": header + 64 + 100,
          "last byte": len(package) - 1}[where]
    tampered = bytearray(package)
    tampered[at] ^= 0x40
    with pytest.raises(c.PackageError) as err:
        sealing.verify(io.BytesIO(bytes(tampered)))
    assert err.value.code in {"manifest_malformed", "truncated", "bad_signature", "ciphertext_hash_mismatch"}


def _segments(ciphertext: bytes) -> list[bytes]:
    full = SEGMENT + c.TAG
    return [ciphertext[i:i + full] for i in range(0, len(ciphertext), full)]


def test_truncated_package_is_refused(tmp_path, package):
    for cut in (1, 17, SEGMENT + c.TAG, len(package) // 2):
        with pytest.raises(c.PackageError):
            unseal_bytes(package[:-cut], tmp_path / f"o{cut}", private_key=KEYS.encrypt)


def test_truncation_at_a_segment_boundary_is_caught_by_the_stream_itself(tmp_path, package):
    """Even with a re-signed manifest that matches the shorter ciphertext (the bidder's own key),
    the missing last-segment flag gives it away."""
    manifest, ciphertext = split(package)
    segs = _segments(ciphertext)
    assert len(segs) >= 3
    forged = resign(manifest, b"".join(segs[:-1]), KEYS.sign)
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(forged, tmp_path / "o", private_key=KEYS.encrypt)
    assert err.value.code == "segment_corrupt"


def test_reordered_segments_are_refused(tmp_path, package):
    manifest, ciphertext = split(package)
    segs = _segments(ciphertext)
    swapped = [segs[1], segs[0], *segs[2:]]
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(package[:-len(ciphertext)] + b"".join(swapped),
                     tmp_path / "o", private_key=KEYS.encrypt)
    assert err.value.code in {"segment_corrupt", "ciphertext_hash_mismatch"}
    forged = resign(manifest, b"".join(swapped), KEYS.sign)
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(forged, tmp_path / "o2", private_key=KEYS.encrypt)
    assert err.value.code == "segment_corrupt"


def test_swapped_manifest_is_refused(tmp_path, package):
    other = make_package(tmp_path, KEYS, {"a.txt": b"other bid"}, name="other.bid")
    _manifest, ciphertext = split(package)
    _other_manifest, other_ciphertext = split(other)
    franken = other[:len(other) - len(other_ciphertext)] + ciphertext
    with pytest.raises(c.PackageError) as err:
        sealing.verify(io.BytesIO(franken))
    assert err.value.code in {"ciphertext_hash_mismatch", "ciphertext_size_mismatch"}
    with pytest.raises(c.PackageError):
        unseal_bytes(franken, tmp_path / "o", private_key=KEYS.encrypt)
    # the other bid's signed manifest re-pointed at this ciphertext still cannot open it
    forged = resign(_other_manifest, ciphertext, KEYS.sign)
    with pytest.raises(c.PackageError) as err:
        unseal_bytes(forged, tmp_path / "o2", private_key=KEYS.encrypt)
    assert err.value.code in {"segment_corrupt", "file_hash_mismatch", "payload_mismatch"}


def test_manifest_of_another_signer_is_refused(tmp_path, package):
    manifest, ciphertext = split(package)
    intruder = Keys()
    forged = resign(manifest, ciphertext, intruder.sign)  # embedded key still the bidder's
    with pytest.raises(c.PackageError) as err:
        sealing.verify(io.BytesIO(forged))
    assert err.value.code == "bad_signature"


def test_plaintext_or_other_envelope_is_refused():
    for data in (b"", b"PK\x03\x04 a zip file", b"GGZYBID\x02" + bytes(100)):
        with pytest.raises(c.PackageError) as err:
            sealing.verify(io.BytesIO(data))
        assert err.value.code in {"not_a_package", "unsupported_version"}


@pytest.mark.parametrize("name", ["../evil", "/abs", "a//b", "a/./b", "c:\\x", "dot.", " pad", "a\x00b",
                                  "e\u0301"])
def test_unsafe_names_are_refused_at_pack(tmp_path, name):
    doc = sealing.Document(name, tmp_path / "x")
    (tmp_path / "x").write_bytes(b"x")
    with pytest.raises(c.PackageError) as err:
        sealing.pack(out=tmp_path / "p", lot_id=1, opening_public=c.raw_public(KEYS.opening),
                     bidder_sign=KEYS.sign, bidder_encrypt_public=c.raw_public(KEYS.encrypt),
                     documents=[doc], info={}, device={}, created_at="2026-01-01T00:00:00Z")
    assert err.value.code == "bad_file_name"


def test_non_canonical_manifest_is_refused(package):
    manifest, ciphertext = split(package)
    body = b"{ " + c.canonical(manifest)[1:]
    out = io.BytesIO()
    c.write_header(out, body, c.sign_manifest(body, KEYS.sign))
    with pytest.raises(c.PackageError) as err:
        sealing.verify(io.BytesIO(out.getvalue() + ciphertext))
    assert err.value.code == "manifest_malformed"
