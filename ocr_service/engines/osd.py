"""Tesseract's orientation detection (OSD) on a whole page, through tesserocr's persistent API.

A thin wrapper: the page image in, Tesseract's answer out, converted to this project's convention
(the clockwise quarter turn that makes the page upright). The decision of what to do with it lives in
``pipeline/orient.py``. Needs ``osd.traineddata`` (Debian's ``tesseract-ocr-osd``); OSD is Tesseract's
legacy classifier, which the tesserocr wheel's libtesseract includes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocr_service.engines.tesseract import _get_api, _set_image
from ocr_service.errors import EngineError
from ocr_service.settings import DEFAULT_TESSDATA


@dataclass(frozen=True)
class OsdResult:
    """Tesseract's view of a page: ``rotation`` is the clockwise quarter turn (0/90/180/270) that
    makes it upright; ``confidence`` is Tesseract's orientation confidence (0 and up, unbounded;
    above ~2 it is usually right); ``script`` the script it saw."""

    rotation: int
    confidence: float
    script: str


def detect_orientation(page: np.ndarray, dpi: int = 300, tessdata: str = DEFAULT_TESSDATA) -> OsdResult | None:
    """OSD on a grayscale page (uint8, dark text on light paper); None when Tesseract finds too
    little text to tell. Raises EngineError when the OSD model cannot be loaded."""
    holder = _get_api("osd", tessdata)
    with holder.lock:
        _set_image(holder.api, page)
        holder.api.SetVariable("user_defined_dpi", str(int(dpi)))
        try:
            res = holder.api.DetectOrientationScript()
        except RuntimeError:  # tesserocr raises when OSD gives up (too few characters)
            return None
    if not res:
        return None
    # orient_deg is how far the page is turned clockwise (measured: a page turned 90° clockwise
    # reports 90); the turn that rights it is the rest of the circle.
    return OsdResult((360 - int(res["orient_deg"])) % 360, float(res["orient_conf"]), str(res.get("script_name", "")))


def available(tessdata: str = DEFAULT_TESSDATA) -> bool:
    """True when the OSD model loads."""
    try:
        _get_api("osd", tessdata)
    except EngineError:
        return False
    return True
