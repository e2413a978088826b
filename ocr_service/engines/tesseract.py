"""Tesseract through tesserocr's persistent API: one API object per profile per process.

Profiles: 'text' (kinds text/name/address) -> ``vie``, psm 7 (single line);
'digits' -> ``eng`` with ``tessedit_char_whitelist='0123456789 '``; 'date' -> ``eng`` with
``'0123456789/ '`` (the space is whitelisted because without it the LSTM gives the first digit
after a gap a near-zero confidence; spaces are dropped from digit readings).
The confidence is the minimum symbol confidence (``RIL.SYMBOL``, 0-100 scaled to 0-1),
measured as the best accept/reject gate on field crops.

``OMP_THREAD_LIMIT=1`` is set before tesserocr is imported (parallelism comes from one
process per core). API objects are not thread-safe: each is used under its own lock.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402

from ocr_service.engines.base import Reading, is_degenerate, profile_of  # noqa: E402
from ocr_service.errors import EngineError  # noqa: E402
from ocr_service.settings import DEFAULT_TESSDATA  # noqa: E402

log = logging.getLogger(__name__)

BORDER = 10  # white pixels added on every side
TARGET_INK_HEIGHT = 36  # ink rows (ascenders + diacritics + descenders) after rescaling
MIN_INK_HEIGHT, MAX_INK_HEIGHT = 24, 64
MAX_SCALE = 4.0

# One API object per setting: the recognition profile (engines/base.py), with dates read by the
# digit model plus '/'.
API_SETTINGS: dict[str, dict[str, Any]] = {
    "text": {"lang": "vie", "whitelist": None},
    "digits": {"lang": "eng", "whitelist": "0123456789 "},
    "date": {"lang": "eng", "whitelist": "0123456789/ "},
    "osd": {"lang": "osd", "whitelist": None, "psm": "OSD_ONLY"},  # page orientation (engines/osd.py)
    "page": {"lang": "vie", "whitelist": None, "psm": "SPARSE_TEXT"},  # printed words of a whole page
}


def setting_for(kind: str) -> str:
    """The API setting that reads a field kind."""
    return "date" if kind == "date" else profile_of(kind)


class _Api:
    def __init__(self, api: Any):
        self.api = api
        self.lock = threading.Lock()


_apis: dict[str, _Api] = {}
_apis_pid: int | None = None
_apis_lock = threading.Lock()


def _get_api(profile: str, tessdata: str = DEFAULT_TESSDATA) -> _Api:
    """The process-wide API object of a profile (created lazily; re-created after a fork)."""
    global _apis_pid
    with _apis_lock:
        if _apis_pid != os.getpid():
            _apis.clear()
            _apis_pid = os.getpid()
        cached = _apis.get(profile)
        if cached is not None:
            return cached
        try:
            from tesserocr import PSM, PyTessBaseAPI  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - install problem
            raise EngineError("tesserocr is not installed") from exc
        spec = API_SETTINGS[profile]
        try:
            api = PyTessBaseAPI(path=tessdata, lang=spec["lang"], psm=getattr(PSM, spec.get("psm", "SINGLE_LINE")))
        except RuntimeError as exc:
            raise EngineError(f"cannot initialise Tesseract '{spec['lang']}' from {tessdata}: {exc}") from exc
        if spec["whitelist"]:
            api.SetVariable("tessedit_char_whitelist", spec["whitelist"])
        api.SetVariable("user_defined_dpi", "300")  # crops carry no resolution; silences a warning
        _apis[profile] = _Api(api)
        return _apis[profile]


def _ink_rows(img: np.ndarray) -> tuple[int, int] | None:
    dark = (img < 128).any(axis=1)
    rows = np.flatnonzero(dark)
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1


def preprocess(crop: np.ndarray) -> np.ndarray:
    """Rescale so the ink is ~36 px high (when it is far off) and add a white border."""
    import cv2  # noqa: PLC0415

    img = crop if crop.dtype == np.uint8 else np.clip(crop, 0, 255).astype(np.uint8)
    span = _ink_rows(img)
    if span is not None:
        ink = span[1] - span[0]
        if ink < MIN_INK_HEIGHT or ink > MAX_INK_HEIGHT:
            scale = min(MAX_SCALE, TARGET_INK_HEIGHT / max(1, ink))
            h, w = img.shape
            new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
            interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
            img = cv2.resize(img, (new_w, new_h), interpolation=interp)
    return cv2.copyMakeBorder(img, BORDER, BORDER, BORDER, BORDER, cv2.BORDER_CONSTANT, value=255)


def _set_image(api: Any, img: np.ndarray) -> None:
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape
    api.SetImageBytes(img.tobytes(), w, h, 1, w)


def _symbols(api: Any) -> tuple[str, tuple[float, ...]]:
    """Text and one confidence per character, from the symbol iterator (spaces between words)."""
    from tesserocr import RIL  # noqa: PLC0415

    chars: list[str] = []
    confs: list[float] = []
    it = api.GetIterator()
    if it is None:
        return "", ()
    level = RIL.SYMBOL
    first = True
    while True:
        try:
            sym = it.GetUTF8Text(level)
        except RuntimeError:  # tesserocr raises on an empty result instead of returning ""
            sym = None
        if sym:
            conf = max(0.0, min(1.0, it.Confidence(level) / 100.0))
            if not first and it.IsAtBeginningOf(RIL.WORD):
                # The space between two words: as sure as its weaker neighbour.
                chars.append(" ")
                confs.append(min(confs[-1], conf) if confs else conf)
            sym = unicodedata.normalize("NFC", sym)
            for ch in sym:
                chars.append(ch)
                confs.append(conf)
            first = False
        if not it.Next(level):
            break
    return "".join(chars), tuple(confs)


class TesseractEngine:
    """Tesseract recognizer; cheap to construct (API objects are shared per process)."""

    name = "tesseract"

    def __init__(self, tessdata: str | None = None):
        self.tessdata = tessdata or DEFAULT_TESSDATA

    def load(self, kinds: tuple[str, ...] = ("text", "digits", "date")) -> "TesseractEngine":
        """Create the API objects now instead of on first use (raises EngineError)."""
        for kind in kinds:
            _get_api(setting_for(kind), self.tessdata)
        return self

    def read(self, crop: np.ndarray, kind: str) -> Reading:
        try:
            if is_degenerate(crop):
                return Reading.empty(self.name)
            holder = _get_api(setting_for(kind), self.tessdata)
            img = preprocess(np.asarray(crop))
            with holder.lock:
                _set_image(holder.api, img)
                if not holder.api.Recognize():
                    return Reading.empty(self.name)
                text, confs = _symbols(holder.api)
            if profile_of(kind) == "digits":
                keep = [(c, q) for c, q in zip(text, confs) if not c.isspace()]
                text = "".join(c for c, _ in keep)
                confs = tuple(q for _, q in keep)
            if not text.strip() or not confs:
                return Reading.empty(self.name)
            conf = min(confs)
            return Reading(text, conf, self.name, confs, ((text, conf),))
        except EngineError:
            raise
        except Exception:  # never raise on a crop; do not log the content (personal data)
            log.exception("Tesseract failed on a %s crop", kind)
            return Reading.empty(self.name)

    def read_bare(self, crop: np.ndarray, kind: str) -> tuple[str, float]:
        """Bare tesserocr on the same API object: no preprocessing, no symbol iteration.

        For the benchmark's overhead ratio only; returns (text, mean word confidence 0-1).
        """
        from PIL import Image  # noqa: PLC0415

        holder = _get_api(setting_for(kind), self.tessdata)
        with holder.lock:
            holder.api.SetImage(Image.fromarray(np.asarray(crop, dtype=np.uint8)))
            text = holder.api.GetUTF8Text()
            return text.strip(), holder.api.MeanTextConf() / 100.0


def page_words(image: np.ndarray, tessdata: str | None = None, min_conf: float = 0.3,
               scale: float = 0.5) -> list[tuple[str, tuple[float, float, float, float], float]]:
    """The printed words of a page image (or of a window of one): ``(text, (x, y, w, h) in the
    image's pixels, confidence 0..1)`` each, in Tesseract's reading order; words under ``min_conf``
    left out. The image is read at ``scale`` (a 300-dpi page at 150 dpi reads its 10-point labels
    as well and about 3× faster). For finding printed labels (template authoring, label-anchored
    registration), not for reading fields."""
    import cv2  # noqa: PLC0415
    from tesserocr import RIL  # noqa: PLC0415

    img = np.ascontiguousarray(image, dtype=np.uint8)
    if scale != 1.0:
        img = np.ascontiguousarray(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    holder = _get_api("page", tessdata or DEFAULT_TESSDATA)
    out = []
    with holder.lock:
        _set_image(holder.api, img)
        if not holder.api.Recognize():
            return []
        it = holder.api.GetIterator()
        if it is None:
            return []
        while True:
            try:
                text = it.GetUTF8Text(RIL.WORD)
            except RuntimeError:
                text = None
            if text and text.strip():
                box = it.BoundingBox(RIL.WORD)
                conf = max(0.0, min(1.0, it.Confidence(RIL.WORD) / 100.0))
                if box and conf >= min_conf:
                    x0, y0, x1, y1 = (v / scale for v in box)
                    out.append((unicodedata.normalize("NFC", text.strip()), (x0, y0, x1 - x0, y1 - y0), conf))
            if not it.Next(RIL.WORD):
                break
    return out
