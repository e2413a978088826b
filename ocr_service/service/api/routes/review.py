"""The review queue, read side: fields needing review and QA samples waiting for an answer (blind to
a reviewer: service/blind.py), batches of higher priority first, each with its reasons in Vietnamese.
(Verifying a field is the review station's, with sessions and CSRF.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ocr_service.service import auth, blind
from ocr_service.service.api.deps import Paging, StoreDep, require
from ocr_service.service.api.schemas import FieldOut, Page
from ocr_service.service.auth import Principal
from ocr_service.service.store import repository as repo

router = APIRouter(tags=["review"])
Reviewer = Annotated[Principal, Depends(require(*auth.CAN_REVIEW, action="read the review queue"))]


@router.get("/review", response_model=Page[FieldOut], summary="Fields needing review (reviewer, supervisor, admin)")
def review_queue(store: StoreDep, paging: Paging, principal: Reviewer,
                 batch: Annotated[int | None, Query(description="only this batch")] = None) -> Page[FieldOut]:
    viewer = blind.viewer_of(principal)
    with store.session(write=False) as s:
        if batch is not None:
            repo.get_batch(s, batch)
        got = repo.review_queue(s, batch_id=batch, after=paging.after, limit=paging.limit, viewer=viewer)
        return Page[FieldOut](items=[FieldOut.of(f, viewer) for f in got.items], next=got.next)
