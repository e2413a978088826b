"""The supervisor's page (role supervisor or admin, Vietnamese): the measured residual error of
auto-accept per field kind from blind QA answers (95% Clopper–Pearson interval, a warning when the
upper bound passes the 0.5% target), the review queue per batch, field and reviewer, assignment of
a batch or field group to a reviewer, batch priorities, and operator statistics per reviewer and
day. Every change is a POST carrying the session's CSRF token. See docs/review.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ocr_service.errors import OcrServiceError
from ocr_service.service import auth, supervision
from ocr_service.service.auth import Principal
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import Template, utcnow
from ocr_service.service.web.routes import WebError, check_csrf, column_label, page_require, render

router = APIRouter(include_in_schema=False)
STATS_DAYS = 2  # the page: today and yesterday (longer windows through the JSON API)
# The page's words for the templates' field kinds (forms.model), and "all" of the residual table.
KIND_NAMES = {"name": "họ tên", "text": "chữ, danh mục", "address": "địa chỉ", "date": "ngày tháng",
              "digits": "chữ số", "signature": "chữ ký", "all": "mọi loại ô"}


def _field_labels(request: Request, s, keys: list[str]) -> dict[str, str]:
    """The heading group mode shows for each review key (a field, a table column), from the first
    template in the store that knows it; the key itself when none does."""
    refs = [t.ref for t in s.scalars(select(Template).order_by(Template.id))]
    return {key: next((label for label in (column_label(request, ref, key) for ref in refs) if label != key), key)
            for key in keys}


Supervisor = Annotated[Principal, Depends(page_require(*auth.CAN_SUPERVISE, action="mở trang giám sát"))]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ {minutes % 60} phút"
    return f"{minutes // 1440} ngày"


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%".replace(".", ",")


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(request: Request, principal: Supervisor, message: str | None = None) -> HTMLResponse:
    now = utcnow()
    with request.app.state.store.session(write=False) as s:
        residual = supervision.residual_by_kind(s)
        reviewer_qa = supervision.reviewer_qa(s)
        batches = supervision.queue_by_batch(s, now=now)
        fields = supervision.queue_by_field(s, now=now)
        reviewers = supervision.queue_by_reviewer(s, now=now)
        names = {b["batch_id"]: b["batch"] for b in batches}
        assignments = [{"id": a.id, "reviewer": a.reviewer, "what": supervision.describe_assignment(a, names)}
                       for a in repo.active_assignments(s)]
        stats = supervision.operator_stats(s, since=now - dt.timedelta(days=STATS_DAYS))
        labels = _field_labels(request, s, [f["field"] for f in fields])
    notes = {"ok": "Đã lưu.", "assigned": "Đã giao việc.", "ended": "Đã thu hồi việc đã giao.",
             "priority": "Đã đổi mức ưu tiên."}
    return render(request, "supervisor.html", principal=principal, csrf=request.state.csrf, residual=residual,
                  reviewer_qa=reviewer_qa,
                  batches=batches, fields=fields, reviewers=reviewers, assignments=assignments, stats=stats,
                  age=_age, pct=_pct, target=supervision.TARGET_ERROR, message=notes.get(message or ""),
                  labels=labels, kind_names=KIND_NAMES,
                  warned=[r for r in residual if r["warn"]], days=STATS_DAYS,
                  idle_minutes=int(supervision.IDLE_GAP.total_seconds() // 60))


def _back(note: str) -> Response:
    return RedirectResponse(f"/supervisor?message={note}", status_code=303)


@router.post("/supervisor/assign", dependencies=[Depends(check_csrf)])
def assign(request: Request, principal: Supervisor, reviewer: Annotated[str, Form(max_length=100)],
           batch: Annotated[str, Form(max_length=20)] = "", field: Annotated[str, Form(max_length=100)] = "") -> Response:
    try:
        with request.app.state.store.session() as s:
            supervision.assign(s, reviewer=reviewer.strip(), batch_id=int(batch) if batch.strip().isdigit() else None,
                               field_name=field.strip() or None, actor=principal.username)
    except OcrServiceError as exc:
        raise WebError(400, f"Không giao được việc: {exc.message}") from None
    return _back("assigned")


@router.post("/supervisor/assignments/{assignment_id}/end", dependencies=[Depends(check_csrf)])
def end_assignment(request: Request, assignment_id: int, principal: Supervisor) -> Response:
    try:
        with request.app.state.store.session() as s:
            supervision.end_assignment(s, assignment_id, actor=principal.username)
    except OcrServiceError as exc:
        raise WebError(404, f"Không thu hồi được: {exc.message}") from None
    return _back("ended")


@router.post("/supervisor/batches/{batch_id}/priority", dependencies=[Depends(check_csrf)])
def priority(request: Request, batch_id: int, principal: Supervisor,
             priority: Annotated[int, Form(ge=-1000, le=1000)]) -> Response:
    try:
        with request.app.state.store.session() as s:
            supervision.set_priority(s, batch_id, priority, actor=principal.username)
    except OcrServiceError as exc:
        raise WebError(404, f"Không đổi được mức ưu tiên: {exc.message}") from None
    return _back("priority")
