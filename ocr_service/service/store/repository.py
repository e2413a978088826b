"""What the service does with the store, as plain functions taking a SQLAlchemy Session.

The caller owns the transaction (``with store.session() as s: ...`` commits at the end); these
functions only flush. They take and return plain values and model rows, never pipeline classes: a
page's result comes in as the JSON-able dict of ``SheetResult.to_json()`` with each field's
``kind`` and ``features`` added.

Idempotency, in one place each:
- a file is keyed by (batch, sha256): adding it again returns the existing row, ``created=False``;
- a page by (file, page number); its result by the same key: a page whose status is no longer
  ``queued`` already has its result, and writing again changes nothing;
- a job by its idempotency key (unique);
- duplicates within a batch (same page image hash, or a sheet serial already read) are flagged, not
  processed or stored twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Sequence, TypeVar

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ocr_service.errors import AuthError, ConflictError, InvalidRequestError, NotFoundError, StoreError
from ocr_service.forms.model import column_key, split_column_key
from ocr_service.service.store.models import (
    FIELD_AUTO, FIELD_REJECTED, FIELD_REVIEW, FIELD_VERIFIED, JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_STATUSES,
    PAGE_DUPLICATE, PAGE_ERROR, PAGE_OK, PAGE_QUEUED, PAGE_RESCAN, QA_AGREE, QA_ERROR, QA_PENDING, SHEET_STATUSES,
    ApiToken, Assignment, AuditEvent, Batch, EXPORT_DONE, EXPORT_RUNNING, Export, ExportSheet, FieldRow, Job, PageRow,
    Sheet, SourceFile, Template, User, WebSession, utcnow)
from ocr_service.vietnamese.text import entered, match_key

T = TypeVar("T")
DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Added(Generic[T]):
    """A row and whether this call created it (False: it existed, the call was a repeat)."""

    row: T
    created: bool

    @property
    def duplicate(self) -> bool:
        return not self.created


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a keyset-paginated listing; ``next`` is the cursor for the following page, None at the end."""

    items: list[T]
    next: str | None


@dataclass(frozen=True)
class ResultWrite:
    page_id: int
    status: str  # the page's status after the call
    sheet_id: int | None
    written: bool  # False: the page already had its result, nothing changed


# -- helpers --------------------------------------------------------------------------------------

def _insert_or_get(s: Session, row: T, lookup: Callable[[], T | None]) -> Added[T]:
    """Insert ``row`` unless ``lookup`` finds it; a concurrent insert of the same key (unique
    violation) is resolved by returning the winner's row."""
    found = lookup()
    if found is not None:
        return Added(found, False)
    try:
        with s.begin_nested():
            s.add(row)
        return Added(row, True)
    except IntegrityError:
        found = lookup()
        if found is None:
            raise
        return Added(found, False)


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        key = None
    if not isinstance(key, list) or len(key) != n or not all(isinstance(k, int) for k in key):
        raise InvalidRequestError(f"invalid page cursor {cursor[:40]!r} (pass back the 'next' of the page before)")
    return key


def _limit(limit: int) -> int:
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    return limit


