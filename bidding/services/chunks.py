"""The temporary chunk area of resumable uploads: one directory per upload session.

Pure filesystem, no database.  A chunk's bytes go straight to their place in the session's
``package`` file (so a package is written once, and its finish adopts that file as the stored
object by a hard link: no copy), and the chunk is recorded by an empty file named
``<offset>.<length>.<sha256>`` that appears only after its bytes matched the declared length and
SHA-256, so a connection dropped mid-chunk leaves no chunk (the client re-sends it).  A range is
written into ``package`` only while no recorded chunk and no other chunk in flight covers any of
it (a ``.resv.*`` file reserves it, under the folder's lock); a chunk that finds its range taken
(the same chunk sent twice at once, an overlap about to be refused) is received into a file of its
own as before, and that file, not ``package``, then holds its bytes.  Chunks are not fsynced: the
finish checks and hashes the package as a whole, and only the stored package is made durable.
Under several web hosts the directory must be shared (or uploads routed to one host by session id).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_NAME = re.compile(r"^(\d{15})\.(\d+)\.([0-9a-f]{64})\Z")
_SESSION = re.compile(r"^[0-9a-f]{32}\Z")
_RESERVED = re.compile(r"^\.resv\.(\d+)\.(\d+)\.[0-9a-f]{32}\Z")
READ = 1024 * 1024
#: the session's file into which chunks are written at their offsets
PACKAGE = "package"


class ChunkError(ValueError):
    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.code, self.detail, self.extra = code, detail, extra


@dataclass(frozen=True, order=True)
class Chunk:
    offset: int
    length: int
    sha256: str

    @property
    def end(self) -> int:
        return self.offset + self.length

    def name(self) -> str:
        return f"{self.offset:015d}.{self.length}.{self.sha256}"


class ChunkArea:
    """Chunks of upload sessions under ``root``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _dir(self, session: str) -> Path:
        if not _SESSION.match(session):
            raise ValueError(f"bad upload session id {session!r}")
        return self.root / session

    def chunks(self, session: str) -> list[Chunk]:
        folder = self._dir(session)
        if not folder.is_dir():
            return []
        found = [_NAME.match(p.name) for p in folder.iterdir()]
        return sorted(Chunk(int(m[1]), int(m[2]), m[3]) for m in found if m)

    def write(self, session: str, *, offset: int, stream: BinaryIO, length: int, sha256: str,
              total: int) -> Chunk:
        """Stream one chunk in; keep it only if length and hash match and it fits the tiling.

        :raises ChunkError: ``chunk_length_mismatch``, ``chunk_hash_mismatch``, ``chunk_out_of_range``,
            ``chunk_overlap`` (another chunk covers part of this range with other bytes),
            ``upload_collected`` (the session's folder was removed meanwhile: the lot closed, or the
            upload was abandoned)
        """
        if offset < 0 or length < 1 or offset + length > total:
            raise ChunkError("chunk_out_of_range", f"bytes {offset}..{offset + length} are outside the "
                             f"declared size {total}")
        folder = self._dir(session)
        folder.mkdir(parents=True, exist_ok=True)
        chunk = Chunk(offset, length, sha256)
        try:
            reserved = self._reserve(session, folder, chunk)
            if reserved is None:  # the range is taken: receive into a file of its own, as before
                tmp = folder / f".{uuid.uuid4().hex}.part"
                try:
                    return self._take(session, folder, tmp, stream, chunk)
                finally:
                    tmp.unlink(missing_ok=True)
            try:
                return self._take_in_place(session, folder, stream, chunk)
            finally:
                reserved.unlink(missing_ok=True)
        except FileNotFoundError:  # the folder went while the chunk streamed in (collected or abandoned)
            raise _collected() from None

    def _reserve(self, session: str, folder: Path, chunk: Chunk) -> Path | None:
        """Reserve the chunk's range of ``package`` if no recorded chunk and no chunk in flight covers
        any of it; None if taken."""
        with self._locked(folder):
            taken = [(c.offset, c.end) for c in self.chunks(session)] + _reservations(folder)
            if any(start < chunk.end and chunk.offset < end for start, end in taken):
                return None
            mark = folder / f".resv.{chunk.offset}.{chunk.length}.{uuid.uuid4().hex}"
            mark.touch(exist_ok=False)
            return mark

    def _take_in_place(self, session: str, folder: Path, stream: BinaryIO, chunk: Chunk) -> Chunk:
        """Write the chunk at its offset in ``package``; record it once its bytes are verified.  A
        refused chunk leaves bytes in an unrecorded range, which the next chunk there overwrites."""
        fd = os.open(folder / PACKAGE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.lseek(fd, chunk.offset, os.SEEK_SET)
            with open(fd, "wb", closefd=False, buffering=0) as out:
                digest, seen = _copy_into(stream, out, chunk.length)
        finally:
            os.close(fd)
        self._verify(chunk, digest, seen)
        with self._locked(folder):
            self._check_fits(session, chunk)
            (folder / chunk.name()).touch()
        return chunk

    def _take(self, session: str, folder: Path, tmp: Path, stream: BinaryIO, chunk: Chunk) -> Chunk:
        with open(tmp, "xb") as out:
            digest, seen = _copy_into(stream, out, chunk.length)
        self._verify(chunk, digest, seen)
        with self._locked(folder):
            if self._check_fits(session, chunk):
                os.replace(tmp, folder / chunk.name())
        return chunk

    @staticmethod
    def _verify(chunk: Chunk, digest: str, seen: int) -> None:
        if seen != chunk.length:
            raise ChunkError("chunk_length_mismatch", f"received {seen} bytes, Content-Length said {chunk.length}")
        if digest != chunk.sha256:
            raise ChunkError("chunk_hash_mismatch", "the chunk's SHA-256 differs from X-Chunk-SHA256; "
                             "send it again")

    def _check_fits(self, session: str, chunk: Chunk) -> bool:
        """False if this very chunk is recorded already (idempotent), True if it fits.

        :raises ChunkError: ``chunk_overlap``"""
        for other in self.chunks(session):
            if other == chunk:
                return False  # the same chunk again: idempotent
            if other.offset < chunk.end and chunk.offset < other.end:
                raise ChunkError("chunk_overlap", f"bytes {chunk.offset}..{chunk.end} overlap the chunk "
                                 f"already received at {other.offset}..{other.end}",
                                 existing={"offset": other.offset, "length": other.length})
        return True

    @contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        with open(folder / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def package_file(self, session: str, total: int) -> Path | None:
        """The session's ``package`` file when it holds the whole package: every chunk was written in
        place and together they tile ``0..total`` (checked by the caller with :meth:`missing`); else
        None (some chunk is held in a file of its own, so the package must be assembled)."""
        folder = self._dir(session)
        chunks = self.chunks(session)
        try:
            if any((folder / c.name()).stat().st_size for c in chunks):
                return None
            return folder / PACKAGE if (folder / PACKAGE).stat().st_size == total else None
        except FileNotFoundError:
            raise _collected() from None

    def missing(self, session: str, total: int) -> tuple[list[Chunk], list[tuple[int, int]]]:
        """The chunks in order and the byte ranges still missing (``[start, end)``)."""
        chunks, gaps, at = self.chunks(session), [], 0
        for c in chunks:
            if c.offset > at:
                gaps.append((at, c.offset))
            at = max(at, c.end)
        if at < total:
            gaps.append((at, total))
        return chunks, gaps

    def open(self, session: str, total: int) -> ChainedReader:
        """The whole package as one stream; refuses a gap (an incomplete upload)."""
        chunks, gaps = self.missing(session, total)
        if gaps:
            raise ChunkError("upload_incomplete", f"{sum(e - s for s, e in gaps)} bytes are missing",
                             missing=[{"offset": s, "length": e - s} for s, e in gaps[:20]])
        folder = self._dir(session)
        return ChainedReader([_Segment(folder, c) for c in chunks])

    def discard(self, session: str) -> None:
        shutil.rmtree(self._dir(session), ignore_errors=True)

    def sessions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.iterdir() if _SESSION.match(p.name)]


def _collected() -> ChunkError:
    return ChunkError("upload_collected", "this upload's chunks are gone (the lot closed, or the upload was "
                      "abandoned or its chunks discarded); ask for its status and send what is missing, or "
                      "open a new upload if the lot still takes bids")


def _reservations(folder: Path) -> list[tuple[int, int]]:
    found = [_RESERVED.match(p.name) for p in folder.iterdir()]
    return [(int(m[1]), int(m[1]) + int(m[2])) for m in found if m]


def _copy_into(stream: BinaryIO, out: BinaryIO, length: int) -> tuple[str, int]:
    """Copy at most ``length + 1`` bytes (one more reveals a lying Content-Length) while hashing."""
    h, seen = hashlib.sha256(), 0
    while seen <= length:
        data = stream.read(min(READ, length + 1 - seen))
        if not data:
            break
        h.update(data)
        out.write(data)
        seen += len(data)
    return h.hexdigest(), seen


@dataclass(frozen=True)
class _Segment:
    """Where a recorded chunk's bytes are: its own file if it has any (received while its range was
    taken), else its range of ``package``."""

    folder: Path
    chunk: Chunk

    def open(self) -> BinaryIO:
        own = self.folder / self.chunk.name()
        fh = open(own, "rb")  # noqa: SIM115 (the reader closes it)
        if os.fstat(fh.fileno()).st_size:
            return fh
        fh.close()
        fh = open(self.folder / PACKAGE, "rb")  # noqa: SIM115
        fh.seek(self.chunk.offset)
        return fh


class ChainedReader:
    """Recorded chunks read in order as one binary stream."""

    def __init__(self, segments: list[_Segment]):
        self._segments, self._index, self._fh, self._left = list(segments), 0, None, 0
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        out = []
        want = n if n is not None and n >= 0 else 1 << 62
        while want > 0:
            if self._fh is None:
                if self._index >= len(self._segments):
                    break
                segment = self._segments[self._index]
                try:
                    self._fh = segment.open()
                except FileNotFoundError:  # collected meanwhile: the session ended under the reader
                    raise _collected() from None
                self._index, self._left = self._index + 1, segment.chunk.length
            data = self._fh.read(min(want, READ * 4, self._left))
            self._left -= len(data)
            if not data or not self._left:
                self._fh.close()
                self._fh = None
                if not data:
                    continue
            out.append(data)
            want -= len(data)
        blob = out[0] if len(out) == 1 else b"".join(out)
        self.size += len(blob)
        return blob

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
