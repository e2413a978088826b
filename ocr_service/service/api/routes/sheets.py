"""Sheets (by batch and status) with their fields; fields one at a time. Field values are personal
data: reviewers, supervisors, exporters and admins read them. Blind QA (service/blind.py): what a
caller who is not a supervisor or an admin gets, statuses and the status filters included, never
tells a QA sample from a field needing review."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from ocr_service.errors import TemplateError
from ocr_service.forms import loader
from ocr_service.forms.model import cell_name
from ocr_service.service import auth, blind
from ocr_service.service.api.deps import Paging, SettingsDep, StoreDep, require
from ocr_service.service.api.schemas import FieldOut, GroupRowOut, Page, SheetDetail, SheetOut
from ocr_service.service.export.transform import final_value
from ocr_service.service.auth import Principal
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["sheets"])
Records = Annotated[Principal, Depends(require(*auth.CAN_READ_RECORDS, action="read sheets and fields"))]
SheetStatus = Literal["auto_accepted", "needs_review", "verified"]
FieldStatus = Literal["auto_accepted", "needs_review", "verified", "rejected"]


def _all_fields(s, sheet_id: int, viewer: str | None) -> list[FieldOut]:
    out, after = [], None
    while True:
        got = repo.list_fields(s, sheet_id=sheet_id, after=after, limit=1000)
        out += [FieldOut.of(f, viewer) for f in got.items]
        if got.next is None:
            return out
        after = got.next


@router.get("/batches/{batch_id}/sheets", response_model=Page[SheetOut], summary="The sheets of a batch")
def list_sheets(batch_id: int, store: StoreDep, paging: Paging, principal: Records,
                status: Annotated[SheetStatus | None, Query()] = None) -> Page[SheetOut]:
    viewer = blind.viewer_of(principal)
    with store.session(write=False) as s:
        repo.get_batch(s, batch_id)
        where = blind.sheet_status_clause(status, viewer) if status else None
        got = repo.list_sheets(s, batch_id, where=where, after=paging.after, limit=paging.limit)
        views = blind.sheet_views(s, got.items, viewer)
        return Page[SheetOut](items=[SheetOut.of(sh, views[sh.id]) for sh in got.items], next=got.next)


@router.get("/sheets/{sheet_id}", response_model=SheetDetail, summary="A sheet with all its fields")
def get_sheet(sheet_id: int, store: StoreDep, settings: SettingsDep, principal: Records) -> SheetDetail:
    viewer = blind.viewer_of(principal)
    with store.session(write=False) as s:
        sheet = repo.get_sheet(s, sheet_id)
        view = blind.sheet_views(s, [sheet], viewer)[sheet.id]
        fields = _all_fields(s, sheet.id, viewer)
        return SheetDetail(**SheetOut.of(sheet, view).model_dump(), fields=fields,
                           groups=_groups(sheet.template.ref, fields, settings))


def _groups(ref: str, fields: list[FieldOut], settings) -> dict[str, list[GroupRowOut]]:
    """The sheet's repeated groups as lists of entries (empty when its template has none, or is
    no longer installed: the fields are all there in any case)."""
    try:
        template = loader.load(ref, settings.templates_dir)
    except TemplateError:
        return {}
    if not template.groups:
        return {}
    by_name = {f.name: f for f in fields}
    values = {f.name: final_value(f.value, f.verified_value, f.status) for f in fields}
    return {name: [GroupRowOut(row=e["row"], values=e["values"],
                               field_ids={c: by_name[cell_name(name, e["row"], c)].id for c in e["values"]
                                          if cell_name(name, e["row"], c) in by_name})
                   for e in entries]
            for name, entries in template.group_entries(values).items()}


@router.get("/sheets/{sheet_id}/fields", response_model=Page[FieldOut], summary="The fields of a sheet")
def list_fields(sheet_id: int, store: StoreDep, paging: Paging, principal: Records,
                status: Annotated[FieldStatus | None, Query()] = None) -> Page[FieldOut]:
    viewer = blind.viewer_of(principal)
    with store.session(write=False) as s:
        repo.get_sheet(s, sheet_id)
        where = blind.field_status_clause(status, viewer) if status else None
        got = repo.list_fields(s, sheet_id=sheet_id, where=where, after=paging.after, limit=paging.limit)
        return Page[FieldOut](items=[FieldOut.of(f, viewer) for f in got.items], next=got.next)


@router.get("/fields/{field_id}", response_model=FieldOut, summary="A field")
def get_field(field_id: int, store: StoreDep, principal: Records) -> FieldOut:
    with store.session(write=False) as s:
        return FieldOut.of(repo.get_field(s, field_id), blind.viewer_of(principal))
