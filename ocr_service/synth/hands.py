"""Writer styles: how one person's hand departs from the font it is drawn with.

A font draws every "a" alike, on one baseline, at one size. People do not: their glyphs wobble,
lean, drift off the line, change size and spacing within a word, press harder or lighter, cross
the dotted line or the comb-box borders, run past the end of the box, and strike a word through
to write the right one after it. :class:`Hand` holds one writer's tendencies (drawn per sheet by
:meth:`Hand.random`); :func:`render` draws a text with them. The plain Hand (all zero) draws what
the font draws, through the same code path the generator always used.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Letters a mistaken word is spelled with (a correction strikes it through).
_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy"


@dataclass(frozen=True)
class Hand:
    """One writer's tendencies. Sizes are shares of the font size unless named in px (at the
    fill resolution) or degrees; the three chances are per field."""

    jitter: float = 0.0  # per-glyph offset (sigma)
    tilt_deg: float = 0.0  # per-glyph rotation (sigma)
    slant: float = 0.0  # shear of the whole word: x shift per px above the baseline (+: leans right)
    drift: float = 0.0  # baseline drift amplitude along the line
    spacing: float = 0.0  # extra letter spacing (mean)
    spacing_var: float = 0.0  # letter spacing changes within a word (sigma)
    size_var: float = 0.0  # glyph size changes within a word (sigma)
    elastic_px: float = 0.0  # elastic distortion amplitude
    line_cross: float = 0.0  # chance of writing across the dotted line / the comb-box borders
    overrun: float = 0.0  # chance of running past the end of the box
    correction: float = 0.0  # chance of a struck-through word followed by the right one
    colour: str | None = None  # ink: black, blue, faded (fill.PEN_COLOURS); None: the sheet's grey
    width_mm: float | None = None  # pen width (None: the font's strokes)
    pressure: float = 1.0

    @property
    def plain(self) -> bool:
        return self == Hand()

    @property
    def shapes_glyphs(self) -> bool:
        """Whether glyphs are drawn one by one (else the font draws the whole text)."""
        return any((self.jitter, self.tilt_deg, self.slant, self.drift, self.spacing, self.spacing_var,
                    self.size_var, self.elastic_px))

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def random(cls, rng: random.Random) -> "Hand":
        """A writer drawn at random: most are moderate, a few are sloppy, some use a thin or
        light pen; ink black, blue or faded."""
        sloppy = rng.random() < 0.25
        k = 1.6 if sloppy else 1.0
        thin = rng.random() < 0.25
        return cls(
            jitter=rng.uniform(0.0, 0.05) * k,
            tilt_deg=rng.uniform(0.0, 4.0) * k,
            slant=rng.uniform(-0.15, 0.35),
            drift=rng.uniform(0.0, 0.08) * k,
            spacing=rng.uniform(-0.03, 0.15),
            spacing_var=rng.uniform(0.0, 0.05) * k,
            size_var=rng.uniform(0.0, 0.08) * k,
            elastic_px=rng.uniform(0.0, 2.5) * k,
            line_cross=rng.uniform(0.0, 0.25),
            overrun=rng.uniform(0.0, 0.04) * k,
            correction=rng.uniform(0.0, 0.03) * k,
            colour=rng.choices(("black", "blue", "faded"), (0.45, 0.4, 0.15))[0],
            width_mm=round(rng.uniform(0.15, 0.35), 3) if thin else None,
            pressure=round(rng.uniform(0.55, 1.0) if thin else rng.uniform(0.75, 1.0), 3),
        )


PLAIN = Hand()


@functools.lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def paste_min(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Lay ink onto paper at (x, y): the darker of the two wins, clipped to the canvas."""
    h, w = patch.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        region = canvas[y0:y1, x0:x1]
        np.minimum(region, patch[y0 - y:y1 - y, x0 - x:x1 - x], out=region)


def _plain(text: str, font_path: str, size: int, ink: int) -> tuple[np.ndarray, int]:
    font = _font(font_path, size)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    img = Image.new("L", (max(1, right - left + 4), max(1, bottom - top + 4)), 255)
    ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=ink, anchor="ls")
    return np.asarray(img, dtype=np.uint8).copy(), 2 - top


