"""What registration found per page (``pages.registration``: the quarter turn, the skew and the
homography), so the review station cuts snippets without registering the page again.
See docs/review.md.

Revision ID: 0007
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pages') as batch:
        batch.add_column(sa.Column('registration', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pages') as batch:
        batch.drop_column('registration')
