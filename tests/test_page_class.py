"""Clear pages calibrated apart, strata that block a cut only with an error of their own, and the
evidence of a name's listed surname and middle names."""

import numpy as np

from ocr_service import calibration
from ocr_service.engines.base import Reading
from ocr_service.forms import loader
from ocr_service.pipeline.evidence import choose
from ocr_service.pipeline.scoring import (CLEAR_PAGE_CHOICES, CLEAR_PAGE_MAX, Thresholds, calibration_key, features, page_class,
                                          value_features)
from ocr_service.vietnamese.validators import listed_name_parts


def _field(conf, correct, group, page_unsure, kind="digits"):
    feats = features(Reading("012345678901", conf, "tesseract"), None, 0, True)
    feats.update(page_unsure=page_unsure, surname_listed=1.0, middle_listed=1.0)
    return calibration.LabelledField(kind, "id_number", feats, bool(correct), bool(correct), "x", "x", False, group)


def _clear_and_hard(rng, hard_unsure: float, n: int = 2400) -> list:
    """``n`` printed fields on clear pages, right and confident, and ``n`` handwritten ones on pages
    of ``page_unsure`` ``hard_unsure``, 8% wrong at any confidence; six hands each, two scan profiles."""
    rows = []
    for i in range(n):
        hand, scan = "abcdef"[i % 6], ("office", "poor")[i % 2]
        rows.append(_field(float(rng.uniform(0.97, 1.0)), True, f"hand:{hand}|scan:{scan}|style:printed", 0.0))
        conf = float(rng.uniform(0.9, 1.0))
        rows.append(_field(conf, rng.uniform() > 0.08, f"hand:h{hand}|scan:{scan}|style:handwriting", hard_unsure))
    return rows


def test_page_class_and_key():
    assert page_class({"page_unsure": 0.0}) == "clear" and page_class({"page_unsure": CLEAR_PAGE_MAX}) == "clear"
    assert page_class({"page_unsure": CLEAR_PAGE_MAX + 0.01}) == "" and page_class({}) == ""
    assert calibration_key("digits", {"page_unsure": 0.05}) == "digits@clear"
    assert calibration_key("digits", {"page_unsure": 0.5}) == "digits"
    # a closed-vocabulary field the engines disagree on is its own class on any page; other kinds are not split so
    assert calibration_key("vocabulary", {"page_unsure": 0.05, "disagree": 1.0}) == "vocabulary@disputed"
    assert calibration_key("vocabulary", {"page_unsure": 0.05, "disagree": 0.0}) == "vocabulary@clear"
    assert calibration_key("vocabulary", {"page_unsure": 0.5, "disagree": 1.0}) == "vocabulary@disputed"
    assert calibration_key("digits", {"page_unsure": 0.5, "disagree": 1.0}) == "digits"
    assert calibration_key("name", {"page_unsure": 0.5, "disagree": 1.0}) == "name"


def test_a_disputed_vocabulary_field_is_held_to_its_own_threshold_and_older_files_fall_back():
    th = Thresholds(kinds={"vocabulary": 0.5, "vocabulary@disputed": 1.0 + 1e-9})
    assert th.threshold("vocabulary", "sex", {"page_unsure": 0.5, "disagree": 1.0}) > 1.0
    assert th.threshold("vocabulary", "sex", {"page_unsure": 0.5, "disagree": 0.0}) == 0.5
    assert Thresholds(kinds={"vocabulary": 0.5}).threshold("vocabulary", "sex", {"disagree": 1.0}) == 0.5


def test_thresholds_look_up_the_page_class_and_fall_back_to_the_kind():
    th = Thresholds(kinds={"digits": 1.0 + 1e-9, "digits@clear": 0.9},
                    models={"digits@clear": {"bias": 5.0}}, ranges={"digits@clear": {"conf": [0.97, 1.0]}})
    clear, unsure = {"page_unsure": 0.0, "conf": 0.99}, {"page_unsure": 0.6, "conf": 0.99}
    assert th.threshold("digits", "id_number", clear) == 0.9
    assert th.threshold("digits", "id_number", unsure) > 1.0
    feats = features(Reading("1", 0.99, "tesseract"), None, 0, True)
    assert th.score("digits", {**feats, "page_unsure": 0.0}) > 0.99  # the clear pages' model
    assert th.score("digits", {**feats, "page_unsure": 0.6}) == 0.99  # no model: the engine's confidence
    assert th.out_of_range("digits", {**feats, "conf": 0.9, "page_unsure": 0.0}) == ["conf"]
    # a file fitted before page classes: every page uses the kind's entries
    old = Thresholds(kinds={"digits": 0.7})
    assert old.threshold("digits", "id_number", clear) == 0.7 == old.threshold("digits", "id_number", unsure)


