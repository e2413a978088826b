"""The review station's pages (server-rendered, Vietnamese): login and logout, the group
verification page, a decision per field (htmx POST), field snippets and the read-only sheet view.

Every page takes the caller from the session cookie and checks the role with the API's own
``Principal.require`` (reviewer, supervisor, admin); an anonymous caller is sent to the login page.
Every state-changing request carries the session's CSRF token. See docs/review.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ocr_service.errors import ConflictError, NotFoundError, OcrServiceError, PermissionDeniedError
from ocr_service.forms import loader
from ocr_service.forms.model import Template, column_key, split_cell_name
from ocr_service.pipeline import reasons as review_reasons
from ocr_service.service import auth, blind
from ocr_service.service.auth import Principal
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import FIELD_REJECTED, FIELD_REVIEW, FIELD_VERIFIED, QA_PENDING, FieldRow, utcnow
from ocr_service.service.web import security
from ocr_service.service.web.warm import warm_suggestions
from ocr_service.vietnamese import suggest as vsuggest

HERE = Path(__file__).parent
UNREADABLE_NOTE = "không đọc được"
ROLE_NAMES = {"clerk": "nhập liệu", "reviewer": "kiểm tra viên", "supervisor": "giám sát", "exporter": "xuất dữ liệu",
              "admin": "quản trị"}
KEYS = [("Enter", "chấp nhận giá trị đang hiện (hoặc gợi ý đang chọn), sang dòng sau"),
        ("Ctrl+Enter", "chấp nhận cả các dòng bên dưới đang hiện trên màn hình"),
        ("gõ chữ", "thay giá trị; ô có danh mục gợi ý cho phần đang gõ (phần địa chỉ, chữ của họ tên)"),
        ("↓ / ↑", "chọn gợi ý; không có gợi ý: chuyển dòng"),
        ("Tab", "lấy gợi ý, ở lại ô để sửa phần khác; không có gợi ý: sang dòng sau"),
        ("⇧Tab", "về dòng trước"),
        ("Esc", "đóng gợi ý"),
        ("F2", "giá trị gợi ý tiếp theo"),
        ("F3", "lấy giá trị đã chấp nhận ở dòng trên"),
        ("F4", "không đọc được"),
        ("F8", "hoãn dòng này (trả về hàng đợi)"),
        ("F9", "xem cả phiếu"),
        ("Alt+Z", "bật/tắt gõ Telex")]

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True,
                                                                                            default_for_string=True))
router = APIRouter(include_in_schema=False)


# -- errors the pages turn into redirects or Vietnamese pages -------------------------------------

class LoginRequired(Exception):
    pass


class WebError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def render(request: Request, name: str, status: int = 200, headers: dict | None = None, **context: Any) -> HTMLResponse:
    html = env.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=headers)


def _login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = "/login"
    if request.method == "GET":
        target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _web_error(request: Request, exc: WebError) -> Response:
    return render(request, "error.html", status=exc.status, message=exc.message, principal=None)


def install(app) -> None:
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(WebError, _web_error)


# -- the caller -----------------------------------------------------------------------------------

def _settings(request: Request):
    return request.app.state.settings


def _store(request: Request):
    return request.app.state.store


def _secret(request: Request) -> bytes:
    return request.app.state.web_secret


def _idle(request: Request) -> dt.timedelta:
    return dt.timedelta(minutes=_settings(request).session_idle_minutes)


def web_principal(request: Request) -> Principal:
    """The caller of a page, from the session cookie; LoginRequired (→ the login page) if none."""
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token or len(token) > 200:
        raise LoginRequired()
    store = _store(request)
    with store.session(write=False) as s:
        row = repo.session_user(s, token, idle=_idle(request))
        principal = auth.principal_of(row.user) if row is not None else None
        stale = bool(s.dirty)
        s.rollback()
    if principal is None:
        raise LoginRequired()
    if stale:  # record the use (to the minute)
        with store.session() as s:
            repo.session_user(s, token, idle=_idle(request))
    request.state.session_token = token
    request.state.csrf = security.csrf_token(_secret(request), token)
    return principal


def page_require(*roles: str, action: str):
    """A page dependency: the caller if their role is one of ``roles`` (the API's rule, via
    ``Principal.require``); a 403 page otherwise."""

    names = [ROLE_NAMES.get(r, r) for r in roles]
    needed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " hoặc " + names[-1]

    def dependency(principal: Annotated[Principal, Depends(web_principal)]) -> Principal:
        try:
            return principal.require(*roles, action=action)
        except PermissionDeniedError:
            raise WebError(403, f"Tài khoản {principal.username} (vai trò {ROLE_NAMES.get(principal.role, principal.role)}) "
                                f"không được {action}: cần vai trò {needed}.") from None

    return dependency


Reviewer = Annotated[Principal, Depends(page_require(*auth.CAN_REVIEW, action="duyệt dữ liệu"))]


async def check_csrf(request: Request, _: Annotated[Principal, Depends(web_principal)]) -> None:
    """Refuse a state-changing request without the session's CSRF token (field or header). (After
    the session is known: an anonymous POST is sent to the login page first.)"""
    sent = request.headers.get(security.CSRF_HEADER)
    if not sent:
        form = await request.form()
        sent = form.get(security.CSRF_FIELD)
    if not security.same(sent if isinstance(sent, str) else None, getattr(request.state, "csrf", None)):
        raise WebError(403, "Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang.")


# -- login and logout -----------------------------------------------------------------------------

def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"


def _cookie_secure(request: Request) -> bool:
    mode = _settings(request).cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _login_page(request: Request, *, status: int = 200, error: str | None = None, username: str = "",
                next_: str = "/review") -> HTMLResponse:
    token = security.secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, error=error, username=username, next=_safe_next(next_),
                      csrf=token, principal=None)
    response.set_cookie(security.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=_cookie_secure(request))
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/review") -> HTMLResponse:
    return _login_page(request, next_=next)


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_CHARS)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/review") -> Response:
    if not security.same(csrf_token, request.cookies.get(security.LOGIN_CSRF_COOKIE)):
        return _login_page(request, status=403, error="Phiên đăng nhập đã cũ: hãy thử lại.", username=username,
                           next_=next)
    store, settings = _store(request), _settings(request)
    ip = _client_ip(request)
    name = username.strip()
    key = security.throttle_key(name, ip)
    now = utcnow()
    with store.session() as s:
        failures = repo.count_audit(s, action="login.failed", entity_type="login", entity_id=key,
                                    since=now - security.THROTTLE_WINDOW)
        if failures >= security.MAX_FAILURES:
            repo.add_audit(s, actor=name[:100] or "?", action="login.throttled", entity_type="login", entity_id=key,
                           new={"ip": ip}, source="web")
            minutes = int(security.THROTTLE_WINDOW.total_seconds() // 60)
            throttled = True
        else:
            throttled = False
            try:
                user = repo.get_user(s, auth.check_username(name))
            except OcrServiceError:
                user = None
            ok = auth.verify_login(user.password_hash if user else None, password) and user is not None
            if ok and user.active:
                cookie, _row = repo.create_session(s, user.id, max_age=dt.timedelta(hours=settings.session_max_hours),
                                                   ip=ip, now=now)
                repo.add_audit(s, actor=user.username, action="login", entity_type="user", entity_id=user.id,
                               new={"ip": ip}, source="web")
            else:
                cookie = None
                repo.add_audit(s, actor=name[:100] or "?", action="login.failed", entity_type="login",
                               entity_id=key, new={"ip": ip, "username": name[:100]}, source="web")
    if throttled:
        return _login_page(request, status=429, username=username, next_=next,
                           error=f"Đăng nhập sai quá {security.MAX_FAILURES} lần: hãy thử lại sau {minutes} phút.")
    if cookie is None:
        return _login_page(request, status=401, username=username, next_=next,
                           error="Tên đăng nhập hoặc mật khẩu không đúng.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(security.SESSION_COOKIE, cookie, httponly=True, samesite="lax", path="/",
                        secure=_cookie_secure(request), max_age=settings.session_max_hours * 3600)
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, principal: Annotated[Principal, Depends(web_principal)]) -> Response:
    with _store(request).session() as s:
        repo.end_session(s, request.state.session_token)
        released = repo.release_leases(s, principal.username)
        repo.add_audit(s, actor=principal.username, action="logout", entity_type="user", entity_id=principal.user_id,
                       new={"released_fields": released}, source="web")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/review", status_code=303)


# -- group verification ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _template(templates_dir: str, ref: str) -> Template | None:
    try:
        return loader.load(ref, Path(templates_dir))
    except OcrServiceError:
        return None


def _labels(templates_dir: str, ref: str) -> dict[str, str]:
    t = _template(templates_dir, ref)
    return {f.name: f.label.strip().rstrip(":") for f in t.fields} if t else {}


def _column_label(templates_dir: str, ref: str, key: str) -> str:
    """Group mode's heading for review key ``key`` (forms.model.column_key) of template ``ref``:
    "Thành viên – Họ, chữ đệm và tên" for a table column; the key itself if unknown."""
    t = _template(templates_dir, ref)
    try:
        return t.column_label(key) if t else key
    except KeyError:
        return key


def column_label(request: Request, ref: str, key: str) -> str:
    """:func:`_column_label` with the installation's templates directory (for the other pages)."""
    return _column_label(str(_settings(request).templates_dir), ref, key)


