"""How unlike the chosen value the other engines' texts are, where they disagreed
(evidence._contradiction, the feature ``contradiction``)."""

from __future__ import annotations

import pytest

from ocr_service.engines.base import Reading
from ocr_service.forms import loader
from ocr_service.pipeline.evidence import choose
from ocr_service.pipeline.scoring import SIGNS, Thresholds, features, model_features


@pytest.fixture(scope="module")
def ethnicity():
    return loader.load("dc01").field("ethnicity")


def _evidence(spec, *others: Reading, thresholds: Thresholds | None = None):
    chosen = Reading("Kinh", 0.9, "asternet")
    return choose(spec, [chosen, *others], {}, thresholds or Thresholds())


def test_an_unreadable_second_reading_that_shares_letters_contradicts_less_than_another_entry(ethnicity):
    garbled = _evidence(ethnicity, Reading("K.nt", 0.4, "tesseract"))
    rival = _evidence(ethnicity, Reading("Tày", 0.9, "tesseract"))
    nothing = _evidence(ethnicity, Reading("", 0.9, "tesseract"))
    agreed = _evidence(ethnicity, Reading("kinh", 0.7, "tesseract"))
    alone = choose(ethnicity, [Reading("Kinh", 0.9, "asternet")], {}, Thresholds())
    assert garbled.value == rival.value == nothing.value == agreed.value == "Kinh"
    assert 0.2 < garbled.features["contradiction"] < rival.features["contradiction"] < 1.0
    assert nothing.features["contradiction"] == 1.0  # the other engine saw nothing there
    assert agreed.features["contradiction"] == alone.features["contradiction"] == 0.0


def test_contradiction_never_raises_a_score_and_old_evidence_counts_as_wholly_unlike(ethnicity):
    assert SIGNS["contradiction"] == -1
    th = Thresholds(models={"vocabulary@disputed": {"bias": 0.0, "conf": 4.0, "contradiction": -3.0},
                            "vocabulary": {"bias": 0.0, "conf": 4.0, "disagree": -1.0, "contradiction": -3.0}})
    garbled = _evidence(ethnicity, Reading("K.nt", 0.4, "tesseract"), thresholds=th)
    rival = _evidence(ethnicity, Reading("Tày", 0.9, "tesseract"), thresholds=th)
    alone = choose(ethnicity, [Reading("Kinh", 0.9, "asternet")], {}, th)
    assert rival.score < garbled.score < alone.score
    # evidence kept before the feature existed: the engines' disagreement counts in full
    kept = features(Reading("Kinh", 0.9, "asternet"), None, -1, True)
    assert "contradiction" not in kept and model_features(kept)["contradiction"] == 1.0
    assert model_features(features(Reading("Kinh", 0.9, "asternet"), None, 0, True))["contradiction"] == 0.0
