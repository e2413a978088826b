"""Calibrated decisions: from the evidence about a field to a score, and from labelled sheets to
thresholds that keep the error rate among auto-accepted fields at or below a target.

An engine's confidence is not a probability. For each field kind we fit a logistic model on
labelled fields (generated samples now, reviewers' corrections later) over the evidence:
engine confidence, engine agreement, validator and snap results. Its output is the field's
score; the threshold per kind is the lowest score at which the auto-accepted fields of the
calibration set were wrong at most ``target`` of the time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ocr_service.engines.base import Reading
    from ocr_service.pipeline.decide import Thresholds
    from ocr_service.vietnamese.validate import Finding

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
DEFAULT_TARGET = 0.005
# Before calibration: Tesseract's weakest-symbol confidence of 0.98 accepted ~95% of printed
# fields with ≤0.4% wrong (shared/notes/tooling-facts.md).
DEFAULT_THRESHOLD = 0.98
# Mark readers' certainty is on their own scale (ocr_service/engines/marks.py).
KIND_DEFAULTS = {"signature": 0.75, "choice": 0.75}
MIN_ACCEPTED = 20  # fewer accepted calibration fields than this: the threshold stays closed


def features(reading: "Reading", finding: "Finding | None", agree: int, nonempty: bool) -> dict[str, float]:
    """The evidence about one field as numbers (names in FEATURES)."""
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
        "neural": 1.0 if reading.engine in ("asternet", "ppocr") else 0.0,
    }


def _vector(feats: dict[str, float]) -> np.ndarray:
    return np.array([1.0] + [feats[f] for f in BASE_FEATURES] + [fn(feats) for fn in DERIVED_FEATURES.values()])


def score(kind: str, feats: dict[str, float], thresholds: "Thresholds") -> float:
    """The field's score: the calibrated probability of being right, or before calibration the
    engine's own confidence (halved when the other engines read something else)."""
    model = thresholds.models.get(kind)
    if not model:
        return feats["conf"] * (0.5 if feats["disagree"] else 1.0)
    w = np.array([model.get("bias", 0.0)] + [model.get(f, 0.0) for f in FEATURES])
    z = float(_vector(feats) @ w)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50) -> np.ndarray:
    """Weights (bias first) of an L2-regularized logistic regression, by Newton's method."""
    w = np.zeros(x.shape[1])
    reg = l2 * np.eye(x.shape[1])
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + reg @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + reg + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def choose_threshold(scores: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest threshold whose accepted set (score ≥ threshold) has an error rate ≤ ``target``
    and at least MIN_ACCEPTED fields; 1.0 (accept nothing) if there is none."""
    order = np.argsort(-scores)
    s, c = scores[order], correct[order]
    errors = np.cumsum(~c)
    counts = np.arange(1, len(s) + 1)
    best = 1.0 + 1e-9
    for i in range(len(s)):
        # only cut between distinct scores, so ties are accepted or refused together
        if i + 1 < len(s) and s[i + 1] == s[i]:
            continue
        if counts[i] >= MIN_ACCEPTED and errors[i] / counts[i] <= target:
            best = float(s[i])
    return best


@dataclass(frozen=True)
class LabelledField:
    kind: str
    name: str
    feats: dict[str, float]
    correct: bool
    exact_raw: bool  # the engine's raw text was already right (before validation)
    value: str
    truth: str
    blocked: bool = False  # a hard reason (failed check, empty required …) sends it to review anyway


def fit(fields: list[LabelledField], target: float = DEFAULT_TARGET) -> dict:
    """Models and thresholds per field kind, as stored in a thresholds file."""
    out = {"target_error": target, "default": 1.0, "kinds": {}, "models": {}, "fitted_on": len(fields)}
    for kind in sorted({f.kind for f in fields}):
        rows = [f for f in fields if f.kind == kind and not f.blocked]
        if not rows:
            continue
        x = np.array([_vector(f.feats) for f in rows])
        y = np.array([f.correct for f in rows], dtype=float)
        if y.min() == y.max():
            # Nothing wrong (or nothing right) to learn from: no model; the score stays the engine's
            # own confidence. With no error in n fields the error rate is below 3/n (95%): where
            # that is within the target, accept down to the lowest score seen; otherwise keep the
            # built-in conservative gate.
            plain = [f["conf"] * (0.5 if f["disagree"] else 1.0) for f in (r.feats for r in rows)]
            if y[0] == 0:
                out["kinds"][kind] = 1.0 + 1e-9
            elif 3.0 / len(rows) <= target:
                out["kinds"][kind] = math.floor(min(plain) * 1e6) / 1e6
            else:
                out["kinds"][kind] = KIND_DEFAULTS.get(kind, DEFAULT_THRESHOLD)
            continue
        w = fit_logistic(x, y)
        model = {"bias": float(w[0]), **{f: float(v) for f, v in zip(FEATURES, w[1:])}}
        out["models"][kind] = model
        scores = np.array([1 / (1 + math.exp(-max(-50, min(50, float(v @ w))))) for v in x])
        out["kinds"][kind] = math.floor(choose_threshold(scores, y.astype(bool), target) * 1e6) / 1e6
    return out


def write(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def report(rows: list[tuple[LabelledField, float, bool]]) -> list[dict]:
    """Per kind: fields, exact before/after validation, straight-through rate, residual error among
    accepted, errors caught by review. ``rows`` are (field, score, accepted)."""
    table = []
    for kind in sorted({f.kind for f, _, _ in rows}) + ["all"]:
        sel = [(f, s, a) for f, s, a in rows if kind == "all" or f.kind == kind]
        n = len(sel)
        accepted = [f for f, _, a in sel if a]
        wrong_acc = sum(1 for f in accepted if not f.correct)
        wrong = sum(1 for f, _, _ in sel if not f.correct)
        table.append({
            "kind": kind, "fields": n,
            "exact_raw": sum(f.exact_raw for f, _, _ in sel) / n if n else 0.0,
            "exact_validated": sum(f.correct for f, _, _ in sel) / n if n else 0.0,
            "straight_through": len(accepted) / n if n else 0.0,
            "residual_error": wrong_acc / len(accepted) if accepted else 0.0,
            "errors": wrong, "caught_by_review": wrong - wrong_acc,
        })
    return table


def format_table(table: list[dict]) -> str:
    head = "| kind | fields | exact (raw OCR) | exact (validated) | straight-through | residual error | errors caught by review |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        lines.append(f"| {r['kind']} | {r['fields']} | {r['exact_raw']:.1%} | {r['exact_validated']:.1%} | "
                     f"{r['straight_through']:.1%} | {r['residual_error']:.2%} | {r['caught_by_review']}/{r['errors']} |")
    return "\n".join(lines)


def canonical_truth(spec, truth: str) -> str:
    """The value the pipeline should produce for a written ``truth`` (a vocabulary variant snaps to
    its canonical value, a date normalizes), so a right snap counts as right."""
    from ocr_service.pipeline.validate import run_validators
    from ocr_service.vietnamese.text import clean

    text = clean(truth)
    if not text:
        return ""
    finding = run_validators(spec, text, {})
    return finding.value if finding is not None and finding.ok else text


def label(template, results, truths: list[dict[str, str]]) -> list[LabelledField]:
    """Pair every field result of registered sheets with its ground truth."""
    from ocr_service.vietnamese.text import clean, match_key

    out = []
    for result, truth in zip(results, truths):
        if result.status != "ok":
            continue
        for fr in result.fields:
            spec = template.field(fr.name)
            written = truth.get(fr.name, "")
            want = canonical_truth(spec, written)
            correct = match_key(fr.value) == match_key(want) or match_key(fr.value) == match_key(written)
            exact_raw = clean(fr.raw) == clean(written)
            blocked = any(r != "low_confidence" for r in fr.reasons)
            out.append(LabelledField(spec.kind, fr.name, fr.features, bool(correct), exact_raw, fr.value, written,
                                     blocked))
    return out


def read_labelled_dir(path: str | Path) -> list[tuple[Path, dict[str, str]]]:
    """(scan file, truth fields) for each sheet listed in ``truth.jsonl`` (as `samples generate` writes)."""
    path = Path(path)
    index = path / "truth.jsonl"
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: a labelled folder has truth.jsonl beside its scans")
    out = []
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            out.append((path / entry["file"], entry["fields"]))
    return out


def decide_all(fields: list[LabelledField], thresholds: "Thresholds") -> list[tuple[LabelledField, float, bool]]:
    """(field, score, auto-accepted) for labelled fields under ``thresholds``, without re-reading them."""
    out = []
    for f in fields:
        sc = score(f.kind, f.feats, thresholds)
        threshold = thresholds.fields.get(f.name, thresholds.kinds.get(f.kind, thresholds.default))
        out.append((f, sc, (not f.blocked) and sc >= threshold))
    return out


def collect(pipeline, labelled_dir: str | Path, workers: int | None = None, on_file=None) -> list[LabelledField]:
    """Run ``pipeline`` over a labelled folder and label every field of every registered sheet."""
    from ocr_service.pipeline import pool

    items = read_labelled_dir(labelled_dir)
    fields: list[LabelledField] = []
    for (path, truth), results in zip(items, pool.process_files(pipeline, [p for p, _ in items], workers)):
        fields.extend(label(pipeline.template, results[:1], [truth]))
        if on_file:
            on_file(path, results)
    return fields