def _row_label(templates_dir: str, ref: str, name: str) -> str | None:
    """Which table row a cell is ("Thành viên 2"); None for an ordinary field."""
    t = _template(templates_dir, ref)
    try:
        return t.row_label(name) if t else None
    except KeyError:
        return None


@functools.lru_cache(maxsize=1024)
def suggest_source(templates_dir: str, ref: str, name: str) -> str | None:
    """The suggestion list (a vietnamese.suggest source) of field ``name`` of template ``ref``, read
    from the field's template data (its vocabulary, or the address validator); None when it has none."""
    t = _template(templates_dir, ref)
    spec = next((f for f in t.fields if f.name == name), None) if t else None
    return vsuggest.source_for(spec.vocabulary, spec.validators) if spec else None


def suggests(templates_dir: str, ref: str, name: str) -> bool:
    """Whether the review pages ask for suggestions as field ``name`` is typed: it has a list, or a
    family of fields whose settled values it may repeat (web/related.py)."""
    return suggest_source(templates_dir, ref, name) is not None or family(templates_dir, ref, name)[0] is not None


@functools.lru_cache(maxsize=1024)
def family(templates_dir: str, ref: str, name: str) -> tuple[str | None, frozenset[str]]:
    """Field ``name``'s family in template ``ref`` (vietnamese.suggest.family_of: the fields whose
    values it may repeat) and the names of the template's fields in it."""
    t = _template(templates_dir, ref)
    if not t:
        return None, frozenset()
    fam = {f.name: vsuggest.family_of(f.vocabulary, f.validators) for f in t.fields}
    mine = fam.get(name)
    return mine, frozenset(n for n, v in fam.items() if mine and v == mine)


