"""The review station in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium; these
tests fail, not skip, without it) against a real `ocr-service serve` subprocess on a free 127.0.0.1
port. Log in, verify groups with the keyboard only (Enter, typing a correction, F2, F4, F8, F9, the
arrows and Tab), check what the database stored and audited, two reviewers in parallel get disjoint
rows, and the role checks over HTTP. With OCR_TEST_SCREENSHOTS=DIR, screenshots of the login page and
the group page (1366×768) are saved there (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import httpx
import pytest
from web_fixtures import PASSWORD, add_batch, add_real_pages, csrf_of, served_station

from ocr_service.service import auth
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow, utcnow
from ocr_service.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
REAL_PAGES = ("0000", "0002", "0003")


def _real_batch(store, settings: Settings) -> int:
    """A batch of real sample pages read with the fake engine, their dates of birth sent to review
    (one misread), so the snippets are cut from really registered pages."""
    with store.session() as s:
        b_id = repo.create_batch(s, "hộp-thật", template="dc01@tt66-2015", priority=10).id

    def edit(i, fields, truth):
        for fd in fields:
            if fd["name"] == "dob":
                good = truth["dob"]
                fd.update(status="needs_review", reasons=["low_confidence"], value=good if i != 1 else good[:-1] + "7",
                          candidates=[good[:-1] + "7", good], suggestion=None)
            elif fd["status"] != "auto_accepted":
                fd.update(status="auto_accepted", reasons=[])

    add_real_pages(store, settings, b_id, REAL_PAGES, edit)
    return b_id


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("station")

    def fill(store, settings):
        real = _real_batch(store, settings)
        box = add_batch(store, "hộp-1", sheets=6)
        par = add_batch(store, "hộp-song-song", sheets=24, names=("id_number",), offset=100)
        bulk = add_batch(store, "hộp-xác-nhận", sheets=20, offset=200)
        ditto = add_batch(store, "hộp-hộ-gia-đình", sheets=5, offset=300)
        with store.session() as s:
            repo.get_batch(s, par).priority = -1  # after the others
            repo.get_batch(s, bulk).priority = -2
            repo.get_batch(s, ditto).priority = -3
            auth.add_user(s, "reviewer3", PASSWORD, role="reviewer", actor="test")
            auth.add_user(s, "reviewer4", PASSWORD, role="reviewer", actor="test")
        return {"real": real, "box": box, "par": par, "bulk": bulk, "ditto": ditto}

    # reviewer QA off: it would send a share of these decisions back into the queue for another
    # reviewer (tested in test_qa_blind_http.py), and these tests count the queue exactly
    with served_station(tmp, fill, OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, batches):
        yield {"url": url, "store": store, "batches": batches, "tmp": tmp}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's `chromium` package (scripts/setup.sh does); "
                    "these tests must run, not skip")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def screenshot(page, name: str) -> None:
    target = os.environ.get("OCR_TEST_SCREENSHOTS")
    if not target:
        return
    from PIL import Image

    raw = Path(target) / f"{name}.raw.png"
    raw.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(raw))
    with Image.open(raw) as img:  # a small PNG: 64 colours
        img.convert("RGB").quantize(colors=64).save(Path(target) / f"{name}.png", optimize=True)
    raw.unlink()


def open_page(browser):
    """A new context at the clerk laptop's size, its page, and the console errors it logs (a list
    that fills as the page runs): (context, page, errors)."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return ctx, page, errors


def log_in(page, url: str, username: str, path: str = "/review/group", *, claim: bool | None = None) -> None:
    """Log in through the form on the way to ``path``; on the group page, claim a group too (unless
    ``claim`` is False)."""
    page.goto(url + path)
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(url + path)
    if claim if claim is not None else path.startswith("/review/group"):
        press_claim(page)


