"""`templates check`: per field, writing that runs out of its box, found through the pipeline's
registration and dropout."""

from __future__ import annotations

import json

from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ocr_service.cli import app
from ocr_service.forms import loader, render
from ocr_service.forms.model import mm_to_px
from ocr_service.pipeline import template_check

runner = CliRunner()


def test_check_finds_a_planted_overrunning_field(tmp_path):
    t = loader.load("dc01")
    img = Image.fromarray(render.render_blank(t, 300, serial="123456789"))
    draw = ImageDraw.Draw(img)
    font = render.load_font("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", 50)
    for name, text in (("relation_to_head", "Con trai trưởng của chủ hộ gia đình"), ("full_name", "Nguyễn Văn An")):
        x, y, w, h = t.field(name).box_mm
        draw.text((mm_to_px(x + 2, 300), mm_to_px(y + h - 1.5, 300)), text, font=font, fill=20, anchor="ls")
    img.save(tmp_path / "planted.png", dpi=(300, 300))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    report = template_check.check(t, [tmp_path / "planted.png", tmp_path / "broken.png"])
    assert report.pages == 1 and len(report.unreadable) == 1 and "broken.png" in report.unreadable[0]
    assert [f.name for f in report.flagged()] == ["relation_to_head"]
    assert report.fields["relation_to_head"].sides["right"] == 1
    assert report.fields["full_name"].cut == report.fields["full_name"].overrun == 0
    res = runner.invoke(app, ["templates", "check", "dc01", "--against", str(tmp_path / "planted.png"), "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["flagged"] == ["relation_to_head"]