def _reason_vi(reason: str) -> str:
    try:
        return review_reasons.describe(reason, "vi")
    except (ValueError, KeyError):
        return reason


def _choices(f: FieldRow) -> list[str]:
    """The values F2 steps through: what is shown first, then the suggestion, then the other readings."""
    others = [v for v in [f.suggestion, *[str(c) for c in (f.candidates or [])]] if v]
    return list(dict.fromkeys([f.value or "", *others]))


def _queued(f: FieldRow) -> bool:
    return f.status == FIELD_REVIEW or f.qa_state == QA_PENDING


def _row(f: FieldRow, viewer: str, *, state: str = "pending", message: str | None = None,
         typed: str | None = None) -> dict:
    """A field as the review pages show it to ``viewer``: blind (service/blind.py), so a QA sample
    looks like any field needing review, to supervisors too (they answer samples as reviewers)."""
    hidden = blind.hides_decision(f, viewer)
    return {"id": f.id, "version": f.version, "name": f.name, "value": f.value, "choices": _choices(f),
            "reasons": [_reason_vi(r) for r in blind.shown_reasons(f, viewer)], "sheet_id": f.sheet_id,
            "state": state, "message": message, "typed": typed, "status": blind.shown_status(f, viewer),
            "verified_value": None if hidden else f.verified_value, "note": None if hidden else f.review_note}


@router.get("/review")
def review_home() -> Response:
    return RedirectResponse("/review/group", status_code=303)


