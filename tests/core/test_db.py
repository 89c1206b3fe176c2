"""The database handle's own guarantees, on SQLite and on PostgreSQL alike."""
from __future__ import annotations

from sqlalchemy import select

from core.db import db, savepoint
from core.models import AuditLog


def _rows(action: str) -> list:
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def test_a_savepoint_released_first_in_a_transaction_is_undone_by_its_rollback(ctx):
    """pysqlite opens a transaction only before a write, so a SAVEPOINT as the transaction's first
    statement used to open one of its own, and its RELEASE committed the row for good."""
    db.session.scalar(select(AuditLog.id))  # reads do not open a transaction on SQLite
    with savepoint():
        db.session.add(AuditLog(action="test.nested", object_type="test", object_id="1"))
    assert len(_rows("test.nested")) == 1
    db.session.rollback()
    assert _rows("test.nested") == []


def test_a_rolled_back_savepoint_keeps_the_outer_work(ctx):
    db.session.add(AuditLog(action="test.outer", object_type="test", object_id="1"))
    nested = savepoint()
    db.session.add(AuditLog(action="test.inner", object_type="test", object_id="2"))
    nested.rollback()
    db.session.commit()
    assert len(_rows("test.outer")) == 1 and _rows("test.inner") == []
