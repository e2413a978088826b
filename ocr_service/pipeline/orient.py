"""Orientation (0/90/180/270), deskew and, for photos, perspective.

The quarter turn comes from the page's own text, so it works on pages of any form or none:

- line direction (0/180 against 90/270): text lines give a far sharper projection profile along
  them than across them, once the page is deskewed;
- which way up (0 against 180): Latin and Vietnamese lines carry much more ink above their x-height
  band (ascenders, capitals, i-dots, tone marks) than below it (descenders, the dot below).

When those cues are weak or disagree, Tesseract's orientation detection (``engines/osd.py``) is asked;
when the page holds too little text for any of them (a nearly blank sheet), the page's coarse ink
layout is compared with the template's blank at each quarter turn, if a blank is given. Skew comes from
the page alone (the angle, within ±20°, at which text lines give the sharpest horizontal projection
profile). A phone photo whose paper edges are visible against a darker background is first
flattened to a rectangle (``pipeline/perspective.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr_service.engines import osd
from ocr_service.errors import EngineError
from ocr_service.pipeline import perspective

MAX_SKEW_DEG = 20.0
TEMPLATE_SKEW_DEG = 8.0  # the skew searched when comparing the page's layout with a template's blank
MAX_INK_LEVEL = 190  # relative to the local paper (255): anything lighter is paper, not ink
# faint print (text cues only): the page's darkest ink is the level this share of its pixels is darker
# than (less ink than that is no page of text); ink is then what is darker than the paper by at least
# FAINT_INK_SHARE of that ink's contrast, when the contrast is at least MIN_INK_CONTRAST
DARKEST_INK_PERCENTILE = 0.5
FAINT_INK_SHARE = 0.35
MIN_INK_CONTRAST = 50
TEXT_SIDE = 1400  # long side (px) at which the text cues are measured
CHAR_HEIGHT = 12  # px: the character size the text cues are tuned for (10-12 pt print at TEXT_SIDE)
MAX_CHAR_HEIGHT = 16  # px: larger text is scaled down to CHAR_HEIGHT for the cues (not 12.6 and up:
# a skew of 10-20° alone makes a character's box 20-35% larger, and every resampling blurs small print)
MIN_CHAR_HEIGHT = 10  # px: smaller text is scaled up to CHAR_HEIGHT for the cues ...
MAX_UPSCALE = 3.0  # ... by at most this factor over the original image ...
MAX_TEXT_SIDE = 2800  # ... and to at most this long side (px)
BLOB_SIDE = 4 * CHAR_HEIGHT  # an ink blob larger than this both ways is no character of text
PROFILE_BIN = CHAR_HEIGHT // 3  # px: the line-direction cue's profile resolution (see _profile_search)
MASK_LEVEL = 64  # a turned mask's pixel is ink when over a quarter of it was (see rotate_mask)
# Unsure text cues on a page turned by at least this much are read again on the page deskewed in
# grey (_updown_grey), and the clearer of the two readings counts. Measured on the 488 real text
# cases: that fixed every small-print page the mask's turn had damaged (colorpage, pedante under a
# 13-14° skew) and changed no case for the worse; done on every skewed page, it turned three
# sure-right cases of binding-example's merged 5-px print wrong, and cost +45% time per page, so
# only unsure pages pay for it. Taking the grey reading even when it was the weaker lost 6 of the
# maps' and chart's cases (a replay of the text cues) and gained nothing on text.
GREY_UPDOWN_DEG = 0.5
TEXT_SURE = 0.6  # text cues at least this confident decide alone
MIN_TEXT_CONFIDENCE = 0.15  # weaker text cues still decide when the template's blank agrees with them
TEMPLATE_SURE = 0.05  # the blank's best turn must beat its runner-up by this much to count as agreeing
OSD_SURE = 1.0  # Tesseract's orientation confidence at which OSD decides
OSD_CHAR_HEIGHT = 14  # px: print is scaled down to about this character size for OSD
TEXT, OSD, TEMPLATE, NONE = "text", "osd", "template", "none"


@dataclass(frozen=True)
class Orientation:
    rotation: int  # quarter turns applied clockwise to make the page upright: 0, 90, 180, 270
    skew_deg: float  # small-angle correction applied after the quarter turn (counter-clockwise positive)
    score: float  # confidence in the chosen quarter turn, 0..1 (near 0: a guess)
    method: str = TEXT  # what chose the quarter turn: 'text', 'osd', 'template' or 'none' (no evidence)
    perspective: bool = False  # the page's quadrilateral (a photo) was flattened before turning


@dataclass(frozen=True)
class TextCues:
    """What the page's text says about its quarter turn (see the module docstring)."""

    rotation: int  # the clockwise quarter turn the cues choose
    axis_ratio: float  # profile sharpness along the chosen line direction over across it (>1)
    updown: float  # (ink above the x-height band - ink below) / both, on the chosen turn; >0 upright
    lines: int  # text lines the up/down cue was measured on
    confidence: float  # 0..1
    axis: int = 0  # the clockwise turn (0 or 90) that lays the text lines along x
    skew_deg: float = 0.0  # the counter-clockwise correction that then makes them horizontal
    axis_confidence: float = 0.0  # 0..1, the line-direction cue's own confidence

