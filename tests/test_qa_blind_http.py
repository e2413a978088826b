"""Blind QA over real HTTP, against a real `ocr-service serve` on a SQLite store: a reviewer's API
token sees a QA sample as a field needing review (status, reasons, status filters, the review
queue, no score) while a supervisor sees which fields are samples; sheet mode serves QA samples
(also a sheet whose only queued field is a sample) and judges the answers as group mode does;
reviewer QA sends a reviewer's decisions blind to a second, different reviewer (never back to the
first), counts a disagreement against the first, and shows the counts with their Clopper–Pearson
interval on the supervisor's page and in the statistics."""

from __future__ import annotations

import re
from contextlib import contextmanager

import httpx
import pytest
from argon2 import PasswordHasher
from serve_helpers import running_serve
from store_fixtures import TEMPLATE, field, result, sha
from web_fixtures import PASSWORD, add_users, csrf_of

from ocr_service.calibration.intervals import clopper_pearson
from ocr_service.service import auth
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow
from ocr_service.service.web import security

_n = [0]


def _sheet(s, batch_id: int, fields: list[dict]) -> int:
    _n[0] += 1
    n = _n[0]
    f = repo.add_file(s, batch_id, sha256=sha(40_000 + n), original_name=f"qa-{n}.jpg", size_bytes=1).row
    repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(60_000 + n)}], enqueue=False)
    return repo.write_result(s, f.id, result(1, fields=fields)).sheet_id


def _field_id(s, sheet_id: int, name: str) -> int:
    return s.scalar(repo.select(FieldRow.id).where(FieldRow.sheet_id == sheet_id, FieldRow.name == name))


def _sample(s, *field_ids: int) -> None:
    """Mark auto-accepted fields as QA samples waiting for an answer (what write_result does for the
    share its hash picks)."""
    t = FieldRow.__table__
    s.execute(repo.update(t).where(t.c.id.in_(list(field_ids))).values(qa_state="pending"))


@contextmanager
def _station(tmp, **env):
    """Users of every role (and reviewer2) with API tokens, the planted batches, a real serve."""
    data = tmp / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        store = open_store(None, data, create=True)
        add_users(store)
    tokens = {}
    with store.session() as s:
        for who in ("reviewer", "reviewer2", "supervisor"):
            tokens[who] = repo.create_token(s, repo.get_user(s, who).id, "test")[0]
    planted = {}
    try:
        yield store, tokens, planted, data, {"OCR_SERVICE_ENGINES": "fake", "OCR_SERVICE_WORKERS": "1", **env}
    finally:
        store.close()


@pytest.fixture(scope="module")
def blind_station(tmp_path_factory):
    """Reviewer QA off (the decisions here are not sampled again)."""
    tmp = tmp_path_factory.mktemp("qa-blind")
    with _station(tmp) as (store, tokens, planted, data, env):
        with store.session() as s:
            b = repo.create_batch(s, "api-blind", template=TEMPLATE)
            x = _sheet(s, b.id, [field("full_name", value="AN"),
                                 field("dob", "needs_review", "05/06/1970", "date")])
            y = _sheet(s, b.id, [field("full_name", value="BÌNH"), field("dob", "auto_accepted", "07/08/1971", "date")])
            _sample(s, _field_id(s, y, "dob"))
            sb = repo.create_batch(s, "sheet-mode", template=TEMPLATE)
            p1 = _sheet(s, sb.id, [field("full_name", "needs_review", "CHÂU"),
                                   field("dob", "auto_accepted", "01/02/1980", "date")])
            p2 = _sheet(s, sb.id, [field("full_name", "needs_review", "DŨNG"),
                                   field("dob", "needs_review", "01/02/1980", "date")])
            q = _sheet(s, sb.id, [field("full_name", value="GIANG"), field("dob", value="03/04/1990", kind="date")])
            _sample(s, _field_id(s, p1, "dob"), _field_id(s, q, "full_name"))
            planted.update(batch=b.id, x=x, y=y, sheet_batch=sb.id, p1=p1, p2=p2, q=q)
        with running_serve(tmp, data, OCR_SERVICE_QA_REVIEW_RATE="0", **env) as url:
            yield {"url": url, "store": store, "tokens": tokens, **planted}


