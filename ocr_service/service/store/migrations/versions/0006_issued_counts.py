"""Field-work reports: ``issued_counts``, the blank sheets issued per commune, village and officer
(imported from an issue list; see docs/reports.md).

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issued_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune', sa.String(length=200), nullable=False),
    sa.Column('village', sa.String(length=200), nullable=False),
    sa.Column('officer', sa.String(length=200), nullable=False),
    sa.Column('sheets', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('imported_by', sa.String(length=100), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_counts')),
    sa.UniqueConstraint('commune', 'village', 'officer', name='uq_issued_counts_commune_village_officer')
    )


def downgrade() -> None:
    op.drop_table('issued_counts')
