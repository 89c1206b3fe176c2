"""A minimal, strict BagIt 1.0 (RFC 8493) writer and reader over an in-memory ``{path: bytes}`` map.

Why not the ``bagit`` package: the offline verifier must stay stdlib + cryptography + rfc8785, and
it must be *strict* — a tolerant reader (case-insensitive digests, any whitespace) would let a
flipped bit in a tag file pass.  We write exactly one form and accept exactly that form:
``<64 lower-case hex><two spaces><path>\\n`` with SHA-256, paths in plain ASCII without ``%``.

Fixity only proves the bag is what its manifests say; anyone can rewrite manifests, so
authenticity comes from the signed statement and the log (see ``archive/verify.py``).
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path, PurePosixPath

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", MANIFEST)
_LINE = re.compile(r"^([0-9a-f]{64})  ([!-~]+)\Z")
_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\Z")
MAX_FILES = 200_000
MAX_BYTES = 8 * 1024**3


class BagError(ValueError):
    """The input is not a readable bag (structure, not fixity)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(files: dict[str, bytes]) -> bytes:
    return "".join(f"{sha256_hex(files[p])}  {p}\n" for p in sorted(files)).encode()


def make(payload: dict[str, bytes], info: dict[str, str]) -> dict[str, bytes]:
    """A complete bag: ``payload`` maps paths *under* ``data/`` to bytes."""
    data = {f"data/{name}": content for name, content in payload.items()}
    for path in data:
        if not _PATH.match(path) or ".." in PurePosixPath(path).parts:
            raise BagError(f"unsupported payload path {path!r}")
    oxum = f"{sum(len(c) for c in data.values())}.{len(data)}"
    lines = [f"{k}: {v}" for k, v in info.items()] + [f"Payload-Oxum: {oxum}"]
    bag = {"bagit.txt": BAGIT_TXT, "bag-info.txt": ("\n".join(lines) + "\n").encode(), **data}
    bag[MANIFEST] = _manifest(data)
    bag[TAGMANIFEST] = _manifest({k: bag[k] for k in TAG_FILES})
    return bag


def rebag(bag: dict[str, bytes]) -> dict[str, bytes]:
    """Recompute manifests and Payload-Oxum after payload changes (what a forger would do)."""
    info = {}
    for line in bag.get("bag-info.txt", b"").decode(errors="replace").splitlines():
        key, _, value = line.partition(": ")
        if key and key != "Payload-Oxum":
            info[key] = value
    return make({p[5:]: c for p, c in bag.items() if p.startswith("data/")}, info)


def parse_manifest(text: bytes) -> dict[str, str] | None:
    """``{path: digest}`` or None if any line is not in the one accepted form."""
    try:
        lines = text.decode("ascii").split("\n")
    except UnicodeDecodeError:
        return None
    if not lines or lines[-1] != "":
        return None
    out: dict[str, str] = {}
    for line in lines[:-1]:
        match = _LINE.match(line)
        if not match or match.group(2) in out:
            return None
        out[match.group(2)] = match.group(1)
    return out


def _compare(listed: dict[str, str] | None, files: dict[str, bytes], what: str) -> list[str]:
    if listed is None:
        return [f"{what} is not a valid sha256 manifest"]
    problems = []
    if listed.keys() != files.keys():
        problems += [f"{what}: {p} missing" for p in sorted(listed.keys() - files.keys())]
        problems += [f"{what}: {p} not listed" for p in sorted(files.keys() - listed.keys())]
    return problems + sorted(f"{what}: {p} digest mismatch" for p, digest in listed.items()
                             if p in files and sha256_hex(files[p]) != digest)


def fixity(bag: dict[str, bytes]) -> tuple[list[str], dict[str, str]]:
    """``(problems, {payload path: digest})``: everything wrong with the bag's fixity and
    completeness (no problems = intact), and the payload manifest once parsed, so that a verifier
    need not parse or hash anything twice (the digests are empty unless the bag is intact)."""
    if bag.get("bagit.txt") != BAGIT_TXT:
        return ["bagit.txt is not the BagIt 1.0 declaration"], {}
    for name in (MANIFEST, TAGMANIFEST, "bag-info.txt"):
        if name not in bag:
            return [f"{name} missing"], {}
    payload = {p: c for p, c in bag.items() if p.startswith("data/")}
    tags = {p: c for p, c in bag.items() if not p.startswith("data/") and p != TAGMANIFEST}
    digests = parse_manifest(bag[MANIFEST])
    problems = _compare(parse_manifest(bag[TAGMANIFEST]), tags, TAGMANIFEST)
    problems += _compare(digests, payload, MANIFEST)
    oxum = f"Payload-Oxum: {sum(len(c) for c in payload.values())}.{len(payload)}"
    if oxum not in bag["bag-info.txt"].decode("utf-8", errors="replace").splitlines():
        problems.append("Payload-Oxum does not match the payload")
    return problems, ({} if problems else digests)


# --- on disk: a directory or a .tar --------------------------------------------------------------

def write_dir(bag: dict[str, bytes], root: Path) -> Path:
    root = Path(root)
    for path, content in bag.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def write_tar(bag: dict[str, bytes], target, top: str = "bundle"):
    """A plain (uncompressed) tar with one top directory, deterministic member order and times.

    ``target`` is a path or a writable binary file object.
    """
    opened = tarfile.open(fileobj=target, mode="w", format=tarfile.PAX_FORMAT) if hasattr(target, "write") \
        else tarfile.open(target, "w", format=tarfile.PAX_FORMAT)
    with opened as tar:
        for path in sorted(bag):
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size, info.mtime, info.mode = len(bag[path]), 0, 0o644
            tar.addfile(info, io.BytesIO(bag[path]))
    return target


def read(path: Path) -> dict[str, bytes]:
    """Load a bag directory or .tar into memory.

    :raises BagError: not a directory or tar, unsafe member names, links, too big
    """
    path = Path(path)
    if path.is_dir():
        return _read_dir(path)
    if path.is_file() and tarfile.is_tarfile(path):
        return _read_tar(path)
    raise BagError(f"{path} is neither a bag directory nor a tar file")


def _read_dir(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = Path(dirpath) / name
            if full.is_symlink():
                raise BagError(f"symbolic link in bag: {full}")
            content = out[full.relative_to(root).as_posix()] = full.read_bytes()
            total = _check_limits(out, total + len(content))
    return out


def _read_tar(path: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    total = 0
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            if member.isdir():
                continue
            if not member.isfile():
                raise BagError(f"tar member {member.name!r} is not a regular file")
            parts = PurePosixPath(member.name).parts
            if member.name.startswith("/") or ".." in parts:
                raise BagError(f"unsafe tar member {member.name!r}")
            if member.size > MAX_BYTES - total:
                raise BagError("bag too large")
            content = out["/".join(parts)] = tar.extractfile(member).read()
            total = _check_limits(out, total + len(content))
    return _strip_top(out)


def _strip_top(files: dict[str, bytes]) -> dict[str, bytes]:
    """Tars usually hold ``<top>/bagit.txt``: drop the single top directory."""
    if "bagit.txt" in files:
        return files
    tops = {p.split("/", 1)[0] for p in files}
    if len(tops) == 1 and all("/" in p for p in files):
        return {p.split("/", 1)[1]: c for p, c in files.items()}
    return files


def _check_limits(files: dict[str, bytes], total: int) -> int:
    if len(files) > MAX_FILES:
        raise BagError("too many files")
    if total > MAX_BYTES:
        raise BagError("bag too large")
    return total
