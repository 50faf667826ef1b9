"""unit terminals and position source

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

units.terminal (JT/T 808 terminal phone number, unique), units.auth_code, and
units.position_source (post | avl | manual) for the last-position projection.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terminal', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('auth_code', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('position_source', sa.String(length=8), nullable=False,
                                      server_default='post'))
    op.create_index('ix_units_terminal', 'units', ['terminal'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_units_terminal', table_name='units')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('position_source')
        batch_op.drop_column('auth_code')
        batch_op.drop_column('terminal')
