"""Recognition: run the configured engines on each field crop.

Which engines read which field kind is configuration (``engines/registry.py``: RecognitionConfig);
engines are loaded once per process (``Engines``) and tried in cascade order: the later engines give
second opinions only where the first was not confident enough (see :func:`recognize_page`).
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr_service.engines import checkmarks
from ocr_service.engines.base import Reading, profile_of
from ocr_service.engines.registry import Engines, RecognitionConfig
from ocr_service.forms.model import FieldSpec, Template, mm_to_px
from ocr_service.pipeline.dropout import INK_LEVEL, FieldCrop, comb_line
from ocr_service.pipeline.vocab_read import read_vocabulary

MIN_STROKE_MM = 1.2  # a connected ink component this tall or wide is writing, smaller is a speck


def _components(image: np.ndarray, dpi: int, box_top: int):
    """Label the crop's ink; return (labels, stats, writing ids, ids of the line above)."""
    ink = (image < INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    min_px = mm_to_px(MIN_STROKE_MM, dpi)
    floor = box_top + (image.shape[0] - box_top) * 0.3 if box_top else 0
    above, writing = [], []
    for i in range(1, n):
        bottom = stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]
        if box_top and bottom <= box_top:
            above.append(i)  # wholly above the box: descenders of the line above
        elif (stats[i, cv2.CC_STAT_HEIGHT] >= min_px or stats[i, cv2.CC_STAT_WIDTH] >= min_px) and bottom > floor:
            writing.append(i)
    return labels, stats, writing, above


def writing_box(image: np.ndarray, dpi: int, box_top: int = 0) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of the components big enough to be writing, or None if there are none.

    Components that end above the upper part of the field's box (``box_top`` rows down the crop)
    are the descenders of the line above, not this field's writing.
    """
    if image.size == 0:
        return None
    _, stats, keep, _ = _components(image, dpi, box_top)
    return _bbox(stats, keep)


def _bbox(stats: np.ndarray, ids: list[int]) -> tuple[int, int, int, int] | None:
    if not ids:
        return None
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in ids)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in ids)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in ids)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in ids)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def tighten(image: np.ndarray, dpi: int, box_top: int = 0) -> np.ndarray | None:
    """The crop cut down to its writing plus room for what rides above and below it (tone marks,
    the dot below a letter), with the line above's descenders whitened; None without writing."""
    if image.size == 0:
        return None
    labels, stats, keep, above = _components(image, dpi, box_top)
    box = _bbox(stats, keep)
    if box is None:
        return None
    x0, y0, w, h = box
    x1, y1 = x0 + w, y0 + h
    m = max(4, round(mm_to_px(0.8, dpi)))
    top, bottom = max(0, y0 - max(m, round(0.45 * h))), y1 + max(m, round(0.25 * h))  # marks over capitals
    left, right = max(0, x0 - m), x1 + m
    out = image[top:bottom, left:right]
    if above:
        out = out.copy()
        out[np.isin(labels[top:bottom, left:right], above)] = 255
    return out


def filled_cells(crop: FieldCrop, dpi: int) -> list[np.ndarray]:
    """The comb cells that hold writing, left to right: each cell where the plain dropout kept
    writing, or else where the measurement found writing marks (``crop.cell_evidence``: thin, faint
    or light-printed strokes the plain dropout lost), as those marks. A cell the dropout emptied
    must not vanish from the reading: a 12-digit number read from the 9 cells it left is a
    confident, wrong 9-digit one."""
    evidence = crop.cell_evidence if len(crop.cell_evidence) == len(crop.cells) else ()
    out = []
    for i, cell in enumerate(crop.cells):
        if writing_box(cell, dpi):
            out.append(cell)
        elif evidence and evidence[i].written and evidence[i].image is not None:
            out.append(evidence[i].image)
    return out


def field_image(crop: FieldCrop, spec: FieldSpec, dpi: int,
                cells: list[np.ndarray] | None = None) -> np.ndarray | None:
    """The image an engine should read for a line or comb field: its writing, tightly cropped
    (comb cells laid out as one line; ``cells``: the filled ones, if already known); None when
    the field holds no writing."""
    if crop.cells:
        cells = filled_cells(crop, dpi) if cells is None else cells
        return tighten(comb_line(tuple(cells)), dpi) if cells else None
    return tighten(crop.image, dpi, crop.box_top)