def binarize_ink(gray: np.ndarray, faint: bool = False) -> np.ndarray:
    """Ink mask (uint8 0/255) robust to uneven light: dark relative to the local background.

    Ink must be darker than MAX_INK_LEVEL. With ``faint``, a page whose darkest ink is itself light
    grey (faded print, a pale copy) has that limit raised in proportion to its ink's contrast, so that
    its print is not taken for paper; a page without MIN_INK_CONTRAST (a blank sheet's paper noise)
    keeps the fixed limit."""
    k = max(15, (min(gray.shape) // 20) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    norm = cv2.divide(gray, background, scale=255)
    _, ink = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    level = MAX_INK_LEVEL
    if faint:
        darkest = float(np.percentile(norm, DARKEST_INK_PERCENTILE))
        if 255 - darkest >= MIN_INK_CONTRAST:
            level = max(level, int(255 - FAINT_INK_SHARE * (255 - darkest)))
    ink[norm > level] = 0  # on a blank sheet Otsu splits paper noise: ink must be really dark
    if ink.mean() > 0.5 * 255:  # Otsu split the paper itself: nothing dark enough to be ink
        ink[:] = 0
    return ink


def _shrink(gray: np.ndarray, target_long_side: int) -> tuple[np.ndarray, float]:
    scale = target_long_side / max(gray.shape)
    if scale >= 1:
        return gray, 1.0
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def rotate90(gray: np.ndarray, rotation: int) -> np.ndarray:
    """Turn an image clockwise by ``rotation`` degrees (a multiple of 90), exactly."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, -k)) if k else gray


def rotate_small(gray: np.ndarray, angle_deg: float, fill: int = 255) -> np.ndarray:
    """Rotate counter-clockwise by a small angle about the centre, keeping the whole page."""
    if abs(angle_deg) < 1e-3:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)


def rotate_mask(mask: np.ndarray, angle_deg: float) -> np.ndarray:
    """A 0/255 mask rotated as :func:`rotate_small` does (counter-clockwise, the whole mask kept),
    its pixels ink when more than a quarter of them was (MASK_LEVEL). Counted as ink, the grey edge
    the interpolation leaves around every stroke grew each stroke by a pixel (a quarter more ink)
    and closed the blank rows between close-set lines; at a quarter the ink grows by about half as
    much and one-row gaps stay. (At a half, measured: the up/down cue read tiny print, 5-px letters
    of a small skewed image, worse, on made-up and real pages.)"""
    return ((rotate_small(mask, angle_deg, fill=0) > MASK_LEVEL) * 255).astype(np.uint8)


def _line_points(ink: np.ndarray, reach: int = 9) -> np.ndarray:
    """Ink pixels of an ink mask, characters joined into line blobs along x (a sample of them)."""
    ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, 1)))
    ys, xs = np.nonzero(ink)
    pts = np.column_stack([xs, ys]).astype(np.float32)
    if len(pts) > 40_000:  # a sample keeps the profile's shape at a fraction of the cost
        pts = pts[np.random.default_rng(0).choice(len(pts), 40_000, replace=False)]
    return pts


def _profile_search(pts: np.ndarray, shape: tuple[int, int], max_angle: float,
                    bin_px: int = 1) -> tuple[float, float]:
    """(counter-clockwise angle that makes the lines of ``pts`` horizontal, profile sharpness there).

    The search maximizes the energy of the profile's derivative (coarse to fine: 0.5°, 0.1°, 0.02°
    steps); the sharpness returned is that energy over the profile's own, which is scale-free, so
    that two line directions of one page can be compared. It is measured on the profile summed
    into bins of ``bin_px`` px: a third of a character keeps the edges of text lines but averages
    out the spikes of single strokes, which on a page of few or broken lines can make the profile
    across the lines look as sharp as the one along them."""
    if len(pts) == 0:
        return 0.0, 0.0
    cx, cy = shape[1] / 2, shape[0] / 2
    height = int(np.hypot(*shape)) + 2

    def profile(angle: float) -> np.ndarray:
        a = np.deg2rad(angle)
        # y coordinate after rotating counter-clockwise by `angle` about the centre
        y = -(pts[:, 0] - cx) * np.sin(a) + (pts[:, 1] - cy) * np.cos(a) + height / 2
        return np.bincount(np.clip(y.astype(np.int32), 0, height - 1), minlength=height).astype(np.float64)

    best = 0.0
    for step, span in ((0.5, max_angle), (0.1, 0.6), (0.02, 0.12)):
        angles = np.arange(best - span, best + span + 1e-9, step)
        scores = [np.sum(np.diff(profile(a)) ** 2) for a in angles]
        best = float(angles[int(np.argmax(scores))])
    hist = np.add.reduceat(profile(best), np.arange(0, height, bin_px))
    return best, float(np.sum(np.diff(hist) ** 2) / max(np.sum(hist ** 2), 1.0))


def estimate_skew(gray: np.ndarray, max_angle: float = MAX_SKEW_DEG) -> float:
    """The counter-clockwise rotation (degrees, within ±``max_angle``) that makes text lines horizontal.

    Projection-profile search, coarse then fine; accurate to about 0.05° on text pages.
    Returns 0.0 for a page without enough ink to tell.
    """
    small, _ = _shrink(gray, TEXT_SIDE)
    ink = binarize_ink(small)
    if ink.mean() < 0.002 * 255:
        return 0.0
    return _profile_search(_line_points(ink), ink.shape, max_angle)[0]


def _char_size(ink: np.ndarray) -> float | None:
    """The page's typical character size in px (the median ink blob's longer side), None when the
    page holds too few character-like blobs to tell."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n < 20:
        return None
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    keep = (area >= 8) & (np.maximum(w, h) < 0.1 * max(ink.shape))  # not specks, not rules or pictures
    if keep.sum() < 20:
        return None
    return float(np.median(np.maximum(w[keep], h[keep])))


