"""The Celery executor, selected when ``broker_url`` is set (``redis://…``).

Unlike paperless-ngx's defaults: messages are acknowledged late, after the task ran, and rejected
back to the queue when the worker process running them is lost (an OOM kill), so a killed worker
loses nothing; each worker process prefetches one message; messages are JSON only (no pickle);
worker processes are not replaced after every task. Tasks are thin (``tasks.process_job``): they
claim their job in the database and run the shared job code, so a task delivered twice is a no-op.

**The database is the source of truth**, not the broker: jobs are published after their commit,
and :class:`Reconciler` (run by ``ocr-service worker`` in a thread, on start and every 30 s)
publishes again what the broker may have lost: jobs never published (a crash between commit and
publish), queued jobs when the broker's queue is empty or shorter than the database says (a Redis
restarted without persistence), and running jobs whose lease expired.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading

from celery import Celery
from sqlalchemy import func, select

from ocr_service.service.jobs import work
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import JOB_QUEUED, JOB_RUNNING, Job, utcnow
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

log = logging.getLogger(__name__)

QUEUE = "ocr-service"
TASK = "ocr_service.process_job"
RECONCILE_EVERY = 30.0  # seconds
NEW_JOB_GRACE = dt.timedelta(seconds=5)  # a just-committed job may still be being published

app = Celery("ocr_service", set_as_current=False)
app.conf.update(
    task_acks_late=True,  # acknowledge after the task ran …
    task_reject_on_worker_lost=True,  # … and put it back if the process running it died
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_default_queue=QUEUE,
    worker_max_tasks_per_child=None,  # engines load once per process and stay
    worker_hijack_root_logger=False,
    worker_cancel_long_running_tasks_on_connection_loss=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": 3600},
    task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
    imports=["ocr_service.service.jobs.tasks"],
)

_SETTINGS: list[Settings] = []


def configure(settings: Settings) -> Celery:
    """Bind the app to the settings' broker (and remember the settings for the worker processes)."""
    _SETTINGS[:] = [settings]
    app.conf.broker_url = settings.broker_url
    return app


def settings() -> Settings:
    if not _SETTINGS:
        raise RuntimeError("celery_app.configure(settings) was not called in this process")
    return _SETTINGS[0]


def publish(store: Store, job_ids: list[int] | tuple[int, ...]) -> int:
    """Send one ``process_job`` message per job, then record when. A broker that cannot be reached
    is logged, not raised: the jobs stay in the database and the reconciler publishes them later."""
    sent = []
    try:  # a connection of its own (to the broker configured now), not one of a pool
        with app.connection_for_write() as conn, conn.Producer() as producer:
            for job_id in job_ids:
                app.send_task(TASK, args=[int(job_id)], queue=QUEUE, producer=producer)
                sent.append(job_id)
    except Exception as exc:  # noqa: BLE001 - kombu/redis raise many kinds; the database keeps the job
        log.warning("could not publish %d job(s) to the broker (%s); the reconciler will", len(job_ids) - len(sent),
                    exc)
    if sent:
        with store.session() as s:
            repo.mark_published(s, sent)
    return len(sent)


def workers_answering(timeout: float = 1.0) -> int:
    """How many Celery workers answer a ping on the configured broker (0 if none, or no broker)."""
    try:
        return len(app.control.ping(timeout=timeout) or [])
    except Exception as exc:  # noqa: BLE001 - an unreachable broker has no worker either
        log.warning("could not ping the workers: %s", exc)
        return 0


def broker_depth() -> int | None:
    """Messages waiting in the broker's queue (0 if the queue does not exist, e.g. after a Redis
    restart); None if the broker cannot be reached."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            ch = conn.default_channel
            try:
                return ch.queue_declare(queue=QUEUE, passive=True).message_count
            except Exception:  # noqa: BLE001 - the queue (its binding) is gone: nothing waits in it
                return 0
    except Exception as exc:  # noqa: BLE001
        log.warning("broker unreachable: %s", exc)
        return None


def reconcile(store: Store, every: float = RECONCILE_EVERY, now: dt.datetime | None = None) -> int:
    """Publish again what the broker may have lost; returns how many jobs were published."""
    now = now or utcnow()
    work.release_dead(store)
    work.settle_failures(store)
    depth = broker_depth()
    if depth is None:
        return 0
    stale = now - dt.timedelta(seconds=every)
    with store.session(write=False) as s:
        never = [j.id for j in repo.jobs_to_publish(s, published_before=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc),
                                                    created_before=now - NEW_JOB_GRACE, now=now)]
        waiting = s.scalar(select(func.count()).select_from(Job).where(Job.status == JOB_QUEUED,
                                                                      Job.published_at.is_not(None)))
        running = s.scalar(select(func.count()).select_from(Job).where(Job.status == JOB_RUNNING))
        # Each busy worker process may hold one more message it prefetched: allow one per running job.
        missing = waiting - depth - running
        again: list[int] = []
        if depth == 0 or missing > 0:
            q = (select(Job.id).where(Job.status == JOB_QUEUED, Job.published_at < stale)
                 .order_by(Job.published_at.desc(), Job.id))
            if depth > 0:  # a broker restored from an older snapshot lost the newest messages
                q = q.limit(missing)
            again = list(s.scalars(q))
        expired = [j.id for j in repo.jobs_to_publish(s, published_before=stale, created_before=now - NEW_JOB_GRACE,
                                                      now=now) if j.status == JOB_RUNNING]
    ids = sorted(set(never) | set(again) | set(expired))
    if ids:
        log.info("reconciler: publishing %d job(s) again (broker queue depth %s)", len(ids), depth)
        return publish(store, ids)
    return 0


class Reconciler(threading.Thread):
    """Runs :func:`reconcile` now and every ``every`` seconds until stopped."""

    def __init__(self, store: Store, every: float = RECONCILE_EVERY):
        super().__init__(name="reconciler", daemon=True)
        self.store, self.every = store, every
        self._stop_event = threading.Event()
        self.runs = 0

    def run(self) -> None:
        while True:
            try:
                reconcile(self.store, self.every)
            except Exception as exc:  # noqa: BLE001 - keep reconciling; the next run may succeed
                log.warning("reconciler: %s", exc)
            self.runs += 1
            if self._stop_event.wait(self.every):
                return

    def stop(self) -> None:
        self._stop_event.set()


def worker_argv(concurrency: int, loglevel: str = "INFO") -> list[str]:
    return ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-Q", QUEUE,
            f"--hostname=ocr-service-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--pool=prefork"]
