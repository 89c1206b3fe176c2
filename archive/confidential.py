"""Confidential payloads (expert names before the award): sealed to the archive's own X25519 key.

ECIES-style: a fresh ephemeral X25519 key per record, HKDF-SHA256 over the shared secret (salt =
ephemeral ‖ recipient public key, info names the scheme), AES-256-GCM with the record's event id
as associated data.  The record keeps only the ciphertext, its SHA-256 and a *commitment*:
SHA-256 of the plaintext, which itself starts with 32 random bytes, so the commitment reveals
nothing about low-entropy names yet lets anyone check a disclosed plaintext after the award
without the archive key.

Why a separate archive key rather than the platform's X25519 key: that one answers key
registration proofs online; this one should only ever be used by the archive (and can be held
offline or split later).  It lives in ``GGZY_KEY_DIR/archive-x25519.pem`` (mode 0600).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from archive import jcs
from core import crypto

ALG = "X25519-HKDF-SHA256-AES256GCM"
INFO = b"ggzy-archive-seal-v1"
KEY_FILE = "archive-x25519.pem"


def archive_key(key_dir: str | Path) -> X25519PrivateKey:
    """Load the archive key, creating it on first use."""
    path = Path(key_dir) / KEY_FILE
    if not path.exists():
        crypto.save_private(X25519PrivateKey.generate(), path)
    return crypto.load_private(path)


def key_id(public: X25519PublicKey) -> str:
    return crypto.key_id("x25519", crypto.raw_public(public))


def _key(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=INFO).derive(shared)


def seal(data: dict, recipient: X25519PublicKey, aad: str) -> dict:
    """Encrypt ``data`` (JSON) to ``recipient``; returns the ``sealed`` field of a record."""
    plaintext = jcs.dumps({"data": data, "salt": crypto.b64e(os.urandom(32))})
    ephemeral = X25519PrivateKey.generate()
    epk, rpk = crypto.raw_public(ephemeral), crypto.raw_public(recipient)
    nonce = os.urandom(12)
    ciphertext = AESGCM(_key(ephemeral.exchange(recipient), epk, rpk)).encrypt(nonce, plaintext, aad.encode())
    return {"alg": ALG, "kid": key_id(recipient), "epk": crypto.b64e(epk), "nonce": crypto.b64e(nonce),
            "ciphertext": crypto.b64e(ciphertext), "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
            "commitment": hashlib.sha256(plaintext).hexdigest()}


def open_sealed(sealed: dict, private: X25519PrivateKey, aad: str) -> tuple[dict, bytes]:
    """Decrypt (archive key holders only); returns (data, plaintext bytes matching the commitment).

    :raises ValueError: wrong key, altered ciphertext or commitment
    """
    epk = crypto.b64d(sealed["epk"])
    key = _key(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk, crypto.raw_public(private))
    try:
        plaintext = AESGCM(key).decrypt(crypto.b64d(sealed["nonce"]), crypto.b64d(sealed["ciphertext"]),
                                        aad.encode())
    except Exception as exc:  # InvalidTag
        raise ValueError("sealed payload does not decrypt with this key") from exc
    if hashlib.sha256(plaintext).hexdigest() != sealed["commitment"]:
        raise ValueError("plaintext does not match the commitment")
    ok, value = jcs.loads_canonical(plaintext)
    if not ok:
        raise ValueError("plaintext is not canonical JSON")
    return value["data"], plaintext


def check_disclosure(plaintext: bytes, commitment: str) -> bool:
    """Anyone, after the award: does a disclosed plaintext match the record's commitment?"""
    return hashlib.sha256(plaintext).hexdigest() == commitment
