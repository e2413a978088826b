"""Sheet mode in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium; these tests fail,
not skip, without it) against a real `ocr-service serve` on a free 127.0.0.1 port. A reviewer verifies
real sample pages (registered for the page image and the zoomed snippets) with the keyboard only: a
name typed in Telex, a date of birth the sheet's ID contradicts (the pipeline's message shown inline,
saved deliberately with a second Enter), an ethnicity and a relationship chosen from the suggestions
with the arrow keys, a field marked unreadable and one postponed; the next sheet loads by itself. Then
the stored values, the audit events and the history page are checked, and the Telex logic is
unit-tested in the page. With OCR_TEST_SCREENSHOTS=DIR a 1366×768 screenshot of sheet mode is saved
there (docs/screenshots/sheet.png)."""

from __future__ import annotations

import re

import pytest
from test_web_browser import browser, log_in, open_page, patient_expect, screenshot  # noqa: F401 (fixtures)
from web_fixtures import add_real_pages, served_station

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow
from ocr_service.settings import Settings
from ocr_service.vietnamese.text import match_key

PAGES = ("0000", "0002")
REVIEW = ("full_name", "dob", "ethnicity", "id_number", "relation_to_head")
MISREAD = {"full_name": "NGUYEN THI H0A", "ethnicity": "Kinb", "relation_to_head": "Cn"}


def _sheet_batch(store, settings: Settings) -> int:
    """Real sample pages read with the fake engine; five fields of each sent to review, some misread."""
    with store.session() as s:
        b_id = repo.create_batch(s, "phiếu-thật", template="dc01@tt66-2015", priority=5).id

    def edit(_i, fields, truth):
        for fd in fields:
            if fd["name"] in REVIEW:
                value = MISREAD.get(fd["name"], truth.get(fd["name"], ""))
                fd.update(status="needs_review", reasons=["low_confidence"], value=value, raw=value,
                          candidates=[value, truth.get(fd["name"], "")], suggestion=None)
            else:
                fd.update(status="auto_accepted", reasons=[], value=truth.get(fd["name"], fd["value"]))

    add_real_pages(store, settings, b_id, PAGES, edit)
    return b_id


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sheetmode")
    # reviewer QA off: it would send a share of these decisions back into the queue for another
    # reviewer (tested in test_qa_blind_http.py), and these tests count the queue exactly
    with served_station(tmp, _sheet_batch, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, batch):
        yield {"url": url, "store": store, "batch": batch}


def focused_field(page) -> int:
    return page.evaluate("() => { const r = document.activeElement && document.activeElement.closest('.frow');"
                         " return r ? Number(r.dataset.field) : 0; }")


def wait_focus(page, field_id: int) -> None:
    """Wait (a loaded machine) until the input of ``field_id``'s row has the focus; on a timeout the
    failure names where the focus is and what the status line says."""
    try:
        page.wait_for_function("id => { const a = document.activeElement; const r = a && a.closest && a.closest('.frow');"
                               " return !!(r && Number(r.dataset.field) === id); }", arg=field_id, timeout=20_000)
    except Exception as exc:
        raise AssertionError(f"focus not on field {field_id} at {page.url}: on {focused_field(page)}, "
                             f"status {page.locator('#status').inner_text()!r}") from exc


TELEX_CASES = {"Nguyeenx Thij Hoaf": "Nguyễn Thị Hòa", "ddaau": "đâu", "tieengs Vieetj": "tiếng Việt",
               "nguwowif": "người", "Quys": "Quý", "thuyr": "thủy", "ngoaif": "ngoài", "giuwx": "giữ",
               "Traanf Vawn Anh": "Trần Văn Anh", "DDinhf": "Đình", "ass": "as", "aaa": "aa", "ddd": "dd",
               "hoafz": "hoa", "muaf": "mùa", "khuyur": "khuỷu", "truwowngf": "trường", "Lee": "Lê"}


