"""orient's up/down cue on line segments, the deskewed mask kept as thin as it was, and the dark
bed painted in the paper's own grey (made-up pages): lines that drift across the page (a curved page
of an open book, a residual skew) smear the x-height bands of whole strips but not those of short
segments; a mask turned by a small angle must keep the blank rows between close-set lines; and a grey
photographed page on a dark bed must not have its paper taken for ink once the bed is painted."""

from __future__ import annotations

import numpy as np

from ocr_service.pipeline import orient
from ocr_service.synth.letter import text_page


def _drifting_words(drift: float, bent: bool, width: int = 1000, lines: int = 30) -> np.ndarray:
    """A made-up ink mask of words on close-set lines whose rows drift by ``drift`` px per px across
    the page (``bent``: down on the left half, up on the right, as an open book's lines curve, so no
    one angle straightens them). Per word: 3 rows of ascenders (a third of the columns), a 6-row
    x-height band (all of them), 3 rows of descenders (a tenth); 2 blank rows between lines."""
    rng = np.random.default_rng(0)
    pitch = 14
    ink = np.zeros((lines * pitch + 80 + int(drift * width) + 20, width), np.uint8)
    for i in range(lines):
        x = 10
        while x < width - 100:
            n = int(rng.integers(30, 90))
            offset = drift * (abs(x - width / 2) if bent else x)
            y = 40 + i * pitch + int(offset)
            ink[y:y + 3, x:x + n:3] = 255
            ink[y + 3:y + 9, x:x + n] = 255
            ink[y + 9:y + 12, x:x + n:10] = 255
            x += n + 9  # a word space wider than half a character: segments are words here
    return ink


def test_segments_read_drifting_lines():
    for drift, bent in ((0.0, False), (0.02, False), (0.03, False), (0.02, True), (0.04, True)):
        for upright in (True, False):
            ink = _drifting_words(drift, bent)
            if not upright:
                ink = np.ascontiguousarray(ink[::-1, ::-1])
            u, segments = orient._updown_segments(ink)
            # a third of the columns with ascenders, a tenth with descenders: (1 - 0.3) / 1.3 = 0.54 at best
            assert segments >= 250 and (u > 0.4 if upright else u < -0.4), (drift, bent, upright, u, segments)
            assert (orient._updown(ink)[0] > 0) == upright, (drift, bent, upright)


def test_strips_alone_lose_drifting_lines():
    """Why the segments are measured: on lines drifting by a row every 50 px (about 1.1°) the strips'
    measures fall to near nothing, which the segments' cue must make up for."""
    ink = _drifting_words(0.02, False)
    assert abs(orient._updown_gaps(ink)[0]) < 0.1 and abs(orient._updown_bands(ink)[0]) < 0.15
    assert orient._updown(ink)[0] > 0.15  # the segments' cue, about 0.5, over three


def test_segments_leave_out_lines_joined_together():
    """Ink rows that touch the lines above and below (a solid block, a picture) are no segment."""
    block = np.zeros((400, 600), np.uint8)
    block[50:350, 50:550] = 255
    assert orient._updown_segments(block) == (0.0, 0)


def test_dark_bed_is_painted_in_the_papers_grey():
    page = text_page(100)
    grey = (60 + page.astype(np.float32) / 255 * (170 - 60))  # grey paper (170), grey ink (60)
    grey = (grey * np.linspace(1.0, 0.8, grey.shape[1])[None, :]).astype(np.uint8)  # lit unevenly
    h, w = grey.shape
    photo = np.full((h + 160, w + 200), 25, np.uint8)  # on a dark table
    photo[80:80 + h, 100:100 + w] = grey
    out = orient.whiten_background(photo)
    assert 130 <= out[5, 5] <= 175 and out[5, 5] == out[-5, -5]  # the paper's grey, not white
    ink = orient.binarize_ink(out) > 0
    alone = orient.binarize_ink(grey) > 0
    # the paper is no ink, as on the page alone (painted white, the bed made the paper near it look
    # dark against the local background: 11% of the page was ink instead of 3%)
    assert abs(ink[80:80 + h, 100:100 + w].mean() - alone.mean()) < 0.005
    assert ink[:60].mean() < 0.001 and ink[:, :80].mean() < 0.001  # the bed is no ink either
    for turn in (0, 90, 180, 270):
        cues = orient.text_cues(orient.rotate90(out, turn))
        assert cues.rotation == (360 - turn) % 360 and cues.confidence >= orient.TEXT_SURE, (turn, cues)


