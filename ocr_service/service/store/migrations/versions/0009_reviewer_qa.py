"""Reviewer QA (docs/review.md): ``fields.qa_reviewer`` names the reviewer whose decision a QA
sample checks (None: a sample of an auto-accepted field), so a share of reviewers' own decisions
is shown blind to a second reviewer and a disagreement counted against the first.

Revision ID: 0009
Revises: 0007 (the lead re-chains it at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fields') as batch:
        batch.add_column(sa.Column('qa_reviewer', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fields') as batch:
        batch.drop_column('qa_reviewer')
