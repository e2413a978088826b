"""Closed-vocabulary reading: the CTC likelihood of given texts, and AsterNet choosing among a
vocabulary's entries where its free decode garbles a hand it never saw."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ocr_service.engines.base import Reading
from ocr_service.engines.onnx_env import ctc_log_likelihoods
from ocr_service.forms.model import FieldSpec
from ocr_service.pipeline.vocab_read import read_vocabulary, written_forms
from tests.test_engines import render

FONTS = Path(__file__).resolve().parents[1] / "ocr_service" / "synth" / "fonts"


def _brute_force(log_probs: np.ndarray, target: tuple[int, ...]) -> float:
    """log P(target) by summing every frame path that collapses to it (blank 0)."""
    total = -np.inf
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        out, prev = [], None
        for k in path:
            if k != prev and k != 0:
                out.append(k)
            prev = k
        if tuple(out) == target:
            total = np.logaddexp(total, sum(log_probs[t, k] for t, k in enumerate(path)))
    return float(total)


def test_ctc_likelihood_is_the_sum_over_every_alignment():
    rng = np.random.default_rng(7)
    lp = np.log(rng.dirichlet(np.ones(4), size=5))
    targets = [(1,), (1, 1), (1, 2), (2, 1, 2), (3, 3, 3), (1, 2, 3, 1)]
    got = ctc_log_likelihoods(lp, [list(t) for t in targets])
    for t, g in zip(targets, got):
        assert g == pytest.approx(_brute_force(lp, t), abs=1e-9), t


def test_ctc_likelihood_of_impossible_and_empty_targets():
    lp = np.log(np.full((3, 4), 0.25))
    got = ctc_log_likelihoods(lp, [[], [1, 1, 1], [1, 2, 3], [1, 1]])
    assert got[0] == -np.inf  # empty: not a reading
    assert got[1] == -np.inf  # three equal labels need five frames
    assert np.isfinite(got[2]) and np.isfinite(got[3])
    # long frame runs rescale every frame: no underflow
    long = np.log(np.full((400, 4), 0.25))
    assert np.isfinite(ctc_log_likelihoods(long, [[1, 2, 3]])[0])


def test_written_forms_cover_unit_words_cases_and_spacing():
    forms = written_forms("province")
    assert {"Sóc Trăng", "Tỉnh Sóc Trăng", "tỉnh sóc trăng", "SÓC TRĂNG", "SócTrăng"} <= set(forms["Sóc Trăng"])
    assert "Độc thân" in written_forms("marital_status")["Chưa kết hôn"]  # a listed variant
    assert written_forms("no such vocabulary") is None


@pytest.fixture(scope="module")
def asternet():
    from ocr_service.engines.asternet import AsterNetEngine

    return AsterNetEngine()


def spec(vocabulary: str, kind: str = "text") -> FieldSpec:
    return FieldSpec(name="f", label="f", kind=kind, box_mm=(0, 0, 50, 8), vocabulary=vocabulary)


@pytest.mark.parametrize("text,vocabulary,value", [("Việt Nam", "nationality", "Việt Nam"),
                                                   ("Kinh", "ethnicity", "Kinh"),
                                                   ("Nữ", "sex", "Nữ"),
                                                   ("Con dâu", "relation_to_head", "Con dâu")])
def test_asternet_chooses_the_written_entry_in_a_hand_it_never_saw(asternet, text, vocabulary, value):
    crop = render(text, 40, str(FONTS / "SquarePeg-Regular.ttf"))
    r = read_vocabulary(asternet, crop, spec(vocabulary))
    assert r is not None and r.engine == "asternet"
    assert r.text == value
    assert r.candidates[0][0] == value and r.candidates[0][1] > 0.5
    assert 0.0 < r.confidence <= 1.0


def test_a_word_outside_the_vocabulary_gets_a_low_confidence(asternet):
    inside = read_vocabulary(asternet, render("Việt Nam", 32), spec("nationality"))
    outside = read_vocabulary(asternet, render("Nguyễn Thị Thuỷ", 32), spec("nationality"))
    assert inside.text == "Việt Nam" and inside.confidence > 0.5
    assert outside.confidence < 0.05 < inside.confidence


def test_fields_without_a_small_vocabulary_are_left_to_the_free_decode(asternet):
    crop = render("Kinh", 32)
    assert read_vocabulary(asternet, crop, spec(None)) is None
    assert read_vocabulary(asternet, crop, spec("district")) is None  # hundreds of units: the gazetteer's job
    assert read_vocabulary(asternet, crop, spec("ethnicity", kind="digits")) is None

    class FreeOnly:  # an engine that cannot score given texts
        name = "x"

    assert read_vocabulary(FreeOnly(), crop, spec("ethnicity")) is None
    blank = read_vocabulary(asternet, np.full((40, 200), 255, np.uint8), spec("ethnicity"))
    assert blank.text == "" and blank.confidence == 0.0


def test_closed_vocabulary_fields_are_calibrated_as_their_own_kind():
    from ocr_service.forms import loader
    from ocr_service.pipeline.decide import decide
    from ocr_service.pipeline.scoring import Thresholds, calibration_kind
    from ocr_service.service.recalibrate import _calibration_kinds

    t = loader.load("dc01")
    kinds = {f.name: calibration_kind(f) for f in t.fields}
    assert kinds["ethnicity"] == kinds["nationality"] == kinds["sex"] == kinds["hdr_province"] == "vocabulary"
    assert kinds["hdr_commune"] == "text"  # thousands of communes: the gazetteer's, not a choice among entries
    assert kinds["full_name"] == "name" and kinds["id_number"] == "digits"
    # the vocabulary kind's threshold decides them, the text kind's the others
    th = Thresholds(kinds={"text": 1.0 + 1e-9, "vocabulary": 0.5})
    assert th.for_field(t.field("ethnicity")) == 0.5 and th.for_field(t.field("hdr_commune")) > 1.0
    reading = Reading("Kinh", 0.9, "asternet")
    assert decide(t.field("ethnicity"), reading, (0, 0, 1, 1), th).status == "auto_accepted"
    assert decide(t.field("hdr_commune"), Reading("Phường 3", 0.9, "asternet"), (0, 0, 1, 1), th).status == "needs_review"
    # fields refitted from reviews get the same kinds from their template (the store keeps the form's kind)
    lookup = _calibration_kinds(None)
    assert lookup("dc01", t.version, "ethnicity", "text") == "vocabulary"
    assert lookup("dc01", t.version, "no_such_field", "text") == "text"
    assert lookup("no_such_template", "v1", "ethnicity", "text") == "text"


def test_a_speck_or_stray_stroke_is_not_made_into_an_entry(asternet):
    """A stray stroke (the flourish of the line above) in an empty field matched some short entry
    ("ng", Nigeria's code lowered) before "nothing is written" competed with the entries."""
    import cv2

    assert "ng" not in written_forms("nationality")["Nigeria"] and "NG" in written_forms("nationality")["Nigeria"]
    for seed in range(6):
        rng = np.random.default_rng(seed)
        crop = np.full((18, 40), 255, np.uint8)
        pts = np.array([[3, 12], [12, int(rng.integers(3, 9))], [24, 12], [36, int(rng.integers(4, 10))]], np.int32)
        cv2.polylines(crop, [pts], False, 0, 2)
        r = read_vocabulary(asternet, crop, spec("nationality"))
        assert r.text == "" or r.confidence < 0.3, (seed, r)
    # written entries keep their confidence
    crop = render("Nga", 40, str(FONTS / "Borel-Regular.ttf"))
    r = read_vocabulary(asternet, crop, spec("nationality"))
    assert r.text == "Nga" and r.confidence > 0.8
