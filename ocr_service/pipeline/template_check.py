"""`templates check`: do a template's boxes hold what people really write?

Each scan goes through the pipeline's own stages (orient, register, warp, dropout,
``extract_fields``); on the dropped-out page (only the ink people added), every mark of writing
size near a field's crop is looked at: a mark the crop's edge cuts (part inside, part outside) or
a mark just outside the crop, on its line and in no other field, is writing the box misses. Per
field, the report says on how many pages that happened and on which side, so a clerk nudges the
template before a thousand sheets go through it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from ocr_service.errors import InputFileError
from ocr_service.forms.model import Template, box_to_px, mm_to_px
from ocr_service.forms.render import reference_image
from ocr_service.pipeline import dropout, orient, register
from ocr_service.pipeline.ingest import MAX_BYTES, MAX_PIXELS, load_pages

NEAR_MM = 6.0  # writing this close to a box's end, on its line, is writing that ran over
MIN_MARK_MM = dropout.MIN_MARK_MM
FLAG_SHARE = 0.10  # a field whose box misses writing on this share of pages needs a nudge


@dataclass
class FieldCheck:
    """What one field's box missed, over the pages checked."""

    name: str
    pages: int = 0
    cut: int = 0  # pages where the crop's edge cuts a mark of writing
    overrun: int = 0  # pages with writing just outside the crop, on its line
    sides: Counter = field(default_factory=Counter)
    outside_share: float = 0.0  # the largest share of a page's field ink that lay outside the crop

    def rate(self) -> float:
        """The share of pages on which the box cut or missed writing."""
        return max(self.cut, self.overrun) / self.pages if self.pages else 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "pages": self.pages, "cut": self.cut, "overrun": self.overrun,
                "sides": dict(self.sides), "outside_share": round(self.outside_share, 3)}


@dataclass
class CheckReport:
    template: str
    pages: int = 0
    fields: dict[str, FieldCheck] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # "file page N: reason" for pages not registered

    def flagged(self, share: float = FLAG_SHARE) -> list[FieldCheck]:
        """The fields whose box missed writing on at least ``share`` of the pages, worst first."""
        rows = [f for f in self.fields.values() if f.pages and f.rate() >= share and (f.cut or f.overrun)]
        return sorted(rows, key=lambda f: -f.rate())

    def to_json(self) -> dict:
        return {"template": self.template, "pages": self.pages, "unreadable": self.unreadable,
                "fields": [f.to_json() for f in self.fields.values()],
                "flagged": [f.name for f in self.flagged()]}


