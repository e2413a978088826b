"""Calibration: the evidence model, the threshold rule, and the calibrate command end to end."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from ocr_service import calibration
from ocr_service.cli import app
from ocr_service.engines.base import Reading
from ocr_service.forms import loader
from ocr_service.synth import fill
from ocr_service.calibration.fit import MIN_ACCEPTED
from ocr_service.pipeline.scoring import DEFAULT_THRESHOLD, Thresholds, features


def test_choose_threshold_keeps_accepted_error_at_or_below_target():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 5000)
    correct = rng.uniform(0, 1, 5000) < scores  # higher score, more often right
    t = calibration.choose_threshold(scores, correct, 0.02)
    accepted = scores >= t
    assert accepted.sum() >= MIN_ACCEPTED
    assert (~correct[accepted]).mean() <= 0.02
    # the lowest such threshold: one step lower breaks the target
    lower = scores[scores < t].max()
    assert (~correct[scores >= lower]).mean() > 0.02


def test_choose_threshold_closes_when_target_cannot_be_met():
    scores = np.linspace(0, 1, 100)
    correct = np.zeros(100, bool)
    assert calibration.choose_threshold(scores, correct, 0.005) > 1.0


def test_fit_logistic_learns_which_evidence_matters():
    rng = np.random.default_rng(1)
    n = 4000
    conf = rng.uniform(0, 1, n)
    noise = rng.uniform(0, 1, n)
    y = (rng.uniform(0, 1, n) < conf).astype(float)
    x = np.column_stack([np.ones(n), conf, noise])
    w = calibration.fit_logistic(x, y)
    assert w[1] > 2.0 and abs(w[2]) < 0.5


def _field(kind, conf, correct, agree=0):
    feats = features(Reading("Nguyễn Văn A", conf, "tesseract"), None, agree, True)
    return calibration.LabelledField(kind, "full_name", feats, correct, correct, "x", "x")


def test_fit_and_decide_all_respect_the_target():
    rng = np.random.default_rng(2)
    fields = []
    for _ in range(3000):
        conf = float(rng.uniform(0.5, 1.0))
        p_right = 0.999 if conf > 0.9 else conf ** 4  # confident readings are nearly always right
        fields.append(_field("name", conf, bool(rng.uniform() < p_right)))
    data = calibration.fit(fields, target=0.01)
    th = Thresholds(default=data["default"], kinds=data["kinds"], models=data["models"])
    rows = calibration.decide_all(fields, th)
    accepted = [f for f, _, a in rows if a]
    assert len(accepted) >= MIN_ACCEPTED
    assert sum(not f.correct for f in accepted) / len(accepted) <= 0.01
    # the calibrated score is a probability-like number that rises with the engine's confidence
    lo, hi = (th.score("name", _field("name", c, True).feats) for c in (0.6, 0.99))
    assert 0.0 <= lo < hi <= 1.0


def test_a_kind_without_errors_keeps_the_conservative_built_in_gate():
    fields = [_field("date", c, True) for c in np.linspace(0.5, 1.0, 200)]
    data = calibration.fit(fields, target=0.005)
    assert "date" not in data["models"] and data["kinds"]["date"] == DEFAULT_THRESHOLD
    th = Thresholds(default=data["default"], kinds=data["kinds"], models=data["models"])
    accepted = [f for f, _, a in calibration.decide_all(fields, th) if a]
    assert accepted and all(f.feats["conf"] >= DEFAULT_THRESHOLD for f in accepted)


def test_disagreement_halves_the_uncalibrated_score():
    th = Thresholds()
    agree = th.score("name", _field("name", 0.9, True, agree=1).feats)
    disagree = th.score("name", _field("name", 0.9, True, agree=-1).feats)
    assert math.isclose(agree, 0.9) and math.isclose(disagree, 0.45)


def test_missing_thresholds_file_gives_built_in_defaults(tmp_path):
    th = Thresholds.load(tmp_path / "nope.json")
    assert th.default == DEFAULT_THRESHOLD and th.models == {}


def test_calibrate_command_writes_thresholds_the_pipeline_reads(tmp_path):
    dc01 = loader.load("dc01")
    labelled = tmp_path / "labelled"
    fill.generate(dc01, 2, 77, labelled, style="printed", formats=("jpg",))
    out = tmp_path / "thresholds.json"
    res = CliRunner().invoke(app, ["calibrate", str(labelled), "--template", "dc01", "--out", str(out),
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["template"] == "dc01@tt66-2015" and data["target_error"] == 0.005
    # kinds, or kinds on clear pages (KIND@clear) when the fit chose a clear-page class
    assert {"name", "text", "date", "signature"} <= {k.split("@")[0] for k in data["kinds"]}
    assert set(data["models"]) <= set(data["kinds"])
    assert "straight-through" in res.output and "| all |" in res.output
    th = Thresholds.load(out)
    assert th.kinds == {**Thresholds().kinds, **data["kinds"]} and th.models == data["models"]
    assert th.clear_page_max == data["clear_page_max"]


def test_calibrate_refuses_a_folder_without_truth(tmp_path):
    res = CliRunner().invoke(app, ["calibrate", str(tmp_path), "--template", "dc01"])
    assert res.exit_code == 2 and "truth.jsonl" in res.output


def test_engine_configuration_from_a_file(tmp_path):
    from ocr_service.errors import ConfigError
    from ocr_service.engines.registry import RecognitionConfig

    good = tmp_path / "engines.yaml"
    good.write_text("engines: {text: [tesseract, asternet], digits: [tesseract]}\ncascade_gate: 0.9\n")
    cfg = RecognitionConfig.named(str(good))
    assert cfg.engines == {"text": ("tesseract", "asternet"), "digits": ("tesseract",)} and cfg.cascade_gate == 0.9
    bad = tmp_path / "bad.yaml"
    bad.write_text("engines: {text: [tesseract, abbyy]}\n")
    with pytest.raises(ConfigError, match="abbyy"):
        RecognitionConfig.named(str(bad))
    assert RecognitionConfig.named("tesseract").engine_names() == {"tesseract"}


def test_a_kind_without_errors_in_many_fields_accepts_down_to_the_lowest_score_seen():
    fields = [_field("text", c, True) for c in np.linspace(0.6, 1.0, 1000)]  # 3/1000 ≤ 0.5%
    data = calibration.fit(fields, target=0.005)
    assert "text" not in data["models"] and data["kinds"]["text"] <= 0.6


def test_a_header_commune_is_labelled_within_its_written_district():
    """The pipeline resolves a header commune within the sheet's district and keeps the name
    ("Xã Hưng Thịnh" → "Hưng Thịnh"); its label must be decided the same way, or a right value
    counts as an error in calibration (the name alone, nationwide, is ambiguous)."""
    is_correct, truth_context = calibration.is_correct, calibration.truth_context
    t = loader.load("dc01")
    written = {"hdr_province": "Tỉnh Đồng Nai", "hdr_district": "Huyện Trảng Bom", "hdr_commune": "Xã Hưng Thịnh",
               "declared_on": "30/05/2018"}
    spec = t.field("hdr_commune")
    ctx = truth_context(t, written)
    assert is_correct(spec, "Hưng Thịnh", written["hdr_commune"], ctx)
    assert not is_correct(spec, "Hưng Thịnh", written["hdr_commune"], {})  # the name alone is not resolved
    assert not is_correct(spec, "Phương Thịnh", written["hdr_commune"], ctx)
    assert is_correct(spec, "Xã Hưng Thịnh", written["hdr_commune"], ctx)
