"""The field-work report pages (Vietnamese, server-rendered): progress per commune, village and
officer with an SVG chart, the revisit, inconsistency and duplicate lists, each also as CSV and as
a printable page, and the issue list upload. Exporters, supervisors and admins (docs/reports.md).

The session, the CSRF check and the error pages are the review station's (``web.routes``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ocr_service.errors import NotFoundError, OcrServiceError
from ocr_service.service import auth
from ocr_service.service.api.routes.reports import csv_response
from ocr_service.service.auth import Principal
from ocr_service.service.reports import figures, issued, output
from ocr_service.service.web import routes

router = APIRouter(include_in_schema=False)
Kind = Literal["revisits", "inconsistent", "duplicates"]
AnyKind = Literal["progress", "revisits", "inconsistent", "duplicates"]


Reporter = Annotated[Principal, Depends(routes.page_require(*auth.CAN_REPORT, action="xem báo cáo"))]
Filter = Annotated[str | None, Query(max_length=200)]


def _scope(request: Request, s, filters: dict[str, str]) -> figures.Scope:
    try:
        return figures.scope(s, routes._settings(request).templates_dir, **filters)
    except NotFoundError:
        raise routes.WebError(404, f"Không có hộp phiếu {filters.get('batch')!r}.") from None


def _filters(batch: str | None, commune: str | None, officer: str | None) -> dict[str, str]:
    return {k: v for k, v in (("batch", batch), ("commune", commune), ("officer", officer)) if v}


def _query(filters: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return ("?" + urlencode(filters)) if filters else ""


def _groups(rows: list[dict]) -> list[dict]:
    """Rows grouped by commune and village, then by household (book number, head, address), in order."""
    out: list[dict] = []
    for r in rows:
        if not out or (out[-1]["commune"], out[-1]["village"]) != (r["commune"], r["village"]):
            out.append({"commune": r["commune"], "village": r["village"], "households": []})
        households = out[-1]["households"]
        key = r["household"] or f"phiếu {r['sheet_id']}"
        if not households or households[-1]["key"] != key:
            households.append({"key": key, "book": r["household"], "head_name": r["head_name"],
                               "address": r["address"], "rows": []})
        households[-1]["rows"].append(r)
    return out


def _context(request: Request, principal: Principal, sc: figures.Scope, kind: str, filters: dict) -> dict[str, Any]:
    data = figures.report(sc, kind)
    ctx: dict[str, Any] = {"principal": principal, "csrf": request.state.csrf, "kind": kind,
                           "title": output.TITLES[kind], "filters": filters, "query": _query(filters),
                           "kind_names": output.KIND_NAMES}
    if kind == "progress":
        ctx.update(progress=data, places=output.table(output.PROGRESS, data["places"]),
                   officers=output.table(output.OFFICERS, data["officers"]), chart=output.progress_svg(data["places"]),
                   levels=[r["level"] for r in data["places"]])
    else:
        ctx.update(rows=data, sheets=figures.unique_sheets(data if kind != "duplicates" else
                                                           [r["a"] for r in data] + [r["b"] for r in data]))
        if kind != "duplicates":
            ctx["groups"] = _groups(data)
    return ctx


@router.get("/reports", response_class=HTMLResponse)
def reports_home(request: Request, principal: Reporter, batch: Filter = None, commune: Filter = None,
                 officer: Filter = None) -> HTMLResponse:
    return _home(request, principal, _filters(batch, commune, officer))


def _home(request: Request, principal: Principal, filters: dict, **extra: Any) -> HTMLResponse:
    with routes._store(request).session(write=False) as s:
        sc = _scope(request, s, filters)
        ctx = _context(request, principal, sc, "progress", filters)
        ctx["counts"] = {k: len(figures.rows_of(sc, k)) for k in ("revisits", "inconsistent", "duplicates")}
    return routes.render(request, "reports.html", **ctx, **extra)


@router.get("/reports/{kind}/csv")
def report_csv(request: Request, kind: AnyKind, _: Reporter, batch: Filter = None, commune: Filter = None,
               officer: Filter = None) -> Response:
    filters = _filters(batch, commune, officer)
    with routes._store(request).session(write=False) as s:
        data = figures.report(_scope(request, s, filters), kind)
    return csv_response(kind, data, *filters.values())


def _page(request: Request, principal: Principal, kind: str, filters: dict, template: str) -> HTMLResponse:
    with routes._store(request).session(write=False) as s:
        ctx = _context(request, principal, _scope(request, s, filters), kind, filters)
    return routes.render(request, template, **ctx)


@router.get("/reports/{kind}/print", response_class=HTMLResponse)
def report_print(request: Request, kind: AnyKind, principal: Reporter, batch: Filter = None,
                 commune: Filter = None, officer: Filter = None) -> HTMLResponse:
    return _page(request, principal, kind, _filters(batch, commune, officer), "report_print.html")


@router.get("/reports/{kind}", response_class=HTMLResponse)
def report_list(request: Request, kind: Kind, principal: Reporter, batch: Filter = None,
                commune: Filter = None, officer: Filter = None) -> HTMLResponse:
    return _page(request, principal, kind, _filters(batch, commune, officer), "report_list.html")


@router.post("/reports/issued", response_class=HTMLResponse, dependencies=[Depends(routes.check_csrf)])
async def upload_issued(request: Request, principal: Reporter) -> HTMLResponse:
    """Import an uploaded issue list (CSV); the page shows what was imported and each refused line."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise routes.WebError(422, "Chưa chọn tệp danh sách phát phiếu (CSV).")
    data = await upload.read(issued.MAX_BYTES + 1)
    name = (upload.filename or "danh-sach.csv")[:200]
    try:
        with routes._store(request).session() as s:
            result = issued.import_issued(s, data, name, actor=principal.username, source="web")
    except OcrServiceError as exc:
        raise routes.WebError(422, f"Không nhập được danh sách: {exc.message}") from None
    return _home(request, principal, {}, imported=result)
