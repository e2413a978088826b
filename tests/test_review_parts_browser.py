"""Completing any part of an address and any word of a name, in a real browser (Playwright driving
Debian's /usr/bin/chromium; fails, not skips, without it) against a real `ocr-service serve` on a free
127.0.0.1 port, in group mode and in sheet mode (both use suggest.js).

The keys under test: typing opens the list for the part where the caret is (the server gets the
caret, `at`); with the list open Tab takes the highlighted suggestion (none highlighted: the first)
and stays in the row, the caret after the completed part, so the reviewer goes on with another
part; Enter takes the highlighted one and accepts the row, or with none highlighted accepts the
text. An address's lists fit the parts written around the part (the gazetteer's hierarchy); a
name's first word comes from the listed surnames, a later one from the engines' readings (what F2
steps through) or the listed middle names. The stored values and audit events are checked."""

from __future__ import annotations

import re

import pytest
from store_fixtures import TEMPLATE, field, result, sha
from test_web_browser import (  # noqa: F401 (fixtures)
    assert_focus,
    browser,
    log_in,
    open_group,
    open_page,
    patient_expect,
    row_ids,
)
from web_fixtures import served_station

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow

ADDRESSES = [  # (read, the other readings)
    ("Xã Tân Lập, Huyện Đan Phuợg, Thành phố Hà Nội", []),
    ("Xa Ngoc Lie, Hu Quoc Oa, Tp Ha No", []),
]
MARKUP = "Hòa<img/src=x/onerror=window.__xss=1>"  # a reading's word that is markup: shown as text
NAMES = [
    ("Nguyên Tan Hoa", ["Ngyễn Tấn Hòa", f"Ngyễn Tấn {MARKUP}"]),  # "Hòa" only in other engines' readings
    ("Trần Thi Mai", []),
]


