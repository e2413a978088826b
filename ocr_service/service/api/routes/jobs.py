"""The jobs of a batch (read only: the jobs layer runs them)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ocr_service.service.api.deps import CurrentPrincipal, Paging, StoreDep
from ocr_service.service.api.schemas import JobOut, Page
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["jobs"])
JobStatus = Literal["queued", "running", "done", "failed"]


@router.get("/batches/{batch_id}/jobs", response_model=Page[JobOut], summary="The jobs of a batch")
def list_jobs(batch_id: int, store: StoreDep, paging: Paging, _: CurrentPrincipal,
              status: Annotated[JobStatus | None, Query()] = None) -> Page[JobOut]:
    with store.session(write=False) as s:
        repo.get_batch(s, batch_id)
        got = repo.list_jobs(s, batch_id, status=status, after=paging.after, limit=paging.limit)
        return Page[JobOut](items=[JobOut.of(j) for j in got.items], next=got.next)
