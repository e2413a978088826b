"""A synthetic page of prose that is no form: for orientation and deskew tests and benchmarks.

Vietnamese and English paragraphs (made up, no real person) wrapped on an A4 page in a printed font.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr_service.synth import fonts

LETTER = (
    "Kính gửi Ủy ban nhân dân phường Minh Khai. Tôi viết thư này để đề nghị quý cơ quan xem xét việc "
    "cấp lại giấy xác nhận thông tin về cư trú cho gia đình tôi, vì bản cũ đã bị hư hỏng do mưa bão. "
    "Gia đình tôi gồm bốn người, hiện đang sinh sống tại tổ dân phố số mười bảy. Xin trân trọng cảm ơn. "
    "The quick brown fox jumps over the lazy dog while the committee reviews the householder's request "
    "for a duplicate certificate; all of the names and numbers in this letter are made up for testing."
)


def text_page(dpi: int = 150, text: str = LETTER, size_pt: float = 11, family: str = "Noto Serif") -> np.ndarray:
    """An upright A4 page (2-D uint8, white paper) of ``text`` repeated into wrapped lines, at ``dpi``."""
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(fonts.font_path(family)), int(size_pt / 72 * dpi))
    margin, y = int(0.9 * dpi), int(1.0 * dpi)
    line = ""
    for word in ((text + " ") * 3).split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= w - 2 * margin:
            line = trial
            continue
        draw.text((margin, y), line, font=font, fill=20)
        y += int(font.size * 1.5)
        line = word
        if y > h - 2 * margin:
            break
    return np.asarray(img)
