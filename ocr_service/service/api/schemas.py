"""The API's request and response bodies (pydantic). Every OCR-derived string is plain JSON data.

Rows are turned into these inside the store session (``from_*`` helpers), so nothing lazy-loads
after it closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ocr_service.pipeline import reasons as reason_codes
from ocr_service.service import blind
from ocr_service.service.store.models import Batch, FieldRow, Job, PageRow, Sheet, SourceFile

T = TypeVar("T")
Text = Field(default=None, max_length=200)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Out, Generic[T]):
    """One page of a listing: pass ``next`` back as ``?after=`` until it is null."""

    items: list[T]
    next: str | None


class Problem(BaseModel):
    """Problem details (RFC 9457) with the stable error ``code``."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    file: str | None = None
    page: int | None = None
    field: str | None = None


class Health(Out):
    status: Literal["ok"]
    schema_: str = Field(alias="schema", serialization_alias="schema")

    model_config = ConfigDict(populate_by_name=True)


# -- batches --------------------------------------------------------------------------------------

class BatchCreate(BaseModel):
    """A new batch. ``name`` must be unique; without one it is made of commune / village / box label.
    ``template`` is ``name@version`` or ``name`` (its newest version) of an installed template, or
    ``auto`` / null: each page's form is identified."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    commune: str | None = Text
    village: str | None = Text
    box_label: str | None = Text
    officer: str | None = Text
    expected_sheets: int | None = Field(default=None, ge=0, le=1_000_000)
    template: str | None = Field(default=None, max_length=200)
    priority: int = Field(default=0, ge=-1000, le=1000)


class BatchOut(Out):
    id: int
    name: str
    commune: str | None
    village: str | None
    box_label: str | None
    officer: str | None
    expected_sheets: int | None
    template: str | None
    priority: int
    created_by: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, b: Batch) -> "BatchOut":
        return cls(id=b.id, name=b.name, commune=b.commune, village=b.village, box_label=b.box_label,
                   officer=b.officer, expected_sheets=b.expected_sheets, template=b.template.ref if b.template else None,
                   priority=b.priority, created_by=b.created_by, created_at=b.created_at)


class BatchStatus(Out):
    """``repository.batch_status``: counts of files, pages, sheets by status, rescans, failures, jobs."""

    batch: str
    expected: int | None
    files: int
    pages: int
    sheets: dict[str, int]
    rescan: int
    failed: int
    duplicates: int
    jobs: dict[str, int]


class BatchDetail(BatchOut):
    status: BatchStatus


# -- files, uploads, pages ------------------------------------------------------------------------

class FileOut(Out):
    id: int
    batch_id: int
    sha256: str
    original_name: str  # what the uploader called it: display text only
    size_bytes: int
    media_type: str | None
    created_by: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, f: SourceFile) -> "FileOut":
        return cls(id=f.id, batch_id=f.batch_id, sha256=f.sha256, original_name=f.original_name,
                   size_bytes=f.size_bytes, media_type=f.media_type, created_by=f.created_by, created_at=f.created_at)


class UploadResult(Out):
    """What became of one file of an upload: ``created``, ``duplicate`` (the same bytes were already in
    the batch: nothing new was stored) or ``refused`` (with ``code`` and ``detail``; nothing stored)."""

    name: str | None  # the file name as sent (display text, may be hostile; never used as a path)
    status: Literal["created", "duplicate", "refused"]
    file_id: int | None = None
    job_id: int | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    media_type: str | None = None
    code: str | None = None
    detail: str | None = None


class UploadReport(Out):
    accepted: int
    refused: int
    items: list[UploadResult]


class PageOut(Out):
    id: int
    file_id: int
    batch_id: int
    page_no: int
    sha256: str | None
    status: str
    reason: str | None
    rotation: int | None
    skew_deg: float | None
    residual_px: float | None
    serial: str | None
    duplicate_of_page_id: int | None
    replaces_page_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, p: PageRow) -> "PageOut":
        return cls(id=p.id, file_id=p.file_id, batch_id=p.batch_id, page_no=p.page_no, sha256=p.sha256,
                   status=p.status, reason=p.reason, rotation=p.rotation, skew_deg=p.skew_deg,
                   residual_px=p.residual_px, serial=p.serial, duplicate_of_page_id=p.duplicate_of_page_id,
                   replaces_page_id=p.replaces_page_id, created_at=p.created_at, finished_at=p.finished_at)


# -- sheets, fields, review -----------------------------------------------------------------------

class Reason(Out):
    """One review reason: the string as stored, its stable code, and a person's sentence (Vietnamese)."""

    reason: str
    code: str
    text: str

    @classmethod
    def of(cls, reason: str, lang: str = "vi") -> "Reason":
        code = str(reason).partition(":")[0]
        try:
            text = reason_codes.describe(str(reason), lang)
        except (ValueError, KeyError):  # a code this version does not know: show it as it is
            text = str(reason)
        return cls(reason=str(reason), code=code, text=text)


