"""Jobs remember when they were last published to a broker (``published_at``), so the reconciler can
re-publish jobs a broker lost (a Redis restart without persistence) or never got (a crash between
the commit and the publish). See docs/jobs.md.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('published_at')