def page_marks(ink_page: np.ndarray, crops: list[dropout.FieldCrop], dpi: int,
               qr_box_px: tuple[int, int, int, int] | None = None) -> dict[str, dict]:
    """For each field crop of one registered, dropped-out page: the writing marks its edges cut
    (with the sides) and the marks just outside it on its line. Plain data per field name:
    ``{"cut": [sides], "overrun": [sides], "outside_share": float}``."""
    mask = (ink_page < dropout.INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_px = mm_to_px(MIN_MARK_MM, dpi)
    near = int(round(mm_to_px(NEAR_MM, dpi)))
    rects = {c.name: c.box_px for c in crops}
    if qr_box_px is not None:
        rects["(qr code)"] = qr_box_px  # printed on the sheet, not on the blank: not writing
    h, w = mask.shape
    out: dict[str, dict] = {}
    for c in crops:
        if c.kind == "choice":
            continue
        x, y, bw, bh = c.box_px
        res = {"cut": [], "overrun": [], "outside_share": 0.0}
        x0, y0 = max(0, x - near), max(0, y - near // 3)
        x1, y1 = min(w, x + bw + near), min(h, y + bh + near // 3)
        window = labels[y0:y1, x0:x1]
        ids = [i for i in np.unique(window) if i and max(stats[i, 2], stats[i, 3]) >= min_px]
        inside_px = outside_px = 0
        overrun: list[tuple[list[str], int]] = []
        for i in ids:
            cx0, cy0, cw, ch = stats[i, :4]
            comp = labels[cy0:cy0 + ch, cx0:cx0 + cw] == i
            total = int(comp.sum())
            ix0, iy0 = max(cx0, x), max(cy0, y)
            ix1, iy1 = min(cx0 + cw, x + bw), min(cy0 + ch, y + bh)
            inside = int(comp[iy0 - cy0:iy1 - cy0, ix0 - cx0:ix1 - cx0].sum()) if ix1 > ix0 and iy1 > iy0 else 0
            owner = _owner(comp, cx0, cy0, rects, c.name)
            if owner is not None and owner != c.name:
                continue  # most of it is another field's writing
            if inside == total:
                inside_px += total
                continue
            sides = _sides(cx0, cy0, cw, ch, x, y, bw, bh)
            if inside:
                res["cut"].extend(sides)
                inside_px += inside
                outside_px += total - inside
            elif owner is None and cy0 < y + bh and cy0 + ch > y and sides and set(sides) <= {"left", "right"} \
                    and _nearest(cx0, cw, cy0, ch, rects) == c.name:
                overrun.append((sides, total))  # beside the box, on its line, in no field
        if inside_px:  # writing runs over only from a box that holds writing
            for sides, total in overrun:
                res["overrun"].extend(sides)
                outside_px += total
        res["outside_share"] = outside_px / (inside_px + outside_px) if inside_px + outside_px else 0.0
        out[c.name] = res
    return out


def _owner(comp: np.ndarray, cx0: int, cy0: int, rects: dict, me: str) -> str | None:
    """The field whose crop holds most of a mark (None: no field's)."""
    best, best_n = None, 0
    ch, cw = comp.shape
    for name, (x, y, bw, bh) in rects.items():
        ix0, iy0 = max(cx0, x), max(cy0, y)
        ix1, iy1 = min(cx0 + cw, x + bw), min(cy0 + ch, y + bh)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        k = int(comp[iy0 - cy0:iy1 - cy0, ix0 - cx0:ix1 - cx0].sum())
        if k > best_n or (k == best_n and name == me):
            best, best_n = name, k
    return best if best_n * 2 >= comp.sum() or best == me else None


def _nearest(cx0: int, cw: int, cy0: int, ch: int, rects: dict) -> str | None:
    """The crop on the mark's line whose end is horizontally nearest to it."""
    best, best_d = None, None
    for name, (x, y, bw, bh) in rects.items():
        if cy0 >= y + bh or cy0 + ch <= y:
            continue
        d = max(x - (cx0 + cw), cx0 - (x + bw), 0)
        if best_d is None or d < best_d:
            best, best_d = name, d
    return best


def _sides(cx0, cy0, cw, ch, x, y, bw, bh) -> list[str]:
    s = []
    if cx0 < x:
        s.append("left")
    if cx0 + cw > x + bw:
        s.append("right")
    if cy0 < y:
        s.append("top")
    if cy0 + ch > y + bh:
        s.append("bottom")
    return s


def check(template: Template, paths: Iterable[str | Path], *, dpi: int = register.WORK_DPI,
          on_file: Callable[[Path], None] | None = None, max_bytes: int = MAX_BYTES,
          max_pixels: int = MAX_PIXELS) -> CheckReport:
    """Check ``template``'s boxes on filled scans: every page is registered and dropped out by the
    pipeline's stages; pages that do not register are listed with the reason, not counted."""
    report = CheckReport(template.id, fields={f.name: FieldCheck(f.name) for f in template.fields
                                              if f.kind != "choice"})
    for path in map(Path, paths):
        try:
            for page in load_pages(path, max_bytes=max_bytes, max_pixels=max_pixels):
                upright, _ = orient.orient(page.image, reference_image(template, dpi))
                reg = register.register(upright, template, dpi)
                if not reg.ok:
                    report.unreadable.append(f"{path}: page {page.page_no}: {reg.reason}")
                    continue
                aligned = register.warp(upright, reg.homography, template, dpi)
                ink = dropout.drop_out(aligned, template, dpi)
                qr = box_to_px(template.registration.qr_box_mm, dpi) if template.registration.qr_box_mm else None
                marks = page_marks(ink, dropout.extract_fields(ink, template, dpi), dpi, qr)
                report.pages += 1
                for name, res in marks.items():
                    fc = report.fields[name]
                    fc.pages += 1
                    fc.cut += bool(res["cut"])
                    fc.overrun += bool(res["overrun"])
                    fc.sides.update(set(res["cut"]) | set(res["overrun"]))
                    fc.outside_share = max(fc.outside_share, res["outside_share"])
        except InputFileError as exc:
            report.unreadable.append(exc.message)
        if on_file:
            on_file(path)
    return report


def format_table(report: CheckReport) -> str:
    """The report as a plain table: one row per field whose box missed writing on some page."""
    lines = [f"{report.template}: {report.pages} pages",
             f"  {'field':28} {'cut':>5} {'over':>5} {'of':>4}  sides"]
    rows = [f for f in report.fields.values() if f.cut or f.overrun]
    for f in sorted(rows, key=lambda f: -f.rate()):
        mark = "  <- nudge" if f in report.flagged() else ""
        lines.append(f"  {f.name:28} {f.cut:5d} {f.overrun:5d} {f.pages:4d}  "
                     f"{', '.join(f'{k} {v}' for k, v in f.sides.most_common())}{mark}")
    if not rows:
        lines.append("  every box held its writing")
    return "\n".join(lines)
