"""What a supervisor sees and does: the measured residual error of auto-accept (from blind QA
answers, with exact Clopper–Pearson intervals), the review queue per batch, field and reviewer,
assignments and batch priorities, and operator statistics per reviewer and day. Plain functions on
a store session, shared by the supervisor pages and the JSON API. See docs/review.md.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import and_, func, or_, select

from ocr_service.calibration.intervals import CONFIDENCE, clopper_pearson
from ocr_service.errors import InvalidRequestError, NotFoundError
from ocr_service.forms.model import column_key
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import (FIELD_AUTO, FIELD_REJECTED, FIELD_REVIEW, FIELD_VERIFIED, QA_AGREE,
                                              QA_ERROR, QA_PENDING, Assignment, AuditEvent, Batch, FieldRow, Sheet,
                                              User, utcnow)

TARGET_ERROR = 0.005  # the promise: at most 0.5% of auto-accepted fields wrong (calibration.DEFAULT_TARGET)
IDLE_GAP = dt.timedelta(minutes=5)  # a pause longer than this between two decisions is not working time
LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # statistics days are Vietnamese calendar days
DECISIONS = ("field.verify", "field.reject")


# -- QA: residual error of auto-accept ------------------------------------------------------------

def residual_by_kind(s, *, target: float = TARGET_ERROR, template_id: int | None = None) -> list[dict]:
    """Per field kind (and ``all``), from the answered QA samples: ``n`` answers, ``errors`` (the
    answer differed from the auto-accepted value), the rate, its 95% Clopper–Pearson interval, the
    QA samples still ``pending``, and ``warn`` when the upper bound passes ``target``."""
    q = select(FieldRow.kind, FieldRow.qa_state, func.count()).where(FieldRow.qa_state.isnot(None),
                                                                     FieldRow.qa_reviewer.is_(None))
    if template_id is not None:
        q = q.join(Sheet, Sheet.id == FieldRow.sheet_id).where(Sheet.template_id == template_id)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kind, state, n in s.execute(q.group_by(FieldRow.kind, FieldRow.qa_state)):
        for key in (kind or "?", "all"):
            counts[key][state] += n
    out = []
    for kind in sorted(k for k in counts if k != "all") + (["all"] if counts else []):
        c = counts[kind]
        n, errors = c[QA_AGREE] + c[QA_ERROR], c[QA_ERROR]
        lo, hi = clopper_pearson(errors, n)
        out.append({"kind": kind, "n": n, "errors": errors, "rate": errors / n if n else None, "low": lo, "high": hi,
                    "pending": c[QA_PENDING], "target": target, "warn": n > 0 and hi > target,
                    "too_few": n == 0 or (errors == 0 and hi > target)})
    return out


def reviewer_qa(s, *, reviewer: str | None = None) -> list[dict]:
    """Reviewer QA, per reviewer whose decisions were sampled (docs/review.md): ``checked`` (a
    second, different reviewer answered blind), ``errors`` (the two decisions disagreed: a QA
    finding against this reviewer), the rate with its 95% Clopper–Pearson interval (``low``,
    ``high``), and ``pending`` checks, over all time; by reviewer name."""
    q = (select(FieldRow.qa_reviewer, FieldRow.qa_state, func.count()).where(FieldRow.qa_reviewer.isnot(None))
         .group_by(FieldRow.qa_reviewer, FieldRow.qa_state))
    if reviewer is not None:
        q = q.where(FieldRow.qa_reviewer == reviewer)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for who, state, n in s.execute(q):
        counts[who][state] += n
    out = []
    for who in sorted(counts):
        c = counts[who]
        n, errors = c[QA_AGREE] + c[QA_ERROR], c[QA_ERROR]
        lo, hi = clopper_pearson(errors, n)
        out.append({"reviewer": who, "checked": n, "errors": errors, "rate": errors / n if n else None,
                    "low": lo, "high": hi, "pending": c[QA_PENDING]})
    return out


# -- queue views ----------------------------------------------------------------------------------

def _age_seconds(now: dt.datetime, oldest: dt.datetime | None) -> float | None:
    if oldest is None:
        return None
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (now - oldest).total_seconds())


def _queue_counts(s, key, now: dt.datetime, fold: Callable[[Any], Any] = lambda k: k):
    """(key, pending, leased, done, the oldest waiting sheet's time) per value of ``key``
    (FieldRow.batch_id or FieldRow.name; values ``fold`` maps alike are counted as one), over the
    fields that are or were in the review queue.
    Each count is a covering-index scan ((batch, status), (status, name), (batch, qa_state),
    lease_owner), so the page costs little with 100,000 fields queued."""
    acc: dict = defaultdict(lambda: {"queued": 0, "leased": 0, "done": 0, "first": None})

    def first(a, fid):
        a["first"] = fid if a["first"] is None else min(a["first"], fid)

    statuses = FieldRow.status.in_([FIELD_REVIEW, FIELD_VERIFIED, FIELD_REJECTED])
    if key is FieldRow.batch_id:  # (naming the batches lets SQLite search the (batch, status) index)
        statuses = and_(FieldRow.batch_id.in_(list(s.scalars(select(Batch.id)))), statuses)
    for k, status, n, fid in s.execute(
            select(key, FieldRow.status, func.count(), func.min(FieldRow.id)).where(statuses)
            .group_by(key, FieldRow.status)):
        a = acc[fold(k)]
        if status == FIELD_REVIEW:
            a["queued"] += n
            first(a, fid)
        else:
            a["done"] += n  # (an auto-accept error found by QA is verified or rejected: counted here)
    # QA samples (few: the status is read from the rows). A reviewer's decision waiting for its
    # reviewer-QA check was counted done above: it is queued instead; an answered check stays done.
    for k, state, status, n, fid in s.execute(
            select(key, FieldRow.qa_state, FieldRow.status, func.count(), func.min(FieldRow.id))
            .where(FieldRow.qa_state.in_([QA_PENDING, QA_AGREE])).group_by(key, FieldRow.qa_state, FieldRow.status)):
        a = acc[fold(k)]
        if state == QA_PENDING:
            a["queued"] += n
            first(a, fid)
            if status != FIELD_AUTO:
                a["done"] -= n
        elif status == FIELD_AUTO:
            a["done"] += n
    # leased now: an owner and an unexpired lease (a decision clears both); "> ''" rather than IS NOT
    # NULL so SQLite searches the lease_owner index; few rows, counted here
    for (k,) in s.execute(select(key).where(FieldRow.lease_owner > "", FieldRow.lease_expires_at >= now)):
        acc[fold(k)]["leased"] += 1
    firsts = [a["first"] for a in acc.values() if a["first"] is not None]
    when = dict(s.execute(select(FieldRow.id, Sheet.created_at).join(Sheet, Sheet.id == FieldRow.sheet_id)
                          .where(FieldRow.id.in_(firsts))).all()) if firsts else {}
    return [(k, a["queued"] - a["leased"], a["leased"], a["done"], when.get(a["first"])) for k, a in acc.items()]


def queue_by_batch(s, *, now: dt.datetime | None = None) -> list[dict]:
    """Per batch with review work: priority, pending (free), leased, done, the oldest waiting age,
    in queue order (priority, then age)."""
    now = now or utcnow()
    batches = {b.id: b for b in s.scalars(select(Batch))}
    rows = []
    for b_id, pending, leased, done, oldest in _queue_counts(s, FieldRow.batch_id, now):
        b = batches[b_id]
        rows.append({"batch_id": b_id, "batch": b.name, "priority": b.priority, "pending": int(pending or 0),
                     "leased": int(leased or 0), "done": int(done or 0), "oldest_age_s": _age_seconds(now, oldest)})
    rows.sort(key=lambda r: (-r["priority"], r["batch_id"]))
    return rows


def queue_by_field(s, *, now: dt.datetime | None = None) -> list[dict]:
    """Per field name, a table's cells per column as group mode serves them (``members.full_name``,
    forms.model.column_key): pending, leased, done, the oldest waiting age (most waiting first)."""
    now = now or utcnow()
    rows = [{"field": name, "pending": int(p or 0), "leased": int(le or 0), "done": int(d or 0),
             "oldest_age_s": _age_seconds(now, oldest)}
            for name, p, le, d, oldest in _queue_counts(s, FieldRow.name, now, fold=column_key)]
    rows.sort(key=lambda r: (-(r["pending"] + r["leased"]), r["field"]))
    return rows


def queue_by_reviewer(s, *, now: dt.datetime | None = None, since: dt.datetime | None = None) -> list[dict]:
    """Per reviewer (every active user who may review): fields leased now, the oldest held lease's
    age, decisions since ``since`` (default: the start of today, Vietnam time), and assignments."""
    now = now or utcnow()
    since = since or dt.datetime.combine(now.astimezone(LOCAL_TZ).date(), dt.time(), LOCAL_TZ)
    from ocr_service.service import auth

    users = [u.username for u in s.scalars(select(User).where(User.active.is_(True), User.role.in_(auth.CAN_REVIEW))
                                         .order_by(User.username))]
    held: dict[str, int] = defaultdict(int)
    for (owner,) in s.execute(select(FieldRow.lease_owner).where(FieldRow.lease_owner > "",
                                                                 FieldRow.lease_expires_at >= now)):
        held[owner] += 1
    done = dict(s.execute(select(AuditEvent.actor, func.count()).where(
        AuditEvent.action.in_(DECISIONS), AuditEvent.at >= since).group_by(AuditEvent.actor)).all())
    assigned: dict[str, list[str]] = defaultdict(list)
    names = {b.id: b.name for b in s.scalars(select(Batch))}
    for a in repo.active_assignments(s):
        assigned[a.reviewer].append(describe_assignment(a, names))
    return [{"reviewer": u, "leased": held.get(u, 0), "done_today": done.get(u, 0), "assigned": assigned.get(u, [])}
            for u in users]


# -- assignments and priorities -------------------------------------------------------------------

def describe_assignment(a: Assignment, batch_names: dict[int, str]) -> str:
    where = f"lô {batch_names.get(a.batch_id, a.batch_id)}" if a.batch_id is not None else "mọi lô"
    return f"{where} · ô {a.field_name}" if a.field_name else where


def assign(s, *, reviewer: str, batch_id: int | None, field_name: str | None, actor: str) -> Assignment:
    """Assign a batch, a field group (a field name in a batch, or in every batch) to ``reviewer``:
    that reviewer's queue serves it first (``repo.claim_group``). Audited."""
    from ocr_service.service import auth

    user = repo.get_user(s, reviewer)
    if user.role not in auth.CAN_REVIEW or not user.active:
        raise InvalidRequestError(f"user {reviewer!r} cannot review (role {user.role})")
    if batch_id is None and not field_name:
        raise InvalidRequestError("an assignment names a batch, a field, or both")
    if batch_id is not None:
        repo.get_batch(s, batch_id)
    a = Assignment(reviewer=reviewer, batch_id=batch_id, field_name=field_name or None, created_by=actor)
    s.add(a)
    s.flush()
    repo.add_audit(s, actor=actor, action="assignment.create", entity_type="assignment", entity_id=a.id,
                   new={"reviewer": reviewer, "batch_id": batch_id, "field": a.field_name}, source="web")
    return a


