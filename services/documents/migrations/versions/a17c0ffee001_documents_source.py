"""documents.source: the validation data each document was drawn from (re-issue)

Revision ID: a17c0ffee001
Revises: f066eb4e6bd1
Create Date: 2026-12-03 10:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a17c0ffee001'
down_revision = 'f066eb4e6bd1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('source')
