"""core: one table of named leases (the scheduler's and the archive sequencer's)

Leases are ephemeral (a holder renews every few seconds), so nothing is copied: a process that held
one of the old rows takes the new one at its next renewal.

Revision ID: 7a3d52e1c0f4
Revises: 5c1e0a7b9d21
Create Date: 2026-12-07 19:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '7a3d52e1c0f4'
down_revision = '5c1e0a7b9d21'
branch_labels = None
depends_on = None


def _lease_table(name: str, width: int) -> None:
    op.create_table(name,
                    sa.Column('name', sa.String(length=width), nullable=False),
                    sa.Column('holder', sa.String(length=100), nullable=False),
                    sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f(f'pk_{name}')))


def upgrade():
    _lease_table('core_leases', 40)
    op.drop_table('core_scheduler_lease')
    op.drop_table('archive_leases')


def downgrade():
    _lease_table('archive_leases', 20)
    _lease_table('core_scheduler_lease', 20)
    op.drop_table('core_leases')
