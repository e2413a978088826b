"""AsterNet: a CTC line recognizer for Vietnamese, from the ``asterocr==1.0.2`` wheel.

Only two files of the wheel are used: ``asterocr/assets/asternet.onnx`` and
``asterocr/assets/vocab.json``, located through ``importlib.metadata`` and checked against
pinned sha256 values. None of the package's Python modules is imported: the wheel also ships
training code, a notebook bridge, a tunnel and a model downloader that open network
connections (its ``AsterOCR`` class fetches weights from a hub when the asset is missing and
has an ``enable_telemetry`` switch).

Preprocessing follows the package's ONNX path (``asterocr/pipeline.py``): RGB, resize to
32 px high keeping the aspect (bilinear), width rounded up to a multiple of 4 (at least 32),
``(x/255 - 0.5)/0.5``, NCHW. The model outputs CTC log-probabilities shaped (T, N, 227),
T = W/4; the blank is index 0 and ``vocab.json['chars']`` gives the class order.
Measured here: the ``(x-0.5)/0.5`` normalization gives higher and better-calibrated
per-character probabilities than the plain ``x/255`` of the package's torch predictor.
Beyond an aspect of 32:1 the model fails, so longer lines are padded vertically with white.
"""

from __future__ import annotations

import json
import logging
import os
import threading

import cv2
import numpy as np

from ocr_service.engines.base import DIGIT_KINDS, TEXT_KINDS, Reading, is_degenerate
from ocr_service.engines.onnx_env import (PinnedFile, collapse_spaces, create_session, ctc_greedy,
                                          ctc_log_likelihoods, read_pinned, to_reading)
from ocr_service.errors import EngineError

log = logging.getLogger(__name__)

ASTEROCR_VERSION = "1.0.2"
MODEL_PIN = PinnedFile("asterocr", ASTEROCR_VERSION, "asterocr/assets/asternet.onnx",
                       "10c96b533e1f64031d73edfddafd7d4b13595544f11891f0531bcd72cb29be80")
VOCAB_PIN = PinnedFile("asterocr", ASTEROCR_VERSION, "asterocr/assets/vocab.json",
                       "82c6df018ceca8c10876947e0f7df798ed321825276ed7f3bb12ae3ed6dc647b")

INPUT_HEIGHT = 32
MAX_ASPECT = 32.0  # width:height of the input; at W > 1024 the positional encoding (256 steps) fails
BLANK = 0
PAD_X = 4  # white margin left and right, in input pixels at 32 px height

DIGIT_CHARS = "0123456789"
DATE_CHARS = "0123456789/"


