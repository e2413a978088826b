"""QA sampling and the supervisor's page in a real browser (Playwright, Debian's /usr/bin/chromium,
against a real `ocr-service serve`): a reviewer clears a group holding a blind QA sample with the
keyboard, the page's keystroke counts reach the audit events, the QA answer that differs is an
auto-accept error; a supervisor opens /supervisor and sees the residual-error warning; a reviewer
gets a refusal there. With OCR_TEST_SCREENSHOTS=DIR the supervisor page is saved as supervisor.png."""

from __future__ import annotations

import httpx
import pytest
from serve_helpers import wait_until
from store_fixtures import TEMPLATE, field, result, sha
from test_web_browser import VIEWPORT, browser, log_in, screenshot  # noqa: F401  (browser: Chromium fixture)
from web_fixtures import PASSWORD, csrf_of, served_station

from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow


def _plant(store) -> list[int]:
    """A batch whose dob group holds two fields needing review and one blind QA sample between them;
    and an earlier batch of 400 answered date samples, 2 of them auto-accept errors."""
    with store.session() as s:
        old = repo.create_batch(s, "hộp-đã-kiểm", template=TEMPLATE)
        for i in range(4):
            f = repo.add_file(s, old.id, sha256=sha(700 + i), original_name=f"old-{i}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(800 + i)}], enqueue=False)
            repo.write_result(s, f.id, result(1, fields=[field(f"d{j}", value="01/01/2000", kind="date")
                                                        for j in range(100)]))
        done = list(s.scalars(repo.select(FieldRow.id).order_by(FieldRow.id)))
        t = FieldRow.__table__
        s.execute(repo.update(t).where(t.c.id.in_(done[:398])).values(qa_state="agree"))
        s.execute(repo.update(t).where(t.c.id.in_(done[398:])).values(qa_state="error", status="verified",
                                                                      verified_value="02/01/2000"))
        b = repo.create_batch(s, "hộp-mới", template=TEMPLATE, priority=5)
        group = []
        for i, (status, value) in enumerate([("needs_review", "05/11/1990"), ("auto_accepted", "12/03/1985"),
                                             ("needs_review", "01/01/2000")]):
            f = repo.add_file(s, b.id, sha256=sha(900 + i), original_name=f"new-{i}.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(950 + i)}], enqueue=False)
            repo.write_result(s, f.id, result(1, fields=[field("full_name"), field("dob", status, value, "date")]))
            group.append(s.scalars(repo.select(FieldRow.id).where(FieldRow.name == "dob")
                                   .order_by(FieldRow.id.desc())).first())
        s.execute(repo.update(t).where(t.c.id == group[1]).values(qa_state="pending"))
    return group


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qa-station")
    # reviewer QA off: it would send a share of these decisions back into the queue for another
    # reviewer (tested in test_qa_blind_http.py), and these tests count the queue exactly
    with served_station(tmp, lambda store, settings: _plant(store),
                        OCR_SERVICE_QA_REVIEW_RATE="0") as (url, store, group):
        yield {"url": url, "store": store, "group": group}


def test_blind_qa_in_the_group_keystrokes_and_the_supervisor_warning(station, browser):  # noqa: F811
    url, store, group = station["url"], station["store"], station["group"]
    ctx = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    page = ctx.new_page()
    log_in(page, url, "reviewer")
    rows = page.locator("form.row")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-field") for i in range(3)] == [str(g) for g in group]
    page.keyboard.press("Enter")  # 1 key: confirm
    page.keyboard.type("12/03/1986")  # the sample: the reviewer reads another year (10 keys + Enter)
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # 1 key

    def decided():
        with store.session(write=False) as s:
            ev = list(s.scalars(repo.select(AuditEvent).where(AuditEvent.action == "field.verify")
                                .order_by(AuditEvent.id)))
            return ev if len(ev) == 3 else None

    events = wait_until(decided, 20, "three decisions")
    # saves are not waited for (the focus moves on at once), so they may land in any order
    by_field = {int(e.entity_id): e for e in events}
    assert sorted(by_field) == sorted(group)
    assert [by_field[g].new.get("keys") for g in group] == [1, 11, 1]  # counted by the page's script
    assert [by_field[g].source for g in group] == ["reviewer", "qa", "reviewer"]
    with store.session(write=False) as s:
        sample = s.get(FieldRow, group[1])
        assert (sample.qa_state, sample.status, sample.verified_value) == ("error", "verified", "12/03/1986")
    page.wait_for_selector("#empty")  # the page went on to the next group: the queue is empty
    # the reviewer may not open the supervisor page
    page.goto(url + "/supervisor")
    assert "không được mở trang giám sát" in page.content()
    ctx.close()

    ctx = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    page = ctx.new_page()
    log_in(page, url, "supervisor", "/supervisor")
    warning = page.locator("p.qa-warning").first
    assert warning.is_visible()
    assert "loại ô ngày tháng" in warning.inner_text() and "3 sai trên 401" in warning.inner_text()
    assert page.locator("#stats tbody tr").first.inner_text().startswith("reviewer")
    screenshot(page, "supervisor")
    ctx.close()


def test_a_reviewer_cannot_assign_or_reprioritise_over_http(station):
    """Against the real server: a reviewer's session with a valid CSRF token is still refused."""
    url, store = station["url"], station["store"]
    with httpx.Client(base_url=url, timeout=30) as c:
        page = c.get("/login")
        res = c.post("/login", data={"username": "reviewer", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                     "next": "/review/group"})
        csrf = csrf_of(c.get("/review/sheets/1").text)
        assert c.get("/supervisor").status_code == 403
        assert c.post("/supervisor/assign", data={"reviewer": "reviewer", "batch": "2", "csrf_token": csrf}).status_code == 403
        assert c.post("/supervisor/batches/2/priority", data={"priority": "99", "csrf_token": csrf}).status_code == 403
        assert res.status_code == 303  # (the login itself worked)
    with store.session(write=False) as s:
        assert repo.get_batch(s, 2).priority == 5 and repo.active_assignments(s) == []
