"""orient's text cues on pages the cues' fixed tuning used to misread (made-up pages): faint grey print
(its ink lighter than the fixed ink level), small low-resolution images (characters of ~5 px), dense
print whose letters the rule filter took for ruled lines, and a blank sheet of noisy paper, which
must still give no turn at all."""

from __future__ import annotations

import cv2
import numpy as np

from ocr_service.pipeline import orient
from ocr_service.synth.letter import text_page

TURNS = (0, 90, 180, 270)


def _all_turns(page: np.ndarray) -> list[tuple[int, float, orient.TextCues | None]]:
    out = []
    for turn in TURNS:
        for skew in (0.0, 7.0):
            out.append((turn, skew, orient.text_cues(orient.rotate_small(orient.rotate90(page, turn), skew))))
    return out


def test_faint_grey_print_is_read():
    page = text_page(150)
    faint = (255 - (255 - page.astype(np.float32)) * 0.3).astype(np.uint8)  # ink 20 -> ~185 grey
    assert faint.min() > orient.MAX_INK_LEVEL - 10  # lighter than what the fixed ink level keeps
    for turn, skew, cues in _all_turns(faint):
        assert cues is not None and cues.rotation == (360 - turn) % 360, (turn, skew, cues)
        assert cues.confidence >= orient.TEXT_SURE, (turn, skew, cues)


def test_faint_ink_level_needs_contrast():
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(245, 4, (1754, 1240)), 0, 255).astype(np.uint8)  # blank, noisy paper
    assert orient.binarize_ink(paper, faint=True).mean() < 0.002 * 255
    assert orient.text_cues(paper) is None
    _, o = orient.orient(paper)
    assert (o.rotation, o.method, o.score) == (0, orient.NONE, 0.0)
    # a page of normal black print keeps the fixed level: nothing lighter becomes ink
    page = text_page(150)
    assert (orient.binarize_ink(page, faint=True) == orient.binarize_ink(page)).all()


def test_small_low_resolution_page_is_read():
    page = text_page(150, size_pt=9)
    small = cv2.resize(page, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # ~45 dpi, ~5 px letters
    assert max(small.shape) < 550
    assert orient._char_size(orient.binarize_ink(small)) < orient.MIN_CHAR_HEIGHT
    assert orient._text_image(small).shape[0] >= 1.4 * small.shape[0]  # brought up to the cues' size
    for turn, skew, cues in _all_turns(small):
        assert cues is not None and cues.rotation == (360 - turn) % 360, (turn, skew, cues)


def test_large_page_is_not_scaled_up_past_the_limit():
    page = text_page(300, size_pt=6)  # fine print on a large image
    img = orient._text_image(page)
    assert max(img.shape) <= orient.MAX_TEXT_SIDE and max(img.shape) > orient.TEXT_SIDE


def test_rule_filter_keeps_dense_print_and_removes_rules():
    page = text_page(150)
    ink = orient.binarize_ink(page)
    kept = orient._without_rules(ink)
    assert kept.sum() > 0.98 * ink.sum()  # the letters of running text stay
    ruled = np.full_like(page, 255)
    ruled[:700] = page[100:800]  # a block of text, then a form's writing lines below it
    for y in range(800, 1700, 90):  # a solid one and a dotted one
        ruled[y:y + 2, 100:1100] = 0
        ruled[y + 40:y + 42, 100:1100:6] = 0
    ruled_ink = orient.binarize_ink(ruled)
    out = orient._without_rules(ruled_ink)
    assert out[800:1700].sum() == 0  # every rule is gone
    assert out[:700].sum() > 0.98 * ruled_ink[:700].sum()  # the text is not


def test_broken_print_still_shows_its_line_direction():
    """Letters broken into specks (a worn or screened print): the profile across the lines is spiky
    from single strokes; binned at a third of a character it is smooth and the lines stand out (at
    1-px bins the ratio of this page is about 1.1, far from sure)."""
    page = text_page(150)
    rng = np.random.default_rng(0)
    screen = rng.random((page.shape[0] // 2 + 1, page.shape[1] // 2 + 1)) < 0.45
    screen = np.kron(screen, np.ones((2, 2), bool))[:page.shape[0], :page.shape[1]]
    broken = np.where((page < 128) & ~screen, 255, page).astype(np.uint8)
    for turn in TURNS:
        cues = orient.text_cues(orient.rotate90(broken, turn))
        assert cues.rotation == (360 - turn) % 360 and cues.axis_ratio > 2.0, (turn, cues)
        assert cues.confidence >= orient.TEXT_SURE, (turn, cues)


def _touching_lines(upright: bool) -> np.ndarray:
    """A made-up ink mask of 20 text lines set so close that no blank row parts them: per line 3
    rows of ascenders (a third of the width inked), a 6-row x-height band (all of it), 3 rows of
    descenders (a tenth), the next line's ascenders right below."""
    w = 800
    line = np.zeros((12, w), np.uint8)
    line[0:3, ::3] = 255
    line[3:9, :] = 255
    line[9:12, ::10] = 255
    ink = np.vstack([np.zeros((30, w), np.uint8)] + [line] * 20 + [np.zeros((30, w), np.uint8)])
    return ink if upright else ink[::-1].copy()


def test_up_down_cue_reads_lines_that_touch():
    for upright in (True, False):
        ink = _touching_lines(upright)
        assert orient._updown_gaps(ink)[1] == 0  # one block of rows: no line to measure
        u, lines = orient._updown_bands(ink)
        assert lines >= 4 * 18 and (u > 0.3 if upright else u < -0.3), (upright, u, lines)
        assert (orient._updown(ink)[0] > 0) == upright


def test_print_near_the_tuned_size_is_not_resampled():
    """Characters of 10-16 px at TEXT_SIDE are measured as they are, not resampled (blurred) to 12 px
    for a size that a skew alone can make 20-35% larger."""
    page = text_page(150, size_pt=15)  # characters of ~14 px at TEXT_SIDE
    for skew in (0.0, 15.0):
        img = orient.rotate_small(page, skew)
        small = orient._shrink(img, orient.TEXT_SIDE)[0]
        size = orient._char_size(orient.binarize_ink(small))
        assert orient.CHAR_HEIGHT < size < orient.MAX_CHAR_HEIGHT, (skew, size)
        assert orient._text_image(img).shape == small.shape, skew
