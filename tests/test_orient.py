"""Orientation (quarter turns) and deskew.

Conventions: orient.rotate_small and estimate_skew use counter-clockwise-positive angles
(estimate_skew returns the rotation that makes the page straight, so it is minus the skew applied);
ScanParams.rotation90/skew_deg turn the page clockwise; Orientation.rotation is the clockwise
quarter turn that makes the page upright, so it is (360 - rotation90) % 360, and
Orientation.skew_deg (a counter-clockwise correction) equals ScanParams.skew_deg.
"""

from __future__ import annotations

import numpy as np
import pytest

from ocr_service.forms import render
from ocr_service.pipeline import orient

ANGLES = (-4.7, -2.0, 0.8, 3.3, 5.0)
TOL = 0.3


@pytest.fixture(scope="module")
def blanks(dc01):
    return {dpi: render.render_blank(dc01, dpi) for dpi in (150, 300)}


@pytest.mark.parametrize("dpi", [150, 300])
def test_estimate_skew_blank(blanks, dpi):
    for angle in ANGLES:
        tilted = orient.rotate_small(blanks[dpi], angle)
        assert orient.estimate_skew(tilted) == pytest.approx(-angle, abs=TOL), (dpi, angle)


def test_estimate_skew_filled_sheet(dc01_filled):
    for angle in ANGLES:
        tilted = orient.rotate_small(dc01_filled.image, angle)
        assert orient.estimate_skew(tilted) == pytest.approx(-angle, abs=TOL), angle


def test_estimate_skew_straight_and_empty_pages(blanks):
    assert orient.estimate_skew(blanks[150]) == pytest.approx(0.0, abs=0.1)
    assert orient.estimate_skew(np.full((1200, 900), 255, np.uint8)) == 0.0


def test_rotate_small_is_counter_clockwise():
    img = np.full((400, 400), 255, np.uint8)
    img[195:205, 50:350] = 0  # a horizontal bar
    turned = orient.rotate_small(img, 10.0)
    ys, xs = np.nonzero(turned < 128)
    # counter-clockwise (y down): the right end of the bar goes up
    right, left = ys[xs > xs.mean() + 100].mean(), ys[xs < xs.mean() - 100].mean()
    assert right < left - 20


def test_rotate90_is_clockwise():
    img = np.zeros((2, 3), np.uint8)
    img[0, 0] = 1  # top-left
    out = orient.rotate90(img, 90)
    assert out.shape == (3, 2) and out[0, 1] == 1  # clockwise: top-left goes to top-right
    np.testing.assert_array_equal(orient.rotate90(orient.rotate90(img, 90), 270), img)


SCANS = [
    # (rotation90, skew, out_dpi, bed_value)
    (0, 3.0, 200, 235),
    (90, -4.0, 200, 235),
    (180, 1.5, 200, 235),
    (270, -2.5, 200, 235),
    (0, -1.0, 200, 30),
    (90, 2.0, 150, 30),
    (180, -4.5, 200, 30),
    (270, 4.5, 200, 30),
]


@pytest.mark.parametrize("r,skew,dpi,bed", SCANS)
def test_orient_quarter_turns(dc01_filled, dc01_reference, scan_of, r, skew, dpi, bed):
    img, _ = scan_of(dc01_filled, rotation90=r, skew_deg=skew, out_dpi=dpi, bed_value=bed,
                     blur_sigma=0.6, noise_sigma=2.5, shift_px=(12.0, -9.0), jpeg_quality=85)
    upright, o = orient.orient(img, dc01_reference)
    assert o.rotation == (360 - r) % 360
    assert o.skew_deg == pytest.approx(skew, abs=TOL)
    assert o.score > 0.05  # the chosen turn clearly beats the runner-up
    # the output is upright: portrait, and its layout matches the blank far better upside down
    h, w = upright.shape
    assert h > w
    sig = orient._layout_signature
    ref_sig = sig(orient._shrink(dc01_reference, 700)[0])
    small = orient._shrink(upright, 700)[0]
    assert sig(small) @ ref_sig > sig(orient.rotate90(small, 180)) @ ref_sig + 0.05


def test_orient_cc01_quarter_turn(cc01, cc01_filled, scan_of):
    img, _ = scan_of(cc01_filled, rotation90=90, skew_deg=-2.0, out_dpi=200, noise_sigma=2.0)
    _, o = orient.orient(img, render.reference_image(cc01, 300))
    assert o.rotation == 270
    assert o.skew_deg == pytest.approx(-2.0, abs=TOL)


def test_whiten_background_paints_dark_bed_like_the_paper(dc01_filled, scan_of):
    img, truth = scan_of(dc01_filled, skew_deg=3.0, out_dpi=150, bed_value=30, margin_px=30)
    assert img[:5, :5].max() <= 60
    out = orient.whiten_background(img)
    assert out[:5, :5].min() == 255 and out[-5:, -5:].min() == 255  # white paper: painted white
    # the paper itself is untouched
    cx, cy = np.mean(truth["page_quad"], axis=0).astype(int)
    np.testing.assert_array_equal(out[cy - 50:cy + 50, cx - 50:cx + 50], img[cy - 50:cy + 50, cx - 50:cx + 50])


@pytest.mark.parametrize("bed", [30, 200])
def test_whiten_background_keeps_the_paper_outside_a_printed_frame(bed):
    """A printed frame splits the paper's bright pixels in two; when the part inside it is the larger,
    the header and signatures outside the frame must not be painted white as if they were bed (they
    were: on a held-out hand's scan every field there then read as empty and was accepted so)."""
    import cv2

    img = np.full((1400, 1000), bed, np.uint8)
    paper = np.array([[60, 50], [940, 80], [920, 1350], [40, 1320]], np.int32)  # turned a little
    cv2.fillConvexPoly(img, paper, 245)
    cv2.polylines(img, [np.array([[110, 200], [890, 225], [872, 1130], [92, 1105]], np.int32)], True, 0, 6)
    cv2.putText(img, "Tinh/thanh pho: Soc Trang", (120, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 40, 2)
    cv2.putText(img, "Nguyen Ngoc Bach", (560, 1250), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 40, 2)
    out = orient.whiten_background(img)
    if bed < 100:
        assert out[:5, :5].min() == 245  # a dark bed is painted in the paper's brightness (a light one may be left alone)
    for x0, y0, x1, y1 in ((120, 120, 520, 160), (560, 1220, 880, 1260)):  # header, signature name
        np.testing.assert_array_equal(out[y0:y1, x0:x1], img[y0:y1, x0:x1])
