"""The embedded executor: a local pool of worker processes claiming jobs from the database.

Each worker process opens its own store, builds its pipelines once (``work.pipeline_for``), and
loops: claim a job (atomically, with a lease), run it with a heartbeat renewing the lease, repeat;
with nothing to claim it sleeps a moment. Workers come from a ``forkserver`` (a clean process that
imported the pipeline once), so no SQLAlchemy engine or thread of the parent is ever forked.

A supervisor thread in the parent restarts a worker that died (an OOM kill, a segfault in an
engine) and gives its job back at once, counting the attempt, instead of waiting for the lease to
expire. On start, jobs left ``running`` by a process of this host that is gone are given back
too; those of other hosts come back when their lease expires.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing as mp
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ocr_service.errors import OcrServiceError, StoreError
from ocr_service.service.jobs import work
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

log = logging.getLogger(__name__)

POLL = 0.2  # seconds between claims when the queue is empty
TERM_GRACE = 2.0  # seconds a worker stopped by SIGTERM waits for the pool's own shutdown before its restart
MAX_QUICK_DEATHS = 5  # a worker dying this often in a row without holding a job: give up


def _worker_main(settings: Settings, url: str, token: str, batch_id: int | None, stop, lease_s: float,
                 poll: float, environ: dict[str, str]) -> None:
    """One worker process: claim, run, repeat until ``stop`` is set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us cleanly
    os.environ.clear()  # the parent's environment now, not the forkserver's from when it started
    os.environ.update(environ)
    owner = local_owner(os.getpid(), token)
    store = open_store(url, settings.data_dir, check=False)
    lease = dt.timedelta(seconds=lease_s)
    try:
        while not stop.is_set():
            try:
                outcome = work.claim_and_run(store, settings, owner, batch_id=batch_id, lease=lease)
            except StoreError as exc:  # the database is busy or away: try again shortly
                log.warning("worker %s: %s", owner, exc)
                outcome = None
                time.sleep(1)
            if outcome is None:
                stop.wait(poll)
    finally:
        store.close()


