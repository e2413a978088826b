"""Identify: which template a page is, before it is oriented or registered.

A page that carries our QR code names its template and version; any other page is compared with
every candidate template's blank (ORB features, any rotation) and takes the best match.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr_service.forms.model import Template
from ocr_service.forms import qr
from ocr_service.pipeline import register


def read_page_qr(image: np.ndarray) -> str | None:
    """The text of a QR code anywhere on the page, at any rotation, or None."""
    scale = min(1.0, 1800 / max(image.shape))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    return qr.decode(small)


def candidates(image: np.ndarray, templates: list[Template],
               dpi: int = register.WORK_DPI) -> tuple[list[tuple[Template, str]], str]:
    """The templates a page may be, most likely first, each with how it was told ('qr' or
    'features'); an empty list and the reason when none can be (blank page, nothing matches).
    Feature matches only rank the forms: registration decides (another document's text
    matches a few dozen features of any form). Never raises."""
    if register.is_blank(image):
        return [], register.BLANK_REASON
    by_id = {(t.name, t.version): t for t in templates}
    named = qr.parse(read_page_qr(image))
    if named and (named[0], named[1]) in by_id:
        return [(by_id[(named[0], named[1])], "qr")], ""
    scored = sorted(((register.match_score(image, t, dpi), t.id, t) for t in templates), reverse=True)
    ranked = [(t, "features") for score, _, t in scored if score >= register.MIN_COARSE_INLIERS]
    if not ranked:
        best = f" (best: {scored[0][1]}, {scored[0][0]} features)" if scored else ""
        return [], f"not a known form{best}"
    return ranked, ""