class AsterNetEngine:
    """One ONNX session (load once per process: the pipeline's ``Engines`` does)."""

    name = "asternet"

    def __init__(self, model_path: str | os.PathLike[str] | None = None,
                 vocab_path: str | os.PathLike[str] | None = None,
                 data_dir: str | os.PathLike[str] | None = None):
        model = read_pinned(MODEL_PIN, model_path)
        try:
            vocab = json.loads(read_pinned(VOCAB_PIN, vocab_path).decode("utf-8"))
            self.chars: list[str] = list(vocab["chars"])
        except (ValueError, KeyError, TypeError) as exc:  # pragma: no cover - hash-pinned
            raise EngineError(f"asterocr vocab.json is malformed: {exc}") from exc
        if self.chars[BLANK] != "<blank>":
            raise EngineError("asterocr vocab.json does not start with the CTC blank")
        self.chars[BLANK] = ""
        self._session = create_session(model, data_dir)
        del model
        self._input = self._session.get_inputs()[0].name
        n_classes = self._session.get_outputs()[0].shape[-1]
        if isinstance(n_classes, int) and n_classes != len(self.chars):
            raise EngineError(f"AsterNet has {n_classes} classes but vocab.json {len(self.chars)}")
        index = {c: i for i, c in enumerate(self.chars)}
        self._index = {c: i for c, i in index.items() if c}  # for score_texts: a text's class ids
        self._allowed = {
            "digits": [index[c] for c in DIGIT_CHARS],
            "date": [index[c] for c in DATE_CHARS],
        }
        self._run_lock = threading.Lock()

    # -- preprocessing ------------------------------------------------------------------------
    @staticmethod
    def preprocess(crop: np.ndarray) -> np.ndarray:
        """uint8 gray (dark on white) -> float32 (1, 3, 32, W) tensor."""
        img = crop if crop.dtype == np.uint8 else np.clip(crop, 0, 255).astype(np.uint8)
        h, w = img.shape
        # Keep the aspect of the *network input* (including the margins) at most MAX_ASPECT.
        pad_src = int(round(PAD_X * h / INPUT_HEIGHT))
        total_w = w + 2 * pad_src
        if total_w / h > MAX_ASPECT:
            new_h = int(np.ceil(total_w / MAX_ASPECT))
            top = (new_h - h) // 2
            img = cv2.copyMakeBorder(img, top, new_h - h - top, 0, 0, cv2.BORDER_CONSTANT, value=255)
            h = new_h
            pad_src = int(round(PAD_X * h / INPUT_HEIGHT))
        if pad_src:
            img = cv2.copyMakeBorder(img, 0, 0, pad_src, pad_src, cv2.BORDER_CONSTANT, value=255)
        h, w = img.shape
        new_w = max(32, int(w * INPUT_HEIGHT / h))
        new_w = min(int(MAX_ASPECT * INPUT_HEIGHT), (new_w + 3) // 4 * 4)
        interp = cv2.INTER_AREA if h > INPUT_HEIGHT else cv2.INTER_LINEAR
        resized = cv2.resize(img, (new_w, INPUT_HEIGHT), interpolation=interp)
        x = resized.astype(np.float32) * (2.0 / 255.0) - 1.0
        return np.ascontiguousarray(np.broadcast_to(x[None, None], (1, 3, INPUT_HEIGHT, new_w)))

    # -- recognition --------------------------------------------------------------------------
    def _log_probs(self, crop: np.ndarray) -> np.ndarray:
        x = self.preprocess(np.asarray(crop))
        with self._run_lock:
            return self._session.run(None, {self._input: x})[0][:, 0, :].astype(np.float64)

    def score_texts(self, crop: np.ndarray, texts: list[str]) -> tuple[np.ndarray, float, float]:
        """How well each of ``texts`` explains the crop: its CTC log-likelihood (summed over every
        alignment; -inf for a text with a character the model does not know); the log-probability
        of the model's own best frame-by-frame path, the yardstick a likelihood is compared with;
        and that of the all-blank path, "nothing is written". (-inf everywhere for a crop no engine
        can read.)"""
        if is_degenerate(crop) or not texts:
            return np.full(len(texts), -np.inf), -np.inf, -np.inf
        log_probs = self._log_probs(crop)
        targets = [[self._index.get(c, -1) for c in t] for t in texts]
        known = [bool(t) and min(t) >= 0 for t in targets]
        out = np.full(len(texts), -np.inf)
        scored = [t for t, k in zip(targets, known) if k]
        if scored:
            out[np.array(known)] = ctc_log_likelihoods(log_probs, scored, blank=BLANK)
        return out, float(log_probs.max(axis=1).sum()), float(log_probs[:, BLANK].sum())

    def read(self, crop: np.ndarray, kind: str) -> Reading:
        try:
            if kind not in TEXT_KINDS and kind not in DIGIT_KINDS or is_degenerate(crop):
                return Reading.empty(self.name)
            probs = np.exp(self._log_probs(crop))
            res = ctc_greedy(probs, self.chars, blank=BLANK, allowed=self._allowed.get(kind))
            if kind in DIGIT_KINDS:
                return to_reading(self.name, res.text, res.char_probs, res.candidates)
            text, char_probs = collapse_spaces(res.text, res.char_probs)
            candidates = tuple((" ".join(t.split()), q) for t, q in res.candidates)
            return to_reading(self.name, text, char_probs, candidates)
        except Exception:  # never raise on a crop; do not log the content (personal data)
            log.exception("AsterNet failed on a %s crop", kind)
            return Reading.empty(self.name)
