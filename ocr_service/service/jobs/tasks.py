"""The Celery task: thin. It claims its job in the database and runs the shared job code
(``work.py``); the job's pipeline is built once per worker process and kept."""

from __future__ import annotations

import logging
import os

from celery.signals import worker_process_init

from ocr_service.service.jobs import celery_app, work
from ocr_service.service.store import open_store
from ocr_service.service.store.store import Store

log = logging.getLogger(__name__)

_PROCESS: dict[str, object] = {}  # this worker process's store and lease-owner name


@worker_process_init.connect
def _fresh_process(**_kw) -> None:
    """A forked worker process must not use its parent's database connections."""
    inherited = _PROCESS.get("store")
    if isinstance(inherited, Store):
        inherited.engine.dispose(close=False)
    _PROCESS.clear()


def _context() -> tuple[Store, str]:
    if _PROCESS.get("pid") != os.getpid():
        settings = celery_app.settings()
        _PROCESS.update(pid=os.getpid(), owner=work.owner_id("celery"),
                        store=open_store(settings.database_url or None, settings.data_dir, check=False))
    return _PROCESS["store"], _PROCESS["owner"]  # type: ignore[return-value]


@celery_app.app.task(name=celery_app.TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_job(job_id: int) -> str:
    """Run job ``job_id`` if it is still to do (queued, or leased to a worker that is gone);
    a job already done, failed, or running under a live lease is left alone."""
    store, owner = _context()
    outcome = work.claim_and_run(store, celery_app.settings(), owner, job_id=int(job_id))
    if outcome is None:
        return "skipped"
    if outcome.enqueued:
        celery_app.publish(store, outcome.enqueued)
    return outcome.status
