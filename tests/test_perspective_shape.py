"""perspective.flatten leaves alone bright regions that are no sheet's outline (made-up pages).

Found on real scans (a grey catalogue page with dark margins, docs/orientation.md): the lit part of
the page formed a kite-like region, its corners were picked twice by the old corner order, and the
page was "flattened" to a sliver that the orientation cues could no longer read.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr_service.pipeline import orient, perspective

KITE = np.array([[500, 100], [850, 500], [500, 1300], [150, 500]], np.int32)  # x, y


def _page_on_bed(corners: np.ndarray) -> np.ndarray:
    """A dark bed (1000 x 1400) with a bright region of the given outline carrying lines of 'text'."""
    img = np.full((1400, 1000), 40, np.uint8)
    cv2.fillPoly(img, [corners], 235)
    region = np.zeros_like(img)
    cv2.fillPoly(region, [corners], 255)
    for y in range(200, 1250, 30):  # word-like bars, 10 px high, inside the region only
        for x in range(160, 840, 70):
            bar = np.zeros_like(img)
            cv2.rectangle(bar, (x, y), (x + 50, y + 10), 255, -1)
            img[(bar > 0) & (region > 0)] = 30
    return img


def test_corner_order_keeps_four_distinct_corners_of_a_kite():
    # x+y and y-x are both smallest at the top corner: the old order took it for TL and TR alike
    quad = perspective._order(KITE[[2, 0, 3, 1]].astype(np.float64))
    assert len({tuple(p) for p in quad}) == 4
    assert quad[0].tolist() == [500, 100] and quad[1].tolist() == [850, 500]  # TL, then clockwise


def test_corner_order_of_a_keystoned_sheet_is_tl_tr_br_bl():
    quad = np.array([[620, 830], [80, 60], [40, 900], [700, 40]], np.float64)
    assert perspective._order(quad).tolist() == [[80, 60], [700, 40], [620, 830], [40, 900]]


def test_a_kite_shaped_bright_region_is_not_warped():
    img = _page_on_bed(KITE)
    quad = perspective.find_paper(img)
    assert quad is not None and perspective.keystone(quad) > perspective.MAX_KEYSTONE
    flat, corners = perspective.flatten(img)
    assert corners is None and flat is img


def test_a_real_keystone_is_still_flattened():
    sheet = np.array([[120, 90], [880, 140], [930, 1300], [70, 1330]], np.int32)
    img = _page_on_bed(sheet)
    flat, corners = perspective.flatten(img)
    assert corners is not None and 0.03 <= perspective.keystone(corners) <= perspective.MAX_KEYSTONE
    assert flat.shape[0] > 1000 and flat.shape[1] > 700  # the whole sheet, not a sliver
    _, o = orient.orient(img)
    assert o.perspective
