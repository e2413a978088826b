"""Jobs and the batch commands: `ingest` end to end on the bundled samples, `status --json`, `db
upgrade`, and the job code's retry and recovery rules (in this process, with the fake engine)."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from jobs_helpers import SAMPLES, assert_each_page_once, cli, cli_env, status_json
from ocr_service.errors import ConflictError, NotFoundError
from ocr_service.service import intake
from ocr_service.service.jobs import work
from ocr_service.service.store import db, open_store, repository as repo, upgrade
from ocr_service.service.store.models import Job, PageRow
from ocr_service.settings import Settings

STATUS_KEYS = {"batch", "expected", "files", "pages", "sheets", "rescan", "failed", "duplicates", "jobs"}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """samples/dc01 + samples/bad ingested once into a fresh data dir (fake engine)."""
    data = tmp_path_factory.mktemp("data")
    env = cli_env(data, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_WORKERS="2")
    res = cli(["ingest", str(SAMPLES / "dc01"), str(SAMPLES / "bad"), "--batch", "Xã Hải Bắc / hộp 1",
               "--template", "dc01", "--expected", "6", "--commune", "Hải Bắc", "--box", "1"], env)
    return env, res


def test_ingest_reads_the_good_files_and_reports_the_bad(ingested):
    env, res = ingested
    assert res.returncode == 1, res.stderr  # pages to rescan and files that failed
    err = res.stderr
    for name, why in [("empty.pdf", "empty file"), ("not-an-image.png", "not a PDF, TIFF, JPEG or PNG"),
                      ("encrypted.pdf", "password"), ("truncated.pdf", "truncated or corrupt"),
                      ("blank.jpg", "rescan")]:
        line = next((ln for ln in err.splitlines() if name in ln), "")
        assert why in line, (name, err)
    assert "database is locked" not in err
    st = status_json(env, "Xã Hải Bắc / hộp 1")
    assert set(st) == STATUS_KEYS
    assert st["batch"] == "Xã Hải Bắc / hộp 1" and st["expected"] == 6
    assert (st["files"], st["pages"], st["rescan"], st["failed"], st["duplicates"]) == (9, 9, 1, 2, 0)
    assert sum(st["sheets"].values()) == 6 and set(st["sheets"]) == {"auto_accepted", "needs_review", "verified"}
    assert st["jobs"] == {"queued": 0, "running": 0, "done": 16, "failed": 0}  # 9 file jobs + 7 page jobs
    assert "6 sheets" in res.stdout


def test_reingest_creates_nothing_new(ingested):
    env, _ = ingested
    before = status_json(env, "Xã Hải Bắc / hộp 1")
    res = cli(["ingest", str(SAMPLES / "dc01"), str(SAMPLES / "bad"), "--batch", "Xã Hải Bắc / hộp 1",
               "--template", "dc01@tt66-2015"], env)
    assert res.returncode == 1
    assert "0 new file(s), 9 already in it, 2 refused" in res.stderr
    assert status_json(env, "Xã Hải Bắc / hộp 1") == before


def test_another_template_for_an_existing_batch_is_refused(ingested):
    env, _ = ingested
    res = cli(["ingest", str(SAMPLES / "cc01"), "--batch", "Xã Hải Bắc / hộp 1", "--template", "cc01"], env)
    assert res.returncode == 10
    assert "reads its sheets as dc01@tt66-2015, not cc01@" in res.stderr


def test_status_of_everything(ingested):
    env, _ = ingested
    res = cli(["status", "--json"], env)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert [b["batch"] for b in got["batches"]] == ["Xã Hải Bắc / hộp 1"]
    assert got["jobs"] == {"queued": 0, "running": 0, "done": 16, "failed": 0}
    text = cli(["status"], env)
    assert "Xã Hải Bắc / hộp 1: 9 files" in text.stdout and "truncated.pdf: page 0: error" not in text.stdout
    one = cli(["status", "--batch", "Xã Hải Bắc / hộp 1"], env)
    assert "truncated.pdf: page 0: error: PDF is truncated or corrupt" in one.stdout
    assert cli(["status", "--batch", "nope"], env).returncode == 9


def test_ingest_with_tesseract_reads_a_sample(tmp_path):
    env = cli_env(tmp_path)
    res = cli(["ingest", str(SAMPLES / "dc01" / "0002.jpg"), "--batch", "b", "--template", "dc01", "--no-progress"],
              env)
    assert res.returncode == 0, res.stderr
    truth = json.loads((SAMPLES / "dc01" / "0002.json").read_text())
    store = open_store(None, tmp_path)
    with store.session(write=False) as s:
        b = repo.get_batch(s, "b")
        sheet = repo.list_sheets(s, b.id).items[0]
        fields = {f.name: f for f in repo.list_fields(s, sheet_id=sheet.id, limit=1000).items}
        page = s.get(PageRow, sheet.page_id)
    assert page.serial == truth["serial"]
    assert fields["full_name"].value == truth["fields"]["full_name"]
    assert fields["full_name"].engine == "tesseract" and fields["full_name"].features
    assert fields["dob"].kind == "date"
    store.close()


def test_db_upgrade_and_an_old_schema(tmp_path):
    env = cli_env(tmp_path)
    url = f"sqlite:///{tmp_path / 'ocr-service.db'}"
    upgrade(url, "0001")
    res = cli(["status"], env)
    assert res.returncode == 8
    head = db.head_revision()
    assert f"is at revision 0001, this code needs {head}: run `ocr-service db upgrade`" in res.stderr
    res = cli(["db", "upgrade"], env)
    assert res.returncode == 0, res.stderr
    assert f"upgraded from 0001 to revision {head} (head)" in res.stdout
    assert f"already at revision {head}" in cli(["db", "upgrade"], env).stdout
    assert cli(["status", "--json"], env).returncode == 0


# -- the job code in this process ------------------------------------------------------------------------

@pytest.fixture
def svc(tmp_path):
    settings = Settings(data_dir=tmp_path, engines="fake")
    store = open_store(None, tmp_path, create=True)
    with store.session() as s:
        batch_id = repo.create_batch(s, "b", template="dc01@tt66-2015").id
    yield settings, store, batch_id
    store.close()


def _receive(store, name, data):
    return intake.receive_file(store, "b", name, data, actor="test", max_bytes=10**8)


def _drain(store, settings, owner="test/1/x"):
    outcomes = []
    while (o := work.claim_and_run(store, settings, owner)) is not None:
        outcomes.append(o)
    return outcomes


def test_an_exception_is_retried_then_the_page_is_failed(svc, monkeypatch):
    settings, store, batch_id = svc
    _receive(store, "0002.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes())

    class Broken:
        def process_page(self, page):
            raise RuntimeError("engine fell over")

    monkeypatch.setattr(work, "pipeline_for", lambda settings, template: Broken())
    outcomes = _drain(store, settings)
    # the file job reads its one page at once (attempt 1, given back), then the page job twice more
    assert [o.status for o in outcomes] == ["done", "queued", "failed"]
    assert outcomes[-1].error == "RuntimeError: engine fell over"
    with store.session(write=False) as s:
        page = s.scalars(select(PageRow)).one()
        job = s.scalars(select(Job).where(Job.kind == "page")).one()
        st = repo.batch_status(s, batch_id)
    assert (job.status, job.attempts) == ("failed", 3)
    assert page.status == "error"
    assert page.reason == "failed 3 times on this page: failed after 3 attempts: RuntimeError: engine fell over"
    assert st["failed"] == 1 and st["jobs"]["failed"] == 1


def test_bad_input_is_not_retried(svc, tmp_path):
    settings, store, batch_id = svc
    _receive(store, "cut.pdf", (SAMPLES / "bad" / "truncated.pdf").read_bytes())
    outcomes = _drain(store, settings)
    assert [o.status for o in outcomes] == ["done"]
    with store.session(write=False) as s:
        page = s.scalars(select(PageRow)).one()
    assert (page.page_no, page.status) == (0, "error") and "truncated or corrupt" in page.reason


def test_a_job_of_a_process_that_is_gone_is_given_back(svc):
    settings, store, batch_id = svc
    got = _receive(store, "0002.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes())
    import socket

    dead = f"{socket.gethostname()}/999999999/local-x"
    with store.session() as s:
        assert repo.claim_job(s, dead).id == got.job_id
    assert work.claim_and_run(store, settings, "test/1/x") is None  # leased (not expired): left alone
    back = work.release_dead(store)
    assert [(o.job_id, o.status) for o in back] == [(got.job_id, "queued")]
    with store.session(write=False) as s:
        assert "worker died (process 999999999 is gone)" in repo.get_job(s, got.job_id).last_error
    _drain(store, settings)
    assert_each_page_once(store, batch_id, fields_per_sheet=46)


def test_running_a_job_twice_writes_once(svc):
    settings, store, batch_id = svc
    got = _receive(store, "0002.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes())
    _drain(store, settings)
    with store.session() as s:  # a duplicate delivery of a finished job: nothing to claim
        assert repo.claim_job(s, "again", job_id=got.job_id) is None
    assert work.claim_and_run(store, settings, "again/2/x", job_id=got.job_id) is None
    assert_each_page_once(store, batch_id, fields_per_sheet=46)


def test_a_multipage_tiff_is_split_into_page_jobs(svc, tmp_path):
    settings, store, batch_id = svc
    from PIL import Image

    frames = [Image.open(SAMPLES / "dc01" / n).convert("L") for n in ("0002.jpg", "0003.jpg")]
    tif = tmp_path / "two.tif"
    frames[0].save(tif, save_all=True, append_images=frames[1:], compression="tiff_lzw")
    _receive(store, "two.tif", tif.read_bytes())
    shutil.copy(tif, tmp_path / "copy.tif")
    outcomes = _drain(store, settings)
    assert [o.kind for o in outcomes] == ["file", "page", "page"]
    assert_each_page_once(store, batch_id, fields_per_sheet=46)
    with store.session(write=False) as s:
        assert sorted(p.page_no for p in s.scalars(select(PageRow))) == [1, 2]


def test_a_one_page_file_is_decoded_once(svc, monkeypatch):
    settings, store, batch_id = svc
    _receive(store, "0002.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes())
    calls = []
    real = work.load_page
    monkeypatch.setattr(work, "load_page", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    outcomes = _drain(store, settings)
    assert [o.status for o in outcomes] == ["done"]  # the split job read the page itself
    assert calls == []  # with the image it had decoded to hash it
    with store.session(write=False) as s:
        assert repo.batch_status(s, batch_id)["jobs"] == {"queued": 0, "running": 0, "done": 2, "failed": 0}
        assert s.scalars(select(PageRow)).one().status == "ok"


def test_a_rescan_replaces_the_page_waiting_for_it_and_keeps_the_history(svc):
    settings, store, batch_id = svc
    _receive(store, "blank.jpg", (SAMPLES / "bad" / "blank.jpg").read_bytes())
    _drain(store, settings)
    with store.session(write=False) as s:
        ((waiting, name),) = repo.problem_pages(s, batch_id)
        assert (name, waiting.status) == ("blank.jpg", "rescan") and repo.batch_status(s, batch_id)["rescan"] == 1
    with pytest.raises(NotFoundError):
        intake.receive_file(store, "b", "x.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes(), actor="test",
                            max_bytes=10**8, replaces=waiting.id + 99)
    again = intake.receive_file(store, "b", "0002-rescan.jpg", (SAMPLES / "dc01" / "0002.jpg").read_bytes(),
                                actor="test", max_bytes=10**8, replaces=waiting.id)
    _drain(store, settings)
    with store.session(write=False) as s:
        new = s.scalars(select(PageRow).where(PageRow.file_id == again.file_id)).one()
        old = s.get(PageRow, waiting.id)
        st = repo.batch_status(s, batch_id)
        assert new.status == "ok" and new.replaces_page_id == old.id and old.status == "rescan"  # history kept
        assert st["rescan"] == 0 and st["pages"] == 2 and sum(st["sheets"].values()) == 1
        assert repo.problem_pages(s, batch_id) == []
    with pytest.raises(ConflictError, match="already replaced"):
        intake.receive_file(store, "b", "third.jpg", (SAMPLES / "dc01" / "0003.jpg").read_bytes(), actor="test",
                            max_bytes=10**8, replaces=waiting.id)
