"""The supervisor's figures as JSON (supervisor, admin): the residual error of auto-accept per field
kind from blind QA answers, the review queue per batch, field and reviewer, and operator statistics
per reviewer and day. The same functions as the supervisor page (``service/supervision.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ocr_service.service import auth, supervision
from ocr_service.service.api.deps import StoreDep, require
from ocr_service.service.auth import Principal

router = APIRouter(tags=["supervision"])
Supervisor = Annotated[Principal, Depends(require(*auth.CAN_SUPERVISE, action="read the supervisor's figures"))]


@router.get("/supervision/qa", summary="Residual error of auto-accept per field kind, and reviewer QA per reviewer, "
                                      "from blind QA (95% Clopper-Pearson)")
def qa(store: StoreDep, _: Supervisor) -> dict[str, Any]:
    with store.session(write=False) as s:
        return {"target": supervision.TARGET_ERROR, "confidence": supervision.CONFIDENCE,
                "kinds": supervision.residual_by_kind(s), "reviewers": supervision.reviewer_qa(s)}


@router.get("/supervision/queue", summary="The review queue per batch, field and reviewer")
def queue(store: StoreDep, _: Supervisor) -> dict[str, Any]:
    with store.session(write=False) as s:
        return {"batches": supervision.queue_by_batch(s), "fields": supervision.queue_by_field(s),
                "reviewers": supervision.queue_by_reviewer(s)}


@router.get("/supervision/stats", summary="Operator statistics per reviewer and day (Vietnam time)")
def stats(store: StoreDep, _: Supervisor,
          since: Annotated[dt.datetime | None, Query(description="from this time (ISO 8601); default 14 days ago")] = None,
          until: Annotated[dt.datetime | None, Query(description="before this time (ISO 8601)")] = None,
          reviewer: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    def utc(t: dt.datetime | None) -> dt.datetime | None:
        return None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc))

    since = utc(since) or supervision.utcnow() - dt.timedelta(days=14)
    with store.session(write=False) as s:
        return {"idle_gap_minutes": supervision.IDLE_GAP.total_seconds() / 60,
                "days": supervision.operator_stats(s, since=since, until=utc(until), reviewer=reviewer)}
