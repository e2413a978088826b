"""Form dropout and field extraction, comb cells, and the mark readers (checkboxes, signatures)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from conftest import CC01_RECORD, DC01_RECORD, printed_font
from ocr_service.engines import checkmarks
from ocr_service.forms import loader, render
from ocr_service.synth import fill
from ocr_service.forms.model import LINE_KINDS
from ocr_service.pipeline import dropout, orient, register
from ocr_service.pipeline.ingest import Page, page_hash
from ocr_service.engines.registry import Engines, RecognitionConfig
from ocr_service.pipeline.recognize import recognize_page, writing_box
from ocr_service.pipeline.build import OK, Pipeline

DPI = 300
CHOICE_YAML = Path(__file__).parent / "data" / "choice_form.yaml"


def crops_of(template, img: np.ndarray) -> dict[str, dropout.FieldCrop]:
    """orient → register → warp → drop out → field crops, as the pipeline does."""
    upright, _ = orient.orient(img, render.reference_image(template, DPI))
    reg = register.register(upright, template, DPI)
    assert reg.ok, reg.reason
    aligned = register.warp(upright, reg.homography, template, DPI)
    ink = dropout.drop_out(aligned, template, DPI)
    return {c.name: c for c in dropout.extract_fields(ink, template, DPI)}


def has_writing(crop: dropout.FieldCrop) -> bool:
    return writing_box(crop.image, DPI, crop.box_top) is not None


@pytest.fixture(scope="module")
def blank_crops(dc01, dc01_blank, scan_of):
    img, _ = scan_of(dc01_blank, rotation90=180, skew_deg=2.5, out_dpi=300, blur_sigma=0.6, noise_sigma=2.5,
                     jpeg_quality=85, light_strength=0.2)
    return crops_of(dc01, img)


@pytest.fixture(scope="module")
def filled_crops(dc01, dc01_filled, scan_of):
    img, _ = scan_of(dc01_filled, rotation90=90, skew_deg=-1.5, out_dpi=300, blur_sigma=0.6, noise_sigma=2.5)
    return crops_of(dc01, img)


# ------------------------------------------------------------------- dropout


def test_blank_scan_drops_out_to_nothing(dc01, blank_crops):
    assert set(blank_crops) == {f.name for f in dc01.fields}
    line_fields = [f for f in dc01.fields if f.kind in LINE_KINDS]
    assert len(line_fields) > 40
    with_ink = {f.name: writing_box(blank_crops[f.name].image, DPI, blank_crops[f.name].box_top)
                for f in line_fields if has_writing(blank_crops[f.name])}
    assert with_ink == {}
    for c in blank_crops.values():
        assert c.ink_ratio < 0.002, (c.name, c.ink_ratio)


def test_drop_out_removes_printed_form_keeps_added_ink(dc01, dc01_filled):
    blank_ink = dropout.drop_out(render.render_blank(dc01, DPI), dc01, DPI)
    assert (blank_ink < 160).mean() < 1e-4  # labels, dots, marks, borders all gone
    filled_ink = dropout.drop_out(dc01_filled.image, dc01, DPI)
    assert (filled_ink < 160).sum() > 20_000  # the writing (and the QR code, not in the blank) stays


def test_filled_scan_writing_exactly_where_filled(dc01, filled_crops):
    for f in dc01.fields:
        if f.kind not in LINE_KINDS:
            continue
        filled = bool(DC01_RECORD.get(f.name))
        assert has_writing(filled_crops[f.name]) == filled, f.name


def test_field_crop_geometry(dc01, filled_crops):
    c = filled_crops["full_name"]
    x, y, w, h = c.box_px
    assert c.image.shape == (h, w)
    assert c.box_top > 0 and c.kind == "name"
    bx = writing_box(c.image, DPI, c.box_top)
    assert bx is not None and bx[2] > 200  # a whole name, not a speck


def test_signatures_present_and_absent(filled_crops, blank_crops):
    for name in ("sig_police_chief", "sig_officer", "sig_declarant"):
        want = "1" if DC01_RECORD.get(name) else ""
        r = checkmarks.read_signature(filled_crops[name].ink_ratio)
        assert r.text == want, (name, filled_crops[name].ink_ratio)
        assert r.confidence >= 0.75 and r.engine == "marks"
        assert checkmarks.read_signature(blank_crops[name].ink_ratio).text == ""


# ------------------------------------------------------------------ comb cells


@pytest.fixture(scope="module")
def cc01_crops(cc01, cc01_filled, scan_of):
    img, _ = scan_of(cc01_filled, skew_deg=1.2, out_dpi=300, noise_sigma=2.0, blur_sigma=0.5)
    return crops_of(cc01, img)


def test_comb_cells_cc01(cc01, cc01_crops):
    combs = [f for f in cc01.fields if f.cells]
    assert {f.name for f in combs} >= {"id_number", "father_id", "mother_id"}
    for f in combs:
        c = cc01_crops[f.name]
        assert len(c.cells) == f.cells == 12
        non_empty = sum(1 for cell in c.cells if writing_box(cell, DPI) is not None)
        assert non_empty == len(CC01_RECORD.get(f.name, "")), f.name


def test_cc01_lines_writing_exactly_where_filled(cc01, cc01_crops):
    for f in cc01.fields:
        if f.kind in LINE_KINDS and not f.cells:
            assert has_writing(cc01_crops[f.name]) == bool(CC01_RECORD.get(f.name)), f.name


def test_comb_line_lays_cells_out_in_order():
    cells = tuple(np.full((30, 20), v, np.uint8) for v in (0, 255, 100))
    line = dropout.comb_line(cells, gap=12)
    assert line.shape == (30, 3 * 32)
    assert line[:, 6:26].max() == 0 and line[:, 32 + 6:32 + 26].min() == 255 and line[:, 64 + 6:64 + 26].max() == 100
    assert line[:, :6].min() == 255  # white gaps


# -------------------------------------------------------------- choice fields


@pytest.fixture(scope="module")
def choice_template():
    return loader.load_file(CHOICE_YAML)


def test_choice_template_loads(choice_template):
    f = choice_template.field("marital_status")
    assert f.kind == "choice" and [o.value for o in f.options] == ["chưa kết hôn", "đã kết hôn", "ly hôn"]


CHOICE_CASES = [
    ({"sex": "Nữ", "marital_status": "ly hôn", "sig_declarant": "1"}, 0),
    ({"sex": "Nam", "marital_status": "chưa kết hôn"}, 90),
    ({}, 180),
]


@pytest.mark.parametrize("values,rotation", CHOICE_CASES, ids=["nu-lyhon", "nam-chuakethon", "none"])
def test_choice_read_back_by_pipeline(choice_template, scan_of, values, rotation):
    sheet = fill.fill_sheet(choice_template, values, random.Random(3), printed_font(), "1")
    img, _ = scan_of(sheet, rotation90=rotation, skew_deg=2.0, out_dpi=200, noise_sigma=2.0, blur_sigma=0.6)
    # the recognition step on its own
    crops = list(crops_of(choice_template, img).values())
    readings = recognize_page(crops, choice_template, Engines(), RecognitionConfig(), DPI)
    for name in ("sex", "marital_status", "sig_declarant"):
        assert readings[name][0].text == values.get(name, ""), name
        assert readings[name][0].engine == "marks"
    # and the whole pipeline (no text fields: no OCR engine runs)
    result = Pipeline(choice_template).process_page(Page(img, "choice.png", 1, page_hash(img), 200))
    assert result.status == OK, result.reason
    got = {f.name: f.value for f in result.fields}
    assert got == {"sex": values.get("sex", ""), "marital_status": values.get("marital_status", ""),
                   "sig_declarant": values.get("sig_declarant", "")}
    assert all(f.status == "auto_accepted" for f in result.fields)


def test_read_choice_rules():
    one = checkmarks.read_choice((("a", 0.0), ("b", 0.12), ("c", 0.001)))
    assert one.text == "b" and one.confidence > 0.75
    none = checkmarks.read_choice((("a", 0.0), ("b", 0.002)))
    assert none.text == "" and none.confidence > 0.75
    two = checkmarks.read_choice((("a", 0.09), ("b", 0.15)))
    assert two.text == "b" and two.confidence == 0.0  # ambiguous: must go to review
    assert {v for v, _ in two.candidates} == {"a", "b"}


def test_read_signature_threshold():
    assert checkmarks.read_signature(0.0).text == ""
    assert checkmarks.read_signature(0.05).text == "1"
    assert checkmarks.read_signature(checkmarks.SIGNED_INK * 1.01).confidence < 0.6  # at the threshold: unsure


def test_field_image_keeps_all_ink_inside_the_field_box(dc01, dc01_filled):
    import cv2

    from ocr_service.pipeline.recognize import field_image

    ink = dropout.drop_out(dc01_filled.image, dc01, DPI)
    crops = {c.name: c for c in dropout.extract_fields(ink, dc01, DPI)}
    lost = {}
    for name in ("full_name", "father_name", "spouse_name"):
        c = crops[name]
        img = field_image(c, dc01.field(name), DPI)
        assert img is not None
        # where the engine's image lies in the crop
        if np.shares_memory(img, c.image):  # a view: exact offset
            off = img.__array_interface__["data"][0] - c.image.__array_interface__["data"][0]
            y, x = divmod(off, c.image.strides[0])
        else:
            res = cv2.matchTemplate(c.image.astype(np.float32), img.astype(np.float32), cv2.TM_SQDIFF)
            _, _, (x, y), _ = cv2.minMaxLoc(-res)
        kept = np.zeros(c.image.shape, bool)
        kept[y:y + img.shape[0], x:x + img.shape[1]] = True
        in_box = np.zeros(c.image.shape, bool)
        in_box[c.box_top:] = True  # the field's own box (rows above it may hold the line above)
        n = int(((c.image < 160) & in_box & ~kept).sum())
        if n:
            lost[name] = n
    assert lost == {}