class FieldOut(Out):
    id: int
    sheet_id: int
    batch_id: int
    position: int
    name: str
    kind: str | None
    raw: str
    value: str
    suggestion: str | None
    candidates: list[Any]
    engine: str | None
    confidence: float | None = Field(description="the score; null for a reviewer (blind QA: a score would tell "
                                                 "an auto-accepted sample)")
    status: str
    reasons: list[Reason]
    warnings: list[Any]
    box_px: list[Any]
    verified_value: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    version: int
    qa: str | None = Field(None, description="QA state (pending, agree, error) of a sampled field; shown to "
                                             "supervisors and admins only")
    qa_reviewer: str | None = Field(None, description="reviewer QA: whose decision the sample checks "
                                                      "(supervisors and admins only)")

    @classmethod
    def of(cls, f: FieldRow, viewer: str | None = None) -> "FieldOut":
        """The field as ``viewer`` may see it (service/blind.py): None (a supervisor or an admin) the
        stored truth with its QA state; a reviewer's name: blind, a QA sample waiting for an answer
        looks like a field needing review, and no field carries its score."""
        hidden = blind.hides_decision(f, viewer)
        sees = viewer is blind.SEES_ALL
        return cls(id=f.id, sheet_id=f.sheet_id, batch_id=f.batch_id, position=f.position, name=f.name, kind=f.kind,
                   raw=f.raw, value=f.value, suggestion=f.suggestion, candidates=list(f.candidates or []),
                   engine=f.engine, confidence=f.confidence if sees else None, status=blind.shown_status(f, viewer),
                   reasons=[Reason.of(r) for r in blind.shown_reasons(f, viewer)], warnings=list(f.warnings or []),
                   box_px=list(f.box_px or []), verified_value=None if hidden else f.verified_value,
                   verified_by=None if hidden else f.verified_by, verified_at=None if hidden else f.verified_at,
                   version=f.version, qa=f.qa_state if sees else None, qa_reviewer=f.qa_reviewer if sees else None)


class SheetOut(Out):
    id: int
    page_id: int
    batch_id: int
    template: str
    status: str
    fields_total: int
    fields_review: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, sh: Sheet, view: tuple[str, int] | None = None) -> "SheetOut":
        """``view``: (status, fields to review) as the caller sees them (blind.sheet_views)."""
        status, review = view or (sh.status, sh.fields_review)
        return cls(id=sh.id, page_id=sh.page_id, batch_id=sh.batch_id, template=sh.template.ref, status=status,
                   fields_total=sh.fields_total, fields_review=review, created_at=sh.created_at,
                   updated_at=sh.updated_at)


class GroupRowOut(BaseModel):
    """One entry of a repeated group (a table row that holds writing): its row number, each
    column's final value (verified, else read; rejected: empty) and each cell's field id."""

    row: int
    values: dict[str, str]
    field_ids: dict[str, int]


class SheetDetail(SheetOut):
    fields: list[FieldOut]
    groups: dict[str, list[GroupRowOut]] = {}  # the template's repeated groups (tables), entries only


# -- jobs -----------------------------------------------------------------------------------------

class JobOut(Out):
    id: int
    kind: str
    batch_id: int | None
    file_id: int | None
    page_id: int | None
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, j: Job) -> "JobOut":
        return cls(id=j.id, kind=j.kind, batch_id=j.batch_id, file_id=j.file_id, page_id=j.page_id, status=j.status,
                   attempts=j.attempts, max_attempts=j.max_attempts, last_error=j.last_error,
                   created_at=j.created_at, updated_at=j.updated_at, finished_at=j.finished_at)


class Me(Out):
    user_id: int
    username: str
    role: str
