"""Drawing a template's blank form from the template itself.

A drawn blank (labels, dotted lines, comb boxes, checkboxes, registration marks, QR code)
round-trips: printing it and scanning it registers against the same template. A template
with a reference print (a PDF someone else made) renders that print instead.
"""

from __future__ import annotations

import functools
import io
import subprocess

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr_service.errors import TemplateError
from ocr_service.forms import qr
from ocr_service.forms.model import Template, box_to_px, mm_to_px

DEFAULT_FONT = {
    "regular": "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "bold": "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf",
    "italic": "/usr/share/fonts/truetype/noto/NotoSerif-Italic.ttf",
    "size_pt": 10,
}


@functools.lru_cache(maxsize=64)
def load_font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size_px)
    except OSError as exc:
        raise TemplateError(f"font {path} cannot be loaded ({exc}); run scripts/setup.sh") from exc


def pt_to_px(pt: float, dpi: float) -> int:
    return max(1, round(pt / 72 * dpi))


def render_blank(template: Template, dpi: int = 300, *, serial: str | None = None) -> np.ndarray:
    """The blank form as a 2-D uint8 grayscale image at ``dpi``.

    ``serial`` fills the QR code (templates that print one); without it the QR area stays white,
    which is what registration and form dropout compare against.
    """
    if template.reference_pdf is not None:
        return reference_print(template, dpi).copy()
    w, h = template.page_px(dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = {**DEFAULT_FONT, **template.font}

    for mark in template.registration.marks:
        x, y, bw, bh = box_to_px(mark, dpi)
        draw.rectangle([x, y, x + bw - 1, y + bh - 1], fill=0)
    if serial is not None and template.registration.qr_box_mm:
        qr.draw(img, qr.payload(template.name, template.version, serial), box_to_px(template.registration.qr_box_mm, dpi))

    for s in template.static:
        size = pt_to_px(s.size_pt or font["size_pt"], dpi)
        f = load_font(font[s.style], size)
        anchor = {"left": "lt", "center": "mt", "right": "rt"}[s.align]
        draw.text((mm_to_px(s.at_mm[0], dpi), mm_to_px(s.at_mm[1], dpi)), s.text, font=f, fill=0, anchor=anchor)

    for box, width_mm in template.rules:
        x, y, bw, bh = box_to_px(box, dpi)
        draw.rectangle([x, y, x + bw, y + bh], outline=0, width=max(1, round(mm_to_px(width_mm, dpi))))

    label_font = load_font(font["regular"], pt_to_px(font["size_pt"], dpi))
    for field in template.fields:
        x, y, bw, bh = box_to_px(field.box_mm, dpi)
        baseline = y + bh - round(mm_to_px(1.2, dpi))
        if field.label_at_mm is not None:
            draw.text((mm_to_px(field.label_at_mm[0], dpi), baseline), field.label, font=label_font,
                      fill=0, anchor="ls")
        if field.cells:
            _draw_comb(draw, field, dpi)
        elif field.kind == "choice":
            for opt in field.options:
                ox, oy, ow, oh = box_to_px(opt.box_mm, dpi)
                draw.rectangle([ox, oy, ox + ow, oy + oh], outline=0, width=max(1, dpi // 150))
                draw.text((ox + ow + mm_to_px(1.2, dpi), oy + oh), opt.label, font=label_font, fill=0, anchor="ls")
        elif field.draw == "dots":
            _draw_dots(draw, x, x + bw, baseline + max(2, dpi // 100), dpi)
        elif field.draw == "box":
            draw.rectangle([x, y, x + bw, y + bh], outline=0, width=max(1, dpi // 150))
    return np.asarray(img, dtype=np.uint8).copy()


def _draw_dots(draw: ImageDraw.ImageDraw, x0: int, x1: int, y: int, dpi: int) -> None:
    step = max(3, round(mm_to_px(1.0, dpi)))
    r = max(1, dpi // 200)
    for x in range(x0, x1, step):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=0)


def _draw_comb(draw: ImageDraw.ImageDraw, field, dpi: int) -> None:
    width = max(1, dpi // 150)
    for cell in field.cell_boxes_mm():
        x, y, bw, bh = box_to_px(cell, dpi)
        draw.rectangle([x, y, x + bw, y + bh], outline=0, width=width)


@functools.lru_cache(maxsize=8)
def reference_print(template: Template, dpi: int) -> np.ndarray:
    """The template's reference PDF page rasterized at ``dpi`` and resized to the template's page size."""
    pdf = template.reference_pdf
    if pdf is None:
        raise TemplateError("template has no reference print", file=str(template.source))
    try:
        out = subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-f", str(template.reference_page),
             "-l", str(template.reference_page), str(pdf)],
            check=True, capture_output=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise TemplateError(f"cannot rasterize the reference print: {exc}", file=str(pdf)) from exc
    page = np.asarray(Image.open(io.BytesIO(out)).convert("L"), dtype=np.uint8)
    w, h = template.page_px(dpi)
    if page.shape != (h, w):
        page = np.asarray(Image.fromarray(page).resize((w, h), Image.LANCZOS), dtype=np.uint8)
    page.setflags(write=False)
    return page


@functools.lru_cache(maxsize=8)
def reference_image(template: Template, dpi: int) -> np.ndarray:
    """The blank to compare scans against (QR area left white). Read-only, cached per dpi."""
    img = render_blank(template, dpi)
    img.setflags(write=False)
    return img


def save_image(img: np.ndarray, path, dpi: int) -> None:
    """Write a page as PNG, TIFF, JPEG or PDF (by the file's suffix) with its resolution recorded."""
    pil = Image.fromarray(img)
    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix == "pdf":
        pil.save(path, "PDF", resolution=float(dpi))
    elif suffix in ("jpg", "jpeg"):
        pil.save(path, quality=90, dpi=(dpi, dpi))
    else:
        pil.save(path, dpi=(dpi, dpi))
