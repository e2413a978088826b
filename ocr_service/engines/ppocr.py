"""PP-OCRv6 small recognition (no detector) for digit and date fields, from ``rapidocr==3.10.0``.

Only ``rapidocr/models/PP-OCRv6_rec_small.onnx`` is used, located through
``importlib.metadata`` and checked against a pinned sha256; no rapidocr module is imported
(the package can download models and dictionaries at run time).

What its code does, reproduced here (``rapidocr/ch_ppocr_rec/main.py`` and ``utils.py``):

* input (N, 3, 48, W) float32, BGR (our gray crop is replicated, so the order is moot);
  resize to 48 px high keeping the aspect, ``W = ceil(48 * w / h)``; ``(x/255 - 0.5)/0.5``;
  padded on the right with zeros (mid-gray after normalization) to at least 320 px
  (``rec_img_shape = [3, 48, 320]``);
* output (N, T, 18710) *softmax probabilities* (not logits);
* the character dictionary is embedded in the ONNX metadata key ``character`` (one entry
  per line, 18708 entries); the CTC label list is ``['blank'] + entries + [' ']``.

We decode greedily with the classes restricted to ASCII digits (and '/' for dates) plus the
blank, so a digits field can only read digits; the confidence is the weakest digit's
probability (mass the model put on other characters lowers it).
"""

from __future__ import annotations

import logging
import math
import os
import threading

import cv2
import numpy as np

from ocr_service.engines.base import DIGIT_KINDS, Reading, is_degenerate
from ocr_service.engines.onnx_env import PinnedFile, create_session, ctc_greedy, read_pinned, to_reading
from ocr_service.errors import EngineError

log = logging.getLogger(__name__)

RAPIDOCR_VERSION = "3.10.0"
MODEL_PIN = PinnedFile("rapidocr", RAPIDOCR_VERSION, "rapidocr/models/PP-OCRv6_rec_small.onnx",
                       "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884")

INPUT_HEIGHT = 48
MIN_WIDTH = 320
MAX_WIDTH = 3200  # long-line guard (aspect ~67:1); longer crops are shrunk to fit
PAD = 4  # white margin around the crop, in source pixels per 48 px of height
BLANK = 0

ALLOWED_CHARS = {"digits": "0123456789", "date": "0123456789/"}


class PPOCRDigitsEngine:
    """PP-OCRv6 small recognizer used for 'digits' and 'date' fields only."""

    name = "ppocr"

    def __init__(self, model_path: str | os.PathLike[str] | None = None,
                 data_dir: str | os.PathLike[str] | None = None):
        model = read_pinned(MODEL_PIN, model_path)
        self._session = create_session(model, data_dir)
        del model
        meta = self._session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise EngineError("PP-OCR model has no embedded 'character' dictionary")
        self.chars: list[str] = [""] + meta["character"].splitlines() + [" "]
        n_classes = self._session.get_outputs()[0].shape[-1]
        if isinstance(n_classes, int) and n_classes != len(self.chars):
            raise EngineError(f"PP-OCR model has {n_classes} classes but its dictionary {len(self.chars)}")
        index: dict[str, int] = {}
        for i, c in enumerate(self.chars):
            index.setdefault(c, i)
        self._allowed = {k: [index[c] for c in v] for k, v in ALLOWED_CHARS.items()}
        self._input = self._session.get_inputs()[0].name
        self._run_lock = threading.Lock()

    @staticmethod
    def preprocess(crop: np.ndarray) -> np.ndarray:
        img = crop if crop.dtype == np.uint8 else np.clip(crop, 0, 255).astype(np.uint8)
        h = img.shape[0]
        pad = max(1, int(round(PAD * h / INPUT_HEIGHT)))
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
        h, w = img.shape
        resized_w = min(MAX_WIDTH, max(1, int(math.ceil(INPUT_HEIGHT * w / h))))
        interp = cv2.INTER_AREA if h > INPUT_HEIGHT else cv2.INTER_LINEAR
        resized = cv2.resize(img, (resized_w, INPUT_HEIGHT), interpolation=interp)
        x = resized.astype(np.float32) * (2.0 / 255.0) - 1.0
        width = max(MIN_WIDTH, resized_w)
        out = np.zeros((1, 3, INPUT_HEIGHT, width), dtype=np.float32)
        out[0, :, :, :resized_w] = x[None]
        return out

    def read(self, crop: np.ndarray, kind: str) -> Reading:
        try:
            if kind not in DIGIT_KINDS or is_degenerate(crop):
                return Reading.empty(self.name)
            x = self.preprocess(np.asarray(crop))
            with self._run_lock:
                probs = self._session.run(None, {self._input: x})[0][0]
            res = ctc_greedy(probs.astype(np.float64), self.chars, blank=BLANK, allowed=self._allowed[kind])
            return to_reading(self.name, res.text, res.char_probs, res.candidates)
        except Exception:  # never raise on a crop; do not log the content (personal data)
            log.exception("PP-OCR failed on a %s crop", kind)
            return Reading.empty(self.name)
