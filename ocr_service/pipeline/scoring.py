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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ocr_service.engines.base import DIGIT_KINDS, NEURAL_ENGINES, TEXT_KINDS, Reading
from ocr_service.forms.model import FieldSpec, Template
from ocr_service.pipeline.vocab_read import written_forms
from ocr_service.vietnamese.suggest import family_of
from ocr_service.vietnamese.text import match_key
from ocr_service.vietnamese.validators import Finding, listed_name_parts

BASE_FEATURES = ("conf", "conf_logit", "has_validator", "valid", "vscore", "agree", "disagree", "empty", "length",
                 "neural", "snap_score", "snap_margin")
# Combinations a linear model cannot find alone, each oriented so that its sign is known: an
# engine's confidence means more when a second engine agreed; marks or clutter on a crop read as
# empty mean less. (The ink of written fields is kept in the features but not modelled: its
# contrast mostly tells printed from handwritten sheets, a proxy, not evidence of a right reading.)
DERIVED_FEATURES = {
    "conf_agreed": lambda f: f["conf"] * f["agree"],
    "empty_contrast": lambda f: f["empty"] * f.get("max_contrast", 0.0),
    "empty_marks": lambda f: f["empty"] * min(f.get("ink_components", 0.0), 5.0) / 5.0,
    "empty_share": lambda f: f["empty"] * min(1.0, 20.0 * f.get("ink_share", 0.0)),
    "empty_clutter": lambda f: f["empty"] * min(1.0, f.get("clutter", 0.0)),
    # the engine's confidence in a written reading (an empty reading's confidence is the emptiness
    # evidence's, on another scale): its calibrated range bounds the readings, not the blanks
    "written_conf": lambda f: f["conf"] if not f["empty"] else 1.0,
    # the page's difficulty (page_features); evidence kept without it counts as the hardest page
    "page_unsure": lambda f: f.get("page_unsure", 1.0),
    # a name's surname and middle names are listed ones (value_features); evidence kept without
    # them counts as unlisted
    "surname_listed": lambda f: f.get("surname_listed", 0.0),
    "middle_listed": lambda f: f.get("middle_listed", 0.0),
    # the same value was read in another field of its family on the sheet (echoes); evidence kept
    # without it counts as not echoed
    "echoed": lambda f: f.get("echoed", 0.0),
    # where the engines disagreed, how unlike the chosen value the others' texts are
    # (evidence._contradiction; 0.0 where they agreed or gave no opinion); evidence kept without it
    # counts as wholly unlike
    "contradiction": lambda f: f.get("contradiction", f["disagree"]),
}
FEATURES = BASE_FEATURES + tuple(DERIVED_FEATURES)
# The score must be monotone in the evidence: a lower engine confidence, a failed validator, a
# worse snap, disagreeing engines or more marks on a crop read as empty never raise it. So each
# evidence feature's weight has a fixed sign (+1: never negative, -1: never positive); the others
# (None) describe the field rather than grade it and are free; a reading's length may only lower the
# score (more characters, more to misread: a fit free to reward it learnt that long vocabulary entries
# were seldom wrong and promoted any long wrong entry). calibration/fit.py fits within these
# signs; Thresholds.out_of_range checks the evidence against what calibration saw in the same
# direction.
SIGNS: dict[str, int | None] = {
    "conf": 1, "conf_logit": 1, "valid": 1, "vscore": 1, "agree": 1, "conf_agreed": 1,
    "snap_score": 1, "snap_margin": 1, "written_conf": 1, "surname_listed": 1, "middle_listed": 1, "echoed": 1,
    "disagree": -1, "contradiction": -1, "page_unsure": -1,
    "empty_contrast": -1, "empty_marks": -1, "empty_share": -1, "empty_clutter": -1,
    "has_validator": None, "empty": None, "length": -1, "neural": None,
}
# Descriptors whose range calibration does not vouch for: any length of text may be read.
UNRANGED = frozenset({"length"})
# Evidence bounded by the calibrated ranges only, not modelled (None where it does not apply):
# the confidence of a written reading no other engine gave an opinion on. The cascade asks a second
# engine below 0.95, so a lone reading under that was never accepted in calibration, and a model's
# other evidence must not vouch for it. (Not a model feature: going from no opinion to a disagreeing
# one would raise it, and disagreement must never raise the score.)
RANGE_ONLY = {"lone_conf": lambda f: None if f.get("agree") or f.get("disagree") or f.get("empty") else f["conf"]}
# Measured ink (dropout.InkEvidence.features), kept in a field's features for calibration.
INK_FEATURES = ("ink_share", "ink_components", "max_contrast", "clutter")
# Before calibration: Tesseract's weakest-symbol confidence of 0.98 accepted ~95% of printed
# fields with ≤0.4% wrong (shared/notes/tooling-facts.md).
DEFAULT_THRESHOLD = 0.98
# Mark readers' certainty is on their own scale (ocr_service/engines/checkmarks.py).
KIND_DEFAULTS = {"signature": 0.75, "choice": 0.75}


