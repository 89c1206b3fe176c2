"""Small, well-named wrappers over ``cryptography`` used across domains.

Keys travel as base64 of their 32 raw bytes; a key id is the algorithm plus the first 16 hex
digits of the SHA-256 of the raw public key, so anyone can recompute it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALGORITHMS = {"sign": "ed25519", "encrypt": "x25519"}
POP_INFO = b"ggzy-key-pop-v1"


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def raw_public(key) -> bytes:
    """The 32 raw bytes of an Ed25519/X25519 public (or private) key."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(algorithm: str, raw: bytes) -> str:
    return f"{algorithm}:{hashlib.sha256(raw).hexdigest()[:16]}"


def load_public(algorithm: str, raw: bytes):
    if len(raw) != 32:
        raise ValueError("a public key has 32 bytes")
    cls = Ed25519PublicKey if algorithm == "ed25519" else X25519PublicKey
    return cls.from_public_bytes(raw)


def generate(kind: str):
    """A fresh private key: ``sign`` → Ed25519, ``encrypt`` → X25519."""
    return Ed25519PrivateKey.generate() if kind == "sign" else X25519PrivateKey.generate()


def save_private(key, path: Path) -> None:
    """PEM (PKCS#8, unencrypted) written with mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def load_private(path: Path):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def x25519_mac_key(private: X25519PrivateKey, peer_public: X25519PublicKey) -> bytes:
    """A MAC key both sides derive from one X25519 exchange (HKDF-SHA256)."""
    shared = private.exchange(peer_public)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=POP_INFO).derive(shared)


def pop_message(*, challenge: str, kind: str, public_key_b64: str, owner: str) -> bytes:
    """What a proof of possession covers: the challenge, the key and whose it is."""
    return f"ggzy-key-registration|v1|{owner}|{kind}|{public_key_b64}|{challenge}".encode()


def make_proof(private, message: bytes, platform_x25519_public: X25519PublicKey | None = None) -> str:
    """Client side: sign (Ed25519) or MAC under the exchange with the platform key (X25519)."""
    if isinstance(private, Ed25519PrivateKey):
        return b64e(private.sign(message))
    mac_key = x25519_mac_key(private, platform_x25519_public)
    return b64e(hmac.new(mac_key, message, hashlib.sha256).digest())
