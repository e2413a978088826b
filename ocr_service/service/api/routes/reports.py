"""Field-work reports (docs/reports.md): progress, revisits, inconsistent records and likely
duplicates as JSON or CSV, and the import of an issue list. Exporters, supervisors and admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ocr_service.service import auth
from ocr_service.service.api.deps import SettingsDep, StoreDep, require
from ocr_service.service.auth import Principal
from ocr_service.service.reports import figures, issued, output

router = APIRouter(tags=["reports"])
Reporter = Annotated[Principal, Depends(require(*auth.CAN_REPORT, action="read field-work reports"))]
Kind = Literal["progress", "revisits", "inconsistent", "duplicates"]


def csv_response(kind: str, data, *filters: str | None) -> Response:
    """A CSV download of one report (UTF-8 with BOM), named after the report and its filters."""
    name = "-".join(["bao-cao", kind] + [str(v) for v in filters if v]) + ".csv"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return Response(output.report_csv(kind, data), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"",
                             "Cache-Control": "private, no-store"})


@router.get("/reports/{kind}", summary="A field-work report (JSON, or CSV with format=csv)")
def get_report(kind: Kind, store: StoreDep, settings: SettingsDep, _: Reporter,
               batch: Annotated[str | None, Query(max_length=200, description="a batch id or name")] = None,
               commune: Annotated[str | None, Query(max_length=200)] = None,
               officer: Annotated[str | None, Query(max_length=200, description="a collecting officer")] = None,
               format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response:
    with store.session(write=False) as s:
        sc = figures.scope(s, settings.templates_dir, batch=batch, commune=commune, officer=officer)
        data = figures.report(sc, kind)
    if format == "csv":
        return csv_response(kind, data, batch, commune, officer)
    body = data if kind == "progress" else {"items": data, "count": len(data)}
    return JSONResponse(body)


@router.post("/reports/issued", summary="Import an issue list (CSV body: commune, village, officer, issued)",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}})
async def import_issued(request: Request, store: StoreDep, principal: Reporter,
                        name: Annotated[str, Query(max_length=200, description="the file's name, for messages")] = "issued.csv"
                        ) -> JSONResponse:
    data = await request.body()
    with store.session() as s:
        result = issued.import_issued(s, data, name, actor=principal.username, source="api")
    return JSONResponse(result.to_json())