PAGE_SURE = 0.95  # the cascade's own gate: a reading under it was not sure
LINE_KINDS = TEXT_KINDS | DIGIT_KINDS


def page_features(fields: list[tuple[str, dict[str, float]]]) -> dict[str, float]:
    """Evidence about a whole page, the same for each of its fields, from its fields' (template kind,
    features): ``page_unsure``, the share of its written line fields (text, names, addresses, digits,
    dates) whose reading's confidence is under PAGE_SURE. A handwritten, faint or damaged page has
    many, a clean printed one few; a page without a written line field counts as the hardest (1.0)."""
    written = [f for kind, f in fields if kind in LINE_KINDS and not f.get("empty", 1.0)]
    if not written:
        return {"page_unsure": 1.0}
    return {"page_unsure": sum(f["conf"] < PAGE_SURE for f in written) / len(written)}


# A page where at most a share of the written line fields was read unsure is a *clear* page (a
# clean print, a very regular hand). Its fields are calibrated apart from the other pages' (their
# own model, threshold and ranges: key ``KIND@clear``, :func:`calibration_key`): the class is
# evidence observed on the page at run time, not the sheet's style, which is never known. Pooled,
# one threshold per kind has to hold on the hardest hands and keeps clear pages' fields back with
# them. The share is chosen by calibration among CLEAR_PAGE_CHOICES (calibration/fit.py) and kept in
# the thresholds file; CLEAR_PAGE_MAX is the default where a file names none.
CLEAR_PAGE_MAX = 0.1
CLEAR_PAGE_CHOICES = (-1.0, 0.05, 0.1, 0.15, 0.2)  # -1: no page is clear (one class, as before)
CLEAR_PAGE = "clear"

# A closed-vocabulary field whose engines read different values is calibrated apart, on any
# page (key ``vocabulary@disputed``). Pooled with the others, the model scored the neural reader's
# choice high even at a low posterior against the other engine: on the DC01 calibration hands those
# read under 0.6 and accepted out of group were wrong 26 times in 1,034 (2.5%), while the kind as a
# whole met its bound on the many agreeing and empty fields; a hand that is hard for the engines
# has more disputed fields, and the pooled figure does not hold on it. A class of their own must
# show the bound on their own fields. Digits were tried too (2 of their 4 disputed fields accepted
# out of group were wrong), but the rest of the kind, freed of them, was then fitted looser and let
# a wrong household-book number through on the held-out hands; names, addresses and signatures
# showed no such pocket. They stay whole.
VOCABULARY_KIND = "vocabulary"
DISPUTED = "disputed"
DISPUTED_KINDS = frozenset({VOCABULARY_KIND})


def page_class(feats: dict[str, float], clear_max: float = CLEAR_PAGE_MAX) -> str:
    """The page class of a field's evidence: CLEAR_PAGE when its page's ``page_unsure`` is at most
    ``clear_max``, else '' (every other page, and evidence kept without the page's)."""
    return CLEAR_PAGE if feats.get("page_unsure", 1.0) <= clear_max else ""