@pytest.fixture(scope="module")
def review_qa_station(tmp_path_factory):
    """Reviewer QA at rate 1: every ordinary decision is checked by a second reviewer."""
    tmp = tmp_path_factory.mktemp("qa-review")
    with _station(tmp) as (store, tokens, planted, data, env):
        with store.session() as s:
            b = repo.create_batch(s, "cross-check", template=TEMPLATE)
            sheets = [_sheet(s, b.id, [field("full_name", value="HÀ"), field("dob", "needs_review", v, "date")])
                      for v in ("11/11/1961", "12/12/1962", "13/01/1963")]
            planted.update(batch=b.id, sheets=sheets)
        with running_serve(tmp, data, OCR_SERVICE_QA_REVIEW_RATE="1.0", **env) as url:
            yield {"url": url, "store": store, "tokens": tokens, **planted}


def _api(st, who: str) -> httpx.Client:
    return httpx.Client(base_url=st["url"] + "/api/v1", timeout=30,
                        headers={"Authorization": f"Bearer {st['tokens'][who]}"})


def _web(st, who: str) -> httpx.Client:
    c = httpx.Client(base_url=st["url"], timeout=60, follow_redirects=True)
    page = c.get("/login")
    res = c.post("/login", data={"username": who, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                 "next": "/review/group"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    return c


def _claim_group(c: httpx.Client, batch: int) -> str:
    page = c.get(f"/review/group?batch={batch}")
    return c.post("/review/group", data={"csrf_token": csrf_of(page.text), "batch": batch}).text


def _claim_sheet(c: httpx.Client, batch: int) -> tuple[int | None, str]:
    page = c.get(f"/review/sheet?batch={batch}")
    res = c.post("/review/sheet", data={"csrf_token": csrf_of(page.text), "batch": batch})
    m = re.search(r"/review/sheet/(\d+)$", str(res.url))
    return (int(m.group(1)) if m else None), res.text


ROW = re.compile(r'<form class="row.*?</form>', re.S)
FROW = re.compile(r'<div class="frow.*?</ul>\s*</div>', re.S)


def _group_rows(html: str) -> dict[int, str]:
    return {int(re.search(r'data-field="(\d+)"', r).group(1)): r for r in ROW.findall(html)}


def _version(row: str) -> int:
    m = re.search(r'name="version" value="(\d+)"', row) or re.search(r'data-version="(\d+)"', row)
    return int(m.group(1))


def _decide(c: httpx.Client, html: str, field_id: int, value: str, action: str = "accept") -> httpx.Response:
    row = _group_rows(html)[field_id]
    return c.post(f"/review/fields/{field_id}", data={"csrf_token": csrf_of(html), "version": _version(row),
                                                      "action": action, "value": value, "keys": "1"})


def _shape(row: str) -> str:
    """A row's markup with its data (ids, numbers, values, choices, labels, boxes) blanked out."""
    row = re.sub(r"data-(choices|box)='[^']*'", r"data-\1=''", row)
    row = re.sub(r'(value|data-original)="[^"]*"', r'\1=""', row)
    row = re.sub(r"<label[^>]*>[^<]*</label>", "<label></label>", row)
    row = re.sub(r'<span class="where">[^<]*</span>', '<span class="where"></span>', row)
    row = re.sub(r"ô \w+", "ô X", row)
    return re.sub(r"\d+", "N", row)


def _rows(store, *ids: int) -> list[FieldRow]:
    with store.session(write=False) as s:
        return [s.get(FieldRow, i) for i in ids]


def _events(store, field_id: int) -> list[AuditEvent]:
    with store.session(write=False) as s:
        return list(s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "field",
                                                            AuditEvent.entity_id == str(field_id))
                              .order_by(AuditEvent.id)))


# -- 1. the API is blind to a reviewer ---------------------------------------------------------------

BLANK = ("id", "sheet_id", "raw", "value", "candidates", "version", "position", "suggestion")


