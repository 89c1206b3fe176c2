"""The plaintext inside the AEAD: a sequence of records ``u32 header length ‖ header ‖ content``.

Record 0 is the package info (priced schedule, raw device components); the others are the
documents with their names and author metadata.  Names and metadata exist only here, so only an
opener of the package learns them.  :class:`RecordParser` is a push parser: decrypted segments go
in as they come, files are written out as they stream, memory stays at one segment.
"""
from __future__ import annotations

import hashlib
import struct
import unicodedata
from pathlib import Path

from bidding.package.container import PackageError, b64d, b64e, canonical, parse_canonical

MAX_HEADER = 64 * 1024
MAX_INFO = 16 * 1024 * 1024
SALT_LEN = 16
INFO_KEYS = {"type", "size", "salt"}
FILE_KEYS = {"type", "name", "size", "salt", "author"}
_FORBIDDEN = set('\\:*?"<>|')


def check_name(name: object) -> str:
    """A relative POSIX path that is safe to create anywhere (no traversal, no drive, NFC).

    :raises PackageError: ``bad_file_name``
    """
    if not isinstance(name, str) or not 0 < len(name.encode()) <= 1024:
        raise PackageError("bad_file_name", "a file name is 1..1024 bytes of UTF-8")
    if unicodedata.normalize("NFC", name) != name:
        raise PackageError("bad_file_name", f"{name!r} is not in Unicode NFC")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", "..") or part != part.strip() or part.endswith("."):
            raise PackageError("bad_file_name", f"{name!r} has an empty, dot or padded component")
        if any(ord(c) < 32 or c in _FORBIDDEN for c in part) or len(part.encode()) > 255:
            raise PackageError("bad_file_name", f"{name!r} has a forbidden character or a long component")
    return name


def salted_sha256(salt: bytes) -> hashlib._Hash:
    h = hashlib.sha256()
    h.update(salt)
    return h


def record_prefix(header: dict) -> bytes:
    data = canonical(header)
    return struct.pack(">I", len(data)) + data


def info_header(size: int, salt: bytes) -> dict:
    return {"type": "info", "size": size, "salt": b64e(salt)}


def file_header(name: str, size: int, salt: bytes, author: dict) -> dict:
    return {"type": "file", "name": check_name(name), "size": size, "salt": b64e(salt), "author": author}


class RecordParser:
    """Consume decrypted bytes; write documents under ``root``; collect the info record.

    ``expected`` is the manifest's ``files`` list: the n-th record must have that size and salted
    hash, so a payload cannot disagree with what the bidder signed.
    """

    def __init__(self, root: Path, expected: list[dict]):
        self.root, self.expected = root, expected
        self.buffer = bytearray()
        self.index = 0
        self.header: dict | None = None
        self.remaining = 0
        self.sink = None
        self.hash = None
        self.plain = None
        self.info_bytes = bytearray()
        self.info: dict | None = None
        self.files: list[dict] = []
        self.names: set[str] = set()
        self.dirs: set[str] = set()

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.header is None:
                view = self._take_header(view)
            else:
                view = self._take_content(view)

    def _take_header(self, view: memoryview) -> memoryview:
        if self.index >= len(self.expected):
            raise PackageError("payload_mismatch", "the payload has more records than the manifest lists")
        need = 4 if len(self.buffer) < 4 else 4 + struct.unpack(">I", self.buffer[:4])[0]
        take = min(need - len(self.buffer), len(view))
        self.buffer += view[:take]
        if len(self.buffer) == 4 and not 2 <= struct.unpack(">I", self.buffer)[0] <= MAX_HEADER:
            raise PackageError("payload_malformed", f"record {self.index} header length out of range")
        if len(self.buffer) > 4 and len(self.buffer) == need:
            self._start(parse_canonical(bytes(self.buffer[4:]), what="payload"))
            self.buffer.clear()
        return view[take:]

    def _start(self, header: dict) -> None:
        want = self.expected[self.index]
        kind = "info" if self.index == 0 else "file"
        if header.get("type") != kind or set(header) != (INFO_KEYS if kind == "info" else FILE_KEYS):
            raise PackageError("payload_malformed", f"record {self.index} is not a valid {kind} header")
        if kind == "file" and not isinstance(header["author"], dict):
            raise PackageError("payload_malformed", f"record {self.index} author is not an object")
        if type(header["size"]) is not int or header["size"] != want["size"]:
            raise PackageError("file_size_mismatch", f"record {self.index} size differs from the manifest")
        salt = b64d(header["salt"], length=SALT_LEN, what="salt")
        self.hash, self.plain = salted_sha256(salt), hashlib.sha256()
        self.header, self.remaining = header, header["size"]
        if kind == "file":
            self.sink = self._open(check_name(header["name"]))
        elif header["size"] > MAX_INFO:
            raise PackageError("payload_malformed", "the info record is too large")
        if self.remaining == 0:
            self._end()

    def _open(self, name: str):
        folded = name.casefold()
        parents = {"/".join(folded.split("/")[:i]) for i in range(1, folded.count("/") + 1)}
        if folded in self.names or folded in self.dirs or parents & self.names:
            raise PackageError("bad_file_name", f"{name!r} collides with another file name")
        self.names.add(folded)
        self.dirs |= parents
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("xb")

    def _take_content(self, view: memoryview) -> memoryview:
        piece = view[:self.remaining]
        self.hash.update(piece)
        self.plain.update(piece)
        if self.sink is not None:
            self.sink.write(piece)
        else:
            self.info_bytes += piece
        self.remaining -= len(piece)
        if self.remaining == 0:
            self._end()
        return view[len(piece):]

    def _end(self) -> None:
        if self.hash.hexdigest() != self.expected[self.index]["salted_sha256"]:
            raise PackageError("file_hash_mismatch", f"record {self.index} does not match its hash in "
                               "the signed manifest")
        if self.sink is not None:
            self.sink.close()
            self.files.append({"name": self.header["name"], "size": self.header["size"],
                               "sha256": self.plain.hexdigest(), "author": self.header["author"]})
        else:
            self.info = parse_canonical(bytes(self.info_bytes), what="payload")
        self.header, self.sink = None, None
        self.index += 1

    def finish(self) -> None:
        if self.header is not None or self.buffer or self.index != len(self.expected):
            raise PackageError("payload_mismatch", "the payload ends before every listed record")

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
