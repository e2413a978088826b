"""The report pages in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium; this
test fails, not skips, without it) against a real `ocr-service serve` on a free 127.0.0.1 port, over
the generated district of ``report_fixtures``. An exporter logs in, sees the progress chart (an SVG
drawn by the server, no script of ours), follows the link to the revisit list and opens its printable
view; the CSP reports no violation. With OCR_TEST_SCREENSHOTS=DIR the report page and the printed
revisit list (1366×768) are saved there (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import re

import pytest
import report_fixtures as rf
from test_web_browser import browser, log_in, open_page, screenshot  # noqa: F401
from web_fixtures import served_station

from ocr_service.service.reports import issued


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")

    def fill(store, settings):
        rf.build(store)
        with store.session() as s:
            issued.import_issued(s, rf.ISSUE_LIST, "phat-phieu.csv", actor="test", source="cli")

    with served_station(tmp, fill) as (url, _, _):
        yield url


def test_report_page_chart_and_printable_revisit_list(served, browser):  # noqa: F811
    from playwright.sync_api import expect

    url = served
    ctx, page, problems = open_page(browser)
    log_in(page, url, "exporter", "/reports")
    expect(page.locator("h1")).to_contain_text("Tiến độ thu phiếu")
    chart = page.locator(".chart svg")
    expect(chart).to_be_visible()
    assert chart.locator("text", has_text="Tân Phú").count() == 1
    box = chart.bounding_box()
    assert box and box["width"] > 500 and box["height"] > 60  # drawn, not an empty element
    expect(page.locator("#places tbody tr")).to_have_count(5)
    expect(page.locator("#places tbody tr.lvl-commune").nth(1)).to_contain_text("24")
    screenshot(page, "reports")

    page.get_by_role("link", name="5 ô cần đi lại").click()
    page.wait_for_url(re.compile(r".*/reports/revisits$"))
    expect(page.locator("section.village h2").first).to_contain_text("Xã Hòa Bình")
    expect(page.locator("div.household")).to_have_count(5)
    page.get_by_role("link", name="bản in").click()
    page.wait_for_url(re.compile(r".*/reports/revisits/print$"))
    expect(page.locator("h1")).to_have_text("Danh sách cần đi xác minh lại")
    expect(page.locator("text=Bị từ chối khi duyệt: phiếu bị rách")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".noprint")).to_be_hidden()  # the print stylesheet applies
    screenshot(page, "revisits-print")
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    assert not [p for p in problems if "Content Security Policy" in p], problems
    ctx.close()
