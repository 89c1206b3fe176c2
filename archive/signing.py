"""Ed25519 signing of a sequencer batch on the other cores (DESIGN §10: sealing ≥ 3,000/s).

The sequencer builds each record's canonical bytes in order (the chain hash only needs the previous
record's *payload* hash, known before signing), hands them to a worker process in chunks as it goes,
and collects the signatures in order at the end: signing overlaps the building of the next chunk.

The worker is forked (``spawn`` and ``forkserver`` would re-run an unguarded ``__main__`` script)
and only ever runs :func:`sign_chunk`: it never touches the inherited database connection or app.
It receives the raw private key with each chunk and keeps the loaded key for the next one.
When no worker can be started (a daemonic Celery prefork child may not have children) or the batch
is small, signing happens in the calling process: the bytes signed are the same either way.
"""
from __future__ import annotations

import base64
import logging
import multiprocessing as mp
import os
from concurrent.futures import Future, ProcessPoolExecutor

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)
#: records per chunk handed to the worker, and batches smaller than this are signed in process
CHUNK = 250
_KEYS: dict[bytes, Ed25519PrivateKey] = {}
_POOL: dict[int, ProcessPoolExecutor | None] = {}  # per process id: a forked child builds its own


def sign_chunk(raw_key: bytes, messages: list[bytes]) -> list[str]:
    """Base64 Ed25519 signatures of ``messages`` (runs in the worker, or in process as fallback)."""
    key = _KEYS.get(raw_key)
    if key is None:
        key = _KEYS[raw_key] = Ed25519PrivateKey.from_private_bytes(raw_key)
    sign, b64 = key.sign, base64.b64encode
    return [b64(sign(m)).decode() for m in messages]


def _pool() -> ProcessPoolExecutor | None:
    pid = os.getpid()
    if pid not in _POOL:
        workers = max(1, (os.cpu_count() or 1) - 1)
        try:
            if mp.current_process().daemon:
                raise RuntimeError("daemonic process")
            _POOL[pid] = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
        except (OSError, RuntimeError, ValueError) as exc:
            logger.info("archive signing stays in process: %s", exc)
            _POOL[pid] = None
    return _POOL[pid]


class BatchSigner:
    """``add(message)`` in order, then ``signatures()``: the base64 signatures in the same order."""

    def __init__(self, raw_key: bytes, expected: int):
        self.raw_key = raw_key
        self.pool = _pool() if expected >= 2 * CHUNK else None
        self.parts: list[tuple[Future | None, list[bytes]]] = []
        self.chunk: list[bytes] = []

    def add(self, message: bytes) -> None:
        self.chunk.append(message)
        if len(self.chunk) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        if self.pool is not None:
            try:
                self.parts.append((self.pool.submit(sign_chunk, self.raw_key, chunk), chunk))
                return
            except RuntimeError as exc:  # broken or shut-down pool: sign here
                logger.warning("archive signing worker unavailable: %s", exc)
                _POOL[os.getpid()] = self.pool = None
        self.parts.append((None, chunk))

    def signatures(self) -> list[str]:
        self._flush()
        out: list[str] = []
        for future, chunk in self.parts:
            try:
                out.extend(future.result() if future is not None else sign_chunk(self.raw_key, chunk))
            except Exception as exc:  # noqa: BLE001 - a lost worker: sign this chunk here instead
                logger.warning("archive signing worker failed (%s); signing in process", exc)
                _POOL[os.getpid()] = None
                out.extend(sign_chunk(self.raw_key, chunk))
        return out
