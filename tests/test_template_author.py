"""`templates author` on the real CC01 print (its text layer), the template file it writes, its re-check.

The CC01 test is the proof on a real print: authored afresh from the official blank, every field
of the hand-made template is placed, each box within 1.5 mm of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from ocr_service.cli import app
from ocr_service.forms import author, loader, render
from ocr_service.forms.model import mm_to_px
from ocr_service.pipeline import authoring

runner = CliRunner()
CC01_BLANK = Path(loader.load("cc01").reference_pdf)
TOLERANCE_MM = 1.5


@pytest.fixture(scope="module")
def cc01_authored(tmp_path_factory):
    out = tmp_path_factory.mktemp("author") / "cc01-fresh.yaml"
    done = authoring.author_template(CC01_BLANK, loader.load("cc01"), out)
    return done, loader.load_file(done.template_path)


def test_cc01_every_field_placed_within_1_5_mm(cc01_authored):
    done, new = cc01_authored
    hand = loader.load("cc01")
    assert done.text_source == "text layer"
    assert [f.name for f in new.fields] == [f.name for f in hand.fields]
    rows = author.compare(hand, {f.name: f.box_mm for f in new.fields})
    assert len(rows) == len(hand.fields)
    worst = {name: d for name, *_, d in rows if d > TOLERANCE_MM}
    assert not worst, f"boxes off by more than {TOLERANCE_MM} mm: {worst}"
    for f in hand.fields:
        if f.cells:
            assert new.field(f.name).cells == f.cells, f.name
    # what is not only a box is kept: kinds, validators, exports, checks
    assert new.field("id_number").validators == hand.field("id_number").validators
    assert new.checks == hand.checks
    assert new.registration.method == "features" and new.reference_pdf.exists()


def test_cc01_methods_and_confidence(cc01_authored):
    done, _ = cc01_authored
    by = {p.name: p for p in done.placements}
    assert all(0 < p.confidence <= 1 for p in done.placements)
    assert by["full_name"].method == "dots" and by["id_number"].method == "comb"
    assert by["permanent_address_2"].method == "line_below"
    assert by["sig_declarant"].method == "caption"
    # the fields placed from the like template's geometry instead of the print are listed as doubtful
    assert by["sig_declarant_name"].doubtful and by["declared_on"].doubtful
    assert not by["full_name"].doubtful


def test_overlay_png_shows_every_box(cc01_authored):
    done, new = cc01_authored
    img = np.asarray(Image.open(done.overlay_path).convert("RGB"))
    assert abs(img.shape[0] - 3508) <= 2 and abs(img.shape[1] - 2480) <= 2  # the blank at 300 dpi
    green = (img[..., 1] > 140) & (img[..., 0] < 60) & (img[..., 2] < 100)
    for name in ("full_name", "phone", "head_id"):
        x, y, w, h = (round(mm_to_px(v, 300)) for v in new.field(name).box_mm)
        assert green[y - 3:y + 4, x:x + w].any(), f"{name}: no outline drawn"


def test_label_matching_survives_numbering_accents_and_line_breaks():
    words = [author.Word(t, (10 + 12 * i, 20, 10, 5)) for i, t in enumerate(["7.", "Ho,", "chu", "dem"])]
    words += [author.Word(t, (10 + 12 * i, 30, 10, 5)) for i, t in enumerate(["va", "ten:", "Quốc", "tịch:"])]
    words += [author.Word(t, (10 + 12 * i, 40, 10, 5)) for i, t in enumerate(["Quốc", "tịch:"])]
    got = author.match_labels([("name", "1. Họ, chữ đệm và tên:"), ("nat1", "Quốc tịch:"), ("nat2", "Quốc tịch:")],
                              author.reading_order(words))
    assert set(got) == {"name", "nat1", "nat2"}
    assert got["name"].first == 0 and got["name"].last == 5  # numbering and both lines
    assert got["nat1"].box_mm[1] == 30 and got["nat2"].box_mm[1] == 40  # repeated label: in reading order


def test_template_file_path_accepted_by_show_and_extract(cc01_authored, tmp_path):
    done, _ = cc01_authored
    res = runner.invoke(app, ["templates", "show", str(done.template_path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["version"] == "cc01-fresh"
    page = tmp_path / "blank.png"
    render.save_image(render.reference_print(loader.load_file(done.template_path), 300), page, 300)
    res = runner.invoke(app, ["extract", str(page), "--template", str(done.template_path), "--json",
                              "--engines", "fake", "--workers", "1", "--no-progress"])
    line = json.loads(res.stdout.splitlines()[0])
    assert line["template"] == "cc01@cc01-fresh" and line["status"] == "ok", line


def test_recheck_finds_the_nudged_box(cc01_authored, tmp_path):
    done, _ = cc01_authored
    edited = tmp_path / "edited.yaml"
    shutil.copy(done.template_path, edited)
    shutil.copy(done.template_path.with_suffix(".pdf"), tmp_path / done.template_path.with_suffix(".pdf").name)
    text = edited.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    box = next(f for f in data["fields"] if f["name"] == "nationality")["box_mm"]
    edited.write_text(text.replace(str(box), str([box[0] - 12, box[1], box[2], box[3]])), encoding="utf-8")
    res = runner.invoke(app, ["templates", "author", str(CC01_BLANK), "--recheck", str(edited)])
    assert res.exit_code == 1, res.output
    rows = {line.split()[0]: line for line in res.stdout.splitlines() if line.startswith("  ")}
    assert len(rows) == len(loader.load("cc01").fields)
    bad = {name: line for name, line in rows.items() if not line.rstrip().endswith(" ok")}
    assert list(bad) == ["nationality"], bad
    assert "mm from where its label puts it" in bad["nationality"]
    assert "printed" in bad["nationality"]  # the label "Quốc tịch:" is now inside the box
    assert float(bad["nationality"].split()[1]) > 10


