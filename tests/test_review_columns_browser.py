"""Group mode on CT01's member table in a real browser (Playwright driving Debian's Chromium against
a real `ocr-service serve`; fails, not skips, without it): generated CT01 sheets read with the fake
engine (so snippets are cut from really registered pages), their members' names and dates of birth
sent to review. One group holds the name column of every member row of every sheet, headed
"Thành viên – Họ, chữ đệm và tên", each row naming its table row; the reviewer clears it with the
keyboard only and the next group is the date-of-birth column. The stored values and audit events
are checked. With OCR_TEST_SCREENSHOTS=DIR the group page is saved there as group-ct01.png."""

from __future__ import annotations

import json

import pytest
from test_web_browser import (assert_focus, browser, log_in, open_page, patient_expect, row_ids,  # noqa: F401 (fixtures)
                              screenshot)
from web_fixtures import served_station

from ocr_service.forms import loader
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow
from ocr_service.settings import Settings

CT01 = loader.load("ct01")
GROUP = CT01.group("members")


def _ct01_batch(store, settings: Settings, out) -> dict[str, str]:
    """Two generated CT01 sheets read with the fake engine; every filled member row's name and date
    of birth needs review (holding the truth, one name misspelled); everything else auto-accepted.
    Returns {cell name on sheet K as "K:members.R.full_name": truth}."""
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.ingest import load_page
    from ocr_service.synth import fill

    entries = fill.generate(CT01, 2, 5, out, style="printed", formats=("png",), rotate=False)
    pipeline = build_pipeline("ct01", engines="fake", settings=settings)
    with store.session() as s:
        b_id = repo.create_batch(s, "hộp-ct01", template=CT01.id).id
    truth = {}
    for k, e in enumerate(entries):
        data = (out / e["file"]).read_bytes()
        info = store.blobs.put(data)
        record = pipeline.process_page(load_page(store.blobs.path(info.sha256), 1)).to_record()
        assert record["status"] == "ok", record.get("reason")
        rows = GROUP.filled_rows(e["fields"])
        assert rows  # seed 5: members in rows 1-2 and 1-3
        for fd in record["fields"]:
            cell = fd["name"].split(".")
            if len(cell) == 3 and int(cell[1]) in rows and cell[2] in ("full_name", "dob"):
                good = e["fields"][fd["name"]]
                shown = good[:-1] + "X" if (k, cell[1], cell[2]) == (0, "1", "full_name") else good
                fd.update(status="needs_review", reasons=["low_confidence"], value=shown, candidates=[shown, good],
                          suggestion=None)
                truth[f"{k}:{fd['name']}"] = good
            else:
                fd.update(status="auto_accepted", reasons=[])
        with store.session() as s:
            f = repo.add_file(s, b_id, sha256=info.sha256, original_name=f"ct01-{k}.png", size_bytes=len(data),
                              media_type="image/png").row
            repo.add_pages(s, f.id, [{"page": 1}], enqueue=False)
            repo.write_result(s, f.id, record)
    return truth


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ct01-station")
    sheets = tmp / "sheets"
    sheets.mkdir()
    with served_station(tmp, lambda store, settings: _ct01_batch(store, settings, sheets),
                        OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, truth):
        yield {"url": url, "store": store, "truth": truth}


def test_a_member_column_across_rows_and_sheets_with_the_keyboard(station, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, store, truth = station["url"], station["store"], station["truth"]
    names = {k: v for k, v in truth.items() if k.endswith(".full_name")}
    ctx, page, errors = open_page(browser)
    failed: list[str] = []  # every response must succeed (the pages name their icon: no /favicon.ico probe)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    log_in(page, url, "reviewer")
    expect(page.locator("h1")).to_contain_text("Thành viên – Họ, chữ đệm và tên")
    ids = row_ids(page)
    assert len(ids) == len(names) >= 3  # every member row's name, of both sheets, in one group
    with store.session(write=False) as s:
        rows = {f.id: f for f in s.scalars(repo.select(FieldRow).where(FieldRow.id.in_(ids)))}
        sheet_no = {sid: k for k, sid in enumerate(sorted({f.sheet_id for f in rows.values()}))}
    assert len(sheet_no) == 2
    assert {f"{sheet_no[rows[i].sheet_id]}:{rows[i].name}" for i in ids} == set(names)
    for fid in ids:  # each row names its table row; its snippet is cut from the registered page
        expect(page.locator(f"#row-{fid} .rowno")).to_have_text(CT01.row_label(rows[fid].name))
        img = page.locator(f"#row-{fid} img")
        expect(img).to_have_js_property("complete", True, timeout=30_000)
        assert img.evaluate("i => i.naturalWidth") > 20
    screenshot(page, "group-ct01")
    # keyboard only: the misspelled first name is retyped, the others accepted as shown
    assert_focus(page, ids[0])
    first_truth = names[f"0:{rows[ids[0]].name}"]
    page.keyboard.type(first_truth)
    for fid in ids[:-1]:
        page.keyboard.press("Enter")
        expect(page.locator(f"#row-{fid}")).to_have_attribute("data-state", "decided")
    page.keyboard.press("Enter")  # the last row, then the next group loads by itself
    expect(page.locator("h1")).to_contain_text("Thành viên – Ngày, tháng, năm sinh", timeout=15_000)
    dob_ids = row_ids(page)
    assert len(dob_ids) == len(truth) - len(names) and not set(dob_ids) & set(ids)
    with store.session(write=False) as s:
        for fid in ids:
            f = s.get(FieldRow, fid)
            assert (f.status, f.verified_by) == ("verified", "reviewer")
            assert f.verified_value == names[f"{sheet_no[f.sheet_id]}:{f.name}"], f.name
        events = s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "field",
                                                         AuditEvent.entity_id.in_([str(i) for i in ids]))).all()
        verify = [e for e in events if e.action == "field.verify"]
        assert len(verify) == len(ids)
        changed = [e for e in verify if e.entity_id == str(ids[0])][0]
        assert json.dumps(changed.new, ensure_ascii=False).count(first_truth) >= 1
    assert not failed, failed
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
    ctx.close()
