"""What the ``ingest``, ``worker`` and ``status`` commands call: open the store, make sure a batch
exists, send files through intake, and run a batch's jobs on the executor the settings choose
(the local pool; or, with a broker URL, Celery workers, which this process only publishes to and
waits for)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from kombu.utils.url import sanitize_url

from ocr_service.errors import ConflictError, NotFoundError, OcrServiceError, WorkerUnavailableError
from ocr_service.forms import loader
from ocr_service.service import intake
from ocr_service.service.jobs import work
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import utcnow
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
NO_WORKER_AFTER = 20.0  # seconds without progress before asking whether any worker is listening


def open_service_store(settings: Settings) -> Store:
    """The installation's store: the configured database, or the embedded SQLite file under the
    data dir, created on first run. An older schema raises SchemaOutdatedError (run ``db upgrade``)."""
    return open_store(settings.database_url or None, settings.data_dir, create=True)


def template_ref(settings: Settings, template: str | None) -> str:
    """``name@version`` of a template name or reference, or 'auto'."""
    if not template or template == "auto":
        return "auto"
    return loader.load(template, settings.templates_dir).id


def ensure_batch(store: Store, settings: Settings, name: str, *, template: str | None = "auto",
                 expected: int | None = None, commune: str | None = None, village: str | None = None,
                 box: str | None = None, officer: str | None = None, actor: str = "cli") -> tuple[int, bool]:
    """The batch named ``name`` (its id, and whether this call created it). An existing batch keeps
    its details; asking for another template than the one it has is a ConflictError."""
    ref = template_ref(settings, template)
    for _ in range(2):
        with store.session() as s:
            try:
                b = repo.get_batch(s, name)
            except NotFoundError:
                pass
            else:
                have = b.template.ref if b.template is not None else "auto"
                if have != ref:
                    raise ConflictError(f"batch {name!r} reads its sheets as {have}, not {ref}: "
                                        f"use --template {have}, or another batch name")
                return b.id, False
        try:
            with store.session() as s:
                b = repo.create_batch(s, name, commune=commune, village=village, box_label=box, officer=officer,
                                      expected_sheets=expected, template=None if ref == "auto" else ref,
                                      created_by=actor)
                repo.add_audit(s, actor=actor, action="batch.create", entity_type="batch", entity_id=b.id,
                               new={"name": name, "template": ref, "expected": expected}, source="cli")
                return b.id, True
        except ConflictError:  # created by a concurrent ingest a moment ago: use it
            continue
    raise ConflictError(f"could not create or find batch {name!r}")


@dataclass
class Intake:
    received: list[intake.Received] = field(default_factory=list)
    refused: list[tuple[str, OcrServiceError]] = field(default_factory=list)


def receive_paths(store: Store, settings: Settings, batch_id: int, paths: Iterable[Path], *, actor: str = "cli",
                  on_refused: Callable[[str, OcrServiceError], None] | None = None,
                  replaces: int | None = None) -> Intake:
    """Every file through ``intake.receive_file`` (by its bytes; the name is display text only). A
    refused file is reported to ``on_refused`` and the others go on. ``replaces``: see receive_file."""
    out = Intake()
    for path in paths:
        shown = str(path)
        try:
            with open(path, "rb") as fh:
                out.received.append(intake.receive_file(store, batch_id, path.name, fh, actor=actor,
                                                        max_bytes=settings.max_file_bytes, replaces=replaces))
        except OSError as exc:
            err = OcrServiceError(f"cannot read: {exc.strerror or exc}", file=shown)
            out.refused.append((shown, err))
            if on_refused:
                on_refused(shown, err)
        except OcrServiceError as exc:
            if exc.code != "input_unreadable":
                raise
            err = type(exc)(exc.reason, file=shown, page=exc.page)
            out.refused.append((shown, err))
            if on_refused:
                on_refused(shown, err)
    return out


def run_batch(store: Store, settings: Settings, batch_id: int, *,
              on_progress: Callable[[work.Progress], None] | None = None, workers: int | None = None,
              poll: float = 0.25, no_worker_after: float = NO_WORKER_AFTER) -> work.Progress:
    """Run the batch's jobs until none is queued or running: on the local pool, or (broker URL set)
    by publishing them to the Celery workers and waiting for the database to say they are done.

    With a broker, when nothing has moved for ``no_worker_after`` seconds and no worker answers a
    ping, raises WorkerUnavailableError rather than waiting forever; the jobs stay queued (and
    published) and run when a worker starts."""
    first = work.progress(store, batch_id)
    if first.idle:  # nothing to do (a repeated ingest): no worker to start
        if on_progress:
            on_progress(first)
        return first
    if not settings.broker_url:
        from ocr_service.service.jobs.local import LocalPool

        return LocalPool(settings, settings.database, workers).run_until_idle(batch_id, on_progress)
    from ocr_service.service.jobs import celery_app

    celery_app.configure(settings)
    with store.session(write=False) as s:  # the batch's jobs never published yet (the new file jobs)
        jobs = [j.id for j in repo.jobs_to_publish(s, published_before=NEVER, created_before=utcnow(),
                                                   batch_id=batch_id, limit=100_000)]
    celery_app.publish(store, jobs)
    last, moved_at = None, time.monotonic()
    while True:
        p = work.progress(store, batch_id)
        if p.counts != last:
            if on_progress:
                on_progress(p)
            last, moved_at = p.counts, time.monotonic()
        if p.idle:
            return p
        if time.monotonic() - moved_at >= no_worker_after:
            if not celery_app.workers_answering():
                raise WorkerUnavailableError(
                    f"no Celery worker answers on the broker {sanitize_url(settings.broker_url)}: the batch's "
                    f"queued jobs stay queued and run when `ocr-service worker` starts "
                    f"(`ocr-service status {batch_id}` shows them)")
            moved_at = time.monotonic()  # a worker is there, just busy: look again later
        time.sleep(poll)


def dispatch(store: Store, settings: Settings, job_ids: Iterable[int]) -> None:
    """Hand new jobs to whatever runs them: the local pool finds them in the database by itself;
    Celery workers are sent one message each (the reconciler resends any that get lost)."""
    ids = list(job_ids)
    if settings.broker_url and ids:
        from ocr_service.service.jobs import celery_app

        celery_app.configure(settings)
        celery_app.publish(store, ids)


@contextlib.contextmanager
def background_jobs(settings: Settings, store: Store) -> Iterator[object]:
    """What ``serve`` runs beside the API for its lifetime: with no broker, a local worker pool over
    every batch (the embedded default: no other service needed); with a broker, nothing (the Celery
    workers and their reconciler do the work)."""
    if settings.broker_url:
        yield None
        return
    from ocr_service.service.jobs.local import LocalPool

    pool = LocalPool(settings, settings.database).start()
    try:
        yield pool
    finally:
        pool.stop()
