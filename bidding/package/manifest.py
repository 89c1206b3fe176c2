"""The cleartext manifest of format v1: what it must contain and how it is checked.

The check is strict (exact key sets, types, ranges, consistent sizes) because the manifest is what
the platform stores and shows before the opening: anything unexpected is refused rather than
carried along.  Hashes of device components are computed here so every producer hashes the same.
"""
from __future__ import annotations

import hashlib
import re

from bidding.package.container import (
    AEAD_NAME,
    FORMAT,
    MAX_SEGMENT,
    MIN_SEGMENT,
    PREFIX_LEN,
    ROLES,
    TAG,
    VERSION,
    PackageError,
    b64d,
    key_id,
    segment_count,
)

DEVICE_KINDS = ("mac", "cpu_serial", "disk_serial", "dongle_serial", "machine_id")
TOP_KEYS = {"format", "version", "lot_id", "opening_key_id", "bidder_key_id", "bidder_public_key", "tool",
            "created_at", "device", "files", "payload", "recipients"}
PAYLOAD_KEYS = {"aead", "segment_size", "nonce_prefix", "plaintext_size", "size", "sha256"}
RECIPIENT_KEYS = {"role", "kid", "ephemeral_public_key", "wrapped_key"}
MAX_FILES = 100_000
MAX_INT = 2**53 - 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_X_KID = re.compile(r"x25519:[0-9a-f]{16}")
_ED_KID = re.compile(r"ed25519:[0-9a-f]{16}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def device_hash(kind: str, value: str) -> str:
    """SHA-256 of one normalised component, unsalted so equal devices match across bidders."""
    return hashlib.sha256(f"ggzy-device-v1|{kind}|{value}".encode()).hexdigest()


def hash_device(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each component hashed on its own (never one combined hash), sorted for a stable manifest."""
    return {kind: sorted({device_hash(kind, v) for v in raw.get(kind, [])}) for kind in DEVICE_KINDS
            if raw.get(kind)}


def _fail(detail: str, code: str = "manifest_malformed"):
    raise PackageError(code, detail)


def _int(value, what: str, low: int = 0, high: int = MAX_INT) -> int:
    if type(value) is not int or not low <= value <= high:
        _fail(f"{what} must be an integer in {low}..{high}")
    return value


def _match(pattern: re.Pattern, value, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        _fail(f"{what} is malformed")
    return value


def _keys(obj, expected: set, what: str) -> dict:
    if not isinstance(obj, dict) or set(obj) != expected:
        _fail(f"{what} must have exactly the fields {sorted(expected)}")
    return obj


def check_manifest(m: dict) -> dict:
    """Structural check of a parsed manifest (the signature is checked separately).

    :raises PackageError: the first problem found, with a code the API returns as is
    """
    if m.get("format") != FORMAT:
        _fail(f"format is not {FORMAT!r}", "unsupported_format")
    if m.get("version") != VERSION:
        _fail(f"manifest version {m.get('version')!r} is not {VERSION}", "unsupported_version")
    _keys(m, TOP_KEYS, "the manifest")
    _int(m["lot_id"], "lot_id", 1, 2**31 - 1)
    _match(_X_KID, m["opening_key_id"], "opening_key_id")
    _check_bidder_key(m)
    tool = _keys(m["tool"], {"name", "version"}, "tool")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in tool.values()):
        _fail("tool name and version are short strings")
    _match(_TIME, m["created_at"], "created_at")
    _check_device(m["device"])
    _check_files(m["files"])
    _check_payload(m["payload"])
    _check_recipients(m["recipients"], m["opening_key_id"])
    return m


def _check_bidder_key(m: dict) -> None:
    _match(_ED_KID, m["bidder_key_id"], "bidder_key_id")
    raw = b64d(m["bidder_public_key"], length=32, what="bidder_public_key")
    if key_id("ed25519", raw) != m["bidder_key_id"]:
        _fail("bidder_key_id is not the id of bidder_public_key", "key_id_mismatch")


def _check_device(device) -> None:
    if not isinstance(device, dict) or not set(device) <= set(DEVICE_KINDS):
        _fail(f"device components are among {list(DEVICE_KINDS)}")
    for kind, hashes in device.items():
        if not isinstance(hashes, list) or not 0 < len(hashes) <= 64:
            _fail(f"device.{kind} is a non-empty list")
        for h in hashes:
            _match(_HEX64, h, f"device.{kind} hash")


def _check_files(files) -> None:
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        _fail("files lists at least the info entry")
    for i, entry in enumerate(files):
        _keys(entry, {"size", "salted_sha256"}, f"files[{i}]")
        _int(entry["size"], f"files[{i}].size")
        _match(_HEX64, entry["salted_sha256"], f"files[{i}].salted_sha256")


def _check_payload(p) -> None:
    _keys(p, PAYLOAD_KEYS, "payload")
    if p["aead"] != AEAD_NAME:
        _fail(f"payload.aead {p['aead']!r} is not {AEAD_NAME}", "unsupported_cipher")
    _int(p["segment_size"], "payload.segment_size", MIN_SEGMENT, MAX_SEGMENT)
    b64d(p["nonce_prefix"], length=PREFIX_LEN, what="payload.nonce_prefix")
    _match(_HEX64, p["sha256"], "payload.sha256")
    size = _int(p["size"], "payload.size", TAG)
    count = segment_count(size, p["segment_size"])
    if _int(p["plaintext_size"], "payload.plaintext_size") != size - count * TAG:
        _fail("payload.plaintext_size does not match payload.size", "ciphertext_size_mismatch")


def _check_recipients(recipients, opening_kid: str) -> None:
    if not isinstance(recipients, list):
        _fail("recipients is a list")
    roles = [r.get("role") if isinstance(r, dict) else None for r in recipients]
    for role in ROLES:
        if roles.count(role) != 1:
            _fail(f"exactly one wrapped data key for the {role} key is required", "wrapped_key_missing")
    if len(recipients) != len(ROLES):
        _fail("only the opening and bidder wrapped keys are allowed")
    for r in recipients:
        _keys(r, RECIPIENT_KEYS, f"recipient {r['role']}")
        _match(_X_KID, r["kid"], f"recipient {r['role']} kid")
        b64d(r["ephemeral_public_key"], length=32, what="ephemeral_public_key")
        b64d(r["wrapped_key"], length=32 + TAG, what="wrapped_key")
    if recipient(recipients, "opening")["kid"] != opening_kid:
        _fail("the opening wrapped key is not for opening_key_id", "opening_key_mismatch")


def recipient(recipients: list[dict], role: str) -> dict:
    return next(r for r in recipients if r["role"] == role)
