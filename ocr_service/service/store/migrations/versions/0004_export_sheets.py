"""Exports: which sheets each export included (``export_sheets``), so that an export takes only
sheets not exported before, and what a rerun needs to rebuild its files byte for byte (format,
status, mapping and snapshot hashes, the manifest), plus progress and the running process.
See docs/export.md.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('exports') as batch:
        batch.add_column(sa.Column('format', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='done'))
        batch.add_column(sa.Column('mapping_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('snapshot_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('manifest', JSON, nullable=False, server_default='{}'))
        batch.add_column(sa.Column('held_count', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('processed', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('owner', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
    # the defaults only fill the rows that exist; new rows get theirs from the models
    with op.batch_alter_table('exports') as batch:
        for name in ('status', 'manifest', 'held_count', 'processed'):
            batch.alter_column(name, server_default=None)
    op.create_table('export_sheets',
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_export_sheets_export_id_exports')),
    sa.ForeignKeyConstraint(['sheet_id'], ['sheets.id'], name=op.f('fk_export_sheets_sheet_id_sheets')),
    sa.PrimaryKeyConstraint('export_id', 'sheet_id', name=op.f('pk_export_sheets'))
    )
    op.create_index('ix_export_sheets_sheet_id', 'export_sheets', ['sheet_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_export_sheets_sheet_id', table_name='export_sheets')
    op.drop_table('export_sheets')
    with op.batch_alter_table('exports') as batch:
        for name in ('finished_at', 'error', 'owner', 'processed', 'held_count', 'manifest', 'snapshot_sha256',
                     'mapping_sha256', 'status', 'format'):
            batch.drop_column(name)
