"""Closed-vocabulary reading: a field whose template names a small closed vocabulary (sex, ethnicity,
religion, nationality, relationship to the head …) is read by asking a neural engine how well each of
the vocabulary's written forms explains the crop, instead of decoding freely and snapping the result.

A free decode of a hand the model never saw garbles letters ("Vuêt Nam", "K.nt"), and snapping such
text to the nearest entry is a guess. Scoring every entry by its CTC likelihood (summed over every
alignment, ``engines/onnx_env.ctc_log_likelihoods``) uses all the model's evidence for each entry, and
the entries to choose among are few, so the likeliest entry is right far more often.

The reading's confidence is the evidence that this entry, and not another or something outside the
vocabulary, is written: the posterior of the best value among the vocabulary's values, times the
share of the probability of the model's own best path that the entry keeps, per character (a value
outside the vocabulary keeps little of it). Calibration then decides what that confidence is worth.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ocr_service.engines.base import TEXT_KINDS, Reading
from ocr_service.forms.model import FieldSpec
from ocr_service.vietnamese.vocab import get_vocabulary

MAX_VALUES = 300  # larger vocabularies (districts, communes) are left to the free decode and the gazetteer
CANDIDATES = 3  # values offered to the reviewer, likeliest first
SHORTLIST = 8  # values whose every written variant is scored, after a first pass over the forms as listed


@lru_cache(maxsize=None)
def written_forms(vocabulary: str) -> dict[str, tuple[str, ...]] | None:
    """Per canonical value, every way it may be written: its forms as listed first, then with or
    without the unit word before them (``Vocabulary.prefixes``), in the cases people write them (as
    listed, lower case, capitalized, upper case) and, for forms of several words, without the
    spaces; codes and abbreviations (upper case, at most three letters) only as listed. None for an
    unknown vocabulary or one of more than MAX_VALUES values."""
    try:
        vocab = get_vocabulary(vocabulary)
    except KeyError:
        return None
    forms = vocab.written_forms()
    if not forms or len(forms) > MAX_VALUES:
        return None
    out: dict[str, tuple[str, ...]] = {}
    for value, written in forms.items():
        texts = dict.fromkeys(written)
        for form in written:
            # a code or abbreviation (VN, NG, AB) is written as listed: lowered or after a unit
            # word, a speck or a stray stroke matches it
            if form.isupper() and len(form.replace(" ", "")) <= 3:
                continue
            # a unit word may precede the value ("Tỉnh Sóc Trăng", "Quốc tịch Việt Nam")
            for base in (form, *(f"{p} {form}" for p in vocab.prefixes)):
                for variant in (base, base.lower(), base[:1].upper() + base[1:], base.upper()):
                    texts.update(dict.fromkeys(t for t in (variant, variant.replace(" ", "")) if t.strip()))
        out[value] = tuple(texts)
    return out


def _scores(engine, image: np.ndarray, forms: list[tuple[str, str]]) -> tuple[dict[str, float], dict, float, float]:
    """Per value, the log-probability of being written in one of ``forms`` ((text, value) pairs;
    different texts are different label sequences, so their probabilities add up), its likeliest
    form (log-likelihood, text), the engine's best-path log-probability and that of "nothing"."""
    scores, best_path, nothing = engine.score_texts(image, [t for t, _ in forms])
    by_value: dict[str, float] = {}
    best_form: dict[str, tuple[float, str]] = {}
    for (text, value), s in zip(forms, scores.tolist()):
        if math.isfinite(s):
            by_value[value] = float(np.logaddexp(by_value.get(value, -np.inf), s))
            if s > best_form.get(value, (-np.inf, ""))[0]:
                best_form[value] = (s, text)
    return by_value, best_form, best_path, nothing


def read_vocabulary(engine, image: np.ndarray, spec: FieldSpec) -> Reading | None:
    """The engine's reading of a closed-vocabulary field, chosen among the vocabulary's written forms
    (:func:`written_forms`), or None when this field or engine does not allow it (no small
    vocabulary, not a text field, an engine that cannot score given texts). The text is the likeliest
    written form (validation maps it to the canonical value); the candidates are the likeliest
    values with their posteriors. "Nothing is written" (the all-blank path) competes with the
    entries: where it is likelier than every entry the reading is empty, and it always takes its
    share of the posterior (a speck or a stroke from the line above otherwise matches some short
    entry). The forms as listed are scored first; every variant, only for the SHORTLIST likeliest
    values."""
    if not spec.vocabulary or spec.kind not in TEXT_KINDS or not hasattr(engine, "score_texts"):
        return None
    forms = written_forms(spec.vocabulary)
    if not forms:
        return None
    vocab = get_vocabulary(spec.vocabulary)
    listed = vocab.written_forms()
    by_value, best_form, best_path, nothing = _scores(engine, image, [(t, v) for v, ts in listed.items() for t in ts])
    if not by_value or not math.isfinite(best_path):
        return Reading.empty(engine.name)
    shortlist = sorted(by_value, key=by_value.get, reverse=True)[:SHORTLIST]
    full, full_best, _, _ = _scores(engine, image, [(t, v) for v in shortlist for t in forms[v]])
    by_value.update(full)
    best_form.update(full_best)
    values = sorted(by_value, key=by_value.get, reverse=True)
    if nothing >= by_value[values[0]]:
        return Reading.empty(engine.name)
    total = float(np.logaddexp.reduce(np.array([nothing] + [by_value[v] for v in values])))
    posterior = {v: math.exp(by_value[v] - total) for v in values}
    top = values[0]
    top_score, text = best_form[top]
    kept = math.exp(min(0.0, top_score - best_path) / max(1, len(text.replace(" ", ""))))
    confidence = max(0.0, min(1.0, posterior[top] * kept))
    candidates = tuple((best_form[v][1], posterior[v]) for v in values[:CANDIDATES])
    return Reading(text, confidence, engine.name, (), candidates)
