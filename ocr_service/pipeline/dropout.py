"""Form dropout and field crops.

The registered page is compared with the template's blank at the same resolution: whatever is
dark on the page but not printed on the blank is ink someone added. Field crops contain only
that ink (dark on white), so labels, dotted lines and box borders never reach an engine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ocr_service.forms.model import Template, box_to_px, mm_to_px
from ocr_service.forms.render import reference_image

INK_THRESHOLD = 0.72  # relative darkness (page / local paper) below which a pixel is ink
DROPOUT_GROW_PX = 3  # printed strokes are grown by this much to absorb registration error
INK_LEVEL = 160  # a pixel of the dropped-out page darker than this is ink


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


def normalize_light(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's brightness (uneven light, grey scans) so paper is ~255."""
    small = cv2.resize(gray, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    background = cv2.GaussianBlur(background, (5, 5), 0)
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(background, 1), scale=255)


def drop_out(aligned: np.ndarray, template: Template, dpi: int) -> np.ndarray:
    """The registered page with the printed form removed: ink kept (its gray levels), the rest white."""
    norm = normalize_light(aligned)
    ink = norm < INK_THRESHOLD * 255
    ink &= ~_printed_mask(template, dpi)
    # specks from noise or dust: drop isolated pixels
    ink_u8 = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    out = np.full_like(aligned, 255)
    out[ink_u8.astype(bool)] = norm[ink_u8.astype(bool)]
    return out


def _ink_share(img: np.ndarray) -> float:
    return float((img < INK_LEVEL).mean()) if img.size else 0.0


def extract_fields(ink_page: np.ndarray, template: Template, dpi: int) -> list[FieldCrop]:
    """One crop per template field from a dropped-out registered page."""
    crops = []
    h, w = ink_page.shape
    rise = round(mm_to_px(2.5, dpi))  # handwriting rises above its line: widen the crop upward
    fall = round(mm_to_px(1.0, dpi))
    for field in template.fields:
        x, y, bw, bh = box_to_px(field.box_mm, dpi)
        if field.kind in ("signature", "choice"):
            y0, y1 = y, y + bh
        else:
            y0, y1 = max(0, y - rise), min(h, y + bh + fall)
        x0, x1 = max(0, x), min(w, x + bw)
        image = ink_page[y0:y1, x0:x1]
        cells: tuple[np.ndarray, ...] = ()
        options: tuple[tuple[str, float], ...] = ()
        if field.cells:
            inset = max(2, round(mm_to_px(0.4, dpi)))
            cell_crops = []
            for cell in field.cell_boxes_mm():
                cx, cy, cw, ch = box_to_px(cell, dpi)
                cell_crops.append(ink_page[cy + inset:cy + ch - inset, cx + inset:cx + cw - inset])
            cells = tuple(cell_crops)
        if field.kind == "choice":
            opts = []
            for opt in field.options:
                ox, oy, ow, oh = box_to_px(opt.box_mm, dpi)
                opts.append((opt.value, _ink_share(ink_page[oy:oy + oh, ox:ox + ow])))
            options = tuple(opts)
        crops.append(FieldCrop(field.name, field.kind, image, _ink_share(image), (x0, y0, x1 - x0, y1 - y0),
                               cells, options, box_top=y - y0))
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