def _batch(store, name: str, field_name: str, rows, offset: int, priority: int) -> int:
    with store.session() as s:
        b = repo.create_batch(s, name, template=TEMPLATE, priority=priority)
        for i, (value, others) in enumerate(rows):
            n = offset + i
            f = repo.add_file(s, b.id, sha256=sha(1000 + n), original_name=f"scan-{n:03d}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(5000 + n)}], enqueue=False)
            fd = field(field_name, "needs_review", value)
            fd["candidates"], fd["suggestion"] = [value, *others], None
            repo.write_result(s, f.id, result(1, fields=[field("dob", value="01/01/1990", kind="date"), fd]))
        return b.id


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parts")

    def fill(store, settings):
        return {"addr": _batch(store, "địa-chỉ", "permanent_address", ADDRESSES, 0, 5),
                "name": _batch(store, "họ-tên", "father_name", NAMES, 50, 1)}

    with served_station(tmp, fill, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, batches):
        yield {"url": url, "store": store, "batches": batches}


def _answered(page) -> None:
    """Wait until the list shown answers the focused input's text and caret as they are now."""
    page.wait_for_function("() => { const l = document.getElementById('suggest'), i = document.activeElement;"
                           " return !!(l && !l.hidden && i && l.dataset.q === i.value"
                           " && +l.dataset.at === i.selectionStart); }", timeout=40_000)


def _caret(page) -> int:
    return page.evaluate("document.activeElement.selectionStart")


def _middle_district(page, listed) -> None:
    """In "Xã Tân Lập, Huyện Đan Phuợg, Thành phố Hà Nội": the caret put after "Phuợg", the word
    deleted, "ph" typed; the list (``listed``: its first item) is for that part and fits its
    neighbours (Tân Lập in Đan Phượng, Hà Nội); Tab takes it."""
    from playwright.sync_api import expect

    page.keyboard.press("End")
    for _ in range(len(", Thành phố Hà Nội")):
        page.keyboard.press("ArrowLeft")
    page.keyboard.press("Control+Backspace")
    page.keyboard.type("ph")
    _answered(page)
    expect(listed).to_contain_text("Huyện Đan Phượng")
    expect(listed).to_contain_text("Hà Nội")  # the hint: where it lies
    page.keyboard.press("Tab")


def _middle_word(page) -> None:
    """In "Trần Thi Mai": the caret after "Thi", the word deleted, "th" typed: the listed middle
    names, Thị first; ↓ highlights it (the caller's Enter takes it and accepts, the last word kept)."""
    from playwright.sync_api import expect

    page.keyboard.press("Home")
    for _ in range(len("Trần Thi")):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Control+Backspace")
    page.keyboard.type("th")
    _answered(page)
    expect(page.locator("#suggest li").first).to_contain_text("Thị")
    page.keyboard.press("ArrowDown")


def test_any_part_of_an_address_and_any_word_of_a_name_by_keyboard(station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors, addr = open_group(browser, url, "permanent_address", 2)
    listbox = page.locator("#suggest")
    keys = page.locator("aside.keys")
    expect(keys).to_contain_text("Tab")
    expect(keys).to_contain_text("ở lại ô để sửa phần khác")  # the key help says what Tab does

    # 1. the middle part completed (_middle_district); Tab took it and the row stays, the caret after
    # the completed part; Enter then accepts
    assert_focus(page, addr[0])
    _middle_district(page, page.locator(f"#row-{addr[0]} #suggest li").first)
    want0 = "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"
    expect(page.locator(f"#row-{addr[0]} input.value")).to_have_value(want0)
    expect(listbox).to_be_hidden()
    assert_focus(page, addr[0])  # Tab took the suggestion: the row is still being edited
    expect(page.locator(f"#row-{addr[0]}")).to_have_attribute("data-state", "pending")
    assert _caret(page) == len("Xã Tân Lập, Huyện Đan Phượng")
    page.keyboard.press("Enter")  # the list closed: Enter accepts
    expect(page.locator(f"#row-{addr[0]}")).to_have_attribute("data-state", "decided")

    # 2. composed part by part: the word opening a residential group ("to d" → Tổ dân phố, Tab, the
    # caret after its space), its number typed; a commune's prefix, Tab: the commune and the comma
    # after it, and with nothing typed the list offers the units that commune lies in: the district
    # and the province at once first, then each level (nearest first), then the same without their
    # unit words
    assert_focus(page, addr[1])
    page.keyboard.type("to d")
    _answered(page)
    expect(page.locator("#suggest li .label").first).to_have_text("Tổ dân phố")
    page.keyboard.press("Tab")
    expect(page.locator(f"#row-{addr[1]} input.value")).to_have_value("Tổ dân phố ")
    page.keyboard.type("3, ngoc liep")
    _answered(page)
    expect(page.locator("#suggest li").first).to_contain_text("Xã Ngọc Liệp")
    page.keyboard.press("Tab")
    expect(page.locator(f"#row-{addr[1]} input.value")).to_have_value("Tổ dân phố 3, Xã Ngọc Liệp, ")
    assert _caret(page) == len("Tổ dân phố 3, Xã Ngọc Liệp, ")
    _answered(page)
    expect(page.locator("#suggest li .label")).to_have_text(
        ["Huyện Quốc Oai, Thành phố Hà Nội", "Huyện Quốc Oai", "Thành phố Hà Nội", "Quốc Oai", "Hà Nội"])
    page.keyboard.press("Tab")
    want1 = "Tổ dân phố 3, Xã Ngọc Liệp, Huyện Quốc Oai, Thành phố Hà Nội"
    expect(page.locator(f"#row-{addr[1]} input.value")).to_have_value(want1)
    assert _caret(page) == len(want1)
    page.keyboard.press("Enter")  # the group's last row: the name group loads by itself

    # 3. a name, word by word: "ng" → the listed surname Nguyễn (Tab: the first, none highlighted,
    # and the space after it); "t" → the other engine's "Tấn" first, then the listed middle names, the shown value's own
    # "Tan" last if at all (it is being corrected); Tab; " h" → "Hòa" from the other reading, ↓ Enter takes it
    # and accepts the row
    expect(page.locator("h1")).to_contain_text("father_name")
    names = row_ids(page)
    assert_focus(page, names[0])
    page.keyboard.type("ng")
    _answered(page)
    expect(page.locator("#suggest li").first).to_contain_text("Nguyễn")
    page.keyboard.press("Tab")
    expect(page.locator(f"#row-{names[0]} input.value")).to_have_value("Nguyễn ")
    page.keyboard.type("t")
    _answered(page)
    items = page.locator("#suggest li .label").all_text_contents()
    assert items[0] == "Tấn" and "Thị" in items and ("Tan" not in items or items[-1] == "Tan"), items
    assert page.locator("#suggest li .hint").first.text_content() == "máy đọc"
    page.keyboard.press("Tab")
    expect(page.locator(f"#row-{names[0]} input.value")).to_have_value("Nguyễn Tấn")
    page.keyboard.type(" h")
    _answered(page)
    expect(page.locator("#suggest li .label").first).to_have_text("Hòa")
    # the markup read by an engine is an item's text, never HTML: no element made, nothing run
    assert MARKUP in page.locator("#suggest li .label").all_text_contents()
    assert page.locator("#suggest img").count() == 0 and page.evaluate("window.__xss") is None
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{names[0]}")).to_have_attribute("data-state", "decided")

    # 4. a middle word in the middle (_middle_word); Enter takes it and accepts the row
    assert_focus(page, names[1])
    _middle_word(page)
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()  # the last row saved, then the (empty) next claim

    ids = addr + names
    with store.session(write=False) as s:
        got = {i: repo.get_field(s, i) for i in ids}
        events = {int(e.entity_id): e for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.entity_type == "field", AuditEvent.action == "field.verify"))}
    assert [(got[i].status, got[i].verified_value) for i in ids] == [
        ("verified", want0), ("verified", want1), ("verified", "Nguyễn Tấn Hòa"), ("verified", "Trần Thị Mai")]
    for i, (old, _) in zip(ids, ADDRESSES + NAMES):
        e = events[i]
        assert (e.actor, e.source, e.old["value"], e.new["verified_value"]) == ("reviewer", "reviewer", old,
                                                                                 got[i].verified_value)
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    ctx.close()


