"""The signed opening record (开标记录, 电子招标投标办法 第三十二条) as a bidder checks it offline:
its digest, the bytes a bidder signs to confirm it, and the platform's signature.

Flask-free, so the bidder tool (``ggzy bid confirm-record``) and the platform share one definition.
"""
from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bidding.package import container

RECORD_CONTEXT = b"ggzy-opening-record-v1\n"
CONFIRM_CONTEXT = b"ggzy-opening-confirm-v1\n"


def digest_of(body: dict) -> str:
    return hashlib.sha256(container.canonical(body)).hexdigest()


def confirm_message(digest: str) -> bytes:
    """The bytes a bidder signs to confirm the table with this digest (``ggzy bid confirm-record``)."""
    return CONFIRM_CONTEXT + digest.encode()


def verify_record(record: dict, platform_manifest: dict) -> None:
    """Check a published record's platform signature offline (``{"body", "signature", "kid"}``).

    :raises ValueError: unknown key or bad signature
    """
    entry = next((e for e in platform_manifest.get("signing", []) if e.get("kid") == record.get("kid")), None)
    if entry is None:
        raise ValueError(f"{record.get('kid')} is not one of the platform's keys")
    try:
        Ed25519PublicKey.from_public_bytes(container.b64d(entry["public_key"], length=32)).verify(
            container.b64d(record["signature"], length=64), RECORD_CONTEXT + container.canonical(record["body"]))
    except (InvalidSignature, container.PackageError, KeyError):
        raise ValueError("the opening record's signature does not verify") from None

