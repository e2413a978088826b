"""Fitting: from labelled fields to per-kind score models and thresholds that keep the error rate
among auto-accepted fields at or below a target.

For each field kind a logistic model is fitted over the evidence (``pipeline/scoring.py``
FEATURES), each evidence weight held to the sign ``scoring.SIGNS`` gives it (confidence,
agreement, validator and snap scores never lower the score; disagreement and marks on an 'empty'
crop never raise it), so the score is monotone and cannot reward evidence it never saw; the
threshold per kind is the lowest score at which the auto-accepted fields of the calibration set
were wrong at most ``target`` of the time. The range of every feature among the accepted
calibration fields is stored too (:func:`fitted_ranges`): evidence beyond it goes to review as
``out_of_calibration``. The pipeline applies the result
(``Thresholds``); it never imports this package.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ocr_service.calibration.labels import LabelledField
from ocr_service.pipeline.scoring import (DEFAULT_THRESHOLD, FEATURES, KIND_DEFAULTS, SIGNS, feature_vector, logistic,
                                          model_features, uncalibrated_score)

DEFAULT_TARGET = 0.005
MIN_ACCEPTED = 20  # fewer accepted calibration fields than this: the threshold stays closed


def _loss(x: np.ndarray, y: np.ndarray, w: np.ndarray, reg: np.ndarray) -> float:
    z = np.clip(x @ w, -50, 50)
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * w @ reg @ w)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 100,
                 lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> np.ndarray:
    """Weights (bias first) of an L2-regularized logistic regression, by projected Newton steps
    with a backtracking line search; ``lower``/``upper`` bound each weight (sign constraints)."""
    d = x.shape[1]
    lower = np.full(d, -np.inf) if lower is None else np.asarray(lower, float)
    upper = np.full(d, np.inf) if upper is None else np.asarray(upper, float)
    w = np.clip(np.zeros(d), lower, upper)
    reg = l2 * np.eye(d)
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + reg @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + reg + 1e-9 * np.eye(d)
        # weights held at a bound by a gradient pushing outward stay there this step
        free = ~(((w <= lower) & (grad > 0)) | ((w >= upper) & (grad < 0)))
        step = np.zeros(d)
        if free.any():
            step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        before, t = _loss(x, y, w, reg), 1.0
        while True:
            trial = np.clip(w - t * step, lower, upper)
            if _loss(x, y, trial, reg) <= before + 1e-12 or t < 1e-6:
                break
            t /= 2
        moved = np.abs(trial - w).max()
        w = trial
        if moved < 1e-7:
            break
    return w


def sign_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the weights (bias first) from scoring.SIGNS: the score is monotone in the evidence."""
    lower, upper = [-np.inf], [np.inf]
    for f in FEATURES:
        sign = SIGNS.get(f)
        lower.append(0.0 if sign == 1 else -np.inf)
        upper.append(0.0 if sign == -1 else np.inf)
    return np.array(lower), np.array(upper)


RANGE_QUANTILE = 0.005  # evidence weaker than all but this share of accepted calibration fields is "unseen"


def fitted_ranges(rows: list[LabelledField], accepted: np.ndarray) -> dict[str, list[float]]:
    """Per model feature, the range of the accepted calibration fields: the evidence the thresholds
    were shown to hold on (Thresholds.out_of_range sends anything beyond to review). On the side
    where evidence gets weaker (scoring.SIGNS) the bound is the RANGE_QUANTILE quantile, not the
    extreme: a confidence lower than 99.5% of the accepted fields had was seen too rarely to vouch for
    (a model may give such evidence no weight at all and still accept it); descriptors keep
    their whole range."""
    chosen = [model_features(r.feats) for r, a in zip(rows, accepted) if a]
    if not chosen:
        return {}
    out = {}
    for f in FEATURES:
        v = np.array([c[f] for c in chosen])
        lo, hi = float(v.min()), float(v.max())
        if SIGNS.get(f) == 1:
            lo = float(np.quantile(v, RANGE_QUANTILE, method="lower"))
        elif SIGNS.get(f) == -1:
            hi = float(np.quantile(v, 1 - RANGE_QUANTILE, method="higher"))
        out[f] = [math.floor(lo * 1e6) / 1e6, math.ceil(hi * 1e6) / 1e6]
    return out


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
    out = {"target_error": target, "default": 1.0, "kinds": {}, "models": {}, "ranges": {}, "fitted_on": len(fields)}
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
            plain = np.array([uncalibrated_score(r.feats) for r in rows])
            if y[0] == 0:
                out["kinds"][kind] = 1.0 + 1e-9
            elif 3.0 / len(rows) <= target:
                out["kinds"][kind] = math.floor(plain.min() * 1e6) / 1e6
            else:
                out["kinds"][kind] = KIND_DEFAULTS.get(kind, DEFAULT_THRESHOLD)
            ranges = fitted_ranges(rows, plain >= out["kinds"][kind])
            if out["kinds"][kind] >= KIND_DEFAULTS.get(kind, DEFAULT_THRESHOLD):
                # the conservative built-in gate is itself the bound on confidence; a threshold lowered
                # to the lowest score seen keeps the range (nothing vouches for the sparse low end)
                for f in ("conf", "conf_logit"):
                    ranges.pop(f, None)
            out["ranges"][kind] = ranges
            continue
        lower, upper = sign_bounds()
        w = fit_logistic(x, y, lower=lower, upper=upper)
        model = {"bias": float(w[0]), **{f: float(v) for f, v in zip(FEATURES, w[1:])}}
        out["models"][kind] = model
        scores = np.array([logistic(float(v @ w)) for v in x])
        out["kinds"][kind] = math.floor(choose_threshold(scores, y.astype(bool), target) * 1e6) / 1e6
        out["ranges"][kind] = fitted_ranges(rows, scores >= out["kinds"][kind])
    out["ranges"] = {k: v for k, v in out["ranges"].items() if v}
    return out


def write(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
