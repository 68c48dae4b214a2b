"""dues: the department's contact and payment details (payee, IBAN, BIC, address), as the
latest submission carried them, for the email telling a school a payment was reversed

Revision ID: 5e0a7c2d91b4
Revises: 8113c6b964b8
Create Date: 2026-12-03 15:15:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '5e0a7c2d91b4'
down_revision = '8113c6b964b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (SQLite takes it with a constant default): no batch copy of the dues
    op.add_column('dues', sa.Column('department_contact', sa.Text(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('dues', schema=None) as batch_op:
        batch_op.drop_column('department_contact')
