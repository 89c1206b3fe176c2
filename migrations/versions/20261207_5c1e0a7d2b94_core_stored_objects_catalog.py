"""core: the local store's catalog of adopted objects (metadata rows instead of sidecar files)

Revision ID: 5c1e0a7d2b94
Revises: c4e8a1f2b9d3
Create Date: 2026-12-07 18:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '5c1e0a7d2b94'
down_revision = 'c4e8a1f2b9d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_stored_objects',
    sa.Column('key', sa.String(length=1024), nullable=False),
    sa.Column('version_id', sa.String(length=40), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('created', core.db.UTCDateTime(), nullable=False),
    sa.Column('retain_until', core.db.UTCDateTime(), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('write_once', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'version_id', name=op.f('pk_core_stored_objects'))
    )


def downgrade():
    op.drop_table('core_stored_objects')
