"""bidding: the remote opening — hall sessions, attendance, unsealings, remedy shares, records; the
lots' opening terms (existing lots get the defaults)

Revision ID: bf8ea93238c5
Revises: 03ba203bc61d
Create Date: 2026-12-04 13:55:25.586795
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'bf8ea93238c5'
down_revision = '03ba203bc61d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bidding_opening_sessions',
    sa.Column('lot_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stage', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('started_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('listed_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('window_opens_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('window_closes_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('table_published_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('confirm_until', core.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('remedy_used', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['trading_lots.id'], name=op.f('fk_bidding_opening_sessions_lot_id_trading_lots')),
    sa.PrimaryKeyConstraint('lot_id', name=op.f('pk_bidding_opening_sessions'))
    )
    op.create_table('bidding_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['bidding_opening_sessions.lot_id'], name=op.f('fk_bidding_attendance_lot_id_bidding_opening_sessions')),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisations.id'], name=op.f('fk_bidding_attendance_organisation_id_core_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_bidding_attendance_user_id_core_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bidding_attendance'))
    )
    with op.batch_alter_table('bidding_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bidding_attendance_lot_id'), ['lot_id'], unique=False)

    op.create_table('bidding_opening_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('body', core.db.JSONText(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('kid', sa.String(length=40), nullable=False),
    sa.Column('published_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['bidding_opening_sessions.lot_id'], name=op.f('fk_bidding_opening_records_lot_id_bidding_opening_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bidding_opening_records')),
    sa.UniqueConstraint('lot_id', 'kind', name=op.f('uq_bidding_opening_records_lot_id_kind'))
    )
    with op.batch_alter_table('bidding_opening_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bidding_opening_records_lot_id'), ['lot_id'], unique=False)

    op.create_table('bidding_record_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['core_users.id'], name=op.f('fk_bidding_record_responses_answered_by_core_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['bidding_opening_sessions.lot_id'], name=op.f('fk_bidding_record_responses_lot_id_bidding_opening_sessions')),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisations.id'], name=op.f('fk_bidding_record_responses_organisation_id_core_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_bidding_record_responses_user_id_core_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bidding_record_responses'))
    )
    with op.batch_alter_table('bidding_record_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bidding_record_responses_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bidding_record_responses_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('bidding_remedy_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('x', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sealed', core.db.JSONText(), nullable=False),
    sa.Column('at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['bidding_opening_sessions.lot_id'], name=op.f('fk_bidding_remedy_shares_lot_id_bidding_opening_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_bidding_remedy_shares_user_id_core_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bidding_remedy_shares')),
    sa.UniqueConstraint('lot_id', 'x', name=op.f('uq_bidding_remedy_shares_lot_id_x'))
    )
    with op.batch_alter_table('bidding_remedy_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bidding_remedy_shares_lot_id'), ['lot_id'], unique=False)

    op.create_table('bidding_unsealings',
    sa.Column('bid_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('cause', sa.String(length=10), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('price', sa.String(length=24), nullable=True),
    sa.Column('fields', core.db.JSONText(), nullable=False),
    sa.Column('files', core.db.JSONText(), nullable=False),
    sa.Column('via', sa.String(length=10), nullable=True),
    sa.Column('unsealed_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['bidding_bids.id'], name=op.f('fk_bidding_unsealings_bid_id_bidding_bids')),
    sa.ForeignKeyConstraint(['lot_id'], ['bidding_opening_sessions.lot_id'], name=op.f('fk_bidding_unsealings_lot_id_bidding_opening_sessions')),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisations.id'], name=op.f('fk_bidding_unsealings_organisation_id_core_organisations')),
    sa.PrimaryKeyConstraint('bid_id', name=op.f('pk_bidding_unsealings'))
    )
    with op.batch_alter_table('bidding_unsealings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bidding_unsealings_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bidding_unsealings_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('trading_lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decrypt_window_minutes', sa.Integer(), nullable=False, server_default='30'))
        batch_op.add_column(sa.Column('confirm_window_minutes', sa.Integer(), nullable=False, server_default='15'))
        batch_op.add_column(sa.Column('unseal_remedy', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('opening_fields', core.db.JSONText(), nullable=False, server_default='[]'))



def downgrade():
    with op.batch_alter_table('trading_lots', schema=None) as batch_op:
        batch_op.drop_column('opening_fields')
        batch_op.drop_column('unseal_remedy')
        batch_op.drop_column('confirm_window_minutes')
        batch_op.drop_column('decrypt_window_minutes')

    with op.batch_alter_table('bidding_unsealings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bidding_unsealings_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_bidding_unsealings_lot_id'))

    op.drop_table('bidding_unsealings')
    with op.batch_alter_table('bidding_remedy_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bidding_remedy_shares_lot_id'))

    op.drop_table('bidding_remedy_shares')
    with op.batch_alter_table('bidding_record_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bidding_record_responses_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_bidding_record_responses_lot_id'))

    op.drop_table('bidding_record_responses')
    with op.batch_alter_table('bidding_opening_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bidding_opening_records_lot_id'))

    op.drop_table('bidding_opening_records')
    with op.batch_alter_table('bidding_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bidding_attendance_lot_id'))

    op.drop_table('bidding_attendance')
    op.drop_table('bidding_opening_sessions')
