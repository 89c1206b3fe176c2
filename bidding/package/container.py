"""Byte-level pieces of package format v1 (docs/package-format-v1.md): container framing,
the canonical signed manifest, the segmented AEAD (STREAM) and the X25519 key wrap.

Everything here is pure (no Flask, no database) so the bidder tool runs offline and a third party
can mirror each function from the spec.  Every malformed input raises :class:`PackageError` with a
stable ``code``; the platform turns it into a 4xx citing 电子招标投标办法 第二十六条.
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from typing import BinaryIO

import rfc8785
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"GGZYBID\x01"
FORMAT = "ggzy-bid-package"
VERSION = 1
AEAD_NAME = "AES-256-GCM-STREAM"
MIN_SEGMENT, MAX_SEGMENT, DEFAULT_SEGMENT = 64 * 1024, 1024 * 1024, 1024 * 1024
TAG = 16
PREFIX_LEN = 7
MAX_MANIFEST = 1024 * 1024
SIGNATURE_LEN = 64
SIGNING_CONTEXT = b"ggzy-bid-package-v1 manifest\x00"
WRAP_INFO = b"ggzy-bid-package-v1 key wrap"
ROLES = ("opening", "bidder")


class PackageError(ValueError):
    """A package (or a key for it) that does not meet format v1; ``code`` is stable for clients."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


# --- helpers ------------------------------------------------------------------------------------

