"""Seal, verify and open bid packages of format v1 (DESIGN §5, docs/package-format-v1.md).

Pure code: no Flask, no database, so the bidder tool works offline and the platform uses the same
functions.  Everything streams (one segment at a time), so memory stays flat for 1 GB inputs.

* :func:`pack` — documents + info → a package signed with the bidder's Ed25519 key, its data key
  wrapped to the lot's opening key and to the bidder's own X25519 key.
* :func:`verify` — what needs no private key: framing, manifest, signature, ciphertext size and
  hash.  Used by ``ggzy bid inspect`` and by the platform's package check.
* :func:`unseal` — with the bidder's or the (rebuilt) opening private key, or a data key.

``random`` parameters are the test hook behind the published test vectors: production code always
uses :func:`os.urandom`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container as c
from bidding.package import payload as pl
from bidding.package.manifest import check_manifest, hash_device

logger = logging.getLogger(__name__)

TOOL_NAME, TOOL_VERSION = "ggzy-bid", "1.0.0"
CHUNK = 1024 * 1024


@dataclass
class Document:
    """One file to seal: its name inside the package, where it is, its author metadata."""

    name: str
    path: Path
    author: dict = field(default_factory=dict)


@dataclass
class Verified:
    manifest: dict
    manifest_bytes: bytes
    signature: bytes


@dataclass
class Unsealed:
    manifest: dict
    info: dict
    files: list[dict]
    data_key: bytes = field(repr=False)


class _Sink:
    """Ciphertext output that counts and hashes what it writes."""

    def __init__(self, out: BinaryIO):
        self.out, self.hash, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.hash.update(data)
        self.size += len(data)


# --- pack ---------------------------------------------------------------------------------------

def pack(*, out: Path, lot_id: int, opening_public: bytes, bidder_sign: Ed25519PrivateKey,
         bidder_encrypt_public: bytes, documents: list[Document], info: dict, device: dict,
         created_at: str, segment_size: int = c.DEFAULT_SEGMENT,
         random: Callable[[int], bytes] = os.urandom,
         progress: Callable[[int], None] | None = None) -> dict:
    """Write a sealed package to ``out`` and return its manifest.

    The ciphertext goes to a temporary file first (its hash belongs in the signed manifest that
    precedes it), then header and ciphertext are written to ``out`` atomically.

    :param info: JSON-able facts sealed with the documents (the priced schedule)
    :param device: raw device components by kind; hashes go in the manifest, values in the payload
    :raises PackageError: bad names, keys or segment size; a document changed while being read
    """
    if not c.MIN_SEGMENT <= segment_size <= c.MAX_SEGMENT:
        raise c.PackageError("bad_segment_size", "segment size must be 64 KiB .. 1 MiB")
    _check_unique([d.name for d in documents])
    data_key, prefix = random(32), random(7)
    out = Path(out)
    with tempfile.TemporaryFile(dir=out.parent) as tmp:
        sink = _Sink(tmp)
        enc = c.StreamEncryptor(data_key, prefix, segment_size)
        info_bytes = c.canonical({"lot_id": lot_id, "device": device, **info})
        files = [_seal_bytes(enc, sink, info_bytes, random(pl.SALT_LEN))]
        for doc in documents:
            files.append(_seal_document(enc, sink, doc, random(pl.SALT_LEN), progress))
        sink.write(enc.finish())
        manifest = _manifest(lot_id=lot_id, opening_public=opening_public, bidder_sign=bidder_sign,
                             created_at=created_at, device=device, files=files, sink=sink,
                             payload={"segment_size": segment_size, "nonce_prefix": c.b64e(prefix)})
        manifest["recipients"] = [
            c.wrap_key(data_key, opening_public, role="opening", lot_id=lot_id,
                       ephemeral=X25519PrivateKey.from_private_bytes(random(32))),
            c.wrap_key(data_key, bidder_encrypt_public, role="bidder", lot_id=lot_id,
                       ephemeral=X25519PrivateKey.from_private_bytes(random(32)))]
        check_manifest(manifest)
        _write_package(out, manifest, bidder_sign, tmp)
    return manifest


def _check_unique(names: list[str]) -> None:
    seen = set()
    for name in names:
        pl.check_name(name)
        if name.casefold() in seen:
            raise c.PackageError("bad_file_name", f"{name!r} appears twice (names are case-insensitive)")
        seen.add(name.casefold())


def _seal_bytes(enc, sink, data: bytes, salt: bytes) -> dict:
    for seg in enc.feed(pl.record_prefix(pl.info_header(len(data), salt))):
        sink.write(seg)
    for seg in enc.feed(data):
        sink.write(seg)
    return {"size": len(data), "salted_sha256": _salted(salt, data)}


def _salted(salt: bytes, data: bytes) -> str:
    h = pl.salted_sha256(salt)
    h.update(data)
    return h.hexdigest()


def _seal_document(enc, sink, doc: Document, salt: bytes, progress) -> dict:
    size = Path(doc.path).stat().st_size
    for seg in enc.feed(pl.record_prefix(pl.file_header(doc.name, size, salt, doc.author))):
        sink.write(seg)
    h, done = pl.salted_sha256(salt), 0
    with open(doc.path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            done += len(chunk)
            if done > size:
                break
            h.update(chunk)
            for seg in enc.feed(chunk):
                sink.write(seg)
            if progress:
                progress(len(chunk))
    if done != size:
        raise c.PackageError("file_changed", f"{doc.name} changed size while it was being sealed")
    return {"size": size, "salted_sha256": h.hexdigest()}


def _manifest(*, lot_id, opening_public, bidder_sign, created_at, device, files, sink, payload) -> dict:
    bidder_raw = c.raw_public(bidder_sign)
    count = c.segment_count(sink.size, payload["segment_size"])
    return {
        "format": c.FORMAT, "version": c.VERSION, "lot_id": lot_id,
        "opening_key_id": c.key_id("x25519", opening_public),
        "bidder_key_id": c.key_id("ed25519", bidder_raw), "bidder_public_key": c.b64e(bidder_raw),
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION}, "created_at": created_at,
        "device": hash_device(device), "files": files,
        "payload": {"aead": c.AEAD_NAME, **payload, "plaintext_size": sink.size - count * c.TAG,
                    "size": sink.size, "sha256": sink.hash.hexdigest()},
    }


def _write_package(out: Path, manifest: dict, key: Ed25519PrivateKey, ciphertext: BinaryIO) -> None:
    manifest_bytes = c.canonical(manifest)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "wb") as fh:
        c.write_header(fh, manifest_bytes, c.sign_manifest(manifest_bytes, key))
        ciphertext.seek(0)
        shutil.copyfileobj(ciphertext, fh, CHUNK)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, out)


# --- verify -------------------------------------------------------------------------------------

def read_manifest(stream: BinaryIO) -> Verified:
    """Framing, canonical manifest, structure and signature; ``stream`` is left at the ciphertext."""
    manifest_bytes, signature = c.read_header(stream)
    manifest = check_manifest(c.parse_canonical(manifest_bytes))
    c.verify_manifest(manifest_bytes, signature, c.b64d(manifest["bidder_public_key"]))
    return Verified(manifest, manifest_bytes, signature)


def ciphertext_segments(stream: BinaryIO, manifest: dict) -> Iterator[bytes]:
    """Yield the ciphertext one segment at a time; at the end, check its exact size and hash."""
    p = manifest["payload"]
    full, total, h, seen = p["segment_size"] + c.TAG, p["size"], hashlib.sha256(), 0
    while seen < total:
        want = min(full, total - seen)
        chunk = stream.read(want)
        while len(chunk) < want and (more := stream.read(want - len(chunk))):
            chunk += more
        if len(chunk) < want:
            raise c.PackageError("ciphertext_size_mismatch", f"the ciphertext has {seen + len(chunk)} "
                                 f"bytes, the manifest says {total}")
        seen += want
        h.update(chunk)
        yield chunk
    if stream.read(1):
        raise c.PackageError("ciphertext_size_mismatch", "bytes follow the ciphertext the manifest describes")
    if h.hexdigest() != p["sha256"]:
        raise c.PackageError("ciphertext_hash_mismatch", "the ciphertext hash differs from the signed manifest")


def verify(stream: BinaryIO) -> Verified:
    """Everything checkable without a private key; raises PackageError at the first failure."""
    found = read_manifest(stream)
    for _segment in ciphertext_segments(stream, found.manifest):
        pass
    return found


# --- unseal -------------------------------------------------------------------------------------

def data_key_for(manifest: dict, private: X25519PrivateKey) -> bytes:
    """Unwrap the data key with whichever recipient this private key is (bidder or opening)."""
    kid = c.key_id("x25519", c.raw_public(private))
    match = [r for r in manifest["recipients"] if r["kid"] == kid]
    if not match:
        raise c.PackageError("wrong_key", f"{kid} is neither the bidder nor the opening recipient")
    return c.unwrap_key(match[0], private, lot_id=manifest["lot_id"])


def unseal(stream: BinaryIO, out_dir: Path, *, private_key: X25519PrivateKey | None = None,
           data_key: bytes | None = None) -> Unsealed:
    """Verify and decrypt into ``out_dir`` (created; must not exist).  Nothing is left behind on
    failure: files are written to a staging directory that is renamed only when every segment,
    every file hash and the ciphertext hash have checked out.

    :raises PackageError: any check fails; ``wrong_key`` if neither key opens it
    """
    found = read_manifest(stream)
    m = found.manifest
    key = data_key if data_key is not None else data_key_for(m, private_key)
    if len(key) != 32:
        raise c.PackageError("wrong_key", "a data key has 32 bytes")
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists; unseal into a new directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unseal-", dir=out_dir.parent))
    parser = pl.RecordParser(staging, m["files"])
    try:
        _decrypt_into(parser, stream, m, key)
        os.replace(staging, out_dir)
    except BaseException:
        parser.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Unsealed(m, parser.info or {}, parser.files, key)


def _decrypt_into(parser: pl.RecordParser, stream: BinaryIO, m: dict, key: bytes) -> None:
    p = m["payload"]
    count = c.segment_count(p["size"], p["segment_size"])
    plain = c.decrypt_segments(ciphertext_segments(stream, m), key, c.b64d(p["nonce_prefix"]),
                               p["segment_size"], count)
    for piece in plain:
        parser.feed(piece)
    parser.finish()


def iter_files(root: Path) -> Iterable[Path]:
    """Regular files under ``root`` in a stable order (symlinks are not followed)."""
    return sorted((p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()),
                  key=lambda p: p.relative_to(root).as_posix())