def _text_scale(ink: np.ndarray) -> float:
    """Factor that brings the page's typical character (the median ink blob) to about CHAR_HEIGHT px
    (the size of 10-12 pt print at TEXT_SIDE); 1.0 when the page has too few characters to tell."""
    size = _char_size(ink)
    return 1.0 if size is None else CHAR_HEIGHT / max(size, 1.0)


def _text_image(gray: np.ndarray) -> np.ndarray | None:
    """The page at the scale the text cues are tuned for (characters of about CHAR_HEIGHT px), None
    for a page without ink. Print larger than MAX_CHAR_HEIGHT px is scaled down; print smaller than
    MIN_CHAR_HEIGHT px (a small image, or a large page of fine print that TEXT_SIDE would shrink too
    far) is brought up to CHAR_HEIGHT px from the original pixels, within MAX_UPSCALE and
    MAX_TEXT_SIDE: the cues' thresholds (line heights, x-height bands, rule thickness) are in pixels
    at that size."""
    small, scale = _shrink(gray, TEXT_SIDE)
    ink = binarize_ink(small, faint=True)
    if ink.mean() < 0.002 * 255:
        return None
    f = _text_scale(ink)
    if f < CHAR_HEIGHT / MAX_CHAR_HEIGHT:  # large print
        return cv2.resize(small, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if f <= CHAR_HEIGHT / MIN_CHAR_HEIGHT:  # print of about the right size
        return small
    up = min(scale * f, MAX_UPSCALE, MAX_TEXT_SIDE / max(gray.shape))  # relative to the original
    if up <= scale * 1.05:
        return small
    return cv2.resize(gray, None, fx=up, fy=up, interpolation=cv2.INTER_AREA if up < 1 else cv2.INTER_CUBIC)


def _without_rules(ink: np.ndarray) -> np.ndarray:
    """The ink mask less ruled and dotted lines (a form's writing lines, boxes, table rules): thin runs
    much longer than a character, horizontal or vertical, lying on rule-like ink (:func:`_rule_like`).
    Text, even with touching letters, is thicker than a rule, so it stays."""
    long_run = 4 * CHAR_HEIGHT
    rules = np.zeros_like(ink)
    blobs = None  # the ink's blobs, found once when a direction has thin runs to check
    for close, run in (((7, 1), (long_run, 1)), ((1, 7), (1, long_run))):
        joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, close))
        runs = cv2.morphologyEx(joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, run))
        _, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        across = stats[:, cv2.CC_STAT_HEIGHT] if close[0] > 1 else stats[:, cv2.CC_STAT_WIDTH]
        thin = np.flatnonzero(across <= 3)
        thin = thin[thin > 0]
        if len(thin):
            blobs = blobs or cv2.connectedComponentsWithStats(ink, connectivity=8)[1:3]
            thin = _rule_like(ink, blobs, labels, thin, vertical=close[0] == 1)
        if len(thin):
            rules |= np.isin(labels, thin).astype(np.uint8) * 255
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(ink, cv2.bitwise_not(rules))


