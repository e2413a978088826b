"""Exports over the API (background run, progress, download by export id, roles) and the exporters'
page in a real browser (Playwright driving Debian's Chromium against a real `ocr-service serve`;
these tests fail, not skip, without it). With OCR_TEST_SCREENSHOTS=DIR the page is saved there."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from api_fixtures import api, fast_hashing, settings  # noqa: F401 - fixtures
from export_fixtures import PEOPLE, add_sheets
from serve_helpers import running_serve, wait_until
from web_fixtures import PASSWORD, add_users

from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


def test_api_runs_an_export_in_the_background_and_serves_it_by_id(api):  # noqa: F811
    add_sheets(api.store, PEOPLE)
    body = {"template": "dc01", "format": "csv"}
    for role in ("reviewer", "clerk"):  # a reviewer cannot export
        res = api.post("/api/v1/exports", as_=role, json=body)
        assert res.status_code == 403 and "needs the role exporter" in res.json()["detail"]
    res = api.post("/api/v1/exports", as_="exporter", json=body)
    assert res.status_code == 202, res.text
    export_id = res.json()["id"]

    def done():
        got = api.get(f"/api/v1/exports/{export_id}", as_="exporter").json()
        return got if got["status"] in ("done", "failed") else None

    got = wait_until(done, 60, "the export to finish")
    assert got["status"] == "done" and got["record_count"] == 3 and got["created_by"] == "exporter"
    assert got["manifest"]["files"][0]["sha256"] == got["files"][0]["sha256"]
    assert "path" not in str(got["files"])  # files are named by index, never by a path
    res = api.get(f"/api/v1/exports/{export_id}/files/0", as_="exporter")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert hashlib.sha256(res.content).hexdigest() == got["files"][0]["sha256"]
    assert "001190012345" in res.content.decode("utf-8-sig")
    # the served copy lost: rebuilt from the snapshot, the same bytes
    stored = Path(api.app.state.settings.data_dir) / "exports" / str(export_id) / got["files"][0]["name"]
    stored.unlink()
    again = api.get(f"/api/v1/exports/{export_id}/files/0", as_="exporter")
    assert again.content == res.content
    assert api.get(f"/api/v1/exports/{export_id}/files/5", as_="exporter").status_code == 404
    assert api.get(f"/api/v1/exports/{export_id}/files/0", as_="reviewer").status_code == 403
    listed = api.get("/api/v1/exports", as_="supervisor").json()
    assert [e["id"] for e in listed["items"]] == [export_id]
    # nothing new since: the next export is empty; an unknown template is refused at once
    res = api.post("/api/v1/exports", as_="admin", json={"template": "nosuchform", "format": "xml"})
    assert res.status_code == 422 and res.json()["code"] == "template_invalid"
    with api.store.session(write=False) as s:
        actions = [e.action for e in repo.list_audit(s, entity_type="export").items]
    assert actions[:2] == ["export.start", "export.done"] and "export.download" in actions


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's `chromium` package (scripts/setup.sh does); "
                    "these tests must run, not skip")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # 2 shared cores
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_exporter_page_in_a_browser(tmp_path, browser, monkeypatch):
    import os

    from argon2 import PasswordHasher
    from playwright.sync_api import expect

    from ocr_service.service import auth

    data = tmp_path / "data"
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    store = open_store(None, data, create=True)
    add_users(store)
    add_sheets(store, PEOPLE, batch="hộp-1")
    add_sheets(store, PEOPLE[:1], batch="hộp-2")
    store.close()
    with running_serve(tmp_path, data) as url:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page.goto(url + "/exports")
        page.fill("#username", "reviewer")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator(".error")).to_contain_text("không được xuất dữ liệu")  # a reviewer cannot export
        page.context.clear_cookies()

        page.goto(url + "/exports")
        page.fill("#username", "exporter")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/exports")
        expect(page.locator("h1")).to_have_text("Xuất dữ liệu đã kiểm tra")
        page.select_option("select[name=template]", "dc01@tt66-2015")
        page.select_option("select[name=format]", "xlsx")
        page.select_option("select[name=batch]", ["hộp-1"])
        page.click("form.start button[type=submit]")
        expect(page.locator(".ok")).to_contain_text("Đã bắt đầu lượt xuất số 1")
        page.goto(url + "/exports")  # the table polls while an export runs; a reload shows the end too
        row = page.locator("tr[data-export='1']")
        expect(row.locator(".status")).to_have_text(re.compile("xong"))
        expect(row).to_contain_text("lô: hộp-1")
        with page.expect_download() as info:
            row.locator("a").first.click()
        saved = tmp_path / "got.xlsx"
        info.value.save_as(saved)
        store = open_store(None, data)
        with store.session(write=False) as s:
            e = repo.get_export(s, 1)
            assert e.record_count == 3 and e.created_by == "exporter"
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == e.files[0]["sha256"]
        store.close()
        row.locator("summary").click()
        expect(row.locator("pre")).to_contain_text('"record_count": 3')
        if os.environ.get("OCR_TEST_SCREENSHOTS"):
            target = Path(os.environ["OCR_TEST_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target / "exports.png"))
        # a POST without the CSRF token is refused
        res = httpx.post(url + "/exports", data={"template": "dc01@tt66-2015", "format": "csv"},
                         cookies={c["name"]: c["value"] for c in page.context.cookies()})
        assert res.status_code == 403 and "CSRF" in res.text
        page.close()
