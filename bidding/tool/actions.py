"""The bidder tool as a Python API (``ggzy bid keygen|pack|inspect|unseal`` wrap these).

Offline by design: nothing here needs the Flask app, the database or the network.  Key files are
PEM (PKCS#8) written with mode 0600, next to a ``public.json`` that holds what the bidder
registers with the platform (base64 raw public keys and their key ids).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container as c
from bidding.package import sealing
from bidding.package.metadata import author_metadata, collect_device
from bidding.package.priced_schedule import load_schedule

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "schedule/"


def keygen(out_dir: Path, *, overwrite: bool = False) -> dict:
    """A signing (Ed25519) and an encryption (X25519) key pair; returns the public description."""
    out_dir = Path(out_dir)
    paths = {"sign": out_dir / "sign.pem", "encrypt": out_dir / "encrypt.pem"}
    if not overwrite and any(p.exists() for p in paths.values()):
        raise FileExistsError(f"keys already exist in {out_dir}; refusing to overwrite them")
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = {"sign": Ed25519PrivateKey.generate(), "encrypt": X25519PrivateKey.generate()}
    for kind, key in keys.items():
        _save_private(key, paths[kind])
    public = describe_public(keys["sign"], keys["encrypt"])
    (out_dir / "public.json").write_text(json.dumps(public, indent=2))
    return public


def describe_public(sign: Ed25519PrivateKey, encrypt: X25519PrivateKey) -> dict:
    s, e = c.raw_public(sign), c.raw_public(encrypt)
    return {"sign": {"kid": c.key_id("ed25519", s), "public_key": c.b64e(s)},
            "encrypt": {"kid": c.key_id("x25519", e), "public_key": c.b64e(e)}}


def _save_private(key, path: Path) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def load_private(path: Path, kind: type):
    """Load a PEM private key and insist on its type (a signing key is not an encryption key)."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise c.PackageError("bad_key_file", f"{path} is not an unencrypted PEM private key: {err}") from None
    if not isinstance(key, kind):
        raise c.PackageError("bad_key_file", f"{path} is not an {kind.__name__.replace('PrivateKey', '')} key")
    return key


def parse_public(text: str, *, what: str = "opening key") -> bytes:
    """A base64 raw 32-byte X25519 public key, as published for each lot."""
    return c.b64d(text.strip(), length=32, what=what)


def collect_documents(folder: Path) -> list[sealing.Document]:
    """Every regular file under ``folder`` (names relative, POSIX, NFC); symlinks are refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise c.PackageError("bad_input", f"{folder} is not a directory")
    links = [p for p in folder.rglob("*") if p.is_symlink()]
    if links:
        raise c.PackageError("bad_input", f"{links[0]} is a symbolic link; copy the file in instead")
    docs = []
    for path in sealing.iter_files(folder):
        name = unicodedata.normalize("NFC", path.relative_to(folder).as_posix())
        docs.append(sealing.Document(name, path, author_metadata(path)))
    return docs


def pack_folder(*, folder: Path, out: Path, lot_id: int, opening_public: bytes, sign_key: Path,
                encrypt_key: Path, schedule: Path | None = None, dongle_serials: list[str] = (),
                created_at: dt.datetime | None = None, segment_size: int = c.DEFAULT_SEGMENT,
                progress: Callable[[int], None] | None = None) -> dict:
    """Seal a folder of documents plus a priced schedule for one lot; returns the manifest.

    :raises ScheduleError: the schedule has bad rows (every row error listed)
    :raises PackageError: bad keys, names or inputs
    """
    sign = load_private(sign_key, Ed25519PrivateKey)
    encrypt = load_private(encrypt_key, X25519PrivateKey)
    documents = collect_documents(folder)
    info = {"schedule": None}
    if schedule is not None:
        info["schedule"] = load_schedule(schedule)
        documents.append(sealing.Document(SCHEDULE_PREFIX + Path(schedule).name, Path(schedule),
                                          author_metadata(Path(schedule))))
    moment = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return sealing.pack(out=out, lot_id=lot_id, opening_public=opening_public, bidder_sign=sign,
                        bidder_encrypt_public=c.raw_public(encrypt), documents=documents, info=info,
                        device=collect_device(dongle_serials=list(dongle_serials)),
                        created_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"), segment_size=segment_size,
                        progress=progress)


def inspect(path: Path, *, expected_public_key: str | None = None) -> dict:
    """Check a package without any private key: framing, manifest, signature, ciphertext.

    :param expected_public_key: base64 Ed25519 key the signer must have (else the embedded one)
    :raises PackageError: the first failed check
    """
    with open(path, "rb") as fh:
        found = sealing.verify(fh)
    m = found.manifest
    if expected_public_key is not None and m["bidder_public_key"] != expected_public_key.strip():
        raise c.PackageError("unexpected_signer", f"signed by {m['bidder_key_id']}, not by the expected key")
    return {"manifest": m, "checks": {"format": "ok", "signature": "ok", "ciphertext": "ok"},
            "signer": m["bidder_key_id"], "package_sha256": _file_sha256(path)}


def _file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(sealing.CHUNK):
            h.update(chunk)
    return h.hexdigest()


def unseal(path: Path, out_dir: Path, *, key: Path) -> sealing.Unsealed:
    """Open with an X25519 private key file (the bidder's own, or a rebuilt opening key)."""
    private = load_private(key, X25519PrivateKey)
    with open(path, "rb") as fh:
        return sealing.unseal(fh, out_dir, private_key=private)