def _rule_like(ink: np.ndarray, blobs: tuple[np.ndarray, np.ndarray], labels: np.ndarray, candidates: np.ndarray,
               vertical: bool) -> np.ndarray:
    """The candidate runs (labels) that lie mostly on rule-like ink: ink blobs at most 4 px thick
    across the run (a rule, a dash, a dot of a dotted line) or far longer than any word along it (a
    rule touching others, a table grid). A run found inside a line of print (the few rows of its
    x-height band where the letters, their gaps closed, run on) lies on letters, which are neither.
    ``blobs``: the ink's connected components (labels, stats); ``labels``: the runs'."""
    blobs, stats = blobs
    across = stats[:, cv2.CC_STAT_WIDTH if vertical else cv2.CC_STAT_HEIGHT]
    along = stats[:, cv2.CC_STAT_HEIGHT if vertical else cv2.CC_STAT_WIDTH]
    rulish = (across <= 4) | (along >= 8 * CHAR_HEIGHT)
    rulish[0] = False
    on = (ink > 0) & (labels > 0)
    n = labels.max() + 1
    total = np.bincount(labels[on], minlength=n)
    ruled = np.bincount(labels[on], weights=rulish[blobs[on]], minlength=n)
    share = ruled[candidates] / np.maximum(total[candidates], 1)
    return candidates[share >= 0.5]


