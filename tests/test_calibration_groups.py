"""Calibration across hands: the Clopper–Pearson bound, grouped cross-validation, the conservative
gate with few fields, and the held-out hands that never reach a fit."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ocr_service import calibration
from ocr_service.cli import app
from ocr_service.engines.base import Reading
from ocr_service.calibration.fit import sign_bounds
from ocr_service.errors import ConfigError
from ocr_service.forms import loader
from ocr_service.pipeline.scoring import DEFAULT_THRESHOLD, Thresholds, feature_vector, features
from ocr_service.synth import fill, fonts


def _binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


def test_clopper_pearson_upper_bounds():
    # zero errors in n: the bound is 1 - 0.05^(1/n) ≈ 3/n; 598 accepted fields are needed for 0.5%
    assert calibration.cp_upper(0, 598) == pytest.approx(0.005, abs=2e-5)
    assert calibration.cp_upper(0, 598) <= 0.005 < calibration.cp_upper(0, 597)
    assert calibration.min_accepted(0.005) == 598
    assert calibration.cp_upper(0, 1000) == pytest.approx(3 / 1000, rel=0.01)
    # 2 of 400: the rate at which at most 2 errors are seen 5% of the time
    u = calibration.cp_upper(2, 400)
    assert u == pytest.approx(0.01566, abs=1e-4)
    assert _binom_cdf(2, 400, u) == pytest.approx(0.05, abs=1e-6)
    assert calibration.cp_upper(5, 5) == 1.0 and calibration.cp_upper(0, 0) == 1.0


def test_threshold_with_a_bound_needs_enough_accepted_fields():
    scores = np.linspace(0.0, 1.0, 500)
    correct = np.ones(500, bool)
    # 500 right fields are not enough to bound the error at 0.5% (0 in 500 → 0.6%)
    assert calibration.choose_threshold(scores, correct, 0.005, confidence=0.95) > 1.0
    many = np.linspace(0.0, 1.0, 700)
    assert calibration.choose_threshold(many, np.ones(700, bool), 0.005, confidence=0.95) == 0.0
    # one error in 2000 is within the bound (0.24%): everything is accepted; six are not, and the cut
    # is the lowest whose accepted set keeps the bound
    big = np.linspace(0.0, 1.0, 2000)
    ok = np.ones(2000, bool)
    ok[10] = False
    assert calibration.choose_threshold(big, ok, 0.005, confidence=0.95) == 0.0
    ok[:5] = False
    t = calibration.choose_threshold(big, ok, 0.005, confidence=0.95)
    acc = big >= t
    assert calibration.cp_upper(int((~ok[acc]).sum()), int(acc.sum())) <= 0.005
    lower = big >= big[big < t].max()
    assert calibration.cp_upper(int((~ok[lower]).sum()), int(lower.sum())) > 0.005
    assert 0.0 < t < big[10]


def _field(conf, correct, group, length=0.3, kind="name"):
    feats = features(Reading("Lê Văn An", conf, "tesseract"), None, 0, True)
    feats["length"] = length
    return calibration.LabelledField(kind, "full_name", feats, bool(correct), bool(correct), "x", "x", False, group)


def _like(rng, n, group):
    """A hand like most: a confident reading is nearly always right."""
    out = []
    for _ in range(n):
        conf = float(rng.uniform(0.5, 1.0))
        out.append(_field(conf, rng.uniform() < (1.0 if conf > 0.75 else conf ** 6), group,
                          length=float(rng.uniform(0.1, 0.5))))
    return out


def _unlike(rng, n, group, length):
    """A hand unlike the others: confident readings that are wrong a third of the time."""
    return [_field(float(rng.uniform(0.95, 1.0)), rng.uniform() > 0.33, group, length=length(rng)) for _ in range(n)]


def test_grouped_cross_validation_refuses_what_pooled_fitting_would_accept():
    """One calibration hand ('odd') is unlike the others, and a descriptor (the reading's length)
    happens to tell it apart in the calibration set. A fit that pools the hands learns that
    descriptor, finds its threshold safe and accepts the next unlike hand (same errors, ordinary
    lengths); a fit judged group by group sees that a hand it never saw makes confident errors, and
    refuses to promise (the kind closes)."""
    rng = np.random.default_rng(3)
    cal = []
    for i, hand in enumerate(("a", "b", "c", "d")):
        cal += _like(rng, 700, f"hand:{hand}|scan:{('office', 'poor')[i % 2]}")
    cal += _unlike(rng, 300, "hand:odd|scan:office", lambda r: float(r.uniform(0.9, 1.0)))
    new_hand = _unlike(rng, 300, "hand:new|scan:office", lambda r: float(r.uniform(0.1, 0.5)))

    def accepted_wrong(fields_for_fit):
        data = calibration.fit(fields_for_fit, target=0.005)
        th = Thresholds(default=data["default"], kinds=data["kinds"], models=data["models"], ranges=data["ranges"])
        rows = calibration.decide_all(new_hand, th)
        return data, sum(1 for f, _, a in rows if a and not f.correct)

    pooled = [calibration.LabelledField(**{**f.__dict__, "group": ""}) for f in cal]
    pooled_data, pooled_wrong = accepted_wrong(pooled)
    grouped_data, grouped_wrong = accepted_wrong(cal)
    assert pooled_data["cv"]["name"]["regime"] == "bound"
    assert pooled_wrong > 20  # the pooled fit auto-accepts the new hand's errors
    assert grouped_wrong == 0
    assert grouped_data["cv"]["name"]["regime"] == "closed" and grouped_data["kinds"]["name"] > 1.0
    # without the odd hand the same procedure does accept: the closing is the odd hand's doing
    alike = [f for f in cal if "odd" not in f.group]
    ok = calibration.fit(alike, target=0.005)
    assert ok["cv"]["name"]["regime"] == "bound" and ok["cv"]["name"]["straight_through"] > 0.3
    assert ok["cv"]["name"]["upper_bound"] <= 0.005 and ok["cv"]["name"]["accepted"] >= 598


def test_out_of_group_scores_come_from_models_that_never_saw_the_group():
    rng = np.random.default_rng(5)
    rows = _like(rng, 400, "hand:a|scan:x") + _like(rng, 400, "hand:b|scan:y")
    # hand c shares scan profile x with hand a: its model is fitted on hand b alone
    rows += [_field(0.99, False, "hand:c|scan:x") for _ in range(50)] + _like(rng, 50, "hand:c|scan:x")
    x = np.array([feature_vector(f.feats) for f in rows])
    y = np.array([f.correct for f in rows], float)
    oog = calibration.out_of_group_scores(rows, x, y)
    # a model fitted on hand b only (no field sharing hand a / c or scan x) is what scores hand a
    b_only = [i for i, f in enumerate(rows) if f.group == "hand:b|scan:y"]
    # fields of hand a and hand c (both scan x) are scored by the same model: fitted on b alone
    lower, upper = sign_bounds()
    fit_b = calibration.fit_logistic(x[b_only], y[b_only], lower=lower, upper=upper)
    a_idx = [i for i, f in enumerate(rows) if f.group == "hand:a|scan:x"]
    expect = 1 / (1 + np.exp(-np.clip(x[a_idx] @ fit_b, -50, 50)))
    assert np.allclose(oog[a_idx], expect)
    assert not np.isnan(oog).any()


def test_few_fields_keep_the_conservative_gate_and_an_error_under_it_closes_the_kind():
    right = [_field(c, True, f"hand:{'ab'[i % 2]}", kind="date") for i, c in enumerate(np.linspace(0.5, 1.0, 200))]
    data = calibration.fit(right, target=0.005)
    assert data["kinds"]["date"] == DEFAULT_THRESHOLD and "date" not in data["models"]
    assert data["cv"]["date"]["regime"] == "gate"
    assert data["cv"]["date"]["upper_bound"] > 0.005  # reported as it is: the gate is not shown to hold
    # no more "accept down to the lowest score seen" with 0 errors in too few fields
    assert data["kinds"]["date"] > min(f.feats["conf"] for f in right)
    wrong_above_gate = right + [_field(0.995, False, "hand:a", kind="date")]
    closed = calibration.fit(wrong_above_gate, target=0.005)
    assert closed["cv"]["date"]["regime"] == "closed" and closed["kinds"]["date"] > 1.0
    th = Thresholds(kinds=closed["kinds"], models=closed["models"])
    assert not any(a for _, _, a in calibration.decide_all(right, th))


def test_many_fields_but_too_few_acceptable_keep_the_gate_when_it_let_no_error_through():
    """A kind may hold thousands of fields and still too few that any threshold can vouch for (here:
    errors spread over every score below the gate): many fields are not many acceptable fields, so
    the gate holds as for a small kind, and a single error above the gate closes the kind."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(1500):
        group = f"hand:{'abcd'[i % 4]}|scan:{('office', 'poor')[i % 2]}"
        if i % 5 == 0:
            rows.append(_field(float(rng.uniform(0.985, 1.0)), True, group, kind="digits"))
        else:
            conf = float(rng.uniform(0.5, 0.975))
            rows.append(_field(conf, rng.uniform() < 0.9, group, kind="digits"))
    data = calibration.fit(rows, target=0.005)
    cv = data["cv"]["digits"]
    assert cv["fields"] == 1500 and cv["accepted"] < 598
    assert cv["regime"] == "gate" and data["kinds"]["digits"] == DEFAULT_THRESHOLD
    assert cv["wrong_accepted"] == 0 and cv["upper_bound"] > 0.005
    rows.append(_field(0.99, False, "hand:a|scan:office", kind="digits"))
    assert calibration.fit(rows, target=0.005)["cv"]["digits"]["regime"] == "closed"


def test_a_long_reading_never_raises_the_score():
    """In calibration long readings may happen to be right more often (a long vocabulary entry is
    seldom misread); a model free to reward length would then promote any long wrong entry it never
    saw. Length may only lower the score."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(2000):
        long_ = i % 3 == 0
        conf = float(rng.uniform(0.6, 1.0))
        rows.append(_field(conf, long_ or conf > 0.8, f"hand:{'abcd'[i % 4]}|scan:{('office', 'poor')[i % 2]}",
                           length=0.6 if long_ else 0.05))
    data = calibration.fit(rows, target=0.005)
    assert data["models"]["name"]["length"] <= 0.0
    th = Thresholds(models=data["models"])
    short, long_ = (th.score("name", _field(0.9, False, "x", length=x).feats) for x in (0.05, 0.6))
    assert long_ <= short


def test_fit_refuses_fields_of_held_out_hands():
    rng = np.random.default_rng(1)
    fields = _like(rng, 50, "hand:Charm|scan:office") + _like(rng, 5, "hand:Borel|scan:poor")
    with pytest.raises(ConfigError, match="Borel"):
        calibration.fit(fields, held_out={"Borel", "Square Peg"})
    calibration.fit(fields[:50], held_out={"Borel"})  # the others are fine


def test_held_out_hands_are_named_and_never_reach_calibrate(tmp_path):
    held = fonts.held_out_families()
    assert len(held) >= 4 and held <= {f.family for f in fonts.list_fonts("handwriting")}
    # the docs name the same hands
    doc = (Path(__file__).resolve().parents[1] / "docs" / "accuracy.md").read_text(encoding="utf-8")
    assert all(h in doc for h in held)
    # a labelled folder in a held-out hand is refused before any page is read
    t = loader.load("dc01")
    folder = tmp_path / "held"
    fill.generate(t, 1, 4, folder, style="handwriting", font_family=sorted(held)[0], formats=("png",))
    res = CliRunner().invoke(app, ["calibrate", str(folder), "--template", "dc01", "--out", str(tmp_path / "t.json")])
    assert res.exit_code != 0 and sorted(held)[0] in res.output and not (tmp_path / "t.json").exists()
    # and the benchmark's calibration set never holds one
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import bench_accuracy

    class Args:
        cal_printed, per_hand, eval_printed, per_held_out_hand, per_in_hand = 2, 1, 1, 1, 1

    folders = bench_accuracy.plan(Args, tmp_path)
    assert {f["font"] for f in folders if f["set"] == "cal"} & held == set()
    assert {f["font"] for f in folders if f["group"] == "held_out"} == held


def test_truth_records_each_sheets_hand_and_scan_profile(tmp_path):
    t = loader.load("cc01")
    entries = fill.generate(t, 2, 11, tmp_path, style="mixed", scan_profile="mixed", formats=("png",))
    index = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert index == entries
    for e in index:
        assert e["hand"] == e["font"] and e["scan_profile"] in fill.scan.SCAN_PROFILES
        assert (e["writer"] is not None) == (e["style"] == "handwriting")
        assert calibration.sheet_group(e) == f"hand:{e['hand']}|scan:{e['scan_profile']}|style:{e['style']}"
    items = calibration.read_labelled_entries(tmp_path)
    assert [e for _, e in items] == index
    with pytest.raises(ConfigError, match="scan profile"):
        fill.generate(t, 1, 0, tmp_path / "x", scan_profile="camera")
    with pytest.raises(ConfigError, match="hand mode"):
        fill.generate(t, 1, 0, tmp_path / "x", hand_mode="messy")


def test_the_bound_must_hold_within_each_style_not_only_over_their_mix():
    """Many easy printed fields and fewer hard handwritten ones: pooled, the bound holds at a cut
    that accepts handwritten errors; with the sheets' style as a stratum the cut must also bound
    the handwritten fields' error on their own, so it moves above them."""
    rng = np.random.default_rng(21)
    rows = []
    for i in range(4000):
        hand = "abcd"[i % 4]
        rows.append(_field(float(rng.uniform(0.95, 1.0)), True,
                           f"hand:p{hand}|scan:{('office', 'poor')[i % 2]}|style:printed"))
    for i in range(700):
        hand = "efgh"[i % 4]
        conf = float(rng.uniform(0.9, 0.999))
        rows.append(_field(conf, rng.uniform() > 0.03, f"hand:{hand}|scan:{('office', 'poor')[i % 2]}|style:handwriting"))
    pooled = calibration.fit([calibration.LabelledField(**{**f.__dict__, "group": f.group.rsplit("|", 1)[0]})
                              for f in rows], target=0.005)
    stratified = calibration.fit(rows, target=0.005)

    def handwritten_wrong(data):
        th = Thresholds(kinds=data["kinds"], models=data["models"])
        return sum(1 for f, _, a in calibration.decide_all(rows, th) if a and not f.correct)

    assert pooled["cv"]["name"]["regime"] == "bound" and handwritten_wrong(pooled) > 3
    assert handwritten_wrong(stratified) <= 1
