"""Sheet verification mode, vocabulary suggestions, inline validation and a sheet's history.

- ``GET /review/sheet``: the sheet the reviewer holds (a redirect), else a page whose one button
  (focused: Enter) POSTs the claim; ``POST /review/sheet`` leases the next sheet
  (store.sheet_leases.claim_sheet) and redirects to it. A GET never claims.
- ``GET /review/sheet/{id}``: every field of the sheet that needs (or needed) review beside the
  registered page, the current field outlined on it and zoomed; ``static/sheetmode.js`` drives it.
- ``POST /review/sheet/{id}/fields/{field_id}``: a decision (JSON answer). A value the pipeline's
  validators or the sheet's checks refuse is not saved at first: the answer carries the Vietnamese
  messages, and the same value sent again with ``confirm=1`` is saved, the override recorded in
  the field's note and its audit event.
- ``POST /review/sheet/{id}/check``: the messages for a value being typed (nothing is stored).
- ``GET /review/suggest?field=ID&q=TEXT[&at=CARET]``: suggestions from the field's vocabulary,
  the administrative units or the name lists (vietnamese.suggest), as JSON.
- ``GET /review/sheet/{id}/history``: the sheet's audit events (value changes: who, when, old, new,
  source), with what the machine read first.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ocr_service.errors import ConflictError, NotFoundError
from ocr_service.forms.model import Template
from ocr_service.pipeline.evidence import sheet_context
from ocr_service.pipeline.reasons import describe_detail
from ocr_service.pipeline.recheck import recheck
from ocr_service.service import blind
from ocr_service.service.store import repository as repo
from ocr_service.service.store import sheet_leases
from ocr_service.service.store.models import (FIELD_REJECTED, FIELD_REVIEW, FIELD_VERIFIED, AuditEvent, FieldRow,
                                              Sheet)
from ocr_service.service.web import related, routes
from ocr_service.service.web.routes import Reviewer, WebError, check_csrf, render
from ocr_service.service.web.warm import warm_suggestions
from ocr_service.vietnamese import suggest as vsuggest
from ocr_service.vietnamese.text import entered
from ocr_service.vietnamese.vocab import ADMIN_PARENT

router = APIRouter(include_in_schema=False)
OVERRIDE_NOTE = "lưu dù không hợp lệ"
PAGE_WIDTH_PX = 1200  # the page image as sent (Snippets.page_png's max_width)
KEYS = [("Enter", "lưu ô này (hoặc gợi ý đang chọn), sang ô sau (lần nữa: lưu dù có cảnh báo)"),
        ("gõ chữ", ("thay giá trị; ô có danh mục hiện gợi ý cho phần đang gõ "
                    "(địa chỉ: từng phần giữa các dấu phẩy; họ tên: từng chữ)")),
        ("↓ / ↑", "chọn gợi ý; không có gợi ý: chuyển ô"),
        ("Tab", ("có gợi ý: lấy gợi ý đang chọn (chưa chọn: gợi ý đầu), ở lại ô để sửa phần khác; "
                 "không có gợi ý: sang ô sau")),
        ("⇧Tab", "về ô trước"),
        ("F2", "giá trị gợi ý tiếp theo"),
        ("F4", "không đọc được"),
        ("F8", "hoãn ô này (trả về hàng đợi)"),
        ("F9", "lịch sử của phiếu"),
        ("Esc", "đóng gợi ý / trả lại giá trị ban đầu"),
        ("Alt+Z", "bật/tắt gõ Telex")]
JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
SOURCES = {"reviewer": "kiểm tra viên", "qa": "kiểm tra chất lượng (QA)", "ocr": "máy đọc (OCR)",
           "snap": "khớp danh mục", "web": "trạm kiểm tra", "api": "API", "cli": "dòng lệnh", "worker": "máy đọc"}
ACTIONS = {"field.verify": "duyệt", "field.reject": "không đọc được", "field.postpone": "hoãn",
           "field.read": "máy đọc", "field.snap": "khớp danh mục"}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json",
                    headers=JSON_HEADERS)


def template_of(request: Request, ref: str) -> Template:
    t = routes._template(str(request.app.state.settings.templates_dir), ref)
    if t is None:
        raise WebError(500, f"Không nạp được mẫu phiếu {ref}.")
    return t


# -- claiming ---------------------------------------------------------------------------------------

@router.get("/review/sheet", response_class=HTMLResponse)
def sheet_queue(request: Request, principal: Reviewer, batch: int | None = None, empty: int = 0) -> Response:
    warm_suggestions()
    with routes._store(request).session(write=False) as s:
        held = sheet_leases.held_sheet(s, principal.username)
    if held is not None:
        return RedirectResponse(f"/review/sheet/{held}", status_code=303)
    return render(request, "claim.html", principal=principal, csrf=request.state.csrf, action="/review/sheet",
                  batch=batch, empty=bool(empty), what="phiếu", keys=KEYS)


@router.post("/review/sheet", dependencies=[Depends(check_csrf)])
def claim(request: Request, principal: Reviewer, batch: Annotated[int | None, Form()] = None) -> Response:
    with routes._store(request).session() as s:
        sheet_id = sheet_leases.claim_sheet(s, principal.username, batch_id=batch)
    if sheet_id is None:
        return RedirectResponse("/review/sheet?empty=1" + (f"&batch={batch}" if batch else ""), status_code=303)
    return RedirectResponse(f"/review/sheet/{sheet_id}", status_code=303)


# -- the sheet ---------------------------------------------------------------------------------------

def _fields(s, sheet_id: int) -> list[FieldRow]:
    return list(s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == sheet_id).order_by(FieldRow.position)))


def _reviewed(f: FieldRow, viewer: str) -> bool:
    """Whether sheet mode lists the field for ``viewer``: it needs (or needed) review as they see it
    (blind: a QA sample is listed like a field needing review)."""
    return blind.shown_status(f, viewer) in (FIELD_REVIEW, FIELD_VERIFIED, FIELD_REJECTED)


def _messages(template: Template, fields: list[FieldRow], viewer: str,
              override: dict[int, str] | None = None) -> dict[int, list]:
    """The Vietnamese validation messages of the sheet's reviewed fields (by field id), from the
    pipeline's own validators and checks run on the sheet's current values as ``viewer`` sees them
    (blind.shown_value; ``override``: typed)."""
    override = override or {}
    values = {f.name: override.get(f.id, blind.shown_value(f, viewer)) for f in fields}
    problems = recheck(template, values)
    out = {}
    for f in fields:
        if _reviewed(f, viewer):
            out[f.id] = [{"text": describe_detail(p.reason, "vi"), "soft": p.soft, "reason": p.reason}
                         for p in problems.get(f.name, [])]
    return out


def _sheet_or_404(s, sheet_id: int) -> Sheet:
    try:
        return repo.get_sheet(s, sheet_id)
    except NotFoundError:
        raise WebError(404, f"Không có phiếu số {sheet_id}.") from None


@router.get("/review/sheet/{sheet_id}", response_class=HTMLResponse)
def sheet_page(request: Request, sheet_id: int, principal: Reviewer) -> HTMLResponse:
    warm_suggestions()
    who = principal.username
    with routes._store(request).session(write=False) as s:
        sheet = _sheet_or_404(s, sheet_id)
        template = template_of(request, sheet.template.ref)
        tdir = str(request.app.state.settings.templates_dir)
        specs = {f.name: f for f in template.fields}
        width, height = template.page_px(300)
        fields = _fields(s, sheet_id)
        messages = _messages(template, fields, who)
        rows = []
        for f in fields:
            if not _reviewed(f, who):
                continue
            queued = blind.shown_status(f, who) == FIELD_REVIEW
            mine = queued and f.lease_owner == who
            state = ("pending" if mine else "held" if queued else "decided")
            box = [float(v) for v in (f.box_px or [0, 0, 0, 0])]
            spec = specs.get(f.name)
            rows.append({**routes._row(f, who, state=state), "label": spec.label.strip().rstrip(":") if spec else f.name,
                         "box": [round(box[0] / width * 100, 3), round(box[1] / height * 100, 3),
                                 round(box[2] / width * 100, 3), round(box[3] / height * 100, 3)],
                         "suggest": routes.suggests(tdir, sheet.template.ref, f.name),
                         "messages": messages.get(f.id, []), "shown": blind.shown_value(f, who)})
        expires = [f.lease_expires_at for f in fields
                   if f.lease_owner == who and blind.shown_status(f, who) == FIELD_REVIEW]
        info = {"id": sheet.id, "page_id": sheet.page_id, "file": sheet.page.file.original_name,
                "page_no": sheet.page.page_no, "template": sheet.template.ref, "batch": sheet.batch_id,
                "expires": min(expires).astimezone(dt.UTC).strftime("%H:%M UTC") if expires else None,
                "ratio": round(height / width * 100, 3)}
        upcoming = sheet_leases.next_sheets(s, sheet.id, sheet.batch_id)
        pages = [sheet.page_id] + [repo.get_sheet(s, n).page_id for n in upcoming]
    request.app.state.snippets.prefetch(pages)  # this page (if the image is not asked yet) and the next sheets'
    return render(request, "sheetmode.html", principal=principal, csrf=request.state.csrf, rows=rows, sheet=info,
                  keys=KEYS, held=any(r["state"] == "pending" for r in rows))


def _field_of_sheet(s, sheet_id: int, field_id: int) -> FieldRow:
    try:
        f = repo.get_field(s, field_id)
    except NotFoundError:
        raise WebError(404, f"Không có ô số {field_id}.") from None
    if f.sheet_id != sheet_id:
        raise WebError(404, f"Ô số {field_id} không thuộc phiếu {sheet_id}.")
    return f


@router.post("/review/sheet/{sheet_id}/check", dependencies=[Depends(check_csrf)])
def check(request: Request, sheet_id: int, principal: Reviewer, field: Annotated[int, Form()],
          value: Annotated[str, Form(max_length=2000)] = "") -> Response:
    value = entered(value)  # judged as it would be saved (a list's trailing comma dropped)
    with routes._store(request).session(write=False) as s:
        sheet = _sheet_or_404(s, sheet_id)
        _field_of_sheet(s, sheet_id, field)
        template = template_of(request, sheet.template.ref)
        messages = _messages(template, _fields(s, sheet_id), principal.username, {field: value})
    return _json({"fields": {str(k): v for k, v in messages.items()}})


@router.post("/review/sheet/{sheet_id}/fields/{field_id}", dependencies=[Depends(check_csrf)])
def decide(request: Request, sheet_id: int, field_id: int, principal: Reviewer, version: Annotated[int, Form()],
           action: Annotated[str, Form(pattern="^(accept|unreadable|postpone)$")],
           value: Annotated[str, Form(max_length=2000)] = "", confirm: Annotated[int, Form()] = 0) -> Response:
    """One decision on one field of the sheet, as group mode's (repo.verify_field with the version
    shown and the lease owner; audited, source ``reviewer``), answered as JSON: ``state`` saved,
    postponed, invalid (not saved: ``messages`` say why; send again with confirm=1 to save anyway)
    or conflict (409: not saved, ``message`` says why, nothing stored is overwritten)."""
    store, who = routes._store(request), principal.username
    value = entered(value)  # the messages judge the value as it is saved
    rate = request.app.state.settings.qa_review_rate
    try:
        with store.session() as s:
            sheet = _sheet_or_404(s, sheet_id)
            f = _field_of_sheet(s, sheet_id, field_id)
            template = template_of(request, sheet.template.ref)
            if action == "postpone":
                if not repo.postpone_field(s, field_id, who):
                    raise repo.LeaseLostError("not leased")
                repo.renew_review_lease(s, who)
                return _json({"state": "postponed", "version": f.version})
            note = None
            if action == "accept":
                fields = _fields(s, sheet_id)
                hard = [m for m in _messages(template, fields, who, {field_id: value}).get(field_id, [])
                        if not m["soft"]]
                if hard and not confirm:
                    return _json({"state": "invalid", "messages": hard})
                if hard:
                    note = f"{OVERRIDE_NOTE}: " + "; ".join(m["text"] for m in hard)
                f = repo.verify_field(s, field_id, version=version, value=value, actor=who, source="reviewer",
                                      note=note, lease_owner=who, qa_review_rate=rate)
            else:
                note = routes.UNREADABLE_NOTE
                f = repo.verify_field(s, field_id, version=version, value="", actor=who, source="reviewer",
                                      status=FIELD_REJECTED, note=note, lease_owner=who, qa_review_rate=rate)
            repo.renew_review_lease(s, who)
            messages = _messages(template, _fields(s, sheet_id), who)
            # (blind: an answered QA sample of an auto-accepted field answers as a reviewed one)
            return _json({"state": "saved", "status": blind.shown_status(f, who), "value": value,
                          "version": f.version, "note": note,
                          "fields": {str(k): v for k, v in messages.items()}})
    except ConflictError as exc:
        with store.session(write=False) as s:
            f = repo.get_field(s, field_id)
            msg = routes.conflict_message(f, exc, again="hãy tải lại phiếu")
        return _json({"state": "conflict", "message": msg, "typed": value}, status=409)


# -- suggestions ---------------------------------------------------------------------------------

@router.get("/review/suggest")
def suggestions(request: Request, principal: Reviewer, field: int, q: Annotated[str, Query(max_length=200)] = "",
                at: Annotated[int | None, Query(ge=0, le=200)] = None,
                limit: Annotated[int, Query(ge=1, le=20)] = 8) -> Response:
    """Suggestions for what was typed in field ``field``; ``at``: the caret in ``q`` (an address
    completes the part there, a name the word there; none: the end). A name's later words may come
    from the field's readings: exactly the values F2 steps through on the page (routes._choices).
    A district's or commune's list fits the province and district the sheet's other fields say
    (the template's context, from the values the reviewer is shown); an address's units there rank
    first. The values settled in the field's family elsewhere (web/related.py) come second, after the list's first."""
    with routes._store(request).session(write=False) as s:
        try:
            f = repo.get_field(s, field)
        except NotFoundError:
            raise WebError(404, f"Không có ô số {field}.") from None
        sheet = repo.get_sheet(s, f.sheet_id)
        ref, tdir = sheet.template.ref, str(request.app.state.settings.templates_dir)
        readings = routes._choices(f)
        source = routes.suggest_source(tdir, ref, f.name)
        within: tuple = ()
        if source in ADMIN_PARENT or source == vsuggest.ADDRESS:  # the units where the sheet was filled in
            values = {g.name: blind.shown_value(g, principal.username) or "" for g in _fields(s, f.sheet_id)}
            ctx = sheet_context(template_of(request, ref), values)
            within = (ctx.get("province"), ctx.get("district") if source != "district" else None)
        others = related.related_values(s, tdir, f, sheet, principal.username)
    items = vsuggest.suggest(source, q, limit, at=at, readings=readings, within=within, related=others)
    return _json({"items": [{"value": i.value, "label": i.label, "hint": i.hint, "caret": i.caret} for i in items]})


# -- history ---------------------------------------------------------------------------------------

def _show(d: dict | None) -> str:
    if not d:
        return ""
    if d.get("verified_value") is not None:  # a decision: the reviewer's value
        return d["verified_value"]
    if "value" in d:  # before a first decision: the value read
        return d.get("value") or ""
    if "verified_value" in d:
        return ""
    return ", ".join(f"{k}={v}" for k, v in d.items())


@router.get("/review/sheet/{sheet_id}/history", response_class=HTMLResponse)
def history(request: Request, sheet_id: int, principal: Reviewer) -> HTMLResponse:
    """Every value change of the sheet's fields from ``audit_events`` (oldest first), after what the
    machine read (the field rows keep the engine's reading and the value after the vocabulary snap).
    Blind (service/blind.py) to all but supervisors and admins: a QA answer shows as a reviewer's,
    and a reviewer-QA sample waiting for its second answer shows no decision yet."""
    viewer = blind.viewer_of(principal)
    with routes._store(request).session(write=False) as s:
        sheet = _sheet_or_404(s, sheet_id)
        template = template_of(request, sheet.template.ref)
        labels = {f.name: f.label.strip().rstrip(":") for f in template.fields}
        fields = _fields(s, sheet_id)
        by_id = {str(f.id): f for f in fields}
        rows = []
        for f in fields:
            if not (_reviewed(f, viewer) or f.qa_state is not None) and f.raw == f.value:
                continue
            rows.append({"at": sheet.created_at, "field": labels.get(f.name, f.name), "actor": f.engine or "máy đọc",
                         "action": ACTIONS["field.read"], "old": "", "new": f.raw, "source": SOURCES["ocr"],
                         "note": ""})
            if (f.raw or "") != (f.value or ""):
                rows.append({"at": sheet.created_at, "field": labels.get(f.name, f.name), "actor": "máy đọc",
                             "action": ACTIONS["field.snap"], "old": f.raw, "new": f.value, "source": SOURCES["snap"],
                             "note": ""})
        ids = list(by_id)
        events = []
        for i in range(0, len(ids), 500):
            events += s.scalars(repo.select(AuditEvent).where(
                AuditEvent.entity_type == "field", AuditEvent.entity_id.in_(ids[i:i + 500])))
        events += s.scalars(repo.select(AuditEvent).where(AuditEvent.entity_type == "sheet",
                                                          AuditEvent.entity_id == str(sheet_id)))
        for e in sorted(events, key=lambda e: (e.at, e.id)):
            f = by_id.get(e.entity_id)
            if f is not None and blind.hides_decision(f, viewer):
                continue
            source = "reviewer" if e.source == "qa" and viewer is not blind.SEES_ALL else e.source
            rows.append({"at": e.at, "field": labels.get(f.name, f.name) if f else "(cả phiếu)", "actor": e.actor,
                         "action": ACTIONS.get(e.action, e.action), "old": _show(e.old), "new": _show(e.new),
                         "source": SOURCES.get(source, source), "note": (e.new or {}).get("note", "")})
        info = {"id": sheet.id, "file": sheet.page.file.original_name, "page_no": sheet.page.page_no,
                "template": sheet.template.ref}
    for r in rows:
        r["at"] = r["at"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return render(request, "history.html", principal=principal, csrf=request.state.csrf, rows=rows, sheet=info,
                  back=request.query_params.get("from", ""))
