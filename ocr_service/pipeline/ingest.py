"""Ingest: turn an input file (PDF, TIFF, JPEG, PNG) into pages of grayscale pixels.

Limits protect the workers: a file larger than ``max_bytes`` or a page with more than
``max_pixels`` pixels (a decompression bomb) is refused before it is decoded.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageOps

from ocr_service.errors import InputFileError

MAX_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 60_000_000  # A3 at 600 dpi is ~35 Mpx; anything bigger is not a scan we can use
PDF_DPI = 300
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


@dataclass(frozen=True)
class Page:
    """One page of an input file, as 2-D uint8 grayscale pixels."""

    image: np.ndarray
    source: str
    page_no: int  # 1-based
    sha256: str  # of the decoded pixels, so a re-scan wrapped differently still matches
    dpi: float | None


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read, in order: each named file, and each supported file (image or PDF) directly
    inside a named folder, sorted by name. A named file is kept whatever its suffix, so that it
    gets its own error when it cannot be read."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | {".pdf"}))
        else:
            out.append(p)
    return out


def page_hash(image: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{image.shape}".encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()


def load_pages(path: str | Path, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
               pdf_dpi: int = PDF_DPI) -> Iterator[Page]:
    """Yield the pages of ``path`` in order.

    Raises :class:`InputFileError` naming the file (and page) and the reason for empty,
    truncated, corrupt, encrypted, unsupported or oversized input. Pages already yielded
    stay valid when a later page fails.
    """
    path = Path(path)
    head = _checked_head(path, max_bytes)
    if head.startswith(b"%PDF"):
        yield from _pdf_pages(path, max_pixels, pdf_dpi)
    else:
        yield from _image_pages(path, max_pixels)


def load_page(path: str | Path, page_no: int, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
              pdf_dpi: int = PDF_DPI) -> Page:
    """Only page ``page_no`` (1-based) of ``path``, the same pixels and hash :func:`load_pages`
    gives for it: a PDF page is rasterized alone (``pdftoppm -f N -l N``), a TIFF is seeked to that
    frame. Raises :class:`InputFileError` naming the file and page for a page that does not exist
    or cannot be read, with the same checks and limits as :func:`load_pages`."""
    path = Path(path)
    src = str(path)
    head = _checked_head(path, max_bytes)
    if page_no < 1:
        raise InputFileError(f"there is no page {page_no} (pages are numbered from 1)", file=src, page=page_no)
    if head.startswith(b"%PDF"):
        info, n_pages, size = _pdf_layout(path)
        if page_no > n_pages:
            raise InputFileError(f"the PDF has {n_pages} page{'s' if n_pages != 1 else ''}", file=src, page=page_no)
        return _pdf_page(path, page_no, size, max_pixels, pdf_dpi)
    with _open_image(path, max_pixels) as img:
        try:
            n = getattr(img, "n_frames", 1)
        except (OSError, SyntaxError, ValueError, TypeError):  # a damaged multi-frame file
            n = _readable_frames(img)
            if page_no > n:
                raise InputFileError("file is truncated or corrupt before this page", file=src,
                                     page=page_no) from None
        if page_no > n:
            raise InputFileError(f"the file has {n} page{'s' if n != 1 else ''}", file=src, page=page_no)
        return _frame(img, src, page_no, n, max_pixels)


def _checked_head(path: Path, max_bytes: int) -> bytes:
    src = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", file=src) from exc
    if size == 0:
        raise InputFileError("empty file (0 bytes)", file=src)
    if size > max_bytes:
        raise InputFileError(f"file is {_bytes(size)}, over the {_bytes(max_bytes)} limit", file=src)
    with path.open("rb") as fh:
        return fh.read(8)


_PIL_LIMIT = threading.Lock()  # Image.MAX_IMAGE_PIXELS is PIL's global


def _open_image(path: Path, max_pixels: int) -> Image.Image:
    """The file opened (its header read, nothing decoded). PIL's own limit refuses an image over twice
    ``Image.MAX_IMAGE_PIXELS`` at open; it is raised to ``max_pixels`` here where that is higher, so
    ``max_pixels`` is the limit that holds, and the frames are checked against it before decoding."""
    src = str(path)
    try:
        with _PIL_LIMIT:
            saved = Image.MAX_IMAGE_PIXELS
            if saved is not None:
                Image.MAX_IMAGE_PIXELS = max(saved, max_pixels // 2 + 1)
            try:
                return Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except Image.DecompressionBombError as exc:
        m = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(m.group(1)) / 1e6:.0f} million pixels" if m else "too many pixels"
        raise InputFileError(f"image has {size}, over the {max_pixels / 1e6:.0f} million-pixel limit "
                             "(possible decompression bomb)", file=src) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(f"not a readable image or PDF ({_short(exc)})", file=src) from exc


def _frame(img: Image.Image, src: str, page_no: int, n: int, max_pixels: int) -> Page:
    """Frame ``page_no`` of an open image of ``n`` frames, as a Page."""
    try:
        img.seek(page_no - 1)
        w, h = img.size
        if w * h > max_pixels:
            raise InputFileError(
                f"{w}×{h} pixels = {w * h / 1e6:.0f} million, over the {max_pixels / 1e6:.0f} million-pixel limit "
                "(possible decompression bomb)", file=src, page=page_no)
        frame = ImageOps.exif_transpose(img) if n == 1 else img
        gray = np.asarray(frame.convert("L"), dtype=np.uint8)
    except InputFileError:
        raise
    except (EOFError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputFileError(f"image data is truncated or corrupt ({_short(exc)})",
                             file=src, page=page_no) from exc
    dpi = img.info.get("dpi", (None,))[0]
    return Page(gray, src, page_no, page_hash(gray), float(dpi) if dpi else None)


def _image_pages(path: Path, max_pixels: int) -> Iterator[Page]:
    src = str(path)
    with _open_image(path, max_pixels) as img:
        try:
            n = getattr(img, "n_frames", 1)
        except (OSError, SyntaxError, ValueError, TypeError) as exc:  # Pillow walks every frame header
            n = _readable_frames(img)
            if n == 0:
                raise InputFileError(f"image data is truncated or corrupt ({_short(exc)})", file=src) from exc
            truncated_after = n
        else:
            truncated_after = None
        for i in range(n):
            yield _frame(img, src, i + 1, n, max_pixels)
        if truncated_after is not None:
            raise InputFileError("file is truncated or corrupt after this page", file=src, page=truncated_after + 1)


def _readable_frames(img: Image.Image) -> int:
    """How many frames of a damaged multi-frame image can be reached."""
    n = 0
    while True:
        try:
            img.seek(n)
            img.size  # noqa: B018 - touching the frame header
        except (EOFError, OSError, SyntaxError, ValueError, TypeError):
            return n
        n += 1


def _pdfinfo(path: Path) -> dict[str, str]:
    try:
        res = subprocess.run(["pdfinfo", str(path)], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputFileError(f"cannot inspect the PDF ({exc}); is poppler-utils installed?", file=str(path)) from exc
    err = res.stderr.decode("utf-8", "replace")
    if res.returncode != 0:
        if "password" in err.lower() or "encrypt" in err.lower():
            raise InputFileError("PDF is password-protected; export it without a password", file=str(path))
        raise InputFileError(f"PDF is truncated or corrupt ({err.strip().splitlines()[-1] if err.strip() else 'pdfinfo failed'})",
                             file=str(path))
    info = {}
    for line in res.stdout.decode("utf-8", "replace").splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    return info


def _pdf_layout(path: Path) -> tuple[dict[str, str], int, tuple[float, float] | None]:
    """pdfinfo's answer, the page count (≥ 1) and the page size in points (None if not stated)."""
    src = str(path)
    info = _pdfinfo(path)
    if info.get("Encrypted", "no").startswith("yes") and "print:yes" not in info.get("Encrypted", ""):
        raise InputFileError("PDF is encrypted; export it without a password", file=src)
    try:
        n_pages = int(info.get("Pages", "0"))
    except ValueError:
        n_pages = 0
    if n_pages < 1:
        raise InputFileError("PDF has no pages", file=src)
    m = re.match(r"([\d.]+) x ([\d.]+) pts", info.get("Page size", ""))
    return info, n_pages, (float(m.group(1)), float(m.group(2))) if m else None