@router.post("/review/group", dependencies=[Depends(check_csrf)])
def claim_group(request: Request, principal: Reviewer, batch: Annotated[int | None, Form()] = None) -> Response:
    """Lease the next group (a POST with the CSRF token: a link from another site cannot claim)
    and show it; the sheets' pages, and those of the sheets likely to come next, are registered in
    the background meanwhile (Snippets.prefetch)."""
    from ocr_service.service.store import sheet_leases

    query = f"?batch={batch}" if batch else ""
    with _store(request).session() as s:
        fields = repo.claim_group(s, principal.username, batch_id=batch)
        if not fields:
            return RedirectResponse("/review/group" + (query + "&" if query else "?") + "empty=1", status_code=303)
        sheets = sorted({f.sheet_id for f in fields})
        upcoming = sheet_leases.next_sheets(s, sheets[-1], fields[0].batch_id, limit=len(sheets))
        pages = [repo.get_sheet(s, i).page_id for i in sheets + upcoming]
    request.app.state.snippets.prefetch(pages)
    return RedirectResponse("/review/group" + query, status_code=303)


@router.get("/review/group", response_class=HTMLResponse)
def group_page(request: Request, principal: Reviewer, batch: int | None = None, empty: int = 0) -> HTMLResponse:
    """The group the reviewer holds; without one, a page whose focused button (Enter) POSTs the
    claim. A GET changes nothing."""
    warm_suggestions()
    store = _store(request)
    with store.session(write=False) as s:
        fields = repo.held_group(s, principal.username)
        if not fields:
            return render(request, "claim.html", principal=principal, csrf=request.state.csrf,
                          action="/review/group", batch=batch, empty=bool(empty), what="nhóm", keys=KEYS)
        rows = [_row(f, principal.username) for f in fields]
        info = None
        if fields:
            first = fields[0]
            b = repo.get_batch(s, first.batch_id)
            sheet = repo.get_sheet(s, first.sheet_id)
            tdir = str(_settings(request).templates_dir)
            key = column_key(first.name)  # a table's cells come as their column, across rows and sheets
            label = _column_label(tdir, sheet.template.ref, key)
            for f, r in zip(fields, rows):
                sh = repo.get_sheet(s, f.sheet_id)
                r["where"] = f"{sh.page.file.original_name} · trang {sh.page.page_no}"
                r["row_label"] = _row_label(tdir, sh.template.ref, f.name)
                r["suggest"] = suggests(tdir, sh.template.ref, f.name)
            info = {"batch": b.name, "field": key, "label": label,
                    "expires": fields[0].lease_expires_at.astimezone(dt.UTC).strftime("%H:%M UTC")}
    return render(request, "group.html", principal=principal, csrf=request.state.csrf, rows=rows, info=info,
                  keys=KEYS, batch=batch)


def conflict_message(f: FieldRow, exc: ConflictError, *, again: str = "hãy tải lại nhóm") -> str:
    """Why a save was refused (``exc`` from repo.verify_field, ``f`` the field as stored now), in
    Vietnamese, saying that the reviewer's value was not stored and nothing was overwritten."""
    if isinstance(exc, repo.LeaseLostError) and _queued(f) and f.lease_owner is None:
        return ("Không lưu được: dòng này không còn được giữ cho bạn (đã trả về hàng đợi). "
                f"Giá trị của bạn (bên dưới) chưa được lưu; {again}.")
    if isinstance(exc, repo.LeaseLostError) and _queued(f):
        return ("Không lưu được: dòng này đã hết hạn giữ chỗ và đang do người khác duyệt. "
                "Giá trị của bạn (bên dưới) chưa được lưu; dữ liệu không bị ghi đè.")
    if not _queued(f):
        return (f"Không lưu được: dòng này đã được {f.verified_by or 'người khác'} duyệt rồi. "
                "Giá trị của bạn (bên dưới) chưa được lưu; dữ liệu không bị ghi đè.")
    return ("Không lưu được: dòng này vừa bị thay đổi (phiên bản khác với lúc bạn xem). "
            f"Giá trị của bạn (bên dưới) chưa được lưu; {again}.")


