"""sepa: creditors, collection dates, mandates, batches, collections

Revision ID: 8113c6b964b8
Revises: c6c10f36a09b
Create Date: 2026-12-03 13:41:07.120831
"""
from alembic import op
import sqlalchemy as sa
import shared.types


revision = '8113c6b964b8'
down_revision = 'c6c10f36a09b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('sepa_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=3), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total', shared.types.ExactDecimal(scale=2, precision=14), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credited_line_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'collection_date'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('sepa_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_batches_department'), ['department'], unique=False)

    op.create_table('sepa_collection_dates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=3), nullable=False),
    sa.Column('year', sa.String(length=9), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'day')
    )
    with op.batch_alter_table('sepa_collection_dates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_collection_dates_department'), ['department'], unique=False)

    op.create_table('sepa_creditors',
    sa.Column('department', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=70), nullable=False),
    sa.Column('ics', sa.String(length=35), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    sa.Column('street', sa.String(length=70), nullable=False),
    sa.Column('postcode', sa.String(length=16), nullable=False),
    sa.Column('town', sa.String(length=35), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('department')
    )
    op.create_table('sepa_mandates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rum', sa.String(length=35), nullable=False),
    sa.Column('department', sa.String(length=3), nullable=False),
    sa.Column('cooperative', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('debtor_name', sa.String(length=70), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    sa.Column('street', sa.String(length=70), nullable=False),
    sa.Column('postcode', sa.String(length=16), nullable=False),
    sa.Column('town', sa.String(length=35), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('original_iban', sa.String(length=34), nullable=False),
    sa.Column('last_collected_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rum')
    )
    with op.batch_alter_table('sepa_mandates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_mandates_cooperative'), ['cooperative'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_mandates_department'), ['department'], unique=False)

    op.create_table('sepa_collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('rum', sa.String(length=35), nullable=False),
    sa.Column('amount', shared.types.ExactDecimal(scale=2, precision=14), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('original_iban', sa.String(length=34), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('reason_code', sa.String(length=4), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('notices', sa.Integer(), nullable=False),
    sa.Column('presentation', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cooperative', sa.String(length=16), nullable=False),
    sa.Column('year', sa.String(length=9), nullable=False),
    sa.Column('department', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['sepa_batches.id'], ),
    sa.ForeignKeyConstraint(['mandate_id'], ['sepa_mandates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cooperative', 'year', 'collection_date')
    )
    with op.batch_alter_table('sepa_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_collections_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_collection_date'), ['collection_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_end_to_end_id'), ['end_to_end_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collections_status'), ['status'], unique=False)

    with op.batch_alter_table('dues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direct_debit', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('department_email', sa.String(length=254), server_default='', nullable=False))

    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_tx_code', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('return_reason', sa.String(length=4), server_default='', nullable=False))
        batch_op.add_column(sa.Column('end_to_end_id', sa.String(length=35), server_default='', nullable=False))
        batch_op.add_column(sa.Column('mandate_id', sa.String(length=35), server_default='', nullable=False))

    


def downgrade() -> None:
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        for column in ('mandate_id', 'end_to_end_id', 'return_reason', 'bank_tx_code'):
            batch_op.drop_column(column)

    
    with op.batch_alter_table('dues', schema=None) as batch_op:
        batch_op.drop_column('department_email')
        batch_op.drop_column('direct_debit')

    with op.batch_alter_table('sepa_collections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_collections_status'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_end_to_end_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_department'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_collection_date'))
        batch_op.drop_index(batch_op.f('ix_sepa_collections_batch_id'))

    op.drop_table('sepa_collections')
    with op.batch_alter_table('sepa_mandates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_mandates_department'))
        batch_op.drop_index(batch_op.f('ix_sepa_mandates_cooperative'))

    op.drop_table('sepa_mandates')
    op.drop_table('sepa_creditors')
    with op.batch_alter_table('sepa_collection_dates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_collection_dates_department'))

    op.drop_table('sepa_collection_dates')
    with op.batch_alter_table('sepa_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_batches_department'))

    op.drop_table('sepa_batches')
    
