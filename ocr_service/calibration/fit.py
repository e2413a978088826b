"""Fitting: from labelled fields to per-kind score models and thresholds that keep the error rate
among auto-accepted fields at or below a target, on hands and scanners the fit never saw.

For each field kind a logistic model is fitted over the evidence (``pipeline/scoring.py``
FEATURES), each evidence weight held to the sign ``scoring.SIGNS`` gives it (confidence,
agreement, validator and snap scores never lower the score; disagreement and marks on an 'empty'
crop never raise it), so the score is monotone and cannot reward evidence it never saw.

The threshold is chosen by grouped cross-validation: every field is scored by a model fitted
without the fields that share a group label with it (its hand, its scan profile; a batch for
reviewed sheets), and the threshold per kind is the lowest at which the upper 95%
Clopper–Pearson bound on the error among the accepted out-of-group fields stays within the
target. Zero errors in n bound the rate only at ≈ 3/n, so a kind needs about 600 accepted fields
for 0.5%; short of that the conservative built-in gate holds if it let no calibration error
through, and otherwise the kind is closed (all to review). The range of every feature among the
accepted calibration fields is stored too (:func:`fitted_ranges`): evidence beyond it goes to
review as ``out_of_calibration``. The pipeline applies the result (``Thresholds``); it never
imports this package.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ocr_service.calibration.intervals import upper_bound
from ocr_service.calibration.labels import LabelledField
from ocr_service.errors import ConfigError
from ocr_service.pipeline.scoring import (CLEAR_PAGE_CHOICES, DEFAULT_THRESHOLD, FEATURES, KIND_DEFAULTS, RANGE_ONLY,
                                          SIGNS, base_kind, calibration_key, feature_vector, model_features,
                                          uncalibrated_score)

DEFAULT_TARGET = 0.005
CONFIDENCE = 0.95  # of the Clopper–Pearson bound each kind's error among accepted fields is held to
MIN_ACCEPTED = 20  # without a bound: fewer accepted calibration fields than this, the threshold stays closed


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
    for name, fn in RANGE_ONLY.items():  # bounded from below only, among the fields it applies to
        v = [x for x in (fn(r.feats) for r, a in zip(rows, accepted) if a) if x is not None]
        if v:
            out[name] = [math.floor(float(np.quantile(v, RANGE_QUANTILE, method="lower")) * 1e6) / 1e6, 1.0]
    return out


def cp_upper(errors: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper–Pearson upper bound on an error rate after ``errors`` wrong in ``n``
    (:func:`intervals.upper_bound`; 0 in n: ≈ 3/n)."""
    return upper_bound(errors, n, confidence)


