"""Evidence: turn the engines' readings of a field into a checked value and the numbers behind its score.

Field validators and vocabularies are named in the template (data) and implemented in
:mod:`ocr_service.vietnamese`. The evidence (engine confidence, engine agreement, validator and
snap scores) is combined into one score by :mod:`ocr_service.pipeline.scoring`; ``decide.py``
compares it with the calibrated threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from ocr_service.engines.base import Reading
from ocr_service.forms.model import FieldSpec, Template
from ocr_service.pipeline.scoring import (UNCALIBRATED, Thresholds, calibration_kind, echoes, features, page_features,
                                          value_features)
from ocr_service.vietnamese.text import clean, match_key
from ocr_service.vietnamese.validators import Finding, get_validator


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


def _contradiction(key: str, others: list[str]) -> float:
    """How far the other engines' texts ``others`` are from the chosen value (its match key ``key``),
    which none of them read: 1 minus the best similarity (rapidfuzz's ratio, on match keys) of one of
    their texts to it; 1.0 when they read nothing. A hand the other engine cannot read gives text that still shares letters with what is
    written ("K.nt" for Kinh); where the chosen engine picked a wrong entry, the other's text is
    seldom like it."""
    return 1.0 - max((fuzz.ratio(key, match_key(t)) / 100 for t in others if t), default=0.0)


def choose(spec: FieldSpec, readings: list[Reading], ctx: dict, thresholds: Thresholds,
           ink: dict[str, float] | None = None) -> FieldEvidence:
    """Pick the reading to keep among the engines' readings: one with text before an empty one (a
    field any engine read as text is never 'empty'), a valid one before an invalid one, then the
    surest (an engine's confidence, halved when the others read something else), then one another
    engine agrees with. Its calibrated score is then what the decision uses. Validators learn
    whether two engines read the same text (``ctx["agreed"]``: restoration may then only add marks)."""
    texts = [clean(r.text) for r in readings]
    findings = [run_validators(spec, t, {**ctx, "agreed": texts.count(t) > 1}) if t else None for t in texts]
    values = [f.value if f is not None and f.ok else t for t, f in zip(texts, findings)]
    keys = [match_key(v) for v in values]
    options = []
    for i, reading in enumerate(readings):
        agree = 0 if len(readings) == 1 else (1 if keys[i] and keys.count(keys[i]) > 1 else -1)
        feats = features(reading, findings[i], agree, bool(values[i]), ink)
        valid = findings[i] is None or findings[i].ok
        # The choice uses the uncalibrated score, so the evidence a model is fitted on is the
        # evidence it later judges (a choice by the fitted model would change which readings reach it).
        plain = UNCALIBRATED.score(calibration_kind(spec), feats)
        options.append(((bool(texts[i]), valid, plain, agree, reading.confidence, -i), agree, feats))
    (*_, neg_i), agree, feats = max(options, key=lambda o: o[0])
    i = -neg_i
    feats = {**feats, **value_features(spec.kind, values[i]),
             "contradiction": _contradiction(keys[i], texts[:i] + texts[i + 1:]) if agree < 0 else 0.0}
    score = thresholds.score(calibration_kind(spec), feats)
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


def sheet_context(template: Template, values: dict[str, str]) -> dict:
    """The validators' context (declaration date, province …) from a sheet's values by field name."""
    return _context(template, {name: clean(v) for name, v in values.items()})


def sheet_evidence(template: Template, readings: dict[str, list[Reading]], thresholds: Thresholds,
                   ink: dict[str, dict[str, float]] | None = None) -> dict[str, FieldEvidence]:
    """The evidence for every field of a sheet, in template order (``ink``: measured ink features
    per field name); every field's features include the page's (:func:`with_page`)."""
    first = {name: clean(rs[0].text) for name, rs in readings.items()}
    ctx = _context(template, first)
    ink = ink or {}
    return with_page({spec.name: choose(spec, readings[spec.name], ctx, thresholds, ink.get(spec.name))
                      for spec in template.fields}, thresholds)


def with_page(evidence: dict[str, FieldEvidence], thresholds: Thresholds) -> dict[str, FieldEvidence]:
    """The fields of one page with the page's evidence (``scoring.page_features``, and whether each
    value is echoed by another field of its family: ``scoring.echoes``) added to each one's
    features, and scored again with it."""
    page = page_features([(ev.spec.kind, ev.features) for ev in evidence.values()])
    echoed = dict(zip(evidence, echoes([(ev.spec, ev.value) for ev in evidence.values()])))
    out = {}
    for name, ev in evidence.items():
        feats = {**ev.features, **page, "echoed": echoed[name]}
        out[name] = replace(ev, features=feats, score=thresholds.score(calibration_kind(ev.spec), feats))
    return out