def read_cells(engine, cells: list[np.ndarray], kind: str, dpi: int) -> Reading:
    """A comb read one cell at a time: one character per filled cell (``cells`` hold writing),
    the weakest cell's confidence."""
    chars, confs = [], []
    for cell in cells:
        r = engine.read(tighten(cell, dpi), kind)
        text = r.text.strip()
        if len(text) != 1:  # a cell holds one character; anything else is unreadable
            return Reading("".join(chars) + (text or "?"), 0.0, engine.name)
        chars.append(text)
        confs.append(r.confidence)
    return Reading("".join(chars), min(confs, default=0.0), engine.name, tuple(confs))


def empty_reading(crop: FieldCrop, engine: str = "ink", certainty: float = 0.99) -> Reading:
    """'' for a field where nothing was read, as sure as the measured evidence allows (no mark at all:
    high; specks or faint marks: low; see dropout.InkEvidence.empty_confidence). Without a
    measurement (crops cut without the soft page), ``certainty``."""
    if crop.evidence is not None:
        certainty = min(certainty, crop.evidence.empty_confidence())
    return Reading("", certainty, engine)


def recognize_page(crops: list[FieldCrop], template: Template, engines: Engines, config: RecognitionConfig,
                   dpi: int, evidence: dict[str, dict[str, float]] | None = None) -> dict[str, list[Reading]]:
    """All readings of every field of a page (never an empty list), the first engine's first.

    The first engine of a field's profile reads every field with writing. The others give a
    second opinion on fields it was unsure of, and on every field of a page that looks
    handwritten (many unsure fields): neural engines are slower, and printed pages rarely
    need them. Writing the plain dropout lost (thin, faint, pencil strokes) but the measurement
    found is read from the measured marks. An empty field reads as '' with the certainty its
    measured evidence gives. A second opinion on a field with a small closed vocabulary is the
    engine's choice among its entries (``vocab_read``). ``evidence``, if given, receives each
    field's ink features.
    """
    readings: dict[str, list[Reading]] = {}
    images: dict[str, np.ndarray] = {}
    for crop in crops:
        spec = template.field(crop.name)
        if evidence is not None and crop.evidence is not None:
            evidence[crop.name] = crop.evidence.features()
        if spec.kind == "choice":
            readings[crop.name] = [checkmarks.read_choice(crop.options)]
            continue
        if spec.kind == "signature":
            r = checkmarks.read_signature(crop.ink_ratio)
            readings[crop.name] = [empty_reading(crop, r.engine, r.confidence) if not r.text else r]
            continue
        cells = filled_cells(crop, dpi) if crop.cells else []
        image = field_image(crop, spec, dpi, cells)
        if image is None and not crop.cells and crop.evidence is not None and crop.evidence.image is not None:
            image = tighten(crop.evidence.image, dpi, crop.box_top)
        names = config.engines.get(profile_of(spec.kind), ())
        if image is None or not names:
            readings[crop.name] = [empty_reading(crop) if image is None else Reading("", 0.0, "none")]
            continue
        images[crop.name] = image
        first = engines.get(names[0]).read(image, spec.kind)
        if crop.cells and len(first.text) != len(cells):  # the line read merged or split cells
            first = read_cells(engines.get(names[0]), cells, spec.kind, dpi)
        readings[crop.name] = [first]
    if not images:
        return readings
    unsure = [n for n in images if readings[n][0].confidence < config.cascade_gate]
    handwritten = len(unsure) >= config.handwritten_share * len(images)
    for name in (images if handwritten else unsure):
        spec = template.field(name)
        for engine in config.engines[profile_of(spec.kind)][1:]:
            e = engines.get(engine)
            # a closed vocabulary is chosen among, not decoded freely, where the engine can
            readings[name].append(read_vocabulary(e, images[name], spec) or e.read(images[name], spec.kind))
    return readings
