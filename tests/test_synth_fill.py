"""The sample generator writes where a person would: dates into the gaps of a printed "…/…/…"."""

import random

import numpy as np
import pytest

from ocr_service.forms import loader
from ocr_service.forms.model import box_to_px
from ocr_service.forms.render import render_blank
from ocr_service.synth import fill, fonts


@pytest.fixture(scope="module")
def font():
    return fonts.list_fonts("handwriting")[0]


def _added_ink(template, values, font):
    sheet = fill.fill_sheet(template, values, random.Random(3), font, "1")
    blank = render_blank(template, fill.FILL_DPI, serial="1")
    return (sheet.image < 160) & ~(blank < 160), blank


def test_cc01_date_parts_go_into_the_printed_gaps(font):
    cc01 = loader.load("cc01")
    spec = cc01.field("dob")
    added, blank = _added_ink(cc01, {"dob": "01/07/1957"}, font)
    gaps = fill._blank_gaps(blank, spec)
    assert len(gaps) == 3  # "…/…/…": three places to write
    x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)
    columns = added[y - 40:y + h + 10].any(axis=0)
    for g0, g1 in gaps:
        assert columns[g0:g1].any(), (g0, g1)  # something written in every gap
    between = [(a[1], b[0]) for a, b in zip(gaps, gaps[1:])]
    for b0, b1 in between:  # nothing written over the printed slashes
        assert not columns[b0 + 3:b1 - 3].any(), (b0, b1)


def test_plain_dotted_date_is_written_as_one_line(font):
    dc01 = loader.load("dc01")
    spec = dc01.field("dob")
    added, blank = _added_ink(dc01, {"dob": "01/07/1957"}, font)
    assert len(fill._blank_gaps(blank, spec)) == 1
    x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)
    cols = np.flatnonzero(added[y - 40:y + h + 10, x:x + w].any(axis=0))
    # one run of writing, slashes written by hand: no blank stretch wider than a letter inside it
    assert cols.size and np.diff(cols).max() < 0.25 * h