def b64e(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def b64d(text: object, *, length: int | None = None, what: str = "value") -> bytes:
    import base64
    import binascii

    try:
        raw = base64.b64decode(str(text).encode(), validate=True)
    except (binascii.Error, ValueError):
        raise PackageError("manifest_malformed", f"{what} is not base64") from None
    if length is not None and len(raw) != length:
        raise PackageError("manifest_malformed", f"{what} must decode to {length} bytes")
    return raw


def key_id(algorithm: str, raw: bytes) -> str:
    """Same rule as core.crypto.key_id, repeated so the tool needs nothing from core."""
    return f"{algorithm}:{hashlib.sha256(raw).hexdigest()[:16]}"


def raw_public(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def canonical(obj) -> bytes:
    """RFC 8785 (JCS) bytes: one encoding per manifest, so a signature has one meaning."""
    return rfc8785.dumps(obj)


def _no_duplicates(pairs):
    keys = [k for k, _v in pairs]
    if len(keys) != len(set(keys)):
        raise PackageError("manifest_malformed", "duplicate key in JSON object")
    return dict(pairs)


def parse_canonical(data: bytes, *, what: str = "manifest") -> dict:
    """Parse JSON that must already be in canonical form (refuses duplicates and re-encodings)."""
    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PackageError(f"{what}_malformed", f"{what} is not UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise PackageError(f"{what}_malformed", f"{what} is not a JSON object")
    try:
        again = canonical(obj)
    except Exception:  # rfc8785 refuses floats out of range, lone surrogates, …
        raise PackageError(f"{what}_malformed", f"{what} cannot be canonicalised") from None
    if again != data:
        raise PackageError(f"{what}_malformed", f"{what} is not in RFC 8785 canonical form")
    return obj


# --- container ----------------------------------------------------------------------------------

def sign_manifest(manifest_bytes: bytes, key: Ed25519PrivateKey) -> bytes:
    return key.sign(SIGNING_CONTEXT + manifest_bytes)


def verify_manifest(manifest_bytes: bytes, signature: bytes, public_raw: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, SIGNING_CONTEXT + manifest_bytes)
    except (InvalidSignature, ValueError):
        raise PackageError("bad_signature", "the manifest signature does not verify "
                           "with the bidder key named in it") from None


def write_header(out: BinaryIO, manifest_bytes: bytes, signature: bytes) -> int:
    out.write(MAGIC)
    out.write(struct.pack(">I", len(manifest_bytes)))
    out.write(manifest_bytes)
    out.write(signature)
    return len(MAGIC) + 4 + len(manifest_bytes) + SIGNATURE_LEN


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise PackageError("truncated", f"the package ends inside the {what}")
        data += chunk
    return data


def read_header(stream: BinaryIO) -> tuple[bytes, bytes]:
    """Read magic, manifest and signature; leaves ``stream`` at the first ciphertext byte."""
    magic = stream.read(len(MAGIC))
    if magic[:7] != MAGIC[:7]:
        raise PackageError("not_a_package", "no ggzy bid package magic: the file is not a sealed "
                           "package (plaintext or another envelope)")
    if magic != MAGIC:
        raise PackageError("unsupported_version", f"container version {magic[7:8].hex() or '?'} is not 01")
    (length,) = struct.unpack(">I", _read_exact(stream, 4, "manifest length"))
    if not 2 <= length <= MAX_MANIFEST:
        raise PackageError("manifest_malformed", f"manifest length {length} out of range")
    manifest = _read_exact(stream, length, "manifest")
    signature = _read_exact(stream, SIGNATURE_LEN, "signature")
    return manifest, signature


# --- segmented AEAD (STREAM: nonce = prefix ‖ counter ‖ last flag) -----------------------------

def segment_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise PackageError("payload_too_large", "more than 2^32 segments")
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class StreamEncryptor:
    """Feed plaintext in any pieces; whole segments come out.  The last one is only known at
    :meth:`finish`, so one segment is always held back (memory: about two segments)."""

    def __init__(self, key: bytes, prefix: bytes, segment_size: int):
        self.aead, self.prefix, self.size = AESGCM(key), prefix, segment_size
        self.buffer = bytearray()
        self.counter = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        while view:
            room = self.size + 1 - len(self.buffer)
            self.buffer += view[:room]
            view = view[room:]
            if len(self.buffer) > self.size:
                yield self._seal(bytes(self.buffer[:self.size]), last=False)
                del self.buffer[:self.size]

    def finish(self) -> bytes:
        return self._seal(bytes(self.buffer), last=True)

    def _seal(self, plain: bytes, *, last: bool) -> bytes:
        nonce = segment_nonce(self.prefix, self.counter, last)
        self.counter += 1
        return self.aead.encrypt(nonce, plain, None)


def segment_count(ciphertext_size: int, segment_size: int) -> int:
    """Segments a ciphertext of this size must have; refuses sizes no encryptor can produce."""
    full = segment_size + TAG
    count = max(1, -(-ciphertext_size // full))
    last = ciphertext_size - (count - 1) * full
    if ciphertext_size < TAG or last < TAG or (count > 1 and last == TAG):
        raise PackageError("ciphertext_size_mismatch", "the ciphertext length is not a valid "
                           "segment sequence (truncated or padded)")
    return count


def decrypt_segments(chunks: Iterator[bytes], key: bytes, prefix: bytes, segment_size: int,
                     count: int) -> Iterator[bytes]:
    """Decrypt ``count`` segments read from ``chunks`` (each exactly one segment of ciphertext)."""
    aead = AESGCM(key)
    for counter, chunk in enumerate(chunks):
        last = counter == count - 1
        try:
            yield aead.decrypt(segment_nonce(prefix, counter, last), chunk, None)
        except InvalidTag:
            raise PackageError("segment_corrupt", f"segment {counter} fails authentication "
                               "(altered, reordered, truncated or wrong key)") from None


# --- key wrap (X25519 + HKDF-SHA256 + AES-256-GCM) ---------------------------------------------

def _kek(shared: bytes, ephemeral_raw: bytes, recipient_raw: bytes) -> bytes:
    if shared == bytes(32):
        raise PackageError("bad_recipient_key", "X25519 produced the all-zero secret")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_raw + recipient_raw,
                info=WRAP_INFO).derive(shared)


def wrap_aad(role: str, lot_id: int) -> bytes:
    return f"ggzy-bid-package-v1|{role}|{lot_id}".encode()


def wrap_key(data_key: bytes, recipient_raw: bytes, *, role: str, lot_id: int,
             ephemeral: X25519PrivateKey) -> dict:
    """Wrap the data key for one recipient; the ephemeral key is fresh per wrap."""
    ephemeral_raw = raw_public(ephemeral)
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_raw))
    except ValueError:
        raise PackageError("bad_recipient_key", f"the {role} key is not a usable X25519 key") from None
    kek = _kek(shared, ephemeral_raw, recipient_raw)
    wrapped = AESGCM(kek).encrypt(bytes(12), data_key, wrap_aad(role, lot_id))
    return {"role": role, "kid": key_id("x25519", recipient_raw),
            "ephemeral_public_key": b64e(ephemeral_raw), "wrapped_key": b64e(wrapped)}


def unwrap_key(recipient: dict, private: X25519PrivateKey, *, lot_id: int) -> bytes:
    """The data key, or PackageError when this private key is not the recipient's."""
    ephemeral_raw = b64d(recipient["ephemeral_public_key"], length=32, what="ephemeral_public_key")
    recipient_raw = raw_public(private)
    if key_id("x25519", recipient_raw) != recipient["kid"]:
        raise PackageError("wrong_key", f"this key is not the {recipient['role']} recipient "
                           f"{recipient['kid']}")
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    except ValueError:
        raise PackageError("manifest_malformed", "ephemeral key is not a usable X25519 key") from None
    kek = _kek(shared, ephemeral_raw, recipient_raw)
    wrapped = b64d(recipient["wrapped_key"], length=32 + TAG, what="wrapped_key")
    try:
        return AESGCM(kek).decrypt(bytes(12), wrapped, wrap_aad(recipient["role"], lot_id))
    except InvalidTag:
        raise PackageError("wrong_key", f"the {recipient['role']} wrapped key does not open "
                           "with this private key") from None