def _without_blobs(ink: np.ndarray) -> np.ndarray:
    """The ink mask less blobs far larger than a character both ways (a dark book edge or margin,
    a photo, a filled box): their outlines would pull the line-direction and skew search off the
    text lines. Text at the normalized size stays: its characters are far smaller."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    big = np.flatnonzero((stats[:, cv2.CC_STAT_WIDTH] > BLOB_SIDE) & (stats[:, cv2.CC_STAT_HEIGHT] > BLOB_SIDE))
    big = big[big > 0]
    if not len(big):
        return ink
    out = ink.copy()
    out[np.isin(labels, big)] = 0
    return out


def _updown_gaps(ink: np.ndarray) -> tuple[float, int]:
    """The up/down cue on lines parted by blank rows: (ink above the lines' x-height band minus ink
    below, over both; text lines measured) on a deskewed ink mask whose lines run along x. Measured
    in four vertical strips so that columns whose lines do not line up are not mixed."""
    w = ink.shape[1]
    above = below = 0.0
    lines = 0
    strips = 4
    for s in range(strips):
        strip = ink[:, s * w // strips:(s + 1) * w // strips] > 0
        prof = strip.sum(axis=1).astype(np.float64)
        on = prof > max(1.0, 0.002 * strip.shape[1])
        edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if not 5 <= b - a <= 4 * CHAR_HEIGHT:  # not a text line at the normalized size
                continue
            p = prof[a:b]
            core = np.flatnonzero(p >= 0.5 * p.max())  # the x-height band: the line's dense rows
            top, bottom = core[0], core[-1]
            if bottom - top < 2:
                continue
            above += p[:top].sum()
            below += p[bottom + 1:].sum()
            lines += 1
    total = above + below
    return (0.0 if total == 0 else float((above - below) / total)), lines


def _updown_bands(ink: np.ndarray) -> tuple[float, int]:
    """The up/down cue on x-height bands, as :func:`_updown_gaps` but without needing blank rows
    between lines: a band is a run of rows at least half as dense as the densest row within a
    line's reach; the rows between two bands go half to the band above (its descenders) and half
    to the band below (its ascenders, capitals, marks), at most CHAR_HEIGHT rows each way. So lines
    set close, whose ascenders touch the descenders above, are measured too."""
    w = ink.shape[1]
    above = below = 0.0
    lines = 0
    strips = 4
    reach = np.ones((2 * CHAR_HEIGHT + 1, 1), np.uint8)
    for s in range(strips):
        strip = ink[:, s * w // strips:(s + 1) * w // strips] > 0
        prof = strip.sum(axis=1).astype(np.float32)
        local_max = cv2.dilate(prof.reshape(-1, 1), reach).ravel()
        core = (prof >= 0.5 * local_max) & (prof > max(1.0, 0.01 * strip.shape[1]))
        edges = np.diff(np.concatenate([[0], core.astype(np.int8), [0]]))
        bands = [(a, b) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
                 if 2 <= b - a <= 2 * CHAR_HEIGHT]  # an x-height band at the normalized size
        for i, (a, b) in enumerate(bands):
            top = max(a - CHAR_HEIGHT, (bands[i - 1][1] + a) // 2 if i else 0)
            bottom = min(b + CHAR_HEIGHT, (b + bands[i + 1][0]) // 2 if i + 1 < len(bands) else len(prof))
            above += float(prof[top:a].sum())
            below += float(prof[b:bottom].sum())
            lines += 1
    total = above + below
    return (0.0 if total == 0 else float((above - below) / total)), lines


def _close_along(mask: np.ndarray, width: int) -> np.ndarray:
    """The mask closed along x by a ``width``-px run (gaps narrower than ``width`` filled), keeping
    every pixel it had. (OpenCV's closing with an even-width kernel erodes with the kernel's anchor
    unmirrored, which shifts the result a pixel: the first column of every stroke, and a 1-px mark,
    fell outside the closed mask.)"""
    kernel = np.ones((1, width), np.uint8)
    grown = cv2.dilate(mask, kernel, anchor=(width // 2, 0))
    return cv2.erode(grown, kernel, anchor=((width - 1) // 2, 0))


def _updown_segments(ink: np.ndarray) -> tuple[float, int]:
    """The up/down cue measured on line segments, each on its own: characters joined along the line
    (gaps under half a character: letters and most word spaces) into segments, each segment's own
    row profile and x-height band (rows at least half as dense as its densest), ink above the band
    minus ink below, summed over segments; (cue, segments measured). A segment ends at a column's
    edge, a picture or a wide gap, so columns whose lines do not line up, and a line's drift over a
    wide page (a residual skew, a curve), do not smear its band as they do a strip's. Segments
    joined to the lines above or below (touching letters) are too tall and left out."""
    joined = _close_along(ink, CHAR_HEIGHT // 2)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    if n < 2:
        return 0.0, 0
    h = stats[:, cv2.CC_STAT_HEIGHT]
    w = stats[:, cv2.CC_STAT_WIDTH]
    # a segment of text: at least two characters long, at most a line and its marks tall
    segment = (h >= CHAR_HEIGHT // 2) & (h <= 3 * CHAR_HEIGHT) & (w >= 2 * h)
    segment[0] = False
    if not segment.any():
        return 0.0, 0
    ys, xs = np.nonzero(ink)
    lab = labels[ys, xs]
    keep = segment[lab]
    lab, ys = lab[keep], ys[keep]
    rows = 3 * CHAR_HEIGHT + 1
    dy = ys - stats[lab, cv2.CC_STAT_TOP]
    prof = np.bincount(lab * rows + dy, minlength=n * rows).reshape(n, rows)[segment].astype(np.float64)
    core = prof >= 0.5 * prof.max(axis=1, keepdims=True)
    top = np.argmax(core, axis=1)
    bottom = rows - 1 - np.argmax(core[:, ::-1], axis=1)
    idx = np.arange(rows)
    above = float((prof * (idx[None, :] < top[:, None])).sum())
    below = float((prof * (idx[None, :] > bottom[:, None])).sum())
    total = above + below
    return (0.0 if total == 0 else (above - below) / total), len(prof)


def _updown(ink: np.ndarray) -> tuple[float, int]:
    """(up/down cue, text lines measured): the mean of :func:`_updown_gaps`, :func:`_updown_bands`
    and :func:`_updown_segments`. Each misreads some pages (lines set close; pages whose marks sit
    between lines; lines that touch their neighbours), rarely all the same way: when they disagree
    the mean is weak, and OSD is asked."""
    u1, n1 = _updown_gaps(ink)
    u2, n2 = _updown_bands(ink)
    u3, _ = _updown_segments(ink)
    return (u1 + u2 + u3) / 3, max(n1, n2)


def _updown_confidence(updown: float, lines: int) -> float:
    """The up/down cue's own confidence: clear (|cue| 0.25 or more) on enough lines (8 or more)."""
    return float(np.clip(abs(updown) / 0.25, 0.0, 1.0) * np.clip(lines / 8, 0.0, 1.0))


