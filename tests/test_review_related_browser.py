"""What is settled elsewhere, offered in group mode, in a real browser (Playwright driving Debian's
/usr/bin/chromium) against a real `ocr-service serve` on a free 127.0.0.1 port: each sheet's
full_name was auto-accepted, its head_name needs review. Typing "ng" in a head_name row, the list
shows the surname first (Tab would complete the word) and the sheet's own settled name second;
↓ ↓ Enter takes that whole name and accepts the row. Then the stored value and its audit event."""

from __future__ import annotations

import pytest
from test_web_browser import (  # noqa: F401 (fixtures)
    assert_focus,
    browser,
    open_group,
)
from web_fixtures import add_batch, served_station

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent
from ocr_service.service.web.related import HINT_SHEET

HEAD_READS = ["Ngyen Vn A", "Ng.. An"]
SETTLED = "NGUYỄN VĂN AN"  # add_batch's auto-accepted full_name on every sheet


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("related")

    def fill(store, settings):
        return add_batch(store, "hộ", sheets=2, values=HEAD_READS, names=("head_name",))

    with served_station(tmp, fill, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, batch):
        yield {"url": url, "store": store}


def test_a_name_settled_on_the_sheet_is_taken_whole(station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors, rows = open_group(browser, url, "head_name", 2)
    assert_focus(page, rows[0])
    page.keyboard.type("ng")
    items = page.locator(f"#row-{rows[0]} #suggest li")
    expect(items.nth(1)).to_contain_text(SETTLED, timeout=40_000)
    expect(items.nth(1)).to_contain_text(HINT_SHEET)
    expect(items.first).not_to_contain_text(SETTLED)  # the surname first: Tab still completes the word
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{rows[0]}")).to_have_attribute("data-state", "decided")
    expect(page.locator(f"#row-{rows[0]} .shown")).to_have_text(SETTLED)

    with store.session(write=False) as s:
        f = repo.get_field(s, rows[0])
        event = s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "field",
                                                        AuditEvent.entity_id == str(rows[0]),
                                                        AuditEvent.action == "field.verify")).one()
    assert (f.status, f.verified_value) == ("verified", SETTLED)
    assert (event.old["value"], event.new["verified_value"], event.actor) == (HEAD_READS[0], SETTLED, "reviewer")
    assert int(event.new["keys"]) == 5  # n, g, ↓, ↓, Enter
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    ctx.close()
