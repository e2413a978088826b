"""Form dropout and field crops.

The registered page is compared with the template's blank at the same resolution: whatever is
dark on the page but not printed on the blank is ink someone added. Field crops contain only
that ink (dark on white), so labels, dotted lines and box borders never reach an engine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from ocr_service.forms.model import Template, box_to_px, mm_to_px
from ocr_service.forms.render import reference_image

INK_THRESHOLD = 0.72  # relative darkness (page / local paper) below which a pixel is ink
DROPOUT_GROW_PX = 3  # printed strokes are grown by this much to absorb registration error
INK_LEVEL = 160  # a pixel of the dropped-out page darker than this is ink
# Emptiness is measured, relative to the local paper (see measure_ink): thin, faint, grey and pencil
# strokes that the cut-offs above drop still count as ink.
EVIDENCE_GROW_PX = DROPOUT_GROW_PX + 2  # print (dotted lines too) is removed wider for the measurement
FAINT_CONTRAST = 0.07  # a pixel this much darker than the local paper (share of its brightness) may be ink
STROKE_CONTRAST = 0.11  # a mark must be this much darker somewhere to count as writing
# Empty fields of generated scans (200-300 dpi, severity 1.5): darkest mark ≤ 0.08 (99%: 0.065);
# faint pencil writing at 240 dpi: 0.15. Between NOISE_CONTRAST and STROKE_CONTRAST an empty
# reading loses certainty.
NOISE_CONTRAST = 0.08
CLEAN_PAPER = 0.04  # background darkness + 3 × noise of a clean crop stays under this
MIN_MARK_MM = 0.8  # a mark this long or tall is writing, however thin (a 1-px stroke counts); shorter is a speck


@dataclass(frozen=True)
class InkEvidence:
    """What a field's crop holds, measured against its own paper: ``share`` of the crop in marks
    long enough to be writing, how many such ``components``, ``max_contrast`` (0..1) of the darkest
    mark of any size against the paper, ``speck`` (0..1): the longest mark too short to be writing,
    as a share of MIN_MARK_MM; ``image``: the writing marks stretched to full contrast (dark on
    white), for engines when the plain dropout kept nothing; None without writing."""

    share: float = 0.0
    components: int = 0
    max_contrast: float = 0.0
    speck: float = 0.0
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    clutter: float = 0.0  # how far the crop's background is from clean paper (median darkness + 3 × noise)

    @property
    def written(self) -> bool:
        return self.components > 0

    def empty_confidence(self) -> float:
        """How sure an 'empty' reading of this crop is, from the evidence: no mark at all → 0.999;
        specks near the size or darkness of writing → lower; writing marks → at most 0.05."""
        if self.components:
            return round(0.05 / self.components, 4)
        darkness = min(1.0, self.max_contrast / STROKE_CONTRAST)
        faint = min(1.0, max(0.0, (self.max_contrast - NOISE_CONTRAST) / (STROKE_CONTRAST - NOISE_CONTRAST)))
        # a crop that is not clean paper (noise, a grey wash, a smear) is no evidence of emptiness
        cluttered = min(1.0, max(0.0, (self.clutter - CLEAN_PAPER) / CLEAN_PAPER))
        return round(0.999 * (1.0 - max(0.6 * self.speck * darkness, 0.5 * faint, 0.9 * cluttered)), 4)

    def features(self) -> dict[str, float]:
        return {"ink_share": round(self.share, 5), "ink_components": float(min(self.components, 50)),
                "max_contrast": round(self.max_contrast, 4), "clutter": round(self.clutter, 4)}


def combine_evidence(parts: list[InkEvidence]) -> InkEvidence:
    """The evidence of a comb field from its cells'."""
    if not parts:
        return InkEvidence()
    return InkEvidence(sum(p.share for p in parts) / len(parts), sum(p.components for p in parts),
                       max(p.max_contrast for p in parts), max(p.speck for p in parts),
                       clutter=max(p.clutter for p in parts))