def min_accepted(target: float, confidence: float = CONFIDENCE) -> int:
    """Fewest accepted fields at which zero errors bounds the error rate at ``target`` (598 for 0.5%)."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-target))


def choose_threshold(scores: np.ndarray, correct: np.ndarray, target: float,
                     confidence: float | None = None, strata: np.ndarray | None = None) -> float:
    """Lowest threshold whose accepted set (score ≥ threshold) keeps the error within ``target``;
    1.0+ (accept nothing) if there is none. With ``confidence`` the *upper Clopper–Pearson bound*
    on the accepted set's error must be within the target (:func:`cp_upper`); without, the
    observed rate, with at least MIN_ACCEPTED fields. With ``strata`` (a label per field, e.g.
    printed / handwriting) the bound must hold within every stratum that has accepted fields too,
    not only over their mix. Ties are accepted or refused together."""
    return _cut(scores, correct, target, confidence, strata)[0]


def _cut(scores: np.ndarray, correct: np.ndarray, target: float,
         confidence: float | None, strata: np.ndarray | None = None) -> tuple[float, int, int]:
    """(threshold, accepted, wrong among them) of :func:`choose_threshold`."""
    scores = np.asarray(scores, float)
    correct = np.asarray(correct, bool)
    keep = ~np.isnan(scores)  # a field no fold could score is never accepted
    order = np.argsort(-scores[keep], kind="stable")
    s, c = scores[keep][order], correct[keep][order]
    errors = np.cumsum(~c)
    by_stratum = []
    if strata is not None and len(set(np.asarray(strata)[keep].tolist())) > 1:
        st = np.asarray(strata)[keep][order]
        for name in sorted(set(st.tolist())):
            inside = st == name
            by_stratum.append((np.cumsum(inside), np.cumsum(inside & ~c)))
    best = (1.0 + 1e-9, 0, 0)
    floor = MIN_ACCEPTED if confidence is None else min_accepted(target, confidence)
    for i in range(len(s)):
        # only cut between distinct scores, so ties are accepted or refused together
        if i + 1 < len(s) and s[i + 1] == s[i]:
            continue
        n, k = i + 1, int(errors[i])
        if n < floor or k / n > target:
            continue
        if confidence is None or cp_upper(k, n, confidence) <= target:
            # a stratum with an error among its accepted fields must meet the bound on its own, too:
            # a mix of easy printed fields and hard handwritten ones can meet it while the handwritten
            # do not (a stratum without an error shows nothing worse than the mix it is bounded in)
            if all(ks[i] == 0 or cp_upper(int(ks[i]), int(ns[i]), confidence or CONFIDENCE) <= target
                   for ns, ks in by_stratum):
                best = (float(s[i]), n, k)
    return best


STRATUM = "style:"  # a group label naming the sheet's style (printed, handwriting): a stratum, not a group


def _labels(group: str) -> frozenset[str]:
    """The group labels of a field's ``group`` (its hand, scan profile, batch …), without its stratum."""
    return frozenset(x for x in group.split("|") if x and not x.startswith(STRATUM))


def stratum(group: str) -> str:
    """The stratum a field's ``group`` names (``style:printed``, ``style:handwriting``), or ''."""
    return next((x for x in group.split("|") if x.startswith(STRATUM)), "")


def _model_scores(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))


FALLBACK_FOLDS = 5  # fields without group labels are split into this many folds by position


