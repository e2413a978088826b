"""Validation: turn raw readings into checked values, then decide each field.

Field validators, vocabularies and cross-field checks are named in the template (data) and
implemented in :mod:`ocr_service.vietnamese`.
"""

from __future__ import annotations

from ocr_service.engines.base import Reading
from ocr_service.forms.model import Template
from ocr_service.pipeline.decide import FieldResult, Thresholds, decide


def validate_sheet(template: Template, readings: dict[str, list[Reading]],
                   boxes: dict[str, tuple[int, int, int, int]], thresholds: Thresholds) -> list[FieldResult]:
    """One decided result per template field, in template order."""
    results = []
    for spec in template.fields:
        best = readings[spec.name][0]
        results.append(decide(spec, best, boxes[spec.name], thresholds))
    return results
