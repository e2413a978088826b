"""Suggestions in group mode, in a real browser (Playwright driving Debian's /usr/bin/chromium; fails, not
skips, without it) against a real `ocr-service serve` on a free 127.0.0.1 port: a group of misread
ethnicities and a group of addresses. The reviewer types a few letters, the list from
GET /review/suggest opens under the row (the same list and keys as sheet mode), ↓ chooses, Enter takes
the suggestion and accepts the row; Esc closes the list, and with it closed ↓ moves between rows again;
a word edit (End, Ctrl+←, Ctrl+Backspace) works in the row's input. Then the stored values and the
audit events are checked."""

from __future__ import annotations

import pytest
from test_web_browser import (  # noqa: F401 (fixtures)
    VIEWPORT,
    assert_focus,
    browser,
    open_group,
    patient_expect,
    row_ids,
)
from web_fixtures import add_batch, served_station

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent

ETHNICITY = ["Kinb", "Tay", "Mưòng"]
ADDRESS = ["Xã Tân Lập, Huyện Đan Phuợg", "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"]


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("suggest")

    def fill(store, settings):
        eth = add_batch(store, "dân-tộc", sheets=3, values=ETHNICITY, names=("ethnicity",))
        addr = add_batch(store, "địa-chỉ", sheets=2, values=ADDRESS, names=("permanent_address",), offset=50)
        with store.session() as s:
            repo.get_batch(s, eth).priority = 5  # the vocabulary group first, the address group next
        return {"eth": eth, "addr": addr}

    # reviewer QA off: it would send a share of the decisions back into the queue for another reviewer
    with served_station(tmp, fill, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, batches):
        yield {"url": url, "store": store, "batches": batches}


def test_group_mode_suggestions_by_keyboard(station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors, eth = open_group(browser, url, "ethnicity", 3)
    listbox = page.locator("#suggest")

    # 1. "kin": the list opens under the row; ↓ highlights Kinh, Enter takes it and accepts the row
    assert_focus(page, eth[0])
    page.keyboard.type("kin")
    expect(page.locator(f"#row-{eth[0]} #suggest li").first).to_contain_text("Kinh")
    expect(listbox).to_be_visible()
    assert listbox.bounding_box()["y"] + 20 < VIEWPORT["height"]  # on screen at 1366×768
    page.keyboard.press("ArrowDown")
    expect(page.locator("#suggest li").first).to_have_attribute("aria-selected", "true")
    assert_focus(page, eth[0])  # with the list open the arrows choose, they do not move rows
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{eth[0]}")).to_have_attribute("data-state", "decided")
    expect(page.locator(f"#row-{eth[0]} .shown")).to_have_text("Kinh")
    expect(listbox).to_be_hidden()

    # 2. accent-free "tay" → Tày
    assert_focus(page, eth[1])
    page.keyboard.type("tay")
    expect(page.locator("#suggest li").first).to_contain_text("Tày")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{eth[1]}")).to_have_attribute("data-state", "decided")

    # 3. Esc closes the list (the typed text stays); closed, ↓ / ↑ move between rows again
    assert_focus(page, eth[2])
    page.keyboard.type("muo")
    expect(page.locator("#suggest li").first).to_contain_text("Mường")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(page.locator(f"#row-{eth[2]} input.value")).to_have_value("muo")
    page.keyboard.press("ArrowUp")  # no other pending row above: the focus stays
    assert_focus(page, eth[2])
    page.keyboard.type("ng")  # the typed text goes on: "muong"
    expect(page.locator("#suggest li").first).to_contain_text("Mường")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the group's last row: the address group loads by itself

    # 4. an address: the last part completed with the units of every level, the earlier parts kept
    expect(page.locator("h1")).to_contain_text("permanent_address")
    addr = row_ids(page)
    assert_focus(page, addr[0])
    page.keyboard.type("Xã Tân Lập, huyen dan ph")
    want = "Xã Tân Lập, Huyện Đan Phượng"
    # (the first address list may wait for the units' keys, built in the background since the claim)
    expect(page.locator("#suggest li").first).to_contain_text("Huyện Đan Phượng", timeout=40_000)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{addr[0]} .shown")).to_have_text(want)
    # 5. a word edit in the row's input (what bench_review's reviewer does): End, Ctrl+Backspace
    # removes the last word, the new one typed; Enter with no suggestion highlighted takes the text
    assert_focus(page, addr[1])
    page.keyboard.press("ArrowUp")  # no list open: nothing above to move to
    assert_focus(page, addr[1])
    page.keyboard.press("End")
    page.keyboard.press("Control+Backspace")  # "Nội" goes
    page.keyboard.type("Tĩnh")
    page.keyboard.press("Control+ArrowLeft")
    page.keyboard.press("Control+ArrowLeft")  # before "Hà"
    page.keyboard.press("Control+Backspace")  # "phố " goes
    page.keyboard.type("phố ")  # typed in the middle
    edited = "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Tĩnh"
    expect(page.locator(f"#row-{addr[1]} input.value")).to_have_value(edited)
    expect(page.locator("#suggest li").first).to_be_visible(timeout=40_000)  # (a list for the last part)
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()  # the last row saved, then the (empty) next claim

    with store.session(write=False) as s:
        got = {i: repo.get_field(s, i) for i in eth + addr}
        events = {int(e.entity_id): e for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.entity_type == "field", AuditEvent.action == "field.verify"))}
    stored = [(got[i].status, got[i].verified_value) for i in eth + addr]
    assert stored == [("verified", "Kinh"), ("verified", "Tày"), ("verified", "Mường"), ("verified", want),
                      ("verified", edited)]
    for i, old in zip(eth + addr[:1], ETHNICITY + ADDRESS[:1]):
        e = events[i]
        assert (e.actor, e.source, e.old["value"], e.new["verified_value"]) == (
            "reviewer", "reviewer", old, got[i].verified_value)
        assert int(e.new["keys"]) >= 3  # the typed letters, the arrow and Enter, counted by the page
    # no script error, nothing blocked by the CSP (these fields have no scanned page: their snippets 404)
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    ctx.close()