def test_a_reviewer_token_cannot_tell_a_qa_sample_and_a_supervisor_can(blind_station):
    st = blind_station
    with st["store"].session(write=False) as s:
        review_dob, sample_dob = _field_id(s, st["x"], "dob"), _field_id(s, st["y"], "dob")
    with _api(st, "reviewer") as api, _api(st, "supervisor") as sup:
        x, y = api.get(f"/sheets/{st['x']}").json(), api.get(f"/sheets/{st['y']}").json()
        assert (y["status"], y["fields_review"]) == (x["status"], x["fields_review"]) == ("needs_review", 1)
        a, b = x["fields"][1], y["fields"][1]
        assert b["status"] == "needs_review" and b["confidence"] is None and b["qa"] is None
        assert [r["code"] for r in b["reasons"]] == ["low_confidence"]
        assert {k: v for k, v in a.items() if k not in BLANK} == {k: v for k, v in b.items() if k not in BLANK}
        assert api.get(f"/fields/{sample_dob}").json() == b
        # the status filters and the review queue agree with what is shown
        listed = api.get(f"/batches/{st['batch']}/sheets", params={"status": "needs_review"}).json()["items"]
        assert [sh["id"] for sh in listed] == [st["x"], st["y"]]
        assert api.get(f"/batches/{st['batch']}/sheets", params={"status": "auto_accepted"}).json()["items"] == []
        assert [f["name"] for f in api.get(f"/sheets/{st['y']}/fields",
                                           params={"status": "auto_accepted"}).json()["items"]] == ["full_name"]
        assert [f["id"] for f in api.get(f"/sheets/{st['y']}/fields",
                                         params={"status": "needs_review"}).json()["items"]] == [sample_dob]
        counts = api.get(f"/batches/{st['batch']}/status").json()["sheets"]
        assert counts == {"auto_accepted": 0, "needs_review": 2, "verified": 0}
        assert sup.get(f"/batches/{st['batch']}/status").json()["sheets"] == {
            "auto_accepted": 1, "needs_review": 1, "verified": 0}
        queue = api.get("/review", params={"batch": st["batch"]}).json()["items"]
        assert [f["id"] for f in queue] == [review_dob, sample_dob]
        assert {f["status"] for f in queue} == {"needs_review"}
        # the supervisor sees the truth
        y_sup = sup.get(f"/sheets/{st['y']}").json()
        assert y_sup["status"] == "auto_accepted" and y_sup["fields_review"] == 0
        assert (y_sup["fields"][1]["status"], y_sup["fields"][1]["qa"], y_sup["fields"][1]["confidence"]) == (
            "auto_accepted", "pending", 0.97)
        assert [f["qa"] for f in sup.get("/review", params={"batch": st["batch"]}).json()["items"]] == [None, "pending"]
        assert sup.get(f"/batches/{st['batch']}/sheets", params={"status": "auto_accepted"}).json()["items"][0]["id"] \
            == st["y"]

    # answered in group mode (as shown): still a reviewed field to the reviewer, a QA agree to the supervisor
    web = _web(st, "reviewer")
    html = _claim_group(web, st["batch"])
    assert set(_group_rows(html)) == {review_dob, sample_dob}
    assert _shape(_group_rows(html)[review_dob]) == _shape(_group_rows(html)[sample_dob])
    assert _decide(web, html, sample_dob, "07/08/1971").status_code == 200
    assert _decide(web, html, review_dob, "05/06/1970").status_code == 200
    with _api(st, "reviewer") as api, _api(st, "supervisor") as sup:
        b = api.get(f"/fields/{sample_dob}").json()
        assert (b["status"], b["verified_value"], b["verified_by"]) == ("verified", "07/08/1971", "reviewer")
        assert api.get(f"/sheets/{st['y']}").json()["status"] == "verified"
        assert api.get(f"/batches/{st['batch']}/sheets", params={"status": "verified"}).json()["items"][1]["id"] \
            == st["y"]
        assert (sup.get(f"/fields/{sample_dob}").json()["qa"], sup.get(f"/fields/{sample_dob}").json()["status"]) \
            == ("agree", "auto_accepted")
    assert [e.source for e in _events(st["store"], sample_dob)] == ["qa"]
    # the history page: the answer is a reviewer's to a reviewer, a QA answer to a supervisor
    mine = web.get(f"/review/sheet/{st['y']}/history").text
    assert "kiểm tra viên" in mine and "QA" not in mine
    theirs = _web(st, "supervisor").get(f"/review/sheet/{st['y']}/history").text
    assert "kiểm tra chất lượng (QA)" in theirs


# -- 2. sheet mode serves QA samples -----------------------------------------------------------------