def press_claim(page) -> None:
    """On the claim page (a GET claims nothing): Enter on its focused button POSTs the claim."""
    from playwright.sync_api import expect

    expect(page.locator("#claim-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("form.row, .frow, #empty").first).to_be_visible()
    # rows show while the page still parses; its deferred scripts (the keys) run before "load"
    page.wait_for_load_state("load")


def row_ids(page) -> list[int]:
    return page.locator("form.row").evaluate_all("els => els.map(e => Number(e.dataset.field))")


def open_group(browser, url: str, field_name: str, rows: int, username: str = "reviewer"):
    """A reviewer's new page, logged in, on the group of ``field_name`` it claimed, which must hold
    ``rows`` rows: (context, page, console errors, the rows' field ids)."""
    from playwright.sync_api import expect

    ctx, page, errors = open_page(browser)
    log_in(page, url, username)
    expect(page.locator("h1")).to_contain_text(field_name)
    ids = row_ids(page)
    assert len(ids) == rows, ids
    return ctx, page, errors, ids


def assert_focus(page, field_id: int) -> None:
    """Wait (a loaded machine) until the input of ``field_id``'s row has the keyboard focus."""
    page.wait_for_function("id => { const a = document.activeElement; "
                           "return !!(a && a.form && Number(a.form.dataset.field) === id); }", arg=field_id,
                           timeout=15_000)


@pytest.fixture(scope="module", autouse=True)
def patient_expect():
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # 2 shared cores: give the server and the browser time


def test_keyboard_only_group_verification(station, browser):
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors = open_page(browser)
    page.goto(url + "/review/group")
    assert page.url.startswith(url + "/login")
    screenshot(page, "login")
    page.fill("#username", "reviewer")
    page.fill("#password", "not the password")
    page.keyboard.press("Enter")
    expect(page.locator("#login-error")).to_contain_text("không đúng")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/review/group$"))
    with store.session(write=False) as s:  # the GET claimed nothing: its one button claims (a POST)
        assert not s.scalars(repo.select(FieldRow).where(FieldRow.lease_owner.is_not(None))).all()
    press_claim(page)

    # the real pages first (priority 10): snippets cut from the registered pages
    real = row_ids(page)
    assert len(real) == 3
    for fid in real:
        img = page.locator(f"#row-{fid} img")
        expect(img).to_have_js_property("complete", True, timeout=30_000)
        assert img.evaluate("i => i.naturalWidth") > 100
    assert_focus(page, real[0])
    screenshot(page, "group")
    for fid in real[:-1]:
        page.keyboard.press("Enter")
        expect(page.locator(f"#row-{fid}")).to_have_attribute("data-state", "decided")
    page.keyboard.press("Enter")  # the last row: its answer, then at once the next group

    # the next group loads by itself: six dates of birth of batch hộp-1
    expect(page.locator('form.row[data-state="pending"]')).to_have_count(6, timeout=15_000)
    ids = row_ids(page)
    assert not set(ids) & set(real)
    assert_focus(page, ids[0])
    page.keyboard.press("ArrowDown")
    assert_focus(page, ids[1])
    page.keyboard.press("ArrowUp")
    assert_focus(page, ids[0])
    page.keyboard.press("Tab")
    assert_focus(page, ids[1])
    page.keyboard.press("Shift+Tab")
    assert_focus(page, ids[0])
    page.keyboard.press("Enter")  # 1: accepted as shown
    expect(page.locator(f"#row-{ids[0]}")).to_have_attribute("data-state", "decided")
    assert_focus(page, ids[1])
    page.keyboard.type("12/03/1985")  # 2: typing replaces the value
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{ids[1]}")).to_have_attribute("data-state", "decided")
    assert_focus(page, ids[2])
    page.keyboard.press("F2")  # 3: the next candidate
    chosen = page.locator(f"#row-{ids[2]} input.value").input_value()
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{ids[2]}")).to_have_attribute("data-state", "decided")
    page.keyboard.press("F4")  # 4: unreadable
    expect(page.locator(f"#row-{ids[3]}")).to_contain_text("không đọc được")
    page.keyboard.press("F8")  # 5: postponed
    expect(page.locator(f"#row-{ids[4]}")).to_have_attribute("data-state", "postponed")
    assert_focus(page, ids[5])
    page.keyboard.press("F9")  # 6: the whole sheet, then back with Esc
    page.wait_for_url(re.compile(r".*/review/sheets/\d+$"))
    expect(page.locator("table.fields")).to_contain_text("NGUYỄN VĂN AN")
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r".*/review/group$"))
    assert row_ids(page) == [ids[5]]  # the lease kept the undecided row for this reviewer
    page.keyboard.press("Enter")
    # this reviewer's next group: not the row they postponed, so the parallel batch's numbers
    expect(page.locator("h1")).to_contain_text("id_number", timeout=15_000)
    # Telex works in group mode too (Alt+Z; the header shows the state); nothing is saved without Enter
    page.keyboard.press("Alt+z")
    expect(page.locator("#telex-state")).to_contain_text("BẬT")
    page.keyboard.type("dd")
    expect(page.locator('form.row[data-state="pending"] input.value').first).to_have_value("đ")
    page.keyboard.press("Alt+z")
    expect(page.locator("#telex-state")).to_contain_text("tắt")

    with store.session(write=False) as s:
        got = {i: repo.get_field(s, i) for i in ids + real}
        events = list(s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "field")
                                .order_by(AuditEvent.id)))
        logins = [e.action for e in s.scalars(repo.select(AuditEvent).where(AuditEvent.source == "web"))]
    f = [got[i] for i in ids]
    assert (f[0].status, f[0].verified_value) == ("verified", f[0].value)
    assert (f[1].status, f[1].verified_value) == ("verified", "12/03/1985")
    assert f[2].status == "verified" and f[2].verified_value == chosen and chosen != f[2].value
    assert (f[3].status, f[3].review_note) == ("rejected", "không đọc được")
    assert (f[4].status, f[4].lease_owner, f[4].postponed_by) == ("needs_review", None, "reviewer")
    assert (f[5].status, f[5].verified_value) == ("verified", f[5].value)
    assert all(got[i].status == "verified" and got[i].verified_by == "reviewer" for i in real)
    by_field = {(e.entity_id, e.action) for e in events if e.actor == "reviewer" and e.source == "reviewer"}
    for i in [*real, ids[0], ids[1], ids[2], ids[5]]:
        assert (str(i), "field.verify") in by_field
    assert (str(ids[3]), "field.reject") in by_field and (str(ids[4]), "field.postpone") in by_field
    ev = next(e for e in events if e.entity_id == str(ids[1]))
    assert ev.old["value"] == f[1].value and ev.new["verified_value"] == "12/03/1985" and ev.at is not None
    assert "login.failed" in logins and "login" in logins
    assert not [e for e in errors if "Content Security Policy" in e], errors  # nothing blocked by the CSP
    # logout: the form in the header (CSRF field), back to the login page, leases given back
    page.locator("form.logout button").click()
    page.wait_for_url(re.compile(r".*/login$"))
    ctx.close()


