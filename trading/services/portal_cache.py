"""The portal's one cache: how many notices match a filter (the total of the notice listing).

What is cached: for each filter of the listing (keyword, region, category, kind, date range), the
number of matching notices, in the memory of each web worker process.  Nothing else: the rows of a
page are read from the database on every request.

How it is invalidated: the row of ``trading_portal_version`` gets a new random token in the same
transaction as every insert, update or delete of a notice, lot, project or amendment made through
the ORM session (a publication, an amendment, every lot state change, a cancellation …); a count is
used only while the token it was counted under is still the current one, which each listing
request reads (one primary-key read) before it counts.  So a committed change is seen by the next
request in every worker; a rolled-back one changes nothing.

The count is read after the token in the same request, so it is never older than its token.  The
token is written last in its transaction (:func:`_bump_at_commit`), so it takes no lock that other
trading writes wait for before they take theirs.  Writes that bypass the ORM session (bulk loads,
SQL by hand) must call :func:`changed` in their transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from itertools import chain

from flask import current_app
from sqlalchemy import event, select, text

from core.db import db
from trading.models import Amendment, Lot, Notice, PortalVersion, Project

#: rows whose change can change what the portal lists or counts
WATCHED = (Notice, Lot, Project, Amendment)
_FLAG = "trading.portal_changed"
#: past this many filters counted in one process, the cache starts again (keyword searches are many)
MAX_ENTRIES = 4096


def init_app(app) -> None:
    """Watch the ORM session (idempotent: one listener per session, however many apps are built)."""
    for name, fn in (("before_flush", _note_changes), ("before_commit", _bump_at_commit),
                     ("after_rollback", _forget)):
        if not event.contains(db.session, name, fn):
            event.listen(db.session, name, fn)


def _watched_pending(session) -> bool:
    return any(isinstance(obj, WATCHED) for obj in chain(session.new, session.dirty, session.deleted))


def _note_changes(session, _flush_context, _instances) -> None:
    if not session.info.get(_FLAG) and _watched_pending(session):
        session.info[_FLAG] = True


def _bump_at_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: its changes are noted, the outermost commit writes the token
    if session.info.pop(_FLAG, False) or _watched_pending(session):
        changed(session)
        session.info.pop(_FLAG, None)  # set again by the flush that ran before the update


def _forget(session) -> None:
    session.info.pop(_FLAG, None)


#: PostgreSQL and SQLite (3.24+) alike: the row is written if it is missing, else its token replaced
UPSERT = text("INSERT INTO trading_portal_version (id, token) VALUES (1, :token) "
              "ON CONFLICT (id) DO UPDATE SET token = excluded.token")


def changed(session=None) -> None:
    """A new token, in the caller's transaction: every cached count is stale once it commits."""
    (session or db.session).execute(UPSERT, {"token": uuid.uuid4().hex})


def token() -> str | None:
    """The current token; None without the row (then nothing is cached)."""
    return db.session.scalar(select(PortalVersion.token).where(PortalVersion.id == 1))


def cached_count(key: Hashable, count: Callable[[], int]) -> int:
    """``count()``, or the number it gave under the current token."""
    cache: dict = current_app.extensions.setdefault("trading.portal_counts", {})
    current = token()
    if current is None:
        return count()
    hit = cache.get(key)
    if hit is not None and hit[0] == current:
        return hit[1]
    value = count()
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = (current, value)
    return value
