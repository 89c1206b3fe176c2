"""core: index public keys by owner (submission and custody look them up by organisation or user)

Revision ID: 64b3be9b9a5d
Revises: bf8ea93238c5
Create Date: 2026-12-04 14:33:57.463513
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = '64b3be9b9a5d'
down_revision = 'bf8ea93238c5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('core_public_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_public_keys_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_public_keys_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('core_public_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_public_keys_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_public_keys_organisation_id'))

