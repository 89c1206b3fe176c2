"""core: session generation, pending TOTP secret, password resets kept as a hash

A user's ``session_generation`` is part of every session id (sign-out and a new password end all
sessions); ``totp_pending_secret`` holds a re-enrolment until it is confirmed, so the factor in use is
never dropped on the way; ``core_password_resets`` holds a reset link's token only as its SHA-256.
Reset links mailed before this revision were signed tokens that are no longer accepted: whoever holds
one asks for a new link.

Revision ID: c4e8a1f2b9d3
Revises: c2d8e4f60a17
Create Date: 2026-12-07 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'c4e8a1f2b9d3'
down_revision = 'c2d8e4f60a17'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('core_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.create_table('core_password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_core_password_resets_user_id_core_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_password_resets')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_core_password_resets_token_sha256'))
    )
    with op.batch_alter_table('core_password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_password_resets_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('core_password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_password_resets_user_id'))
    op.drop_table('core_password_resets')
    with op.batch_alter_table('core_users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
        batch_op.drop_column('totp_pending_secret')
