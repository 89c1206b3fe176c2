"""The body of a one-request submission as the package check reads it: received, checked, hashed
and spooled in one pass (bidding.services.submission)."""
from __future__ import annotations

import hashlib

from bidding.services.chunks import READ

#: what the package check's small reads are served from (magic, length, manifest, signature)
BLOCK = 64 * 1024


class Receiving:
    """The request body as the package check reads it, written to ``out`` and hashed on the way, so
    the bytes are received, checked, hashed and spooled in one pass.

    Copies are what a 2 MB body costs here, so: the check's small reads (magic, length, manifest,
    signature) are served from one small block held here, not each from the server's body reader
    (which copies what it buffered on every read); a large read is received in one piece of exactly
    the size asked and handed over as is (a segment is only joined with what was held once)."""

    def __init__(self, stream, out, limit: int, *, digest: bool = True):
        """:param out: where the bytes are spooled, or None (the stream is a file that stays)
        :param digest: False: no SHA-256 (``hash`` is None), for bytes whose hash is known"""
        self.stream, self.out, self.left = stream, out, limit
        self.hash, self.size = (hashlib.sha256() if digest else None), 0
        self._held, self._at = b"", 0

    def read(self, n: int = -1) -> bytes:
        have = len(self._held) - self._at
        if n is None or n < 0:
            n = have + max(self.left + 1, 0)
        if have < n and self.left >= 0:
            self._hold(self._receive(max(n - have, BLOCK)))
            have = len(self._held) - self._at
        if self._at == 0 and have <= n:  # everything held is asked for: no copy
            data, self._held = self._held, b""
            return data
        data = self._held[self._at:self._at + n]
        self._at += len(data)
        return data

    def _receive(self, n: int) -> bytes:
        """Up to ``n`` bytes of the body, never more than one byte past the declared length (that one
        shows excess), spooled and hashed as they arrive."""
        data = self.stream.read(min(n, self.left + 1))
        if data:
            if self.out is not None:
                self.out.write(data)
            if self.hash is not None:
                self.hash.update(data)
            self.size += len(data)
            self.left -= len(data)
        return data

    def _hold(self, data: bytes) -> None:
        rest = self._held[self._at:] if self._at < len(self._held) else b""
        self._held, self._at = (rest + data if rest else data), 0

    def drain(self) -> None:
        while self.read(READ):
            pass


def request_body(request):
    """The body a one-request submission (or a chunk) streams.  Under a server that ends the body itself
    (``wsgi.input_terminated``: gunicorn) its own input, not werkzeug's LimitedStream around it,
    which zero-fills and copies every read twice (1.4 ms of CPU per 2 MB body measured here);
    :class:`Receiving` (a chunk's copy likewise) never reads more than the declared length plus one
    byte, and the length was checked against ``chunk_max`` first.  Elsewhere (the development server)
    the safe wrapper."""
    if request.environ.get("wsgi.input_terminated") and request.content_length is not None:
        return request.environ["wsgi.input"]
    return request.stream
