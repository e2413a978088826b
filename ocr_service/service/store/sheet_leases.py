"""Sheet leases for the review station's sheet mode: every field of one sheet that needs review,
leased to one reviewer as one item. The lease lives on the field rows, as group leases do
(``lease_owner``, ``lease_token``, ``lease_expires_at``; see repository.claim_group), so saves,
renewal, postponing, expiry and logout work the same; a sheet lease's token starts with
SHEET_TOKEN so group mode does not take a held sheet for a held group.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from ocr_service.errors import StoreError
from ocr_service.service.store.models import FIELD_REVIEW, QA_PENDING, Batch, FieldRow, Sheet, utcnow
from ocr_service.service.store.repository import POSTPONE_FOR, REVIEW_LEASE, _free, not_own_check, queued

SHEET_TOKEN = "sheet:"


def held_sheet(s: Session, owner: str, *, now: dt.datetime | None = None) -> int | None:
    """The sheet ``owner`` holds under an unexpired sheet lease with fields still to review, or None."""
    now = now or utcnow()
    return s.scalar(select(FieldRow.sheet_id).where(
        FieldRow.lease_owner == owner, queued(), FieldRow.lease_expires_at >= now,
        FieldRow.lease_token.startswith(SHEET_TOKEN)).order_by(FieldRow.sheet_id).limit(1))


def claim_sheet(s: Session, owner: str, *, batch_id: int | None = None, lease: dt.timedelta = REVIEW_LEASE,
                now: dt.datetime | None = None) -> int | None:
    """Lease ``owner`` the next sheet with fields to review (batches of higher priority first, then
    the oldest, then the sheet's id): every one of its free queued fields (:func:`queued`: needing
    review, or QA samples waiting for an answer, shown blind; never a reviewer-QA sample of the
    owner's own decision), under one token. A sheet whose only queued fields are QA samples is
    served like any other, so sheet mode gets the configured share of samples as group mode does. A
    reviewer who still holds a sheet gets it back. A sheet some of whose review fields another
    reviewer holds (in a group, or as a sheet) is skipped, so two reviewers never get one sheet;
    fields this owner postponed in the last POSTPONE_FOR are not offered to them. Concurrent
    claimers are kept apart as in claim_group (FOR UPDATE SKIP LOCKED on PostgreSQL, SQLite's write
    lock, a compare-and-set UPDATE read back by token). The sheet's id, or None when none is free."""
    now = now or utcnow()
    held = held_sheet(s, owner, now=now)
    if held is not None:
        return held
    table = FieldRow.__table__
    not_mine_postponed = or_(FieldRow.postponed_by.is_(None), FieldRow.postponed_by != owner,
                             FieldRow.postponed_at.is_(None), FieldRow.postponed_at <= now - POSTPONE_FOR)
    other = aliased(FieldRow)
    held_by_others = exists().where(other.sheet_id == Sheet.id,
                                    or_(other.status == FIELD_REVIEW, other.qa_state == QA_PENDING),
                                    other.lease_owner.is_not(None), other.lease_owner != owner,
                                    other.lease_expires_at >= now)
    mine_ok = [_free(now), not_mine_postponed, not_own_check(owner)]
    skipped: set[int] = set()  # sheets another claimer is taking right now
    for _ in range(100):
        # two probes: sheets needing review (in queue order), and the few fields waiting as QA
        # samples (their index; such a sheet's stored status may be auto_accepted or verified);
        # the earlier in queue order wins
        heads = []
        q = (select(Sheet.id, Batch.priority, Batch.id).join(Batch, Batch.id == Sheet.batch_id)
             .where(Sheet.status == FIELD_REVIEW, ~held_by_others,
                    exists().where(FieldRow.sheet_id == Sheet.id, FieldRow.status == FIELD_REVIEW, *mine_ok)))
        q_qa = (select(FieldRow.sheet_id, Batch.priority, Batch.id).join(Batch, Batch.id == FieldRow.batch_id)
                .join(Sheet, Sheet.id == FieldRow.sheet_id)
                .where(FieldRow.qa_state == QA_PENDING, *mine_ok, ~held_by_others))
        if batch_id is not None:
            q, q_qa = q.where(Sheet.batch_id == batch_id), q_qa.where(FieldRow.batch_id == batch_id)
        if skipped:
            q, q_qa = q.where(Sheet.id.not_in(skipped)), q_qa.where(FieldRow.sheet_id.not_in(skipped))
        for probe, sheet_col in ((q, Sheet.id), (q_qa, FieldRow.sheet_id)):
            head = s.execute(probe.order_by(Batch.priority.desc(), Batch.id, sheet_col).limit(1)).first()
            if head is not None:
                heads.append((-head[1], head[2], head[0]))
        if not heads:
            return None
        sheet_id = min(heads)[2]
        # every free queued field of the sheet, or none: rows another claimer (a sheet or a group)
        # has locked are skipped by SKIP LOCKED, and taking the rest would give two reviewers one
        # sheet; the count, read without locks, still sees them as free
        want = s.scalar(select(func.count()).select_from(FieldRow)
                        .where(FieldRow.sheet_id == sheet_id, queued(), *mine_ok))
        ids = list(s.scalars(select(FieldRow.id).where(FieldRow.sheet_id == sheet_id, queued(), *mine_ok)
                             .order_by(FieldRow.id).with_for_update(skip_locked=True)))
        if not ids or len(ids) < want:
            skipped.add(sheet_id)
            continue
        token = SHEET_TOKEN + secrets.token_hex(16)
        s.execute(update(table).where(table.c.id.in_(ids), queued(table),
                                      or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now))
                  .values(lease_owner=owner, lease_token=token, lease_expires_at=now + lease))
        if s.scalar(select(FieldRow.id).where(FieldRow.lease_token == token).limit(1)) is not None:
            return sheet_id
    raise StoreError("could not claim a sheet to review: too much contention")


def next_sheets(s: Session, after_sheet: int, batch_id: int, *, limit: int = 2) -> list[int]:
    """The ids of the next sheets of a batch still needing review after ``after_sheet`` (what a
    reviewer is likely to get next: the pages to warm)."""
    return list(s.scalars(select(Sheet.id).where(Sheet.batch_id == batch_id, Sheet.status == FIELD_REVIEW,
                                                 Sheet.id > after_sheet).order_by(Sheet.id).limit(limit)))
