"""Orientation without a template (issue 11, part 5): the quarter turn from the page's own text, skew
within ±20°, phone photos flattened from the paper's edges, and the page JSON saying what was done.

Conventions as in test_orient.py: ``orient.rotate90(img, t)`` turns clockwise, so the turn that makes
it upright again is ``(360 - t) % 360``; ``Orientation.skew_deg`` is the counter-clockwise correction,
minus the counter-clockwise angle ``rotate_small`` applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ocr_service.engines import osd
from ocr_service.pipeline import build, ingest, orient, perspective, register
from ocr_service.pipeline.ingest import Page, page_hash
from ocr_service.pipeline.sheet import RESCAN
from ocr_service.synth.letter import text_page

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TURNS = (0, 90, 180, 270)


@pytest.fixture(scope="module")
def letter() -> np.ndarray:
    return text_page()  # prose that is no form


@pytest.fixture(scope="module")
def sample_page() -> tuple[np.ndarray, int]:
    """samples/dc01/0002.jpg and the clockwise turn that makes it upright (from its truth file)."""
    truth = json.loads((SAMPLES / "dc01" / "0002.json").read_text())
    page = next(iter(ingest.load_pages(SAMPLES / "dc01" / "0002.jpg")))
    return page.image, (360 - truth["scan"]["rotation90"]) % 360


@pytest.mark.parametrize("turn", TURNS)
def test_text_cues_alone_find_the_turn_of_a_letter(letter, turn):
    cues = orient.text_cues(orient.rotate90(letter, turn))
    assert cues.rotation == (360 - turn) % 360
    assert cues.confidence >= orient.TEXT_SURE  # clear on prose: no OSD, no template needed
    assert cues.axis_ratio > 1.2 and cues.lines >= 20


@pytest.mark.parametrize("turn", TURNS)
def test_real_sample_page_turns_without_a_template(sample_page, turn):
    image, upright = sample_page
    rotation, confidence, method = orient.find_turn(orient.rotate90(image, turn))
    assert rotation == (upright - turn) % 360, (method, confidence)
    assert method in (orient.TEXT, orient.OSD) and confidence > 0.2


def test_osd_wrapper_reports_the_turn_that_rights_the_page(letter):
    for turn in (90, 180):
        found = osd.detect_orientation(orient.rotate90(letter, turn), dpi=150)
        assert found is not None and found.rotation == (360 - turn) % 360 and found.confidence > 1
        assert found.script == "Latin"


@pytest.mark.parametrize("angle", [-20.0, -14.3, -7.9, 8.6, 15.1, 20.0])
def test_skew_within_20_degrees(letter, dc01_filled, angle):
    for page in (letter, dc01_filled.image[::2, ::2]):
        tilted = orient.rotate_small(page, angle)
        assert orient.estimate_skew(tilted) == pytest.approx(-angle, abs=0.3), angle


def test_orient_undoes_turn_and_large_skew(letter):
    img = orient.rotate_small(orient.rotate90(letter, 270), 17.0)
    upright, o = orient.orient(img)
    assert o.rotation == 90 and o.skew_deg == pytest.approx(-17.0, abs=0.3) and o.method == orient.TEXT
    assert not o.perspective
    assert orient.estimate_skew(upright, max_angle=3) == pytest.approx(0.0, abs=0.3)


def test_blank_page_falls_back_with_low_confidence(dc01_reference):
    blank = np.full((1754, 1240), 250, np.uint8)
    upright, o = orient.orient(blank)
    assert (o.rotation, o.method, o.score) == (0, orient.NONE, 0.0) and upright.shape == blank.shape
    # with a template's blank: the old comparison decides, and says it is unsure
    _, o = orient.orient(blank, dc01_reference)
    assert o.method == orient.TEMPLATE and o.score < 0.2


PHOTOS = {
    "tilted-keystone": dict(perspective=(0.14, 0.10), skew_deg=7.0),
    "turned-keystone": dict(rotation90=90, perspective=(-0.10, 0.12), skew_deg=-11.0),
}


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_photo_is_flattened_then_registered(dc01, dc01_filled, scan_of, name):
    img, truth = scan_of(dc01_filled, out_dpi=200, bed_value=45, margin_px=70, blur_sigma=0.8, noise_sigma=3.0,
                         light_strength=0.2, jpeg_quality=85, **PHOTOS[name])
    quad = perspective.find_paper(img)
    assert quad is not None and perspective.keystone(quad) > 0.1
    # the corners found are the paper's (in some order), within a few pixels
    found = sorted(map(tuple, np.round(quad)))
    expected = sorted(map(tuple, np.round(truth["page_quad"])))
    assert np.abs(np.array(found) - np.array(expected)).max() < 6
    upright, o = orient.orient(img)
    assert o.perspective and o.rotation == (360 - PHOTOS[name].get("rotation90", 0)) % 360
    reg = register.register(upright, dc01)
    assert reg.ok, reg.reason
    assert reg.residual_px < 0.5 * dc01.registration.max_residual_px


def test_scans_are_not_warped(dc01_filled, scan_of):
    for bed in (235, 30):  # light lid (no paper edge) and a dark bed with a merely turned page
        img, _ = scan_of(dc01_filled, skew_deg=4.0, out_dpi=150, bed_value=bed, perspective=(0.005, -0.005))
        flat, corners = perspective.flatten(img)
        assert corners is None and flat is img


def _page(img: np.ndarray, name: str) -> Page:
    return Page(img, name, 1, page_hash(img), 200)


def test_page_json_says_what_was_done(dc01_filled, scan_of):
    pipe = build.build_pipeline("dc01", engines="fake")
    img, _ = scan_of(dc01_filled, out_dpi=200, bed_value=45, margin_px=70, rotation90=180,
                     perspective=(0.12, -0.1), skew_deg=3.0)
    result = pipe.process_page(_page(img, "photo.jpg"))
    d = result.to_json()
    assert d["status"] == "ok" and d["rotation"] == 180 and d["perspective"] is True
    rec = result.to_record()
    assert rec["orientation"]["method"] in (orient.TEXT, orient.OSD, orient.TEMPLATE)
    # a scan: no perspective, the skew it had
    img, _ = scan_of(dc01_filled, out_dpi=200, rotation90=90, skew_deg=-6.5)
    d = pipe.process_page(_page(img, "scan.jpg")).to_json()
    assert (d["status"], d["rotation"], d["perspective"]) == ("ok", 270, False)
    assert d["skew_deg"] == pytest.approx(-6.5, abs=0.3)


def test_rescan_of_an_unknown_page_reports_its_real_turn(letter):
    """A page that no template registers still says how it was turned (it was, to try them)."""
    pipe = build.build_pipeline("auto", engines="fake")
    img = orient.rotate_small(orient.rotate90(letter, 90), -5.0)
    d = pipe.process_page(_page(img, "letter.png")).to_json()
    assert d["status"] == RESCAN
    assert d["rotation"] == 270 and d["skew_deg"] == pytest.approx(5.0, abs=0.3) and d["perspective"] is False
