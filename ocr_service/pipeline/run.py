"""Chains the stages for one page, and for the pages of one file.

ingest → orient/deskew → register → extract (dropout) → recognize → validate → decide.
Nothing here knows about databases, HTTP, queues or progress bars.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ocr_service.errors import InputFileError, OcrServiceError
from ocr_service.forms.model import Template
from ocr_service.forms.render import reference_image
from ocr_service.pipeline import extract, orient, register
from ocr_service.pipeline.decide import FieldResult, Thresholds
from ocr_service.pipeline.identify import candidates
from ocr_service.pipeline.ingest import Page, load_pages
from ocr_service.pipeline.recognize import Engines, RecognitionConfig, recognize_page
from ocr_service.pipeline.validate import validate_sheet

OK = "ok"
RESCAN = "rescan"
ERROR = "error"


@dataclass(frozen=True)
class SheetResult:
    """The outcome for one page: ``status`` is 'ok' (fields read), 'rescan' (the page could not be
    registered; ``reason`` says why) or 'error' (the file or page could not be read)."""

    file: str
    page: int
    template: str
    status: str
    reason: str = ""
    residual_px: float | None = None
    fields: tuple[FieldResult, ...] = ()
    sha256: str = ""
    rotation: int = 0
    skew_deg: float = 0.0
    serial: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        d = {"file": self.file, "page": self.page, "template": self.template, "status": self.status,
             "residual_px": None if self.residual_px is None else round(self.residual_px, 2),
             "fields": [f.to_json() for f in self.fields]}
        if self.reason:
            d["reason"] = self.reason
        if self.sha256:
            d["sha256"] = self.sha256
        if self.status != ERROR:
            d["rotation"] = self.rotation
            d["skew_deg"] = round(self.skew_deg, 2)
        if self.serial:
            d["serial"] = self.serial
        return d

    @property
    def needs_review(self) -> int:
        return sum(1 for f in self.fields if f.status != "auto_accepted")


@dataclass
class Pipeline:
    """Everything one worker needs to process pages of one template; build once per process."""

    template: Template
    thresholds: Thresholds = field(default_factory=Thresholds)
    recognition: RecognitionConfig = field(default_factory=RecognitionConfig)
    dpi: int = register.WORK_DPI
    engines: Engines = field(default_factory=Engines)

    def process_page(self, page: Page) -> SheetResult:
        """Run every stage on one page. Never raises for a bad page: returns 'rescan' with the reason."""
        start = time.perf_counter()
        t = self.template
        base = dict(file=page.source, page=page.page_no, template=t.id, sha256=page.sha256)
        upright, o = orient.orient(page.image, reference_image(t, self.dpi))
        reg = register.register(upright, t, self.dpi)
        if not reg.ok:
            return SheetResult(**base, status=RESCAN, reason=reg.reason, residual_px=reg.residual_px,
                               rotation=o.rotation, skew_deg=o.skew_deg, seconds=time.perf_counter() - start)
        identity = register.qr_identity(reg.qr_text)
        if identity and (identity[0], identity[1]) != (t.name, t.version):
            return SheetResult(**base, status=RESCAN, residual_px=reg.residual_px, rotation=o.rotation,
                               skew_deg=o.skew_deg, reason=f"QR code says {identity[0]}@{identity[1]}, not {t.id}",
                               seconds=time.perf_counter() - start)
        aligned = register.warp(upright, reg.homography, t, self.dpi)
        ink = extract.drop_out(aligned, t, self.dpi)
        crops = extract.extract_fields(ink, t, self.dpi)
        readings = recognize_page(crops, t, self.engines, self.recognition, self.dpi)
        boxes = {c.name: c.box_px for c in crops}
        results = validate_sheet(t, readings, boxes, self.thresholds)
        return SheetResult(**base, status=OK, residual_px=reg.residual_px, fields=tuple(results),
                           rotation=o.rotation, skew_deg=o.skew_deg, serial=identity[2] if identity else None,
                           seconds=time.perf_counter() - start)

    def process_file(self, path: str | Path) -> Iterator[SheetResult]:
        """Results for every page of a file; a file or page that cannot be read yields one 'error'
        result naming the reason, after the pages that could be read."""
        return read_file(path, self.process_page, self.template.id)


def read_file(path: str | Path, process_page: Callable[[Page], SheetResult], template_id: str = "") -> Iterator[SheetResult]:
    """``process_page`` on every page of a file; unreadable files and pages become 'error' results."""
    try:
        for page in load_pages(path):
            try:
                yield process_page(page)
            except OcrServiceError as exc:
                yield SheetResult(str(path), page.page_no, template_id, ERROR, reason=exc.reason, sha256=page.sha256)
    except InputFileError as exc:
        yield SheetResult(str(path), exc.page or 0, template_id, ERROR, reason=exc.reason)


class Router:
    """Pages of several templates in one batch: each page goes to the pipeline of the template it
    is identified as (``pipeline/identify.py``); the pipelines share one set of engines."""

    def __init__(self, pipelines: list[Pipeline]):
        self.pipelines = {p.template.id: p for p in pipelines}
        engines = pipelines[0].engines
        for p in pipelines:
            p.engines = engines

    @property
    def templates(self) -> list[Template]:
        return [p.template for p in self.pipelines.values()]

    def process_page(self, page: Page) -> SheetResult:
        """The page read by the first candidate template that registers it; 'rescan' with the
        reason when none does."""
        ranked, why = candidates(page.image, self.templates)
        tried = []
        for template, _how in ranked:
            result = self.pipelines[template.id].process_page(page)
            if not (result.status == RESCAN and result.residual_px is None):
                return result  # read, or registered but too distorted: that is this form
            tried.append(template.id)
        reason = why or f"not a known form (tried {', '.join(tried)})"
        return SheetResult(page.source, page.page_no, "", RESCAN, reason=reason, sha256=page.sha256)

    def process_file(self, path: str | Path) -> Iterator[SheetResult]:
        return read_file(path, self.process_page)
