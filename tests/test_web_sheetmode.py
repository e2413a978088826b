"""Sheet mode, suggestions, inline validation, the sheet history and the POST claim of group mode,
in-process (TestClient, SQLite): endpoints, roles, escaping, leases and what is stored and audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from api_fixtures import fast_hashing  # noqa: F401
from store_fixtures import TEMPLATE, field, result, sha
from web_fixtures import TestClient, add_batch, add_users, csrf_of, login

from ocr_service.service.api import create_app
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow, utcnow
from ocr_service.service.web import security
from ocr_service.settings import Settings

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def web(tmp_path, fast_hashing):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    add_users(store)
    app = create_app(settings, store)
    yield app, store
    store.close()


def add_sheets(store, n: int = 2, name: str = "sheets", *, religion: str = "Phật giáo", priority: int = 0) -> int:
    """A batch of ``n`` DC01 sheets whose dob, id_number (ID says born 1939), ethnicity, religion and
    relation_to_head need review; full_name and sex are auto-accepted."""
    with store.session() as s:
        b = repo.create_batch(s, name, template=TEMPLATE, priority=priority)
        for i in range(n):
            f = repo.add_file(s, b.id, sha256=sha(3000 + i + priority * 100), original_name=f"sheet-{i}.jpg",
                              size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(7000 + i + priority * 100)}], enqueue=False)
            fields = [field("full_name", value="NGUYỄN VĂN AN"), field("sex", value="Nam"),
                      field("dob", "needs_review", "05/11/1939", "date"),
                      field("ethnicity", "needs_review", "Kinh"), field("religion", "needs_review", religion),
                      field("id_number", "needs_review", "001039012345", "digits"),
                      field("relation_to_head", "needs_review", "Con")]
            repo.write_result(s, f.id, result(1, fields=fields))
        return b.id


def logged_in(app, username: str = "reviewer") -> TestClient:
    c = TestClient(app)
    assert login(c, username).status_code == 303
    return c


def claim_sheet(c) -> tuple[int, str]:
    """POST the claim from the claim page; the sheet id and the sheet page's HTML."""
    page = c.get("/review/sheet")
    assert page.status_code == 200 and 'action="/review/sheet"' in page.text
    res = c.post("/review/sheet", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert res.status_code == 303, res.text
    sheet_id = int(re.fullmatch(r"/review/sheet/(\d+)", res.headers["location"]).group(1))
    return sheet_id, c.get(res.headers["location"]).text


def rows(html: str) -> dict[int, int]:
    return {int(i): int(v) for i, v in re.findall(r'data-field="(\d+)" data-version="(\d+)"\s+data-state="pending"', html)}


def test_sheet_claim_is_a_post_and_two_reviewers_get_different_sheets(web):
    app, store = web
    add_sheets(store, 2)
    a, b = logged_in(app, "reviewer"), logged_in(app, "reviewer2")
    page = a.get("/review/sheet")
    with store.session(write=False) as s:  # a GET claims nothing
        assert not s.scalars(repo.select(FieldRow).where(FieldRow.lease_owner.is_not(None))).all()
    assert a.post("/review/sheet", follow_redirects=False).status_code == 403  # no CSRF token: refused
    sa, html_a = claim_sheet(a)
    sb, html_b = claim_sheet(b)
    assert sa != sb and len(rows(html_a)) == 5 and len(rows(html_b)) == 5
    assert a.get("/review/sheet", follow_redirects=False).headers["location"] == f"/review/sheet/{sa}"  # held
    with store.session(write=False) as s:
        owners = {(f.sheet_id, f.lease_owner) for f in s.scalars(repo.select(FieldRow).where(
            FieldRow.status == "needs_review"))}
        tokens = {f.lease_token[:6] for f in s.scalars(repo.select(FieldRow).where(FieldRow.lease_owner.is_not(None)))}
    assert owners == {(sa, "reviewer"), (sb, "reviewer2")} and tokens == {"sheet:"}
    # a third reviewer finds nothing free; group mode does not take a held sheet for a group
    c = logged_in(app, "supervisor")
    page = c.get("/review/sheet")
    res = c.post("/review/sheet", data={"csrf_token": csrf_of(page.text)})
    assert "Không còn phiếu nào cần duyệt" in res.text
    grp = a.get("/review/group")
    assert 'action="/review/group"' in grp.text and 'id="row-' not in grp.text
    assert page.status_code == 200


def test_group_claim_is_a_post_not_a_get(web):
    app, store = web
    add_batch(store, sheets=3)
    c = logged_in(app)
    page = c.get("/review/group")
    assert page.status_code == 200 and 'id="row-' not in page.text and 'id="claim-button" autofocus' in page.text
    with store.session(write=False) as s:
        assert not s.scalars(repo.select(FieldRow).where(FieldRow.lease_owner.is_not(None))).all()
    assert c.post("/review/group", follow_redirects=False).status_code == 403
    res = c.post("/review/group", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/review/group"
    assert len(re.findall(r'id="row-\d+"', c.get("/review/group").text)) == 3
    res = logged_in(app, "reviewer2").post("/review/group", data={"csrf_token": csrf_of(page.text)})
    assert res.status_code == 403  # another session's token is not this one's


def _ids(store, sheet_id: int) -> dict[str, int]:
    with store.session(write=False) as s:
        return {f.name: f.id for f in s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == sheet_id))}