def calibration_key(kind: str, feats: dict[str, float], clear_max: float = CLEAR_PAGE_MAX) -> str:
    """What a field's model, threshold and ranges are looked up and fitted under: its calibration
    kind, with ``@disputed`` for a closed-vocabulary field the engines disagree on
    (DISPUTED_KINDS, on any page), else with ``@clear`` on a clear page (:func:`page_class`)."""
    if kind in DISPUTED_KINDS and feats.get("disagree", 0.0) >= 1.0:
        return f"{kind}@{DISPUTED}"
    cls = page_class(feats, clear_max)
    return f"{kind}@{cls}" if cls else kind


def base_kind(key: str) -> str:
    """The calibration kind of a :func:`calibration_key`."""
    return key.split("@", 1)[0]


def calibration_kind(spec: FieldSpec) -> str:
    """The kind a field is scored and thresholded as: its template kind, except that fields with a
    small closed vocabulary (``vocab_read.written_forms``: sex, ethnicity, nationality …) are
    calibrated together as 'vocabulary'. Their readings are choices among entries, their evidence
    (posterior, snap margin) unlike free text's, so they get a model and a threshold of their own."""
    if spec.vocabulary and written_forms(spec.vocabulary):
        return VOCABULARY_KIND
    return spec.kind


def features(reading: Reading, finding: Finding | None, agree: int, nonempty: bool,
             ink: dict[str, float] | None = None) -> dict[str, float]:
    """The evidence about one field as numbers (names in BASE_FEATURES, plus the measured ink of
    INK_FEATURES when known). ``agree`` is 1 when another engine read the same, -1 when the others
    read something else, 0 with no second opinion."""
    conf = min(max(float(reading.confidence), 0.0), 1.0)
    snap = finding.data.get("snap") if finding is not None else None
    snapped = snap is not None and getattr(snap, "value", None) is not None
    feats = {
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
        # a field without a vocabulary snap has no snap risk (1.0)
        "snap_score": float(snap.score) if snapped else (0.0 if snap is not None else 1.0),
        "snap_margin": max(0.0, min(1.0, float(snap.margin))) if snapped else (0.0 if snap is not None else 1.0),
    }
    for name in INK_FEATURES:
        if ink is not None and name in ink:
            feats[name] = float(ink[name])
    return feats


NAME_KIND = "name"


def value_features(kind: str, value: str) -> dict[str, float]:
    """Evidence from the value chosen for a field of template ``kind``: for a personal name, whether
    its surname is a listed one and the share of its middle names that are (``surname_listed``,
    ``middle_listed``: validators.listed_name_parts); 1.0 for every other kind and for an empty
    value, which carry no such risk."""
    if kind != NAME_KIND or not value.strip():
        return {"surname_listed": 1.0, "middle_listed": 1.0}
    surname, middle = listed_name_parts(value)
    return {"surname_listed": 1.0 if surname else 0.0, "middle_listed": middle}


ECHO_MIN_CHARS = 4  # a shorter value repeats by chance


def echoes(fields: list[tuple[FieldSpec, str]]) -> list[float]:
    """For each (field, chosen value) of one sheet, 1.0 when another field of its family
    (vietnamese.suggest.family_of: names, addresses, IDs …; for a closed-vocabulary field, the
    other fields of its vocabulary) holds the same value, read from its own place on the page: the
    person's name again as the declarant's, an ID as the head's, the father's nationality. Two
    readings of two writings that agree are evidence; the calibration decides how much (the same
    hand misread the same way twice is not rare). 0.0 otherwise, and for values under
    ECHO_MIN_CHARS letters or digits."""
    keys = []
    for spec, value in fields:
        # (suggest.family_of gives a vocabulary field none: for suggestions its list is the list)
        fam = family_of(spec.vocabulary, spec.validators) or (spec.vocabulary and f"vocabulary:{spec.vocabulary}")
        key = match_key(value)
        keys.append((fam, key) if fam and len(key.replace(" ", "")) >= ECHO_MIN_CHARS else None)
    count = Counter(k for k in keys if k)
    return [1.0 if k and count[k] > 1 else 0.0 for k in keys]


def feature_vector(feats: dict[str, float]) -> np.ndarray:
    """The model's input for ``feats``: a leading 1 (bias), then FEATURES in order."""
    return np.array([1.0] + [feats.get(f, 0.0) for f in BASE_FEATURES] + [fn(feats) for fn in DERIVED_FEATURES.values()])


