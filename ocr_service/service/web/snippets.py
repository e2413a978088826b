"""Image snippets of fields: the page loaded from the blob store, turned upright and registered to
its template by the pipeline's own functions (``orient.orient``, ``register.register``,
``register.warp``), then the field's stored ``box_px`` cut out with a margin, as PNG.

Registered pages are kept in memory for a short time (TTL seconds, at most MAX_PAGES), so the
fields of one sheet cost one page. What registration found (the quarter turn, the skew and the
homography: a few numbers) is stored with each page by the worker that read it
(``pages.registration``), so a page is only decoded, turned and warped again (about a tenth of
the cost of registering it); pages stored without it (read before that column existed) are
registered once and the numbers kept in memory (MAX_TRANSFORMS pages). And
``prefetch(page_ids)`` registers pages in a background thread before they are asked for: the
review pages call it for the sheets a reviewer is likely to get next, so the next group's
snippets (20 sheets) do not cost 20 registrations when it is shown (docs/review.md has the times).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

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
MAX_TRANSFORMS = 20_000  # (rotation, skew, flattened, 3×3 homography) per page: about 200 bytes each
MARGIN_PX = 12
log = logging.getLogger(__name__)


class Snippets:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store
        self._pages: OrderedDict[int, tuple[float, np.ndarray]] = OrderedDict()
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()
        self._page_locks: dict[int, threading.Lock] = {}
        self._transforms: OrderedDict[int, tuple[int, float, np.ndarray]] = OrderedDict()
        self._prefetching: set[int] = set()
        # One background thread: warming must not take the second core from the pages being served.
        self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snippet-prefetch")
        self.registrations = 0  # full registrations done (orient + register), for tests and benchmarks

    def _pipeline(self, ref: str) -> Pipeline:
        with self._lock:
            if ref not in self._pipelines:
                built = build_pipeline(ref, settings=self.settings)
                assert isinstance(built, Pipeline)
                self._pipelines[ref] = built
            return self._pipelines[ref]

    def aligned(self, page_id: int, page_no: int, sha256: str, template_ref: str,
                registration: dict | None = None) -> np.ndarray:
        """The page registered to its template (cached); ``registration``: what the worker's
        registration found (pages.registration), used instead of registering again."""
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
            image = self._register(page_id, page_no, sha256, template_ref, registration)
            with self._lock:
                self._pages[page_id] = (time.monotonic(), image)
                while len(self._pages) > MAX_PAGES:
                    self._pages.popitem(last=False)
                self._page_locks.pop(page_id, None)
            return image

    def _register(self, page_id: int, page_no: int, sha256: str, template_ref: str,
                  registration: dict | None = None) -> np.ndarray:
        path = self.store.blobs.path(sha256)
        if not path.is_file():
            raise NotFoundError("the page's file is missing from the blob store")
        try:
            page = ingest.load_page(path, page_no, max_bytes=self.settings.max_file_bytes,
                                    max_pixels=self.settings.max_page_pixels)
        except InputFileError as exc:
            raise InputFileError(exc.reason, page=page_no) from None  # never the blob path
        p = self._pipeline(template_ref)
        with self._lock:
            known = self._transforms.get(page_id)
        if known is None and registration and len(registration.get("homography") or ()) == 9:
            known = (int(registration.get("rotation") or 0), float(registration.get("skew_deg") or 0.0),
                     bool(registration.get("perspective")),
                     np.array(registration["homography"], dtype=np.float64).reshape(3, 3))
        if known is not None:  # registered before: the same steps with the numbers found then
            rotation, skew, flattened, homography = known
            upright = orient.replay(page.image, rotation, skew, flattened)
            return register.warp(upright, homography, p.template, p.dpi)
        upright, how = orient.orient(page.image, reference_image(p.template, p.dpi))
        reg = register.register(upright, p.template, p.dpi)
        if reg.homography is None:
            raise NotFoundError(f"the page could not be registered to its form again: {reg.reason}")
        with self._lock:
            self.registrations += 1
            self._transforms[page_id] = (how.rotation, how.skew_deg, how.perspective, reg.homography)
            while len(self._transforms) > MAX_TRANSFORMS:
                self._transforms.popitem(last=False)
        return register.warp(upright, reg.homography, p.template, p.dpi)

    def page_source(self, page_id: int) -> tuple[int, str, str, dict | None]:
        """(page number, blob sha256, template ref, stored registration) of a page that has a sheet."""
        with self.store.session(write=False) as s:
            page = repo.get_page(s, page_id)
            sheet = s.scalars(repo.select(repo.Sheet).where(repo.Sheet.page_id == page_id)).first()
            if sheet is None:
                raise NotFoundError(f"page {page_id} has no sheet")
            return page.page_no, page.file.sha256, sheet.template.ref, page.registration

    def prefetch(self, page_ids) -> None:
        """Register these pages in the background (those not registered yet), so their snippets
        are quick when asked for. Returns at once; failures are logged by page id and forgotten
        (the snippet request then reports them)."""
        with self._lock:
            todo = [p for p in dict.fromkeys(page_ids) if p not in self._transforms and p not in self._prefetching]
            self._prefetching.update(todo)
        for page_id in todo:
            self._prefetcher.submit(self._warm, page_id)

    def _warm(self, page_id: int) -> None:
        try:
            with self._lock:
                if page_id in self._transforms:
                    return
            self.aligned(page_id, *self.page_source(page_id))
        except Exception as exc:  # a background warm-up never fails anything; the request will say why
            log.info("prefetch of page %s failed: %s", page_id, type(exc).__name__)
        finally:
            with self._lock:
                self._prefetching.discard(page_id)

    def wait_prefetched(self, timeout: float = 60.0) -> bool:
        """Wait until no prefetch is pending (tests, benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._prefetching:
                    return True
            time.sleep(0.02)
        return False

    def field_png(self, field_id: int) -> bytes:
        with self.store.session(write=False) as s:
            f = repo.get_field(s, field_id)
            sheet = repo.get_sheet(s, f.sheet_id)
            page = sheet.page
            box = [int(v) for v in (f.box_px or [])]
            page_id, page_no, sha, ref = page.id, page.page_no, page.file.sha256, sheet.template.ref
            stored = page.registration
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise NotFoundError(f"field {field_id} has no box on its page")
        image = self.aligned(page_id, page_no, sha, ref, stored)
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
        image = self.aligned(page_id, *self.page_source(page_id))
        if image.shape[1] > max_width:
            scale = max_width / image.shape[1]
            image = cv2.resize(image, (max_width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise InputFileError("could not encode the page")
        return png.tobytes()
