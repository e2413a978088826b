"""Checks across the sheets of one batch: one household head per household book number, and the
same head name and ID on every sheet of a household. The template's ``household`` section names
the fields (book, head_name, head_id, relation)."""

from __future__ import annotations

import dataclasses

from ocr_service.forms.model import Template
from ocr_service.pipeline.decide import NEEDS_REVIEW
from ocr_service.pipeline.run import OK, SheetResult
from ocr_service.vietnamese.checks import check_households


def check_batch(template: Template, results: list[SheetResult]) -> list[SheetResult]:
    """The results with every field named by a failed household check sent to review (the
    reason names the rule and the household); results of other templates or pages that were not
    read pass through unchanged."""
    roles = template.household
    if not roles or not {"book", "head_name", "head_id", "relation"} <= set(roles):
        return results
    read = [i for i, r in enumerate(results) if r.status == OK and r.template == template.id]
    sheets = [{f.name: f.value for f in results[i].fields} for i in read]
    failures = check_households(sheets, book_field=roles["book"], head_name_field=roles["head_name"],
                                head_id_field=roles["head_id"], relation_field=roles["relation"])
    flagged: dict[int, dict[str, list[str]]] = {}
    for failure in failures:
        for sheet in failure.sheets:
            for name in failure.fields:
                flagged.setdefault(read[sheet], {}).setdefault(name, []).append(
                    f"household:{failure.rule}: {failure.reason}")
    out = list(results)
    for index, fields in flagged.items():
        r = out[index]
        new_fields = tuple(
            dataclasses.replace(f, status=NEEDS_REVIEW, reasons=tuple(dict.fromkeys(f.reasons + tuple(fields[f.name]))))
            if f.name in fields else f for f in r.fields)
        out[index] = dataclasses.replace(r, fields=new_fields)
    return out
