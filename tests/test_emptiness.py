"""Emptiness is measured evidence (issue 12): thin, faint, grey and pencil strokes count as ink,
specks and print remnants do not, and a written field is never auto-accepted as empty."""

import datetime as dt
import random

import cv2
import numpy as np
import pytest

from ocr_service.engines.registry import RecognitionConfig
from ocr_service.forms import loader
from ocr_service.pipeline import dropout
from ocr_service.pipeline.build import Pipeline
from ocr_service.pipeline.ingest import Page
from ocr_service.pipeline.scoring import Thresholds, thresholds_path
from ocr_service.synth import fill, fonts, records, scan

PENS = {
    "thin": fill.Pen(width_mm=0.127),  # 1 px at 200 dpi
    "faint": fill.Pen(colour="faded", pressure=0.6),
    "pencil": fill.Pen(colour="pencil", width_mm=0.2, pressure=0.7),
    "blue-thin": fill.Pen(colour="blue", width_mm=0.15),
}


def _paper(h=60, w=400, value=250):
    return np.full((h, w), value, np.uint8)


def test_a_one_pixel_faint_line_is_ink():
    img = _paper()
    img[30, 50:200] = 205  # 1 px wide, 18% darker than the paper
    ev = dropout.measure_ink(img, 300)
    assert ev.written and ev.components == 1 and ev.max_contrast > 0.1
    assert ev.empty_confidence() < 0.1
    assert ev.image is not None and ev.image.min() < 100  # stretched for the engines


def test_specks_and_clean_paper_are_not_writing():
    img = _paper()
    for x in range(20, 380, 30):  # dots of a dotted line, 2×2 px
        img[50:52, x:x + 2] = 120
    ev = dropout.measure_ink(img, 300)
    assert not ev.written and ev.speck > 0
    clean = dropout.measure_ink(_paper(), 300)
    assert not clean.written and clean.empty_confidence() >= 0.99
    assert dropout.measure_ink(img, 300).empty_confidence() < clean.empty_confidence()


def test_noise_is_no_evidence_of_emptiness():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (60, 400)).astype(np.uint8)
    ev = dropout.measure_ink(noisy, 300)
    assert ev.empty_confidence() < 0.5 and ev.clutter > 0.1


def test_marks_above_the_box_are_the_line_above():
    img = _paper()
    img[2:10, 50:200] = 60  # wholly above box_top: descenders of the previous line
    assert not dropout.measure_ink(img, 300, box_top=15).written
    assert dropout.measure_ink(img, 300).written


def test_default_pen_changes_nothing_and_thin_pen_draws_thin_strokes():
    t = loader.load("dc01")
    font = fonts.list_fonts("handwriting")[0]
    values = {"full_name": "NGUYỄN VĂN AN"}
    a = fill.fill_sheet(t, values, random.Random(1), font, "1")
    b = fill.fill_sheet(t, values, random.Random(1), font, "1", fill.Pen())
    assert np.array_equal(a.image, b.image)
    thin = fill.fill_sheet(t, values, random.Random(1), font, "1", fill.Pen(width_mm=0.1, colour="faded"))
    added = (thin.image < 250) & (fill.render_blank(t, fill.FILL_DPI, serial="1") >= 250)
    assert added.sum() > 200
    dist = cv2.distanceTransform(added.astype(np.uint8), cv2.DIST_L2, 3)
    assert dist.max() <= 1.5  # strokes one pixel wide
    assert 135 <= int(thin.image[added].min()) <= 200
    with pytest.raises(Exception):
        fill.Pen(colour="green")


def _scan_sheet(template, pen, seed):
    rng = random.Random(seed)
    record = records.generate_record(rng, declared_on=dt.date(2018, 3, 1))
    font = fonts.list_fonts("handwriting")[seed % 3]
    sheet = fill.fill_sheet(template, fill.record_values(template, record), rng, font, f"{seed:06d}", pen)
    params = scan.ScanParams(out_dpi=200, blur_sigma=0.6, noise_sigma=3.0, jpeg_quality=85, skew_deg=0.4,
                             noise_seed=seed)
    image, _ = scan.simulate_scan(sheet.image, params, src_dpi=fill.FILL_DPI)
    return sheet, Page(image, "mem", 1, "0", 200)


@pytest.mark.parametrize("template_name", ["dc01", "cc01"])
@pytest.mark.parametrize("pen_name", sorted(PENS))
def test_thin_faint_and_pencil_writing_is_never_accepted_as_empty(template_name, pen_name):
    t = loader.load(template_name)
    pipe = Pipeline(t, Thresholds.load(thresholds_path(t, "tesseract")), RecognitionConfig.named("tesseract"))
    sheet, page = _scan_sheet(t, PENS[pen_name], 31 + len(pen_name))
    result = pipe.process_page(page)
    assert result.status == "ok", result.reason
    written = [f for f in result.fields if sheet.truth.get(f.name)]
    assert len(written) >= 10
    accepted_empty = [f.name for f in written if not f.value and f.status == "auto_accepted"]
    assert accepted_empty == []
    # the measurement saw the writing of (nearly) every written field; it is in the features
    seen = [f for f in written if f.features.get("ink_components", 0) > 0]
    assert len(seen) >= 0.9 * len(written)
    for f in result.fields:
        assert {"ink_share", "ink_components", "max_contrast"} <= set(f.features) or f.kind == "choice"


def test_a_comb_cell_the_dropout_emptied_is_read_from_its_measured_marks():
    """A comb cell whose faint digit the plain dropout lost still takes its place in the reading
    (its measured marks): dropping it read a 12-digit ID as a confident 9-digit one."""
    from ocr_service.pipeline.recognize import filled_cells

    def cell_with(value: int) -> np.ndarray:  # a soft-page cell with one vertical stroke of that darkness
        img = _paper(60, 40)
        img[10:50, 18:21] = value
        return img

    dark, faint, blank = cell_with(40), cell_with(200), _paper(60, 40)
    plain = [np.where(c < 128, 0, 255).astype(np.uint8) for c in (dark, faint, blank)]  # the faint one is lost
    evidence = tuple(dropout.measure_ink(c, 300) for c in (dark, faint, blank))
    assert [e.written for e in evidence] == [True, True, False]
    crop = dropout.FieldCrop("id_number", "digits", np.hstack(plain), 0.0, (0, 0, 120, 60), tuple(plain),
                             cell_evidence=evidence)
    cells = filled_cells(crop, 300)
    assert len(cells) == 2
    assert cells[0] is plain[0] and cells[1] is evidence[1].image
    assert (cells[1] < 128).sum() > 50  # the faint stroke, stretched to full contrast
    # without measurements (crops cut without the soft page) only what the dropout kept counts
    assert len(filled_cells(dropout.FieldCrop("id_number", "digits", np.hstack(plain), 0.0, (0, 0, 120, 60),
                                              tuple(plain)), 300)) == 1
