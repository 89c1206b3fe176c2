"""The opening hall's live stream (server-sent events), cheap enough for hundreds of viewers.

Each connection holds one server thread and, between changes, no database connection: per process,
one thread at a time reads the session's ``version`` (a one-row query, at most every
:data:`POLL_SECONDS`), and the hall document is built once per version and shared; each viewer
gets it trimmed to what it may see (:func:`bidding.services.hall.for_user`).  The stream ends after
``max_seconds`` with a ``retry`` hint, so threads are recycled and a proxy's idle timeout never
bites; the browser's EventSource reconnects by itself and the page polls if streams are blocked.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

from bidding.services import hall
from core.db import db

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
_lock = threading.Lock()
#: lot id -> (monotonic time read, version token)
_versions: dict[int, tuple[float, tuple | None]] = {}
#: lot id -> (version token, shared snapshot)
_snapshots: dict[int, tuple[tuple, dict]] = {}


def current_version(lot_id: int) -> tuple | None:
    """The session's version, read from the database at most every POLL_SECONDS per process."""
    with _lock:
        hit = _versions.get(lot_id)
        if hit is not None and time.monotonic() - hit[0] < POLL_SECONDS:
            return hit[1]
        try:
            version = hall.version_of(lot_id)
        finally:
            db.session.rollback()  # hand the connection back to the pool between polls
        _versions[lot_id] = (time.monotonic(), version)
        return version


def shared_snapshot(lot_id: int, token: tuple) -> dict:
    """The hall document for this version token, built once per process and shared."""
    with _lock:
        hit = _snapshots.get(lot_id)
        if hit is not None and hit[0] == token:
            return hit[1]
        try:
            snap = hall.base_snapshot(lot_id)
        finally:
            db.session.rollback()
        _snapshots[lot_id] = (token, snap)
        return snap


def _event(doc: dict) -> str:
    return f"id: {doc['version']}\nevent: hall\ndata: {json.dumps(doc, ensure_ascii=False)}\n\n"


def event_stream(lot_id: int, *, role: str, organisation_id: int | None, max_seconds: float) -> Iterator[str]:
    """The generator behind ``GET /api/bidding/lots/<id>/opening/events``."""
    end = time.monotonic() + max_seconds
    last_sent, last_beat = None, time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        token = current_version(lot_id)
        if token is not None and token != last_sent:
            doc = hall.for_user(shared_snapshot(lot_id, token), role=role, organisation_id=organisation_id)
            yield _event(doc)
            last_sent = token
        now = time.monotonic()
        if now >= end:
            yield "event: bye\ndata: {}\n\n"
            return
        if now - last_beat >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            last_beat = now
        time.sleep(POLL_SECONDS)
