"""Opening-key custody, the pure part (DESIGN §5): split a lot's X25519 opening key 2-of-3,
encrypt each share to one custodian, decrypt a share locally, rebuild the key from two shares.

The platform only ever holds the public half and three ciphertexts it cannot open.  Rebuilding
happens in memory for the remedy path (电子招标投标办法 第三十一条) and the result is checked
against the registered public half, because Shamir combines a wrong or single share into a wrong
key without complaint.  Python cannot reliably wipe memory; callers drop the key after use.
"""
from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bidding.package import shamir
from bidding.package.container import PackageError, b64d, b64e, key_id, raw_public

THRESHOLD, SHARES = 2, 3
SHARE_INFO = b"ggzy-custody-v1 share"


class CustodyError(PackageError):
    """A share or a set of shares that cannot yield the opening key."""


@dataclass(frozen=True)
class ClearShare:
    """A decrypted share: Shamir point (x, y) of the lot's opening private key."""

    lot_id: int
    opening_key_id: str
    x: int
    y: bytes

    def to_json(self) -> str:
        return json.dumps({"lot_id": self.lot_id, "opening_key_id": self.opening_key_id, "x": self.x,
                           "y": b64e(self.y)})

    @classmethod
    def from_json(cls, text: str) -> ClearShare:
        try:
            d = json.loads(text)
            return cls(int(d["lot_id"]), str(d["opening_key_id"]), int(d["x"]), b64d(d["y"], length=32))
        except (ValueError, KeyError, TypeError, PackageError):
            raise CustodyError("bad_share", "not a decrypted share (lot_id, opening_key_id, x, y)") from None


def new_opening_key(random: Callable[[int], bytes] = os.urandom) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(random(32))


def private_raw(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def split_opening_key(key: X25519PrivateKey, *, lot_id: int,
                      random: Callable[[int], bytes] = os.urandom) -> list[ClearShare]:
    kid = key_id("x25519", raw_public(key))
    points = shamir.split(private_raw(key), threshold=THRESHOLD, shares=SHARES, random=random)
    return [ClearShare(lot_id, kid, x, y) for x, y in points]


def _aad(lot_id: int, opening_kid: str, x: int) -> bytes:
    return f"ggzy-custody-v1|{lot_id}|{opening_kid}|{x}".encode()


def _kek(shared: bytes, ephemeral_raw: bytes, recipient_raw: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_raw + recipient_raw,
                info=SHARE_INFO).derive(shared)


def encrypt_share(share: ClearShare, custodian_public: bytes, *,
                  random: Callable[[int], bytes] = os.urandom) -> dict:
    """The share sealed to the custodian's X25519 key (fresh ephemeral key, AES-256-GCM)."""
    ephemeral = X25519PrivateKey.from_private_bytes(random(32))
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(custodian_public))
    kek = _kek(shared, raw_public(ephemeral), custodian_public)
    sealed = AESGCM(kek).encrypt(bytes(12), share.y, _aad(share.lot_id, share.opening_key_id, share.x))
    return {"lot_id": share.lot_id, "opening_key_id": share.opening_key_id, "x": share.x,
            "recipient_kid": key_id("x25519", custodian_public),
            "ephemeral_public_key": b64e(raw_public(ephemeral)), "ciphertext": b64e(sealed)}


def decrypt_share(record: dict, private: X25519PrivateKey) -> ClearShare:
    """Open an encrypted share (as served by the API) with the custodian's own private key.

    :raises CustodyError: malformed record, or the key is not the one the share was sealed to
    """
    try:
        lot_id, kid, x = int(record["lot_id"]), str(record["opening_key_id"]), int(record["x"])
        ephemeral_raw = b64d(record["ephemeral_public_key"], length=32)
        sealed = b64d(record["ciphertext"], length=48)
    except (KeyError, TypeError, ValueError):
        raise CustodyError("bad_share", "not an encrypted share record") from None
    mine = raw_public(private)
    if record.get("recipient_kid") not in (None, key_id("x25519", mine)):
        raise CustodyError("wrong_key", f"this share is sealed to {record['recipient_kid']}, not to your key")
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
        y = AESGCM(_kek(shared, ephemeral_raw, mine)).decrypt(bytes(12), sealed, _aad(lot_id, kid, x))
    except (InvalidTag, ValueError):
        raise CustodyError("wrong_key", "the share does not open with this key (or was altered)") from None
    return ClearShare(lot_id, kid, x, y)


def rebuild_opening_key(shares: Iterable[ClearShare], *, opening_key_id: str | None = None) -> X25519PrivateKey:
    """Combine shares of one lot's key, in memory only; with three, one bad share is tolerated.

    :param opening_key_id: the registered key id, when the caller has it (the platform does)
    :raises CustodyError: fewer than two distinct shares, mixed keys, or a result whose public
        half is not the opening key (a wrong or altered share)
    """
    shares = list(shares)
    kids = {(s.lot_id, s.opening_key_id) for s in shares}
    if len(kids) > 1:
        raise CustodyError("mixed_shares", "the shares belong to different lots or opening keys")
    if len({s.x for s in shares}) < THRESHOLD:
        raise CustodyError("not_enough_shares", f"{THRESHOLD} shares from different custodians are needed")
    expected = opening_key_id or shares[0].opening_key_id
    if opening_key_id and shares[0].opening_key_id != opening_key_id:
        raise CustodyError("mixed_shares", "the shares are not for this lot's opening key")
    for pair in itertools.combinations({s.x: s for s in shares}.values(), THRESHOLD):
        key = X25519PrivateKey.from_private_bytes(shamir.combine((s.x, s.y) for s in pair))
        if key_id("x25519", raw_public(key)) == expected:
            return key
    raise CustodyError("share_mismatch", "no two of these shares rebuild the opening key: a share is wrong")