def end_assignment(s, assignment_id: int, *, actor: str, now: dt.datetime | None = None) -> Assignment:
    a = s.get(Assignment, assignment_id)
    if a is None:
        raise NotFoundError(f"no assignment with id {assignment_id}")
    if a.ended_at is None:
        a.ended_at = now or utcnow()
        repo.add_audit(s, actor=actor, action="assignment.end", entity_type="assignment", entity_id=a.id,
                       source="web")
    return a


def set_priority(s, batch_id: int, priority: int, *, actor: str) -> Batch:
    """Change a batch's review priority (higher first). Audited."""
    if not -1000 <= priority <= 1000:
        raise InvalidRequestError(f"priority must be between -1000 and 1000, not {priority}")
    b = repo.get_batch(s, batch_id)
    old, b.priority = b.priority, priority
    s.flush()
    repo.add_audit(s, actor=actor, action="batch.priority", entity_type="batch", entity_id=b.id,
                   old={"priority": old}, new={"priority": priority}, source="web")
    return b


# -- operator statistics --------------------------------------------------------------------------

@dataclass
class _Day:
    decisions: int = 0
    timed: int = 0
    active_s: float = 0.0
    sheet_units: float = 0.0
    sheets: set | None = None
    keys: int = 0
    keyed: int = 0
    corrections: int = 0
    unreadable: int = 0
    qa_answers: int = 0
    qa_errors: int = 0
    checked: int = 0
    checked_errors: int = 0
    last: dt.datetime | None = None


