"""core: every audit entry names the lot it concerns (disclosure is decided from the lot and the instant)

Entries already written get their lot from their object (``object_type = 'lot'``) or from ``lot_id``
in their detail.  The audit trail is append-only on PostgreSQL: its trigger is lifted for this one
backfill and put back in the same transaction.

Revision ID: c2d8e4f60a17
Revises: 9b4e1f2a6c35
Create Date: 2026-12-07 19:20:00.000000
"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'c2d8e4f60a17'
down_revision = '9b4e1f2a6c35'
branch_labels = None
depends_on = None


def _lot_of(object_type: str, object_id: str, detail: str) -> int | None:
    if object_type == "lot" and object_id.isdigit():
        return int(object_id)
    try:
        value = json.loads(detail or "{}").get("lot_id")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def upgrade():
    with op.batch_alter_table('core_audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_core_audit_log_lot_id'), ['lot_id'], unique=False)
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE core_audit_log DISABLE TRIGGER core_audit_append_only")
    rows = bind.execute(sa.text("SELECT id, object_type, object_id, detail FROM core_audit_log")).all()
    for row in rows:
        lot = _lot_of(row.object_type, row.object_id, row.detail)
        if lot is not None:
            bind.execute(sa.text("UPDATE core_audit_log SET lot_id = :lot WHERE id = :id"), {"lot": lot, "id": row.id})
    if postgresql:
        op.execute("ALTER TABLE core_audit_log ENABLE TRIGGER core_audit_append_only")


def downgrade():
    with op.batch_alter_table('core_audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_audit_log_lot_id'))
        batch_op.drop_column('lot_id')
