"""Receipts (回执, 电子招标投标办法 第二十七条第二款): platform-signed proof of a submission.

Pure, so ``ggzy bid verify-receipt`` and the archive check a receipt with nothing but the
platform's public key manifest (``GET /api/keys/platform``, or ``platform-keys.json``).

A receipt is a JSON object.  Its signature covers ``CONTEXT`` followed by the RFC 8785 (JCS)
bytes of every field except ``signature``; ``platform_kid`` names the signing key, which stays in
the manifest after a rotation, so old receipts keep verifying.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bidding.package.container import canonical

CONTEXT = b"ggzy-bid-receipt-v1\n"
TYPE = "ggzy.bid_receipt"
#: the fields every v1 receipt carries (besides ``signature``)
FIELDS = ("type", "v", "receipt_id", "bid_id", "lot_id", "organisation_id", "bidder_uscc", "package_sha256",
          "size", "ciphertext_sha256", "signer_kid", "received_at", "platform_kid")


class ReceiptError(ValueError):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def signed_bytes(receipt: dict) -> bytes:
    return CONTEXT + canonical({k: v for k, v in receipt.items() if k != "signature"})


def sign(body: dict, signer) -> dict:
    """``signer(data) -> (kid, base64 signature)`` (core.keys.PlatformKeys.sign); the kid is signed too,
    so the key is looked up first and the signature made over a body that names it."""
    kid = signer.current_kid()
    receipt = {"type": TYPE, "v": 1, **body, "platform_kid": kid}
    used, signature = signer.sign(signed_bytes(receipt))
    if used != kid:  # rotated in between: sign again under the key now current
        return sign(body, signer)
    return {**receipt, "signature": signature}


def verify(receipt: dict, platform_manifest: dict) -> None:
    """Check shape and signature against the platform's public keys (current or retired).

    :raises ReceiptError: ``receipt_malformed``, ``bad_manifest``, ``unknown_platform_key`` or ``bad_signature``
    """
    if not isinstance(receipt, dict) or receipt.get("type") != TYPE or receipt.get("v") != 1:
        raise ReceiptError("receipt_malformed", "not a ggzy bid receipt v1")
    missing = [f for f in (*FIELDS, "signature") if f not in receipt]
    if missing:
        raise ReceiptError("receipt_malformed", f"missing fields: {', '.join(missing)}")
    signing = platform_manifest.get("signing") if isinstance(platform_manifest, dict) else None
    if not isinstance(signing, list) or not all(isinstance(e, dict) and "kid" in e and "public_key" in e
                                                for e in signing):
        raise ReceiptError("bad_manifest", "the platform key manifest has no list of signing keys "
                           "(kid, public_key): is it the platform's /api/keys/platform?")
    entry = next((e for e in signing if e["kid"] == receipt["platform_kid"]), None)
    if entry is None:
        raise ReceiptError("unknown_platform_key", f"{receipt['platform_kid']} is not one of the platform's keys")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
        key.verify(base64.b64decode(receipt["signature"], validate=True), signed_bytes(receipt))
    except (InvalidSignature, ValueError, TypeError):
        raise ReceiptError("bad_signature", "the receipt's signature does not verify") from None


def check_package(receipt: dict, path: Path) -> None:
    """The file is the package the receipt speaks of (size and SHA-256).

    :raises ReceiptError: ``package_mismatch``
    """
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
            size += len(chunk)
    if size != receipt["size"] or h.hexdigest() != receipt["package_sha256"]:
        raise ReceiptError("package_mismatch", f"{path} is not the package of this receipt "
                           f"({size} bytes, sha256 {h.hexdigest()[:16]}…)")