def test_fit_gives_clear_pages_their_own_threshold():
    """Hard pages whose confident readings are often wrong close the kind there; the clear pages'
    fields, right when confident, get a threshold of their own instead of being held back."""
    rows = _clear_and_hard(np.random.default_rng(5), hard_unsure=0.6)
    data = calibration.fit(rows, target=0.005, clear_page_max=0.1)
    assert data["cv"]["digits@clear"]["regime"] == "bound"
    assert data["cv"]["digits@clear"]["fields"] == 2400 and data["cv"]["digits"]["fields"] == 2400
    assert data["kinds"]["digits"] > 1.0  # 8% wrong at any confidence: closed
    assert data["clear_page_max"] >= 0.0  # a choice that makes clear pages a class of their own
    th = Thresholds(kinds=data["kinds"], models=data["models"], ranges=data["ranges"],
                    clear_page_max=data["clear_page_max"])
    decided = calibration.decide_all(rows, th)
    clear = [a for f, _, a in decided if f.feats["page_unsure"] == 0.0]
    assert sum(clear) > 0.9 * len(clear)
    assert not any(a for f, _, a in decided if f.feats["page_unsure"] == 0.6)


def test_a_stratum_blocks_the_cut_only_with_an_error_of_its_own():
    """A few handwritten fields on clear pages, all right, do not close the cut that the printed
    fields bound; once one of them is wrong, the handwritten must meet the bound on their own."""
    rng = np.random.default_rng(8)
    printed = [_field(float(rng.uniform(0.97, 1.0)), True, f"hand:p{i % 5}|scan:{('a', 'b')[i % 2]}|style:printed", 0.0)
               for i in range(2000)]
    hand = [_field(float(rng.uniform(0.985, 1.0)), True, f"hand:h{i % 3}|scan:{('a', 'b')[i % 2]}|style:handwriting",
                   0.0) for i in range(60)]
    clean = calibration.fit(printed + hand, target=0.005, clear_page_max=0.1)
    assert clean["cv"]["digits@clear"]["regime"] == "bound"
    assert clean["cv"]["digits@clear"]["accepted"] > 1500
    # one confident handwritten field wrong: 1 in ≤ 60 cannot be bounded at 0.5%, so the cut must
    # leave it out, and with it every handwritten field scored as high
    hand[0] = _field(0.9999, False, hand[0].group, 0.0)
    spoiled = calibration.fit(printed + hand, target=0.005, clear_page_max=0.1)
    th = Thresholds(kinds=spoiled["kinds"], models=spoiled["models"], ranges=spoiled["ranges"],
                    clear_page_max=spoiled["clear_page_max"])
    accepted = [f for f, _, a in calibration.decide_all(printed + hand, th) if a]
    assert not any(not f.correct for f in accepted)


def test_listed_name_parts():
    assert listed_name_parts("Nguyễn Văn An") == (True, 1.0)
    assert listed_name_parts("ĐỖ VĂN VIỆT") == (True, 1.0)
    assert listed_name_parts("ĐỒ VĂN VIỆT") == (False, 1.0)  # Đồ for Đỗ: a tone off
    assert listed_name_parts("Phạm Vẫn Trọng Huy") == (True, 0.5)  # Vẫn for Văn
    assert listed_name_parts("Lê Hoa") == (True, 1.0)
    assert listed_name_parts("An") == (False, 1.0)
    assert listed_name_parts("") == (False, 0.0)


def test_value_features_only_for_names_and_in_the_chosen_evidence():
    assert value_features("name", "Trân Văn Nam") == {"surname_listed": 0.0, "middle_listed": 1.0}
    assert value_features("name", "") == {"surname_listed": 1.0, "middle_listed": 1.0}
    assert value_features("digits", "Đồ") == {"surname_listed": 1.0, "middle_listed": 1.0}
    t = loader.load("dc01")
    spec = t.field("full_name")
    ev = choose(spec, [Reading("Đinh Văn Nam", 0.99, "tesseract")], {}, Thresholds())
    assert ev.features["surname_listed"] == 1.0
    ev = choose(spec, [Reading("Định Văn Nam", 0.99, "tesseract")], {}, Thresholds())
    assert ev.features["surname_listed"] == 0.0
    # the score never rises for an unlisted surname (its weight is never negative)
    model = {"bias": -2.0, "conf": 3.0, "surname_listed": 2.0}
    th = Thresholds(models={"name": model})
    listed = th.score("name", {**ev.features, "surname_listed": 1.0})
    assert th.score("name", ev.features) < listed


