"""Exports: list them, start one (it runs in the background; 202 with its id), see one with its
manifest and progress, download its files by export id and file index (never by path)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ocr_service.service import auth
from ocr_service.service.api.deps import SettingsDep, StoreDep, require
from ocr_service.service.auth import Principal
from ocr_service.service.export import background, formats, run
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["exports"])
Exporter = Annotated[Principal, Depends(require(*auth.CAN_EXPORT, action="export records"))]


class ExportCreate(BaseModel):
    template: str = Field(max_length=200, description="NAME or NAME@VERSION; its mapping is VERSION.export.yaml")
    format: Literal["csv", "xlsx", "jsonl", "xml"]
    batches: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=1000)
    since: dt.datetime | None = Field(None, description="only sheets changed at or after this time")
    all: bool = Field(False, description="include records exported before")
    pending: bool = Field(False, description="include sheets still under review, with status columns")


@router.get("/exports", summary="Exports, newest first (with their manifests)")
def list_exports(store: StoreDep, _: Exporter, before: Annotated[int | None, Query(ge=1)] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    with store.session(write=False) as s:
        rows = repo.list_exports(s, before=before, limit=limit + 1)
        items = [run.describe(r) for r in rows[:limit]]
    return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}


@router.post("/exports", status_code=202, summary="Start an export (it runs in the background)")
def create_export(body: ExportCreate, store: StoreDep, settings: SettingsDep, principal: Exporter) -> dict:
    since = body.since if body.since is None or body.since.tzinfo else body.since.replace(tzinfo=dt.timezone.utc)
    req = run.ExportRequest(body.template, body.format, tuple(body.batches), since, body.all, body.pending)
    export_id = background.start(store, settings, req, actor=principal.username, source="api")
    with store.session(write=False) as s:
        return run.describe(repo.get_export(s, export_id))


@router.get("/exports/{export_id}", summary="An export: status, progress, files and manifest")
def get_export(export_id: int, store: StoreDep, _: Exporter) -> dict:
    with store.session(write=False) as s:
        return run.describe(repo.get_export(s, export_id))


@router.get("/exports/{export_id}/files/{index}", summary="Download a file of an export (by index)",
            response_class=FileResponse)
def download(export_id: int, index: int, store: StoreDep, settings: SettingsDep, principal: Exporter) -> FileResponse:
    path, entry, fmt = run.stored_file(store, settings, export_id, index, actor=principal.username)
    media = formats.MEDIA_TYPES[fmt] if entry.get("role", "data") == "data" else formats.MEDIA_TYPES["csv"]
    with store.session() as s:
        repo.add_audit(s, actor=principal.username, action="export.download", entity_type="export",
                       entity_id=export_id, new={"file": entry["name"]}, source="api")
    return FileResponse(path, media_type=media, filename=entry["name"],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