def test_sheet_mode_mixes_in_qa_samples_blind_and_judges_the_answers(blind_station):
    st = blind_station
    store = st["store"]
    with store.session(write=False) as s:
        p1 = {n: _field_id(s, st["p1"], n) for n in ("full_name", "dob")}
        p2 = {n: _field_id(s, st["p2"], n) for n in ("full_name", "dob")}
        q_name = _field_id(s, st["q"], "full_name")
    web = _web(st, "reviewer2")
    h = {}

    def decide(sheet: int, fid: int, html: str, value: str, action: str = "accept") -> dict:
        rows = {int(re.search(r'data-field="(\d+)"', r).group(1)): r for r in FROW.findall(html)}
        h[security.CSRF_HEADER] = csrf_of(html)
        res = web.post(f"/review/sheet/{sheet}/fields/{fid}", headers=h,
                       data={"version": _version(rows[fid]), "action": action, "value": value, "confirm": "1"})
        assert res.status_code == 200, res.text
        return res.json()

    sheet, html = _claim_sheet(web, st["sheet_batch"])
    assert sheet == st["p1"]
    rows1 = {int(re.search(r'data-field="(\d+)"', r).group(1)): r for r in FROW.findall(html)}
    assert set(rows1) == set(p1.values())  # the sample is listed with the field needing review
    assert all('data-state="pending"' in r for r in rows1.values())
    assert "auto_accepted" not in html and "qa" not in html.lower().replace("qa-", "")
    with store.session(write=False) as s:
        assert s.get(FieldRow, p1["dob"]).lease_owner == "reviewer2"  # leased with the sheet
    # the sample (read 01/02/1980) answered otherwise: an auto-accept error, corrected
    answer = decide(sheet, p1["dob"], html, "01/02/1986")
    assert answer["state"] == "saved" and answer["status"] == "verified" and answer["value"] == "01/02/1986"
    decide(sheet, p1["full_name"], html, "CHÂU")
    # the next sheet: the same field needing review renders as the sample did
    sheet, html2 = _claim_sheet(web, st["sheet_batch"])
    assert sheet == st["p2"]
    rows2 = {int(re.search(r'data-field="(\d+)"', r).group(1)): r for r in FROW.findall(html2)}
    assert _shape(rows1[p1["dob"]]) == _shape(rows2[p2["dob"]])
    decide(sheet, p2["dob"], html2, "01/02/1980")
    decide(sheet, p2["full_name"], html2, "DŨNG")
    # a sheet whose only queued field is a sample (stored auto_accepted) is served too; confirmed
    sheet, html3 = _claim_sheet(web, st["sheet_batch"])
    assert sheet == st["q"]
    assert [int(re.search(r'data-field="(\d+)"', r).group(1)) for r in FROW.findall(html3)] == [q_name]
    assert decide(sheet, q_name, html3, "GIANG")["status"] == "verified"  # shown as reviewed
    assert _claim_sheet(web, st["sheet_batch"])[0] is None  # nothing left
    a, b, c = _rows(store, p1["dob"], q_name, p2["dob"])
    assert (a.qa_state, a.status, a.value, a.verified_value) == ("error", "verified", "01/02/1980", "01/02/1986")
    assert (b.qa_state, b.status) == ("agree", "auto_accepted")
    assert (c.qa_state, c.status) == (None, "verified")
    (ea,), (eb,), (ec,) = (_events(store, i) for i in (p1["dob"], q_name, p2["dob"]))
    assert (ea.source, ea.new["qa"], eb.source, eb.new["qa"], ec.source) == ("qa", "error", "qa", "agree", "reviewer")


# -- 3. reviewer QA ----------------------------------------------------------------------------------

