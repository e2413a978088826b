"""Initial schema: templates, users, API tokens, batches, source files, pages, sheets, fields, jobs,
audit events, exports (see docs/store.md).

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-01 07:59:35.094865
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")  # JSONB on PostgreSQL


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=50), nullable=False),
    sa.Column('entity_id', sa.String(length=100), nullable=False),
    sa.Column('old', JSON, nullable=True),
    sa.Column('new', JSON, nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_at'), 'audit_events', ['at'], unique=False)
    op.create_index('ix_audit_events_entity', 'audit_events', ['entity_type', 'entity_id'], unique=False)

    op.create_table('templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
    sa.UniqueConstraint('name', 'version', name='uq_templates_name_version')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)

    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('village', sa.String(length=200), nullable=True),
    sa.Column('box_label', sa.String(length=200), nullable=True),
    sa.Column('officer', sa.String(length=200), nullable=True),
    sa.Column('expected_sheets', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_batches_template_id_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    sa.UniqueConstraint('name', name=op.f('uq_batches_name'))
    )
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filter', JSON, nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('mapping_version', sa.String(length=100), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('files', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_exports_template_id_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports'))
    )
    op.create_index(op.f('ix_exports_created_at'), 'exports', ['created_at'], unique=False)

    op.create_table('source_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_source_files_batch_id_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_files')),
    sa.UniqueConstraint('batch_id', 'sha256', name='uq_source_files_batch_sha256')
    )
    op.create_index(op.f('ix_source_files_sha256'), 'source_files', ['sha256'], unique=False)

    op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('page_no', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('rotation', sa.Integer(), nullable=True),
    sa.Column('skew_deg', sa.Float(), nullable=True),
    sa.Column('residual_px', sa.Float(), nullable=True),
    sa.Column('serial', sa.String(length=100), nullable=True),
    sa.Column('duplicate_of_page_id', sa.Integer(), nullable=True),
    sa.Column('replaces_page_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_pages_batch_id_batches')),
    sa.ForeignKeyConstraint(['duplicate_of_page_id'], ['pages.id'], name=op.f('fk_pages_duplicate_of_page_id_pages')),
    sa.ForeignKeyConstraint(['file_id'], ['source_files.id'], name=op.f('fk_pages_file_id_source_files')),
    sa.ForeignKeyConstraint(['replaces_page_id'], ['pages.id'], name=op.f('fk_pages_replaces_page_id_pages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('file_id', 'page_no', name='uq_pages_file_page_no')
    )
    op.create_index('ix_pages_batch_serial', 'pages', ['batch_id', 'serial'], unique=False)
    op.create_index('ix_pages_batch_sha256', 'pages', ['batch_id', 'sha256'], unique=False)
    op.create_index('ix_pages_batch_status', 'pages', ['batch_id', 'status'], unique=False)
    op.create_index(op.f('ix_pages_replaces_page_id'), 'pages', ['replaces_page_id'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('page_id', sa.Integer(), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_jobs_batch_id_batches')),
    sa.ForeignKeyConstraint(['file_id'], ['source_files.id'], name=op.f('fk_jobs_file_id_source_files')),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_jobs_page_id_pages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_jobs_idempotency_key'))
    )
    op.create_index('ix_jobs_batch_status', 'jobs', ['batch_id', 'status'], unique=False)
    op.create_index('ix_jobs_status_id', 'jobs', ['status', 'id'], unique=False)

    op.create_table('sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('fields_total', sa.Integer(), nullable=False),
    sa.Column('fields_review', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_sheets_batch_id_batches')),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_sheets_page_id_pages')),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_sheets_template_id_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sheets')),
    sa.UniqueConstraint('page_id', name=op.f('uq_sheets_page_id'))
    )
    op.create_index('ix_sheets_batch_id', 'sheets', ['batch_id', 'id'], unique=False)
    op.create_index('ix_sheets_batch_status', 'sheets', ['batch_id', 'status', 'id'], unique=False)

    op.create_table('fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('suggestion', sa.Text(), nullable=True),
    sa.Column('candidates', JSON, nullable=False),
    sa.Column('engine', sa.String(length=50), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('features', JSON, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reasons', JSON, nullable=False),
    sa.Column('warnings', JSON, nullable=False),
    sa.Column('box_px', JSON, nullable=False),
    sa.Column('verified_value', sa.Text(), nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_fields_batch_id_batches')),
    sa.ForeignKeyConstraint(['sheet_id'], ['sheets.id'], name=op.f('fk_fields_sheet_id_sheets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fields')),
    sa.UniqueConstraint('sheet_id', 'name', name='uq_fields_sheet_name')
    )
    op.create_index('ix_fields_batch_status', 'fields', ['batch_id', 'status'], unique=False)
    op.create_index('ix_fields_status_id', 'fields', ['status', 'id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_fields_status_id', table_name='fields')
    op.drop_index('ix_fields_batch_status', table_name='fields')

    op.drop_table('fields')
    op.drop_index('ix_sheets_batch_status', table_name='sheets')
    op.drop_index('ix_sheets_batch_id', table_name='sheets')

    op.drop_table('sheets')
    op.drop_index('ix_jobs_status_id', table_name='jobs')
    op.drop_index('ix_jobs_batch_status', table_name='jobs')

    op.drop_table('jobs')
    op.drop_index(op.f('ix_pages_replaces_page_id'), table_name='pages')
    op.drop_index('ix_pages_batch_status', table_name='pages')
    op.drop_index('ix_pages_batch_sha256', table_name='pages')
    op.drop_index('ix_pages_batch_serial', table_name='pages')

    op.drop_table('pages')
    op.drop_index(op.f('ix_source_files_sha256'), table_name='source_files')

    op.drop_table('source_files')
    op.drop_index(op.f('ix_exports_created_at'), table_name='exports')

    op.drop_table('exports')
    op.drop_table('batches')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('templates')
    op.drop_index('ix_audit_events_entity', table_name='audit_events')
    op.drop_index(op.f('ix_audit_events_at'), table_name='audit_events')

    op.drop_table('audit_events')