def operator_stats(s, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                   reviewer: str | None = None) -> list[dict]:
    """Per reviewer and day (Vietnam time), from the decision audit events:

    - ``fields_per_hour``, ``sheets_per_hour``: over active time, the sum of the gaps between one
      decision and the next that are at most IDLE_GAP (longer pauses are idle, left out; the first
      decision after a pause has no measured time and is not counted in the rate). A decision is
      1/q of a sheet, q being the number of that sheet's fields that went to review (QA samples
      included), so a sheet cleared by several reviewers adds up to one;
    - ``keys_per_field``: the page's keystroke count per decision (decisions that carry one);
    - ``corrections``: decisions that changed the shown value; ``unreadable``;
    - ``qa_answers`` and ``qa_errors_found``: answers to blind QA samples (of auto-accepted fields
      and of other reviewers' decisions), and those that found an auto-accept error;
    - ``qa_checked`` and ``qa_errors``: this reviewer's own decisions that reviewer QA checked that
      day (by the day of the second answer), and those the second reviewer disagreed with, with the
      rate's 95% Clopper–Pearson interval (``qa_error_low``, ``qa_error_high``; :func:`reviewer_qa`
      gives the totals).
    """
    q = select(AuditEvent).where(AuditEvent.action.in_(DECISIONS), AuditEvent.entity_type == "field")
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    if reviewer is not None:
        q = q.where(AuditEvent.actor == reviewer)
    events = list(s.scalars(q.order_by(AuditEvent.actor, AuditEvent.at, AuditEvent.id)))
    field_ids = {int(e.entity_id) for e in events if e.entity_id.isdigit()}
    sheet_of: dict[int, int] = {}
    for chunk in _chunks(sorted(field_ids), 500):
        sheet_of.update(s.execute(select(FieldRow.id, FieldRow.sheet_id).where(FieldRow.id.in_(chunk))).all())
    reviewed_per_sheet: dict[int, int] = {}
    sheet_ids = sorted(set(sheet_of.values()))
    for chunk in _chunks(sheet_ids, 500):
        reviewed_per_sheet.update(s.execute(
            select(FieldRow.sheet_id, func.count()).where(
                FieldRow.sheet_id.in_(chunk), or_(FieldRow.status != FIELD_AUTO, FieldRow.qa_state.isnot(None)))
            .group_by(FieldRow.sheet_id)).all())
    days: dict[tuple[str, str], _Day] = {}
    for e in events:
        day_key = (e.actor, e.at.astimezone(LOCAL_TZ).date().isoformat())
        d = days.setdefault(day_key, _Day(sheets=set()))
        sheet = sheet_of.get(int(e.entity_id)) if e.entity_id.isdigit() else None
        d.decisions += 1
        if sheet is not None:
            d.sheets.add(sheet)
        if d.last is not None and e.at - d.last <= IDLE_GAP:
            d.timed += 1
            d.active_s += (e.at - d.last).total_seconds()
            if sheet is not None:
                d.sheet_units += 1.0 / max(1, reviewed_per_sheet.get(sheet, 1))
        d.last = e.at
        new, old = e.new or {}, e.old or {}
        if isinstance(new.get("keys"), int):
            d.keys += new["keys"]
            d.keyed += 1
        if e.action == "field.reject":
            d.unreadable += 1
        elif (new.get("verified_value") or "").strip() != (old.get("value") or "").strip():
            d.corrections += 1
        if "qa" in new:
            d.qa_answers += 1
            d.qa_errors += new["qa"] == QA_ERROR and "qa_of" not in new
    # reviewer QA: the second answers, counted for the reviewer whose decision they checked
    q = select(AuditEvent).where(AuditEvent.action.in_(DECISIONS), AuditEvent.entity_type == "field",
                                 AuditEvent.source == "qa")
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    for e in s.scalars(q.order_by(AuditEvent.at, AuditEvent.id)):
        first = (e.new or {}).get("qa_of")
        if not first or (reviewer is not None and first != reviewer):
            continue
        d = days.setdefault((first, e.at.astimezone(LOCAL_TZ).date().isoformat()), _Day(sheets=set()))
        d.checked += 1
        d.checked_errors += e.new.get("qa") == QA_ERROR
    out = []
    for (who, day), d in sorted(days.items()):
        hours = d.active_s / 3600
        out.append({"reviewer": who, "day": day, "decisions": d.decisions, "sheets_touched": len(d.sheets),
                    "active_minutes": round(d.active_s / 60, 2),
                    "fields_per_hour": round(d.timed / hours, 1) if hours else None,
                    "sheets_per_hour": round(d.sheet_units / hours, 1) if hours else None,
                    "keys_per_field": round(d.keys / d.keyed, 2) if d.keyed else None,
                    "corrections": d.corrections, "unreadable": d.unreadable,
                    "qa_answers": d.qa_answers, "qa_errors_found": d.qa_errors,
                    "qa_checked": d.checked, "qa_errors": d.checked_errors,
                    **dict(zip(("qa_error_low", "qa_error_high"),
                               clopper_pearson(d.checked_errors, d.checked) if d.checked else (None, None)))})
    return out


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


__all__ = ["CONFIDENCE", "IDLE_GAP", "TARGET_ERROR", "assign", "clopper_pearson", "end_assignment", "operator_stats",
           "queue_by_batch", "queue_by_field", "queue_by_reviewer", "residual_by_kind", "reviewer_qa", "set_priority"]
