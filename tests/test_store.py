"""The store's repository on SQLite and on a real PostgreSQL (same tests, parametrized)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading

import pytest
from sqlalchemy import func, inspect, select

from ocr_service.errors import AuthError, ConflictError, InvalidRequestError, NotFoundError, SchemaOutdatedError
from ocr_service.service.store import db, open_store, repository as repo
from ocr_service.service.store.models import Base, FieldRow, Job, PageRow, Sheet, SourceFile
from store_fixtures import BACKENDS, TEMPLATE, db_url, field, pg_cluster, result, sha, store  # noqa: F401

TABLES = {"templates", "batches", "source_files", "pages", "sheets", "fields", "jobs", "users", "api_tokens",
          "assignments", "audit_events", "exports", "sessions", "export_sheets", "issued_counts"}


def counts(s) -> dict:
    return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (SourceFile, PageRow, Sheet, FieldRow, Job)}


def new_file(s, batch_id: int, n: int = 1, pages: int = 0):
    f = repo.add_file(s, batch_id, sha256=sha(10_000 + n), original_name=f"box1/scan-{n}.pdf", size_bytes=1234,
                      media_type="application/pdf").row
    if pages:
        repo.add_pages(s, f.id, [{"page": p, "sha256": sha(n * 1000 + p)} for p in range(1, pages + 1)])
    return f


# -- schema ---------------------------------------------------------------------------------------

@BACKENDS
def test_migrations_create_every_table_and_match_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    names = set(inspect(store.engine).get_table_names())
    assert names == TABLES | {"alembic_version"}
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    store.check()  # at head: no error


@BACKENDS
def test_check_schema_names_the_revisions_and_the_command(store, db_url):
    db.stamp(store.engine, "base")  # as if the database predated the schema
    with pytest.raises(SchemaOutdatedError) as e:
        db.check_schema(store.engine)
    msg = str(e.value)
    assert "is at revision none" in msg and f"this code needs {db.head_revision()}" in msg
    assert "run `ocr-service db upgrade`" in msg and "password" not in msg
    with pytest.raises(SchemaOutdatedError):  # create=True never migrates a database that has tables
        open_store(db_url, store.blobs.root.parent, create=True)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999_future')")
    with pytest.raises(SchemaOutdatedError, match="newer than this code"):
        db.check_schema(store.engine)


def test_fresh_embedded_database_is_created_only_when_asked(tmp_path):
    with pytest.raises(SchemaOutdatedError, match="revision none"):
        open_store(data_dir=tmp_path)
    st = open_store(data_dir=tmp_path, create=True)
    assert (tmp_path / "ocr-service.db").is_file()
    with st.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
    st.close()
    open_store(data_dir=tmp_path).close()  # second run: already at head


# -- files, pages, results ------------------------------------------------------------------------

@BACKENDS
def test_add_file_is_idempotent_per_batch(store):
    with store.session() as s:
        b1 = repo.create_batch(s, "Xã Hải Bắc, hộp 1", commune="Xã Hải Bắc", expected_sheets=10, template=TEMPLATE)
        b2 = repo.create_batch(s, "hộp 2")
        first = repo.add_file(s, b1.id, sha256=sha(1), original_name="../../etc/passwd", size_bytes=5)
    with store.session() as s:
        again = repo.add_file(s, b1.id, sha256=sha(1), original_name="other-name.pdf", size_bytes=5)
        other = repo.add_file(s, b2.id, sha256=sha(1), original_name="x.pdf", size_bytes=5)
        with pytest.raises(ConflictError, match="already exists"):
            repo.create_batch(s, "hộp 2")
    assert first.created and again.duplicate and again.row.id == first.row.id
    assert again.row.original_name == "../../etc/passwd"  # kept as display text, first upload's
    assert other.created and other.row.id != first.row.id
    with store.session(write=False) as s:
        assert repo.get_batch(s, "Xã Hải Bắc, hộp 1").template.ref == TEMPLATE
        with pytest.raises(NotFoundError):
            repo.get_batch(s, "nope")


@BACKENDS
def test_concurrent_adds_of_one_file_make_one_row(store):
    with store.session() as s:
        b = repo.create_batch(s, "b")
    results, barrier = [], threading.Barrier(4)

    def add():
        barrier.wait()
        with store.session() as s:
            results.append(repo.add_file(s, b.id, sha256=sha(7), original_name="a.tif", size_bytes=1))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.row.id for r in results}) == 1


@BACKENDS
def test_write_result_twice_is_a_no_op(store):
    with store.session() as s:
        b = repo.create_batch(s, "b")
        f = new_file(s, b.id, pages=2)
    for _ in range(2):
        with store.session() as s:
            w1 = repo.write_result(s, f.id, result(1, serial="000123"))
            w2 = repo.write_result(s, f.id, result(2, "rescan", reason="not a known form"))
            snapshot = counts(s)
    assert snapshot == {"source_files": 1, "pages": 2, "sheets": 1, "fields": 2, "jobs": 2}
    assert not w1.written and not w2.written and w1.sheet_id is not None
    with store.session(write=False) as s:
        sheet = repo.get_sheet(s, w1.sheet_id)
        assert (sheet.status, sheet.fields_total, sheet.fields_review) == ("needs_review", 2, 1)
        dob = s.scalars(select(FieldRow).where(FieldRow.name == "dob")).one()
        assert dob.kind == "date" and dob.features == {"conf": 0.97, "valid": 1.0} and dob.raw == "05/11/1990"
        assert dob.reasons == ["low_confidence"] and dob.box_px == [10, 20, 300, 40] and dob.version == 1
        page2 = s.get(PageRow, w2.page_id)
        assert (page2.status, page2.reason) == ("rescan", "not a known form")


@BACKENDS
def test_a_file_that_cannot_be_opened_records_its_error_page(store):
    with store.session() as s:
        b = repo.create_batch(s, "b")
        f = new_file(s, b.id)
        w = repo.write_result(s, f.id, {"file": "x", "page": 0, "template": "", "status": "error",
                                        "reason": "truncated file", "residual_px": None, "fields": []})
        assert w.written and w.status == "error"
        assert repo.batch_status(s, b.id)["failed"] == 1


@BACKENDS
def test_duplicates_by_page_hash_and_by_serial_are_flagged_not_processed(store):
    with store.session() as s:
        b = repo.create_batch(s, "b", expected_sheets=3)
        f1 = new_file(s, b.id, 1)
        p1, p2 = repo.add_pages(s, f1.id, [{"page": 1, "sha256": sha(1)}, {"page": 2, "sha256": sha(2)}])
        f2 = new_file(s, b.id, 2)  # the same sheet fed through the scanner twice
        (dup,) = repo.add_pages(s, f2.id, [{"page": 1, "sha256": sha(1)}])
        assert dup.status == "duplicate" and dup.duplicate_of_page_id == p1.id
        assert "same page image as page 1 of file 'box1/scan-1.pdf'" in dup.reason
        assert s.scalar(select(func.count()).select_from(Job).where(Job.page_id == dup.id)) == 0
        repo.write_result(s, f1.id, result(1, serial="000123", sha=sha(1)))
        # a different scan (other bytes) of the same sheet: caught by its QR serial once read
        w = repo.write_result(s, f1.id, result(2, serial="000123", sha=sha(2)))
        assert w.status == "duplicate" and w.sheet_id is None
        assert "sheet serial 000123 already read on page 1" in s.get(PageRow, p2.id).reason
        assert repo.batch_status(s, b.id)["duplicates"] == 2
        assert s.scalar(select(func.count()).select_from(Sheet)) == 1


@BACKENDS
def test_a_rescan_replaces_the_rescan_page_and_history_is_kept(store):
    with store.session() as s:
        b = repo.create_batch(s, "b", expected_sheets=1)
        f1 = new_file(s, b.id, 1, pages=1)
        repo.write_result(s, f1.id, result(1, "rescan", serial="000777", reason="residual 4.1 px over 2.0"))
        assert repo.batch_status(s, b.id)["rescan"] == 1
        f2 = new_file(s, b.id, 2, pages=1)
        w = repo.write_result(s, f2.id, result(1, serial="000777"))
        new = s.get(PageRow, w.page_id)
        old = s.scalars(select(PageRow).where(PageRow.file_id == f1.id)).one()
        assert new.replaces_page_id == old.id and old.status == "rescan"  # the old row stays
        st = repo.batch_status(s, b.id)
        assert st["rescan"] == 0 and st["pages"] == 2 and st["sheets"]["needs_review"] == 1


# -- jobs -----------------------------------------------------------------------------------------

@BACKENDS
def test_enqueue_is_idempotent(store):
    with store.session() as s:
        a = repo.enqueue_job(s, "file", key="file:1")
    with store.session() as s:
        b = repo.enqueue_job(s, "file", key="file:1", payload={"ignored": True})
        assert a.created and b.duplicate and a.row.id == b.row.id
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def _claim_all(store, owner: str, out: list, barrier=None) -> None:
    if barrier is not None:
        barrier.wait()
    while True:
        with store.session() as s:
            job = repo.claim_job(s, owner)
            if job is None:
                return
            out.append(job.id)
        with store.session() as s:
            repo.complete_job(s, job.id, owner)


@BACKENDS
def test_claim_contention_threads_get_each_job_exactly_once(store):
    with store.session() as s:
        ids = [repo.enqueue_job(s, "page", key=f"page:{i}").row.id for i in range(60)]
    claimed: list[int] = []
    barrier = threading.Barrier(4)
    threads = [threading.Thread(target=_claim_all, args=(store, f"w{i}", claimed, barrier)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids
    with store.session(write=False) as s:
        assert set(s.scalars(select(Job.status))) == {"done"}
        assert set(s.scalars(select(Job.attempts))) == {1}


def _process_worker(url: str, data_dir: str, owner: str, queue, start) -> None:
    st = open_store(url, data_dir)
    out: list[int] = []
    start.wait()
    _claim_all(st, owner, out)
    st.close()
    queue.put(out)


@BACKENDS
def test_claim_contention_processes_get_each_job_exactly_once(store, db_url, tmp_path):
    with store.session() as s:
        ids = [repo.enqueue_job(s, "page", key=f"page:{i}").row.id for i in range(45)]
    store.engine.dispose()  # no pooled connection crosses the fork
    ctx = multiprocessing.get_context("fork")
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_process_worker, args=(db_url, str(tmp_path), f"p{i}", queue, start)) for i in range(3)]
    for p in procs:
        p.start()
    start.set()
    claimed = [j for _ in procs for j in queue.get(timeout=60)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(claimed) == ids


@BACKENDS
def test_an_expired_lease_is_reclaimed_and_the_old_owner_refused(store):
    t0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    lease = dt.timedelta(seconds=60)
    with store.session() as s:
        job_id = repo.enqueue_job(s, "page", key="page:1").row.id
        job = repo.claim_job(s, "w1", lease=lease, now=t0)
        assert (job.id, job.status, job.attempts, job.lease_owner) == (job_id, "running", 1, "w1")
        assert job.lease_expires_at == t0 + lease
    with store.session() as s:
        assert repo.claim_job(s, "w2", lease=lease, now=t0 + dt.timedelta(seconds=30)) is None
        repo.renew_lease(s, job_id, "w1", lease=lease, now=t0 + dt.timedelta(seconds=30))
        assert repo.claim_job(s, "w2", lease=lease, now=t0 + dt.timedelta(seconds=61)) is None  # renewed
        job = repo.claim_job(s, "w2", lease=lease, now=t0 + dt.timedelta(seconds=91))
        assert (job.id, job.attempts, job.lease_owner) == (job_id, 2, "w2")
    with store.session() as s:
        with pytest.raises(ConflictError, match="not leased to w1"):
            repo.complete_job(s, job_id, "w1")
    with store.session() as s:
        assert repo.complete_job(s, job_id, "w2").status == "done"


@BACKENDS
def test_a_job_that_died_or_failed_three_times_is_failed_with_the_reason(store):
    t0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    lease = dt.timedelta(seconds=10)
    with store.session() as s:
        dying = repo.enqueue_job(s, "page", key="dies").row.id
        failing = repo.enqueue_job(s, "page", key="fails").row.id
    for i in range(3):  # the worker dies: its lease just runs out
        with store.session() as s:
            job = repo.claim_job(s, f"w{i}", lease=lease, now=t0 + i * 2 * lease, kinds=["page"])
            assert job.id == dying and job.attempts == i + 1
    with store.session() as s:
        for i in range(3):  # the worker reports an error each time
            job = repo.claim_job(s, "w", lease=lease, now=t0 + 7 * lease)
            assert job.id == failing
            repo.fail_job(s, job.id, "w", "engine crashed: segfault")
        assert repo.claim_job(s, "w", lease=lease, now=t0 + 7 * lease) is None
        d, f = repo.get_job(s, dying), repo.get_job(s, failing)
        assert d.status == "failed" and "gave up after 3 attempts" in d.last_error and "w2" in d.last_error
        assert f.status == "failed" and f.last_error == "failed after 3 attempts: engine crashed: segfault"
        assert f.attempts == 3


# -- status and pagination ------------------------------------------------------------------------

@BACKENDS
def test_batch_status_shape(store):
    with store.session() as s:
        b = repo.create_batch(s, "Thôn 3 / hộp 12", expected_sheets=5)
        f = new_file(s, b.id, pages=4)
        repo.write_result(s, f.id, result(1, fields=[field("a")]))
        repo.write_result(s, f.id, result(2))
        repo.write_result(s, f.id, result(3, "rescan", reason="blank page"))
        job = repo.claim_job(s, "w")
        repo.complete_job(s, job.id, "w")
        repo.claim_job(s, "w")
        st = repo.batch_status(s, "Thôn 3 / hộp 12")
    assert st == {"batch": "Thôn 3 / hộp 12", "expected": 5, "files": 1, "pages": 4,
                  "sheets": {"auto_accepted": 1, "needs_review": 1, "verified": 0},
                  "rescan": 1, "failed": 0, "duplicates": 0,
                  "jobs": {"queued": 2, "running": 1, "done": 1, "failed": 0}}


@BACKENDS
def test_pagination_returns_every_row_once(store):
    with store.session() as s:
        low = repo.create_batch(s, "low", priority=0)
        high = repo.create_batch(s, "high", priority=5)
        for b, n in ((low, 1), (high, 2), (low, 3)):
            f = new_file(s, b.id, n, pages=7)
            for p in range(1, 8):
                repo.write_result(s, f.id, result(p, fields=[field("a", "needs_review"), field("b"),
                                                             field("c", "needs_review")]))
    with store.session(write=False) as s:
        def walk(fetch, limit):
            seen, cursor, pages = [], None, 0
            while True:
                page = fetch(after=cursor, limit=limit)
                seen += page.items
                pages += 1
                if page.next is None:
                    return seen, pages
                cursor = page.next

        sheets, n = walk(lambda **kw: repo.list_sheets(s, low.id, **kw), 4)
        assert [x.id for x in sheets] == sorted(s.scalars(select(Sheet.id).where(Sheet.batch_id == low.id)))
        assert len(sheets) == 14 and n == 4
        fields, _ = walk(lambda **kw: repo.list_fields(s, batch_id=high.id, **kw), 5)
        assert len(fields) == 21 and len({f.id for f in fields}) == 21
        queue, _ = walk(lambda **kw: repo.review_queue(s, **kw), 6)
        assert len(queue) == 42 and len({f.id for f in queue}) == 42
        assert [f.batch_id for f in queue] == [high.id] * 14 + [low.id] * 28  # priority first
        assert [f.id for f in queue[14:]] == sorted(f.id for f in queue[14:])  # then oldest first
        batches, _ = walk(lambda **kw: repo.list_batches(s, **kw), 1)
        assert [b.name for b in batches] == ["low", "high"]
        with pytest.raises(InvalidRequestError, match="cursor"):
            repo.list_sheets(s, after="not-a-cursor")
        with pytest.raises(InvalidRequestError, match="cursor"):
            repo.review_queue(s, after=repo.encode_cursor([1, 2]))  # a cursor of another listing


# -- review, audit, users -------------------------------------------------------------------------

def one_field_to_review(store, name: str, value: str, kind: str) -> tuple[int, int]:
    """A batch of one sheet with one field to review: (sheet id, field id)."""
    with store.session() as s:
        b = repo.create_batch(s, "b")
        f = new_file(s, b.id, pages=1)
        w = repo.write_result(s, f.id, result(1, fields=[field(name, "needs_review", value, kind)]))
        (fid,) = s.scalars(select(FieldRow.id).where(FieldRow.sheet_id == w.sheet_id))
    return w.sheet_id, fid


@BACKENDS
def test_verify_field_uses_the_version_it_saw(store):
    sheet_id, fid = one_field_to_review(store, "dob", "05/11/1990", "date")
    with store.session() as s:
        fr = repo.verify_field(s, fid, version=1, value="05/11/1991", actor="reviewer1")
        assert (fr.status, fr.verified_value, fr.version) == ("verified", "05/11/1991", 2)
    with store.session() as s:
        with pytest.raises(ConflictError, match="version 2, you edited version 1"):
            repo.verify_field(s, fid, version=1, value="05/11/1990", actor="reviewer2")
    with store.session(write=False) as s:
        assert repo.get_sheet(s, sheet_id).status == "verified"
        (event,) = repo.list_audit(s, entity_type="field", entity_id=fid).items
        assert (event.actor, event.action, event.old["version"], event.new["verified_value"]) == \
            ("reviewer1", "field.verify", 1, "05/11/1991")
        assert repo.review_queue(s).items == []


@BACKENDS
def test_a_reviewer_s_value_is_kept_composed_and_without_a_list_s_trailing_comma(store):
    import unicodedata
    _, fid = one_field_to_review(store, "permanent_address", "Xa Phu Do", "address")
    typed = unicodedata.normalize("NFD", "Xã Phú Đô,  Huyện Phú Lương, ")  # an input method's marks, a list's ", "
    with store.session() as s:
        fr = repo.verify_field(s, fid, version=1, value=typed, actor="reviewer1")
        assert fr.verified_value == "Xã Phú Đô, Huyện Phú Lương"
        assert unicodedata.is_normalized("NFC", fr.verified_value)
    with store.session(write=False) as s:
        (event,) = repo.list_audit(s, entity_type="field", entity_id=fid).items
        assert event.new["verified_value"] == "Xã Phú Đô, Huyện Phú Lương"


@BACKENDS
def test_users_tokens_and_exports(store):
    with store.session() as s:
        u = repo.create_user(s, "clerk1", role="clerk", password_hash="scrypt$…")
        token, row = repo.create_token(s, u.id, "scanner pc")
        assert row.token_sha256 == repo.token_hash(token) and token not in row.token_sha256
        with pytest.raises(ConflictError):
            repo.create_user(s, "clerk1", role="clerk")
    with store.session() as s:
        assert repo.user_for_token(s, token).username == "clerk1"
        repo.revoke_token(s, row.id)
    with store.session() as s:
        with pytest.raises(AuthError):
            repo.user_for_token(s, token)
        e = repo.record_export(s, filter={"batch": "b"}, template=TEMPLATE, mapping_version="1",
                               record_count=3, files=[{"name": "x.csv", "sha256": sha(3), "size": 10}],
                               created_by="clerk1")
        assert e.id and e.files[0]["sha256"] == sha(3)


@BACKENDS
def test_claim_locks_with_skip_locked_on_postgresql(store):
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
    with store.session() as s:
        repo.enqueue_job(s, "page", key="k")
        assert repo.claim_job(s, "w") is not None
    selects = [q for q in seen if q.lstrip().startswith("SELECT") and "FROM jobs" in q and "lease_expires_at <" in q]
    assert selects
    if store.engine.dialect.name == "postgresql":
        assert all("FOR UPDATE SKIP LOCKED" in q for q in selects)
    else:
        assert seen[0] == "BEGIN IMMEDIATE"  # SQLite: a writing session holds the write lock from BEGIN


@BACKENDS
def test_token_use_is_recorded_to_the_minute(store):
    t0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    with store.session() as s:
        user = repo.create_user(s, "ana", role="reviewer")
        token, row = repo.create_token(s, user.id, "t")
    with store.session() as s:
        repo.user_for_token(s, token, now=t0)
    with store.session() as s:
        repo.user_for_token(s, token, now=t0 + dt.timedelta(seconds=30))
        assert not s.dirty  # within the minute: nothing to write
    with store.session() as s:
        repo.user_for_token(s, token, now=t0 + dt.timedelta(seconds=61))
    with store.session(write=False) as s:
        got = s.get(type(row), row.id).last_used_at
        assert got == t0 + dt.timedelta(seconds=61)