@pytest.fixture(scope="module")
def sheet_station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parts-sheet")

    def fill(store, settings):
        with store.session() as s:
            b = repo.create_batch(s, "phiếu", template=TEMPLATE)
            f = repo.add_file(s, b.id, sha256=sha(9000), original_name="sheet.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(9001)}], enqueue=False)
            fields = [field("permanent_address", "needs_review", ADDRESSES[0][0]),
                      field("father_name", "needs_review", NAMES[1][0])]
            for fd in fields:
                fd["candidates"], fd["suggestion"] = [fd["value"]], None
            repo.write_result(s, f.id, result(1, fields=fields))
            return b.id

    with served_station(tmp, fill, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, _batch):
        yield {"url": url, "store": store}


def test_sheet_mode_completes_a_middle_part_and_a_middle_word(sheet_station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store = sheet_station["url"], sheet_station["store"]
    ctx, page, errors = open_page(browser)
    log_in(page, url, "reviewer", "/review/sheet", claim=False)
    expect(page.locator("#claim-button")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/review/sheet/\d+$"))
    with store.session(write=False) as s:
        ids = {f.name: f.id for f in s.scalars(repo.select(FieldRow))}
    expect(page.locator("aside.keys")).to_contain_text("ở lại ô để sửa phần khác")

    def focus_on(fid):
        page.wait_for_function("id => { const r = document.activeElement && document.activeElement.closest('.frow');"
                               " return !!(r && Number(r.dataset.field) === id); }", arg=fid, timeout=15_000)

    # the address's middle part, Tab to take it (the field stays focused, not saved), Enter saves
    addr = ids["permanent_address"]
    focus_on(addr)
    _middle_district(page, page.locator(f"#f-{addr} #suggest li").first)
    want = "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"
    expect(page.locator(f"#v-{addr}")).to_have_value(want)
    focus_on(addr)
    expect(page.locator(f"#f-{addr}")).to_have_attribute("data-state", "pending")
    assert _caret(page) == len("Xã Tân Lập, Huyện Đan Phượng")
    page.keyboard.press("Enter")
    expect(page.locator(f"#f-{addr}")).to_have_attribute("data-state", "decided")

    # the name's middle word, ↓ Enter: taken and saved at once; the sheet is done
    name = ids["father_name"]
    focus_on(name)
    _middle_word(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/review/sheet\?empty=1$"), timeout=30_000)

    with store.session(write=False) as s:
        got = {n: repo.get_field(s, i) for n, i in ids.items()}
    assert (got["permanent_address"].status, got["permanent_address"].verified_value) == ("verified", want)
    assert (got["father_name"].status, got["father_name"].verified_value) == ("verified", "Trần Thị Mai")
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    ctx.close()