def model_features(feats: dict[str, float]) -> dict[str, float]:
    """FEATURES by name for ``feats`` (what the model and the calibrated ranges see)."""
    return dict(zip(FEATURES, feature_vector(feats)[1:].tolist()))


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
    # per kind: feature → [lowest, highest] among the calibration fields the thresholds accepted
    ranges: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    clear_page_max: float = CLEAR_PAGE_MAX  # the page_unsure of a clear page (page_class), as fitted

    def _key(self, kind: str, feats: dict[str, float] | None) -> str:
        """The key this file holds for a field of ``kind`` with evidence ``feats``: the page class's
        (:func:`calibration_key`) when fitted, else the kind's (files fitted before page classes)."""
        if feats is None:
            return kind
        key = calibration_key(kind, feats, self.clear_page_max)
        return key if key in self.kinds or key in self.models else kind

    def threshold(self, kind: str, name: str, feats: dict[str, float] | None = None) -> float:
        """The score a field of this kind and name (with evidence ``feats``: its page class) must
        reach to be auto-accepted."""
        return self.fields.get(name, self.kinds.get(self._key(kind, feats), self.kinds.get(kind, self.default)))

    def for_field(self, spec: FieldSpec, feats: dict[str, float] | None = None) -> float:
        """The threshold of this field, by its calibration kind (:func:`calibration_kind`) and the
        page class of its evidence ``feats``."""
        return self.threshold(calibration_kind(spec), spec.name, feats)

    def score(self, kind: str, feats: dict[str, float]) -> float:
        """The field's score: the calibrated probability of being right when a model is fitted for
        its kind (and page class), else :func:`uncalibrated_score`."""
        model = self.models.get(self._key(kind, feats))
        if not model:
            return uncalibrated_score(feats)
        w = np.array([model.get("bias", 0.0)] + [model.get(f, 0.0) for f in FEATURES])
        # a file fitted before SIGNS may hold weights of the wrong sign: they are not applied
        for i, f in enumerate(FEATURES, start=1):
            sign = SIGNS.get(f)
            if sign is not None and w[i] * sign < 0:
                w[i] = 0.0
        return logistic(float(feature_vector(feats) @ w))

    def out_of_range(self, kind: str, feats: dict[str, float]) -> list[str]:
        """The evidence of this field that calibration never saw accepted, in the direction that
        matters (SIGNS): a lower confidence or margin than any accepted calibration field had, more
        marks on an 'empty' crop, a descriptor (engine type, emptiness, length) outside the range.
        Empty without ranges for the kind (uncalibrated)."""
        ranges = self.ranges.get(self._key(kind, feats))
        if not ranges:
            return []
        out = []
        for name, value in model_features(feats).items():
            if name not in ranges or name in UNRANGED:
                continue
            lo, hi = ranges[name]
            sign = SIGNS.get(name)
            eps = 1e-6 * max(1.0, abs(value))  # ranges are stored to 6 decimals
            if (sign != -1 and value < lo - eps) or (sign != 1 and value > hi + eps):
                out.append(name)
        for name, fn in RANGE_ONLY.items():
            value = fn(feats)
            if value is not None and name in ranges and value < ranges[name][0] - 1e-6:
                out.append(name)
        return out

    @classmethod
    def load(cls, path: str | Path | None) -> "Thresholds":
        """Thresholds from a file written by `calibrate`; the built-in defaults when there is none."""
        if path is None or not Path(path).exists():
            return cls()
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(float(data.get("default", DEFAULT_THRESHOLD)), {**cls().kinds, **data.get("kinds", {})},
                   dict(data.get("fields", {})), dict(data.get("models", {})), str(path),
                   dict(data.get("ranges", {})), float(data.get("clear_page_max", CLEAR_PAGE_MAX)))


UNCALIBRATED = Thresholds()


def thresholds_path(template: Template, engines: str = "tesseract") -> Path:
    """Where `calibrate` writes a template's thresholds for an engine configuration (beside the
    template file); `extract` reads them from there."""
    return template.source.with_name(f"{template.version}.thresholds.{Path(engines).stem}.json")
