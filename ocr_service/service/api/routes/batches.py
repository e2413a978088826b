"""Batches: list, create, get one with its status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ocr_service.errors import InvalidRequestError
from ocr_service.forms import loader
from ocr_service.service import auth, blind
from ocr_service.service.api.deps import CurrentPrincipal, Paging, SettingsDep, StoreDep, require
from ocr_service.service.api.schemas import BatchCreate, BatchDetail, BatchOut, BatchStatus, Page
from ocr_service.service.auth import Principal
from ocr_service.service.store import repository as repo
from ocr_service.settings import Settings

router = APIRouter(tags=["batches"])
Intake = Annotated[Principal, Depends(require(*auth.CAN_INTAKE, action="create batches"))]


def _status(s, batch_id: int, principal: Principal) -> BatchStatus:
    """The batch's counts; its sheets per status as the caller sees them (blind QA, service/blind.py:
    a sheet holding only a QA sample counts as needing review to a reviewer, as it is listed)."""
    status = repo.batch_status(s, batch_id)
    viewer = blind.viewer_of(principal)
    if viewer is not blind.SEES_ALL:
        status["sheets"] = blind.sheet_counts(s, repo.get_batch(s, batch_id).id, viewer)
    return BatchStatus(**status)


def template_ref(settings: Settings, template: str | None) -> str | None:
    """``name@version`` of an installed template (a bare name: its newest version), or None for
    auto. Only names from the templates directory's listing are accepted: never a path."""
    if template is None or template == "auto":
        return None
    known = loader.available(settings.templates_dir)
    if template in known:
        return template
    versions = [ref for ref in known if ref.partition("@")[0] == template]
    if versions:
        return versions[-1]
    raise InvalidRequestError(f"unknown template {template[:100]!r} (known: {', '.join(known) or 'none'}, or auto)")


@router.get("/batches", response_model=Page[BatchOut], summary="List batches (oldest first)")
def list_batches(store: StoreDep, paging: Paging, _: CurrentPrincipal) -> Page[BatchOut]:
    with store.session(write=False) as s:
        got = repo.list_batches(s, after=paging.after, limit=paging.limit)
        return Page[BatchOut](items=[BatchOut.of(b) for b in got.items], next=got.next)


@router.post("/batches", response_model=BatchDetail, status_code=201, summary="Create a batch (clerk, admin)")
def create_batch(body: BatchCreate, store: StoreDep, settings: SettingsDep, principal: Intake) -> BatchDetail:
    name = body.name or " / ".join(p for p in (body.commune, body.village, body.box_label) if p)
    if not name.strip():
        raise InvalidRequestError("a batch needs a name, or a commune, village or box label to make one of")
    template = template_ref(settings, body.template)
    with store.session() as s:
        b = repo.create_batch(s, name.strip(), commune=body.commune, village=body.village, box_label=body.box_label,
                              officer=body.officer, expected_sheets=body.expected_sheets, template=template,
                              priority=body.priority, created_by=principal.username)
        repo.add_audit(s, actor=principal.username, action="batch.create", entity_type="batch", entity_id=b.id,
                       new={"name": b.name, "template": template, "expected_sheets": b.expected_sheets}, source="api")
        return BatchDetail(**BatchOut.of(b).model_dump(), status=BatchStatus(**repo.batch_status(s, b.id)))


@router.get("/batches/{batch_id}", response_model=BatchDetail, summary="A batch and its status")
def get_batch(batch_id: int, store: StoreDep, principal: CurrentPrincipal) -> BatchDetail:
    with store.session(write=False) as s:
        b = repo.get_batch(s, batch_id)
        return BatchDetail(**BatchOut.of(b).model_dump(), status=_status(s, b.id, principal))


@router.get("/batches/{batch_id}/status", response_model=BatchStatus, summary="A batch's status counts")
def batch_status(batch_id: int, store: StoreDep, principal: CurrentPrincipal) -> BatchStatus:
    with store.session(write=False) as s:
        return _status(s, batch_id, principal)
