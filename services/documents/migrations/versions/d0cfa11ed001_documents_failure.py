"""documents.failed_at, documents.failure: an issue given up, for staff to see

Revision ID: d0cfa11ed001
Revises: a17c0ffee001
Create Date: 2026-12-03 17:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd0cfa11ed001'
down_revision = 'a17c0ffee001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('documents', sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('documents', sa.Column('failure', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('failure')
        batch_op.drop_column('failed_at')