def test_decisions_inline_validation_and_a_deliberate_override(web):
    app, store = web
    add_sheets(store, 1)
    c = logged_in(app)
    sheet, html = claim_sheet(c)
    versions, ids, h = rows(html), _ids(store, sheet), {security.CSRF_HEADER: csrf_of(html)}
    url = f"/review/sheet/{sheet}"
    # typing: the pipeline's check, in Vietnamese, on both fields it names; nothing stored
    res = c.post(url + "/check", headers=h, data={"field": ids["dob"], "value": "05/11/1994"})
    assert res.status_code == 200 and res.headers["content-type"] == "application/json"
    got = res.json()["fields"]
    assert [m["text"] for m in got[str(ids["dob"])]] == ["Số định danh ghi sinh năm 1939, ngày sinh ghi 1994"]
    assert "Số định danh ghi sinh năm 1939, ngày sinh ghi 1994" in [m["text"] for m in got[str(ids["id_number"])]]
    assert c.post(url + "/check", data={"field": ids["dob"], "value": "x"}).status_code == 403  # CSRF
    # a refused value is not saved at first …
    dob = {"version": versions[ids["dob"]], "action": "accept", "value": "05/11/1994"}
    res = c.post(url + f"/fields/{ids['dob']}", headers=h, data=dob)
    assert res.json()["state"] == "invalid" and "1994" in res.json()["messages"][0]["text"]
    with store.session(write=False) as s:
        assert repo.get_field(s, ids["dob"]).status == "needs_review"
    # … and saved when sent again deliberately (confirm), the override recorded in the note and the audit
    res = c.post(url + f"/fields/{ids['dob']}", headers=h, data={**dob, "confirm": 1})
    assert res.json()["state"] == "saved" and res.json()["note"].startswith("lưu dù không hợp lệ: Số định danh")
    # a valid value is saved at once, judged and kept as saved (a suggestion list's trailing comma
    # dropped); F4 and F8 work as in group mode
    res = c.post(url + f"/fields/{ids['ethnicity']}", headers=h,
                 data={"version": versions[ids["ethnicity"]], "action": "accept", "value": "Kinh, "})
    assert res.json()["state"] == "saved" and res.json()["value"] == "Kinh"
    res = c.post(url + f"/fields/{ids['religion']}", headers=h,
                 data={"version": versions[ids["religion"]], "action": "unreadable", "value": "?"})
    assert res.json()["status"] == "rejected"
    res = c.post(url + f"/fields/{ids['relation_to_head']}", headers=h,
                 data={"version": versions[ids["relation_to_head"]], "action": "postpone"})
    assert res.json()["state"] == "postponed"
    with store.session(write=False) as s:
        f = {n: repo.get_field(s, i) for n, i in ids.items()}
        events = {(e.entity_id, e.action): e for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.entity_type == "field"))}
    assert (f["dob"].status, f["dob"].verified_value, f["dob"].verified_by) == ("verified", "05/11/1994", "reviewer")
    assert events[(str(ids["dob"]), "field.verify")].new["note"].startswith("lưu dù không hợp lệ")
    assert events[(str(ids["dob"]), "field.verify")].old["value"] == "05/11/1939"
    assert (f["ethnicity"].verified_value, f["religion"].status) == ("Kinh", "rejected")
    assert f["relation_to_head"].postponed_by == "reviewer"
    # a stale save (the version the page showed is gone) is refused with a message, nothing overwritten
    res = c.post(url + f"/fields/{ids['ethnicity']}", headers=h,
                 data={"version": versions[ids["ethnicity"]], "action": "accept", "value": "Tày"})
    assert res.status_code == 409 and res.json()["state"] == "conflict" and "Tày" == res.json()["typed"]
    assert "đã được reviewer duyệt" in res.json()["message"]
    with store.session(write=False) as s:
        assert repo.get_field(s, ids["ethnicity"]).verified_value == "Kinh"
    # the sheet page now shows the decided fields, the override's message next to dob
    page = c.get(url).text
    assert "Số định danh ghi sinh năm 1939, ngày sinh ghi 1994" in page