def test_keyboard_only_sheet_verification(station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors = open_page(browser)
    log_in(page, url, "reviewer", "/review/sheet", claim=False)
    with store.session(write=False) as s:  # the GET claimed nothing
        assert not s.scalars(repo.select(FieldRow).where(FieldRow.lease_owner.is_not(None))).all()
    expect(page.locator("#claim-button")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/review/sheet/\d+$"))
    first_sheet = int(page.url.rsplit("/", 1)[1])
    with store.session(write=False) as s:
        ids = {f.name: f.id for f in s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == first_sheet))}
    expect(page.locator('.frow[data-state="pending"]')).to_have_count(5)

    # the registered page with the current field outlined, and its zoomed snippet
    expect(page.locator("#pageimg")).to_have_js_property("complete", True, timeout=40_000)
    assert page.locator("#pageimg").evaluate("i => i.naturalWidth") == 1200
    wait_focus(page, ids["full_name"])
    expect(page.locator("#outline")).to_be_visible()
    expect(page.locator("#zoom")).to_have_attribute("src", f"/review/fields/{ids['full_name']}/image")
    expect(page.locator("#zoom")).to_have_js_property("complete", True, timeout=40_000)
    assert page.locator("#zoom").evaluate("i => i.naturalWidth") > 100
    box = page.locator("#outline").bounding_box()
    pane = page.locator("#pagepane").bounding_box()
    assert box["width"] > 50 and pane["x"] <= box["x"] <= pane["x"] + pane["width"]

    # 1. the name, typed in Telex (Alt+Z turns it on; the header says so)
    expect(page.locator("#telex-state")).to_contain_text("tắt")
    page.keyboard.press("Alt+z")
    expect(page.locator("#telex-state")).to_contain_text("BẬT")
    page.keyboard.type("Nguyeenx Thij Hoaf")
    expect(page.locator(f"#v-{ids['full_name']}")).to_have_value("Nguyễn Thị Hòa")
    page.keyboard.press("Alt+z")
    expect(page.locator("#telex-state")).to_contain_text("tắt")
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['full_name']}")).to_have_attribute("data-state", "decided")

    # 2. a date of birth the ID contradicts: the pipeline's message inline; Enter twice saves it anyway
    wait_focus(page, ids["dob"])
    dob_messages = page.locator(f"#f-{ids['dob']} li.msg")
    page.keyboard.type("25/02/1978")
    # (the first check may wait for the validators' tables, loading in the background since the claim)
    expect(dob_messages).to_contain_text("Số định danh ghi sinh năm 1987, ngày sinh ghi 1978", timeout=60_000)
    expect(page.locator(f"#f-{ids['id_number']} li.msg")).to_contain_text("Số định danh ghi sinh năm 1987")
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['dob']}")).to_have_attribute("data-state", "invalid")
    expect(page.locator("#status")).to_contain_text("Nhấn Enter lần nữa")
    assert focused_field(page) == ids["dob"]
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['dob']}")).to_have_attribute("data-state", "decided")

    # 3. the ethnicity from the suggestions ("kinh" → Kinh), chosen with the arrows
    wait_focus(page, ids["ethnicity"])
    page.keyboard.type("kinh")
    expect(page.locator("#suggest li").first).to_contain_text("Kinh", timeout=40_000)
    expect(page.locator(f"#f-{ids['ethnicity']} #suggest")).to_be_visible()
    expect(page.locator(f"#f-{ids['ethnicity']} li.msg")).to_have_count(0)  # "kinh" passes: the misread's message goes
    page.keyboard.press("ArrowDown")
    expect(page.locator("#suggest li").first).to_have_attribute("aria-selected", "true")
    screenshot(page, "sheet")
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['ethnicity']}")).to_have_attribute("data-state", "decided")
    expect(page.locator(f"#v-{ids['ethnicity']}")).to_have_value("Kinh")

    # 4. the ID as shown: the same check names it, so it too takes a second Enter
    wait_focus(page, ids["id_number"])
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['id_number']}")).to_have_attribute("data-state", "invalid")
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{ids['id_number']}")).to_have_attribute("data-state", "decided")
    # 5. the relationship: the second suggestion for "con"
    wait_focus(page, ids["relation_to_head"])
    page.keyboard.type("con")
    expect(page.locator("#suggest li")).not_to_have_count(0)
    assert page.locator("#suggest li").count() >= 2
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    chosen = page.locator('#suggest li[aria-selected="true"] .label').inner_text()
    assert chosen != "con" and match_key(chosen).startswith("con ")
    page.keyboard.press("Enter")  # the sheet's last field: then the next sheet loads by itself

    page.wait_for_url(lambda u: re.search(r"/review/sheet/\d+$", u) and not u.endswith(f"/{first_sheet}"))
    second = int(page.url.rsplit("/", 1)[1])
    with store.session(write=False) as s:
        ids2 = {f.name: f.id for f in s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == second))}
    wait_focus(page, ids2["full_name"])
    page.keyboard.press("F4")  # unreadable
    expect(page.locator(f"#f-{ids2['full_name']}")).to_have_attribute("data-state", "decided")
    wait_focus(page, ids2["dob"])
    page.keyboard.press("F8")  # postponed
    expect(page.locator(f"#f-{ids2['dob']}")).to_have_attribute("data-state", "postponed")
    wait_focus(page, ids2["ethnicity"])
    page.keyboard.press("ArrowDown")  # no suggestions open: the arrows move between fields
    wait_focus(page, ids2["id_number"])
    page.keyboard.press("ArrowUp")
    wait_focus(page, ids2["ethnicity"])
    page.keyboard.type("x")
    page.keyboard.press("Escape")  # gives the field back its value
    expect(page.locator(f"#v-{ids2['ethnicity']}")).to_have_value(MISREAD["ethnicity"])
    page.keyboard.press("F2")  # the next candidate: the other reading
    expect(page.locator(f"#v-{ids2['ethnicity']}")).to_have_value("Hoa")

    # the Telex logic itself, in the page (the placement the project's normalization keys on)
    for typed, want in TELEX_CASES.items():
        assert page.evaluate("t => Telex.convert(t)", typed) == want, typed

    # F9: this sheet's history, Esc back; then the first sheet's history
    page.keyboard.press("F9")
    page.wait_for_url(re.compile(rf".*/review/sheet/{second}/history$"))
    expect(page.locator("table.history")).to_contain_text("không đọc được")
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(rf".*/review/sheet/{second}$"))
    page.goto(f"{url}/review/sheet/{first_sheet}/history")
    table = page.locator("table.history")
    for text in ("Nguyễn Thị Hòa", "NGUYEN THI H0A", "25/02/1978", "lưu dù không hợp lệ", "Kinh", chosen,
                 "kiểm tra viên", "máy đọc (OCR)"):
        expect(table).to_contain_text(text)

    with store.session(write=False) as s:
        got = {n: repo.get_field(s, i) for n, i in ids.items()}
        got2 = {n: repo.get_field(s, i) for n, i in ids2.items()}
        events = {(e.entity_id, e.action): e for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.entity_type == "field"))}
    assert got["full_name"].verified_value == "Nguyễn Thị Hòa"
    assert match_key(got["full_name"].verified_value) == match_key("Nguyễn Thị Hoà")  # new-style placement agrees
    assert (got["dob"].verified_value, got["ethnicity"].verified_value) == ("25/02/1978", "Kinh")
    assert got["dob"].review_note.startswith("lưu dù không hợp lệ: Số định danh ghi sinh năm 1987")
    assert got["relation_to_head"].verified_value == chosen
    assert all(got[n].status == "verified" and got[n].verified_by == "reviewer" for n in REVIEW)
    for n in REVIEW:
        ev = events[(str(ids[n]), "field.verify")]
        assert ev.actor == "reviewer" and ev.source == "reviewer" and ev.new["verified_value"] == got[n].verified_value
    assert events[(str(ids["full_name"]), "field.verify")].old["value"] == MISREAD["full_name"]
    assert events[(str(ids["dob"]), "field.verify")].new["note"].startswith("lưu dù không hợp lệ")
    assert (got2["full_name"].status, got2["full_name"].review_note) == ("rejected", "không đọc được")
    assert (got2["dob"].status, got2["dob"].postponed_by) == ("needs_review", "reviewer")
    assert (str(ids2["dob"]), "field.postpone") in events
    assert not [e for e in errors if "Content Security Policy" in e], errors
    ctx.close()
