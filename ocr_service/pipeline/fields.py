"""One field read from an image that holds only that field, decided as on a sheet.

For field crops cut elsewhere (a review station's snippet, a test set of single fields, crops
unlike anything generated): the image is taken as it is, with no registration and no form to drop
out. Its light is normalized, its ink measured and cut as ``dropout`` does, the template's engines
read it (``recognize_page``), and the evidence, score, calibrated ranges and thresholds decide it
(``evidence.choose``, ``decide.decide``). Cross-field checks need the other fields of a sheet and
are not run.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ocr_service.errors import ConfigError
from ocr_service.pipeline import dropout
from ocr_service.pipeline.decide import FieldResult, decide
from ocr_service.pipeline.evidence import choose, with_page
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.pipeline.recognize import recognize_page
from ocr_service.pipeline.register import WORK_DPI

DIM_PAPER = 190  # a crop whose brightest tenth is darker than this is not clean paper


def field_crop(image: np.ndarray, name: str, kind: str, dpi: int = WORK_DPI) -> dropout.FieldCrop:
    """A whole image as one field's crop: paper normalized to white, ink kept as the dropout keeps
    it, marks measured (comb fields are read as one line: the cell layout of a loose image is
    not known)."""
    gray = np.asarray(image)
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray[..., :3].astype(np.uint8), cv2.COLOR_RGB2GRAY)
    gray = gray.astype(np.uint8)
    if dpi != WORK_DPI:
        scale = WORK_DPI / dpi
        gray = cv2.resize(gray, None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    if min(gray.shape) < 16:
        norm = gray
    else:
        norm = dropout.normalize_light(gray)
    ink = norm < dropout.INK_THRESHOLD * 255
    ink = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
    dropped = np.full_like(gray, 255)
    dropped[ink] = norm[ink]
    share = float((dropped < dropout.INK_LEVEL).mean()) if dropped.size else 0.0
    h, w = gray.shape
    evidence = dropout.measure_ink(norm, WORK_DPI)
    # normalizing the light makes any uniform crop look like paper; paper this dim is not blank paper
    paper = float(np.percentile(gray, 90)) if gray.size else 255.0
    if paper < DIM_PAPER:
        evidence = dataclasses.replace(evidence, clutter=max(evidence.clutter, (DIM_PAPER - paper) / 255.0 + 0.1))
    return dropout.FieldCrop(name, kind, dropped, share, (0, 0, w, h), evidence=evidence)


def read_field(pipeline, image: np.ndarray, field: str, dpi: int = WORK_DPI,
               ctx: dict | None = None) -> FieldResult:
    """Read and decide one field of ``pipeline.template`` from an image holding only it.

    ``pipeline``: a built :class:`~ocr_service.pipeline.build.Pipeline` (its engines, recognition
    configuration and thresholds are used as for a sheet); ``dpi``: the image's resolution (it is
    scaled to the pipeline's); ``ctx``: validator context a sheet would give (province …).
    ConfigError for an unknown field or a checkbox field (its options' places are not known).
    """
    template = pipeline.template
    try:
        spec = template.field(field)
    except KeyError:
        raise ConfigError(f"template {template.id} has no field {field!r}") from None
    if spec.kind == "choice":
        raise ConfigError(f"field {field!r} is a checkbox group: its boxes cannot be found in a loose image")
    crop = field_crop(image, spec.name, spec.kind, dpi)
    measured: dict[str, dict[str, float]] = {}
    readings = recognize_page([crop], template, pipeline.engines, pipeline.recognition, WORK_DPI, measured)
    # a crop is a page of one field: its own reading is all the page evidence there is
    ev = with_page({spec.name: choose(spec, readings[spec.name], dict(ctx or {}), pipeline.thresholds,
                                      measured.get(spec.name))}, pipeline.thresholds)[spec.name]
    failed = []
    if ev.finding is not None and ev.finding.failed:
        failed.extend(ReviewReason.INVALID.detail(f"{check}: {reason}") for check, reason in ev.finding.failed)
    suggestion = ev.finding.suggestion if ev.finding and ev.finding.suggestion != ev.value else None
    return decide(spec, ev.reading, crop.box_px, pipeline.thresholds, value=ev.value, confidence=ev.score,
                  failed=tuple(failed), suggestion=suggestion, candidates=ev.candidates, features=ev.features)
