"""Celery with a real Redis and real `ocr-service worker` processes: a worker process SIGKILLed
mid-batch, then a new worker; Redis restarted without persistence (its queue lost) while jobs are
queued, and the reconciler getting every job done. SQLite and PostgreSQL stores.

redis-server (Debian's `redis-server` package) and the PostgreSQL server binaries are required:
these tests fail, not skip, without them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import pg
from jobs_helpers import (SAMPLES, assert_each_page_once, cli_env, cli_popen, owner_pid, running_page_job,
                          wait_for)
from ocr_service.service import intake
from ocr_service.service.jobs import celery_app, work
from ocr_service.service.store import open_store, repository as repo
from ocr_service.settings import Settings
from store_fixtures import pg_cluster  # noqa: F401

DC01 = sorted(p for p in (SAMPLES / "dc01").iterdir() if p.suffix in (".jpg", ".pdf"))


class RedisServer:
    """redis-server on a free port of 127.0.0.1, without persistence, stopped by its pid."""

    def __init__(self, exe: str, workdir: Path):
        self.exe, self.dir, self.port = exe, workdir, pg.free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.dir.mkdir(exist_ok=True)
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)],
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._ping, 20, "redis-server to answer")
        return self

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                c.sendall(b"PING\r\n")
                return c.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found: install Debian's `redis-server` package (scripts/setup.sh does); "
                    "these tests must run, not skip")
    server = RedisServer(exe, tmp_path / "redis").start()
    yield server
    server.stop()


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


class Workers:
    """`ocr-service worker` processes started by a test, each stopped by its pid (and its pool
    processes by theirs) at the end."""

    def __init__(self, env: dict[str, str], logdir: Path):
        self.env, self.logdir, self.procs = env, logdir, []

    def start(self) -> subprocess.Popen:
        proc = cli_popen(["worker", "--workers", "2", "--reconcile-every", "2", "--loglevel", "INFO"], self.env,
                         self.logdir / f"worker{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 30) -> None:
        kids = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # warm shutdown: finish the running tasks
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("worker*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc, timeout=10)


@pytest.fixture
def workers_for(tmp_path):
    started: list[Workers] = []

    def make(env):
        w = Workers(env, tmp_path)
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop_all()


def _setup(tmp_path, broker_url: str, database_url: str = ""):
    settings = Settings(data_dir=tmp_path / "data", engines="fake", broker_url=broker_url, database_url=database_url)
    store = open_store(database_url or None, settings.data_dir, create=True)
    with store.session() as s:
        batch_id = repo.create_batch(s, "box", template="dc01@tt66-2015").id
    env = cli_env(settings.data_dir, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_BROKER_URL=broker_url,
                  OCR_TEST_JOB_DELAY="0.4")
    if database_url:
        env["OCR_SERVICE_DATABASE_URL"] = database_url
    return settings, store, batch_id, env


def _send(settings, store, batch_id) -> None:
    """Intake every sample, then publish the new jobs after their commit (what `ingest` does)."""
    celery_app.configure(settings)
    jobs = [intake.receive_file(store, batch_id, p.name, p.read_bytes(), actor="test", max_bytes=10**8).job_id
            for p in DC01]
    assert celery_app.publish(store, jobs) == len(jobs)


def test_celery_worker_killed_mid_batch_then_a_new_worker(tmp_path, redis_server, workers_for):
    settings, store, batch_id, env = _setup(tmp_path, redis_server.url)
    workers = workers_for(env)
    first = workers.start()
    _send(settings, store, batch_id)
    job = wait_for(lambda: running_page_job(store), 90, "a running page job")
    child = owner_pid(job)
    assert child in _descendants(first.pid)  # a pool process of the worker, not the worker itself
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: (j := _job(store, job.id)) and (j.status != "running" or j.lease_owner != job.lease_owner),
             60, "the killed job to be taken up again")
    workers.stop(first)
    workers.start()
    wait_for(lambda: work.progress(store, batch_id).idle, 120, f"the batch to finish\n{workers.log()[-3000:]}")
    counts = assert_each_page_once(store, batch_id, fields_per_sheet=46)
    assert counts["ok"] == len(DC01)
    assert _job(store, job.id).attempts >= 2
    store.close()


def test_broker_restart_loses_the_queue_and_the_reconciler_recovers(tmp_path, redis_server, workers_for,
                                                                   pg_cluster):  # noqa: F811
    url = pg_cluster.create_database()
    settings, store, batch_id, env = _setup(tmp_path, redis_server.url, url)
    workers = workers_for(env)
    workers.start()
    _send(settings, store, batch_id)
    wait_for(lambda: work.progress(store, batch_id).counts["done"] >= 2, 90, "a first file and its page done")
    assert work.progress(store, batch_id).counts["queued"] >= 1  # jobs still in the queue we are about to lose
    redis_server.stop()  # no persistence: every message is gone
    time.sleep(1)
    redis_server.start()
    wait_for(lambda: work.progress(store, batch_id).idle, 150,
             f"the reconciler to get every job done\n{workers.log()[-3000:]}")
    counts = assert_each_page_once(store, batch_id, fields_per_sheet=46)
    assert counts["ok"] == len(DC01)
    assert "reconciler: publishing" in workers.log()
    store.close()


def _job(store, job_id):
    with store.session(write=False) as s:
        return repo.get_job(s, job_id)


def test_run_batch_with_a_broker_and_no_worker_stops_with_a_clear_error(tmp_path, redis_server, workers_for):
    """`ingest` with a broker URL used to wait forever when no worker listened; now it says so, the
    jobs stay queued, and a worker started later does them."""
    from ocr_service.errors import WorkerUnavailableError
    from ocr_service.service.jobs import runner

    settings, store, batch_id, env = _setup(tmp_path, redis_server.url)
    for p in DC01:
        intake.receive_file(store, batch_id, p.name, p.read_bytes(), actor="test", max_bytes=10**8)
    started = time.monotonic()
    with pytest.raises(WorkerUnavailableError) as err:
        runner.run_batch(store, settings, batch_id, no_worker_after=1.0)
    assert time.monotonic() - started < 30
    assert err.value.code == "no_worker" and err.value.exit_code == 15
    assert redis_server.url in err.value.message and "ocr-service worker" in err.value.message
    assert work.progress(store, batch_id).counts["queued"] == len(DC01)  # nothing lost, nothing run
    workers_for(env).start()
    done = runner.run_batch(store, settings, batch_id, no_worker_after=60.0)
    assert done.idle
    assert assert_each_page_once(store, batch_id, fields_per_sheet=46)["ok"] == len(DC01)
    store.close()
