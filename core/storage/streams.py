"""Stream adapters for the S3 backend: memory stays at a part or two whatever the object size."""
from __future__ import annotations

import io

from core.storage.base import CHUNK, HashingSource


class Chain:
    """The head already read (a list of chunks), then the rest of the source."""

    def __init__(self, head: list[bytes], source: HashingSource):
        self._head, self._source = head, source

    def read(self, n: int) -> bytes:
        if not self._head:
            return self._source.read(n)
        chunk = self._head.pop(0)
        if len(chunk) > n:
            self._head.insert(0, chunk[n:])
            chunk = chunk[:n]
        return chunk


class ResponseStream(io.RawIOBase):
    """A urllib3 response as a raw stream whose close() also returns the connection to the pool."""

    def __init__(self, response):
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def read_head(source: HashingSource, part_size: int) -> tuple[list[bytes], bool]:
    """Read until more than one part or the end: (chunks, whole object fits in one PutObject)."""
    chunks, total = [], 0
    while total <= part_size:
        chunk = source.read(min(CHUNK, part_size + 1 - total))
        if not chunk:
            return chunks, True
        chunks.append(chunk)
        total += len(chunk)
    return chunks, False


def read_part(stream: Chain, size: int) -> bytes:
    """Up to ``size`` bytes (less only at the end); chunks never exceed what is still wanted."""
    chunks, total = [], 0
    while total < size:
        chunk = stream.read(min(CHUNK, size - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
