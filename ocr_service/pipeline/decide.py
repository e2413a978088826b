"""Decision: auto-accept a field, or send it to review with the reasons.

A field is auto-accepted only when its evidence clears the threshold for its kind (or for the
field itself) learned by calibration, no check failed, and a required field is not empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ocr_service.calibration import DEFAULT_THRESHOLD, KIND_DEFAULTS
from ocr_service.engines.base import Reading
from ocr_service.forms.model import FieldSpec, Template

AUTO_ACCEPTED = "auto_accepted"
NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class Thresholds:
    """Per-field and per-kind confidence thresholds (from `ocr-service calibrate`)."""

    default: float = DEFAULT_THRESHOLD
    kinds: dict[str, float] = field(default_factory=lambda: dict(KIND_DEFAULTS))
    fields: dict[str, float] = field(default_factory=dict)
    models: dict[str, dict[str, float]] = field(default_factory=dict)  # per kind, see calibration.py
    source: str = "built-in default"

    def for_field(self, spec: FieldSpec) -> float:
        return self.fields.get(spec.name, self.kinds.get(spec.kind, self.default))

    @classmethod
    def load(cls, path: str | Path | None) -> "Thresholds":
        if path is None or not Path(path).exists():
            return cls()
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(float(data.get("default", DEFAULT_THRESHOLD)), {**cls().kinds, **data.get("kinds", {})},
                   dict(data.get("fields", {})), dict(data.get("models", {})), str(path))


def thresholds_path(template: Template, engines: str = "tesseract") -> Path:
    """Where `calibrate` writes a template's thresholds for an engine configuration (beside the
    template file); `extract` reads them from there."""
    return template.source.with_name(f"{template.version}.thresholds.{Path(engines).stem}.json")


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
            reasons.append("unreadable")  # there was writing but no engine could read it
        elif spec.required:
            reasons.append("empty_required")
    if confidence < thresholds.for_field(spec):
        reasons.append("low_confidence")
    reasons.extend(failed)
    status = NEEDS_REVIEW if reasons else AUTO_ACCEPTED
    return FieldResult(spec.name, value, confidence, status, tuple(dict.fromkeys(reasons)), box_px,
                       raw=reading.text, engine=reading.engine, suggestion=suggestion, candidates=candidates,
                       warnings=warnings, features=features or {})
