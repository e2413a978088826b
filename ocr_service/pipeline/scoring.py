"""Run-time scoring: from the evidence about a field to one score, and the thresholds it is held to.

An engine's confidence is not a probability. ``ocr-service calibrate`` (``ocr_service.calibration``)
fits, per field kind, a logistic model over the evidence named in :data:`FEATURES` and a threshold
that keeps the error rate among auto-accepted fields at or below a target; this module only
applies what was fitted. Without a model, the score is the engine's own confidence, halved when
the other engines read something else (:func:`uncalibrated_score`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ocr_service.engines.base import NEURAL_ENGINES, Reading
from ocr_service.forms.model import FieldSpec, Template
from ocr_service.vietnamese.validators import Finding

BASE_FEATURES = ("conf", "conf_logit", "has_validator", "valid", "vscore", "agree", "disagree", "empty", "length",
                 "neural")
# Interactions a linear model cannot find alone: an engine's confidence means something else when it
# is the only opinion than when a second engine agreed.
DERIVED_FEATURES = {
    "conf_alone": lambda f: f["conf_logit"] * (1 - f["agree"]) * (1 - f["disagree"]),
    "conf_agreed": lambda f: f["conf_logit"] * f["agree"],
    "vscore_agreed": lambda f: f["vscore"] * f["agree"],
}
FEATURES = BASE_FEATURES + tuple(DERIVED_FEATURES)
# Before calibration: Tesseract's weakest-symbol confidence of 0.98 accepted ~95% of printed
# fields with ≤0.4% wrong (shared/notes/tooling-facts.md).
DEFAULT_THRESHOLD = 0.98
# Mark readers' certainty is on their own scale (ocr_service/engines/checkmarks.py).
KIND_DEFAULTS = {"signature": 0.75, "choice": 0.75}


def features(reading: Reading, finding: Finding | None, agree: int, nonempty: bool) -> dict[str, float]:
    """The evidence about one field as numbers (names in BASE_FEATURES). ``agree`` is 1 when another
    engine read the same, -1 when the others read something else, 0 with no second opinion."""
    conf = min(max(float(reading.confidence), 0.0), 1.0)
    return {
        "conf": conf,
        "conf_logit": math.log((conf + 1e-3) / (1 - conf + 1e-3)),
        "has_validator": 1.0 if finding is not None else 0.0,
        "valid": 1.0 if finding is not None and finding.ok else 0.0,
        "vscore": float(finding.score) if finding is not None else 0.0,
        "agree": 1.0 if agree > 0 else 0.0,
        "disagree": 1.0 if agree < 0 else 0.0,
        "empty": 0.0 if nonempty else 1.0,
        "length": min(len(reading.text), 60) / 60,
        "neural": 1.0 if reading.engine in NEURAL_ENGINES else 0.0,
    }


def feature_vector(feats: dict[str, float]) -> np.ndarray:
    """The model's input for ``feats``: a leading 1 (bias), then FEATURES in order."""
    return np.array([1.0] + [feats[f] for f in BASE_FEATURES] + [fn(feats) for fn in DERIVED_FEATURES.values()])


def uncalibrated_score(feats: dict[str, float]) -> float:
    """The score before calibration: the engine's confidence, halved when other engines disagree."""
    return feats["conf"] * (0.5 if feats["disagree"] else 1.0)


def logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Thresholds:
    """Per-field and per-kind score thresholds and per-kind score models (from `ocr-service calibrate`)."""

    default: float = DEFAULT_THRESHOLD
    kinds: dict[str, float] = field(default_factory=lambda: dict(KIND_DEFAULTS))
    fields: dict[str, float] = field(default_factory=dict)
    models: dict[str, dict[str, float]] = field(default_factory=dict)  # per kind: feature → weight, "bias"
    source: str = "built-in default"

    def threshold(self, kind: str, name: str) -> float:
        """The score a field of this kind and name must reach to be auto-accepted."""
        return self.fields.get(name, self.kinds.get(kind, self.default))

    def for_field(self, spec: FieldSpec) -> float:
        return self.threshold(spec.kind, spec.name)

    def score(self, kind: str, feats: dict[str, float]) -> float:
        """The field's score: the calibrated probability of being right when a model is fitted for
        its kind, else :func:`uncalibrated_score`."""
        model = self.models.get(kind)
        if not model:
            return uncalibrated_score(feats)
        w = np.array([model.get("bias", 0.0)] + [model.get(f, 0.0) for f in FEATURES])
        return logistic(float(feature_vector(feats) @ w))

    @classmethod
    def load(cls, path: str | Path | None) -> "Thresholds":
        """Thresholds from a file written by `calibrate`; the built-in defaults when there is none."""
        if path is None or not Path(path).exists():
            return cls()
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(float(data.get("default", DEFAULT_THRESHOLD)), {**cls().kinds, **data.get("kinds", {})},
                   dict(data.get("fields", {})), dict(data.get("models", {})), str(path))


UNCALIBRATED = Thresholds()


def thresholds_path(template: Template, engines: str = "tesseract") -> Path:
    """Where `calibrate` writes a template's thresholds for an engine configuration (beside the
    template file); `extract` reads them from there."""
    return template.source.with_name(f"{template.version}.thresholds.{Path(engines).stem}.json")
