"""What a review suggestion list offers beside its own entries (second, after its first): the values already settled in the
field's family (routes.family, vietnamese.suggest.family_of: names, addresses, IDs …) elsewhere, on the sheet's
other fields and on the sheets scanned next to it in its batch. On a population sheet the same
person's name is written as the head's and the declarant's, a child's sheet repeats a parent's name
and ID, and a household's sheets come through the scanner together; a reviewer who has typed a
name once, or whose head's sheet was read well, takes it again in two keys.

Only settled values are offered: a reviewer's decision, or a value the pipeline auto-accepted; never
another field's unsure reading, and never a decision the blind rules hide from the viewer
(service/blind.py)."""

from __future__ import annotations

from ocr_service.service import blind
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import FIELD_AUTO, FIELD_VERIFIED, FieldRow, Sheet
from ocr_service.service.web.routes import family

__all__ = ["HOUSEHOLD_REACH", "HINT_SHEET", "HINT_NEAR", "related_values"]

HOUSEHOLD_REACH = 8  # sheets before and after in the batch's page order (a household's, scanned together)
HINT_SHEET, HINT_NEAR = "cùng phiếu", "phiếu liền kề"


def _settled(f: FieldRow, viewer: str | None) -> str:
    """The value of ``f`` that can be offered to ``viewer``: a decision they may see, or what was
    auto-accepted; "" for anything else."""
    if blind.hides_decision(f, viewer):
        return ""
    if f.status == FIELD_VERIFIED:
        return f.verified_value or ""
    return f.value or "" if f.status == FIELD_AUTO else ""


def related_values(s, templates_dir: str, f: FieldRow, sheet: Sheet, viewer: str | None) -> list[tuple[str, str]]:
    """(value, hint) of the settled values in ``f``'s family on its sheet's other fields, then on
    the sheets before and after it in its batch (nearest first), each once."""
    fam, names = family(templates_dir, sheet.template.ref, f.name)
    if not fam:
        return []
    before = list(s.scalars(repo.select(Sheet.id).where(Sheet.batch_id == sheet.batch_id, Sheet.page_id < sheet.page_id)
                            .order_by(Sheet.page_id.desc()).limit(HOUSEHOLD_REACH)))
    after = list(s.scalars(repo.select(Sheet.id).where(Sheet.batch_id == sheet.batch_id, Sheet.page_id > sheet.page_id)
                           .order_by(Sheet.page_id).limit(HOUSEHOLD_REACH)))
    distance = {sheet.id: 0, **{i: d + 1 for d, i in enumerate(before)}, **{i: d + 1 for d, i in enumerate(after)}}
    rows = s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id.in_(list(distance)), FieldRow.name.in_(sorted(names)),
                                                 FieldRow.status.in_((FIELD_AUTO, FIELD_VERIFIED)), FieldRow.id != f.id))
    ranked = sorted(rows, key=lambda g: (distance[g.sheet_id], g.position, g.id))
    out, seen = [], set()
    for g in ranked:
        value = _settled(g, viewer)
        if value and value not in seen:
            seen.add(value)
            out.append((value, HINT_SHEET if g.sheet_id == sheet.id else HINT_NEAR))
    return out