def test_a_save_after_the_sheet_lease_moved_on_is_refused(web):
    app, store = web
    add_sheets(store, 1)
    a = logged_in(app)
    sheet, html = claim_sheet(a)
    ids, versions = _ids(store, sheet), rows(html)
    with store.session() as s:
        s.execute(repo.update(FieldRow.__table__).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    b = logged_in(app, "reviewer2")
    assert claim_sheet(b)[0] == sheet  # the expired sheet went back to the queue
    res = a.post(f"/review/sheet/{sheet}/fields/{ids['ethnicity']}", headers={security.CSRF_HEADER: csrf_of(html)},
                 data={"version": versions[ids["ethnicity"]], "action": "accept", "value": "Kinh"})
    assert res.status_code == 409 and "đang do người khác duyệt" in res.json()["message"]
    with store.session(write=False) as s:
        f = repo.get_field(s, ids["ethnicity"])
        assert (f.status, f.lease_owner, f.verified_value) == ("needs_review", "reviewer2", None)


def test_suggestions_follow_the_field_s_vocabulary(web):
    app, store = web
    add_sheets(store, 1)
    c = logged_in(app)
    ids = _ids(store, 1)

    def values(name, q):
        res = c.get("/review/suggest", params={"field": ids[name], "q": q})
        assert res.status_code == 200 and res.headers["content-type"] == "application/json"
        return [i["value"] for i in res.json()["items"]]

    assert values("ethnicity", "kinh")[0] == "Kinh"
    assert values("ethnicity", "hmong")[0] == "HMông"
    assert values("religion", "phat")[0] == "Phật giáo"
    assert values("relation_to_head", "vo")[0] == "Vợ"
    assert values("dob", "1990") == []  # no list for a date
    assert values("ethnicity", SCRIPT) == []
    res = c.get("/review/suggest", params={"field": ids["ethnicity"], "q": SCRIPT})
    assert "<script>" not in res.text  # nothing typed is echoed back
    assert logged_in(app, "clerk").get("/review/suggest", params={"field": ids["ethnicity"], "q": "k"}).status_code == 403


def test_sheet_mode_and_history_escape_ocr_text_and_enforce_roles(web):
    app, store = web
    sheet_batch = add_sheets(store, 1, religion=SCRIPT)
    with store.session() as s:
        repo.get_file(s, 1).original_name = '"><img src=x onerror=alert(2)>.jpg'
        rel = s.scalars(repo.select(FieldRow).where(FieldRow.name == "religion")).one()
        rel.raw = SCRIPT + "raw"
    c = logged_in(app)
    sheet, html = claim_sheet(c)
    assert sheet_batch and SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x onerror" not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/vendor/htmx.min.js" defer>',
                                                  '<script src="/static/telex.js" defer>',
                                                  '<script src="/static/candidates.js" defer>',
                                                  '<script src="/static/suggest.js" defer>',
                                                  '<script src="/static/sheetmode.js" defer>']
    ids = _ids(store, sheet)
    h = {security.CSRF_HEADER: csrf_of(html)}
    res = c.post(f"/review/sheet/{sheet}/fields/{ids['religion']}", headers=h,
                 data={"version": rows(html)[ids["religion"]], "action": "accept", "value": SCRIPT + "!", "confirm": 1})
    assert res.json()["state"] == "saved"
    hist = c.get(f"/review/sheet/{sheet}/history")
    assert hist.status_code == 200 and SCRIPT not in hist.text and "<img src=x onerror" not in hist.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;raw" in hist.text and "&lt;script&gt;alert(1)&lt;/script&gt;!" in hist.text
    for role in ("clerk", "exporter"):
        other = logged_in(app, role)
        for path in (f"/review/sheet/{sheet}", f"/review/sheet/{sheet}/history", "/review/sheet"):
            assert other.get(path).status_code == 403, (role, path)
    for role in ("supervisor", "admin"):
        assert logged_in(app, role).get(f"/review/sheet/{sheet}/history").status_code == 200
    assert c.get("/review/sheet/999/history").status_code == 404