def _pdf_page(path: Path, page_no: int, size: tuple[float, float] | None, max_pixels: int, dpi: int) -> Page:
    """One PDF page rasterized alone (pdftoppm -f N -l N through pdf2image)."""
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

    src = str(path)
    if size:
        w_px, h_px = size[0] / 72 * dpi, size[1] / 72 * dpi
        if w_px * h_px > max_pixels:
            raise InputFileError(f"page is {w_px:.0f}×{h_px:.0f} pixels at {dpi} dpi, over the "
                                 f"{max_pixels / 1e6:.0f} million-pixel limit", file=src, page=page_no)
    try:
        images = convert_from_path(src, dpi=dpi, first_page=page_no, last_page=page_no,
                                   grayscale=True, timeout=120)
    except (PDFPageCountError, PDFSyntaxError, OSError, ValueError) as exc:
        raise InputFileError(f"PDF page cannot be rendered ({_short(exc)})", file=src, page=page_no) from exc
    except Exception as exc:  # pdf2image raises bare Exceptions on poppler timeouts
        raise InputFileError(f"PDF page cannot be rendered ({_short(exc)})", file=src, page=page_no) from exc
    if not images:
        raise InputFileError("PDF page rendered to nothing", file=src, page=page_no)
    gray = np.asarray(images[0].convert("L"), dtype=np.uint8)
    return Page(gray, src, page_no, page_hash(gray), float(dpi))


def _pdf_pages(path: Path, max_pixels: int, dpi: int) -> Iterator[Page]:
    _info, n_pages, size = _pdf_layout(path)
    for page_no in range(1, n_pages + 1):
        yield _pdf_page(path, page_no, size, max_pixels, dpi)


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__
