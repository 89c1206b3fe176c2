"""Alembic is the only source of schema changes: a fresh database migrated to head matches the
models exactly (on SQLite, and on PostgreSQL when the suite runs there)."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.app import create_app
from core.cli import alembic_config
from core.db import db
from tests.conftest import app_config, database_url

NOT_OURS = {"core_apscheduler_jobs", "core_alembic_version"}


@pytest.fixture
def fresh_url(tmp_path):
    base = database_url()
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    name = f"ggzy_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_head_matches_the_models(fresh_url, app):
    migrated = create_app(app_config(SQLALCHEMY_DATABASE_URI=fresh_url))
    try:
        with migrated.app_context():
            command.upgrade(alembic_config(), "head")
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                        "include_name": lambda n, t, p: n not in NOT_OURS}), db.metadata)
            if fresh_url.startswith("postgresql"):
                _audit_is_append_only_in_the_database()
            _archive_is_append_only_in_the_database()
            db.engine.dispose()
    finally:  # a second app made its Celery app the current one: give the suite's back, or later
        app.extensions["celery"].set_current()  # tasks would run against the migrated database
        app.extensions["celery"].set_default()
    assert diff == [], f"models and migrations differ: {diff}"


def _audit_is_append_only_in_the_database():
    with db.engine.begin() as conn:
        conn.execute(sa.text("insert into core_audit_log (at, actor_role, ip, request_id, action, object_type, "
                             "object_id, detail) values (now(), 'system', '', '', 'x', '', '', '{}')"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text("update core_audit_log set action = 'y'"))


def _archive_is_append_only_in_the_database():
    """Triggers of the migration (PostgreSQL and SQLite): the signed log's rows never change or go;
    a segment changes only its custody fields (档案法 第二十一条)."""
    stamp = "'2026-01-01 00:00:00.000000+00:00'" if db.engine.dialect.name == "sqlite" else "now()"
    with db.engine.begin() as conn:
        conn.execute(sa.text("insert into archive_segments (id, key, sha256, size, first_leaf, count, retain_until, "
                             f"legal_hold, created_at) values (1, 'k', 'aa', 1, 0, 1, {stamp}, false, {stamp})"))
        conn.execute(sa.text("insert into archive_records (id, leaf_index, chain, seq, event_name, event_id, "
                             "event_time, archived_at, parties, category, retain_until, confidential, payload_sha256, "
                             f"leaf_hash, attachments, segment_id, \"offset\", length) values (1, 0, 'lot:1', 1, 'x', "
                             f"'e1', {stamp}, {stamp}, ' ', 'c', {stamp}, false, 'aa', 'bb', '[]', 1, 0, 1)"))
        conn.execute(sa.text("update archive_segments set legal_hold = true"))  # custody may change
    for statement in ("delete from archive_records", "update archive_records set chain = 'lot:2'",
                      "delete from archive_segments", "update archive_segments set sha256 = 'bb'"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
