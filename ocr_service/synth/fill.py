"""Synthetic filled sheets with ground truth: fill a template's blank with a generated record in
a printed or handwriting-style font, then simulate scanning it.

All data is synthetic (see :mod:`ocr_service.synth.records`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ocr_service.errors import ConfigError
from ocr_service.forms.model import FieldSpec, Template, box_to_px, mm_to_px
from ocr_service.forms.render import render_blank
from ocr_service.synth import fonts, hands, records, scan
from ocr_service.synth.hands import Hand

FILL_DPI = 300
FORMATS = ("png", "jpg", "pdf", "tiff")
HAND_MODES = ("varied", "plain")


PEN_COLOURS = {  # grey level range of each ink on a grayscale scan (paper 255)
    "black": (5, 40), "blue": (55, 95), "faded": (135, 175), "pencil": (105, 150)}


@dataclass(frozen=True)
class Pen:
    """How the hand writes, for sheets unlike the default fonts: ``width_mm`` of every stroke (None:
    the font's own; 0.127 mm is 1 px at 200 dpi), ``pressure`` (1: full; lower: lighter ink and, with
    a pencil, gaps in the stroke), ``colour`` (black, blue, faded, pencil; None: the default per-sheet
    grey). The default Pen changes nothing, so existing seeds give the same sheets."""

    width_mm: float | None = None
    pressure: float = 1.0
    colour: str | None = None

    def __post_init__(self) -> None:
        if self.colour is not None and self.colour not in PEN_COLOURS:
            raise ConfigError(f"unknown ink colour {self.colour!r} (known: {', '.join(PEN_COLOURS)})")
        if not 0.05 <= self.pressure <= 1.0:
            raise ConfigError(f"pen pressure must be in [0.05, 1], got {self.pressure}")
        if self.width_mm is not None and not 0.05 <= self.width_mm <= 3.0:
            raise ConfigError(f"pen width must be 0.05-3 mm, got {self.width_mm}")

    @property
    def plain(self) -> bool:
        return self.width_mm is None and self.pressure == 1.0 and self.colour is None

    def ink(self, rng: random.Random, default: int) -> int:
        """The sheet's ink grey level."""
        level = default if self.colour is None else rng.randint(*PEN_COLOURS[self.colour])
        return int(round(255 - (255 - level) * self.pressure))

    def stroke_px(self, dpi: int = FILL_DPI) -> int:
        return max(1, round(self.width_mm / 25.4 * dpi)) if self.width_mm else max(2, dpi // 100)


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask to 1-px strokes."""
    img = mask.astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = np.pad(img, 1)
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            b = sum(x.astype(np.int32) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            if step == 0:
                c = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                c = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            m = (img == 1) & (b >= 2) & (b <= 6) & (a == 1) & c
            if m.any():
                img[m] = 0
                changed = True
    return img.astype(bool)


def _apply_pen(patch: np.ndarray, pen: "Pen | None", ink: int, rng: random.Random) -> np.ndarray:
    """The text patch redrawn with the pen: strokes thinned to its width, pencil grain, ink level."""
    if pen is None or pen.plain:
        return patch
    mask = patch < (int(ink) + 255) // 2  # the glyphs, drawn in the sheet's ink
    if pen.width_mm is not None:
        mask = _thin(mask)
        k = pen.stroke_px()
        if k > 1:
            mask = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    out = np.full(patch.shape, 255, np.uint8)
    if pen.colour == "pencil" or pen.pressure < 1.0:
        grain = np.random.default_rng(rng.randrange(2**31)).uniform(0, 1, patch.shape)
        keep = grain >= (0.35 if pen.colour == "pencil" else 0.0) * (1.0 - pen.pressure)
        levels = ink + (255 - ink) * 0.35 * grain * (1.0 if pen.colour == "pencil" else 0.3)
        out[mask & keep] = np.clip(levels[mask & keep], 0, 255).astype(np.uint8)
    else:
        out[mask] = ink
    return out


@dataclass(frozen=True)
class FilledSheet:
    image: np.ndarray  # the clean filled page at FILL_DPI
    truth: dict[str, str]  # field name → the value written ('' when left blank)
    font: str
    style: str
    serial: str
    hand: Hand | None = None  # the writer's tendencies (None: the font as it is)


def record_values(template: Template, record: dict[str, str],
                  rows: list[dict[str, str]] | None = None) -> dict[str, str]:
    """The value each template field gets from a generated record (the field's ``sample`` key or
    its name); a repeated group's cell in row r from the r-th of ``rows`` (its row number column:
    r), the rows past them left blank."""
    rows = rows or []
    numbering = {(g.name, c.name) for g in template.groups for c in g.columns if c.row_number}
    out = {}
    for f in template.fields:
        key = f.sample or (f.column if f.group else f.name)
        if f.group is None:
            out[f.name] = record.get(key, "")
        elif f.row is not None and f.row <= len(rows):
            out[f.name] = str(f.row) if (f.group, f.column) in numbering else rows[f.row - 1].get(key, "")
        else:
            out[f.name] = ""
    return out


def _write_line(page: np.ndarray, spec: FieldSpec, text: str, font_path: str, rng: random.Random,
                handwriting: bool, ink: int, pen: Pen | None = None, hand: Hand | None = None) -> None:
    x, y, bw, bh = box_to_px(spec.box_mm, FILL_DPI)
    size = int(bh * rng.uniform(0.62, 0.78) * (1.15 if handwriting else 0.95))
    hand = None if hand is None or hand.plain else hand
    overrun = hand is not None and rng.random() < hand.overrun
    cross = hand is not None and rng.random() < hand.line_cross
    corrected = hand is not None and rng.random() < hand.correction
    if overrun:  # a writer who runs out of room keeps going past the end of the box
        size = int(size * rng.uniform(1.1, 1.3))
    patch, base_row = hands.render(text, font_path, size, ink, hand, rng)
    if corrected:  # a word struck through, then the right value
        wrong, wrong_base = hands.render(hands.mistaken_word(text, rng), font_path, size, ink, hand, rng)
        patch, base_row = hands.side_by_side((hands.strike(wrong, wrong_base, size, ink, rng), wrong_base),
                                             (patch, base_row), int(size * 0.4))
    patch = _apply_pen(patch, pen, ink, rng)
    avail = bw - 2 * round(mm_to_px(1.0, FILL_DPI))
    if patch.shape[1] > avail and not overrun:  # people squeeze long values into the line
        patch = cv2.resize(patch, (avail, patch.shape[0]), interpolation=cv2.INTER_AREA)
    if handwriting and patch.shape[1] > 20:
        angle = rng.uniform(-1.2, 1.2)
        m = cv2.getRotationMatrix2D((patch.shape[1] / 2, patch.shape[0] / 2), angle, 1.0)
        patch = cv2.warpAffine(patch, m, (patch.shape[1], patch.shape[0]), borderValue=255)
    slack = max(0, avail - patch.shape[1])
    px = x + round(mm_to_px(1.0, FILL_DPI)) + int(rng.uniform(0, min(slack, mm_to_px(12, FILL_DPI))))
    if overrun:
        px = max(px, x + bw - int(patch.shape[1] * rng.uniform(0.75, 0.9)))
    baseline = y + bh - round(mm_to_px(rng.uniform(1.4, 2.2), FILL_DPI))
    if cross:  # written on or across the dotted line
        baseline += round(mm_to_px(rng.uniform(1.0, 2.4), FILL_DPI))
    hands.paste_min(page, patch, px, baseline - base_row)


def _blank_gaps(blank: np.ndarray, spec: FieldSpec) -> list[tuple[int, int]]:
    """Runs of columns (x0, x1) of a field's box where the blank prints nothing above its dotted
    line: the places a person writes into when the print has words or separators in the box
    ("…/…/…", "ngày … tháng … năm …")."""
    x, y, bw, bh = box_to_px(spec.box_mm, FILL_DPI)
    # the band between the descenders of the line above and the dotted line itself
    upper = (blank[y + int(bh * 0.3):y + int(bh * 0.75), x:x + bw] < 200).astype(np.uint8)
    free = ~cv2.dilate(upper, np.ones((1, 7), np.uint8)).any(axis=0)
    # a speck narrower than 1 mm (a tall leader dot) does not split a gap
    blocked = np.flatnonzero(~free)
    if blocked.size:
        runs = np.split(blocked, np.flatnonzero(np.diff(blocked) > 1) + 1)
        for run in runs:
            if len(run) < mm_to_px(1.0, FILL_DPI):
                free[run] = True
    gaps, start = [], None
    for i, f in enumerate(np.append(free, False)):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start >= mm_to_px(2.0, FILL_DPI):
                gaps.append((x + start, x + i))
            start = None
    return gaps


def _write_date_parts(page: np.ndarray, blank: np.ndarray, spec: FieldSpec, text: str, font_path: str,
                      rng: random.Random, ink: int, pen: Pen | None = None, hand: Hand | None = None) -> bool:
    """Write day, month and year into the last three printed gaps of a date box; False if the
    box has no such gaps (a plain dotted line)."""
    parts = text.split("/")
    gaps = _blank_gaps(blank, spec)
    x, y, bw, bh = box_to_px(spec.box_mm, FILL_DPI)
    if len(parts) != 3 or len(gaps) < 3 or (len(gaps) == 1 and gaps[0] == (x, x + bw)):
        return False
    size = int(bh * rng.uniform(0.62, 0.75))
    hand = None if hand is None or hand.plain else hand
    for part, (g0, g1) in zip(parts, gaps[-3:]):
        patch, base_row = hands.render(part, font_path, size, ink, hand, rng)
        patch = _apply_pen(patch, pen, ink, rng)
        if patch.shape[1] > g1 - g0:
            patch = cv2.resize(patch, (g1 - g0, patch.shape[0]), interpolation=cv2.INTER_AREA)
        baseline = y + bh - round(mm_to_px(rng.uniform(1.2, 1.8), FILL_DPI))
        if hand is not None and rng.random() < hand.line_cross:
            baseline += round(mm_to_px(rng.uniform(0.8, 2.0), FILL_DPI))
        hands.paste_min(page, patch, g0 + (g1 - g0 - patch.shape[1]) // 2, baseline - base_row)
    return True


def _write_cells(page: np.ndarray, spec: FieldSpec, text: str, font_path: str, rng: random.Random, ink: int,
                 pen: Pen | None = None, hand: Hand | None = None) -> None:
    hand = None if hand is None or hand.plain else hand
    cross = hand is not None and rng.random() < hand.line_cross  # digits across the comb-box borders
    for cell, ch in zip(spec.cell_boxes_mm(), text):
        x, y, bw, bh = box_to_px(cell, FILL_DPI)
        size = int(bh * (rng.uniform(0.8, 1.0) if cross else rng.uniform(0.6, 0.75)))
        patch, _ = hands.render(ch, font_path, size, ink, hand, rng)
        patch = _apply_pen(patch, pen, ink, rng)
        if not cross and (patch.shape[1] > bw - 6 or patch.shape[0] > bh - 6):
            patch = cv2.resize(patch, (min(patch.shape[1], bw - 6), min(patch.shape[0], bh - 6)),
                               interpolation=cv2.INTER_AREA)
        if cross:
            jx, jy = int(rng.uniform(-0.3, 0.3) * bw), int(rng.uniform(-0.3, 0.3) * bh)
        else:
            jx, jy = rng.randint(-2, 2), rng.randint(-2, 2)
        hands.paste_min(page, patch, x + (bw - patch.shape[1]) // 2 + jx, y + (bh - patch.shape[0]) // 2 + jy)


def _write_choice(page: np.ndarray, spec: FieldSpec, value: str, rng: random.Random, ink: int,
                  pen: Pen | None = None) -> None:
    for opt in spec.options:
        if opt.value == value:
            x, y, bw, bh = box_to_px(opt.box_mm, FILL_DPI)
            t = pen.stroke_px() if pen is not None and pen.width_mm else max(2, FILL_DPI // 100)
            cv2.line(page, (x + 3, y + 3), (x + bw - 3, y + bh - 3), ink, t)
            cv2.line(page, (x + bw - 3, y + 3), (x + 3, y + bh - 3), ink, t)


def _write_signature(page: np.ndarray, spec: FieldSpec, rng: random.Random, ink: int, pen: Pen | None = None) -> None:
    x, y, bw, bh = box_to_px(spec.box_mm, FILL_DPI)
    n = rng.randint(3, 6)
    xs = np.linspace(x + bw * 0.25, x + bw * 0.75, n * 12)
    phase = rng.uniform(0, 6.28)
    ys = y + bh * 0.5 + bh * 0.28 * np.sin(np.linspace(0, n * 3.14, n * 12) + phase) * np.linspace(1, 0.4, n * 12)
    pts = np.column_stack([xs, ys]).astype(np.int32)
    width = pen.stroke_px() if pen is not None and pen.width_mm else max(2, FILL_DPI // 120)
    cv2.polylines(page, [pts], False, ink, width, lineType=cv2.LINE_AA)


def fill_sheet(template: Template, values: dict[str, str], rng: random.Random, font: fonts.FontInfo,
               serial: str, pen: Pen | None = None, hand: Hand | None = None) -> FilledSheet:
    """The blank filled with ``values`` in ``font`` (one hand per sheet), at FILL_DPI, written
    with ``pen`` (stroke width, pressure, ink colour; the default: the font's strokes in a dark grey)
    by a writer with the tendencies of ``hand`` (:class:`~ocr_service.synth.hands.Hand`; its pen
    applies unless ``pen`` is given)."""
    page = render_blank(template, FILL_DPI, serial=serial)
    blank = page.copy()
    handwriting = font.style == "handwriting"
    ink = rng.randint(10, 70) if handwriting else rng.randint(0, 30)
    if hand is not None and hand.plain:
        hand = None
    if (pen is None or pen.plain) and hand is not None:
        pen = Pen(hand.width_mm, hand.pressure, hand.colour)
    if pen is not None and not pen.plain:
        ink = pen.ink(rng, ink)
    else:
        pen = None
    truth = {}
    for spec in template.fields:
        value = values.get(spec.name, "")
        if spec.kind == "signature":
            value = "1" if value else ""
            if value:
                _write_signature(page, spec, rng, ink, pen)
        elif value and spec.kind == "choice":
            _write_choice(page, spec, value, rng, ink, pen)
        elif value and spec.cells:
            value = value[:spec.cells]
            _write_cells(page, spec, value, str(font.path), rng, ink, pen, hand)
        elif value and spec.kind == "date" and _write_date_parts(page, blank, spec, value, str(font.path), rng, ink,
                                                                  pen, hand):
            pass
        elif value:
            _write_line(page, spec, value, str(font.path), rng, handwriting, ink, pen, hand)
        truth[spec.name] = value
    return FilledSheet(page, truth, font.family, font.style, serial, hand)


def generate(template: Template, n: int, seed: int, out_dir: str | Path, *, style: str = "mixed",
             formats: tuple[str, ...] = FORMATS, rotate: bool = True, severity: float = 1.0,
             font_family: str | None = None, file_quality: int = 85, pen: Pen | None = None,
             hand_mode: str = "varied", scan_profile: str | None = None,
             exclude_fonts: frozenset[str] | set[str] = frozenset(), households: bool = False,
             on_sheet: Callable[[int], None] | None = None) -> list[dict]:
    """Write ``n`` scanned-looking filled sheets and their ground truth into ``out_dir``.

    Each sheet gets ``NNNN.<ext>`` (format drawn from ``formats``) and ``NNNN.json``; ``truth.jsonl``
    lists them all. ``style`` is 'printed', 'handwriting' or 'mixed'; ``font_family`` (one font for
    every sheet) overrides it. ``file_quality`` is the JPEG quality of .jpg files and of the images
    inside PDFs. ``pen``: stroke width, pressure and ink colour for every sheet (see :class:`Pen`).
    ``hand_mode``: 'varied' gives every handwriting sheet a writer of its own
    (:meth:`Hand.random`: jitter, slant, drift, spacing, size, pen, ink, overruns, corrections);
    'plain' writes the fonts as they are. ``scan_profile``: a name of ``scan.SCAN_PROFILES`` for
    every sheet, 'mixed' (one drawn per sheet), or None (``severity``). ``exclude_fonts``: families
    left out of the pool (e.g. the held-out hands). ``households``: the sheets come as a batch does,
    household by household (every member's sheet, head first, the last household cut at ``n``), each
    household's sheets declared on one day and written in one hand (one person fills a household's
    sheets); by default each sheet is a member of a household of its own. ``truth.jsonl`` records
    each sheet's hand (font family and writer) and scan profile: the groups calibration
    cross-validates over.
    Deterministic for a seed. An unknown or missing font, style, hand mode or scan profile is a
    ``ConfigError``.
    """
    fonts.check_style(style, (*fonts.STYLES, "mixed"))
    if hand_mode not in HAND_MODES:
        raise ConfigError(f"unknown hand mode {hand_mode!r} (known: {', '.join(HAND_MODES)})")
    if scan_profile is not None and scan_profile not in (*scan.SCAN_PROFILES, "mixed"):
        raise ConfigError(f"unknown scan profile {scan_profile!r} (known: {', '.join(scan.SCAN_PROFILES)}, mixed)")
    if not formats or not set(formats) <= set(FORMATS):
        raise ConfigError(f"unknown file formats {','.join(formats)!r} (known: {', '.join(FORMATS)})")
    if font_family:
        chosen = fonts.find_font(font_family)
        pool = {chosen.style: [chosen]}
    else:
        pool = {s: [f for f in fonts.list_fonts(s) if f.family not in exclude_fonts]
                for s in (fonts.STYLES if style == "mixed" else (style,))}
        for s, found in pool.items():
            if not found:
                raise ConfigError(f"no {s} font is installed (see {fonts.default_catalog()})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    # writers and scan profiles come from streams of their own, so each choice leaves the others as they were
    hand_rng = random.Random(f"hands-{seed}")
    profile_rng = random.Random(f"scan-profiles-{seed}")
    if households and template.groups:
        raise ConfigError(f"template {template.id} has a member table: its sheets are households already")
    entries = []
    household: list[dict[str, str]] = []  # (households) the members' records still to write
    for i in range(n):
        rows: list[dict[str, str]] = []
        if households and household:  # the next member: the household's day and hand
            record = household.pop(0)
        else:
            sheet_style = style if style in pool else rng.choice(sorted(pool))
            font = rng.choice(pool[sheet_style])
            declared_on = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
            if template.groups:  # a form with a member table: a declarant and some of their household
                record, rows = records.generate_declaration(rng, declared_on=declared_on,
                                                            max_members=min(len(g.rows_mm) for g in template.groups))
            elif households:
                household = records.generate_household(rng, declared_on=declared_on)
                record = household.pop(0)
            else:
                record = records.generate_record(rng, declared_on=declared_on)
            hand = Hand.random(hand_rng) if hand_mode == "varied" and font.style == "handwriting" else None
        serial = f"{seed:04d}{i:05d}"
        sheet = fill_sheet(template, record_values(template, record, rows), rng, font, serial, pen, hand)
        profile = profile_rng.choice(sorted(scan.SCAN_PROFILES)) if scan_profile == "mixed" else scan_profile
        if profile is None:
            params, profile = scan.ScanParams.random(np_rng, rotate=rotate, severity=severity), scan.profile_name(severity)
        else:
            params = scan.ScanParams.for_profile(np_rng, profile, rotate=rotate)
        scanned, info = scan.simulate_scan(sheet.image, params, src_dpi=FILL_DPI)
        fmt = formats[i % len(formats)] if len(formats) > 1 else formats[0]
        name = f"{i:04d}.{'jpg' if fmt == 'jpg' else fmt}"
        path = out / name
        if fmt == "png":
            scan.write_png(scanned, path, dpi=params.out_dpi)
        elif fmt == "jpg":
            scan.write_jpeg(scanned, path, quality=file_quality, dpi=params.out_dpi)
        elif fmt == "tiff":
            scan.write_tiff([scanned], path, dpi=params.out_dpi)
        else:  # pdf
            scan.write_pdf([scanned], path, params.out_dpi, quality=file_quality)
        entry = {"file": name, "page": 1, "template": template.id, "serial": serial, "font": sheet.font,
                 "style": sheet.style, "hand": sheet.font, "writer": sheet.hand.to_dict() if sheet.hand else None,
                 "scan_profile": profile, "scan": params.to_dict(), "fields": sheet.truth}
        if pen is not None and not pen.plain:
            entry["pen"] = {"width_mm": pen.width_mm, "pressure": pen.pressure, "colour": pen.colour}
        (out / f"{i:04d}.json").write_text(json.dumps(entry, ensure_ascii=False, indent=1), encoding="utf-8")
        entries.append(entry)
        if on_sheet:
            on_sheet(i + 1)
    with (out / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    return entries
