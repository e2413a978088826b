"""Validation: turn raw readings into checked values, weigh the evidence, then decide each field.

Field validators, vocabularies and cross-field checks are named in the template (data) and
implemented in :mod:`ocr_service.vietnamese`. The evidence for a field (engine confidence,
engine agreement, validator and snap scores) is combined into one score by
:mod:`ocr_service.calibration`; the decision compares it with the calibrated threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocr_service import calibration
from ocr_service.engines.base import Reading
from ocr_service.forms.model import FieldSpec, Template
from ocr_service.pipeline.decide import FieldResult, Thresholds, decide
from ocr_service.vietnamese.checks import run_checks
from ocr_service.vietnamese.text import clean, match_key
from ocr_service.vietnamese.validate import Finding, get_validator


@dataclass(frozen=True)
class FieldEvidence:
    """Everything known about one field before the decision."""

    spec: FieldSpec
    reading: Reading  # the chosen engine reading
    value: str  # the value after validation (canonical for a confident vocabulary snap)
    finding: Finding | None
    agree: int  # 1: another engine read the same (after normalization); 0: no second opinion; -1: none did
    candidates: tuple[str, ...]  # every distinct reading, chosen first
    features: dict[str, float]
    score: float


def field_validators(spec: FieldSpec) -> list[str]:
    names = list(spec.validators)
    if spec.vocabulary:
        names.append(f"vocabulary:{spec.vocabulary}")
    return names


def run_validators(spec: FieldSpec, text: str, ctx: dict) -> Finding | None:
    """The combined finding of a field's validators (the first failing one wins), or None."""
    findings = [get_validator(name)(text, ctx) for name in field_validators(spec)]
    if not findings:
        return None
    failing = [f for f in findings if f.failed]
    return failing[0] if failing else findings[-1]


_UNCALIBRATED = Thresholds()


def _choose(spec: FieldSpec, readings: list[Reading], ctx: dict, thresholds: Thresholds) -> FieldEvidence:
    """Pick the reading to keep among the engines' readings: a valid one before an invalid one,
    then the surest (an engine's confidence, halved when the others read something else), then
    one another engine agrees with. Its calibrated score is then what the decision uses."""
    texts = [clean(r.text) for r in readings]
    findings = [run_validators(spec, t, ctx) if t else None for t in texts]
    values = [f.value if f is not None and f.ok else t for t, f in zip(texts, findings)]
    keys = [match_key(v) for v in values]
    options = []
    for i, reading in enumerate(readings):
        agree = 0 if len(readings) == 1 else (1 if keys[i] and keys.count(keys[i]) > 1 else -1)
        feats = calibration.features(reading, findings[i], agree, bool(values[i]))
        valid = findings[i] is None or findings[i].ok
        # The choice uses the uncalibrated score, so the evidence a model is fitted on is the
        # evidence it later judges (a choice by the fitted model would change which readings reach it).
        plain = calibration.score(spec.kind, feats, _UNCALIBRATED)
        options.append(((valid, plain, agree, reading.confidence, -i), agree, feats))
    (_, _, _, _, neg_i), agree, feats = max(options, key=lambda o: o[0])
    i = -neg_i
    score = calibration.score(spec.kind, feats, thresholds)
    candidates = tuple(dict.fromkeys([values[i]] + [v for v in values if v]))
    return FieldEvidence(spec, readings[i], values[i], findings[i], agree, candidates, feats, score)


def _context(template: Template, raw: dict[str, str]) -> dict:
    """Values from elsewhere on the sheet that validators need (declaration date, province …),
    mapped by the template's ``context`` section."""
    ctx = {}
    for key, field_name in template.context.items():
        if raw.get(field_name):
            ctx[key] = raw[field_name]
    return ctx


def validate_sheet(template: Template, readings: dict[str, list[Reading]],
                   boxes: dict[str, tuple[int, int, int, int]], thresholds: Thresholds) -> list[FieldResult]:
    """One decided result per template field, in template order."""
    first = {name: clean(rs[0].text) for name, rs in readings.items()}
    ctx = _context(template, first)
    evidence = {spec.name: _choose(spec, readings[spec.name], ctx, thresholds) for spec in template.fields}
    values = {name: ev.value for name, ev in evidence.items()}
    hard: dict[str, list[str]] = {}
    soft: dict[str, list[str]] = {}
    for failure in run_checks(list(template.checks), values):
        for name in failure.fields:
            (soft if failure.soft else hard).setdefault(name, []).append(f"check:{failure.rule}: {failure.reason}")
    results = []
    for spec in template.fields:
        ev = evidence[spec.name]
        failed = []
        if ev.finding is not None and ev.finding.failed:
            failed.extend(f"invalid:{check}: {reason}" for check, reason in ev.finding.failed)
        failed.extend(hard.get(spec.name, []))
        suggestion = ev.finding.suggestion if ev.finding and ev.finding.suggestion != ev.value else None
        results.append(decide(spec, ev.reading, boxes[spec.name], thresholds, value=ev.value, confidence=ev.score,
                              failed=tuple(failed), suggestion=suggestion, candidates=ev.candidates,
                              warnings=tuple(soft.get(spec.name, [])), features=ev.features))
    return results