def test_two_reviewers_in_parallel_get_disjoint_rows(station, browser):
    from playwright.sync_api import expect

    url, store, par = station["url"], station["store"], station["batches"]["par"]
    pages = []
    for who in ("reviewer2", "supervisor"):
        ctx = browser.new_context(viewport=VIEWPORT)
        page = ctx.new_page()
        log_in(page, url, who, f"/review/group?batch={par}")
        pages.append(page)
    a, b = (row_ids(p) for p in pages)
    assert a and b and not set(a) & set(b)
    assert len(a) + len(b) == 24  # 20 + 4: everything of the batch, each row once
    for p in pages:
        p.keyboard.press("Enter")
    for p, ids in zip(pages, (a, b)):
        expect(p.locator(f"#row-{ids[0]}")).to_have_attribute("data-state", "decided")
    with store.session(write=False) as s:
        owners = {f.id: f.lease_owner for f in s.scalars(repo.select(FieldRow).where(FieldRow.batch_id == par))}
        first = [repo.get_field(s, a[0]), repo.get_field(s, b[0])]
    assert {owners[i] for i in a[1:]} == {"reviewer2"} and {owners[i] for i in b[1:]} == {"supervisor"}
    assert [f.verified_by for f in first] == ["reviewer2", "supervisor"]
    # reviewer2's lease expires and admin takes those rows: reviewer2's next save is refused, visibly
    with store.session() as s:
        s.execute(repo.update(FieldRow.__table__).where(FieldRow.lease_owner == "reviewer2")
                  .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    ctx = browser.new_context(viewport=VIEWPORT)
    admin = ctx.new_page()
    log_in(admin, url, "admin", f"/review/group?batch={par}")
    assert row_ids(admin) == a[1:]
    pages[0].keyboard.type("036000000000")
    pages[0].keyboard.press("Enter")
    row = pages[0].locator(f"#row-{a[1]}")
    expect(row).to_have_attribute("data-state", "conflict")
    expect(row).to_contain_text("đang do người khác duyệt")
    expect(row).to_contain_text("036000000000")  # what they typed is shown back, not lost
    with store.session(write=False) as s:
        f = repo.get_field(s, a[1])
        assert (f.status, f.lease_owner, f.verified_value) == ("needs_review", "admin", None)
    for p in [*pages, admin]:
        p.context.close()


def test_ctrl_enter_confirms_the_rows_on_screen(station, browser):
    """Ctrl+Enter accepts the focused row (as typed) and the undecided rows below it that are wholly
    on screen, each as shown and audited; a row below the fold stays to decide, and gets the focus."""
    from playwright.sync_api import expect

    url, store, bulk = station["url"], station["store"], station["batches"]["bulk"]
    ctx, page, errors = open_page(browser)
    log_in(page, url, "reviewer3", f"/review/group?batch={bulk}")
    ids = row_ids(page)
    assert len(ids) == 20
    on_screen = page.evaluate("""() => Array.from(document.querySelectorAll('form.row')).filter(f => {
        const r = f.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })
        .map(f => Number(f.dataset.field))""")
    assert 3 <= len(on_screen) < 20 and on_screen == ids[:len(on_screen)], on_screen
    with store.session(write=False) as s:
        shown = {i: repo.get_field(s, i).value for i in ids}
    assert_focus(page, ids[0])
    page.keyboard.press("Enter")  # the first row alone
    assert_focus(page, ids[1])
    page.keyboard.type("02/02/1992")  # a correction, confirmed with the rows under it
    page.keyboard.press("Control+Enter")
    done = ids[:len(on_screen)]
    for fid in done:
        expect(page.locator(f"#row-{fid}")).to_have_attribute("data-state", "decided")
    rest = ids[len(on_screen):]
    expect(page.locator('form.row[data-state="pending"]')).to_have_count(len(rest))
    assert_focus(page, rest[0])
    # the row below the fold starts the next screen, so Ctrl+Enter confirms that screen's rows next
    in_view = """() => Array.from(document.querySelectorAll('form.row[data-state="pending"]')).filter(f => {
        const r = f.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })
        .map(f => Number(f.dataset.field))"""
    page.wait_for_function("id => Math.abs(document.getElementById('row-' + id).getBoundingClientRect().top) < 2",
                           arg=rest[0], timeout=15_000)
    second = page.evaluate(in_view)
    assert 3 <= len(second) < len(rest) and second == rest[:len(second)], (second, rest)
    page.keyboard.press("Control+Enter")
    for fid in second:
        expect(page.locator(f"#row-{fid}")).to_have_attribute("data-state", "decided")
    done += second
    rest = rest[len(second):]
    assert_focus(page, rest[0])
    with store.session(write=False) as s:
        got = {i: repo.get_field(s, i) for i in ids}
        verified = {e.entity_id for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.action == "field.verify", AuditEvent.actor == "reviewer3"))}
    assert got[ids[1]].verified_value == "02/02/1992"
    for fid in done:
        assert got[fid].status == "verified" and got[fid].verified_by == "reviewer3" and str(fid) in verified
        if fid != ids[1]:
            assert got[fid].verified_value == shown[fid]
    assert all(got[i].status == "needs_review" and got[i].lease_owner == "reviewer3" for i in rest)
    # (the rows' snippets are 404s: these sheets have no page image; nothing else may fail)
    assert not [e for e in errors if "404" not in e], errors
    ctx.close()