def _elastic(patch: np.ndarray, amount: float, rng: random.Random, size: int) -> np.ndarray:
    h, w = patch.shape
    g = np.random.default_rng(rng.randrange(2**31))
    sigma = max(2.0, size / 6)
    fields = []
    for _ in range(2):
        f = cv2.GaussianBlur(g.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
        fields.append(f / max(1e-6, float(np.abs(f).max())) * amount)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(patch, xs + fields[0], ys + fields[1], cv2.INTER_LINEAR, borderValue=255)


def _crop(canvas: np.ndarray, base: int) -> tuple[np.ndarray, int]:
    ink = canvas < 250
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not rows.size:
        return np.full((1, 1), 255, np.uint8), 0
    r0, r1 = max(0, rows[0] - 2), min(canvas.shape[0], rows[-1] + 3)
    c0, c1 = max(0, cols[0] - 2), min(canvas.shape[1], cols[-1] + 3)
    return canvas[r0:r1, c0:c1].copy(), base - r0


def render(text: str, font_path: str, size: int, ink: int, hand: Hand | None, rng: random.Random
           ) -> tuple[np.ndarray, int]:
    """``text`` drawn in the font at ``size`` px with grey level ``ink``, in ``hand``: the patch
    (white paper 255) and the row of its baseline. A plain hand (or None) draws exactly what the
    font draws and takes nothing from ``rng``."""
    if hand is None or not hand.shapes_glyphs or not text.strip():
        return _plain(text, font_path, size, ink)
    base_font = _font(font_path, size)
    pad = 3 * size
    width = int(base_font.getlength(text) * (1.3 + 3 * hand.size_var)
                + size * len(text) * (abs(hand.spacing) + 3 * hand.spacing_var) + 2 * pad)
    height = 4 * size
    base = int(2.6 * size)
    canvas = np.full((height, width), 255, np.uint8)
    x = float(pad)
    phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(4, 10) * size
    for ch in text:
        s = max(6, int(round(size * (1 + rng.gauss(0, hand.size_var)))))
        font = _font(font_path, s)
        if not ch.isspace():
            g = Image.new("L", (3 * s, 3 * s), 255)
            ox, oy = s // 2, 2 * s
            ImageDraw.Draw(g).text((ox, oy), ch, font=font, fill=ink, anchor="ls")
            if hand.tilt_deg:
                g = g.rotate(rng.gauss(0, hand.tilt_deg), resample=Image.BILINEAR, center=(ox, oy), fillcolor=255)
            dy = hand.drift * size * math.sin(2 * math.pi * x / period + phase) + rng.gauss(0, hand.jitter * size)
            dx = rng.gauss(0, hand.jitter * size * 0.5)
            paste_min(canvas, np.asarray(g, dtype=np.uint8), int(round(x + dx)) - ox, int(round(base + dy)) - oy)
        x += font.getlength(ch) + size * (hand.spacing + rng.gauss(0, hand.spacing_var))
    if hand.slant:
        extra = int(abs(hand.slant) * height) + 2
        shift = extra if hand.slant < 0 else 0
        m = np.float32([[1, -hand.slant, hand.slant * base + shift], [0, 1, 0]])
        canvas = cv2.warpAffine(canvas, m, (width + extra, height), borderValue=255)
    if hand.elastic_px:
        canvas = _elastic(canvas, hand.elastic_px, rng, size)
    return _crop(canvas, base)


def strike(patch: np.ndarray, base_row: int, size: int, ink: int, rng: random.Random) -> np.ndarray:
    """``patch`` with a line struck through it at mid x-height (a crossed-out word)."""
    out = patch.copy()
    y = base_row - int(size * rng.uniform(0.22, 0.38))
    tilt = int(size * rng.uniform(-0.12, 0.12))
    cv2.line(out, (0, y + tilt), (out.shape[1] - 1, y - tilt), int(ink), max(2, size // 14), lineType=cv2.LINE_AA)
    if rng.random() < 0.4:  # struck twice
        cv2.line(out, (0, y - size // 8 - tilt), (out.shape[1] - 1, y - size // 8 + tilt), int(ink),
                 max(2, size // 14), lineType=cv2.LINE_AA)
    return out


def mistaken_word(text: str, rng: random.Random) -> str:
    """A word a writer might have begun with before correcting it: one of the text's words with
    a letter changed."""
    words = [w for w in text.split() if len(w) >= 2] or [text or "a"]
    w = list(rng.choice(words))
    i = rng.randrange(len(w))
    w[i] = rng.choice([c for c in _LETTERS if c != w[i].lower()])
    return "".join(w)


def side_by_side(left: tuple[np.ndarray, int], right: tuple[np.ndarray, int], gap: int) -> tuple[np.ndarray, int]:
    """Two (patch, baseline row) drawn on one baseline, ``gap`` px apart."""
    (a, ba), (b, bb) = left, right
    above, below = max(ba, bb), max(a.shape[0] - ba, b.shape[0] - bb)
    out = np.full((above + below, a.shape[1] + gap + b.shape[1]), 255, np.uint8)
    out[above - ba:above - ba + a.shape[0], :a.shape[1]] = a
    out[above - bb:above - bb + b.shape[0], a.shape[1] + gap:] = b
    return out, above