def test_light_bed_is_left_alone():
    page = text_page(100)
    assert orient.whiten_background(page) is page


def test_turned_mask_keeps_the_blank_rows_between_close_lines():
    """A mask deskewed by a small angle keeps the blank rows between lines set close, and grows by
    far less than a grey interpolated edge counted as ink grew it (there the 2-row gaps all closed
    and the ink grew by a quarter; on small print the up/down cue then read lines run together)."""
    mask = np.zeros((400, 600), np.uint8)
    for y in range(40, 360, 10):
        mask[y:y + 8, 50:550] = 255  # lines of 8 rows of ink, 2 blank rows between them
    back = orient.rotate_mask(orient.rotate_mask(mask, 7.0), -7.0)
    assert set(np.unique(back)) <= {0, 255}
    assert (back > 0).sum() < 1.15 * (mask > 0).sum()
    h, w = back.shape
    rows = (back[h // 2 - 100:h // 2 + 100, w // 2 - 150:w // 2 + 150] > 0).mean(axis=1)
    assert (rows < 0.05).sum() >= 15  # the gaps are still blank (20 gaps in these 200 rows)
    grown = orient.rotate_small(orient.rotate_small(mask, 7.0, fill=0), -7.0, fill=0)
    rows = (grown[h // 2 - 100:h // 2 + 100, w // 2 - 150:w // 2 + 150] > 0).mean(axis=1)
    assert (rows < 0.05).sum() == 0  # what the cue saw before: no gap left


def test_close_along_keeps_every_pixel():
    """Closing along x must keep the mask's own pixels (OpenCV's closing with an even-width kernel
    shifts them a pixel) and fill gaps narrower than the run, no wider."""
    rng = np.random.default_rng(3)
    for width in (5, 6, 7):
        mask = ((rng.random((40, 300)) < 0.15) * 255).astype(np.uint8)
        closed = orient._close_along(mask, width)
        assert not ((mask > 0) & (closed == 0)).any(), width
    row = np.zeros((1, 30), np.uint8)
    row[0, [10, 16, 23]] = 255  # gaps of 5 and 6 px
    assert (orient._close_along(row, 6)[0] > 0).tolist() == [i in range(10, 17) or i == 23 for i in range(30)]


def _words_led_by_thin_stems(lines: int = 30, width: int = 1000) -> np.ndarray:
    """A made-up ink mask of words that each begin with a 1-px stem through the ascender rows and
    the x-height band (as a thin-stroked T, l or h at a word's start), with no other ascenders, and
    descenders 2 px wide under a quarter of them; 6-row x-height bands, 3 blank rows between lines."""
    rng = np.random.default_rng(2)
    pitch = 15
    ink = np.zeros((lines * pitch + 80, width), np.uint8)
    for i in range(lines):
        x, k = 10, 0
        while x < width - 60:
            n = int(rng.integers(24, 60))
            y = 40 + i * pitch
            ink[y:y + 9, x] = 255  # the leading stem: ascender (3 rows) and x-height
            ink[y + 3:y + 9, x + 3:x + n] = 255
            if k % 4 == 0:
                ink[y + 9:y + 12, x + n // 2:x + n // 2 + 2] = 255
            x, k = x + n + 9, k + 1
    return ink


def test_segments_count_the_first_column_of_a_word():
    """The segments' cue counts a word's first stroke: with the closed mask shifted a pixel, a 1-px
    ascender stem at a word's start fell outside the word's segment, and print whose ascenders
    start words read upside down."""
    ink = _words_led_by_thin_stems()
    for upright in (True, False):
        page = ink if upright else np.ascontiguousarray(ink[::-1, ::-1])
        u, segments = orient._updown_segments(page)
        assert segments >= 300 and (u > 0.2 if upright else u < -0.2), (upright, u, segments)
