"""The service's tables, as SQLAlchemy 2 typed declarative models.

One row per thing a clerk, a worker or a reviewer can point at: a batch (one box of returned sheets),
a source file (content-addressed by sha256; the bytes live in the blob store), a page of a file, a
sheet (one per page that was read), a field of a sheet, a job, a user, an API token, an audit event
and an export. The schema itself is created and changed only by the Alembic migrations in
``migrations/``; a test checks that the migrations and these models agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Page statuses.
PAGE_QUEUED, PAGE_OK, PAGE_RESCAN, PAGE_ERROR, PAGE_DUPLICATE = "queued", "ok", "rescan", "error", "duplicate"
PAGE_STATUSES = (PAGE_QUEUED, PAGE_OK, PAGE_RESCAN, PAGE_ERROR, PAGE_DUPLICATE)
# Field statuses (the pipeline gives the first two; review adds the others).
FIELD_AUTO, FIELD_REVIEW, FIELD_VERIFIED, FIELD_REJECTED = "auto_accepted", "needs_review", "verified", "rejected"
FIELD_STATUSES = (FIELD_AUTO, FIELD_REVIEW, FIELD_VERIFIED, FIELD_REJECTED)
# Sheet status summary: needs_review while any field does, verified once a reviewer touched every
# field that needed it, auto_accepted when none ever did.
SHEET_STATUSES = (FIELD_AUTO, FIELD_REVIEW, FIELD_VERIFIED)
# QA states of a sampled auto-accepted field.
QA_PENDING, QA_AGREE, QA_ERROR = "pending", "agree", "error"
# Jobs.
JOB_FILE, JOB_PAGE = "file", "page"
JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED = "queued", "running", "done", "failed"
JOB_STATUSES = (JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive; we read it back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class Template(Base):
    """A form version the pipeline knows (``name@version``); rows are created when first used."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_templates_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An API token, stored as the sha256 of the random token (the token itself is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A review-station browser session. The cookie holds a random token; only its sha256 is stored.
    It ends at ``expires_at`` (absolute), after the idle limit since ``last_seen_at``, or at logout."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ip: Mapped[str | None] = mapped_column(String(100))

    user: Mapped[User] = relationship()


