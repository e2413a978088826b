"""Checks across the sheets of one batch: one household head per household book number, and the
same head name and ID on every sheet of a household. The template's ``household`` section names
the fields (book, head_name, head_id, relation)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

from ocr_service.forms.model import Template
from ocr_service.pipeline.decide import NEEDS_REVIEW
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.pipeline.sheet import OK, SheetResult
from ocr_service.vietnamese.checks import check_households

ROLES = ("book", "head_name", "head_id", "relation")


@dataclass(frozen=True)
class HouseholdFinding:
    """A failed household check: the rule, why, and the sheets (indexes into the checked list) and
    fields it sends to review."""

    template: str
    rule: str
    reason: str
    sheets: tuple[int, ...]
    fields: tuple[str, ...]
    pages: tuple[tuple[str, int], ...] = ()  # (file, page) of each sheet, where known

    def to_json(self) -> dict:
        """The line ``extract --json`` prints for the finding, after the page lines."""
        return {"household_check": {"template": self.template, "rule": self.rule, "reason": self.reason,
                                    "fields": list(self.fields),
                                    "pages": [{"file": f, "page": p} for f, p in self.pages]}}

    @property
    def review_reason(self) -> str:
        return ReviewReason.HOUSEHOLD.detail(f"{self.rule}: {self.reason}")


def household_findings(template: Template, sheets: Sequence[Mapping[str, str]]) -> list[HouseholdFinding]:
    """The failed household checks over ``sheets`` (field name → value, one mapping per sheet of
    ``template``); none when the template declares no household."""
    roles = template.household
    if not roles or not set(ROLES) <= set(roles):
        return []
    failures = check_households(list(sheets), book_field=roles["book"], head_name_field=roles["head_name"],
                                head_id_field=roles["head_id"], relation_field=roles["relation"])
    return [HouseholdFinding(template.id, f.rule, f.reason, tuple(f.sheets), tuple(f.fields)) for f in failures]


def check_results(template: Template, results: list[SheetResult]) -> tuple[list[SheetResult], list[HouseholdFinding]]:
    """The results with every field named by a failed household check sent to review (the reason
    names the rule and the household), and the findings with their sheet indexes into ``results``.
    Results of other templates or pages that were not read pass through unchanged."""
    read = [i for i, r in enumerate(results) if r.status == OK and r.template == template.id]
    found = household_findings(template, [{f.name: f.value for f in results[i].fields} for i in read])
    found = [dataclasses.replace(f, sheets=tuple(read[s] for s in f.sheets),
                                 pages=tuple((results[read[s]].file, results[read[s]].page) for s in f.sheets))
             for f in found]
    flagged: dict[int, dict[str, list[str]]] = {}
    for finding in found:
        for sheet in finding.sheets:
            for name in finding.fields:
                flagged.setdefault(sheet, {}).setdefault(name, []).append(finding.review_reason)
    out = list(results)
    for index, fields in flagged.items():
        r = out[index]
        new_fields = tuple(
            dataclasses.replace(f, status=NEEDS_REVIEW, reasons=tuple(dict.fromkeys(f.reasons + tuple(fields[f.name]))))
            if f.name in fields else f for f in r.fields)
        out[index] = dataclasses.replace(r, fields=new_fields)
    return out, found
