"""Recognition: run the configured engines on each field crop.

Which engines read which field kind is configuration (:class:`RecognitionConfig`); engines are
loaded once per process (:class:`Engines`) and tried in cascade order: the next engine runs
only when the previous ones were not confident enough.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import cv2
import numpy as np

from ocr_service.engines import marks
from ocr_service.engines.base import Reading
from ocr_service.errors import EngineError
from ocr_service.forms.model import FieldSpec, mm_to_px
from ocr_service.pipeline.extract import FieldCrop, comb_line

# engine name → "module:class"; a class is constructed without arguments, once per process
ENGINE_CLASSES = {
    "tesseract": "ocr_service.engines.tesseract:TesseractEngine",
    "asternet": "ocr_service.engines.asternet:AsterNetEngine",
    "ppocr": "ocr_service.engines.ppocr:PPOCRDigitsEngine",
}

MIN_STROKE_MM = 1.2  # a connected ink component this tall or wide is writing, smaller is a speck


@dataclass(frozen=True)
class RecognitionConfig:
    """Engines per recognition profile ('text' or 'digits'), in cascade order, and the confidence
    at or above which the cascade stops early."""

    engines: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"text": ("tesseract",), "digits": ("tesseract",)})
    cascade_gate: float = 0.95

    @classmethod
    def named(cls, name: str) -> "RecognitionConfig":
        """A named configuration: 'tesseract' (Tesseract alone) or 'cascade'."""
        if name == "tesseract":
            return cls()
        if name == "cascade":
            return cls(engines={"text": ("tesseract", "asternet"), "digits": ("tesseract", "ppocr", "asternet")})
        raise EngineError(f"unknown engine configuration {name!r} (tesseract or cascade)")

    def engine_names(self) -> set[str]:
        return {name for names in self.engines.values() for name in names}


class Engines:
    """Loaded engines of one worker process, created on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, object] = {}

    def get(self, name: str):
        if name not in self._loaded:
            try:
                module, cls = ENGINE_CLASSES[name].split(":")
            except KeyError as exc:
                raise EngineError(f"unknown engine {name!r} (known: {', '.join(ENGINE_CLASSES)})") from exc
            self._loaded[name] = getattr(importlib.import_module(module), cls)()
        return self._loaded[name]


def profile_of(kind: str) -> str:
    return "digits" if kind in ("digits", "date") else "text"


def writing_box(image: np.ndarray, dpi: int, box_top: int = 0) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of the components big enough to be writing, or None if there are none.

    Components that end above the upper part of the field's box (``box_top`` rows down the crop)
    are the descenders of the line above, not this field's writing.
    """
    if image.size == 0:
        return None
    ink = (image < 160).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    min_px = mm_to_px(MIN_STROKE_MM, dpi)
    floor = box_top + (image.shape[0] - box_top) * 0.3 if box_top else 0
    keep = [i for i in range(1, n)
            if (stats[i, cv2.CC_STAT_HEIGHT] >= min_px or stats[i, cv2.CC_STAT_WIDTH] >= min_px)
            and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] > floor]
    if not keep:
        return None
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in keep)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in keep)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def tighten(image: np.ndarray, dpi: int, box_top: int = 0) -> np.ndarray | None:
    """The crop cut down to its writing plus a small margin; None when it holds no writing."""
    box = writing_box(image, dpi, box_top)
    if box is None:
        return None
    x, y, w, h = box
    m = max(4, round(mm_to_px(0.8, dpi)))
    return image[max(0, y - m):y + h + m, max(0, x - m):x + w + m]


def recognize(crop: FieldCrop, spec: FieldSpec, engines: Engines, config: RecognitionConfig,
              dpi: int) -> list[Reading]:
    """All readings of one field, best engine first in cascade order; never empty.

    An empty line reads as '' with the certainty that it is empty.
    """
    if spec.kind == "choice":
        return [marks.read_choice(crop.options)]
    if spec.kind == "signature":
        return [marks.read_signature(crop.ink_ratio)]
    if crop.cells:
        cells = tuple(c if writing_box(c, dpi) else np.full_like(c, 255) for c in crop.cells)
        filled = sum(1 for c in cells if c.min() < 160)
        if filled == 0:
            return [Reading("", 0.99, "ink")]
        image = tighten(comb_line(cells), dpi)
    else:
        image = tighten(crop.image, dpi, crop.box_top)
    if image is None:
        return [Reading("", 0.99, "ink")]
    readings: list[Reading] = []
    for name in config.engines.get(profile_of(spec.kind), ()):
        reading = engines.get(name).read(image, spec.kind)
        readings.append(reading)
        if reading.confidence >= config.cascade_gate:
            break
    return readings or [Reading("", 0.0, "none")]
