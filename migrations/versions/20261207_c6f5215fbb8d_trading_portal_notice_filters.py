"""trading: the portal's notice filters without joins (category, region and city copied onto notices, one
index per filter in listing order) and the portal version row that keys its cached counts

Revision ID: c6f5215fbb8d
Revises: 5c1e0a7d2b94
Create Date: 2026-12-07 18:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'c6f5215fbb8d'
down_revision = '5c1e0a7d2b94'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trading_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=4), nullable=True))
    op.execute("UPDATE trading_notices SET category = (SELECT p.category FROM trading_lots l JOIN trading_projects p "
               "ON p.id = l.project_id WHERE l.id = trading_notices.lot_id), region = (SELECT p.region FROM "
               "trading_lots l JOIN trading_projects p ON p.id = l.project_id WHERE l.id = trading_notices.lot_id)")
    op.execute("UPDATE trading_notices SET city = substr(region, 1, 4)")
    with op.batch_alter_table('trading_notices', schema=None) as batch_op:
        batch_op.alter_column('category', existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column('region', existing_type=sa.String(length=6), nullable=False)
        batch_op.alter_column('city', existing_type=sa.String(length=4), nullable=False)
        batch_op.drop_index('ix_trading_notices_published_at')
        batch_op.create_index('ix_trading_notices_published', ['published_at', 'id'], unique=False)
        batch_op.create_index('ix_trading_notices_category_published', ['category', 'published_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_trading_notices_region_published', ['region', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_trading_notices_city_published', ['city', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_trading_notices_category_city_published', ['category', 'city', 'published_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_trading_notices_kind_published', ['kind', 'published_at', 'id'], unique=False)
    op.create_table('trading_portal_version',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token', sa.String(length=32), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_trading_portal_version')))
    op.execute("INSERT INTO trading_portal_version (id, token) VALUES (1, 'initial')")


def downgrade():
    op.drop_table('trading_portal_version')
    with op.batch_alter_table('trading_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_trading_notices_kind_published')
        batch_op.drop_index('ix_trading_notices_category_city_published')
        batch_op.drop_index('ix_trading_notices_city_published')
        batch_op.drop_index('ix_trading_notices_region_published')
        batch_op.drop_index('ix_trading_notices_category_published')
        batch_op.drop_index('ix_trading_notices_published')
        batch_op.create_index('ix_trading_notices_published_at', ['published_at'], unique=False)
        batch_op.drop_column('city')
        batch_op.drop_column('region')
        batch_op.drop_column('category')
