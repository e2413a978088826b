"""Label-anchored registration: the fallback when a page does not register by its printed features.

A page that registers with too high a residual, or on which too few anchor patches are found (a
photocopy that drifted, another printing of the same form), is registered again from its printed
labels: Tesseract reads the page's words, each field's label is looked for within a bounded window
around where the prior transform (the failed registration's, else the coarse match's) puts it,
and a homography is fitted (RANSAC) to the labels' starts. The fields whose own label was found
and agrees with the fit are the ones placed this way; the page lists them and their results carry
``placed_by_label`` in their warnings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ocr_service.engines.tesseract import page_words
from ocr_service.forms import author
from ocr_service.forms.model import Box, Template, mm_to_px
from ocr_service.forms.render import reference_image
from ocr_service.pipeline.authoring import like_labels
from ocr_service.pipeline.register import Registration

WINDOW_MM = 20.0  # a label is looked for this far around where the prior transform puts it
MAX_RESIDUAL_MM = 1.0  # labels' starts must agree with the fitted transform this well
MIN_LABELS = 6
MIN_SHARE = 0.5  # of the fields with a printed label
PLACED_BY_LABEL = "placed_by_label"


@dataclass(frozen=True)
class LabelRegistration:
    """The result of registering a page by its labels; ``homography`` maps page pixels to template
    pixels at ``dpi`` like :class:`~ocr_service.pipeline.register.Registration`'s."""

    ok: bool
    reason: str
    homography: np.ndarray | None
    residual_px: float | None
    fields: tuple[str, ...] = ()  # fields whose own label anchored them
    labels_found: int = 0
    labels_expected: int = 0

    def as_registration(self, dpi: int, qr_text: str | None = None) -> Registration:
        share = self.labels_found / self.labels_expected if self.labels_expected else 0.0
        return Registration(self.ok, self.reason, self.homography, self.residual_px, dpi, share, "labels", qr_text)


@functools.lru_cache(maxsize=16)
def label_boxes(template: Template, dpi: int = 300) -> dict[str, Box]:
    """Each field's printed label on the template's own blank, as the box of its ink (what OCR
    boxes on a page are too); fields whose label is not printed are left out."""
    ref = reference_image(template, dpi) < 160
    k = mm_to_px(1.0, dpi)
    out = {}
    for name, box in like_labels(template).items():
        if box is None:
            continue
        x, y, w, h = box
        x0, y0 = max(0, int((x - 0.5) * k)), max(0, int((y - 1.0) * k))
        region = ref[y0:int((y + h + 1.0) * k), x0:int((x + min(w, 8.0)) * k)]
        rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        if rows.size and cols.size:
            out[name] = ((x0 + cols[0]) / k, (y0 + rows[0]) / k, w, (rows[-1] - rows[0] + 1) / k)
        else:
            out[name] = box
    return out


def _to_template_mm(points_px: np.ndarray, h: np.ndarray, dpi: int) -> np.ndarray:
    mapped = cv2.perspectiveTransform(points_px.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)
    return mapped / mm_to_px(1.0, dpi)


def register_by_labels(page: np.ndarray, template: Template, dpi: int, prior: np.ndarray | None,
                       tessdata: str | None = None) -> LabelRegistration:
    """Register an upright page from its printed labels (see the module's docstring). ``prior``:
    page→template pixels from the failed registration or the coarse match; None: the page is
    taken as the template's page, scaled. Never raises for a bad page."""
    expected = label_boxes(template)
    if len(expected) < MIN_LABELS:
        return LabelRegistration(False, f"template {template.id} has too few printed labels to register by",
                                 None, None, labels_expected=len(expected))
    if prior is None:
        sx = template.page_px(dpi)[0] / page.shape[1]
        sy = template.page_px(dpi)[1] / page.shape[0]
        prior = np.diag([sx, sy, 1.0])
    raw = page_words(page, tessdata)
    if not raw:
        return LabelRegistration(False, "no printed words read on the page", None, None,
                                 labels_expected=len(expected))
    # words in template millimetres (through the prior), for matching in windows
    corners = np.array([(x, y) for _, (x, y, w, h), _ in raw] + [(x + w, y + h) for _, (x, y, w, h), _ in raw],
                       np.float64)
    mm = _to_template_mm(corners, prior, dpi)
    n = len(raw)
    words = [author.Word(t, (mm[i, 0], mm[i, 1], max(0.1, mm[n + i, 0] - mm[i, 0]), max(0.1, mm[n + i, 1] - mm[i, 1])))
             for i, (t, _, _) in enumerate(raw)]
    words_px = {id(w): raw[i][1] for i, w in enumerate(words)}
    src, dst, names = [], [], []
    for f in template.fields:
        box = expected.get(f.name)
        if box is None:
            continue
        near = [w for w in words if abs(w.box_mm[0] - box[0]) < WINDOW_MM + box[2] and abs(w.cy - (box[1] + box[3] / 2)) < WINDOW_MM]
        near = author.reading_order(near)
        cands = author.label_candidates(f.label, near)
        if not cands:
            continue
        best = min(cands, key=lambda c: (-round(c.score, 2), abs(c.box_mm[0] - box[0]) + abs(c.box_mm[1] - box[1])))
        first = near[best.first]
        x, y, w, h = words_px[id(first)]
        # the label's start (left end, mid-height) on the page and in the template
        src.append((x, y + h / 2))
        dst.append((mm_to_px(box[0], dpi), mm_to_px(box[1] + box[3] / 2, dpi)))
        names.append(f.name)
    found = len(names)
    fail = functools.partial(LabelRegistration, False, homography=None, residual_px=None,
                             labels_found=found, labels_expected=len(expected))
    if found < MIN_LABELS or found < MIN_SHARE * len(expected):
        return fail(f"only {found} of {len(expected)} printed labels found")
    src_a, dst_a = np.float32(src), np.float32(dst)
    limit = mm_to_px(MAX_RESIDUAL_MM, dpi)
    h, mask = cv2.findHomography(src_a, dst_a, cv2.RANSAC, limit, maxIters=3000, confidence=0.999)
    if h is None:
        return fail("the labels' places do not fit one transform")
    inl = mask.ravel().astype(bool)
    projected = cv2.perspectiveTransform(src_a[inl].reshape(-1, 1, 2), h).reshape(-1, 2)
    errors = np.linalg.norm(projected - dst_a[inl], axis=1)
    residual = float(np.sqrt(np.mean(errors ** 2))) if len(errors) else float("inf")
    placed = tuple(n for n, ok in zip(names, inl) if ok)
    if len(placed) < MIN_LABELS or residual > limit:
        return fail(f"{len(placed)} labels agree on a transform, residual {residual:.1f} px")
    return LabelRegistration(True, "", h, residual, placed, found, len(expected))


def mark_placed(results: list, names: tuple[str, ...]) -> list:
    """The field results with ``placed_by_label`` added to the warnings of the fields in ``names``
    (their box came from their own printed label, not from the form's printed features)."""
    chosen = set(names)
    return [replace(r, warnings=tuple(r.warnings) + (PLACED_BY_LABEL,)) if r.name in chosen else r
            for r in results]
