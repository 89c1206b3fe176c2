"""archive: the log's tables are append-only in the database (PostgreSQL and SQLite triggers)

A database user who deletes or rewrites a row of the signed log is refused by the database itself,
not only by the ORM; the exporter also checks the rows against the signed checkpoint, so a cut made
by someone who drops these triggers is an error, never a shorter truth.  Segments may change only
their custody fields (legal hold, audit time, retention extended).

Revision ID: 9b4e1f2a6c35
Revises: 7a3d52e1c0f4
Create Date: 2026-12-07 19:10:00.000000
"""
from alembic import op

revision = '9b4e1f2a6c35'
down_revision = '7a3d52e1c0f4'
branch_labels = None
depends_on = None

#: tables whose rows never change once written
FROZEN = ("archive_records", "archive_nodes", "archive_checkpoints")
#: columns of a segment that never change (its custody fields may)
SEGMENT_FIXED = ("key", "sha256", "size", "first_leaf", "count")


def _postgresql() -> None:
    op.execute("CREATE FUNCTION archive_append_only() RETURNS trigger AS $$ BEGIN "
               "RAISE EXCEPTION '% is append-only (档案法 第二十一条)', TG_TABLE_NAME; END $$ LANGUAGE plpgsql")
    for table in FROZEN:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION archive_append_only()")
    op.execute("CREATE TRIGGER archive_segments_no_delete BEFORE DELETE ON archive_segments "
               "FOR EACH ROW EXECUTE FUNCTION archive_append_only()")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SEGMENT_FIXED)
    op.execute(f"CREATE TRIGGER archive_segments_fixed BEFORE UPDATE ON archive_segments FOR EACH ROW "
               f"WHEN ({changed}) EXECUTE FUNCTION archive_append_only()")


def _sqlite() -> None:
    for table in FROZEN:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only (档案法 第二十一条)'); END")
    op.execute("CREATE TRIGGER archive_segments_no_delete BEFORE DELETE ON archive_segments "
               "BEGIN SELECT RAISE(ABORT, 'archive_segments is append-only (档案法 第二十一条)'); END")
    op.execute(f"CREATE TRIGGER archive_segments_fixed BEFORE UPDATE OF {', '.join(SEGMENT_FIXED)} "
               "ON archive_segments BEGIN SELECT RAISE(ABORT, 'archive_segments is append-only "
               "(档案法 第二十一条)'); END")


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql()
    elif dialect == "sqlite":
        _sqlite()


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        triggers = [(f"{t}_append_only", t) for t in FROZEN]
    else:
        triggers = [(f"{t}_no_{verb}", t) for t in FROZEN for verb in ("update", "delete")]
    triggers += [("archive_segments_no_delete", "archive_segments"), ("archive_segments_fixed", "archive_segments")]
    for name, table in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if dialect == "postgresql"
                   else f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS archive_append_only()")
