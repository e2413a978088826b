"""Checking values a person typed, as the pipeline checks what it read: each field's validators
(``evidence.run_validators``, with the sheet's context) and the template's cross-field checks
(``decide.check_reasons``). The review station calls this on what a reviewer types, so a correction
is judged by the same rules as a reading; nothing here reimplements a check.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocr_service.forms.model import Template
from ocr_service.pipeline.decide import check_reasons, invalid_reasons
from ocr_service.pipeline.evidence import run_validators, sheet_context
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.vietnamese.text import clean


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a field's value: a review reason string, and whether it is only a
    warning (a soft check)."""

    reason: str
    soft: bool = False


def recheck(template: Template, values: dict[str, str]) -> dict[str, list[Problem]]:
    """The problems of a sheet's values (field name → text; fields not given count as blank), by
    field name (fields without problems are left out). A blank field is only a problem when the
    template marks it required; a blank is never run through the validators (as on a reading)."""
    values = {spec.name: clean(values.get(spec.name, "")) for spec in template.fields}
    ctx = sheet_context(template, values)
    out: dict[str, list[Problem]] = {}
    for spec in template.fields:
        text = values[spec.name]
        if not text:
            if spec.required:
                out.setdefault(spec.name, []).append(Problem(ReviewReason.EMPTY_REQUIRED.value))
            continue
        for reason in invalid_reasons(run_validators(spec, text, {**ctx, "agreed": True})):
            out.setdefault(spec.name, []).append(Problem(reason))
    hard, soft = check_reasons(template, values)
    for name, reasons in hard.items():
        out.setdefault(name, []).extend(Problem(r) for r in reasons)
    for name, reasons in soft.items():
        out.setdefault(name, []).extend(Problem(r, soft=True) for r in reasons)
    return out
