"""Decision: auto-accept a field, or send it to review with the reasons.

A field is auto-accepted only when its score clears the threshold for its kind (or for the field
itself) learned by calibration, its evidence lies within what calibration saw accepted
(``out_of_calibration`` otherwise), no validator or check failed, and a required field is not empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ocr_service.engines.base import Reading
from ocr_service.forms.model import FieldSpec, Template, cell_name
from ocr_service.pipeline.evidence import FieldEvidence, sheet_evidence
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.pipeline.scoring import Thresholds, calibration_kind
from ocr_service.vietnamese.checks import run_checks
from ocr_service.vietnamese.validators import Finding

AUTO_ACCEPTED = "auto_accepted"
NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class FieldResult:
    """The outcome for one field: its value, how sure we are, and what happens next."""

    name: str
    value: str
    confidence: float
    status: str
    reasons: tuple[str, ...]
    box_px: tuple[int, int, int, int]
    raw: str = ""
    engine: str = ""
    suggestion: str | None = None
    candidates: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # soft checks that failed: shown to reviewers, not a reason to review
    features: dict = field(default_factory=dict, compare=False)  # the evidence behind the score
    kind: str = ""  # the field's kind in its template (calibration fits per kind)

    def to_json(self) -> dict:
        d = {"name": self.name, "value": self.value, "confidence": round(self.confidence, 4),
             "status": self.status, "reasons": list(self.reasons), "box_px": list(self.box_px)}
        if self.raw != self.value:
            d["raw"] = self.raw
        if self.suggestion:
            d["suggestion"] = self.suggestion
        if len(self.candidates) > 1:
            d["candidates"] = list(self.candidates)
        if self.engine:
            d["engine"] = self.engine
        if self.warnings:
            d["warnings"] = list(self.warnings)
        return d

    def to_record(self) -> dict:
        """:meth:`to_json` plus what the service keeps for review and recalibration."""
        d = self.to_json()
        d.update(kind=self.kind, raw=self.raw, engine=self.engine, candidates=list(self.candidates), warnings=list(self.warnings),
                 features=dict(self.features))
        return d


def decide(spec: FieldSpec, reading: Reading, box_px: tuple[int, int, int, int], thresholds: Thresholds, *,
           value: str | None = None, confidence: float | None = None, failed: tuple[str, ...] = (),
           suggestion: str | None = None, candidates: tuple[str, ...] = (),
           warnings: tuple[str, ...] = (), features: dict | None = None) -> FieldResult:
    """Decide one field. ``value``/``confidence`` override the raw reading when validation
    normalized or snapped it; ``failed`` names the checks that failed (each becomes a reason)."""
    value = reading.text if value is None else value
    confidence = reading.confidence if confidence is None else confidence
    reasons: list[str] = []
    if not value:
        if reading.engine not in ("ink", "marks"):
            reasons.append(ReviewReason.UNREADABLE)  # there was writing but no engine could read it
        elif spec.required:
            reasons.append(ReviewReason.EMPTY_REQUIRED)
    if confidence < thresholds.for_field(spec, features):
        reasons.append(ReviewReason.LOW_CONFIDENCE)
    unseen = thresholds.out_of_range(calibration_kind(spec), features or {}) if features else []
    if unseen:  # evidence calibration never saw accepted: its score would be an extrapolation
        reasons.append(ReviewReason.OUT_OF_CALIBRATION.detail(", ".join(unseen)))
    reasons.extend(failed)
    status = NEEDS_REVIEW if reasons else AUTO_ACCEPTED
    return FieldResult(spec.name, value, confidence, status, tuple(str(r) for r in dict.fromkeys(reasons)), box_px,
                       raw=reading.text, engine=reading.engine, suggestion=suggestion, candidates=candidates,
                       warnings=warnings, features=features or {}, kind=spec.kind)


def invalid_reasons(finding: Finding | None) -> list[str]:
    """The review reasons (``invalid:<check>: <why>``) of a validator finding's failed checks."""
    if finding is None or not finding.failed:
        return []
    return [ReviewReason.INVALID.detail(f"{check}: {reason}") for check, reason in finding.failed]


def check_reasons(template: Template, values: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The template's cross-field checks on a sheet's values: the review reasons
    (``check:<rule>: <why>``) of the hard failures and of the soft ones (warnings), by field name."""
    hard: dict[str, list[str]] = {}
    soft: dict[str, list[str]] = {}
    for failure in run_checks(list(template.checks), values):
        for name in failure.fields:
            (soft if failure.soft else hard).setdefault(name, []).append(
                ReviewReason.CHECK.detail(f"{failure.rule}: {failure.reason}"))
    for group in template.groups:  # a table row that is an entry needs its required cells; blank rows need nothing
        for row in group.filled_rows(values):
            for col in group.columns:
                name = cell_name(group.name, row, col.name)
                if col.required and not (values.get(name) or "").strip():
                    hard.setdefault(name, []).append(ReviewReason.EMPTY_REQUIRED.value)
    return hard, soft


def decide_sheet(template: Template, readings: dict[str, list[Reading]],
                 boxes: dict[str, tuple[int, int, int, int]], thresholds: Thresholds,
                 ink: dict[str, dict[str, float]] | None = None) -> list[FieldResult]:
    """One decided result per template field, in template order: each field's evidence (``ink``:
    the measured ink features per field, see recognize_page), then the template's cross-field
    checks (hard ones send the fields they name to review, soft ones warn)."""
    evidence: dict[str, FieldEvidence] = sheet_evidence(template, readings, thresholds, ink)
    hard, soft = check_reasons(template, {name: ev.value for name, ev in evidence.items()})
    results = []
    for spec in template.fields:
        ev = evidence[spec.name]
        failed = invalid_reasons(ev.finding)
        failed.extend(hard.get(spec.name, []))
        suggestion = ev.finding.suggestion if ev.finding and ev.finding.suggestion != ev.value else None
        results.append(decide(spec, ev.reading, boxes[spec.name], thresholds, value=ev.value, confidence=ev.score,
                              failed=tuple(failed), suggestion=suggestion, candidates=ev.candidates,
                              warnings=tuple(soft.get(spec.name, [])), features=ev.features))
    return results
