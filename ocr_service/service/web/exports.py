"""The exporters' page (Vietnamese): past exports with their manifests, a form to start one
(template, format, batches, include exported, include pending), its progress (htmx polling while
one runs), and downloads by export id and file index, never by path.

For the roles that may export (``auth.CAN_EXPORT``: exporter, supervisor, admin), checked with the
API's own ``Principal.require``; every POST carries the session's CSRF token. Exports run in the
background (``export.background``), as from the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ocr_service.errors import OcrServiceError
from ocr_service.forms import loader
from ocr_service.service import auth
from ocr_service.service.auth import Principal
from ocr_service.service.export import background, formats, run
from ocr_service.service.export.mapping import FORMATS, MAPPING_SUFFIX
from ocr_service.service.store import repository as repo
from ocr_service.service.web.routes import WebError, check_csrf, page_require, render

router = APIRouter(include_in_schema=False)
STATUS_VI = {"running": "đang chạy", "done": "xong", "failed": "thất bại", "interrupted": "bị ngắt (tiến trình đã dừng)"}
FORMAT_VI = {"csv": "CSV (Excel, UTF-8)", "xlsx": "Excel (XLSX)", "jsonl": "JSON Lines", "xml": "XML theo QCVN 109:2017"}


Exporter = Annotated[Principal, Depends(page_require(*auth.CAN_EXPORT, action="xuất dữ liệu"))]


def _templates(root: Path) -> list[str]:
    """The templates that have an export mapping file."""
    out = []
    for ref in loader.available(root):
        try:
            src = Path(loader.resolve(ref, root))
        except OcrServiceError:
            continue
        if src.with_name(src.stem + MAPPING_SUFFIX).is_file():
            out.append(ref)
    return out


def _rows(request: Request) -> tuple[list[dict], bool]:
    with request.app.state.store.session(write=False) as s:
        items = [run.describe(r) for r in repo.list_exports(s, limit=100)]
    return items, any(i["status"] == "running" for i in items)


def _page(request: Request, principal: Principal, *, status: int = 200, error: str | None = None,
          started: int | None = None, form: dict | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    items, running = _rows(request)
    with request.app.state.store.session(write=False) as s:
        batches = [b.name for b in repo.list_batches(s, limit=1000).items]
    return render(request, "exports.html", status=status, principal=principal, csrf=request.state.csrf, items=items,
                  running=running, templates=_templates(settings.templates_dir), formats=FORMATS, format_vi=FORMAT_VI,
                  status_vi=STATUS_VI, batches=batches, error=error, started=started, form=form or {})


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, principal: Exporter, started: int | None = None) -> HTMLResponse:
    return _page(request, principal, started=started)


@router.get("/exports/rows", response_class=HTMLResponse)
def exports_rows(request: Request, _: Exporter) -> HTMLResponse:
    items, running = _rows(request)
    return render(request, "_exports_rows.html", items=items, running=running, status_vi=STATUS_VI)


@router.post("/exports", dependencies=[Depends(check_csrf)])
def start_export(request: Request, principal: Exporter, template: Annotated[str, Form(max_length=200)],
                 format: Annotated[str, Form(max_length=10)], batch: Annotated[list[str], Form()] = [],  # noqa: B006
                 include_exported: Annotated[str, Form()] = "", include_pending: Annotated[str, Form()] = "") -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    req = run.ExportRequest(template, format, tuple(b for b in batch if b), None, bool(include_exported),
                            bool(include_pending))
    try:
        export_id = background.start(store, settings, req, actor=principal.username, source="web")
    except OcrServiceError as exc:
        return _page(request, principal, status=422 if exc.code != "conflict" else 409,
                     error=f"Không bắt đầu được: {exc.message}",
                     form={"template": template, "format": format, "batch": batch})
    return RedirectResponse(f"/exports?started={export_id}", status_code=303)


@router.get("/exports/{export_id}/files/{index}")
def download(request: Request, export_id: int, index: int, principal: Exporter) -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    try:
        path, entry, fmt = run.stored_file(store, settings, export_id, index, actor=principal.username)
    except OcrServiceError as exc:
        raise WebError(404 if exc.code == "not_found" else 409, f"Không tải được tệp: {exc.message}") from None
    with store.session() as s:
        repo.add_audit(s, actor=principal.username, action="export.download", entity_type="export",
                       entity_id=export_id, new={"file": entry["name"]}, source="web")
    media = formats.MEDIA_TYPES[fmt] if entry.get("role", "data") == "data" else formats.MEDIA_TYPES["csv"]
    return FileResponse(path, media_type=media, filename=entry["name"], headers={"Cache-Control": "private, no-store"})
