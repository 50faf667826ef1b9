"""operator accounts

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-30

Merges the two heads and adds the accounts table (name, role, scrypt password hash
with its salt and parameters, demo flag), see dispatch.store.accounts.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = ('0002', '0003')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('role', sa.String(length=16), nullable=False),
                    sa.Column('password_hash', sa.String(length=255), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('demo', sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('accounts')
