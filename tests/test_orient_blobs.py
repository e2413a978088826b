"""orient._without_blobs: ink far larger than a character (a dark book edge, a photo) is left out of
the text cues, characters stay (made-up masks and pages)."""

from __future__ import annotations

import cv2
import numpy as np

from ocr_service.pipeline import orient
from ocr_service.synth.letter import text_page


def test_big_blobs_go_and_characters_stay():
    ink = np.zeros((600, 400), np.uint8)
    for y in range(40, 560, 24):  # lines of character-sized blobs (8 x 12 px)
        for x in range(120, 380, 14):
            ink[y:y + 12, x:x + 8] = 255
    band = np.array([[0, 0], [60, 0], [100, 600], [0, 600]], np.int32)  # a dark book edge, slanted
    cv2.fillPoly(ink, [band], 255)
    ink[200:320, 150:300] = 255  # a photo
    out = orient._without_blobs(ink)
    assert out[300, 20] == 0 and out[250, 200] == 0  # the edge and the photo are gone
    assert out[40:52, 316:324].all() and out[544:556, 358:366].all()  # the characters are not
    assert out.sum() < ink.sum() // 2
    # a long thin rule is not a blob either way (rules have their own filter)
    rule = np.zeros((600, 400), np.uint8)
    rule[100:103, 20:380] = 255
    assert (orient._without_blobs(rule) == rule).all()


def test_text_cues_read_a_page_with_a_photo_at_every_turn_and_skew():
    page = text_page(150).copy()
    h, w = page.shape
    rng = np.random.default_rng(1)
    y0, y1, x0, x1 = int(0.45 * h), int(0.75 * h), int(0.1 * w), int(0.6 * w)
    page[y0:y1, x0:x1] = np.clip(rng.normal(60, 30, (y1 - y0, x1 - x0)), 0, 255).astype(np.uint8)
    for turn in (0, 90, 180, 270):
        for skew in (0.0, 9.0, -12.0):
            cues = orient.text_cues(orient.rotate_small(orient.rotate90(page, turn), skew))
            assert cues.rotation == (360 - turn) % 360 and cues.confidence >= orient.TEXT_SURE, (turn, skew)