def _updown_grey(page: np.ndarray, axis: int, skew_deg: float) -> tuple[float, int]:
    """The up/down cue read again on the page deskewed in grey and binarized after the turn (see
    GREY_UPDOWN_DEG): the turned ink mask loses or thickens the thin marks of small print, which
    the cue is made of, while the grey page keeps them. (cue, lines) as :func:`_updown`."""
    straight = rotate_small(rotate90(page, axis), skew_deg, fill=int(np.median(page)))
    return _updown(_without_blobs(_without_rules(binarize_ink(straight, faint=True))))


def text_cues(gray: np.ndarray) -> TextCues | None:
    """The quarter turn the page's text says, with the evidence; None for a page without ink."""
    page = _text_image(gray)
    if page is None:
        return None
    ink = _without_blobs(_without_rules(binarize_ink(page, faint=True)))
    found = {}
    for axis in (0, 90):
        turned = rotate90(ink, axis)
        found[axis] = _profile_search(_line_points(turned), turned.shape, MAX_SKEW_DEG, bin_px=PROFILE_BIN)
    axis = max(found, key=lambda a: found[a][1])
    skew = found[axis][0]
    other = found[90 - axis][1]
    ratio = found[axis][1] / other if other > 0 else 10.0
    updown, lines = _updown(rotate_mask(rotate90(ink, axis), skew))
    # both cues must be clear: the line direction by a margin, up/down on enough lines
    axis_conf = float(np.clip((ratio - 1.0) / 0.4, 0.0, 1.0))
    updown_conf = _updown_confidence(updown, lines)
    if min(axis_conf, updown_conf) < TEXT_SURE and abs(skew) >= GREY_UPDOWN_DEG:
        again = _updown_grey(page, axis, skew)
        if _updown_confidence(*again) > updown_conf:  # the clearer reading counts
            updown, lines = again
            updown_conf = _updown_confidence(updown, lines)
    rotation = (axis + (0 if updown >= 0 else 180)) % 360
    return TextCues(rotation, float(ratio), updown, lines, min(axis_conf, updown_conf), axis, skew, axis_conf)