def test_history_lists_reads_snaps_and_every_decision(web):
    app, store = web
    add_sheets(store, 1)
    c = logged_in(app)
    sheet, html = claim_sheet(c)
    ids, versions, h = _ids(store, sheet), rows(html), {security.CSRF_HEADER: csrf_of(html)}
    c.post(f"/review/sheet/{sheet}/fields/{ids['ethnicity']}", headers=h,
           data={"version": versions[ids["ethnicity"]], "action": "accept", "value": "Tày"})
    c.post(f"/review/sheet/{sheet}/fields/{ids['relation_to_head']}", headers=h,
           data={"version": versions[ids["relation_to_head"]], "action": "unreadable"})
    page = c.get(f"/review/sheet/{sheet}/history").text
    events = re.findall(r'<tr class="event">(.*?)</tr>', page, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", e, flags=re.S) for e in events]
    eth = [r for r in cells if r[1] == "8. Dân tộc"]
    # what the engine read (raw), the value after the snap, then the reviewer's change
    assert [r[2] for r in eth] == ["máy đọc", "khớp danh mục", "duyệt"]
    assert eth[0][5] == "kinh" and eth[1][4:6] == ["kinh", "Kinh"] and eth[2][3:7] == ["reviewer", "Kinh", "Tày",
                                                                                      "kiểm tra viên"]
    rel = [r for r in cells if r[2] == "không đọc được"]
    assert rel and rel[0][3] == "reviewer" and rel[0][7] == "không đọc được"
    assert f'href="/review/sheet/{sheet}/history"' in html  # linked from sheet mode
    assert f'href="/review/sheet/{sheet}/history?from=view"' in c.get(f"/review/sheets/{sheet}").text  # and F9's view


def test_snippets_use_the_stored_registration_and_prefetch(web):
    import cv2
    import numpy as np
    from web_fixtures import SAMPLES

    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.ingest import load_page

    app, store = web
    data = (SAMPLES / "dc01" / "0002.jpg").read_bytes()
    info = store.blobs.put(data)
    pipeline = build_pipeline("dc01", engines="fake", settings=app.state.settings)
    record = pipeline.process_page(load_page(store.blobs.path(info.sha256), 1)).to_record()
    assert len(record["transform"]["homography"]) == 9
    with store.session() as s:
        b = repo.create_batch(s, "real", template=record["template"])
        for name, rec in (("stored.jpg", record), ("old.jpg", {k: v for k, v in record.items() if k != "transform"})):
            f = repo.add_file(s, b.id, sha256=info.sha256 if name == "stored.jpg" else sha(9), original_name=name,
                              size_bytes=len(data)).row
            repo.add_pages(s, f.id, [{"page": 1}], enqueue=False)
            if name == "old.jpg":  # the same scan under another blob name: a page read before the column
                store.blobs.path(sha(9)).parent.mkdir(parents=True, exist_ok=True)
                store.blobs.path(sha(9)).write_bytes(data)
            repo.write_result(s, f.id, {**rec, "serial": None, "sha256": None})
        dobs = [f.id for f in s.scalars(repo.select(FieldRow).where(FieldRow.name == "dob").order_by(FieldRow.id))]
        pages = [p.id for p in s.scalars(repo.select(repo.PageRow).order_by(repo.PageRow.id))]
        assert s.get(repo.PageRow, pages[0]).registration["rotation"] == record["rotation"]
    snippets = app.state.snippets
    c = logged_in(app)
    stored = c.get(f"/review/fields/{dobs[0]}/image")
    assert stored.status_code == 200 and snippets.registrations == 0  # no registration: the stored one
    old = c.get(f"/review/fields/{dobs[1]}/image")
    assert old.status_code == 200 and snippets.registrations == 1
    a, b = (cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE) for r in (stored, old))
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 2  # the same snippet
    # prefetch registers in the background, once per page
    snippets._pages.clear()
    snippets._transforms.clear()
    snippets.prefetch([pages[1], pages[1]])
    assert snippets.wait_prefetched(60) and snippets.registrations == 2
    c.get(f"/review/fields/{dobs[1]}/image")
    assert snippets.registrations == 2
