"""What a reviewer is shown of a field or a sheet: QA samples blind (docs/review.md, "Blind").

A QA sample is either an auto-accepted field (``qa_state`` set, ``qa_reviewer`` None) or a
reviewer's decision sent to a second reviewer (``qa_reviewer`` names the first). To anyone but a
supervisor or an admin, on every surface (the review pages, the sheet view, the history, the JSON
API), a sample still waiting for its answer looks like a field needing review: status
``needs_review``, the value the pipeline read, reasons, and no decision; an answered auto-accept
sample looks like a reviewed field. The reviewer whose own decision is being checked sees it as
they left it (they are not told it was sampled). Supervisors and admins see the stored truth and
which fields were QA samples (``qa``, ``qa_reviewer``), except on the pages where answers are
given (group and sheet mode), which are blind for everyone: a supervisor answering a sample is a
reviewer then.

One rule, here; the pages (``web/``) and the API (``api/routes/``) call these functions.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, not_, or_, select

from ocr_service.service import auth
from ocr_service.service.auth import Principal
from ocr_service.service.store.models import (FIELD_AUTO, FIELD_REJECTED, FIELD_REVIEW, FIELD_VERIFIED, QA_PENDING,
                                              FieldRow, Sheet)

# A sample of an auto-accepted field has no reasons of its own: it shows the one most review rows carry.
QA_SHOWN_REASONS = ("low_confidence",)
SEES_ALL = None  # the viewer argument meaning "not blind" (a supervisor or an admin)


def viewer_of(principal: Principal) -> str | None:
    """The viewer to hide QA from: the caller's user name, or None (SEES_ALL) for a supervisor or an
    admin, who see which fields are QA samples."""
    return SEES_ALL if principal.role in auth.CAN_SUPERVISE else principal.username


def waiting_for(f: FieldRow, viewer: str | None) -> bool:
    """Whether ``viewer`` sees ``f`` as a QA sample waiting for an answer, i.e. as needing review
    (the first reviewer of a reviewer-QA sample does not)."""
    return f.qa_state == QA_PENDING and (f.qa_reviewer is None or f.qa_reviewer != viewer)


def shown_status(f: FieldRow, viewer: str | None) -> str:
    """The status ``viewer`` is shown (SEES_ALL: the stored one)."""
    if viewer is SEES_ALL:
        return f.status
    if waiting_for(f, viewer):
        return FIELD_REVIEW
    if f.status == FIELD_AUTO and f.qa_state is not None:  # an answered auto-accept sample: reviewed
        return FIELD_VERIFIED
    return f.status


def shown_reasons(f: FieldRow, viewer: str | None) -> list:
    """The review reasons ``viewer`` is shown: a sample of an auto-accepted field, which has none,
    shows QA_SHOWN_REASONS (the review pages pass the user name of a supervisor too: a row must look
    the same in group mode for everyone)."""
    reasons = list(f.reasons or [])
    if not reasons and viewer is not SEES_ALL and f.qa_state is not None and f.qa_reviewer is None:
        return list(QA_SHOWN_REASONS)
    return reasons


def hides_decision(f: FieldRow, viewer: str | None) -> bool:
    """Whether ``viewer`` must not see the decision stored on ``f`` (verified value, by whom, when,
    the note): a reviewer-QA sample waiting for a second reviewer, whose first answer would bias it."""
    return viewer is not SEES_ALL and waiting_for(f, viewer) and f.qa_reviewer is not None


def shown_value(f: FieldRow, viewer: str | None) -> str:
    """The value a field has now as ``viewer`` sees it: the decision if one is shown (blank when
    unreadable), else the pipeline's reading."""
    if viewer is not SEES_ALL and waiting_for(f, viewer):
        return f.value or ""
    if f.status == FIELD_VERIFIED:
        return f.verified_value or ""
    if f.status == FIELD_REJECTED:
        return ""
    return f.value or ""


# -- the same rule as SQL conditions (listings filtered by the status a viewer sees) -------------

