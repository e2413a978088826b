"""Chains the stages for one page and for the pages of one file, and builds a pipeline from settings.

ingest → orient/deskew → register → dropout → recognize → evidence → decide.
Nothing here knows about databases, HTTP, queues or progress bars. Front ends (the CLI, the
service's workers, calibration) get a pipeline from :func:`build_pipeline` and call
``process_file`` / ``process_page``; batches go through ``pipeline/batch.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np

from ocr_service.engines.registry import Engines, RecognitionConfig
from ocr_service.errors import InputFileError, OcrServiceError
from ocr_service.forms import loader, qr
from ocr_service.forms.model import Template
from ocr_service.forms.render import reference_image
from ocr_service.pipeline import dropout, labels, orient, register
from ocr_service.pipeline.decide import decide_sheet
from ocr_service.pipeline.identify import candidates
from ocr_service.pipeline.ingest import Page, load_pages
from ocr_service.pipeline.recognize import recognize_page
from ocr_service.pipeline.scoring import Thresholds, thresholds_path
from ocr_service.pipeline.sheet import ERROR, OK, RESCAN, SheetResult
from ocr_service.settings import Settings

AUTO = "auto"


@dataclass
class Pipeline:
    """Everything one worker needs to process pages of one template; build once per process."""

    template: Template
    thresholds: Thresholds = field(default_factory=Thresholds)
    recognition: RecognitionConfig = field(default_factory=RecognitionConfig)
    dpi: int = register.WORK_DPI
    engines: Engines = field(default_factory=Engines)
    max_file_bytes: int = Settings.max_file_bytes
    max_page_pixels: int = Settings.max_page_pixels
    label_fallback: bool = True  # register pages that fail by features from their printed labels
    tessdata: str | None = None  # for the label fallback's page OCR (default: Debian's)

    @property
    def templates(self) -> list[Template]:
        return [self.template]

    def process_page(self, page: Page, oriented: tuple[np.ndarray, orient.Orientation] | None = None) -> SheetResult:
        """Run every stage on one page. Never raises for a bad page: returns 'rescan' with the reason.
        ``oriented``: the page already made upright (by its own text), to skip that stage."""
        start = time.perf_counter()
        t = self.template
        upright, o = oriented or orient.orient(page.image, reference_image(t, self.dpi))
        base = dict(file=page.source, page=page.page_no, template=t.id, sha256=page.sha256, **done(o))
        reg = register.register(upright, t, self.dpi)
        by_label: tuple[str, ...] = ()
        if not reg.ok and self.label_fallback and reg.prior is not None:
            lab = labels.register_by_labels(upright, t, self.dpi, reg.prior, self.tessdata)
            if lab.ok:
                qr_text = register.read_qr(upright, lab.homography, t, self.dpi) if t.registration.qr_box_mm else None
                reg, by_label = lab.as_registration(self.dpi, qr_text), lab.fields
            else:
                reg = replace(reg, reason=f"{reg.reason}; by its printed labels: {lab.reason}")
        if not reg.ok:
            return SheetResult(**base, status=RESCAN, reason=reg.reason, residual_px=reg.residual_px,
                               seconds=time.perf_counter() - start)
        identity = qr.parse(reg.qr_text)
        if identity and (identity[0], identity[1]) != (t.name, t.version):
            return SheetResult(**base, status=RESCAN, residual_px=reg.residual_px,
                               reason=f"QR code says {identity[0]}@{identity[1]}, not {t.id}",
                               seconds=time.perf_counter() - start)
        aligned = register.warp(upright, reg.homography, t, self.dpi)
        norm = dropout.normalize_light(aligned)
        ink = dropout.drop_out(aligned, t, self.dpi, norm=norm)
        crops = dropout.extract_fields(ink, t, self.dpi, soft=dropout.soft_ink(norm, t, self.dpi))
        measured: dict[str, dict[str, float]] = {}
        readings = recognize_page(crops, t, self.engines, self.recognition, self.dpi, measured)
        boxes = {c.name: c.box_px for c in crops}
        results = decide_sheet(t, readings, boxes, self.thresholds, measured)
        if by_label:
            results = labels.mark_placed(results, by_label)
        return SheetResult(**base, status=OK, residual_px=reg.residual_px, fields=tuple(results),
                           serial=identity[2] if identity else None, seconds=time.perf_counter() - start,
                           homography=tuple(float(v) for v in reg.homography.ravel()),
                           registration=reg.method, placed_by_label=by_label,
                           groups=t.group_entries({r.name: r.value for r in results}) if t.groups else {})

    def process_file(self, path: str | Path) -> Iterator[SheetResult]:
        """Results for every page of a file; a file or page that cannot be read yields one 'error'
        result naming the reason, after the pages that could be read."""
        return read_file(path, self.process_page, self.template.id, self.max_file_bytes, self.max_page_pixels)


class IdentifyingPipeline:
    """Pages of several templates in one batch (``--template auto``): each page goes to the pipeline
    of the template it is identified as (``pipeline/identify.py``); the pipelines share one set of
    engines."""

    def __init__(self, pipelines: list[Pipeline]):
        self.pipelines = {p.template.id: p for p in pipelines}
        engines = pipelines[0].engines
        for p in pipelines:
            p.engines = engines
        self.max_file_bytes = pipelines[0].max_file_bytes
        self.max_page_pixels = pipelines[0].max_page_pixels

    @property
    def templates(self) -> list[Template]:
        return [p.template for p in self.pipelines.values()]

    def process_page(self, page: Page) -> SheetResult:
        """The page read by the first candidate template that registers it; 'rescan' with the
        reason when none does."""
        ranked, why = candidates(page.image, self.templates)
        # The page's own text usually settles its orientation for every candidate at once (the best
        # candidate's blank may confirm weak text cues); a page it leaves unsure is oriented again
        # against each candidate's blank.
        first = self.pipelines[ranked[0][0].id] if ranked else None
        own = orient.orient(page.image, reference_image(first.template, first.dpi) if first else None)
        shared = own if own[1].method in (orient.TEXT, orient.OSD) else None
        tried = []
        for template, _how in ranked:
            result = self.pipelines[template.id].process_page(page, shared)
            if not (result.status == RESCAN and result.residual_px is None):
                return result  # read, or registered but too distorted: that is this form
            tried.append(template.id)
        reason = why or f"not a known form (tried {', '.join(tried)})"
        return SheetResult(page.source, page.page_no, "", RESCAN, reason=reason, sha256=page.sha256, **done(own[1]))

    def process_file(self, path: str | Path) -> Iterator[SheetResult]:
        return read_file(path, self.process_page, "", self.max_file_bytes, self.max_page_pixels)


def done(o: orient.Orientation) -> dict:
    """What the orientation stage did to a page, as SheetResult fields."""
    return dict(rotation=o.rotation, skew_deg=o.skew_deg, perspective=o.perspective,
                orientation_method=o.method, orientation_confidence=o.score)


class SheetReader(Protocol):
    """What front ends hold: a :class:`Pipeline` or an :class:`IdentifyingPipeline`."""

    @property
    def templates(self) -> list[Template]: ...

    def process_page(self, page: Page) -> SheetResult: ...

    def process_file(self, path: str | Path) -> Iterator[SheetResult]: ...


def read_file(path: str | Path, process_page: Callable[[Page], SheetResult], template_id: str = "",
              max_bytes: int = Settings.max_file_bytes,
              max_pixels: int = Settings.max_page_pixels) -> Iterator[SheetResult]:
    """``process_page`` on every page of a file; unreadable files and pages become 'error' results."""
    try:
        for page in load_pages(path, max_bytes=max_bytes, max_pixels=max_pixels):
            try:
                yield process_page(page)
            except OcrServiceError as exc:
                yield SheetResult(str(path), page.page_no, template_id, ERROR, reason=exc.reason, sha256=page.sha256)
    except InputFileError as exc:
        yield SheetResult(str(path), exc.page or 0, template_id, ERROR, reason=exc.reason)


def build_pipeline(template: str | Path | Template = AUTO, engines: str | RecognitionConfig | None = None,
                   thresholds: str | Path | Thresholds | None = None,
                   settings: Settings | None = None) -> Pipeline | IdentifyingPipeline:
    """The pipeline front ends use.

    ``template``: a name, ``name@version``, a template file's path, a loaded Template, or 'auto'
    (every template in the settings' templates dir; each page is identified). ``engines``: a
    configuration name ('tesseract', 'cascade', 'fake'), a YAML file or a RecognitionConfig
    (default: the settings'). ``thresholds``: a file or Thresholds; by default the file calibrated
    for that template and engine configuration, beside the template, if there is one. Raises
    TemplateError or ConfigError naming what is wrong; loads no engine yet (engines load on first use,
    once per process).
    """
    settings = settings or Settings()
    config = engines if isinstance(engines, RecognitionConfig) else RecognitionConfig.named(engines or settings.engines)
    if isinstance(template, Template):
        templates = [template]
    elif str(template) == AUTO:
        templates = [loader.load(ref, settings.templates_dir) for ref in loader.available(settings.templates_dir)]
    else:
        templates = [loader.load(template, settings.templates_dir)]
    shared = Engines({"tesseract": {"tessdata": settings.tessdata}})
    pipelines = []
    for t in templates:
        if isinstance(thresholds, Thresholds):
            chosen = thresholds
        else:
            chosen = Thresholds.load(thresholds or thresholds_path(t, config.name))
        pipelines.append(Pipeline(t, chosen, config, engines=shared, max_file_bytes=settings.max_file_bytes,
                                  max_page_pixels=settings.max_page_pixels, tessdata=settings.tessdata))
    if str(template) == AUTO and not isinstance(template, Template):
        return IdentifyingPipeline(pipelines)
    return pipelines[0]
