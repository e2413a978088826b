"""QA sampling and assignment (issue 9): a field's QA state (``qa_state``: pending, agree, error;
None when not sampled) and supervisors' assignments of batches or field groups to reviewers
(``assignments``), and the indexes the review queue's probes and the supervisor's counts use. See
docs/review.md.

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fields') as batch:
        batch.add_column(sa.Column('qa_state', sa.String(length=10), nullable=True))
    op.create_index(op.f('ix_fields_qa_state'), 'fields', ['qa_state'], unique=False)
    op.create_index('ix_fields_lease_owner', 'fields', ['lease_owner'], unique=False)
    op.create_index('ix_fields_batch_qa', 'fields', ['batch_id', 'qa_state'], unique=False)
    op.create_index('ix_fields_status_name', 'fields', ['status', 'name'], unique=False)
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=100), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('field_name', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_assignments_batch_id_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    op.create_index(op.f('ix_assignments_reviewer'), 'assignments', ['reviewer'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_assignments_reviewer'), table_name='assignments')
    op.drop_table('assignments')
    for name in ('ix_fields_status_name', 'ix_fields_batch_qa', 'ix_fields_lease_owner', 'ix_fields_qa_state'):
        op.drop_index(name, table_name='fields')
    with op.batch_alter_table('fields') as batch:
        batch.drop_column('qa_state')