def out_of_group_scores(rows: list[LabelledField], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's score from a model fitted only on rows sharing none of its group labels (a hand, a
    scan profile, a batch …), so every score is judged on hands and scanners its model never saw.
    Rows without labels fall back to FALLBACK_FOLDS folds by position. NaN where the rows left to
    fit on hold no error or no right field (no model can be fitted: the row is never accepted)."""
    labels = [_labels(r.group) for r in rows]
    if not any(labels):
        labels = [frozenset({f"fold:{i % FALLBACK_FOLDS}"}) for i in range(len(rows))]
    lower, upper = sign_bounds()
    out = np.full(len(rows), np.nan)
    for combo in sorted(set(labels), key=sorted):
        test = np.array([lab == combo for lab in labels])
        train = np.array([not (lab & combo) for lab in labels])
        if not train.any() or y[train].min() == y[train].max():
            continue
        w = fit_logistic(x[train], y[train], lower=lower, upper=upper)
        out[test] = _model_scores(w, x[test])
    return out


def refuse_held_out(groups, held_out: frozenset[str] | set[str], where: str = "") -> None:
    """ConfigError when any of ``groups`` (group strings, as LabelledField.group) names a hand of
    ``held_out``: those hands are kept for the leave-hands-out evaluation and never reach a fit."""
    wanted = {f"hand:{h}" for h in held_out}
    leaked = sorted({lab for g in groups for lab in _labels(g)} & wanted)
    if leaked:
        raise ConfigError(f"calibration refused{' (' + where + ')' if where else ''}: sheets of held-out hands "
                          f"({', '.join(x.removeprefix('hand:') for x in leaked)}) never reach a fit; they are kept "
                          "for the leave-hands-out evaluation")


def fit(fields: list[LabelledField], target: float = DEFAULT_TARGET, confidence: float = CONFIDENCE,
        held_out: frozenset[str] | set[str] = frozenset(), clear_page_max: float | None = None) -> dict:
    """:func:`fit_classes` at the clear-page share (``scoring.page_class``) given, or else at the one
    of CLEAR_PAGE_CHOICES whose out-of-group figures auto-accept the most calibration fields, each
    kind split at that share or kept as one class, whichever accepts more of its fields (each
    choice's thresholds are bounded on their own; ties go to the earlier choice, one class first). The share is kept
    in the result (``clear_page_max``) and applied with it at run time. Fields whose group names a
    ``held_out`` label (e.g. "hand:Borel") are refused with a ConfigError: those hands are for
    evaluation only."""
    refuse_held_out((f.group for f in fields), held_out)
    if clear_page_max is not None:
        return fit_classes(fields, target, confidence, clear_page_max)
    one = fit_classes(fields, target, confidence, CLEAR_PAGE_CHOICES[0])
    best = (_accepted(one), one)
    for share in CLEAR_PAGE_CHOICES[1:]:
        out = _with_one_class_where_better(fit_classes(fields, target, confidence, share), one)
        if _accepted(out) > best[0]:
            best = (_accepted(out), out)
    return best[1]


def _accepted(out: dict) -> int:
    return sum(r["accepted"] for r in out["cv"].values())


def _with_one_class_where_better(split: dict, one: dict) -> dict:
    """``split`` (clear pages apart) where, for each kind, its two classes accept more calibration
    fields out of group than the kind as one class (``one``) does; else that kind's entries from
    ``one``. A kind kept as one class holds no ``KIND@clear`` entry, so at run time its fields on
    clear pages fall back to the kind's model (``Thresholds._key``). Each class stays bounded on its
    own."""
    def by_kind(out: dict) -> dict[str, int]:
        acc: dict[str, int] = {}
        for key, r in out["cv"].items():
            acc[base_kind(key)] = acc.get(base_kind(key), 0) + r["accepted"]
        return acc

    split_acc, one_acc = by_kind(split), by_kind(one)
    merged = {**split, **{part: {} for part in ("kinds", "models", "ranges", "cv")}}
    for kind in sorted(set(split_acc) | set(one_acc)):
        source = split if split_acc.get(kind, 0) > one_acc.get(kind, 0) else one
        for part in ("kinds", "models", "ranges", "cv"):
            merged[part].update({k: v for k, v in source[part].items() if base_kind(k) == kind})
    return merged


def fit_classes(fields: list[LabelledField], target: float, confidence: float, clear_page_max: float) -> dict:
    """Models and thresholds per field kind and page class (a kind's fields on clear pages,
    ``page_unsure`` ≤ ``clear_page_max``, as ``KIND@clear``), as stored in a thresholds file, chosen
    by grouped cross-validation (:func:`out_of_group_scores`): each kind's threshold is the lowest at which the
    upper ``confidence`` Clopper–Pearson bound on the out-of-group error among accepted fields is
    within ``target``, over all its fields and within each stratum its groups name (``style:…``:
    printed, handwriting); the model applied at run time is then fitted on all fields of the kind.
    A kind where no threshold reaches such a bound (too few fields the model would accept: fewer
    than :func:`min_accepted` at zero errors) keeps the conservative built-in gate if no field it
    would accept was wrong; otherwise it is closed (every field to review).
    ``out["cv"]`` reports per kind: regime, fields, accepted, wrong, residual, the bound, straight-through."""
    out = {"target_error": target, "confidence": confidence, "default": 1.0, "kinds": {}, "models": {},
           "ranges": {}, "cv": {}, "fitted_on": len(fields), "clear_page_max": clear_page_max,
           "groups": len({f.group for f in fields if f.group})}
    keys = [calibration_key(f.kind, f.feats, clear_page_max) for f in fields]
    for kind in sorted(set(keys)):  # a kind, or a kind on clear pages (scoring.page_class)
        every = [f for f, k in zip(fields, keys) if k == kind]
        rows = [f for f in every if not f.blocked]
        if not rows:
            continue
        x = np.array([feature_vector(f.feats) for f in rows])
        y = np.array([f.correct for f in rows], dtype=float)
        correct = y.astype(bool)
        gate = KIND_DEFAULTS.get(base_kind(kind), DEFAULT_THRESHOLD)
        plain = np.array([uncalibrated_score(r.feats) for r in rows])
        if y.min() == y.max():
            # nothing wrong (or nothing right) to learn from: no model, the score is the engine's own
            # confidence; its threshold obeys the same bound
            oog, w = plain, None
        else:
            oog = out_of_group_scores(rows, x, y)
            lower, upper = sign_bounds()
            w = fit_logistic(x, y, lower=lower, upper=upper)
        strata = np.array([stratum(f.group) for f in rows])
        threshold, n_acc, wrong = _cut(oog, correct, target, confidence, strata)
        regime = "bound"
        if w is not None and threshold <= 1.0:
            # the model applied at run time must keep the bound on its own scores too: a threshold
            # chosen on out-of-group scores can sit below a wrong field the final model scores high
            # (e.g. a model left with no weight but its bias scores every field alike)
            threshold = max(threshold, _cut(_model_scores(w, x), correct, target, confidence, strata)[0])
        if threshold > 1.0:
            gated = plain >= gate
            if not (gated & ~correct).any():
                # too few fields the model would accept to bound anything (however many the kind
                # has): the conservative built-in gate, without a model, if it let no error through
                regime, w, threshold = "gate", None, gate
                n_acc, wrong = int(gated.sum()), 0
            else:
                regime = "closed"
        if w is not None and regime == "bound":
            out["models"][kind] = {"bias": float(w[0]), **{f: float(v) for f, v in zip(FEATURES, w[1:])}}
            final = _model_scores(w, x)
        else:
            final = plain
        out["kinds"][kind] = (1.0 + 1e-9) if regime == "closed" else math.floor(threshold * 1e6) / 1e6
        if regime != "closed":
            ranges = fitted_ranges(rows, final >= out["kinds"][kind])
            if regime == "gate" or (w is None and out["kinds"][kind] >= gate):
                # the conservative built-in gate is itself the bound on confidence
                for f in ("conf", "conf_logit", *RANGE_ONLY):
                    ranges.pop(f, None)
            out["ranges"][kind] = ranges
        out["cv"][kind] = {"regime": regime, "fields": len(every), "not_blocked": len(rows),
                           "errors": int((~correct).sum()), "accepted": n_acc, "wrong_accepted": wrong,
                           "straight_through": n_acc / len(every),
                           "residual_error": wrong / n_acc if n_acc else 0.0,
                           "upper_bound": cp_upper(wrong, n_acc, confidence) if n_acc else 1.0,
                           "groups": len({f.group for f in rows})}
    out["ranges"] = {k: v for k, v in out["ranges"].items() if v}
    return out


def format_cv(data: dict) -> str:
    """The grouped cross-validation report of :func:`fit` as a table: per kind, how the threshold was
    set, straight-through, residual error, its upper bound and n (out-of-group figures)."""
    conf = data.get("confidence", CONFIDENCE)
    lines = [f"| kind | threshold | regime | fields | straight-through | residual error (wrong/accepted) | "
             f"{conf:.0%} upper bound | groups |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for kind, r in data.get("cv", {}).items():
        lines.append(f"| {kind} | {data['kinds'][kind]:.4f} | {r['regime']} | {r['fields']} | "
                     f"{r['straight_through']:.1%} | {r['residual_error']:.2%} ({r['wrong_accepted']}/{r['accepted']}) | "
                     f"{r['upper_bound']:.2%} | {r['groups']} |")
    return "\n".join(lines)


def write(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
