"""The review station: browser sessions (``sessions``: the sha256 of a random cookie token, its user,
created, last seen, absolute expiry, end) and review leases on fields (``lease_owner``,
``lease_token``, ``lease_expires_at``; ``postponed_by``/``postponed_at``; ``review_note``).
See docs/review.md.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_sessions_token_sha256'))
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'], unique=False)
    with op.batch_alter_table('fields') as batch:
        batch.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch.add_column(sa.Column('lease_owner', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('lease_token', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('postponed_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('postponed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_fields_lease_token', 'fields', ['lease_token'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_fields_lease_token', table_name='fields')
    with op.batch_alter_table('fields') as batch:
        for name in ('postponed_at', 'postponed_by', 'lease_expires_at', 'lease_token', 'lease_owner', 'review_note'):
            batch.drop_column(name)
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
