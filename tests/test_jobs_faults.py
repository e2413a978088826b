"""kill -9 loses nothing and duplicates nothing: the local pool with a worker SIGKILLed mid-batch, a
page that kills its worker every time, and two `ingest` processes writing one SQLite batch at once."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from jobs_helpers import (SAMPLES, assert_each_page_once, cli_env, cli_popen, owner_pid, running_page_job,
                          status_json, wait_for)
from ocr_service.service import intake
from ocr_service.service.jobs import work
from ocr_service.service.jobs.local import LocalPool
from ocr_service.service.store import open_store, repository as repo
from ocr_service.service.store.models import Job, PageRow, SourceFile
from ocr_service.settings import Settings

DC01 = sorted(p for p in (SAMPLES / "dc01").iterdir() if p.suffix in (".jpg", ".pdf"))


@pytest.fixture
def batch(tmp_path):
    settings = Settings(data_dir=tmp_path, engines="fake", workers=2)
    store = open_store(None, tmp_path, create=True)
    with store.session() as s:
        batch_id = repo.create_batch(s, "box", template="dc01@tt66-2015").id
    for p in DC01:
        intake.receive_file(store, batch_id, p.name, p.read_bytes(), actor="test", max_bytes=10**8)
    yield settings, store, batch_id
    store.close()


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(batch, monkeypatch):
    settings, store, batch_id = batch
    monkeypatch.setenv(work.DELAY_ENV, "0.4")  # pages take long enough to be caught mid-job
    pool = LocalPool(settings, settings.database, 2).start(batch_id)
    try:
        job = wait_for(lambda: running_page_job(store), 60, "a running page job")
        victim = owner_pid(job)
        assert victim in pool.pids
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: work.progress(store, batch_id).idle, 120, "the batch to finish")
        restarts = pool.restarts
    finally:
        pool.stop()
    assert restarts >= 1
    counts = assert_each_page_once(store, batch_id, fields_per_sheet=46)
    assert counts["ok"] == len(DC01)
    with store.session(write=False) as s:
        killed = repo.get_job(s, job.id)
    assert killed.status == "done" and killed.attempts == 2


def test_a_page_that_kills_its_worker_three_times_is_failed_and_the_rest_completes(batch, monkeypatch):
    settings, store, batch_id = batch
    monkeypatch.setenv(work.CRASH_ENV, "0003")  # the page job of 0003.jpg exits its process at once
    pool = LocalPool(settings, settings.database, 2)
    t0 = time.monotonic()
    final = pool.run_until_idle(batch_id)
    assert time.monotonic() - t0 < 150
    assert final.counts == {"queued": 0, "running": 0, "done": len(DC01) * 2 - 1, "failed": 1}
    assert pool.restarts == 3
    with store.session(write=False) as s:
        page = s.execute(select(PageRow).join(SourceFile, SourceFile.id == PageRow.file_id)
                         .where(SourceFile.original_name == "0003.jpg")).scalar_one()
        job = s.scalars(select(Job).where(Job.page_id == page.id)).one()
        st = repo.batch_status(s, batch_id)
    assert (page.status, page.reason) == ("error", "worker died 3 times on this page")
    assert (job.status, job.attempts) == ("failed", 3) and "worker died" in job.last_error
    assert st["failed"] == 1 and sum(st["sheets"].values()) == len(DC01) - 1


def test_two_ingests_of_the_same_files_at_once(tmp_path):
    env = cli_env(tmp_path, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_WORKERS="1")
    args = ["ingest", *map(str, DC01), "--batch", "same", "--template", "dc01"]
    procs = [cli_popen(args, env, tmp_path / f"ingest{i}.log") for i in range(2)]
    codes = [p.wait(timeout=240) for p in procs]
    logs = [(tmp_path / f"ingest{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    assert not any("locked" in log or "Traceback" in log for log in logs), logs
    st = status_json(env, "same")
    assert (st["files"], st["pages"], st["failed"], st["duplicates"]) == (len(DC01),) * 2 + (0, 0)
    assert sum(st["sheets"].values()) == len(DC01)
    store = open_store(None, tmp_path)
    with store.session(write=False) as s:
        batch_id = repo.get_batch(s, "same").id
        assert s.scalar(select(func.count()).select_from(SourceFile)) == len(DC01)
    assert_each_page_once(store, batch_id, fields_per_sheet=46)
    store.close()


def test_a_worker_stopped_by_sigterm_during_shutdown_is_not_restarted(batch):
    """A SIGTERM to the process group reaches the workers before the pool's stop(): no worker is
    started only to be stopped again; a lone SIGTERM'd worker outside a shutdown is restarted."""
    settings, store, batch_id = batch
    pool = LocalPool(settings, settings.database, 2).start(batch_id)
    try:
        victim = pool.pids[0]
        os.kill(victim, signal.SIGTERM)
        wait_for(lambda: victim not in pool.pids, 60, "the SIGTERM'd worker to be replaced")
        assert pool.restarts == 1 and len(pool.pids) == 2
        victims = list(pool.pids)
        for pid in victims:
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)  # both have died; the server's shutdown follows
    finally:
        pool.stop()
    assert pool.restarts == 1
