"""orient reads an unsure up/down cue again on the page deskewed in grey (made-up pages of small
print): turning the ink mask of ~4-px print by 13-14° loses or thickens the marks above and below
the x-height band that the cue is made of, and reads such a page weakly or the wrong way up; the
grey page, deskewed first and binarized after, keeps them. Sure pages are not read twice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr_service.pipeline import orient
from ocr_service.synth.letter import text_page


@pytest.fixture(scope="module")
def small_print() -> np.ndarray:
    page = text_page(150, size_pt=10)
    return cv2.resize(page, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)  # ~50 dpi


@pytest.mark.parametrize("turn,skew", [(270, 13.0), (90, -14.0)])
def test_skewed_small_print_is_read_in_grey(small_print, turn, skew, monkeypatch):
    img = orient.rotate_small(orient.rotate90(small_print, turn), skew)
    want = (360 - turn) % 360
    with monkeypatch.context() as m:
        m.setattr(orient, "GREY_UPDOWN_DEG", 90.0)  # read on the turned mask only
        first = orient.text_cues(img)
    # the mask alone reads this page the wrong way up, unsure
    assert first.rotation != want and orient._updown_confidence(first.updown, first.lines) < orient.TEXT_SURE
    cues = orient.text_cues(img)
    assert abs(cues.skew_deg + skew) < 0.3
    assert cues.rotation == want and cues.confidence >= orient.TEXT_SURE, cues


def test_sure_or_straight_pages_are_read_once(small_print, monkeypatch):
    def twice(*_args):
        raise AssertionError("read again in grey")

    monkeypatch.setattr(orient, "_updown_grey", twice)
    sure_skewed = orient.rotate_small(orient.rotate90(small_print, 180), 8.0)
    cues = orient.text_cues(sure_skewed)
    assert cues.rotation == 180 and cues.confidence >= orient.TEXT_SURE
    straight = text_page(150)
    assert orient.text_cues(straight).rotation == 0
