"""`templates author` on blanks without a text layer (rendered or scanned images: Tesseract reads
their labels): a blank missing a label, another DC01 layout, a scanned blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from ocr_service.forms import author, loader, render
from ocr_service.pipeline import authoring

TOLERANCE_MM = 1.5


def _dc01_without_label(tmp_path: Path, field: str) -> Path:
    """A DC01 blank printed without one field's label (a printer that left it out)."""
    data = yaml.safe_load(Path(loader.load("dc01").source).read_text(encoding="utf-8"))
    for f in data["fields"]:
        if f["name"] == field:
            del f["label_at_mm"]
    path = tmp_path / "dc01-nolabel.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    blank = tmp_path / "blank.png"
    render.save_image(render.render_blank(loader.load_file(path), 300), blank, 300)
    return blank


def test_missing_label_is_an_error_naming_the_field(tmp_path):
    blank = _dc01_without_label(tmp_path, "religion")
    with pytest.raises(author.AuthorError) as err:
        authoring.author_template(blank, loader.load("dc01"), tmp_path / "x.yaml")
    assert err.value.field == "religion"
    assert "10. Tôn giáo" in err.value.reason and str(blank) in err.value.message
    assert not (tmp_path / "x.yaml").exists()
    assert err.value.exit_code == 3  # what the CLI exits with (errors.EXIT_CODES)



def test_dc01_in_another_layout_is_authored_from_its_rendered_blank(tmp_path):
    """A blank with no text layer (Tesseract reads its labels), another font and pitch, writing lines
    under their labels and a label broken over two lines: every field found near its true box."""
    from ocr_service.synth import layouts

    dc01 = loader.load("dc01")
    data = yaml.safe_load(Path(dc01.source).read_text(encoding="utf-8"))
    path = tmp_path / "breaks.yaml"
    path.write_text(yaml.safe_dump(layouts.variant(data, layouts.LAYOUTS["breaks"]), allow_unicode=True), encoding="utf-8")
    true = loader.load_file(path)
    blank = tmp_path / "blank.png"
    render.save_image(render.render_blank(true, 300), blank, 300)
    done = authoring.author_template(blank, dc01, tmp_path / "out" / "breaks.yaml", version="breaks")
    assert done.text_source == "ocr"
    new = loader.load_file(done.template_path)
    rows = {name: d for name, *_, d in author.compare(true, {f.name: f.box_mm for f in new.fields})}
    assert len(rows) == len(dc01.fields)
    assert max(rows.values()) <= TOLERANCE_MM, {n: round(d, 2) for n, d in rows.items() if d > TOLERANCE_MM}
    by = {p.name: p for p in done.placements}
    assert by["permanent_address"].method == "line_below"  # dc01 has it after its label; this print under it
    assert by["legal_rep_name"].method == "dots"  # its label runs over two lines


def test_scanned_blank_is_deskewed_and_authored(tmp_path, dc01):
    """A scan of a blank (skewed 1.5°, noisy, unevenly lit, on the scanner bed): deskewed by the
    orient stage, read by Tesseract; its boxes keep DC01's layout (one common offset: the scan's
    frame is not the page's)."""
    from ocr_service.synth import scan

    img, _ = scan.simulate_scan(render.render_blank(dc01, 300), scan.ScanParams(
        skew_deg=1.5, noise_sigma=3.0, blur_sigma=0.6, light_strength=0.15), src_dpi=300)
    blank = tmp_path / "scanned.png"
    scan.write_png(img, blank, dpi=300)
    done = authoring.author_template(blank, dc01, tmp_path / "scanned.yaml")
    new = loader.load_file(done.template_path)
    offsets = np.array([r[1:5] for r in author.compare(dc01, {f.name: f.box_mm for f in new.fields})])
    spread = np.abs(offsets - np.median(offsets, axis=0)).max(axis=0)
    assert len(offsets) == len(dc01.fields) and spread.max() <= TOLERANCE_MM, spread
