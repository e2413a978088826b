"""QA sampling and the error contract, the supervisor's page, assignment and priorities, operator
statistics and `calibrate --from-reviews`, in-process (TestClient) on a SQLite store filled with
``repo.write_result`` (no OCR: what is tested is the service, not the reading)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from fractions import Fraction

import pytest
from api_fixtures import fast_hashing  # noqa: F401
from store_fixtures import TEMPLATE, field, result, sha
from test_web import logged_in, web  # noqa: F401  (the in-process station and a logged-in client)
from typer.testing import CliRunner
from web_fixtures import TestClient, claim_group, csrf_of

from ocr_service.cli import app as cli_app
from ocr_service.service import supervision
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import Assignment, AuditEvent, FieldRow
from ocr_service.settings import Settings

_files = [0]


def plant(store, name: str, sheets: list[list[dict]], *, qa_rate: float = 0.0, priority: int = 0) -> int:
    """A batch with one sheet per list of field dicts, stored as the pipeline's results are."""
    with store.session() as s:
        b = repo.create_batch(s, name, template=TEMPLATE, priority=priority)
        for fields in sheets:
            _files[0] += 1
            n = _files[0]
            f = repo.add_file(s, b.id, sha256=sha(10_000 + n), original_name=f"scan-{n}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(90_000 + n)}], enqueue=False)
            repo.write_result(s, f.id, result(1, fields=fields), qa_rate=qa_rate)
        return b.id


def set_qa(store, field_ids, state: str = "pending") -> None:
    with store.session() as s:
        s.execute(repo.update(FieldRow.__table__).where(FieldRow.__table__.c.id.in_(list(field_ids)))
                  .values(qa_state=state))


def ids(store, **where) -> list[int]:
    with store.session(write=False) as s:
        q = repo.select(FieldRow.id)
        for k, v in where.items():
            q = q.where(getattr(FieldRow, k) == v)
        return list(s.scalars(q.order_by(FieldRow.id)))


# -- sampling ---------------------------------------------------------------------------------------

def test_sampling_rate_is_the_setting_and_the_choice_is_reproducible(web):  # noqa: F811
    _, store = web
    picks = [repo.qa_sampled(sha(i), "dob", 0.02) for i in range(20_000)]
    share = sum(picks) / len(picks)
    lo, hi = supervision.clopper_pearson(sum(picks), len(picks), 0.999)
    assert lo <= 0.02 <= hi and 0.015 < share < 0.025  # the rate asked for, within sampling error
    assert picks == [repo.qa_sampled(sha(i), "dob", 0.02) for i in range(20_000)]  # deterministic
    assert not any(repo.qa_sampled(sha(i), "dob", 0.0) for i in range(2000))
    assert all(repo.qa_sampled(sha(i), "dob", 1.0) for i in range(2000))
    # at store time: auto-accepted fields are sampled by that rule, fields needing review never
    names = [f"f{i}" for i in range(60)]
    sheet = [field(n) for n in names] + [field("dob", "needs_review", "1/1/1990", "date")]
    plant(store, "sampled", [sheet], qa_rate=0.3)
    with store.session(write=False) as s:
        rows = {f.name: f for f in s.scalars(repo.select(FieldRow))}
    expected = {n for n in names if repo.qa_sampled(sha(90_000 + _files[0]), n, 0.3)}
    assert expected and {n for n, f in rows.items() if f.qa_state == "pending"} == expected
    assert rows["dob"].qa_state is None
    assert all(rows[n].status == "auto_accepted" for n in names)  # a sample stays accepted meanwhile


def test_qa_setting_is_read_and_checked():
    from ocr_service import settings as settings_mod
    from ocr_service.errors import ConfigError

    assert Settings().qa_sample_rate == 0.02
    assert settings_mod.load(env={"OCR_SERVICE_QA_SAMPLE_RATE": "0.1"}).qa_sample_rate == 0.1
    with pytest.raises(ConfigError):
        settings_mod.load(env={"OCR_SERVICE_QA_SAMPLE_RATE": "1.5"})


# -- blindness and the QA answer ------------------------------------------------------------------

ROW = re.compile(r'<form class="row.*?</form>', re.S)


def _shape(html: str) -> str:
    """A row's markup with its data (ids, numbers, values, candidates, file name) blanked out."""
    html = re.sub(r"data-choices='[^']*'", "data-choices=''", html)
    html = re.sub(r'value="[^"]*"', 'value=""', html)
    html = re.sub(r'<span class="where">[^<]*</span>', '<span class="where"></span>', html)
    html = re.sub(r"ô \w+", "ô X", html)
    return re.sub(r"\d+", "N", html)


def test_a_qa_row_is_indistinguishable_from_a_review_row_and_its_answer_is_judged(web):  # noqa: F811
    app, store = web
    plant(store, "blind", [[field("full_name"), field("dob", "needs_review", "1/2/1990", "date")],
                           [field("full_name"), field("dob", "auto_accepted", "03/04/1985", "date")],
                           [field("full_name"), field("dob", "auto_accepted", "05/06/1970", "date")]])
    qa_ids = ids(store, name="dob", status="auto_accepted")
    set_qa(store, qa_ids)
    c = logged_in(app, "reviewer")
    page = claim_group(c)
    rows = ROW.findall(page.text)
    assert len(rows) == 3  # the review field and the two QA samples, one group
    shapes = {_shape(r) for r in rows}
    assert len(shapes) == 1, shapes  # same markup: same reasons area, same inputs, same classes
    assert "Độ tin cậy thấp" in rows[1] and "auto_accepted" not in page.text and "qa" not in page.text.lower()
    # the sheet view (F9) shows a sample as needing review too
    sheet_id = re.search(r'data-sheet-url="/review/sheets/(\d+)"', rows[1]).group(1)
    view = c.get(f"/review/sheets/{sheet_id}").text
    assert re.search(r"<td>03/04/1985</td>\s*<td>cần duyệt</td>", view), view
    with store.session(write=False) as s:
        versions = {f.id: f.version for f in s.scalars(repo.select(FieldRow).where(FieldRow.id.in_(qa_ids)))}
    csrf = csrf_of(page.text)
    # the first sample confirmed (as shown), the second corrected
    ok = c.post(f"/review/fields/{qa_ids[0]}", data={"csrf_token": csrf, "version": versions[qa_ids[0]],
                                                    "action": "accept", "value": "03/04/1985", "keys": "1"})
    bad = c.post(f"/review/fields/{qa_ids[1]}", data={"csrf_token": csrf, "version": versions[qa_ids[1]],
                                                     "action": "accept", "value": "05/06/1976", "keys": "9"})
    assert ok.status_code == 200 and bad.status_code == 200
    assert _shape(ok.text) == _shape(bad.text)  # the answer's row does not tell either
    with store.session(write=False) as s:
        a, b = (s.get(FieldRow, i) for i in qa_ids)
        assert (a.qa_state, a.status, a.value) == ("agree", "auto_accepted", "03/04/1985")
        assert (b.qa_state, b.status, b.value, b.verified_value) == ("error", "verified", "05/06/1970", "05/06/1976")
        events = {e.entity_id: e for e in s.scalars(repo.select(AuditEvent).where(AuditEvent.action == "field.verify"))}
    assert events[str(qa_ids[0])].source == "qa" and events[str(qa_ids[0])].new["qa"] == "agree"
    assert events[str(qa_ids[1])].source == "qa" and events[str(qa_ids[1])].new["qa"] == "error"
    assert events[str(qa_ids[1])].new["keys"] == 9 and events[str(qa_ids[1])].old["value"] == "05/06/1970"
    # the sheet view shows the answered sample as reviewed, not as auto-accepted
    sheet_of_a = a.sheet_id
    html = c.get(f"/review/sheets/{sheet_of_a}").text
    dob_row = re.search(r"<tr class=\"st-[^\"]+\"><td>[^<]*</td>\s*<td>03/04/1985</td>\s*<td>([^<]*)</td>", html)
    assert dob_row and dob_row.group(1) == "đã duyệt"


# -- residual, interval, warning --------------------------------------------------------------------

def _tail_at_least(k: int, n: int, p: float) -> float:
    """P(X ≥ k), X ~ Binomial(n, p), in exact rational arithmetic (an independent check)."""
    q = Fraction(p)
    return float(sum(math.comb(n, i) * q ** i * (1 - q) ** (n - i) for i in range(k, n + 1)))


def test_clopper_pearson_bounds_are_exact():
    lo, hi = supervision.clopper_pearson(2, 400)
    assert abs(_tail_at_least(2, 400, lo) - 0.025) < 1e-9  # P(X ≥ 2 | lower) = α/2
    assert abs((1 - _tail_at_least(3, 400, hi)) - 0.025) < 1e-9  # P(X ≤ 2 | upper) = α/2
    assert round(lo, 6) == 0.000606 and round(hi, 5) == 0.01794
    assert supervision.clopper_pearson(0, 1000) == (0.0, pytest.approx(1 - 0.025 ** (1 / 1000), abs=1e-10))
    assert supervision.clopper_pearson(5, 10) == (pytest.approx(0.187086, abs=1e-6), pytest.approx(0.812914, abs=1e-6))
    assert supervision.clopper_pearson(0, 0) == (0.0, 1.0)


def test_residual_per_kind_and_the_warning_on_the_page(web):  # noqa: F811
    app, store = web
    dates = [[field(f"d{j}", value="01/01/2000", kind="date") for j in range(100)] for _ in range(4)]  # 400
    texts = [[field(f"t{j}", value="AN") for j in range(100)] for _ in range(10)]  # 1000
    plant(store, "qa", dates + texts)
    date_ids, text_ids = ids(store, kind="date"), ids(store, kind="text")
    set_qa(store, date_ids[:398], "agree")
    set_qa(store, date_ids[398:], "error")  # (as verify_field leaves them: corrected, status verified)
    with store.session() as s:
        s.execute(repo.update(FieldRow.__table__).where(FieldRow.__table__.c.id.in_(date_ids[398:]))
                  .values(status="verified", verified_value="02/01/2000"))
    set_qa(store, text_ids, "agree")
    with store.session(write=False) as s:
        table = {r["kind"]: r for r in supervision.residual_by_kind(s)}
    d, t = table["date"], table["text"]
    assert (d["n"], d["errors"], d["rate"]) == (400, 2, 0.005)
    assert (d["low"], d["high"]) == supervision.clopper_pearson(2, 400) and d["warn"]  # 1.79% > 0.5%
    assert (t["n"], t["errors"]) == (1000, 0) and t["high"] < 0.005 and not t["warn"]  # 0.37%
    assert table["all"]["n"] == 1400 and table["all"]["errors"] == 2
    page = logged_in(app, "supervisor").get("/supervisor")
    assert page.status_code == 200
    warnings = re.findall(r'<p class="error qa-warning"[^>]*>(.*?)</p>', page.text, re.S)
    # date (upper 1.79%) and all kinds together (2 in 1,400: upper 0.515%) pass the target; text does not
    assert [re.search(r"<b>([^<]+)</b>", w).group(1) for w in warnings] == ["ngày tháng", "mọi loại ô"]  # in words
    assert "1,79%" in warnings[0] and "2 sai trên 400" in warnings[0] and "2 sai trên 1400" in warnings[1]
    assert table["all"]["warn"] and 0.005 < table["all"]["high"] < 0.0052
    with store.session(write=False) as s:
        (batch,) = supervision.queue_by_batch(s)
    assert (batch["pending"], batch["leased"], batch["done"]) == (0, 0, 1400)  # every sample answered
    assert re.search(r'data-kind="text"><td>chữ, danh mục</td><td>1000</td><td>0</td>', page.text)
    api = logged_in(app, "supervisor").get("/supervisor")  # same page for an admin-less supervisor
    assert api.status_code == 200


# -- roles ------------------------------------------------------------------------------------------

def test_a_reviewer_cannot_open_the_supervisor_page_assign_or_change_priorities(web):  # noqa: F811
    app, store = web
    b = plant(store, "roles", [[field("dob", "needs_review", "1/1/1990", "date")]])
    for role in ("reviewer", "clerk", "exporter"):
        c = logged_in(app, role)
        res = c.get("/supervisor")
        assert res.status_code == 403 and "không được mở trang giám sát" in res.text
        csrf = csrf_of(c.get("/login").text) if role != "reviewer" else csrf_of(c.get("/review/sheets/1").text)
        for url, data in (("/supervisor/assign", {"reviewer": "reviewer", "batch": str(b)}),
                          (f"/supervisor/batches/{b}/priority", {"priority": "9"})):
            res = c.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
            assert res.status_code == 403, (role, url)
    with store.session(write=False) as s:
        assert s.scalars(repo.select(Assignment)).first() is None and repo.get_batch(s, b).priority == 0
    assert TestClient(app).get("/supervisor", follow_redirects=False).status_code == 303  # anonymous: login
    for role in ("supervisor", "admin"):
        assert logged_in(app, role).get("/supervisor").status_code == 200
    # the JSON API, with tokens
    with store.session() as s:
        tokens = {r: repo.create_token(s, repo.get_user(s, r).id, "t")[0] for r in ("reviewer", "supervisor")}
    api = TestClient(app)
    for path in ("/api/v1/supervision/qa", "/api/v1/supervision/queue", "/api/v1/supervision/stats"):
        assert api.get(path, headers={"Authorization": f"Bearer {tokens['reviewer']}"}).status_code == 403
        assert api.get(path, headers={"Authorization": f"Bearer {tokens['supervisor']}"}).status_code == 200


# -- queue order, priorities, assignment -------------------------------------------------------------

def _claim(store, who: str) -> set[int]:
    with store.session() as s:
        return {f.batch_id for f in repo.claim_group(s, who)}


def test_queue_order_priorities_and_assignment(web):  # noqa: F811
    app, store = web
    review = [[field("dob", "needs_review", "1/1/1990", "date")] for _ in range(2)]
    a, b, c3 = (plant(store, n, review) for n in ("A", "B", "C"))
    assert _claim(store, "reviewer") == {a}  # same priority: the oldest batch first
    sup = logged_in(app, "supervisor")
    csrf = csrf_of(sup.get("/supervisor").text)
    res = sup.post(f"/supervisor/batches/{c3}/priority", data={"priority": "5", "csrf_token": csrf},
                   follow_redirects=False)
    assert res.status_code == 303
    assert _claim(store, "admin") == {c3}  # higher priority first
    res = sup.post("/supervisor/assign", data={"reviewer": "reviewer2", "batch": str(b), "csrf_token": csrf},
                   follow_redirects=False)
    assert res.status_code == 303
    d = plant(store, "D", review, priority=9)
    plant(store, "E", review)
    assert _claim(store, "reviewer2") == {b}  # assigned work first, before a higher-priority batch
    assert _claim(store, "supervisor") == {d}  # priority 9
    with store.session(write=False) as s:
        assert repo.get_batch(s, c3).priority == 5
        events = [e.action for e in s.scalars(repo.select(AuditEvent).where(AuditEvent.source == "web"))]
    assert "batch.priority" in events and "assignment.create" in events
    page = sup.get("/supervisor").text
    assert "reviewer2</td><td>2</td>" in page and "lô B" in page  # the per-reviewer view
    # the queue per batch: A held by reviewer, C by admin, B by reviewer2, D by supervisor; E free
    with store.session(write=False) as s:
        per_batch = {r["batch"]: r for r in supervision.queue_by_batch(s)}
        per_field = {r["field"]: r for r in supervision.queue_by_field(s)}
    assert (per_batch["A"]["leased"], per_batch["A"]["pending"], per_batch["E"]["pending"]) == (2, 0, 2)
    assert [r["batch"] for r in per_batch.values()][:2] == ["D", "C"]  # queue order: priority, then age
    assert per_field["dob"]["pending"] == 2 and per_field["dob"]["leased"] == 8
    assert per_batch["E"]["oldest_age_s"] is not None
    # others get assigned work only when nothing else is left
    aid = None
    with store.session() as s:
        repo.release_leases(s, "reviewer2")
        aid = repo.active_assignments(s, "reviewer2")[0].id
    assert _claim(store, "reviewer") == {a}  # still holds A
    with store.session() as s:
        repo.release_leases(s, "reviewer")
        repo.release_leases(s, "supervisor")
        repo.release_leases(s, "admin")
    got = [_claim(store, w) for w in ("reviewer", "admin", "supervisor", "exporter")]
    assert {b} not in got[:3]  # B (assigned to reviewer2) is not handed to others while other work waits
    res = sup.post(f"/supervisor/assignments/{aid}/end", data={"csrf_token": csrf}, follow_redirects=False)
    assert res.status_code == 303
    with store.session(write=False) as s:
        assert repo.active_assignments(s, "reviewer2") == []


# -- operator statistics ------------------------------------------------------------------------------

def test_operator_statistics_from_planted_decisions(web):  # noqa: F811
    app, store = web
    # 3 sheets with 2 review fields each
    plant(store, "stats", [[field("dob", "needs_review", "1/1/1990", "date"),
                            field("name2", "needs_review", "AN", "text")] for _ in range(3)])
    fids = ids(store, status="needs_review")
    t0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # 09:00 in Vietnam
    # decisions at 0, 10, 30 s; a 20-minute pause; then 20 and 60 s later
    at = [t0, t0 + dt.timedelta(seconds=10), t0 + dt.timedelta(seconds=30), t0 + dt.timedelta(minutes=20),
          t0 + dt.timedelta(minutes=20, seconds=20), t0 + dt.timedelta(minutes=21, seconds=20)]
    typed = ["1/1/1990", "BÌNH", "1/1/1990", None, "1/1/1990", "AN"]  # (dob, name2) × 3: one correction, one unreadable
    keys = [1, 6, 1, 2, 1, 1]
    with store.session() as s:
        for fid, value, k in zip(fids, typed, keys):
            f = repo.get_field(s, fid)
            if value is None:
                repo.verify_field(s, fid, version=f.version, value="", actor="reviewer", source="reviewer",
                                  status="rejected", note="không đọc được", keys=k)
            else:
                repo.verify_field(s, fid, version=f.version, value=value, actor="reviewer", source="reviewer", keys=k)
        events = list(s.scalars(repo.select(AuditEvent).where(AuditEvent.action.in_(supervision.DECISIONS))
                                .order_by(AuditEvent.id)))
        for e, when in zip(events, at):
            e.at = when
    with store.session(write=False) as s:
        (day,) = supervision.operator_stats(s)
    # timed decisions: 2nd, 3rd (10 s, 20 s), 5th, 6th (20 s, 60 s); the 20-minute pause is idle
    assert day["reviewer"] == "reviewer" and day["day"] == "2026-11-30" and day["decisions"] == 6
    assert day["active_minutes"] == round(110 / 60, 2)
    assert day["fields_per_hour"] == round(4 / (110 / 3600), 1)  # 130.9
    assert day["sheets_per_hour"] == round(2 / (110 / 3600), 1)  # each decision is half a sheet
    assert day["keys_per_field"] == round(12 / 6, 2)
    assert (day["corrections"], day["unreadable"], day["qa_answers"], day["qa_errors_found"]) == (1, 1, 0, 0)
    api = TestClient(app)
    with store.session() as s:
        token = repo.create_token(s, repo.get_user(s, "supervisor").id, "t")[0]
    got = api.get("/api/v1/supervision/stats", params={"since": "2026-11-29T00:00:00Z"},
                  headers={"Authorization": f"Bearer {token}"}).json()
    assert got["idle_gap_minutes"] == 5 and got["days"] == [day]


# -- calibrate --from-reviews ---------------------------------------------------------------------------

def _reviewed_sheet(i: int) -> list[dict]:
    """One sheet's fields as stored: a text field needing review whose confidence tells right from
    wrong (high: the reviewer confirms, low: corrects), and a sure auto-accepted date."""
    right = i % 4 != 0
    conf = 0.9 + 0.09 * ((i * 7919) % 100) / 100 if right else 0.3 + 0.3 * ((i * 104729) % 100) / 100
    fd = field("name2", "needs_review", "AN" if right else "AM", "text")
    fd["features"] = {"conf": conf, "conf_logit": math.log((conf + 1e-3) / (1 - conf + 1e-3)), "valid": 1.0,
                      "agree": 0.0, "disagree": 0.0, "empty": 0.0, "length": 0.05, "snap_score": 1.0,
                      "snap_margin": 1.0, "has_validator": 0.0, "vscore": 0.0, "neural": 0.0}
    return [fd]


def test_calibrate_from_reviews_writes_a_version_and_reports(web, tmp_path, monkeypatch):  # noqa: F811
    app, store = web
    data_dir = tmp_path / "data"
    monkeypatch.setenv("OCR_SERVICE_DATA_DIR", str(data_dir))
    out = tmp_path / "thresholds.json"
    runner = CliRunner()
    res = runner.invoke(cli_app, ["calibrate", "--from-reviews", "--template", "dc01", "--out", str(out)])
    assert res.exit_code == 14 and "no reviewed or QA-answered field" in res.output and not out.exists()
    plant(store, "reviewed", [_reviewed_sheet(i) for i in range(120)])
    with store.session() as s:
        for f in list(s.scalars(repo.select(FieldRow))):
            repo.verify_field(s, f.id, version=f.version, value="AN", actor="reviewer", source="reviewer")
    res = runner.invoke(cli_app, ["calibrate", "--from-reviews", "--template", "dc01", "--out", str(out)])
    assert res.exit_code == 14 and "only 120 reviewed" in res.output and not out.exists()  # too few
    # the refit must show the 95% bound on out-of-batch error within 0.5%: with no error that takes
    # about 600 accepted fields, so three batches of reviewed sheets
    plant(store, "reviewed2", [_reviewed_sheet(i) for i in range(120, 560)])
    plant(store, "reviewed3", [_reviewed_sheet(i) for i in range(560, 1000)])
    with store.session() as s:
        for f in list(s.scalars(repo.select(FieldRow).where(FieldRow.status == "needs_review"))):
            repo.verify_field(s, f.id, version=f.version, value="AN", actor="reviewer", source="reviewer")
    out.write_text(json.dumps({"default": 0.98, "kinds": {"text": 0.999}}))  # the old thresholds
    res = runner.invoke(cli_app, ["calibrate", "--from-reviews", "--template", "dc01", "--out", str(out)])
    assert res.exit_code == 0, res.output
    written = json.loads(out.read_text())
    assert written["version"] == 2 and written["source"] == "reviews" and written["fitted_at"]
    assert written["counts"] == {"fields": 1000, "reviewed": 1000, "qa": 0, "wrong": 250}
    kept = tmp_path / "thresholds.v1.json"
    assert json.loads(kept.read_text()) == {"default": 0.98, "kinds": {"text": 0.999}}
    assert "| text | 1000 |" in res.output and "straight-through before" in res.output
    row = next(line for line in res.output.splitlines() if line.startswith("| text |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    before, after = float(cells[2].rstrip("%")), float(cells[3].rstrip("%"))
    assert before < 30 < after  # the old gate sent nearly all to review; the refit accepts the confirmed ones
    assert "0.00%" in cells[5]  # and none of those it accepts was wrong
    # a second refit makes version 3 and keeps version 2
    res = runner.invoke(cli_app, ["calibrate", "--from-reviews", "--template", "dc01", "--out", str(out)])
    assert res.exit_code == 0 and json.loads(out.read_text())["version"] == 3
    assert json.loads((tmp_path / "thresholds.v2.json").read_text())["version"] == 2


def test_workers_pick_up_a_new_thresholds_file(tmp_path):
    import shutil

    from ocr_service.service.jobs import work
    from ocr_service.settings import BUNDLED_TEMPLATES

    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES, templates)
    settings = Settings(data_dir=tmp_path / "d", templates_dir=templates, engines="fake")
    first = work.pipeline_for(settings, TEMPLATE)
    assert work.pipeline_for(settings, TEMPLATE) is first  # built once
    path = templates / "dc01" / "tt66-2015.thresholds.fake.json"
    path.write_text(json.dumps({"version": 7, "default": 0.5, "kinds": {"text": 0.61}}))
    second = work.pipeline_for(settings, TEMPLATE)
    assert second is not first and second.thresholds.threshold("text", "x") == 0.61


def test_ingest_samples_at_the_configured_rate(tmp_path):
    """Through the real job path (`ocr-service ingest`, fake engine): the worker passes the setting."""
    from jobs_helpers import SAMPLES, cli, cli_env

    from ocr_service.service.store import open_store

    data = tmp_path / "data"
    env = cli_env(data, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_QA_SAMPLE_RATE="1")
    res = cli(["ingest", str(SAMPLES / "dc01" / "0000.jpg"), "--batch", "qa", "--template", "dc01", "--workers", "1"],
              env)
    assert res.returncode in (0, 1), res.stderr
    store = open_store(None, data)
    try:
        with store.session(write=False) as s:
            rows = list(s.scalars(repo.select(FieldRow)))
    finally:
        store.close()
    auto = [f for f in rows if f.status == "auto_accepted"]
    assert auto and all(f.qa_state == "pending" for f in auto)
    assert all(f.qa_state is None for f in rows if f.status != "auto_accepted")