class StopFlag:
    """A stop signal shared with the worker processes, without a lock: one shared byte. A
    multiprocessing Event guards its state with a lock, and a worker killed while inside
    ``is_set``/``wait`` (kill -9, or a SIGTERM sent to the whole process group) leaves that lock held:
    every other worker, and the parent's ``set`` at shutdown, then block for ever."""

    def __init__(self, ctx) -> None:
        self._value = ctx.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def clear(self) -> None:
        self._value.value = 0

    def is_set(self) -> bool:
        return self._value.value == 1

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking soon after the flag is set; whether it is."""
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.is_set()


def local_owner(pid: int, token: str) -> str:
    return f"{socket.gethostname()}/{pid}/local-{token}"


@dataclass
class _Slot:
    index: int
    proc: mp.process.BaseProcess
    token: str
    started: float
    quick_deaths: int = 0

    @property
    def owner(self) -> str:
        return local_owner(self.proc.pid, self.token)


class LocalPool:
    """N worker processes (``workers``; None or 0: the settings', whose 0 is one per core) over the
    store at ``store_url`` (default: the settings' database).

    ``run_until_idle(batch)`` runs until the batch (or every batch) has no queued or running job;
    ``start()`` / ``stop()`` run the pool in the background (``serve``, ``worker``)."""

    def __init__(self, settings: Settings, store_url: str | None = None, workers: int | None = None, *,
                 lease: dt.timedelta = work.LEASE, poll: float = POLL):
        self.settings = settings
        self.url = store_url or settings.database
        self.workers = workers or settings.workers or os.cpu_count() or 1
        self.lease = lease
        self.poll = poll
        self.batch_id: int | None = None
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["ocr_service.service.jobs.work"])
        self._stop = StopFlag(self._ctx)
        self._slots: list[_Slot] = []
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._store: Store | None = None
        self.fatal: str | None = None
        self.restarts = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, batch_id: int | None = None) -> "LocalPool":
        """Give back jobs of dead local processes, start the workers and the supervisor."""
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one Tesseract thread per process: read at its load
        self.batch_id = batch_id
        self._store = open_store(self.url, self.settings.data_dir, check=False)
        work.release_dead(self._store)
        work.settle_failures(self._store)
        self._stop.clear()
        self._stopping.clear()
        self._slots = [self._spawn(i) for i in range(self.workers)]
        self._supervisor = threading.Thread(target=self._supervise, name="pool-supervisor", daemon=True)
        self._supervisor.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Let every worker finish its current job, then stop (terminating stragglers after ``timeout``)."""
        self._stopping.set()
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        deadline = time.monotonic() + timeout
        for slot in self._slots:
            slot.proc.join(max(0.0, deadline - time.monotonic()))
        for slot in self._slots:
            if slot.proc.is_alive():
                slot.proc.terminate()
                slot.proc.join(5)
            if slot.proc.exitcode not in (0, None):
                self._give_back(slot)
        self._slots = []
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "LocalPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots if s.proc.pid]

    # -- running a batch ---------------------------------------------------------------------------

    def run_until_idle(self, batch: int | None = None, on_progress: Callable[[work.Progress], None] | None = None,
                       poll: float = 0.25) -> work.Progress:
        """Run the jobs of ``batch`` (an id; None: of every batch) until none is queued or running.
        ``on_progress`` gets the job counts as they change. Raises OcrServiceError if the workers
        cannot run at all (they keep dying at start)."""
        self.start(batch)
        last = None
        try:
            while True:
                p = work.progress(self._store, batch)
                if on_progress and p.counts != last:
                    on_progress(p)
                    last = p.counts
                if p.idle:
                    work.settle_failures(self._store, batch)
                    return work.progress(self._store, batch)
                if self.fatal:
                    raise OcrServiceError(self.fatal)
                time.sleep(poll)
        finally:
            self.stop()

    # -- supervision -------------------------------------------------------------------------------

    def _spawn(self, index: int) -> _Slot:
        token = secrets.token_hex(3)
        proc = self._ctx.Process(target=_worker_main, name=f"ocr-worker-{index}",
                                 args=(self.settings, self.url, token, self.batch_id, self._stop,
                                       self.lease.total_seconds(), self.poll, dict(os.environ)), daemon=True)
        proc.start()
        return _Slot(index, proc, token, time.monotonic())

    def _give_back(self, slot: _Slot) -> int:
        """Give back the jobs a dead worker held (counting the attempt); returns how many."""
        code = slot.proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        n = 0
        try:
            with self._store.session(write=False) as s:
                held = [j.id for j in repo.running_jobs(s) if j.lease_owner == slot.owner]
            for job_id in held:
                work.give_back(self._store, job_id, slot.owner, f"{work.DIED} (process {slot.proc.pid}, {how})")
                n += 1
        except OcrServiceError as exc:  # the database is away: the lease will expire instead
            log.warning("could not give back the jobs of worker %s: %s", slot.owner, exc)
        return n

    def _supervise(self) -> None:
        while not self._stopping.wait(0.1):
            for i, slot in enumerate(self._slots):
                if slot.proc.is_alive() or self._stopping.is_set():
                    continue
                slot.proc.join()
                # a SIGTERM to the whole process group (serve under a supervisor or `timeout`) reaches the
                # workers before the server's own shutdown reaches the pool: wait a moment for that
                # shutdown rather than start a worker only to stop it again
                if slot.proc.exitcode == -signal.SIGTERM and self._stopping.wait(TERM_GRACE):
                    return
                held = self._give_back(slot)
                log.warning("worker %s died (exit code %s) holding %d job(s); restarting it",
                            slot.proc.pid, slot.proc.exitcode, held)
                quick = held == 0 and time.monotonic() - slot.started < 10
                deaths = slot.quick_deaths + 1 if quick else 0
                if deaths >= MAX_QUICK_DEATHS:
                    self.fatal = (f"worker processes keep dying at start (exit code {slot.proc.exitcode}); "
                                  "see the log above")
                    return
                new = self._spawn(slot.index)
                new.quick_deaths = deaths
                self._slots[i] = new
                self.restarts += 1
