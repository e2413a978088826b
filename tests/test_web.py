"""The review station's pages in-process (TestClient): login, sessions, CSRF, throttling, roles,
escaping, the security headers, decisions per row, and a field snippet cut from a real registered page."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat

import cv2
import numpy as np
import pytest
from api_fixtures import fast_hashing  # noqa: F401
from web_fixtures import PASSWORD, SAMPLES, TestClient, add_batch, add_users, claim_group, csrf_of, login

from ocr_service.errors import ConfigError
from ocr_service.service.api import create_app
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import AuditEvent, FieldRow, WebSession, utcnow
from ocr_service.service.web import security
from ocr_service.settings import Settings


@pytest.fixture
def web(tmp_path, fast_hashing):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    add_users(store)
    app = create_app(settings, store)
    yield app, store
    store.close()


def client(app, **kw) -> TestClient:
    return TestClient(app, **kw)


def logged_in(app, username: str = "reviewer") -> TestClient:
    c = client(app)
    res = login(c, username)
    assert res.status_code == 303, res.text
    return c


def audit(store, action: str) -> list[AuditEvent]:
    with store.session(write=False) as s:
        return list(s.scalars(repo.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_anonymous_is_sent_to_login_and_a_clerk_is_refused(web):
    app, store = web
    add_batch(store)
    res = client(app).get("/review/group", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/login?next=%2Freview%2Fgroup"
    assert client(app).get("/review/fields/1/image", follow_redirects=False).status_code == 303
    for role in ("clerk", "exporter"):
        c = logged_in(app, role)
        for path in ("/review/group", "/review/sheets/1", "/review/fields/1/image"):
            res = c.get(path)
            assert res.status_code == 403, path
            assert "không được duyệt dữ liệu" in res.text
    for role in ("reviewer", "supervisor", "admin"):
        assert logged_in(app, role).get("/review/sheets/1").status_code == 200


def test_login_cookie_flags_sessions_and_audit(web, tmp_path):
    app, store = web
    c = client(app)
    res = login(c, "reviewer")
    assert res.status_code == 303 and res.headers["location"] == "/review/group"
    cookie = res.headers["set-cookie"]
    assert "ocr_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = c.cookies.get(security.SESSION_COOKIE)
    with store.session(write=False) as s:
        row = s.scalars(repo.select(WebSession)).one()
        assert row.token_sha256 == repo.token_hash(token) and token not in row.token_sha256  # stored hashed
        assert row.expires_at - row.created_at == dt.timedelta(hours=12)
    assert [e.actor for e in audit(store, "login")] == ["reviewer"]
    # over TLS (or with cookie_secure = always) the cookie is Secure
    tls = client(app, base_url="https://testserver")
    assert "Secure" in login(tls, "reviewer").headers["set-cookie"]
    # logout needs the CSRF token, ends the session and is audited
    page = c.get("/review/group")
    assert c.post("/logout", follow_redirects=False).status_code == 403
    res = c.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/login"
    assert [e.actor for e in audit(store, "logout")] == ["reviewer"]
    c.cookies.set(security.SESSION_COOKIE, token)  # the old cookie no longer works
    assert c.get("/review/group", follow_redirects=False).status_code == 303


def test_idle_and_absolute_expiry(web):
    app, store = web
    now = utcnow()
    with store.session() as s:
        user = repo.get_user(s, "reviewer")
        token, _ = repo.create_session(s, user.id, max_age=dt.timedelta(hours=12), now=now)
    idle = dt.timedelta(minutes=30)
    with store.session() as s:
        assert repo.session_user(s, token, idle=idle, now=now + dt.timedelta(minutes=29)) is not None
        assert repo.session_user(s, token, idle=idle, now=now + dt.timedelta(minutes=29 + 31)) is None  # idle
        for step in range(1, 25):  # in use every 29 minutes, still ends after 12 hours
            alive = repo.session_user(s, token, idle=idle, now=now + dt.timedelta(minutes=29 + 29 * step))
            assert (alive is not None) == (29 + 29 * step < 12 * 60)
        assert repo.session_user(s, "not-a-token", idle=idle) is None


def test_login_refuses_bad_passwords_and_throttles(web):
    app, store = web
    c = client(app)
    assert login(c, "reviewer", "wrong password!").status_code == 401
    assert "không đúng" in login(c, "nobody-at-all", "wrong password!").text
    for _ in range(4):
        assert login(c, "reviewer", "wrong password!").status_code == 401
    res = login(c, "reviewer", PASSWORD)  # the 6th attempt in 15 minutes, even the right password
    assert res.status_code == 429 and "thử lại sau 15 phút" in res.text
    assert security.SESSION_COOKIE not in c.cookies
    assert len(audit(store, "login.failed")) == 6 and len(audit(store, "login.throttled")) == 1
    assert login(c, "supervisor").status_code == 303  # another user name is not affected
    # a login form posted without its CSRF token is refused
    res = client(app).post("/login", data={"username": "reviewer", "password": PASSWORD}, follow_redirects=False)
    assert res.status_code == 403


def test_pages_escape_ocr_text_and_send_a_strict_csp(web):
    app, store = web
    add_batch(store, values=["<script>alert(1)</script>"], sheets=2)
    with store.session() as s:
        f = repo.get_file(s, 1)
        f.original_name = '"><img src=x onerror=alert(2)>.jpg'
    c = logged_in(app)
    page = claim_group(c)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x onerror" not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/vendor/htmx.min.js" defer>',
                                                       '<script src="/static/telex.js" defer>',
                                                       '<script src="/static/candidates.js" defer>',
                                                       '<script src="/static/suggest.js" defer>',
                                                       '<script src="/static/review.js" defer>']
    csp = page.headers["content-security-policy"]
    for part in ("default-src 'self'", "img-src 'self' data:", "script-src 'self'", "style-src 'self'",
                 "frame-ancestors 'none'"):
        assert part in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    sheet = c.get("/review/sheets/1")
    assert "<script>alert" not in sheet.text and "<img src=x onerror" not in sheet.text
    assert c.get("/static/vendor/htmx.min.js").status_code == 200


def _rows(html: str) -> list[tuple[int, int]]:
    return [(int(i), int(v)) for i, v in re.findall(
        r'id="row-(\d+)".*?name="version" value="(\d+)"', html, flags=re.S)]


def test_decisions_are_stored_with_csrf_and_audited(web):
    app, store = web
    add_batch(store, sheets=5)
    c = logged_in(app)
    page = claim_group(c)
    rows = _rows(page.text)
    assert len(rows) == 5
    csrf = csrf_of(page.text)
    (a, va), (b, vb), (d, vd), (e, ve), _ = rows
    # without the CSRF token: refused, nothing stored
    res = c.post(f"/review/fields/{a}", data={"version": va, "action": "accept", "value": "x"})
    assert res.status_code == 403
    with store.session(write=False) as s:
        assert repo.get_field(s, a).status == "needs_review"
    h = {security.CSRF_HEADER: csrf}
    assert c.post(f"/review/fields/{a}", headers=h, data={"version": va, "action": "accept",
                                                           "value": "05/11/1990"}).status_code == 200
    assert c.post(f"/review/fields/{b}", data={"csrf_token": csrf, "version": vb, "action": "accept",
                                               "value": "12/03/1985"}).status_code == 200
    res = c.post(f"/review/fields/{d}", headers=h, data={"version": vd, "action": "unreadable", "value": "?"})
    assert res.status_code == 200 and "không đọc được" in res.text
    res = c.post(f"/review/fields/{e}", headers=h, data={"version": ve, "action": "postpone", "value": ""})
    assert res.status_code == 200 and "hoãn" in res.text
    with store.session(write=False) as s:
        fa, fb, fd, fe = (repo.get_field(s, i) for i in (a, b, d, e))
        assert (fa.status, fa.verified_value, fa.verified_by) == ("verified", "05/11/1990", "reviewer")
        assert (fb.status, fb.verified_value) == ("verified", "12/03/1985")
        assert (fd.status, fd.review_note, fd.verified_value) == ("rejected", "không đọc được", "")
        assert (fe.status, fe.lease_owner, fe.postponed_by) == ("needs_review", None, "reviewer")
        events = {ev.entity_id: ev for ev in s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "field"))}
    assert events[str(b)].action == "field.verify" and events[str(b)].source == "reviewer"
    assert events[str(b)].old["value"] == "12/3/1985" and events[str(b)].new["verified_value"] == "12/03/1985"
    assert events[str(d)].action == "field.reject" and events[str(d)].new["note"] == "không đọc được"
    assert events[str(e)].action == "field.postpone"
    # a repeated save of a decided row is refused with the reason, the stored value is kept
    res = c.post(f"/review/fields/{a}", headers=h, data={"version": va, "action": "accept", "value": "x"})
    assert res.status_code == 409 and "đã được reviewer duyệt" in res.text
    with store.session(write=False) as s:
        assert repo.get_field(s, a).verified_value == "05/11/1990"


def test_a_save_after_the_lease_moved_on_is_refused(web):
    app, store = web
    add_batch(store, sheets=2)
    c1 = logged_in(app, "reviewer")
    page = claim_group(c1)
    (a, va), _ = _rows(page.text)
    # the lease expires and another reviewer claims the fields
    with store.session() as s:
        s.execute(repo.update(FieldRow.__table__).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    c2 = logged_in(app, "reviewer2")
    assert a in [i for i, _ in _rows(claim_group(c2).text)]
    res = c1.post(f"/review/fields/{a}", headers={security.CSRF_HEADER: csrf_of(page.text)},
                  data={"version": va, "action": "accept", "value": "01/01/2001"})
    assert res.status_code == 409
    assert "đang do người khác duyệt" in res.text and "01/01/2001" in res.text  # the typed value is shown back
    with store.session(write=False) as s:
        f = repo.get_field(s, a)
        assert (f.status, f.lease_owner, f.verified_value) == ("needs_review", "reviewer2", None)


def test_secret_key_is_made_once_per_installation_with_mode_0600(tmp_path):
    key = security.secret_key(tmp_path)
    path = tmp_path / security.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 32
    assert security.secret_key(tmp_path) == key
    assert security.secret_key(tmp_path / "other") != key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        security.secret_key(tmp_path)


def test_a_field_snippet_is_cut_from_the_registered_page(web):
    from ocr_service.pipeline.build import build_pipeline
    from ocr_service.pipeline.ingest import load_page

    app, store = web
    data = (SAMPLES / "dc01" / "0002.jpg").read_bytes()
    info = store.blobs.put(data)
    pipeline = build_pipeline("dc01", engines="fake", settings=app.state.settings)
    record = pipeline.process_page(load_page(store.blobs.path(info.sha256), 1)).to_record()
    assert record["status"] == "ok"
    with store.session() as s:
        b = repo.create_batch(s, "real", template=record["template"])
        f = repo.add_file(s, b.id, sha256=info.sha256, original_name="0002.jpg", size_bytes=len(data),
                          media_type="image/jpeg").row
        repo.add_pages(s, f.id, [{"page": 1}], enqueue=False)
        repo.write_result(s, f.id, record)
        dob = s.scalars(repo.select(FieldRow).where(FieldRow.name == "dob")).one()
        dob_id, (x, y, w, h) = dob.id, dob.box_px
    c = logged_in(app)
    res = c.get(f"/review/fields/{dob_id}/image")
    assert res.status_code == 200 and res.headers["content-type"] == "image/png"
    assert res.headers["x-content-type-options"] == "nosniff"
    img = cv2.imdecode(np.frombuffer(res.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (h + 24, w + 24)
    assert (img < 128).mean() > 0.005  # the printed date is in it
    page = c.get(f"/review/pages/{1}/image")
    assert page.status_code == 200 and page.headers["content-type"] == "image/png"