def _paged_by_id(s: Session, q, model, after: str | None, limit: int) -> Paged:
    if after:
        (last,) = decode_cursor(after, 1)
        q = q.where(model.id > last)
    rows = list(s.scalars(q.order_by(model.id).limit(_limit(limit) + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Paged(rows, encode_cursor([rows[-1].id]) if more else None)


def _get(s: Session, model, ident: int, what: str):
    row = s.get(model, ident)
    if row is None:
        raise NotFoundError(f"no {what} with id {ident}")
    return row


# -- templates and batches ------------------------------------------------------------------------

def template_for(s: Session, ref: str) -> Template:
    """The template row for ``name@version``, created on first use."""
    name, sep, version = ref.partition("@")
    if not sep or not name or not version:
        raise NotFoundError(f"not a template reference (name@version): {ref!r}")
    lookup = lambda: s.scalars(select(Template).where(Template.name == name, Template.version == version)).first()  # noqa: E731
    return _insert_or_get(s, Template(name=name, version=version), lookup).row


def create_batch(s: Session, name: str, *, commune: str | None = None, village: str | None = None,
                 box_label: str | None = None, officer: str | None = None, expected_sheets: int | None = None,
                 template: str | None = None, priority: int = 0, created_by: str | None = None) -> Batch:
    """A new batch; ConflictError if the name is taken. ``template`` is ``name@version``, or None/'auto'."""
    tpl = template_for(s, template) if template and template != "auto" else None
    batch = Batch(name=name, commune=commune, village=village, box_label=box_label, officer=officer,
                  expected_sheets=expected_sheets, template_id=tpl.id if tpl else None, priority=priority,
                  created_by=created_by)
    try:
        with s.begin_nested():
            s.add(batch)
    except IntegrityError:
        raise ConflictError(f"a batch named {name!r} already exists") from None
    return batch


def get_batch(s: Session, batch: int | str) -> Batch:
    """A batch by id or by name."""
    if isinstance(batch, int):
        return _get(s, Batch, batch, "batch")
    row = s.scalars(select(Batch).where(Batch.name == batch)).first()
    if row is None:
        raise NotFoundError(f"no batch named {batch!r}")
    return row


def list_batches(s: Session, *, after: str | None = None, limit: int = 50) -> Paged[Batch]:
    return _paged_by_id(s, select(Batch), Batch, after, limit)


# -- files and pages ------------------------------------------------------------------------------

def add_file(s: Session, batch_id: int, *, sha256: str, original_name: str, size_bytes: int,
             media_type: str | None = None, created_by: str | None = None) -> Added[SourceFile]:
    """Record a file (already in the blob store) in a batch. The same bytes in the same batch give
    the existing row back with ``created=False`` (a duplicate upload)."""
    _get(s, Batch, batch_id, "batch")
    lookup = lambda: s.scalars(select(SourceFile).where(SourceFile.batch_id == batch_id,  # noqa: E731
                                                        SourceFile.sha256 == sha256)).first()
    row = SourceFile(batch_id=batch_id, sha256=sha256, original_name=original_name, size_bytes=size_bytes,
                     media_type=media_type, created_by=created_by)
    return _insert_or_get(s, row, lookup)


def get_file(s: Session, file_id: int) -> SourceFile:
    return _get(s, SourceFile, file_id, "file")


def list_files(s: Session, batch_id: int, *, after: str | None = None, limit: int = 100) -> Paged[SourceFile]:
    """The files of a batch in id order (the order they were added)."""
    return _paged_by_id(s, select(SourceFile).where(SourceFile.batch_id == batch_id), SourceFile, after, limit)


def get_page(s: Session, page_id: int) -> PageRow:
    return _get(s, PageRow, page_id, "page")


def _page(s: Session, file_id: int, page_no: int, *, lock: bool = False) -> PageRow | None:
    q = select(PageRow).where(PageRow.file_id == file_id, PageRow.page_no == page_no)
    if lock:
        q = q.with_for_update()
    return s.scalars(q).first()


def find_duplicate_page(s: Session, batch_id: int, *, sha256: str | None = None, serial: str | None = None,
                        exclude_page_id: int | None = None) -> PageRow | None:
    """The earliest page of the batch with the same image hash (any status but duplicate), or whose
    sheet carries the same serial (read: status ok). None if there is none."""
    conds = []
    if sha256:
        conds.append(and_(PageRow.sha256 == sha256, PageRow.status != PAGE_DUPLICATE))
    if serial:
        conds.append(and_(PageRow.serial == serial, PageRow.status == PAGE_OK))
    if not conds:
        return None
    q = select(PageRow).where(PageRow.batch_id == batch_id, or_(*conds))
    if exclude_page_id is not None:
        q = q.where(PageRow.id != exclude_page_id)
    return s.scalars(q.order_by(PageRow.id).limit(1)).first()


def _describe(s: Session, page: PageRow) -> str:
    f = s.get(SourceFile, page.file_id)
    return f"page {page.page_no} of file {f.original_name!r} (file {f.id})"


def mark_duplicate(s: Session, page: PageRow, of: PageRow, reason: str) -> PageRow:
    page.status, page.duplicate_of_page_id, page.reason, page.finished_at = PAGE_DUPLICATE, of.id, reason, utcnow()
    s.flush()
    return page


def add_pages(s: Session, file_id: int, pages: Iterable[dict], *, enqueue: bool = True,
              replaces: dict[int, int] | None = None) -> list[PageRow]:
    """Record the pages of a file (``{"page": n, "sha256": hash of the page image}`` each), once:
    a page already recorded is returned as it is. A page whose image is already in the batch is
    marked ``duplicate`` and not queued; the others are ``queued`` and, with ``enqueue``, get a page
    job (key ``page:<id>``). ``replaces`` maps a page number to the id of the page it rescans."""
    f = get_file(s, file_id)
    out = []
    for p in pages:
        page_no, sha = int(p["page"]), p.get("sha256") or None
        row = PageRow(file_id=f.id, batch_id=f.batch_id, page_no=page_no, sha256=sha, status=PAGE_QUEUED,
                      replaces_page_id=(replaces or {}).get(page_no))
        added = _insert_or_get(s, row, lambda: _page(s, f.id, page_no))
        page = added.row
        if added.created:
            dup = find_duplicate_page(s, f.batch_id, sha256=sha, exclude_page_id=page.id) if sha else None
            if dup is not None and dup.id < page.id:
                mark_duplicate(s, page, dup, f"same page image as {_describe(s, dup)}")
            elif enqueue:
                enqueue_job(s, "page", key=f"page:{page.id}", batch_id=f.batch_id, file_id=f.id, page_id=page.id)
        out.append(page)
    return out


def rescan_target(s: Session, batch_id: int, page_id: int) -> PageRow:
    """The page a rescan is to replace: a page of this batch waiting for a rescan (status rescan or
    error) that no later page replaces yet; NotFoundError or ConflictError naming why not."""
    page = s.get(PageRow, page_id)
    if page is None or page.batch_id != batch_id:
        raise NotFoundError(f"no page {page_id} in this batch")
    if page.status not in (PAGE_RESCAN, PAGE_ERROR):
        raise ConflictError(f"page {page_id} is {page.status}, not waiting for a rescan")
    later = s.scalars(select(PageRow.id).where(PageRow.replaces_page_id == page_id)).first()
    if later is not None:
        raise ConflictError(f"page {page_id} is already replaced by page {later}")
    return page


def list_pages(s: Session, file_id: int, *, after: str | None = None, limit: int = 100) -> Paged[PageRow]:
    return _paged_by_id(s, select(PageRow).where(PageRow.file_id == file_id), PageRow, after, limit)


# -- jobs -----------------------------------------------------------------------------------------

def enqueue_job(s: Session, kind: str, *, key: str, batch_id: int | None = None, file_id: int | None = None,
                page_id: int | None = None, payload: dict | None = None, max_attempts: int = 3) -> Added[Job]:
    """Queue a job once per idempotency ``key``: a second call returns the first job, ``created=False``."""
    if kind not in ("file", "page"):
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, idempotency_key=key, batch_id=batch_id, file_id=file_id, page_id=page_id,
              payload=payload or {}, max_attempts=max_attempts, status=JOB_QUEUED)
    return _insert_or_get(s, job, lambda: s.scalars(select(Job).where(Job.idempotency_key == key)).first())


def get_job(s: Session, job_id: int) -> Job:
    return _get(s, Job, job_id, "job")


def list_jobs(s: Session, batch_id: int, *, status: str | None = None, after: str | None = None,
              limit: int = 100) -> Paged[Job]:
    """The jobs of a batch in id order (of one status if given)."""
    q = select(Job).where(Job.batch_id == batch_id)
    if status is not None:
        q = q.where(Job.status == status)
    return _paged_by_id(s, q, Job, after, limit)


def claim_job(s: Session, owner: str, *, lease: dt.timedelta = DEFAULT_LEASE, kinds: Sequence[str] | None = None,
              batch_id: int | None = None, job_id: int | None = None,
              now: dt.datetime | None = None) -> Job | None:
    """Lease the oldest runnable job to ``owner``: a queued one, or a running one whose lease
    expired (its worker died). Exactly one concurrent claimer gets each job: the candidate is
    locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write sessions hold the database
    write lock), and the claim itself is a compare-and-set UPDATE checked by its row count. A job
    whose lease expired on its last allowed attempt is marked failed instead. None: nothing to do.
    ``kinds``, ``batch_id`` and ``job_id`` restrict the candidates (``job_id``: claim that job or
    nothing, as a Celery task does)."""
    now = now or utcnow()
    table = Job.__table__
    for _ in range(1000):
        q = select(Job).where(or_(Job.status == JOB_QUEUED,
                                  and_(Job.status == JOB_RUNNING, Job.lease_expires_at < now)))
        if kinds:
            q = q.where(Job.kind.in_(list(kinds)))
        if batch_id is not None:
            q = q.where(Job.batch_id == batch_id)
        if job_id is not None:
            q = q.where(Job.id == job_id)
        q = q.order_by(Job.id).limit(1).with_for_update(skip_locked=True)
        job = s.scalars(q).first()
        if job is None:
            return None
        same = and_(table.c.id == job.id, table.c.status == job.status, table.c.attempts == job.attempts)
        if job.status == JOB_RUNNING and job.attempts >= job.max_attempts:
            error = (f"gave up after {job.attempts} attempts: the lease of {job.lease_owner} expired "
                     f"(the worker died or hung)" + (f"; last error: {job.last_error}" if job.last_error else ""))
            s.execute(update(table).where(same).values(status=JOB_FAILED, last_error=error, lease_owner=None,
                                                       lease_expires_at=None, updated_at=now, finished_at=now))
            s.expire(job)
            continue
        res = s.execute(update(table).where(same).values(
            status=JOB_RUNNING, attempts=table.c.attempts + 1, lease_owner=owner, lease_expires_at=now + lease,
            updated_at=now))
        s.expire(job)
        if res.rowcount == 1:
            s.refresh(job)
            return job
    raise StoreError("could not claim a job: too much contention")


def _owned(s: Session, job_id: int, owner: str, values: dict) -> Job:
    table = Job.__table__
    res = s.execute(update(table).where(table.c.id == job_id, table.c.status == JOB_RUNNING,
                                        table.c.lease_owner == owner).values(**values))
    job = get_job(s, job_id)
    s.expire(job)
    if res.rowcount != 1:
        s.refresh(job)
        raise ConflictError(f"job {job_id} is not leased to {owner} (status {job.status}, "
                            f"lease owner {job.lease_owner})")
    s.refresh(job)
    return job


def renew_lease(s: Session, job_id: int, owner: str, *, lease: dt.timedelta = DEFAULT_LEASE,
                now: dt.datetime | None = None) -> Job:
    """Extend the lease of a running job (a heartbeat); ConflictError if it is no longer ours."""
    now = now or utcnow()
    return _owned(s, job_id, owner, dict(lease_expires_at=now + lease, updated_at=now))


def complete_job(s: Session, job_id: int, owner: str, *, now: dt.datetime | None = None) -> Job:
    now = now or utcnow()
    return _owned(s, job_id, owner, dict(status=JOB_DONE, lease_owner=None, lease_expires_at=None, last_error=None,
                                         updated_at=now, finished_at=now))


def fail_job(s: Session, job_id: int, owner: str, error: str, *, retry: bool = True,
             now: dt.datetime | None = None) -> Job:
    """Record a failed attempt: the job goes back to the queue, or is marked failed (with the
    error) once it has used ``max_attempts`` or when ``retry`` is False."""
    now = now or utcnow()
    job = get_job(s, job_id)
    last = not retry or job.attempts >= job.max_attempts
    reason = f"failed after {job.attempts} attempts: {error}" if last and retry else error
    return _owned(s, job_id, owner, dict(status=JOB_FAILED if last else JOB_QUEUED, last_error=reason,
                                         lease_owner=None, lease_expires_at=None, updated_at=now,
                                         finished_at=now if last else None))


def job_counts(s: Session, batch_id: int | None = None) -> dict[str, int]:
    """Jobs per status (every status key present), of one batch or of all."""
    q = select(Job.status, func.count()).group_by(Job.status)
    if batch_id is not None:
        q = q.where(Job.batch_id == batch_id)
    counts = dict(s.execute(q).all())
    return {st: counts.get(st, 0) for st in JOB_STATUSES}


def running_jobs(s: Session, batch_id: int | None = None) -> list[Job]:
    """The jobs leased right now (status running), oldest first."""
    q = select(Job).where(Job.status == JOB_RUNNING)
    if batch_id is not None:
        q = q.where(Job.batch_id == batch_id)
    return list(s.scalars(q.order_by(Job.id)))


def jobs_to_publish(s: Session, *, published_before: dt.datetime, created_before: dt.datetime,
                    now: dt.datetime | None = None, batch_id: int | None = None, limit: int = 1000) -> list[Job]:
    """Jobs a broker should be told about again: queued and never published (created before
    ``created_before``, so a publish still in flight is left alone) or last published before
    ``published_before``; and running jobs whose lease expired (their worker died)."""
    now = now or utcnow()
    queued = and_(Job.status == JOB_QUEUED,
                  or_(and_(Job.published_at.is_(None), Job.created_at < created_before),
                      Job.published_at < published_before))
    expired = and_(Job.status == JOB_RUNNING, Job.lease_expires_at < now,
                   or_(Job.published_at.is_(None), Job.published_at < published_before))
    q = select(Job).where(or_(queued, expired))
    if batch_id is not None:
        q = q.where(Job.batch_id == batch_id)
    return list(s.scalars(q.order_by(Job.id).limit(limit)))


def mark_published(s: Session, job_ids: Iterable[int], *, now: dt.datetime | None = None) -> None:
    """Record that these jobs were just sent to the broker."""
    ids = list(job_ids)
    if ids:
        s.execute(update(Job.__table__).where(Job.__table__.c.id.in_(ids)).values(published_at=now or utcnow()))


def unsettled_failures(s: Session, batch_id: int | None = None) -> list[Job]:
    """Failed jobs whose page still waits (status queued), or failed file jobs whose file has no
    page at all: the page must be marked so the batch does not wait for it forever."""
    page_waiting = exists().where(PageRow.id == Job.page_id, PageRow.status == PAGE_QUEUED)
    no_pages = ~exists().where(PageRow.file_id == Job.file_id)
    q = select(Job).where(Job.status == JOB_FAILED,
                          or_(and_(Job.kind == "page", page_waiting), and_(Job.kind == "file", no_pages)))
    if batch_id is not None:
        q = q.where(Job.batch_id == batch_id)
    return list(s.scalars(q.order_by(Job.id)))


def problem_pages(s: Session, batch_id: int, *, limit: int = 1000) -> list[tuple[PageRow, str]]:
    """The batch's pages that were not read (status rescan or error, not replaced by a rescan),
    with their file's display name, in id order."""
    later = aliased(PageRow)
    q = (select(PageRow, SourceFile.original_name).join(SourceFile, SourceFile.id == PageRow.file_id)
         .where(PageRow.batch_id == batch_id, PageRow.status.in_([PAGE_RESCAN, PAGE_ERROR]),
                ~exists().where(later.replaces_page_id == PageRow.id))
         .order_by(PageRow.id).limit(limit))
    return [(row, name) for row, name in s.execute(q).all()]


# -- results --------------------------------------------------------------------------------------

def _sheet_summary(statuses: Iterable[str]) -> tuple[str, int, int]:
    statuses = list(statuses)
    review = sum(1 for st in statuses if st == FIELD_REVIEW)
    if review:
        return FIELD_REVIEW, len(statuses), review
    reviewed = FIELD_VERIFIED in statuses or FIELD_REJECTED in statuses  # a reviewer decided something
    return (FIELD_VERIFIED if reviewed else FIELD_AUTO), len(statuses), 0


def qa_sampled(page_key: str, name: str, rate: float, *, purpose: str = "qa-sample") -> bool:
    """Whether QA sampling picks the field ``name`` of the page ``page_key`` (its image hash) at
    ``rate``: a hash of the two, so the choice is the same every time and on every worker, and
    cannot be told from anything a reviewer sees (the page hash is never shown). ``purpose``
    separates the draws: ``qa-sample`` for auto-accepted fields, ``qa-review`` for reviewers'
    decisions (so the two samples are independent)."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{purpose}\0{page_key}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < rate * 2 ** 64


def _page_key(page_sha256: str | None, file_sha256: str, page_no: int) -> str:
    """What QA sampling hashes for a page: its image hash (never shown to a reviewer)."""
    return page_sha256 or f"{file_sha256}:{page_no}"


def _review_sampled(s: Session, f: FieldRow, rate: float) -> bool:
    """Whether a reviewer's decision on ``f`` goes to reviewer QA (:func:`qa_sampled`, purpose ``qa-review``)."""
    if rate <= 0:
        return False
    row = s.execute(select(PageRow.sha256, SourceFile.sha256, PageRow.page_no).join(Sheet, Sheet.page_id == PageRow.id)
                    .join(SourceFile, SourceFile.id == PageRow.file_id).where(Sheet.id == f.sheet_id)).first()
    return row is not None and qa_sampled(_page_key(*row), f.name, rate, purpose="qa-review")


def write_result(s: Session, file_id: int, result: dict, *, now: dt.datetime | None = None,
                 qa_rate: float = 0.0) -> ResultWrite:
    """Store one page's result (``SheetResult.to_json()`` plus each field's ``kind`` and
    ``features``), keyed by (file, page number). A page that already has its result (status no
    longer ``queued``) is left as it is: writing twice is a no-op (``written=False``). An ``ok`` page
    whose serial was already read in the batch becomes ``duplicate`` with no second sheet; an ``ok``
    page with the serial of an earlier ``rescan`` page records that it replaces it. A share ``qa_rate``
    of the auto-accepted fields (:func:`qa_sampled`) is queued for blind QA (``qa_state`` pending)."""
    now = now or utcnow()
    f = get_file(s, file_id)
    page_no = int(result["page"])
    page = _page(s, f.id, page_no, lock=True)
    if page is None:  # e.g. a file that could not be opened at all: its error comes as page 0
        page = _insert_or_get(s, PageRow(file_id=f.id, batch_id=f.batch_id, page_no=page_no, status=PAGE_QUEUED,
                                         sha256=result.get("sha256") or None),
                              lambda: _page(s, f.id, page_no)).row
        page = _page(s, f.id, page_no, lock=True)
    if page.status != PAGE_QUEUED:
        sheet = s.scalars(select(Sheet.id).where(Sheet.page_id == page.id)).first()
        return ResultWrite(page.id, page.status, sheet, written=False)

    status = result.get("status")
    if status not in (PAGE_OK, PAGE_RESCAN, PAGE_ERROR):
        raise ValueError(f"page result status must be ok, rescan or error, not {status!r}")
    page.sha256 = page.sha256 or result.get("sha256") or None
    page.reason = result.get("reason") or None
    page.rotation = result.get("rotation")
    page.skew_deg = result.get("skew_deg")
    page.residual_px = result.get("residual_px")
    page.serial = result.get("serial") or None
    page.registration = result.get("transform") or None  # pages.registration: the numbers to redo it
    page.finished_at = now
    if status != PAGE_OK:
        page.status = status
        s.flush()
        return ResultWrite(page.id, page.status, None, written=True)

    same = [PageRow.serial == page.serial] if page.serial else []
    same += [PageRow.sha256 == page.sha256] if page.sha256 else []
    dup = s.scalars(select(PageRow).where(PageRow.batch_id == f.batch_id, PageRow.status == PAGE_OK,
                                          PageRow.id != page.id, or_(*same))
                    .order_by(PageRow.id).limit(1)).first() if same else None
    if dup is not None:
        why = (f"sheet serial {page.serial} already read on" if page.serial and dup.serial == page.serial
               else "same page image as")
        mark_duplicate(s, page, dup, f"{why} {_describe(s, dup)}")
        return ResultWrite(page.id, page.status, None, written=True)
    if page.serial and page.replaces_page_id is None:
        replaced = aliased(PageRow)
        earlier = s.scalars(
            select(PageRow).where(PageRow.batch_id == f.batch_id, PageRow.serial == page.serial,
                                  PageRow.status == PAGE_RESCAN, PageRow.id != page.id,
                                  ~exists().where(replaced.replaces_page_id == PageRow.id))
            .order_by(PageRow.id.desc()).limit(1)).first()
        if earlier is not None:
            page.replaces_page_id = earlier.id
    page.status = PAGE_OK

    template = template_for(s, result["template"])
    fields = result.get("fields") or []
    st, total, review = _sheet_summary(fd["status"] for fd in fields)
    sheet = Sheet(page_id=page.id, batch_id=f.batch_id, template_id=template.id, status=st, fields_total=total,
                  fields_review=review, created_at=now, updated_at=now)
    s.add(sheet)
    s.flush()
    page_key = _page_key(page.sha256, f.sha256, page_no)
    s.add_all(FieldRow(
        sheet_id=sheet.id, batch_id=f.batch_id, position=i, name=fd["name"], kind=fd.get("kind"),
        raw=fd.get("raw", fd.get("value", "")), value=fd.get("value", ""), suggestion=fd.get("suggestion"),
        candidates=list(fd.get("candidates") or []), engine=fd.get("engine") or None,
        confidence=float(fd.get("confidence", 0.0)), features=dict(fd.get("features") or {}),
        status=fd["status"], reasons=list(fd.get("reasons") or []), warnings=list(fd.get("warnings") or []),
        box_px=list(fd.get("box_px") or []),
        qa_state=QA_PENDING if fd["status"] == FIELD_AUTO and qa_sampled(page_key, fd["name"], qa_rate) else None)
        for i, fd in enumerate(fields))
    s.flush()
    return ResultWrite(page.id, page.status, sheet.id, written=True)


# -- status and listings --------------------------------------------------------------------------

def batch_status(s: Session, batch: int | str) -> dict:
    """``{"batch", "expected", "files", "pages", "sheets": {status: n}, "rescan", "failed",
    "duplicates", "jobs": {"queued", "running", "done", "failed"}}``. ``rescan`` and ``failed``
    count pages still waiting for a rescan (not replaced by a later page); ``failed`` is pages
    that could not be read (status error)."""
    b = get_batch(s, batch)
    files = s.scalar(select(func.count()).select_from(SourceFile).where(SourceFile.batch_id == b.id))
    later = aliased(PageRow)
    replaced = exists().where(later.replaces_page_id == PageRow.id)
    pages = dict(s.execute(select(PageRow.status, func.count()).where(PageRow.batch_id == b.id, ~replaced)
                           .group_by(PageRow.status)).all())
    total_pages = s.scalar(select(func.count()).select_from(PageRow).where(PageRow.batch_id == b.id))
    sheets = dict(s.execute(select(Sheet.status, func.count()).where(Sheet.batch_id == b.id)
                            .group_by(Sheet.status)).all())
    jobs = dict(s.execute(select(Job.status, func.count()).where(Job.batch_id == b.id).group_by(Job.status)).all())
    return {
        "batch": b.name,
        "expected": b.expected_sheets,
        "files": files,
        "pages": total_pages,
        "sheets": {st: sheets.get(st, 0) for st in SHEET_STATUSES},
        "rescan": pages.get(PAGE_RESCAN, 0),
        "failed": pages.get(PAGE_ERROR, 0),
        "duplicates": pages.get(PAGE_DUPLICATE, 0),
        "jobs": {st: jobs.get(st, 0) for st in JOB_STATUSES},
    }


def get_sheet(s: Session, sheet_id: int) -> Sheet:
    return _get(s, Sheet, sheet_id, "sheet")


def list_sheets(s: Session, batch_id: int | None = None, *, status: str | None = None, after: str | None = None,
                limit: int = 50, where=None) -> Paged[Sheet]:
    """Sheets in id order (a batch's, of one status if given, matching the condition ``where`` if
    given), ``limit`` at a time."""
    q = select(Sheet) if where is None else select(Sheet).where(where)
    if batch_id is not None:
        q = q.where(Sheet.batch_id == batch_id)
    if status is not None:
        q = q.where(Sheet.status == status)
    return _paged_by_id(s, q, Sheet, after, limit)


def list_fields(s: Session, *, sheet_id: int | None = None, batch_id: int | None = None, status: str | None = None,
                after: str | None = None, limit: int = 100, where=None) -> Paged[FieldRow]:
    """Fields in id order (on a sheet that is its position order), filtered as given (``where``: an
    extra condition)."""
    q = select(FieldRow) if where is None else select(FieldRow).where(where)
    if sheet_id is not None:
        q = q.where(FieldRow.sheet_id == sheet_id)
    if batch_id is not None:
        q = q.where(FieldRow.batch_id == batch_id)
    if status is not None:
        q = q.where(FieldRow.status == status)
    return _paged_by_id(s, q, FieldRow, after, limit)


def review_queue(s: Session, *, batch_id: int | None = None, after: str | None = None,
                 limit: int = 50, viewer: str | None = None) -> Paged[FieldRow]:
    """The review queue (:func:`queued`: fields needing review and QA samples waiting for an
    answer, served alike): batches of higher priority first, older batches before newer ones,
    then each batch's fields oldest first. With ``viewer``, without the reviewer-QA samples of that
    reviewer's own decisions (never theirs to answer). The cursor is (priority, batch id, field id).

    Walks the batches that have fields waiting, in that order, with two index range scans each
    (needing review: (batch, status); QA samples: (batch, qa_state)) merged by id, so a page costs
    the same at the head of a district's queue as deep inside it (no sort of the queue)."""
    limit = _limit(limit)
    prio, last_batch, last_field = decode_cursor(after, 3) if after else (None, None, 0)
    mine = [not_own_check(viewer)] if viewer is not None else []
    parts = (FieldRow.status == FIELD_REVIEW, and_(FieldRow.qa_state == QA_PENDING, *mine))
    waiting = or_(*[exists().where(FieldRow.batch_id == Batch.id, part) for part in parts])
    q = select(Batch.id, Batch.priority).where(waiting)
    if batch_id is not None:
        q = q.where(Batch.id == batch_id)
    if prio is not None:
        q = q.where(or_(Batch.priority < prio, and_(Batch.priority == prio, Batch.id >= last_batch)))
    items: list[FieldRow] = []
    keys: list[tuple[int, int]] = []
    for b_id, b_prio in s.execute(q.order_by(Batch.priority.desc(), Batch.id)):
        after_id = last_field if (b_prio, b_id) == (prio, last_batch) else 0
        want = limit + 1 - len(items)
        rows = sorted({f.id: f for part in parts for f in s.scalars(
            select(FieldRow).where(FieldRow.batch_id == b_id, part, FieldRow.id > after_id)
            .order_by(FieldRow.id).limit(want))}.values(), key=lambda f: f.id)[:want]
        items.extend(rows)
        keys.extend((b_prio, b_id) for _ in rows)
        if len(items) > limit:
            break
    more = len(items) > limit
    items, keys = items[:limit], keys[:limit]
    return Paged(items, encode_cursor([*keys[-1], items[-1].id]) if more else None)


def get_field(s: Session, field_id: int) -> FieldRow:
    return _get(s, FieldRow, field_id, "field")


def verify_field(s: Session, field_id: int, *, version: int, value: str, actor: str, source: str = "web",
                 status: str = FIELD_VERIFIED, note: str | None = None, lease_owner: str | None = None,
                 keys: int | None = None, qa_review_rate: float = 0.0, now: dt.datetime | None = None) -> FieldRow:
    """A reviewer's decision on a field, if the field is still at ``version`` (what the reviewer
    saw); otherwise ConflictError. ``status`` is ``verified`` (``value`` is the verified value) or
    ``rejected`` (e.g. unreadable; ``note`` says why); the value is kept as ``vietnamese.text.entered``
    gives it (NFC, spaces collapsed, no comma left at the end). With ``lease_owner``, the field must
    also still be leased to that reviewer (nobody else claimed it since): ConflictError otherwise. Bumps
    the version, ends the field's lease, updates the sheet's summary, audits (with ``keys``, the
    keystrokes the reviewer spent on it, when the page counted them).

    A QA-sampled field (``qa_state`` pending) is answered the same way but judged: an answer equal
    to the auto-accepted value (by ``match_key``) confirms it (``qa_state`` agree, status stays
    auto_accepted); any other answer, or unreadable, is an auto-accept error (``qa_state`` error) and
    becomes the field's verified (or rejected) value. Its audit event has source ``qa``.

    Reviewer QA: an ordinary decision is sampled at ``qa_review_rate`` (:func:`qa_sampled`, purpose
    ``qa-review``): it is stored as usual and also queued (``qa_state`` pending, ``qa_reviewer`` the
    decider) for a second, different reviewer, shown blind. The second answer is judged against the
    first: the same decision (unreadable both times, or values equal by ``match_key``) leaves the
    first decision as it is (``qa_state`` agree); any other is a QA finding against the first
    reviewer (``qa_state`` error) and the second answer becomes the field's decision. The first
    reviewer can never answer it (ConflictError). Audited with source ``qa``, ``new.qa`` and
    ``new.qa_of`` (the first reviewer)."""
    if status not in (FIELD_VERIFIED, FIELD_REJECTED):
        raise ValueError(f"a reviewer's decision is verified or rejected, not {status!r}")
    now = now or utcnow()
    value = entered(value)
    table = FieldRow.__table__
    old = get_field(s, field_id)
    before = {"status": old.status, "value": old.value, "verified_value": old.verified_value, "version": old.version}
    cond = [table.c.id == field_id, table.c.version == version]
    if lease_owner is not None:
        cond.append(table.c.lease_owner == lease_owner)
    extra: dict = {}
    qa = old.qa_state == QA_PENDING
    first = old.qa_reviewer if qa else None  # reviewer QA: whose decision this answer checks
    decision = dict(status=status, verified_value=value, verified_by=actor, verified_at=now, review_note=note)
    if first is not None:
        if actor == first:
            raise ConflictError(f"field {old.name} (id {field_id}) is a QA check of {actor}'s own decision: "
                                "another reviewer must answer it", field=old.name)
        agree = status == old.status and (status == FIELD_REJECTED or
                                          match_key(value) == match_key(old.verified_value or ""))
        extra = {"qa_state": QA_AGREE if agree else QA_ERROR}
        if agree:
            decision = {}  # the first decision stands
        source = "qa"
        cond.append(table.c.qa_state == QA_PENDING)
    elif qa:
        agree = status == FIELD_VERIFIED and match_key(value) == match_key(old.value)
        extra = {"qa_state": QA_AGREE if agree else QA_ERROR}
        decision["status"], source = (FIELD_AUTO if agree else status), "qa"
        cond.append(table.c.qa_state == QA_PENDING)
    elif _review_sampled(s, old, qa_review_rate):
        extra = {"qa_state": QA_PENDING, "qa_reviewer": actor}
    res = s.execute(update(table).where(*cond).values(
        **decision, lease_owner=None, lease_token=None, lease_expires_at=None, version=table.c.version + 1, **extra))
    s.expire(old)
    if res.rowcount != 1:
        s.refresh(old)
        if lease_owner is not None and old.lease_owner != lease_owner and old.version == version:
            raise LeaseLostError(f"field {old.name} (id {field_id}) is now leased to someone else", field=old.name)
        raise ConflictError(f"field {old.name} (id {field_id}) was changed by someone else: "
                            f"it is at version {old.version}, you edited version {version}", field=old.name)
    s.refresh(old)
    sheet = get_sheet(s, old.sheet_id)
    sheet.status, sheet.fields_total, sheet.fields_review = _sheet_summary(
        s.scalars(select(FieldRow.status).where(FieldRow.sheet_id == sheet.id)))
    sheet.updated_at = now
    new = {"status": old.status, "verified_value": value, "version": old.version}
    if note:
        new["note"] = note
    if qa:
        new["qa"] = extra["qa_state"]
    if first is not None:
        new["qa_of"] = first
    if keys is not None:
        new["keys"] = int(keys)
    add_audit(s, actor=actor, action="field.reject" if status == FIELD_REJECTED else "field.verify",
              entity_type="field", entity_id=field_id, old=before, new=new, source=source)
    return old


# -- review leases --------------------------------------------------------------------------------

REVIEW_LEASE = dt.timedelta(minutes=10)
POSTPONE_FOR = dt.timedelta(minutes=10)
GROUP_SIZE = 20


class LeaseLostError(ConflictError):
    """A save for a field whose lease moved on to another reviewer."""


def _free(now: dt.datetime):
    return or_(FieldRow.lease_expires_at.is_(None), FieldRow.lease_expires_at < now)


def queued(table=None):
    """The review queue's condition: a field needing review, or one sampled for QA and not yet
    answered (the two are served alike: docs/review.md, "blind")."""
    c = table.c if table is not None else FieldRow
    return or_(c.status == FIELD_REVIEW, c.qa_state == QA_PENDING)


def not_own_check(owner: str, table=None):
    """A condition: the field is not a reviewer-QA sample of ``owner``'s own decision (a reviewer is
    never given their own field to check). NULL-safe."""
    c = table.c if table is not None else FieldRow
    return or_(c.qa_reviewer.is_(None), c.qa_reviewer != owner, c.qa_state.is_(None), c.qa_state != QA_PENDING)


def same_column(key: str, table=None):
    """A condition: the field's review key (forms.model.column_key) is ``key``, i.e. it is one of a
    table column's cells (``members.full_name``: ``members.1.full_name`` … of any number of rows),
    or, for an ordinary field's name, that field."""
    c = table.c if table is not None else FieldRow
    col = split_column_key(key)
    if col is None:
        return c.name == key
    group, column = (v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for v in col)
    # names are snake_case (template.schema.json), so the only dotted names are cells and the
    # middle part is the row number
    return c.name.like(f"{group}.%.{column}", escape="\\")


def held_group(s: Session, owner: str, *, now: dt.datetime | None = None) -> list[FieldRow]:
    """The fields still needing review that ``owner`` holds under an unexpired group lease (id
    order; a sheet lease of sheet mode, token "sheet:…", is not a group)."""
    now = now or utcnow()
    return list(s.scalars(select(FieldRow).where(FieldRow.lease_owner == owner, queued(),
                                                 FieldRow.lease_expires_at >= now,
                                                 ~FieldRow.lease_token.startswith("sheet:"))
                          .order_by(FieldRow.id)))


def assignment_scope(a: Assignment):
    """The fields an assignment covers, as a condition on FieldRow."""
    conds = []
    if a.batch_id is not None:
        conds.append(FieldRow.batch_id == a.batch_id)
    if a.field_name is not None:
        conds.append(same_column(a.field_name))
    return and_(*conds) if conds else FieldRow.id.isnot(None)


def active_assignments(s: Session, reviewer: str | None = None) -> list[Assignment]:
    """Assignments not withdrawn (of one reviewer if given), the batches of higher priority first."""
    q = (select(Assignment).outerjoin(Batch, Batch.id == Assignment.batch_id).where(Assignment.ended_at.is_(None)))
    if reviewer is not None:
        q = q.where(Assignment.reviewer == reviewer)
    return list(s.scalars(q.order_by(Batch.priority.desc().nullslast(), Assignment.batch_id, Assignment.id)))


def claim_group(s: Session, owner: str, *, batch_id: int | None = None, size: int = GROUP_SIZE,
                lease: dt.timedelta = REVIEW_LEASE, now: dt.datetime | None = None) -> list[FieldRow]:
    """Lease a group of fields to ``owner``: one field name (for a table's cells, one column:
    :func:`same_column`) across up to ``size`` sheets of one batch, in id order (sheet by sheet, row by row).
    Work assigned to ``owner`` (:func:`active_assignments`) comes first; then the queue without the
    work assigned to others; then, so nothing waits on an absent reviewer, anything. Within each,
    the batch of highest priority (then oldest) whose oldest waiting field is free. A reviewer who
    still holds an unexpired group gets that back. Free: queued (:func:`queued`: needing review or
    sampled for QA), with no lease or an expired one, and not postponed by this owner in the last
    POSTPONE_FOR. Two concurrent claimers never get the same field: candidates are locked ``FOR
    UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write sessions hold the write lock) and the claim
    is a compare-and-set UPDATE; each claimer then reads back the rows carrying its new random lease
    token. [] when nothing is free."""
    now = now or utcnow()
    held = held_group(s, owner, now=now)
    if held:
        return held
    assigned = active_assignments(s)
    others = [assignment_scope(a) for a in assigned if a.reviewer != owner]
    # (scope, batch): the claimer's assignments (a batch assignment probes only its batch), then the
    # queue without others' assignments, then anything
    scopes = [(assignment_scope(a), a.batch_id) for a in assigned if a.reviewer == owner
              if batch_id is None or a.batch_id in (None, batch_id)]
    scopes.append((and_(*[~c for c in others]) if others else None, None))
    if others:
        scopes.append((None, None))
    for scope, only in scopes:
        got = _claim_in(s, owner, scope, batch_id=only if only is not None else batch_id, size=size, lease=lease,
                        now=now)
        if got:
            return got
    return []


def _claim_in(s: Session, owner: str, scope, *, batch_id: int | None, size: int, lease: dt.timedelta,
              now: dt.datetime) -> list[FieldRow]:
    table = FieldRow.__table__
    not_mine_postponed = or_(FieldRow.postponed_by.is_(None), FieldRow.postponed_by != owner,  # (NULL-safe)
                             FieldRow.postponed_at.is_(None), FieldRow.postponed_at <= now - POSTPONE_FOR)
    free = [_free(now), not_mine_postponed, not_own_check(owner)]
    if scope is not None:
        free.append(scope)
    batches = select(Batch.id).order_by(Batch.priority.desc(), Batch.id)
    if batch_id is not None:
        batches = batches.where(Batch.id == batch_id)
    for _ in range(100):
        # The head of the queue: batch by batch in queue order, the oldest free field needing review
        # and the oldest free QA sample (each an index range scan in id order: (batch, status) and
        # (batch, qa_state)), so a claim costs the same with 100,000 fields queued as with 10.
        head = None
        for b_id in s.scalars(batches).all():
            firsts = [s.execute(select(FieldRow.id, FieldRow.name).where(FieldRow.batch_id == b_id, cond, *free)
                                .order_by(FieldRow.id).limit(1)).first()
                      for cond in (FieldRow.status == FIELD_REVIEW, FieldRow.qa_state == QA_PENDING)]
            firsts = [tuple(f) for f in firsts if f is not None]
            if firsts:
                head = (b_id, min(firsts)[1])
                break
        if head is None:
            return []
        b_id, name = head
        ids = list(s.scalars(select(FieldRow.id).where(FieldRow.batch_id == b_id, same_column(column_key(name)), queued(),
                                                       *free)
                             .order_by(FieldRow.id).limit(size).with_for_update(skip_locked=True)))
        if not ids:
            continue
        token = secrets.token_hex(16)
        s.execute(update(table).where(table.c.id.in_(ids), queued(table),
                                      or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now))
                  .values(lease_owner=owner, lease_token=token, lease_expires_at=now + lease))
        got = list(s.scalars(select(FieldRow).where(FieldRow.lease_token == token).order_by(FieldRow.id)
                             .execution_options(populate_existing=True)))
        if got:
            return got
    raise StoreError("could not claim review fields: too much contention")


def renew_review_lease(s: Session, owner: str, *, lease: dt.timedelta = REVIEW_LEASE, now: dt.datetime | None = None) -> int:
    """Extend every unexpired lease ``owner`` holds; the number of fields still held."""
    now = now or utcnow()
    table = FieldRow.__table__
    res = s.execute(update(table).where(table.c.lease_owner == owner, queued(table),
                                        table.c.lease_expires_at >= now).values(lease_expires_at=now + lease))
    return res.rowcount


def postpone_field(s: Session, field_id: int, owner: str, *, now: dt.datetime | None = None) -> bool:
    """Give a leased field back to the queue (for others now; for ``owner`` after POSTPONE_FOR).
    False if ``owner`` no longer held it."""
    now = now or utcnow()
    table = FieldRow.__table__
    res = s.execute(update(table).where(table.c.id == field_id, table.c.lease_owner == owner, queued(table))
                    .values(lease_owner=None, lease_token=None, lease_expires_at=None, postponed_by=owner,
                            postponed_at=now))
    if res.rowcount == 1:
        add_audit(s, actor=owner, action="field.postpone", entity_type="field", entity_id=field_id, source="reviewer")
    return res.rowcount == 1


def release_leases(s: Session, owner: str) -> int:
    """Give back every field ``owner`` holds (at logout)."""
    table = FieldRow.__table__
    res = s.execute(update(table).where(table.c.lease_owner == owner, queued(table))
                    .values(lease_owner=None, lease_token=None, lease_expires_at=None))
    return res.rowcount


# -- browser sessions -----------------------------------------------------------------------------

SESSION_SEEN_RESOLUTION = dt.timedelta(minutes=1)


def create_session(s: Session, user_id: int, *, max_age: dt.timedelta, ip: str | None = None,
                   now: dt.datetime | None = None) -> tuple[str, WebSession]:
    """A new browser session: the random token for the cookie (never stored) and its row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = WebSession(token_sha256=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
                     expires_at=now + max_age, ip=(ip or "")[:100] or None)
    s.add(row)
    s.flush()
    return token, row


def session_user(s: Session, token: str, *, idle: dt.timedelta, now: dt.datetime | None = None) -> WebSession | None:
    """The live session for a cookie token, its last use recorded (to the minute); None if unknown,
    ended, past its absolute expiry, idle too long, or its user is inactive."""
    now = now or utcnow()
    row = s.scalars(select(WebSession).where(WebSession.token_sha256 == token_hash(token))).first()
    if (row is None or row.ended_at is not None or row.expires_at <= now or now - row.last_seen_at > idle
            or not row.user.active):
        return None
    if now - row.last_seen_at >= SESSION_SEEN_RESOLUTION:
        row.last_seen_at = now
    return row


def end_session(s: Session, token: str, *, now: dt.datetime | None = None) -> WebSession | None:
    row = s.scalars(select(WebSession).where(WebSession.token_sha256 == token_hash(token))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = now or utcnow()
    return row


def count_audit(s: Session, *, action: str, entity_type: str, entity_id: str, since: dt.datetime) -> int:
    return s.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id, AuditEvent.action == action,
        AuditEvent.at >= since))


# -- audit, users, tokens, exports ----------------------------------------------------------------

def add_audit(s: Session, *, actor: str, action: str, entity_type: str, entity_id: int | str,
              old: dict | None = None, new: dict | None = None, source: str) -> AuditEvent:
    event = AuditEvent(actor=actor, action=action, entity_type=entity_type, entity_id=str(entity_id), old=old,
                       new=new, source=source)
    s.add(event)
    s.flush()
    return event


def list_audit(s: Session, *, entity_type: str | None = None, entity_id: int | str | None = None,
               after: str | None = None, limit: int = 100) -> Paged[AuditEvent]:
    q = select(AuditEvent)
    if entity_type is not None:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        q = q.where(AuditEvent.entity_id == str(entity_id))
    return _paged_by_id(s, q, AuditEvent, after, limit)


def create_user(s: Session, username: str, *, role: str, password_hash: str | None = None) -> User:
    """A user; ``password_hash`` is computed by the caller (the auth module), never stored plain."""
    user = User(username=username, role=role, password_hash=password_hash, active=True)
    try:
        with s.begin_nested():
            s.add(user)
    except IntegrityError:
        raise ConflictError(f"a user named {username!r} already exists") from None
    return user


def get_user(s: Session, username: str) -> User:
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


def list_users(s: Session, *, after: str | None = None, limit: int = 100) -> Paged[User]:
    return _paged_by_id(s, select(User), User, after, limit)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user_id: int, name: str) -> tuple[str, ApiToken]:
    """A new random API token for a user: the token (shown once, never stored) and its row."""
    _get(s, User, user_id, "user")
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_sha256=token_hash(token), name=name, user_id=user_id)
    s.add(row)
    s.flush()
    return token, row


TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


def user_for_token(s: Session, token: str, *, now: dt.datetime | None = None) -> User:
    """The active user a token belongs to; AuthError otherwise. The token's last use is recorded to
    the minute: a request reads, and only the first one in a minute writes (on SQLite every write
    takes the database's one write lock, which the workers need)."""
    row = s.scalars(select(ApiToken).where(ApiToken.token_sha256 == token_hash(token))).first()
    if row is None or row.revoked_at is not None or not row.user.active:
        raise AuthError("unknown, revoked or inactive API token")
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now
    return row.user


def revoke_token(s: Session, token_id: int, *, now: dt.datetime | None = None) -> ApiToken:
    row = _get(s, ApiToken, token_id, "API token")
    row.revoked_at = row.revoked_at or now or utcnow()
    return row


def record_export(s: Session, *, filter: dict, template: str | None, mapping_version: str | None,
                  record_count: int, files: list[dict], created_by: str | None) -> Export:
    """Record an export run: ``files`` is ``[{"name", "sha256", "size"}]`` of what was written."""
    row = Export(filter=filter, template_id=template_for(s, template).id if template else None,
                 mapping_version=mapping_version, record_count=record_count, files=files, created_by=created_by)
    s.add(row)
    s.flush()
    return row



# -- exports (docs/export.md) ---------------------------------------------------------------------

def _exported_complete():
    """A clause: the sheet went out complete in a finished export."""
    return exists().where(ExportSheet.sheet_id == Sheet.id, ExportSheet.complete.is_(True),
                          Export.id == ExportSheet.export_id, Export.status == EXPORT_DONE)


def exported_sheet_ids(s: Session, sheet_ids: Iterable[int] | None = None) -> set[int]:
    """The ids of the sheets (of ``sheet_ids``, or all) that a finished export included complete
    (not as a pending sheet). An interrupted or failed export counts for nothing."""
    q = (select(ExportSheet.sheet_id).join(Export, Export.id == ExportSheet.export_id)
         .where(ExportSheet.complete.is_(True), Export.status == EXPORT_DONE).distinct())
    if sheet_ids is None:
        return set(s.scalars(q))
    ids, out = list(sheet_ids), set()
    for i in range(0, len(ids), 500):
        out.update(s.scalars(q.where(ExportSheet.sheet_id.in_(ids[i:i + 500]))))
    return out


def _candidates(q, *, template_id: int, batch_ids: Sequence[int] | None, since: dt.datetime | None,
                include_exported: bool, include_pending: bool):
    q = q.where(Sheet.template_id == template_id)
    if batch_ids:
        q = q.where(Sheet.batch_id.in_(list(batch_ids)))
    if since is not None:
        q = q.where(Sheet.updated_at >= since)
    if not include_pending:
        q = q.where(Sheet.status.in_([FIELD_AUTO, FIELD_VERIFIED]),
                    ~exists().where(FieldRow.sheet_id == Sheet.id, FieldRow.status.in_([FIELD_REVIEW, FIELD_REJECTED])))
    if not include_exported:
        q = q.where(~_exported_complete())
    return q


def count_export_candidates(s: Session, **filters) -> int:
    """How many sheets :func:`export_candidates` would give in all (same keyword filters)."""
    return s.scalar(_candidates(select(func.count()).select_from(Sheet), **filters))


def export_candidates(s: Session, *, template_id: int, batch_ids: Sequence[int] | None = None,
                      since: dt.datetime | None = None, include_exported: bool = False,
                      include_pending: bool = False, after_id: int = 0, limit: int = 500) -> list[tuple[Any, list[Any]]]:
    """The next ``limit`` sheets (id order, ids above ``after_id``) an export takes, as rows
    ``(id, batch_id, status)`` each with its fields ``(name, value, verified_value, status)`` in
    position order (only these columns: an export reads millions of fields). The sheets: of the
    template (of the batches, updated at or after ``since``), by default only those whose every
    field is auto-accepted or verified (``include_pending``: every sheet) and not exported complete
    before (``include_exported``: those too)."""
    q = _candidates(select(Sheet.id, Sheet.batch_id, Sheet.status), template_id=template_id, batch_ids=batch_ids,
                    since=since, include_exported=include_exported,
                    include_pending=include_pending).where(Sheet.id > after_id)
    sheets = list(s.execute(q.order_by(Sheet.id).limit(limit)))
    if not sheets:
        return []
    by_sheet: dict[int, list[Any]] = {sh.id: [] for sh in sheets}
    for f in s.execute(select(FieldRow.sheet_id, FieldRow.name, FieldRow.value, FieldRow.verified_value,
                              FieldRow.status).where(FieldRow.sheet_id.in_(list(by_sheet)))
                       .order_by(FieldRow.sheet_id, FieldRow.position)):
        by_sheet[f.sheet_id].append(f)
    return [(sh, by_sheet[sh.id]) for sh in sheets]


def create_export(s: Session, *, filter: dict, template: str, format: str, mapping_version: str | None,
                  mapping_sha256: str | None, created_by: str | None, owner: str | None,
                  now: dt.datetime | None = None) -> Export:
    """A new export run, status ``running``."""
    row = Export(filter=filter, template_id=template_for(s, template).id, format=format,
                 mapping_version=mapping_version, mapping_sha256=mapping_sha256, created_by=created_by,
                 owner=owner, status=EXPORT_RUNNING, created_at=(now or utcnow()).replace(microsecond=0))
    s.add(row)
    s.flush()
    return row


def running_exports(s: Session, template_id: int | None = None) -> list[Export]:
    q = select(Export).where(Export.status == EXPORT_RUNNING)
    if template_id is not None:
        q = q.where(Export.template_id == template_id)
    return list(s.scalars(q.order_by(Export.id)))


def add_export_sheets(s: Session, export_id: int, sheet_ids: Iterable[int], *, complete: bool = True) -> None:
    """Record sheets an export wrote (once each)."""
    rows = [{"export_id": export_id, "sheet_id": i, "complete": complete} for i in sheet_ids]
    if rows:
        s.execute(ExportSheet.__table__.insert(), rows)


def get_export(s: Session, export_id: int) -> Export:
    return _get(s, Export, export_id, "export")


def list_exports(s: Session, *, before: int | None = None, limit: int = 50) -> list[Export]:
    """Exports newest first (ids below ``before`` if given)."""
    q = select(Export)
    if before is not None:
        q = q.where(Export.id < before)
    return list(s.scalars(q.order_by(Export.id.desc()).limit(_limit(limit))))


def sheet_origins(s: Session, sheet_ids: Sequence[int]) -> dict[int, dict]:
    """Where each sheet comes from: ``{sheet_id: {"page_id", "page_no", "file", "batch_id"}}``
    (``file`` is the uploader's display name)."""
    q = (select(Sheet.id, PageRow.id, PageRow.page_no, SourceFile.original_name, Sheet.batch_id)
         .join(PageRow, PageRow.id == Sheet.page_id).join(SourceFile, SourceFile.id == PageRow.file_id)
         .where(Sheet.id.in_(list(sheet_ids))))
    return {sid: {"page_id": pid, "page_no": no, "file": name, "batch_id": bid}
            for sid, pid, no, name, bid in s.execute(q)}
