"""The sheet QR code: what it says (template name, version, sheet serial), drawing it, reading it."""

from __future__ import annotations

import io

import cv2
import numpy as np
import segno
from PIL import Image

SEPARATOR = "|"


def payload(name: str, version: str, serial: str) -> str:
    """The text of a sheet's QR code."""
    return SEPARATOR.join([name, version, serial])


def parse(text: str | None) -> tuple[str, str, str] | None:
    """(template name, version, serial) from a QR code's text, or None if it is not ours."""
    parts = (text or "").split(SEPARATOR)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def draw(img: Image.Image, text: str, box_px: tuple[int, int, int, int]) -> None:
    """Paste a QR code of ``text`` into ``img`` at the top left of ``box_px``, as large as fits."""
    x, y, bw, bh = box_px
    code = segno.make(text, error="m", micro=False)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=1, border=1)
    buf.seek(0)
    side = min(bw, bh)
    img.paste(Image.open(buf).convert("L").resize((side, side), Image.NEAREST), (x, y))


def decode(image: np.ndarray) -> str | None:
    """The text of a QR code in a grayscale image, or None when none can be decoded."""
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return text or None
