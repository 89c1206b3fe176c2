"""The temporary chunk area of resumable uploads: one directory per upload session, one file per chunk.

Pure filesystem, no database: a chunk file is named ``<offset>.<length>.<sha256>`` and appears by an
atomic rename only after its bytes matched the declared length and SHA-256, so a connection dropped
mid-chunk leaves no chunk (the client re-sends it).  Chunks are not fsynced: they are re-read and
hashed as a whole when the upload finishes, and only the finished package is stored durably.  Under
several web hosts the directory must be shared (or uploads routed to one host by session id).
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
READ = 1024 * 1024


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
        tmp = folder / f".{uuid.uuid4().hex}.part"
        try:
            return self._take(session, folder, tmp, stream, offset=offset, length=length, sha256=sha256)
        except FileNotFoundError:  # the folder went while the chunk streamed in (collected or abandoned)
            raise _collected() from None
        finally:
            tmp.unlink(missing_ok=True)

    def _take(self, session: str, folder: Path, tmp: Path, stream: BinaryIO, *, offset: int, length: int,
              sha256: str) -> Chunk:
        digest, seen = _copy(stream, tmp, length)
        if seen != length:
            raise ChunkError("chunk_length_mismatch", f"received {seen} bytes, Content-Length said {length}")
        if digest != sha256:
            raise ChunkError("chunk_hash_mismatch", "the chunk's SHA-256 differs from X-Chunk-SHA256; "
                             "send it again")
        chunk = Chunk(offset, length, sha256)
        with self._locked(folder):
            self._check_fits(session, chunk)
            os.replace(tmp, folder / chunk.name())
        return chunk

    def _check_fits(self, session: str, chunk: Chunk) -> None:
        for other in self.chunks(session):
            if other == chunk:
                return  # the same chunk again: idempotent
            if other.offset < chunk.end and chunk.offset < other.end:
                raise ChunkError("chunk_overlap", f"bytes {chunk.offset}..{chunk.end} overlap the chunk "
                                 f"already received at {other.offset}..{other.end}",
                                 existing={"offset": other.offset, "length": other.length})

    @contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        with open(folder / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def path(self, session: str, chunk: Chunk) -> Path:
        """The file holding a received chunk (its bytes matched its name's length and SHA-256)."""
        return self._dir(session) / chunk.name()

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
        return ChainedReader([self._dir(session) / c.name() for c in chunks])

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


def _copy(stream: BinaryIO, out: Path, length: int) -> tuple[str, int]:
    """Copy at most ``length + 1`` bytes (one more reveals a lying Content-Length) while hashing."""
    h, seen = hashlib.sha256(), 0
    with open(out, "xb") as fh:
        while seen <= length:
            data = stream.read(min(READ, length + 1 - seen))
            if not data:
                break
            h.update(data)
            fh.write(data)
            seen += len(data)
    return h.hexdigest(), seen


class ChainedReader:
    """Chunk files read in order as one binary stream."""

    def __init__(self, paths: list[Path]):
        self._paths, self._index, self._fh = list(paths), 0, None
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        out = []
        want = n if n is not None and n >= 0 else 1 << 62
        while want > 0:
            if self._fh is None:
                if self._index >= len(self._paths):
                    break
                try:
                    self._fh = open(self._paths[self._index], "rb")  # noqa: SIM115 (closed below)
                except FileNotFoundError:  # collected meanwhile: the session ended under the reader
                    raise _collected() from None
                self._index += 1
            data = self._fh.read(min(want, READ * 4))
            if not data:
                self._fh.close()
                self._fh = None
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
