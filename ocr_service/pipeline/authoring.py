"""`templates author`: read a printed blank (a PDF page, or a scan or photo of one) and write a
template for it like a known one; and re-check an edited template against its blank.

The blank's words come from the PDF's text layer when it has one, else from Tesseract (page word
boxes). Matching and placement are plain functions in :mod:`ocr_service.forms.author`; this module
reads files, runs the OCR and writes the results.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from ocr_service.engines.tesseract import page_words
from ocr_service.errors import TemplateError
from ocr_service.forms import author, loader
from ocr_service.forms.model import Box, Template
from ocr_service.forms.render import reference_print, save_image
from ocr_service.forms.render import reference_image
from ocr_service.pipeline import orient
from ocr_service.pipeline.dropout import normalize_light
from ocr_service.pipeline.ingest import load_page

DPI = 300
INK_LEVEL = 160  # a pixel of the (light-normalized) blank darker than this is print


@dataclass
class Authored:
    """The result of authoring: the template file written, its placements, the overlay image."""

    template_path: Path
    overlay_path: Path
    placements: list[author.Placement]
    text_source: str  # 'text layer' or 'ocr'

    @property
    def doubtful(self) -> list[author.Placement]:
        return [p for p in self.placements if p.doubtful]


OCR_SCALES = (0.5, 1.0)  # read at 150 dpi first (faster, and dotted lines disturb it less), then at 300


def ocr_words(gray: np.ndarray, px_per_mm: float, tessdata: str | None = None, scale: float = 1.0) -> list[author.Word]:
    """The printed words of a page image by Tesseract, in millimetres (every word, however unsure:
    labels are matched fuzzily)."""
    return [author.Word(text, tuple(v / px_per_mm for v in box))  # type: ignore[arg-type]
            for text, box, _ in page_words(gray, tessdata, min_conf=0.0, scale=scale)]


def _best_ocr(gray: np.ndarray, px_per_mm: float, tessdata: str | None,
              labels: list[tuple[str, str]] | None) -> list[author.Word]:
    """The OCR pass that finds the most of ``labels`` (stopping at the first that finds all)."""
    best: tuple[int, list[author.Word]] | None = None
    for scale in OCR_SCALES:
        words = ocr_words(gray, px_per_mm, tessdata, scale)
        if not labels:
            return words
        found = len(author.match_labels(labels, author.reading_order(words)))
        if best is None or found > best[0]:
            best = (found, words)
        if found == len(labels):
            break
    assert best is not None
    return best[1]


def _ink(gray: np.ndarray, px_per_mm: float, scanned: bool) -> author.Ink:
    img = normalize_light(gray) if scanned else gray
    return author.Ink(img < INK_LEVEL, px_per_mm)


def read_blank(path: str | Path, page: int = 1, size_mm: tuple[float, float] | None = None,
               tessdata: str | None = None, upright_like: Template | None = None,
               labels: list[tuple[str, str]] | None = None) -> tuple[author.Blank, np.ndarray, str]:
    """A blank's words, ink and page size, its 300-dpi grayscale raster, and where its words came
    from ('text layer' or 'ocr'). ``size_mm``: the paper size of an image without a resolution
    (default A4). A scan or photo (no text layer) is first turned upright and deskewed by the
    pipeline's orient stage, compared with ``upright_like``'s blank; of its OCR passes the one that
    finds the most of ``labels`` (field name, label) is kept."""
    path = Path(path)
    pg = load_page(path, page, pdf_dpi=DPI)
    gray = pg.image
    words: list[author.Word] = []
    is_pdf = path.read_bytes()[:4] == b"%PDF"
    if is_pdf:
        words, size = author.text_layer(path, page)
        width_mm, height_mm = size
    else:
        if pg.dpi:
            width_mm, height_mm = gray.shape[1] / pg.dpi * 25.4, gray.shape[0] / pg.dpi * 25.4
        else:
            width_mm, height_mm = size_mm or (210.0, 297.0)
    px_per_mm = gray.shape[1] / width_mm
    if px_per_mm < 200 / 25.4 * 0.99 or px_per_mm > 320 / 25.4:
        scale = DPI / 25.4 / px_per_mm
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        px_per_mm = gray.shape[1] / width_mm
    source = "text layer"
    real_words = [w for w in words if any(c.isalpha() for c in w.text)]
    if len(real_words) < 10:
        if upright_like is not None:
            gray, _ = orient.orient(gray, reference_image(upright_like, DPI))
        words, source = _best_ocr(gray, px_per_mm, tessdata, labels), "ocr"
    ink = _ink(gray, px_per_mm, scanned=source == "ocr")
    words = author.split_glued_leaders(words, ink)  # a text layer or OCR may glue a label to its dots
    blank = author.Blank(author.reading_order(words), ink, width_mm, height_mm, str(path), from_ocr=source == "ocr")
    return blank, gray, source


def like_labels(like: Template, tessdata: str | None = None) -> dict[str, Box | None]:
    """Where the like template's own print shows each field's label (see ``author.like_label_boxes``)."""
    if like.reference_pdf is None:
        return author.like_label_boxes(like, None)
    words, _ = author.text_layer(like.reference_pdf, like.reference_page)
    if any(author._GLUED.match(w.text) for w in words):
        ref = reference_print(like, DPI)
        words = author.split_glued_leaders(words, _ink(ref, ref.shape[1] / like.width_mm, scanned=False))
    if len([w for w in words if any(c.isalpha() for c in w.text)]) < 10:
        ref = reference_print(like, DPI)
        words = _best_ocr(ref, ref.shape[1] / like.width_mm, tessdata,
                          [(f.name, f.label) for f in like.single_fields if not author.CONTINUATION.search(f.label)])
    return author.like_label_boxes(like, words)


def _raw(template: Template) -> dict:
    return yaml.safe_load(Path(template.source).read_text(encoding="utf-8"))


def author_template(blank_path: str | Path, like: Template, out: str | Path, *, version: str | None = None,
                    page: int = 1, overlay_path: str | Path | None = None,
                    tessdata: str | None = None) -> Authored:
    """Author a template for the blank like ``like``; write it (with the blank beside it as its
    reference print, and an overlay PNG) and load it back through the loader (schema and all).
    Raises AuthorError naming a field that cannot be placed, TemplateError for a bad file."""
    out = Path(out)
    labels = like_labels(like, tessdata)
    printed = [(f.name, f.label) for f in like.single_fields if labels.get(f.name) is not None]
    blank, gray, source = read_blank(blank_path, page, (like.width_mm, like.height_mm), tessdata, like, printed)
    placements = author.author_fields(like, labels, blank)
    out.parent.mkdir(parents=True, exist_ok=True)
    ref_name = _copy_reference(Path(blank_path), out, page, gray)
    ver = version or _version_from(out)
    data = author.to_template_data(_raw(like), placements, version=ver, reference_pdf=ref_name,
                                   page=(blank.width_mm, blank.height_mm))
    out.write_text(author.dump_yaml(data, placements), encoding="utf-8")
    loader.load_file(out)  # the schema and the loader's own checks, on what was written
    ov = Path(overlay_path) if overlay_path else out.with_suffix(".overlay.png")
    save_image(author.overlay(gray, gray.shape[1] / blank.width_mm, placements), ov, DPI)
    return Authored(out, ov, placements, source)


def _version_from(out: Path) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", out.stem).strip("-.") or "authored"


def _copy_reference(blank: Path, out: Path, page: int, gray: np.ndarray) -> str:
    """The blank as a one-page reference print beside the template; returns its file name."""
    if blank.read_bytes()[:4] == b"%PDF" and page == 1:
        target = out.with_suffix(".pdf") if blank.resolve().parent != out.resolve().parent else blank
        if target != blank:
            shutil.copyfile(blank, target)
        return target.name
    target = out.with_suffix(".blank.pdf")
    save_image(gray, target, DPI)
    return target.name


@dataclass(frozen=True)
class RecheckRow:
    """One field of an edited template checked against its blank."""

    name: str
    offset_mm: float | None  # largest edge offset from where authoring places it (None: not placeable)
    printed_share: float  # share of the box (bottom 1 mm left out) covered by print: labels in the box
    problems: tuple[str, ...]


def recheck(template_path: str | Path, blank_path: str | Path | None = None, *, tolerance_mm: float = 1.5,
            tessdata: str | None = None, overlay_path: str | Path | None = None) -> list[RecheckRow]:
    """Re-check an (edited) template against its blank: each field's box is compared with where
    authoring places it from the print (its labels), and checked for print inside it. The blank
    is the template's reference print unless ``blank_path`` is given."""
    t = loader.load_file(Path(template_path))
    blank_file = Path(blank_path) if blank_path else t.reference_pdf
    if blank_file is None:
        raise TemplateError("a drawn template has no print to re-check against: pass the blank", file=str(template_path))
    labels = like_labels(t, tessdata)
    blank, gray, _ = read_blank(blank_file, t.reference_page if not blank_path else 1, (t.width_mm, t.height_mm),
                                tessdata, t, [(f.name, f.label) for f in t.fields if labels.get(f.name) is not None])
    try:
        placements = {p.name: p for p in author.author_fields(t, labels, blank)}
        missing: dict[str, str] = {}
    except author.AuthorError as exc:
        placements, missing = {}, {exc.field or "": exc.reason}
    rows = []
    ink = blank.ink
    for f in t.fields:
        problems = []
        p = placements.get(f.name)
        offset = None
        if p is not None and p.box_mm is not None:
            offset = author.compare(t, {f.name: p.box_mm})[0][-1]
            if offset > tolerance_mm:
                problems.append(f"{offset:.1f} mm from where its label puts it ({p.method})")
        elif f.name in missing:
            problems.append(missing[f.name])
        x, y, w, h = f.box_mm
        region, _, _ = ink.region(x + 0.5, y + 0.5, x + w - 0.5, y + h - 1.0)
        share = float(region.mean()) if region.size else 0.0
        if f.kind not in ("signature", "choice") and not f.cells and share > 0.03 and (p is None or p.method != "label_offset"):
            problems.append(f"{share:.0%} of the box is printed (a label or text inside it)")
        rows.append(RecheckRow(f.name, offset, share, tuple(problems)))
    if overlay_path:
        shown = [author.Placement(f.name, f.box_mm, "template", 0.0 if r.problems else 1.0, cells=f.cells)
                 for f, r in zip(t.fields, rows)]
        save_image(author.overlay(gray, gray.shape[1] / blank.width_mm, shown), overlay_path, DPI)
    return rows