def test_reviewer_decisions_go_blind_to_another_reviewer_and_disagreements_count(review_qa_station):
    st = review_qa_station
    store = st["store"]
    with store.session(write=False) as s:
        dobs = [_field_id(s, sh, "dob") for sh in st["sheets"]]
    first = _web(st, "reviewer")
    html = _claim_group(first, st["batch"])
    assert set(_group_rows(html)) == set(dobs)
    assert _decide(first, html, dobs[0], "11/11/1961").status_code == 200  # as read
    assert _decide(first, html, dobs[1], "12/12/1968").status_code == 200  # corrected (wrongly, as it turns out)
    assert _decide(first, html, dobs[2], "", "unreadable").status_code == 200
    rows = _rows(store, *dobs)
    assert [(f.status, f.qa_state, f.qa_reviewer) for f in rows] == [
        ("verified", "pending", "reviewer"), ("verified", "pending", "reviewer"), ("rejected", "pending", "reviewer")]
    # never given back to the first reviewer, on any surface; they are not told either
    assert _group_rows(_claim_group(first, st["batch"])) == {}
    assert _claim_sheet(first, st["batch"])[0] is None
    with _api(st, "reviewer") as api:
        assert api.get("/review", params={"batch": st["batch"]}).json()["items"] == []
        mine = api.get(f"/fields/{dobs[1]}").json()
        assert (mine["status"], mine["verified_value"]) == ("verified", "12/12/1968")
    with _api(st, "supervisor") as sup:  # the supervisor's queue: three to do, none done yet
        (row,) = [b for b in sup.get("/supervision/queue").json()["batches"] if b["batch_id"] == st["batch"]]
        assert (row["pending"], row["done"]) == (3, 0)
    # to the second reviewer each is a field needing review, without the first decision
    with _api(st, "reviewer2") as api:
        other = api.get(f"/fields/{dobs[1]}").json()
        assert (other["status"], other["verified_value"], other["verified_by"], other["value"]) == (
            "needs_review", None, None, "12/12/1962")
        assert api.get(f"/sheets/{st['sheets'][1]}").json()["status"] == "needs_review"
        assert [f["id"] for f in api.get("/review", params={"batch": st["batch"]}).json()["items"]] == dobs
    second = _web(st, "reviewer2")
    html = _claim_group(second, st["batch"])
    assert set(_group_rows(html)) == set(dobs) and "12/12/1968" not in html
    assert "12/12/1968" not in second.get(f"/review/sheet/{st['sheets'][1]}/history").text
    assert "12/12/1968" not in second.get(f"/review/sheets/{st['sheets'][1]}").text
    assert _decide(second, html, dobs[0], "11/11/1961").status_code == 200  # agrees
    assert _decide(second, html, dobs[1], "12/12/1962").status_code == 200  # disagrees: a finding
    assert _decide(second, html, dobs[2], "", "unreadable").status_code == 200  # agrees (unreadable twice)
    rows = _rows(store, *dobs)
    assert [(f.status, f.qa_state, f.verified_value, f.verified_by) for f in rows] == [
        ("verified", "agree", "11/11/1961", "reviewer"), ("verified", "error", "12/12/1962", "reviewer2"),
        ("rejected", "agree", "", "reviewer")]
    assert all(f.qa_reviewer == "reviewer" for f in rows)  # the answers are not sampled again
    ev = _events(store, dobs[1])
    assert [(e.actor, e.source) for e in ev] == [("reviewer", "reviewer"), ("reviewer2", "qa")]
    assert (ev[1].new["qa"], ev[1].new["qa_of"], ev[1].old["verified_value"]) == ("error", "reviewer", "12/12/1968")
    # the supervisor's figures: 3 checked, 1 disagreement, the exact 95% interval
    lo, hi = clopper_pearson(1, 3)
    with _api(st, "supervisor") as sup:
        (row,) = [b for b in sup.get("/supervision/queue").json()["batches"] if b["batch_id"] == st["batch"]]
        assert (row["pending"], row["done"]) == (0, 3)
        qa = sup.get("/supervision/qa").json()
        assert qa["reviewers"] == [{"reviewer": "reviewer", "checked": 3, "errors": 1, "rate": pytest.approx(1 / 3),
                                    "low": pytest.approx(lo), "high": pytest.approx(hi), "pending": 0}]
        assert qa["kinds"] == []  # not auto-accept QA: the residual of auto-accept is not touched
        (day,) = [d for d in sup.get("/supervision/stats").json()["days"] if d["reviewer"] == "reviewer"]
        assert (day["qa_checked"], day["qa_errors"]) == (3, 1)
        assert (day["qa_error_low"], day["qa_error_high"]) == (pytest.approx(lo), pytest.approx(hi))
        (day2,) = [d for d in sup.get("/supervision/stats").json()["days"] if d["reviewer"] == "reviewer2"]
        assert (day2["qa_answers"], day2["qa_checked"], day2["qa_errors_found"]) == (3, 0, 0)
    page = _web(st, "supervisor").get("/supervisor").text
    row = re.search(r'<table class="grid" id="reviewer-qa">.*?<tr data-reviewer="reviewer">(.*?)</tr>', page, re.S)
    assert row and re.sub(r"\s+", "", row.group(1)).startswith("<td>reviewer</td><td>3</td><td>1</td><td>33,33%</td>")
    assert f"{100 * lo:.2f}%".replace(".", ",") in row.group(1)


