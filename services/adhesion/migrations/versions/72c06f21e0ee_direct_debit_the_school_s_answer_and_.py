"""direct debit: the school's answer and the department's offer

Revision ID: 72c06f21e0ee
Revises: f74f42e5f2e9
Create Date: 2026-12-03 13:45:43.213422
"""
from alembic import op
import sqlalchemy as sa
import shared.types


revision = '72c06f21e0ee'
down_revision = 'f74f42e5f2e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch copy of departments on SQLite would drop a table the
    # cooperatives' foreign keys point at, and fail on any install holding cooperatives.
    op.add_column('adhesions', sa.Column('pay_direct_debit', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('departments',
                  sa.Column('direct_debit_offered', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('direct_debit_offered')

    with op.batch_alter_table('adhesions', schema=None) as batch_op:
        batch_op.drop_column('pay_direct_debit')

    