class Batch(Base):
    """One box of returned sheets from one commune/village, scanned together."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    commune: Mapped[str | None] = mapped_column(String(200))
    village: Mapped[str | None] = mapped_column(String(200))
    box_label: Mapped[str | None] = mapped_column(String(200))
    officer: Mapped[str | None] = mapped_column(String(200))  # the collecting officer
    expected_sheets: Mapped[int | None]
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"))  # None: identify each page
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher is reviewed first
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    template: Mapped[Template | None] = relationship()


class SourceFile(Base):
    """A file added to a batch. The bytes are in the blob store under ``sha256``; ``original_name``
    is what the uploader called it, kept as untrusted display text only (never used as a path)."""

    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("batch_id", "sha256", name="uq_source_files_batch_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    batch: Mapped[Batch] = relationship()


class PageRow(Base):
    """One page of a source file and what happened to it. A rescan of a sheet is a new page (of a
    new file) whose ``replaces_page_id`` names the page it replaces; the old row stays (history)."""

    __tablename__ = "pages"
    __table_args__ = (
        UniqueConstraint("file_id", "page_no", name="uq_pages_file_page_no"),
        Index("ix_pages_batch_status", "batch_id", "status"),
        Index("ix_pages_batch_sha256", "batch_id", "sha256"),
        Index("ix_pages_batch_serial", "batch_id", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("source_files.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))  # copied from the file, for the indexes
    page_no: Mapped[int]
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the decoded page image
    status: Mapped[str] = mapped_column(String(20), default=PAGE_QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)
    rotation: Mapped[int | None]
    skew_deg: Mapped[float | None] = mapped_column(Float)
    residual_px: Mapped[float | None] = mapped_column(Float)
    serial: Mapped[str | None] = mapped_column(String(100))  # the sheet serial from the QR code
    duplicate_of_page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    replaces_page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    # What registration found ({"rotation", "skew_deg", "homography": 9 numbers}), so the review
    # station shows the page registered without registering it again.
    registration: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    file: Mapped[SourceFile] = relationship()


class Sheet(Base):
    """The record read from one page with status ok."""

    __tablename__ = "sheets"
    __table_args__ = (Index("ix_sheets_batch_status", "batch_id", "status", "id"),
                      Index("ix_sheets_batch_id", "batch_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    status: Mapped[str] = mapped_column(String(20))
    fields_total: Mapped[int] = mapped_column(Integer, default=0)
    fields_review: Mapped[int] = mapped_column(Integer, default=0)  # still needing review
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    template: Mapped[Template] = relationship()
    page: Mapped[PageRow] = relationship()


class FieldRow(Base):
    """One field of a sheet: what the pipeline read and decided, the evidence behind the score
    (``features``, so a correction becomes a labelled example), and what a reviewer verified.
    ``version`` is bumped on every update (optimistic concurrency for the review station)."""

    __tablename__ = "fields"
    __table_args__ = (
        UniqueConstraint("sheet_id", "name", name="uq_fields_sheet_name"),
        Index("ix_fields_status_id", "status", "id"),
        Index("ix_fields_batch_status", "batch_id", "status"),
        Index("ix_fields_lease_token", "lease_token"),
        # the review queue's probes and the supervisor's counts (migration 0005): a reviewer's held
        # fields, a batch's QA samples, counts per field name
        Index("ix_fields_lease_owner", "lease_owner"),
        Index("ix_fields_batch_qa", "batch_id", "qa_state"),
        Index("ix_fields_status_name", "status", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("sheets.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    position: Mapped[int]  # order on the sheet
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(Text, default="")  # the engine's reading
    value: Mapped[str] = mapped_column(Text, default="")  # normalized / validated
    suggestion: Mapped[str | None] = mapped_column(Text)
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    engine: Mapped[str | None] = mapped_column(String(50))
    confidence: Mapped[float] = mapped_column(Float)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    box_px: Mapped[list[Any]] = mapped_column(default=list)
    verified_value: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)  # the reviewer's reason, e.g. "không đọc được"
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The review station's lease: one reviewer holds a group of fields (one lease token) until it
    # expires. The owner stays recorded after expiry (a late save by them is still theirs to make
    # unless someone else has claimed the field since). A postponed field skips its postponer for a while.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None]
    postponed_by: Mapped[str | None] = mapped_column(String(100))
    postponed_at: Mapped[dt.datetime | None]
    # QA sampling (docs/review.md): an auto-accepted field chosen when the sheet was stored is
    # ``pending`` (in the review queue, shown blind) until a reviewer answers; then ``agree`` or
    # ``error`` (the answer differed from the auto-accepted value). None: not sampled.
    qa_state: Mapped[str | None] = mapped_column(String(10), index=True)
    # Reviewer QA (migration 0009): the reviewer whose decision this sample checks, shown blind to a
    # second, different reviewer; None for a sample of an auto-accepted field.
    qa_reviewer: Mapped[str | None] = mapped_column(String(100))

    __mapper_args__ = {"version_id_col": version}


class Assignment(Base):
    """A supervisor's assignment: the fields of a batch (or of one field name, in one batch or in
    all) go to ``reviewer``'s queue first. Ended, not deleted, when withdrawn."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(100), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    field_name: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]


class Job(Base):
    """A unit of work for a worker: read a file (split it into pages) or read one page."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"), Index("ix_jobs_batch_status", "batch_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=JOB_QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None]  # last sent to a broker (Celery); None: never (local pool)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Append-only: who did what to which entity, with the old and new values."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(String(20))  # cli, api, web, worker


EXPORT_RUNNING, EXPORT_DONE, EXPORT_FAILED = "running", "done", "failed"


class Export(Base):
    """One export run: what was asked for, with which mapping, and the files it wrote (with sha256).
    ``manifest`` is the whole manifest (docs/export.md); ``snapshot_sha256`` names the blob holding
    the exported values, from which ``--rerun`` rebuilds the files byte for byte. ``owner`` is the
    process running it (an export still ``running`` whose owner is gone was interrupted)."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"))
    mapping_version: Mapped[str | None] = mapped_column(String(100))
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "sha256", "size"}]
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    format: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=EXPORT_DONE)
    mapping_sha256: Mapped[str | None] = mapped_column(String(64))
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    held_count: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)  # sheets looked at so far (progress)
    owner: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]


class ExportSheet(Base):
    """A sheet an export included; ``complete`` False: it went out as a pending sheet (with status
    columns) and still counts as not exported."""

    __tablename__ = "export_sheets"
    __table_args__ = (Index("ix_export_sheets_sheet_id", "sheet_id"),)

    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"), primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("sheets.id"), primary_key=True)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)


class IssuedCount(Base):
    """How many blank sheets were issued to one place (commune, village) and officer, from an imported
    issue list (docs/reports.md). Empty strings, not NULL, mean "not given", so the key is unique;
    importing a row for a key already present replaces its count."""

    __tablename__ = "issued_counts"
    __table_args__ = (UniqueConstraint("commune", "village", "officer", name="uq_issued_counts_commune_village_officer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune: Mapped[str] = mapped_column(String(200))
    village: Mapped[str] = mapped_column(String(200), default="")
    officer: Mapped[str] = mapped_column(String(200), default="")
    sheets: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)  # the imported file's name (display only)
    imported_by: Mapped[str | None] = mapped_column(String(100))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
