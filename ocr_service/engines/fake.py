"""A fake recognition engine for tests of the store, API and web pages, where OCR is not what is tested.

It goes through the real engine interface and registry (``--engines fake``), so everything around
recognition (ingest, registration, dropout, validation, decisions, the service) runs for real. It
reads nothing: each kind gets a fixed, valid-looking value, and the confidence is derived from the
crop's pixels, so it is deterministic per image: about a third of the crops get a near-certain
0.9995 (one the calibrated thresholds take, where the value passes its checks), the rest are spread
over [0.60, 0.95) — some fields are auto-accepted and some go to review. (The crops' pixels differ
a little from one CPU to another, OpenCV's vector code rounding otherwise, so which fields these
are does too; spread over [0.60, 1.00) alone, a sheet with no field auto-accepted was common.)
"""

from __future__ import annotations

import hashlib

import numpy as np

from ocr_service.engines.base import Reading, is_degenerate

VALUES = {
    "name": "NGUYỄN VĂN AN",
    "text": "Việt Nam",
    "address": "Xã Hải Bắc, Huyện Hải Hậu, Tỉnh Nam Định",
    "digits": "036190001234",
    "date": "05/11/1990",
}
SURE, SURE_SHARE = 0.9995, 1 / 3


class FakeEngine:
    name = "fake"

    def read(self, crop: np.ndarray, kind: str) -> Reading:
        if is_degenerate(crop):
            return Reading.empty(self.name)
        digest = hashlib.sha256(np.ascontiguousarray(crop).tobytes()).digest()
        u = int.from_bytes(digest[:4], "big") / 2**32
        confidence = SURE if u < SURE_SHARE else 0.6 + 0.35 * (u - SURE_SHARE) / (1 - SURE_SHARE)
        text = VALUES.get(kind, VALUES["text"])
        return Reading(text, confidence, self.name, tuple(confidence for _ in text))
