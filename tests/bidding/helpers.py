"""Shared helpers of the bidding tests: keys, small packages, re-signing tampered packages."""
from __future__ import annotations

import hashlib
import io
import struct
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container as c
from bidding.package import custody, sealing

SEGMENT = 64 * 1024


class Keys:
    """A bidder (sign + encrypt) and a lot's opening key, split into three clear shares."""

    def __init__(self, lot_id: int = 7):
        self.lot_id = lot_id
        self.sign = Ed25519PrivateKey.generate()
        self.encrypt = X25519PrivateKey.generate()
        self.opening = X25519PrivateKey.generate()
        self.shares = custody.split_opening_key(self.opening, lot_id=lot_id)


def write_files(root: Path, files: dict[str, bytes]) -> list[sealing.Document]:
    docs = []
    for name, data in files.items():
        path = root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        docs.append(sealing.Document(name, path, {"creator": "tester"}))
    return docs


def make_package(root: Path, keys: Keys, files: dict[str, bytes], *, name: str = "p.bid",
                 info: dict | None = None) -> bytes:
    out = root / name
    sealing.pack(out=out, lot_id=keys.lot_id, opening_public=c.raw_public(keys.opening),
                 bidder_sign=keys.sign, bidder_encrypt_public=c.raw_public(keys.encrypt),
                 documents=write_files(root / name.replace(".", "_"), files),
                 info=info or {"schedule": None}, device={"mac": ["02:00:00:00:00:01"]},
                 created_at="2026-03-01T00:00:00Z", segment_size=SEGMENT)
    return out.read_bytes()


def split(data: bytes) -> tuple[dict, bytes]:
    """(manifest, ciphertext) of a package's bytes."""
    (length,) = struct.unpack(">I", data[8:12])
    return c.parse_canonical(data[12:12 + length]), data[12 + length + 64:]


def resign(manifest: dict, ciphertext: bytes, key: Ed25519PrivateKey) -> bytes:
    """A package whose manifest matches ``ciphertext`` and is validly signed: an attacker holding
    the bidder's key, to show the stream layer detects truncation and reordering on its own."""
    p = manifest["payload"]
    count = c.segment_count(len(ciphertext), p["segment_size"])
    p.update(size=len(ciphertext), sha256=hashlib.sha256(ciphertext).hexdigest(),
             plaintext_size=len(ciphertext) - count * c.TAG)
    body = c.canonical(manifest)
    out = io.BytesIO()
    c.write_header(out, body, c.sign_manifest(body, key))
    return out.getvalue() + ciphertext


def unseal_bytes(data: bytes, out: Path, **key):
    return sealing.unseal(io.BytesIO(data), out, **key)
