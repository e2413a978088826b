"""Fitting: from labelled fields to per-kind score models and thresholds that keep the error rate
among auto-accepted fields at or below a target.

For each field kind a logistic model is fitted over the evidence (``pipeline/scoring.py``
FEATURES); the threshold per kind is the lowest score at which the auto-accepted fields of the
calibration set were wrong at most ``target`` of the time. The pipeline applies the result
(``Thresholds``); it never imports this package.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ocr_service.calibration.labels import LabelledField
from ocr_service.pipeline.scoring import (DEFAULT_THRESHOLD, FEATURES, KIND_DEFAULTS, feature_vector, logistic,
                                          uncalibrated_score)

DEFAULT_TARGET = 0.005
MIN_ACCEPTED = 20  # fewer accepted calibration fields than this: the threshold stays closed


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


def fit(fields: list[LabelledField], target: float = DEFAULT_TARGET) -> dict:
    """Models and thresholds per field kind, as stored in a thresholds file."""
    out = {"target_error": target, "default": 1.0, "kinds": {}, "models": {}, "fitted_on": len(fields)}
    for kind in sorted({f.kind for f in fields}):
        rows = [f for f in fields if f.kind == kind and not f.blocked]
        if not rows:
            continue
        x = np.array([feature_vector(f.feats) for f in rows])
        y = np.array([f.correct for f in rows], dtype=float)
        if y.min() == y.max():
            # Nothing wrong (or nothing right) to learn from: no model; the score stays the engine's
            # own confidence. With no error in n fields the error rate is below 3/n (95%): where
            # that is within the target, accept down to the lowest score seen; otherwise keep the
            # built-in conservative gate.
            plain = [uncalibrated_score(r.feats) for r in rows]
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
        scores = np.array([logistic(float(v @ w)) for v in x])
        out["kinds"][kind] = math.floor(choose_threshold(scores, y.astype(bool), target) * 1e6) / 1e6
    return out


def write(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