@router.post("/review/fields/{field_id}", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def decide(request: Request, field_id: int, principal: Reviewer, version: Annotated[int, Form()],
           action: Annotated[str, Form(pattern="^(accept|unreadable|postpone)$")],
           value: Annotated[str, Form(max_length=2000)] = "",
           keys: Annotated[str, Form(max_length=6)] = "") -> HTMLResponse:
    """One row's decision: accept the value as typed (verified), unreadable (rejected), or postpone
    (back to the queue). A save after the lease moved on, or on a changed field, is refused (409)
    with the reason, and the reviewer's value is shown back, not stored."""
    store = _store(request)
    who = principal.username
    keys = int(keys) if keys.isdigit() else None  # keystrokes the page counted for this row (statistics)
    try:
        with store.session() as s:
            if action == "postpone":
                f = repo.get_field(s, field_id)
                if not repo.postpone_field(s, field_id, who):
                    raise repo.LeaseLostError("not leased")
                repo.renew_review_lease(s, who)
                return render(request, "_row.html", r=_row(f, who, state="postponed"), csrf=request.state.csrf)
            if action == "accept":
                f = repo.verify_field(s, field_id, version=version, value=value, actor=who, source="reviewer",
                                      lease_owner=who, keys=keys, qa_review_rate=_settings(request).qa_review_rate)
            else:
                f = repo.verify_field(s, field_id, version=version, value="", actor=who, source="reviewer",
                                      status=FIELD_REJECTED, note=UNREADABLE_NOTE, lease_owner=who, keys=keys,
                                      qa_review_rate=_settings(request).qa_review_rate)
            repo.renew_review_lease(s, who)
            r = _row(f, who, state="decided")
            if split_cell_name(f.name):  # a table cell keeps saying which row it is
                r["row_label"] = _row_label(str(_settings(request).templates_dir),
                                            repo.get_sheet(s, f.sheet_id).template.ref, f.name)
            return render(request, "_row.html", r=r, csrf=request.state.csrf)
    except ConflictError as exc:
        with store.session(write=False) as s:
            f = repo.get_field(s, field_id)
            msg = conflict_message(f, exc)
            return render(request, "_row.html", status=409, r=_row(f, who, state="conflict", message=msg, typed=value),
                          csrf=request.state.csrf)


@router.post("/review/lease", dependencies=[Depends(check_csrf)])
def renew(request: Request, principal: Reviewer) -> Response:
    with _store(request).session() as s:
        held = repo.renew_review_lease(s, principal.username)
    return Response(json.dumps({"held": held}), media_type="application/json")


IMAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                 "Content-Disposition": "inline"}  # personal data: never kept by the browser (the server caches pages)


@router.get("/review/fields/{field_id}/image")
def field_image(request: Request, field_id: int, _: Reviewer) -> Response:
    png = request.app.state.snippets.field_png(field_id)
    return Response(png, media_type="image/png", headers=IMAGE_HEADERS)


@router.get("/review/pages/{page_id}/image")
def page_image(request: Request, page_id: int, _: Reviewer) -> Response:
    png = request.app.state.snippets.page_png(page_id)
    return Response(png, media_type="image/png", headers=IMAGE_HEADERS)


@router.get("/review/sheets/{sheet_id}", response_class=HTMLResponse)
def sheet_page(request: Request, sheet_id: int, principal: Reviewer) -> HTMLResponse:
    with _store(request).session(write=False) as s:
        try:
            sheet = repo.get_sheet(s, sheet_id)
        except NotFoundError:
            raise WebError(404, f"Không có phiếu số {sheet_id}.") from None
        labels = _labels(str(_settings(request).templates_dir), sheet.template.ref)
        fields = []
        after = None
        while True:
            got = repo.list_fields(s, sheet_id=sheet_id, after=after, limit=1000)
            fields += got.items
            after = got.next
            if after is None:
                break
        fields.sort(key=lambda f: f.position)
        rows = [{**_row(f, principal.username), "label": labels.get(f.name, f.name)} for f in fields]
        status = blind.sheet_views(s, [sheet], principal.username)[sheet.id][0]
        info = {"id": sheet.id, "page_id": sheet.page_id, "file": sheet.page.file.original_name,
                "page_no": sheet.page.page_no, "status": status, "template": sheet.template.ref}
    return render(request, "sheet.html", principal=principal, csrf=request.state.csrf, rows=rows, sheet=info,
                  statuses={FIELD_REVIEW: "cần duyệt", FIELD_VERIFIED: "đã duyệt", FIELD_REJECTED: "không đọc được",
                            "auto_accepted": "tự động chấp nhận"})
