"""The CC01 (TT 41/2019) template: loads, and its boxes sit on the printed writing areas."""

from __future__ import annotations


import numpy as np
import pytest

from ocr_service.forms import loader, render
from ocr_service.forms.model import LINE_KINDS

DPI = 300
PX_PER_MM = DPI / 25.4
COMBS = ("id_number", "father_id", "mother_id", "spouse_id", "legal_rep_id", "head_id")
# The date-of-declaration line has printed "ngày … tháng … năm" words inside its writing area.
PRINTED_WORDS_INSIDE = {"declared_on"}



@pytest.fixture(scope="module")
def template():
    return loader.load("cc01")


@pytest.fixture(scope="module")
def dark(template):
    """The reference print at 300 dpi as a boolean ink mask."""
    return render.reference_print(template, DPI) < 128


def _px(v: float) -> int:
    return int(round(v * PX_PER_MM))


def test_loads_with_expected_fields(template):
    names = [f.name for f in template.fields]
    assert template.id == "cc01@tt41-2019"
    assert template.registration.method == "features"
    assert template.reference_pdf is not None and template.reference_pdf.exists()
    for name in ("full_name", "other_name", "dob", "sex", "id_number", "ethnicity", "religion", "nationality",
                 "marital_status", "blood_group", "birth_registration_place", "native_place",
                 "permanent_address", "permanent_address_2", "current_address", "current_address_2",
                 "occupation", "education", "father_name", "father_nationality", "father_id",
                 "mother_name", "mother_nationality", "mother_id", "spouse_name", "spouse_nationality",
                 "spouse_id", "legal_rep_name", "legal_rep_nationality", "legal_rep_id", "head_name",
                 "head_id", "relation_to_head", "request", "delivery", "delivery_address", "phone",
                 "declared_on", "sig_declarant", "sig_declarant_name"):
        assert name in names
    assert template.field("dob").kind == "date"
    assert template.field("sig_declarant").kind == "signature"
    assert all(f.label_at_mm is None for f in template.fields)
    exports = [f.export for f in template.fields]
    assert all(exports) and len(set(exports)) == len(exports)


def test_checks_bind_known_fields(template):
    rules = {c["rule"]: c for c in template.checks}
    assert rules["id_vs_sex_dob"]["fields"] == {"id": "id_number", "sex": "sex", "dob": "dob"}
    assert rules["id_province_vs_place"]["fields"] == {"id": "id_number", "place": "birth_registration_place"}
    assert rules["id_province_vs_place"]["soft"] is True


@pytest.mark.parametrize("name", COMBS)
def test_comb_fields_have_12_cells(template, name):
    f = template.field(name)
    assert f.kind == "digits" and f.cells == 12 and f.draw == "box"
    assert "id_number" in f.validators


def test_boxes_do_not_overlap(template):
    boxes = [(f.name, f.box_mm) for f in template.fields]
    for i, (a, (ax, ay, aw, ah)) in enumerate(boxes):
        for b, (bx, by, bw, bh) in boxes[i + 1:]:
            overlap_x = min(ax + aw, bx + bw) - max(ax, bx)
            overlap_y = min(ay + ah, by + bh) - max(ay, by)
            assert overlap_x <= 1e-6 or overlap_y <= 1e-6, f"{a} overlaps {b}"


@pytest.mark.parametrize("name", COMBS)
def test_comb_cells_sit_on_printed_boxes(template, dark, name):
    for i, (x, y, w, h) in enumerate(template.field(name).cell_boxes_mm()):
        x0, y0, x1, y1 = _px(x), _px(y), _px(x + w), _px(y + h)
        # Each border: the darkest of the rows/columns within ±2 px of it must be almost solid ink.
        top = max(dark[y0 + d, x0:x1].mean() for d in range(-2, 3))
        bottom = max(dark[y1 + d, x0:x1].mean() for d in range(-2, 3))
        left = max(dark[y0:y1, x0 + d].mean() for d in range(-2, 3))
        right = max(dark[y0:y1, x1 + d].mean() for d in range(-2, 3))
        assert min(top, bottom, left, right) > 0.9, f"{name} cell {i}: borders {top, bottom, left, right}"
        inset = _px(0.5)
        assert dark[y0 + inset:y1 - inset, x0 + inset:x1 - inset].mean() < 0.005, f"{name} cell {i} not blank"


def test_line_boxes_are_blank_above_their_dotted_line(template, dark):
    checked = 0
    for f in template.fields:
        if f.kind not in LINE_KINDS or f.cells or f.draw == "none" or f.name in PRINTED_WORDS_INSIDE:
            continue
        x, y, w, h = f.box_mm
        x0, y0, x1, y1 = _px(x), _px(y), _px(x + w), _px(y + h)
        above = dark[y0:y1 - _px(1.0), x0:x1]
        assert above.mean() < 0.03, f"{f.name}: {above.mean():.1%} printed ink inside the box"
        # A label's tail (colon, next label) would show at either end first.
        for end in (above[:, :_px(4.0)], above[:, -_px(4.0):]):
            assert end.mean() < 0.03, f"{f.name}: printed ink at an end of the box"
        # The box ends on its dotted line: the bottom 1 mm holds dots along most of the span.
        dots = dark[y1 - _px(1.0):y1, x0:x1].any(axis=0)
        runs = np.flatnonzero(dots)
        assert runs.size and runs[0] - 0 < _px(1.5) and (x1 - x0) - runs[-1] < _px(1.5), f"{f.name}: dots"
        assert dots.mean() > 0.25, f"{f.name}: only {dots.mean():.0%} of the span has dots"
        checked += 1
    assert checked >= 30


def test_declared_on_and_signature_areas(template, dark):
    x, y, w, h = template.field("declared_on").box_mm
    assert dark[_px(y):_px(y + h), _px(x):_px(x + w)].any()  # the printed ", ngày … tháng … năm …" line
    for name in ("sig_declarant", "sig_declarant_name"):
        x, y, w, h = template.field(name).box_mm
        assert dark[_px(y):_px(y + h), _px(x):_px(x + w)].mean() < 0.001, name