def measure_ink(soft: np.ndarray, dpi: int, box_top: int = 0) -> InkEvidence:
    """Measure the marks of a crop of the soft page (:func:`soft_ink`): darkness relative to the
    crop's own paper, lightly smoothed (noise averages out, a 1-px line keeps most of its
    contrast), marks = connected pixels over FAINT_CONTRAST that reach STROKE_CONTRAST somewhere.
    Marks wholly above ``box_top`` (the line above's descenders) are left out."""
    if soft.size == 0 or min(soft.shape) < 3:
        return InkEvidence()
    img = soft.astype(np.float32)
    paper = max(float(np.percentile(img, 90)), 1.0)
    dark = cv2.GaussianBlur(np.clip((paper - img) / paper, 0.0, 1.0), (0, 0), 0.6)
    med = float(np.median(dark))
    noise = 1.4826 * float(np.median(np.abs(dark - med)))
    clutter = round(med + 3 * noise, 4)
    lo = max(FAINT_CONTRAST, med + 5 * noise)
    hi = max(STROKE_CONTRAST, med + 8 * noise)
    weak = (dark >= lo).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    if n <= 1:
        return InkEvidence(max_contrast=round(max(0.0, float(dark.max()) - med), 4), clutter=clutter)
    peaks = np.zeros(n, np.float32)
    np.maximum.at(peaks, labels.ravel(), dark.ravel())
    min_px = mm_to_px(MIN_MARK_MM, dpi)
    keep, speck, max_c = [], 0.0, 0.0
    for i in range(1, n):
        top, h, w = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_WIDTH]
        if box_top and top + h <= box_top:
            continue
        peak = float(peaks[i]) - med
        if stats[i, cv2.CC_STAT_AREA] >= 2:
            max_c = max(max_c, peak)
        extent = max(h, w)
        if extent >= min_px and peaks[i] >= hi:
            keep.append(i)
        elif peaks[i] >= hi:
            speck = max(speck, extent / min_px)
    if not keep:
        return InkEvidence(0.0, 0, round(max_c, 4), round(min(speck, 1.0), 4), clutter=clutter)
    mask = np.isin(labels, keep)
    share = float(mask.mean())
    top_dark = max(float(peaks[keep].max()), 1e-3)
    image = np.full(soft.shape, 255, np.uint8)
    image[mask] = np.clip(255.0 * (1.0 - dark[mask] / top_dark), 0, 255).astype(np.uint8)
    return InkEvidence(share, len(keep), round(max_c, 4), round(min(speck, 1.0), 4), image, clutter)


@dataclass(frozen=True)
class FieldCrop:
    """The ink of one field. ``image`` is uint8, dark ink on white; ``cells`` holds one crop per
    comb cell, ``options`` the ink share of each choice box; ``box_px`` is the crop's place on the
    registered page (x, y, w, h) at the working dpi."""

    name: str
    kind: str
    image: np.ndarray
    ink_ratio: float
    box_px: tuple[int, int, int, int]
    cells: tuple[np.ndarray, ...] = ()
    options: tuple[tuple[str, float], ...] = ()
    box_top: int = 0  # rows of the crop above the field's box (room for ascenders)
    evidence: InkEvidence | None = None  # measured marks (extract_fields with a soft page)
    cell_evidence: tuple[InkEvidence, ...] = ()  # the same per comb cell


