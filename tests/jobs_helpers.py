"""Helpers for the jobs tests: run the CLI as a subprocess of this source tree, inspect a store, and
check that every page was processed exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ocr_service.service.store.models import FieldRow, Job, PageRow, Sheet

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
PYTHON = sys.executable


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: this source tree first on the path, only our settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCR_SERVICE_", "OCR_TEST_"))}
    env.update(PYTHONPATH=str(ROOT), OMP_THREAD_LIMIT="1", OCR_SERVICE_DATA_DIR=str(data_dir))
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "ocr_service.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))


def cli_popen(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    fh = open(log, "ab")
    return subprocess.Popen([PYTHON, "-m", "ocr_service.cli", *args], env=env, stdout=fh, stderr=subprocess.STDOUT,
                            cwd=str(ROOT))


def status_json(env: dict[str, str], batch: str) -> dict:
    res = cli(["status", "--batch", batch, "--json"], env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def running_page_job(store) -> Job | None:
    with store.session(write=False) as s:
        return s.scalars(select(Job).where(Job.kind == "page", Job.status == "running").order_by(Job.id)).first()


def owner_pid(job: Job) -> int:
    return int(job.lease_owner.split("/")[1])


def assert_each_page_once(store, batch_id: int, fields_per_sheet: int | None = None) -> dict:
    """No job left to do, no failed job, one sheet per ok page and one field row per field name."""
    with store.session(write=False) as s:
        jobs = dict(s.execute(select(Job.status, func.count()).where(Job.batch_id == batch_id)
                              .group_by(Job.status)).all())
        assert set(jobs) == {"done"}, jobs
        ok = s.scalar(select(func.count()).select_from(PageRow).where(PageRow.batch_id == batch_id,
                                                                      PageRow.status == "ok"))
        queued = s.scalar(select(func.count()).select_from(PageRow).where(PageRow.batch_id == batch_id,
                                                                          PageRow.status == "queued"))
        sheets = s.scalar(select(func.count()).select_from(Sheet).where(Sheet.batch_id == batch_id))
        assert queued == 0 and sheets == ok, (queued, ok, sheets)
        per_sheet = dict(s.execute(select(FieldRow.sheet_id, func.count()).where(FieldRow.batch_id == batch_id)
                                   .group_by(FieldRow.sheet_id)).all())
        assert len(per_sheet) == sheets
        if fields_per_sheet is not None:
            assert set(per_sheet.values()) == {fields_per_sheet}, per_sheet
        names = s.execute(select(FieldRow.sheet_id, FieldRow.name, func.count()).where(FieldRow.batch_id == batch_id)
                          .group_by(FieldRow.sheet_id, FieldRow.name).having(func.count() > 1)).all()
        assert not names, names
        return {"ok": ok, "sheets": sheets, "jobs": jobs}
