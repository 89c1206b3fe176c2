"""The single SQLAlchemy handle, its declarative base and the column types every domain shares.

A naming convention makes constraint names deterministic so Alembic migrations are stable, and
``UTCDateTime`` stores every instant as UTC so SQLite and PostgreSQL agree (STYLE habit 5).
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, MetaData, event, types
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base bound to the metadata with our naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def commit_keeping_loaded(*keep) -> None:
    """Commit, leaving the objects ``keep`` as they are; every other loaded object expires as usual.

    Why: a request that commits and then goes on with rows it has itself just read or written (the
    token and its user after recording the token's use, the bid a submission answers with) would
    otherwise select each of them again, one round trip apiece, to learn what it already knows.
    """
    session = db.session()
    was, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = was
    kept = {id(obj) for obj in keep}
    for obj in list(session.identity_map.values()):
        if id(obj) not in kept:
            session.expire(obj)


class UTCDateTime(types.TypeDecorator):
    """An aware datetime stored as naive UTC; naive input is refused rather than guessed."""

    impl = types.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware datetime (core.clock.now())")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class JSONText(types.TypeDecorator):
    """JSON that keeps non-ASCII readable on SQLite and uses JSONB-compatible JSON elsewhere."""

    impl = JSON
    cache_ok = True


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: enforce foreign keys, WAL for concurrent readers, wait instead of 'database is locked'."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA synchronous=NORMAL")
        files = [row[2] for row in cur.execute("PRAGMA database_list") if row[2]]
        cur.close()
        _owner_only(files)


def _owner_only(files: list[str]) -> None:
    """The embedded database holds accounts, tokens and sealed-bid records: readable by the platform's
    own user only (0600), as its key files are, whatever the umask.  The WAL files follow."""
    for name in files:
        for path in (name, f"{name}-wal", f"{name}-shm"):
            try:
                os.chmod(path, 0o600)
            except FileNotFoundError:
                continue


def begin_writing() -> None:
    """Make the session's transaction a writing one now, on SQLite too.

    Why: pysqlite begins a transaction only before an INSERT, UPDATE or DELETE, so reads and
    ``FOR UPDATE``/``FOR SHARE`` selects (which SQLite ignores) run outside any transaction and lock
    nothing.  Where a transaction must exclude other writers from its first read on (a submission
    against the close of its lot, a savepoint's RELEASE that must not commit), SQLite's write lock
    is taken at once with BEGIN IMMEDIATE, waiting up to busy_timeout.  PostgreSQL: nothing to do,
    its row locks do the work."""
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def savepoint():
    """``db.session.begin_nested()`` that nests on SQLite too: a SAVEPOINT that came first in a
    pysqlite transaction would open one of its own, and its RELEASE would commit for good."""
    begin_writing()
    return db.session.begin_nested()


def get_or_404(model, pk: int | None):
    """The row of ``model`` with primary key ``pk``, or :class:`core.errors.NotFound` (404).  Views
    whose ``@permission`` already loaded the path's object get it from the session's identity map."""
    from core.errors import NotFound

    obj = db.session.get(model, pk) if pk is not None else None
    if obj is None:
        raise NotFound(f"{model.__name__} {pk} not found")
    return obj