def _layout_signature(gray: np.ndarray, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """Coarse ink density on a fixed grid, over the page's content bounding box."""
    ink = binarize_ink(gray)
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return np.zeros(size[0] * size[1], np.float32)
    x0, x1 = np.percentile(xs, [0.5, 99.5]).astype(int)
    y0, y1 = np.percentile(ys, [0.5, 99.5]).astype(int)
    crop = ink[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
    sig = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).ravel()
    sig -= sig.mean()
    n = np.linalg.norm(sig)
    return sig / n if n > 0 else sig


def estimate_orientation(gray: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """(quarter turns clockwise to make ``gray`` upright, margin over the runner-up)."""
    small, _ = _shrink(gray, 700)
    ref_small, _ = _shrink(reference, 700)
    ref_sig = _layout_signature(ref_small)
    scores = []
    skews: dict[int, float] = {}
    for rotation in (0, 90, 180, 270):
        turned = rotate90(small, rotation)
        # a half turn keeps the skew angle: estimate it once per axis
        if rotation % 180 not in skews:
            # ±8° is plenty for a coarse layout grid, and this fallback runs on every unsure page
            skews[rotation % 180] = estimate_skew(turned, max_angle=TEMPLATE_SKEW_DEG)
        scores.append(float(_layout_signature(rotate_small(turned, skews[rotation % 180])) @ ref_sig))
    order = np.argsort(scores)[::-1]
    return int(order[0]) * 90, float(scores[order[0]] - scores[order[1]])


def whiten_background(gray: np.ndarray) -> np.ndarray:
    """The page with a dark scanner bed around the paper painted in the paper's brightness (its bright
    pixels' median: white on a scan, the paper's grey on a photo); a light bed is left alone."""
    small, scale = _shrink(gray, 500)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    if border.mean() > 0.5 * 255:  # the image edge is mostly paper-bright: no dark bed
        return gray
    # The paper is the bright region whose outline encloses the most, holes included: a printed frame
    # splits the paper's bright pixels into the ring outside it and the area inside, and the area
    # inside may hold more pixels than the ring (the largest component would then lose the header and
    # the signatures outside the frame, whitened away as "bed").
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return gray
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    mask = np.zeros_like(small)
    cv2.fillConvexPoly(mask, hull, 255)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    # painted in the paper's own brightness, not white: a bed brighter than a photo's grey paper
    # would be taken as the local paper level near the edge, and the paper there as ink
    paper = small[(mask > 0) & (bright > 0)]
    fill = int(np.median(paper)) if len(paper) else 255
    mask = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = gray.copy()
    out[mask == 0] = fill
    return out


def _osd(gray: np.ndarray) -> tuple[int, float] | None:
    """Tesseract's quarter turn and its confidence, with the page's print brought to the size OSD
    reads best (characters of about OSD_CHAR_HEIGHT px); None when it cannot tell."""
    small, scale = _shrink(gray, TEXT_SIDE)
    f = min(1.0, scale * OSD_CHAR_HEIGHT / CHAR_HEIGHT / min(1.0, _text_scale(binarize_ink(small))))
    page = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    try:
        found = osd.detect_orientation(page)
    except EngineError:  # no OSD model installed: the other cues decide
        return None
    return None if found is None else (found.rotation, found.confidence)


def find_turn(gray: np.ndarray, reference: np.ndarray | None = None, use_osd: bool = True) -> tuple[int, float, str]:
    """(clockwise quarter turn that makes ``gray`` upright, confidence 0..1, method).

    In order: the page's text cues when they are clear ('text'); Tesseract's OSD when it is sure
    ('osd') and does not turn the page across text lines whose direction the cues are sure of; the template's blank when one is given ('template'); else the strongest weak cue, with a
    confidence near 0 (method 'none' when the page has no text at all)."""
    cues = text_cues(gray)
    if cues is not None and cues.confidence >= TEXT_SURE:
        return cues.rotation, cues.confidence, TEXT
    by_template = estimate_orientation(gray, reference) if reference is not None else None
    if cues is not None and by_template is not None and by_template[0] == cues.rotation \
            and cues.confidence >= MIN_TEXT_CONFIDENCE and by_template[1] >= TEMPLATE_SURE:
        return cues.rotation, TEXT_SURE, TEXT  # two independent cues agree
    found = _osd(gray) if use_osd and cues is not None else None
    if found is not None and cues is not None and cues.axis_confidence >= 1.0 \
            and (found[0] - cues.rotation) % 180:
        # OSD turns the page across text lines the profile is sure of: on text pages a sure line
        # direction was never wrong (472 of 488 real cases sure, 0 wrong), while OSD is asked only
        # on unsure pages, whose print it often reads badly; it is not taken (up/down stays weak)
        found = None
    if found is not None and found[1] >= OSD_SURE:
        return found[0], float(min(1.0, found[1] / (4 * OSD_SURE))), OSD
    if by_template is not None:
        return by_template[0], float(min(1.0, by_template[1])), TEMPLATE
    if cues is not None:
        return cues.rotation, cues.confidence, TEXT
    return 0, 0.0, NONE


def replay(gray: np.ndarray, rotation: int, skew_deg: float, flattened: bool) -> np.ndarray:
    """The page as :func:`orient` left it, from what orient found then (a page's stored rotation,
    skew and whether it was flattened), without searching again."""
    flat = perspective.flatten(gray)[0] if flattened else gray
    return rotate_small(rotate90(whiten_background(flat), rotation), skew_deg)


def orient(gray: np.ndarray, reference: np.ndarray | None = None, use_osd: bool = True) -> tuple[np.ndarray, Orientation]:
    """The page flattened (a photo with perspective), turned upright and deskewed, and what was done
    to it. ``reference`` (the template's blank) is only consulted when the page's text cannot tell."""
    flat, corners = perspective.flatten(gray)
    flat = whiten_background(flat)
    rotation, confidence, method = find_turn(flat, reference, use_osd)
    turned = rotate90(flat, rotation)
    skew = estimate_skew(turned)
    return rotate_small(turned, skew), Orientation(rotation, skew, confidence, method, corners is not None)
