"""experts: the lot's bidders, handed down by bidding's close (the draw avoids their employees)

Revision ID: 5c1e0a7b9d21
Revises: 64b3be9b9a5d
Create Date: 2026-12-07 18:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '5c1e0a7b9d21'
down_revision = '64b3be9b9a5d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'experts_lot_bidders',
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['core_organisations.id'],
                                name=op.f('fk_experts_lot_bidders_organisation_id_core_organisations')),
        sa.PrimaryKeyConstraint('lot_id', 'organisation_id', name=op.f('pk_experts_lot_bidders')),
    )
    # lots closed before this table existed: their standing bids, as the close would have handed down
    op.execute("INSERT INTO experts_lot_bidders (lot_id, organisation_id) "
               "SELECT DISTINCT b.lot_id, b.organisation_id FROM bidding_bids b "
               "JOIN trading_lots l ON l.id = b.lot_id "
               "WHERE b.state = 'submitted' AND b.received_at < l.bid_deadline AND l.state <> 'published'")


def downgrade():
    op.drop_table('experts_lot_bidders')
