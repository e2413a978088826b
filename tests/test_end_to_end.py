"""End to end on generated sheets: scan-like images in, decided fields out, compared with ground truth.

Uses the committed calibrated thresholds (templates/dc01/*.thresholds.*.json), real Tesseract and,
for the cascade, the real neural engines.
"""

from __future__ import annotations

import pytest

from ocr_service import calibration
from ocr_service.forms import loader
from ocr_service.synth import fill
from ocr_service.pipeline.scoring import Thresholds, thresholds_path
from ocr_service.engines.registry import RecognitionConfig
from ocr_service.pipeline.build import Pipeline

PRINTED_SHEETS = 5
HAND_SHEETS = 3


@pytest.fixture(scope="module")
def dc01():
    return loader.load("dc01")


@pytest.fixture(scope="module")
def printed_dir(tmp_path_factory, dc01):
    out = tmp_path_factory.mktemp("printed")
    fill.generate(dc01, PRINTED_SHEETS, 9101, out, style="printed", formats=("jpg", "pdf", "png", "tiff"))
    return out


@pytest.fixture(scope="module")
def hand_dir(tmp_path_factory, dc01):
    out = tmp_path_factory.mktemp("hand")
    fill.generate(dc01, HAND_SHEETS, 9102, out, style="handwriting", formats=("jpg", "pdf"))
    return out


def _fields(dc01, folder, engines):
    pipeline = Pipeline(dc01, Thresholds.load(thresholds_path(dc01, engines)),
                        RecognitionConfig.named(engines))
    return pipeline, calibration.collect(pipeline, folder, workers=1)


@pytest.fixture(scope="module")
def printed_tesseract(dc01, printed_dir):
    return _fields(dc01, printed_dir, "tesseract")


@pytest.fixture(scope="module")
def hand_tesseract(dc01, hand_dir):
    return _fields(dc01, hand_dir, "tesseract")


@pytest.fixture(scope="module")
def hand_cascade(dc01, hand_dir):
    return _fields(dc01, hand_dir, "cascade")


def _summary(pipeline, fields):
    rows = calibration.decide_all(fields, pipeline.thresholds)
    accepted = [f for f, _, a in rows if a]
    wrong_accepted = [f for f in accepted if not f.correct]
    return {
        "exact": sum(f.correct for f in fields) / len(fields),
        "straight_through": len(accepted) / len(fields),
        "wrong_accepted": wrong_accepted,
        "accepted": len(accepted),
    }


def test_every_printed_sheet_registers_and_every_field_is_decided(dc01, printed_tesseract):
    _, fields = printed_tesseract
    assert len(fields) == PRINTED_SHEETS * len(dc01.fields)


def test_printed_fills_reach_98_percent_exact_fields(printed_tesseract):
    pipeline, fields = printed_tesseract
    s = _summary(pipeline, fields)
    wrong = [(f.name, f.value, f.truth) for f in fields if not f.correct]
    print(f"printed: exact {s['exact']:.1%}, straight-through {s['straight_through']:.1%}, wrong {wrong}")
    assert s["exact"] >= 0.98, wrong


def test_handwriting_errors_go_to_review(hand_tesseract):
    """At the calibrated thresholds, a wrong handwriting-style reading is sent to review; the
    residual error among auto-accepted fields is reported and must stay small."""
    pipeline, fields = hand_tesseract
    s = _summary(pipeline, fields)
    residual = len(s["wrong_accepted"]) / max(1, s["accepted"])
    print(f"handwriting (Tesseract): exact {s['exact']:.1%}, straight-through {s['straight_through']:.1%}, "
          f"residual {residual:.2%} ({[(f.name, f.value, f.truth) for f in s['wrong_accepted']]})")
    # the gate is not simply closed; since thresholds must show a 95% bound on hands they never saw,
    # kinds that cannot (names, digits with Tesseract alone) go to review, so this is far below printed
    assert s["accepted"] > 0.2 * len(fields)
    assert residual <= 0.01


def test_cascade_reads_handwriting_better_than_tesseract_alone(hand_tesseract, hand_cascade):
    pt, tess = hand_tesseract
    pc, casc = hand_cascade
    st, sc = _summary(pt, tess), _summary(pc, casc)
    print(f"handwriting exact: Tesseract {st['exact']:.1%}, cascade {sc['exact']:.1%}; straight-through "
          f"{st['straight_through']:.1%} → {sc['straight_through']:.1%}")
    assert sc["exact"] > st["exact"]
    assert any(f.feats["neural"] for f in casc), "the cascade never consulted a neural engine"
    residual = len(sc["wrong_accepted"]) / max(1, sc["accepted"])
    assert residual <= 0.01