def test_fit_chooses_the_clear_page_share_and_the_file_keeps_it(tmp_path):
    """The fit keeps the clear-page share of CLEAR_PAGE_CHOICES at which its out-of-group figures
    accept the most fields, and Thresholds.load applies that share."""
    rows = _clear_and_hard(np.random.default_rng(3), hard_unsure=0.15)
    data = calibration.fit(rows, target=0.005)

    def accepted(d):
        return sum(r["accepted"] for r in d["cv"].values())

    each = {c: accepted(calibration.fit(rows, target=0.005, clear_page_max=c)) for c in CLEAR_PAGE_CHOICES}
    # each kind also may keep one class where that accepts more (only one kind here: the best share)
    assert data["clear_page_max"] in CLEAR_PAGE_CHOICES and accepted(data) == max(each.values())
    assert data["clear_page_max"] == next(c for c in CLEAR_PAGE_CHOICES if each[c] == max(each.values()))
    path = tmp_path / "t.json"
    calibration.write(path, data)
    assert Thresholds.load(path).clear_page_max == data["clear_page_max"]
    forced = calibration.fit(rows, target=0.005, clear_page_max=0.1)
    calibration.write(path, forced)
    th = Thresholds.load(path)
    assert th.clear_page_max == 0.1 and "digits@clear" in th.kinds
    # the file's share decides the class: 0.15 is not clear at 0.1, 0.05 is
    assert th._key("digits", {"page_unsure": 0.15}) == "digits"
    assert th._key("digits", {"page_unsure": 0.05}) == "digits@clear"


def test_a_kind_the_split_would_close_keeps_one_class():
    """A kind whose fields split in two classes are each too few to bound stays one class (no
    ``@clear`` entries: clear pages fall back to it at run time), while a kind the split helps is
    split; every kind's figures are its better choice, each bounded on its own."""
    from ocr_service.calibration.fit import _with_one_class_where_better

    def entry(acc):
        return {"regime": "bound", "accepted": acc}

    split = {"clear_page_max": 0.1, "kinds": {"digits": 1.1, "digits@clear": 0.9, "name": 1.1, "name@clear": 0.98},
             "models": {"digits@clear": {"bias": 1.0}}, "ranges": {"digits@clear": {"conf": [0.9, 1.0]}},
             "cv": {"digits": entry(0), "digits@clear": entry(2400), "name": entry(0), "name@clear": entry(160)}}
    one = {"clear_page_max": -1.0, "kinds": {"digits": 0.99, "name": 0.95}, "models": {"name": {"bias": 2.0}},
           "ranges": {"name": {"conf": [0.9, 1.0]}}, "cv": {"digits": entry(2000), "name": entry(800)}}
    merged = _with_one_class_where_better(split, one)
    assert merged["clear_page_max"] == 0.1
    assert merged["kinds"] == {"digits": 1.1, "digits@clear": 0.9, "name": 0.95}
    assert merged["models"] == {"digits@clear": {"bias": 1.0}, "name": {"bias": 2.0}}
    assert merged["cv"] == {"digits": entry(0), "digits@clear": entry(2400), "name": entry(800)}
    th = Thresholds(kinds=merged["kinds"], models=merged["models"], clear_page_max=merged["clear_page_max"])
    assert th._key("name", {"page_unsure": 0.0}) == "name" and th._key("digits", {"page_unsure": 0.0}) == "digits@clear"

    # and in a fit: names, right on both classes, 400 on each, reach the bound only pooled
    rng = np.random.default_rng(11)
    rows = _clear_and_hard(rng, hard_unsure=0.6)
    for i in range(800):
        hand, scan, style = "abcdef"[i % 6], ("office", "poor")[i % 2], ("printed", "handwriting")[i % 2]
        rows.append(_field(float(rng.uniform(0.9, 1.0)), True, f"hand:{hand}{style[0]}|scan:{scan}|style:{style}",
                           (0.0, 0.6)[i % 2], kind="name"))
    data = calibration.fit(rows, target=0.005)
    for share in CLEAR_PAGE_CHOICES[1:]:
        forced = calibration.fit(rows, target=0.005, clear_page_max=share)
        assert forced["cv"]["name"]["accepted"] + forced["cv"]["name@clear"]["accepted"] < 800
    assert "name@clear" not in data["kinds"] and data["cv"]["name"]["accepted"] == 800
