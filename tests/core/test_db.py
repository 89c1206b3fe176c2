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


def test_the_embedded_database_is_readable_by_its_owner_only(tmp_path):
    """Issue 18 (weak spots): ggzy.sqlite was 0644 under the usual umask; it holds accounts and bids."""
    import os
    import stat

    import sqlalchemy as sa

    old = os.umask(0o022)
    try:
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'ggzy.sqlite'}")
        with engine.begin() as conn:
            conn.execute(sa.text("create table t (x integer)"))
        engine.dispose()
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