def test_the_first_reviewer_cannot_answer_their_own_check(review_qa_station):
    """Even holding it (a lease forced in the store), the first reviewer's answer is refused and nothing changes."""
    st = review_qa_station
    store = st["store"]
    with store.session() as s:
        b = repo.create_batch(s, "own-check", template=TEMPLATE)
        sheet = _sheet(s, b.id, [field("dob", "needs_review", "14/02/1964", "date")])
        fid = _field_id(s, sheet, "dob")
    first = _web(st, "reviewer")
    html = _claim_group(first, b.id)
    assert _decide(first, html, fid, "14/02/1964").status_code == 200
    with store.session() as s:
        t = FieldRow.__table__
        s.execute(repo.update(t).where(t.c.id == fid).values(lease_owner="reviewer", lease_token="x" * 32,
                                                             lease_expires_at=repo.utcnow() + repo.REVIEW_LEASE))
        version = s.get(FieldRow, fid).version
    res = first.post(f"/review/fields/{fid}", data={"csrf_token": csrf_of(html), "version": version,
                                                    "action": "accept", "value": "15/02/1964"})
    assert res.status_code == 409
    (f,) = _rows(store, fid)
    assert (f.qa_state, f.verified_value, f.version) == ("pending", "14/02/1964", version)


def test_reviewer_qa_sampling_is_its_own_reproducible_draw():
    picks = [repo.qa_sampled(sha(i), "dob", 0.02, purpose="qa-review") for i in range(20_000)]
    lo, hi = clopper_pearson(sum(picks), len(picks), 0.999)
    assert lo <= 0.02 <= hi
    assert picks == [repo.qa_sampled(sha(i), "dob", 0.02, purpose="qa-review") for i in range(20_000)]
    auto = [repo.qa_sampled(sha(i), "dob", 0.02) for i in range(20_000)]
    assert picks != auto and sum(a and b for a, b in zip(picks, auto)) < 30  # independent of the auto-accept draw


def test_sheet_mode_decisions_are_sampled_for_reviewer_qa_and_served_to_another_reviewer(review_qa_station):
    st = review_qa_station
    store = st["store"]
    with store.session() as s:
        b = repo.create_batch(s, "sheet-cross-check", template=TEMPLATE)
        sheet = _sheet(s, b.id, [field("full_name", value="KHOA"), field("dob", "needs_review", "15/03/1965", "date")])
        fid = _field_id(s, sheet, "dob")
    first = _web(st, "reviewer")
    got, html = _claim_sheet(first, b.id)
    assert got == sheet
    version = _version(FROW.findall(html)[0])
    res = first.post(f"/review/sheet/{sheet}/fields/{fid}", headers={security.CSRF_HEADER: csrf_of(html)},
                     data={"version": version, "action": "accept", "value": "15/03/1966", "confirm": "1"})
    assert res.status_code == 200 and res.json()["state"] == "saved"
    (f,) = _rows(store, fid)
    assert (f.status, f.verified_value, f.qa_state, f.qa_reviewer) == ("verified", "15/03/1966", "pending", "reviewer")
    assert _claim_sheet(first, b.id)[0] is None  # not back to the first reviewer
    # who still sees their decision on the sheet, as they left it
    assert 'value="15/03/1966"' in first.get(f"/review/sheet/{sheet}").text
    second = _web(st, "reviewer2")
    got, html = _claim_sheet(second, b.id)
    assert got == sheet  # its stored status is verified: served for the pending check
    (row,) = FROW.findall(html)
    assert 'data-state="pending"' in row and 'value="15/03/1965"' in row and "15/03/1966" not in html
    res = second.post(f"/review/sheet/{sheet}/fields/{fid}", headers={security.CSRF_HEADER: csrf_of(html)},
                      data={"version": _version(row), "action": "accept", "value": "15/03/1966", "confirm": "1"})
    assert res.status_code == 200
    (f,) = _rows(store, fid)
    assert (f.qa_state, f.verified_by, f.verified_value) == ("agree", "reviewer", "15/03/1966")
    assert [(e.actor, e.source, (e.new or {}).get("qa_of")) for e in _events(store, fid)] == [
        ("reviewer", "reviewer", None), ("reviewer2", "qa", "reviewer")]