def _waiting_sql(viewer: str | None, model=FieldRow):
    return and_(func.coalesce(model.qa_state, "") == QA_PENDING, func.coalesce(model.qa_reviewer, "") != viewer)


def field_status_clause(status: str, viewer: str | None):
    """A condition on FieldRow: the fields ``viewer`` is shown with ``status``."""
    if viewer is SEES_ALL:
        return FieldRow.status == status
    waiting = or_(FieldRow.status == FIELD_REVIEW, _waiting_sql(viewer))
    if status == FIELD_REVIEW:
        return waiting
    if status == FIELD_AUTO:
        return and_(FieldRow.status == FIELD_AUTO, FieldRow.qa_state.is_(None))
    if status == FIELD_VERIFIED:
        return and_(not_(waiting), or_(FieldRow.status == FIELD_VERIFIED,
                                       and_(FieldRow.status == FIELD_AUTO, FieldRow.qa_state.isnot(None))))
    return and_(not_(waiting), FieldRow.status == status)


def _sheet_waiting(viewer: str | None):
    return exists().where(FieldRow.sheet_id == Sheet.id, _waiting_sql(viewer))


def sheet_status_clause(status: str, viewer: str | None):
    """A condition on Sheet: the sheets ``viewer`` is shown with ``status`` (needs_review while any
    field is shown so; verified once any was reviewed or QA-answered; else auto_accepted)."""
    if viewer is SEES_ALL:
        return Sheet.status == status
    review = or_(Sheet.status == FIELD_REVIEW, _sheet_waiting(viewer))
    sampled = exists().where(FieldRow.sheet_id == Sheet.id, FieldRow.qa_state.isnot(None))
    if status == FIELD_REVIEW:
        return review
    if status == FIELD_VERIFIED:
        return and_(not_(review), or_(Sheet.status == FIELD_VERIFIED, sampled))
    return and_(Sheet.status == status, not_(sampled))


def sheet_counts(s, batch_id: int, viewer: str | None) -> dict[str, int]:
    """A batch's sheets per status (auto_accepted, needs_review, verified) as ``viewer`` sees them."""
    return {st: s.scalar(select(func.count()).select_from(Sheet).where(
        Sheet.batch_id == batch_id, sheet_status_clause(st, viewer))) for st in (FIELD_AUTO, FIELD_REVIEW, FIELD_VERIFIED)}


def sheet_views(s, sheets, viewer: str | None) -> dict[int, tuple[str, int]]:
    """``{sheet id: (status, fields to review)}`` as ``viewer`` sees each of ``sheets``."""
    sheets = list(sheets)
    if viewer is SEES_ALL or not sheets:
        return {sh.id: (sh.status, sh.fields_review) for sh in sheets}
    ids = [sh.id for sh in sheets]
    waiting: dict[int, int] = {}
    sampled: set[int] = set()
    for i in range(0, len(ids), 500):
        for sid, state, who, n in s.execute(
                select(FieldRow.sheet_id, FieldRow.qa_state, FieldRow.qa_reviewer, func.count())
                .where(FieldRow.sheet_id.in_(ids[i:i + 500]), FieldRow.qa_state.isnot(None))
                .group_by(FieldRow.sheet_id, FieldRow.qa_state, FieldRow.qa_reviewer)):
            sampled.add(sid)
            if state == QA_PENDING and (who is None or who != viewer):
                waiting[sid] = waiting.get(sid, 0) + n
    out = {}
    for sh in sheets:
        review = sh.fields_review + waiting.get(sh.id, 0)
        if review:
            out[sh.id] = (FIELD_REVIEW, review)
        elif sh.status == FIELD_VERIFIED or sh.id in sampled:
            out[sh.id] = (FIELD_VERIFIED, 0)
        else:
            out[sh.id] = (sh.status, 0)
    return out


__all__ = ["QA_SHOWN_REASONS", "SEES_ALL", "field_status_clause", "hides_decision", "sheet_counts", "sheet_status_clause",
           "sheet_views", "shown_reasons", "shown_status", "shown_value", "viewer_of", "waiting_for"]
