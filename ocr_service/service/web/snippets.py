"""Image snippets of fields: the page loaded from the blob store, turned upright and registered to
its template by the pipeline's own functions (``orient.orient``, ``register.register``,
``register.warp``), then the field's stored ``box_px`` cut out with a margin, as PNG.

Registered pages are kept in memory for a short time (TTL seconds, at most MAX_PAGES), so the
fields of one sheet cost one registration; a group of 20 fields from 20 sheets costs 20.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import cv2
import numpy as np

from ocr_service.errors import InputFileError, NotFoundError
from ocr_service.forms.render import reference_image
from ocr_service.pipeline import ingest, orient, register
from ocr_service.pipeline.build import Pipeline, build_pipeline
from ocr_service.service.store import repository as repo
from ocr_service.service.store.store import Store
from ocr_service.settings import Settings

TTL = 300.0
MAX_PAGES = 24
MARGIN_PX = 12


class Snippets:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store
        self._pages: OrderedDict[int, tuple[float, np.ndarray]] = OrderedDict()
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()
        self._page_locks: dict[int, threading.Lock] = {}

    def _pipeline(self, ref: str) -> Pipeline:
        with self._lock:
            if ref not in self._pipelines:
                built = build_pipeline(ref, settings=self.settings)
                assert isinstance(built, Pipeline)
                self._pipelines[ref] = built
            return self._pipelines[ref]

    def aligned(self, page_id: int, page_no: int, sha256: str, template_ref: str) -> np.ndarray:
        """The page registered to its template (cached)."""
        now = time.monotonic()
        with self._lock:
            for pid in [p for p, (t, _) in self._pages.items() if now - t > TTL]:
                del self._pages[pid]
            if page_id in self._pages:
                self._pages.move_to_end(page_id)
                return self._pages[page_id][1]
            page_lock = self._page_locks.setdefault(page_id, threading.Lock())
        with page_lock:  # one registration per page, however many snippets ask at once
            with self._lock:
                if page_id in self._pages:
                    return self._pages[page_id][1]
            image = self._register(page_no, sha256, template_ref)
            with self._lock:
                self._pages[page_id] = (time.monotonic(), image)
                while len(self._pages) > MAX_PAGES:
                    self._pages.popitem(last=False)
                self._page_locks.pop(page_id, None)
            return image

    def _register(self, page_no: int, sha256: str, template_ref: str) -> np.ndarray:
        path = self.store.blobs.path(sha256)
        if not path.is_file():
            raise NotFoundError("the page's file is missing from the blob store")
        try:
            page = ingest.load_page(path, page_no, max_bytes=self.settings.max_file_bytes,
                                    max_pixels=self.settings.max_page_pixels)
        except InputFileError as exc:
            raise InputFileError(exc.reason, page=page_no) from None  # never the blob path
        p = self._pipeline(template_ref)
        upright, _ = orient.orient(page.image, reference_image(p.template, p.dpi))
        reg = register.register(upright, p.template, p.dpi)
        if reg.homography is None:
            raise NotFoundError(f"the page could not be registered to its form again: {reg.reason}")
        return register.warp(upright, reg.homography, p.template, p.dpi)

    def field_png(self, field_id: int) -> bytes:
        with self.store.session(write=False) as s:
            f = repo.get_field(s, field_id)
            sheet = repo.get_sheet(s, f.sheet_id)
            page = sheet.page
            box = [int(v) for v in (f.box_px or [])]
            page_id, page_no, sha, ref = page.id, page.page_no, page.file.sha256, sheet.template.ref
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise NotFoundError(f"field {field_id} has no box on its page")
        image = self.aligned(page_id, page_no, sha, ref)
        x, y, w, h = box
        hgt, wid = image.shape[:2]
        x0, y0 = max(0, x - MARGIN_PX), max(0, y - MARGIN_PX)
        x1, y1 = min(wid, x + w + MARGIN_PX), min(hgt, y + h + MARGIN_PX)
        if x1 <= x0 or y1 <= y0:
            raise NotFoundError(f"field {field_id}'s box is outside its page")
        ok, png = cv2.imencode(".png", image[y0:y1, x0:x1])
        if not ok:
            raise InputFileError("could not encode the snippet")
        return png.tobytes()

    def page_png(self, page_id: int, *, max_width: int = 1200) -> bytes:
        """The registered page, scaled to ``max_width`` (the sheet view)."""
        with self.store.session(write=False) as s:
            page = repo.get_page(s, page_id)
            sheet = s.scalars(repo.select(repo.Sheet).where(repo.Sheet.page_id == page_id)).first()
            if sheet is None:
                raise NotFoundError(f"page {page_id} has no sheet")
            page_no, sha, ref = page.page_no, page.file.sha256, sheet.template.ref
        image = self.aligned(page_id, page_no, sha, ref)
        if image.shape[1] > max_width:
            scale = max_width / image.shape[1]
            image = cv2.resize(image, (max_width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise InputFileError("could not encode the page")
        return png.tobytes()