def test_f3_takes_the_value_accepted_in_the_row_above(station, browser):
    """F3 puts the value accepted in the nearest row above into the focused row (a correction typed
    there, still saving or saved), skipping rows postponed or rejected as unreadable; Enter
    saves it as the reviewer's decision. With no accepted row above, F3 changes nothing."""
    from playwright.sync_api import expect

    url, store = station["url"], station["store"]
    ctx, page, errors = open_page(browser)
    log_in(page, url, "reviewer4", f"/review/group?batch={station['batches']['ditto']}")
    ids = row_ids(page)
    assert len(ids) == 5
    with store.session(write=False) as s:
        shown = {i: repo.get_field(s, i).value for i in ids}
    value = lambda fid: page.locator(f"#row-{fid} input.value").input_value()  # noqa: E731
    assert_focus(page, ids[0])
    page.keyboard.press("F3")  # nothing accepted above the first row
    assert value(ids[0]) == shown[ids[0]]
    page.keyboard.type("07/07/1977")
    page.keyboard.press("Enter")
    assert_focus(page, ids[1])
    assert shown[ids[1]] != "07/07/1977"
    page.keyboard.press("F3")  # the correction just typed above (saved or still saving)
    assert value(ids[1]) == "07/07/1977"
    page.keyboard.press("Enter")
    expect(page.locator(f"#row-{ids[1]}")).to_have_attribute("data-state", "decided")
    page.keyboard.press("F4")  # row 3 unreadable, row 4 postponed: neither is a value to take
    expect(page.locator(f"#row-{ids[2]}")).to_contain_text("không đọc được")
    page.keyboard.press("F8")
    expect(page.locator(f"#row-{ids[3]}")).to_have_attribute("data-state", "postponed")
    assert_focus(page, ids[4])
    page.keyboard.press("F3")  # the nearest accepted row above: row 2
    assert value(ids[4]) == "07/07/1977"
    page.keyboard.press("Enter")  # the last row: saved, then the batch's next group is claimed (none)
    expect(page.locator("#empty")).to_be_visible(timeout=15_000)
    with store.session(write=False) as s:
        got = {i: repo.get_field(s, i) for i in ids}
        keys = {e.entity_id: (e.new or {}).get("keys") for e in s.scalars(repo.select(AuditEvent).where(
            AuditEvent.action == "field.verify", AuditEvent.actor == "reviewer4"))}
    for fid in (ids[0], ids[1], ids[4]):
        assert (got[fid].status, got[fid].verified_value, got[fid].verified_by) == ("verified", "07/07/1977",
                                                                                    "reviewer4")
    assert got[ids[2]].status == "rejected" and got[ids[3]].status == "needs_review"
    assert int(keys[str(ids[1])]) == 2  # F3 and Enter: counted in the operator statistics
    assert not [e for e in errors if "404" not in e], errors
    ctx.close()


def test_roles_and_cookies_over_http(station):
    url = station["url"]
    res = httpx.get(url + "/review/group")
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    for role, status in (("clerk", 403), ("exporter", 403), ("reviewer", 200), ("admin", 200)):
        with httpx.Client(base_url=url) as c:
            page = c.get("/login")
            res = c.post("/login", data={"username": role, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                         "next": "/review/sheets/1"})
            assert res.status_code == 303
            cookie = res.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie
            got = c.get("/review/sheets/1")
            assert got.status_code == status, (role, got.text[:200])
            assert got.headers["content-security-policy"].startswith("default-src 'self'")
            # a state-changing request without the CSRF token is refused
            assert c.post("/review/lease").status_code == 403
            if status == 200:
                assert c.post("/review/lease", headers={"X-CSRF-Token": csrf_of(got.text)}).status_code == 200