@functools.lru_cache(maxsize=8)
def _printed_mask(template: Template, dpi: int) -> np.ndarray:
    """Where the blank has print, grown to absorb registration error. Tiny printed marks (the
    dots of dotted lines) are not grown: a handwritten dot below a letter (ạ, ệ) often lands on
    them and must survive (measured: exact printed text fields 86% → 93% before validation)."""
    ref = reference_image(template, dpi)
    printed = (ref < 200).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(printed, connectivity=8)
    dot_area = (0.35 / 25.4 * dpi) ** 2  # a printed dot is at most ~0.35 mm across
    tiny = (stats[:, cv2.CC_STAT_AREA] <= dot_area)
    tiny[0] = False
    small = tiny[labels]
    k = 2 * DROPOUT_GROW_PX + 1
    grown = cv2.dilate(printed & ~small.astype(np.uint8),
                       cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    grown |= small
    grown.setflags(write=False)
    return grown


@functools.lru_cache(maxsize=8)
def _evidence_mask(template: Template, dpi: int) -> np.ndarray:
    """Everything the blank prints, dots included, grown by EVIDENCE_GROW_PX: the soft page must
    not count remnants of print as marks."""
    printed = (reference_image(template, dpi) < 230).astype(np.uint8)
    k = 2 * EVIDENCE_GROW_PX + 1
    grown = cv2.dilate(printed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    grown.setflags(write=False)
    return grown


def soft_ink(norm: np.ndarray, template: Template, dpi: int) -> np.ndarray:
    """The light-normalized page (:func:`normalize_light`) with the print whitened and nothing
    thresholded or opened: the page emptiness is measured on (:func:`measure_ink`)."""
    out = norm.copy()
    out[_evidence_mask(template, dpi)] = 255
    return out


def normalize_light(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's brightness (uneven light, grey scans) so paper is ~255."""
    small = cv2.resize(gray, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    background = cv2.GaussianBlur(background, (5, 5), 0)
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(background, 1), scale=255)


def drop_out(aligned: np.ndarray, template: Template, dpi: int, norm: np.ndarray | None = None) -> np.ndarray:
    """The registered page with the printed form removed: ink kept (its gray levels), the rest white.
    ``norm``: the page's :func:`normalize_light`, if already computed."""
    norm = normalize_light(aligned) if norm is None else norm
    ink = norm < INK_THRESHOLD * 255
    ink &= ~_printed_mask(template, dpi)
    # specks from noise or dust: drop isolated pixels
    ink_u8 = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    out = np.full_like(aligned, 255)
    out[ink_u8.astype(bool)] = norm[ink_u8.astype(bool)]
    return out


def _ink_share(img: np.ndarray) -> float:
    return float((img < INK_LEVEL).mean()) if img.size else 0.0


def extract_fields(ink_page: np.ndarray, template: Template, dpi: int,
                   soft: np.ndarray | None = None) -> list[FieldCrop]:
    """One crop per template field from a dropped-out registered page; with the ``soft`` page
    (:func:`soft_ink`), each crop also carries its measured :class:`InkEvidence`."""
    crops = []
    h, w = ink_page.shape
    rise = round(mm_to_px(2.5, dpi))  # handwriting rises above its line: widen the crop upward
    fall = round(mm_to_px(1.0, dpi))
    for spec in template.fields:
        x, y, bw, bh = box_to_px(spec.box_mm, dpi)
        if spec.kind in ("signature", "choice"):
            y0, y1 = y, y + bh
        else:
            y0, y1 = max(0, y - rise), min(h, y + bh + fall)
        x0, x1 = max(0, x), min(w, x + bw)
        image = ink_page[y0:y1, x0:x1]
        cells: tuple[np.ndarray, ...] = ()
        options: tuple[tuple[str, float], ...] = ()
        if spec.cells:
            inset = max(2, round(mm_to_px(0.4, dpi)))
            cell_crops = []
            for cell in spec.cell_boxes_mm():
                cx, cy, cw, ch = box_to_px(cell, dpi)
                cell_crops.append(ink_page[cy + inset:cy + ch - inset, cx + inset:cx + cw - inset])
            cells = tuple(cell_crops)
        evidence, cell_evidence = None, ()
        if soft is not None and spec.kind != "choice":
            if spec.cells:
                cell_evidence = tuple(
                    measure_ink(soft[cy + inset:cy + ch - inset, cx + inset:cx + cw - inset], dpi)
                    for cx, cy, cw, ch in (box_to_px(cell, dpi) for cell in spec.cell_boxes_mm()))
                evidence = combine_evidence(list(cell_evidence))
            else:
                evidence = measure_ink(soft[y0:y1, x0:x1], dpi, y - y0)
        if spec.kind == "choice":
            opts = []
            for opt in spec.options:
                ox, oy, ow, oh = box_to_px(opt.box_mm, dpi)
                opts.append((opt.value, _ink_share(ink_page[oy:oy + oh, ox:ox + ow])))
            options = tuple(opts)
        crops.append(FieldCrop(spec.name, spec.kind, image, _ink_share(image), (x0, y0, x1 - x0, y1 - y0),
                               cells, options, box_top=y - y0, evidence=evidence, cell_evidence=cell_evidence))
    return crops


def comb_line(cells: tuple[np.ndarray, ...], gap: int = 12) -> np.ndarray:
    """Comb cells laid out as one line with white gaps, so a line recognizer reads them in one call."""
    if not cells:
        return np.full((8, 8), 255, np.uint8)
    hh = max(c.shape[0] for c in cells)
    parts = []
    for c in cells:
        pad = np.full((hh, c.shape[1] + gap), 255, np.uint8)
        pad[:c.shape[0], gap // 2:gap // 2 + c.shape[1]] = c
        parts.append(pad)
    return np.hstack(parts)

