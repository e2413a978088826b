"""The job logic, one code path for both executors (the local pool and Celery tasks).

Plain functions over the store. A worker process claims a job (``claim_and_run``), runs it under a
lease it keeps renewing (:class:`Heartbeat`), and commits the job's effect and the job's completion
in one transaction, so a process killed at any moment either left nothing (the job is run again) or
left everything (the job is done). Every effect is idempotent besides: pages are keyed by (file,
page number), a result by its page, a job by its key.

- a **file job** splits a stored file into pages: each page's pixel hash (``load_pages``), then
  ``add_pages`` (duplicates flagged, one page job each). A file that cannot be read gets an
  ``error`` page (page 0, or the page where reading stopped) with the reason.
- a **page job** reads its one page (``load_page``), runs the pipeline on it and writes the result.

A job whose input is bad (InputFileError, TemplateError) is done, its page marked ``error`` with
the reason: retrying would give the same answer. Any other exception, or the worker dying, counts
an attempt; after ``max_attempts`` (3) the job is ``failed`` and its page is marked ``error`` ("worker
died 3 times on this page", or the last error), so it never blocks its batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ocr_service.errors import ConflictError, InputFileError, NotFoundError, TemplateError
from ocr_service.pipeline.build import SheetReader, build_pipeline
from ocr_service.pipeline.ingest import Page, load_page, load_pages
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import (JOB_DONE, JOB_FAILED, JOB_FILE, JOB_QUEUED, JOB_RUNNING, PAGE_QUEUED,
                                              Job, PageRow)
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)  # renewed every LEASE / 4 while a job runs
INPUT_ERRORS = (InputFileError, TemplateError)  # the input's fault: the page is marked, not retried
DIED = "worker died"
# Test hooks (not settings): a page job of a file whose name contains $OCR_TEST_CRASH_ON makes its
# worker process exit at once (an OOM kill); $OCR_TEST_JOB_DELAY seconds of sleep in every page job.
CRASH_ENV, DELAY_ENV = "OCR_TEST_CRASH_ON", "OCR_TEST_JOB_DELAY"


@dataclass(frozen=True)
class Outcome:
    """What one claimed job came to: ``done``, ``queued`` (an attempt failed; it will be retried),
    ``failed`` (no attempts left) or ``lost`` (the lease went to another worker: nothing written).
    ``enqueued``: jobs to publish to a broker now (new page jobs, or this job again)."""

    job_id: int
    kind: str
    status: str
    enqueued: tuple[int, ...] = ()
    error: str = ""


# -- owners -----------------------------------------------------------------------------------------

def owner_id(kind: str = "local") -> str:
    """This process's lease-owner name: ``host/pid/kind-random`` (the pid lets a supervisor on the
    same host tell that the owner is gone)."""
    return f"{socket.gethostname()}/{os.getpid()}/{kind}-{secrets.token_hex(3)}"


def owner_gone(owner: str | None) -> bool:
    """True if ``owner`` names a process on this host that no longer exists. False when it is alive,
    on another host, or not one of our names (then only its lease expiring frees its job)."""
    host, _, rest = (owner or "").partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is gone too
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


# -- pipelines, one per process and template reference ---------------------------------------------

_PIPELINES: dict[tuple, SheetReader] = {}


_STAMPS: dict[tuple, tuple] = {}


def _thresholds_stamp(settings: Settings) -> tuple:
    """The thresholds files beside the templates with their change times: a new calibration
    (``calibrate --from-reviews`` replaces the file atomically) changes it."""
    root = Path(settings.templates_dir)
    try:
        return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.glob("*/*.thresholds.*.json")))
    except OSError:
        return ()


def pipeline_for(settings: Settings, template: str) -> SheetReader:
    """The pipeline for a batch's template (``name@version`` or ``auto``), built once per process and
    again when a thresholds file changed, so the next page read uses new thresholds."""
    key = (os.getpid(), template, settings.engines, str(settings.templates_dir), settings.tessdata,
           settings.max_file_bytes, settings.max_page_pixels)
    stamp = _thresholds_stamp(settings)
    if key not in _PIPELINES or _STAMPS.get(key) != stamp:
        _PIPELINES[key] = build_pipeline(template, settings.engines, None, settings)
        _STAMPS[key] = stamp
    return _PIPELINES[key]


def batch_template(s, batch_id: int) -> str:
    b = repo.get_batch(s, batch_id)
    return b.template.ref if b.template is not None else "auto"


# -- the lease heartbeat ------------------------------------------------------------------------------

class Heartbeat:
    """Renews a job's lease every ``lease / 4`` in a thread while the job runs. If the lease was
    lost (another worker reclaimed the job) it stops; the job's final commit then fails and writes
    nothing."""

    def __init__(self, store: Store, job_id: int, owner: str, lease: dt.timedelta = LEASE):
        self.store, self.job_id, self.owner, self.lease = store, job_id, owner, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)
        self.lost = False

    def _run(self) -> None:
        every = max(self.lease.total_seconds() / 4, 0.05)
        while not self._stop.wait(every):
            try:
                with self.store.session() as s:
                    repo.renew_lease(s, self.job_id, self.owner, lease=self.lease)
            except ConflictError:
                self.lost = True
                return
            except Exception as exc:  # noqa: BLE001 - a failed renewal is retried at the next beat
                log.warning("job %s: could not renew the lease: %s", self.job_id, exc)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# -- claiming and running --------------------------------------------------------------------------------

def claim_and_run(store: Store, settings: Settings, owner: str, *, job_id: int | None = None,
                  batch_id: int | None = None, lease: dt.timedelta = LEASE,
                  decoded: Page | None = None) -> Outcome | None:
    """Claim a job (that job, with ``job_id``; else the oldest runnable one, of ``batch_id`` if
    given) and run it. None: nothing to claim (a job already done, or leased to a live worker, is
    left alone: running a task twice is a no-op)."""
    if job_id is not None:
        release_dead(store, job_id=job_id)
    with store.session() as s:
        job = repo.claim_job(s, owner, lease=lease, batch_id=batch_id, job_id=job_id)
        for failed in repo.unsettled_failures(s, batch_id):  # e.g. a lease that expired on its last attempt
            settle(s, failed)
        if job is None:
            return None
        job_id, kind = job.id, job.kind
    return run_claimed(store, settings, job_id, kind, owner, lease=lease, decoded=decoded)


def run_claimed(store: Store, settings: Settings, job_id: int, kind: str, owner: str, *,
                lease: dt.timedelta = LEASE, decoded: Page | None = None) -> Outcome:
    """Run a job leased to ``owner``: its effect and its completion are one transaction. ``decoded``:
    the page a page job reads, when the caller has it decoded already."""
    try:
        with Heartbeat(store, job_id, owner, lease):
            if kind == JOB_FILE:
                enqueued = file_job(store, settings, job_id, owner)
            else:
                enqueued = page_job(store, settings, job_id, owner, decoded=decoded)
        return Outcome(job_id, kind, JOB_DONE, tuple(enqueued))
    except ConflictError as exc:
        if "not leased to" in exc.reason:
            return Outcome(job_id, kind, "lost", error=exc.reason)
        return give_back(store, job_id, owner, f"ConflictError: {exc.reason}")
    except Exception as exc:  # noqa: BLE001 - any failure counts an attempt; the job is retried
        log.exception("job %s (%s) failed", job_id, kind)
        return give_back(store, job_id, owner, f"{type(exc).__name__}: {exc}")


def give_back(store: Store, job_id: int, owner: str, error: str) -> Outcome:
    """Record a failed attempt of a job leased to ``owner`` (an exception, or the worker died): the
    job goes back to the queue, or, out of attempts, is failed with its page marked."""
    try:
        with store.session() as s:
            job = repo.fail_job(s, job_id, owner, error)
            if job.status == JOB_FAILED:
                settle(s, job)
            status, kind = job.status, job.kind
    except ConflictError as exc:
        return Outcome(job_id, "", "lost", error=exc.reason)
    return Outcome(job_id, kind, status, (job_id,) if status == JOB_QUEUED else (), error)


def release_dead(store: Store, *, job_id: int | None = None, batch_id: int | None = None) -> list[Outcome]:
    """Give back the running jobs (that one, or all, or a batch's) whose lease owner is a process of
    this host that no longer exists, at once rather than when the lease expires."""
    out = []
    with store.session(write=False) as s:
        if job_id is not None:
            try:
                jobs = [repo.get_job(s, job_id)]
            except NotFoundError:
                return []
            jobs = [j for j in jobs if j.status == JOB_RUNNING]
        else:
            jobs = repo.running_jobs(s, batch_id)
        dead = [(j.id, j.lease_owner) for j in jobs if owner_gone(j.lease_owner)]
    for jid, owner in dead:
        pid = (owner or "").split("/")[1] if owner and owner.count("/") >= 2 else "?"
        out.append(give_back(store, jid, owner, f"{DIED} (process {pid} is gone)"))
    return out


def settle(s, job: Job) -> None:
    """Mark the page of a failed job ``error`` (a failed file job: its page 0), so the batch does
    not wait for it."""
    error = job.last_error or "failed"
    reason = (f"{DIED} {job.attempts} times on this page" if DIED in error
              else f"failed {job.attempts} times on this page: {error}")
    if job.kind == JOB_FILE:
        if not s.scalars(select(PageRow.id).where(PageRow.file_id == job.file_id).limit(1)).first():
            reason = reason.replace("on this page", "on this file")
            repo.write_result(s, job.file_id, {"page": 0, "status": "error", "reason": reason, "template": ""})
        return
    page = s.get(PageRow, job.page_id)
    if page is not None and page.status == PAGE_QUEUED:
        repo.write_result(s, page.file_id, {"page": page.page_no, "status": "error", "reason": reason,
                                            "template": ""})


def settle_failures(store: Store, batch_id: int | None = None) -> int:
    with store.session() as s:
        jobs = repo.unsettled_failures(s, batch_id)
        for job in jobs:
            settle(s, job)
        return len(jobs)


# -- the two kinds of job ----------------------------------------------------------------------------------

def file_job(store: Store, settings: Settings, job_id: int, owner: str) -> list[int]:
    """Split a stored file into pages; returns the new page jobs."""
    with store.session(write=False) as s:
        job = repo.get_job(s, job_id)
        f = repo.get_file(s, job.file_id)
        file_id, sha = f.id, f.sha256
        replaces = (job.payload or {}).get("replaces")
    path = store.blobs.path(sha)
    pages, error, first = [], None, None
    try:
        for page in load_pages(path, max_bytes=settings.max_file_bytes, max_pixels=settings.max_page_pixels):
            pages.append({"page": page.page_no, "sha256": page.sha256})
            first = page if len(pages) == 1 else None  # only a one-page file's image is kept (memory)
            del page
    except InputFileError as exc:
        error = exc
    with store.session() as s:
        repo.complete_job(s, job_id, owner)
        repo.add_pages(s, file_id, pages, replaces={1: int(replaces)} if replaces else None)
        if error is not None:
            repo.write_result(s, file_id, {"page": error.page or 0, "status": "error", "reason": error.reason,
                                           "template": ""})
        new = list(s.scalars(select(Job.id).where(Job.file_id == file_id, Job.kind == "page",
                                                  Job.status == JOB_QUEUED, Job.published_at.is_(None))
                             .order_by(Job.id)))
    if first is not None and error is None and len(new) == 1:
        # One page (one scan per sheet is the common case): read it now with the image already
        # decoded instead of decoding it again in another job. Claimed like any job, so a crash here
        # gives it back and it is retried on its own.
        claim_and_run(store, settings, owner, job_id=new[0], decoded=first)
        with store.session(write=False) as s:
            new = [j for j in new if repo.get_job(s, j).status == JOB_QUEUED]
    return new


def page_job(store: Store, settings: Settings, job_id: int, owner: str, *, decoded: Page | None = None) -> list[int]:
    """Read one page (``decoded``, when the caller has its image already) and store its result."""
    with store.session(write=False) as s:
        job = repo.get_job(s, job_id)
        page = s.get(PageRow, job.page_id)
        f = repo.get_file(s, page.file_id)
        file_id, page_no, sha, name, status = f.id, page.page_no, f.sha256, f.original_name, page.status
        template = batch_template(s, f.batch_id)
    if status != PAGE_QUEUED:  # its result is already stored (a repeat after a crash)
        with store.session() as s:
            repo.complete_job(s, job_id, owner)
        return []
    _test_hooks(name)
    try:
        reader = pipeline_for(settings, template)
        loaded = decoded if decoded is not None and decoded.page_no == page_no else load_page(
            store.blobs.path(sha), page_no, max_bytes=settings.max_file_bytes, max_pixels=settings.max_page_pixels)
        result = reader.process_page(loaded).to_record()
    except INPUT_ERRORS as exc:
        result = {"page": page_no, "status": "error", "reason": exc.reason, "template": ""}
    result["file"] = name
    with store.session() as s:
        repo.complete_job(s, job_id, owner)
        repo.write_result(s, file_id, result, qa_rate=settings.qa_sample_rate)
    return []


def _test_hooks(name: str) -> None:
    delay = os.environ.get(DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    crash = os.environ.get(CRASH_ENV)
    if crash and crash in name:
        os._exit(70)


@dataclass
class Progress:
    """Jobs of a batch (or of all batches) by status, for progress bars."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.counts.get(JOB_DONE, 0) + self.counts.get(JOB_FAILED, 0)

    @property
    def idle(self) -> bool:
        return self.counts.get(JOB_QUEUED, 0) + self.counts.get(JOB_RUNNING, 0) == 0


def progress(store: Store, batch_id: int | None = None) -> Progress:
    with store.session(write=False) as s:
        return Progress(repo.job_counts(s, batch_id))
