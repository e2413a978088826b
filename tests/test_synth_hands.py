"""Writer styles of the synthetic hands: each effect changes the drawing, corrections strike a word
through, and sheets stay deterministic for a seed."""

import random

import cv2
import numpy as np
import pytest

from ocr_service.forms import loader
from ocr_service.forms.model import box_to_px
from ocr_service.synth import fill, fonts, hands
from ocr_service.synth.hands import Hand

TEXT = "Nguyễn Thị Thuỷ Ngọc"


@pytest.fixture(scope="module")
def font():
    return fonts.find_font("Mynerve")


def _render(font, hand, seed=1):
    return hands.render(TEXT, str(font.path), 60, 30, hand, random.Random(seed))


def _ink(patch):
    return patch < 128


def test_the_plain_hand_draws_what_the_font_draws(font):
    a, base_a = _render(font, None)
    b, base_b = _render(font, Hand())
    assert np.array_equal(a, b) and base_a == base_b
    assert Hand().plain and not Hand(jitter=0.1).plain


@pytest.mark.parametrize("effect", [
    {"jitter": 0.08}, {"tilt_deg": 6.0}, {"slant": 0.3}, {"drift": 0.15}, {"spacing": 0.2},
    {"spacing_var": 0.08}, {"size_var": 0.15}, {"elastic_px": 3.0},
])
def test_each_glyph_effect_changes_the_drawing(font, effect):
    plain, _ = _render(font, None)
    shaped, base = _render(font, Hand(**effect))
    assert shaped.shape != plain.shape or (_ink(shaped) != _ink(plain)).mean() > 0.01
    assert _ink(shaped).sum() > 0.5 * _ink(plain).sum()  # still the text, not noise
    assert 0 < base < shaped.shape[0]


def test_slant_leans_the_tops_of_the_glyphs_right(font):
    upright, bu = _render(font, Hand(spacing=0.001))
    leaning, bl = _render(font, Hand(slant=0.4))

    def top_minus_bottom(patch, base):
        ink = _ink(patch)
        cols = np.arange(patch.shape[1])
        top = ink[: base - 25].any(axis=0)
        bottom = ink[base - 15: base].any(axis=0)
        return cols[top].mean() - cols[bottom].mean()

    assert top_minus_bottom(leaning, bl) - top_minus_bottom(upright, bu) > 5


def test_spacing_and_size_change_the_word_width(font):
    plain, _ = _render(font, Hand(spacing=0.001))
    wide, _ = _render(font, Hand(spacing=0.25))
    assert wide.shape[1] > plain.shape[1] + 0.2 * 60 * (len(TEXT) - 2)


def _field_ink(template, name, value, hand, seed=3, font_name="Mynerve"):
    spec = template.field(name)
    f = fonts.find_font(font_name)
    sheet = fill.fill_sheet(template, {name: value}, random.Random(seed), f, "1", hand=hand)
    blank = fill.render_blank(template, fill.FILL_DPI, serial="1")
    return spec, (sheet.image < 200) & (blank >= 200), sheet


def test_a_correction_strikes_a_word_through_before_the_right_one():
    t = loader.load("dc01")
    spec, plain, _ = _field_ink(t, "full_name", "Trần Văn Bình", None)
    _, corrected, _ = _field_ink(t, "full_name", "Trần Văn Bình", Hand(correction=1.0, spacing=0.001))
    x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)

    def longest_run(mask):
        best = 0
        for row in mask[y - h:y + h]:
            padded = np.concatenate([[0], row.astype(np.int8), [0]])
            edges = np.flatnonzero(np.diff(padded))
            if edges.size:
                best = max(best, int((edges[1::2] - edges[::2]).max()))
        return best

    # the strike is a long horizontal stroke, longer than any stroke of the letters
    assert longest_run(corrected) > 1.5 * longest_run(plain) and longest_run(corrected) > 50
    assert corrected.sum() > 1.2 * plain.sum()  # a word more
    cols = lambda m: np.flatnonzero(m[y - h:y + h].any(axis=0))  # noqa: E731
    assert cols(corrected).min() < cols(plain).min() - 60 or cols(corrected).max() > cols(plain).max() + 60
    # the struck word is crossed from one end to the other
    word, base = hands.render("Bình", str(fonts.find_font("Mynerve").path), 60, 30, None, random.Random(0))
    struck = hands.strike(word, base, 60, 30, random.Random(0)) < 128
    assert max(row.sum() for row in struck) >= 0.9 * word.shape[1]
    assert hands.mistaken_word("Trần Văn Bình", random.Random(2)) not in {"Trần", "Văn", "Bình"}


def test_overruns_run_past_the_box_end_and_line_crossing_writes_across_the_dotted_line():
    t = loader.load("dc01")
    value = "Số 12 ngõ 34 đường Nguyễn Văn Cừ, phường Bồ Đề, quận Long Biên, Hà Nội"
    spec, plain, _ = _field_ink(t, "permanent_address", value, None)
    _, over, _ = _field_ink(t, "permanent_address", value, Hand(overrun=1.0, spacing=0.001))
    x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)
    assert not plain[:, x + w + 5:].any()
    assert over[:, x + w + 5:].sum() > 100
    short = "Kinh"
    spec, plain, _ = _field_ink(t, "ethnicity", short, None)
    _, crossed, _ = _field_ink(t, "ethnicity", short, Hand(line_cross=1.0, spacing=0.001))
    x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)
    rows = lambda m: np.flatnonzero(m[:, x:x + w].any(axis=1))  # noqa: E731
    assert rows(crossed).max() > rows(plain).max() + 8  # lower: on and below the dotted line


def test_digits_cross_the_comb_box_borders():
    t = loader.load("cc01")  # CC01 has comb boxes
    name = next(f.name for f in t.fields if f.cells)
    spec = t.field(name)
    value = "0" * spec.cells

    def outside_cells(mask):
        inside = np.zeros_like(mask)
        for cell in spec.cell_boxes_mm():
            cx, cy, cw, ch = box_to_px(cell, fill.FILL_DPI)
            inside[cy + 3:cy + ch - 3, cx + 3:cx + cw - 3] = True
        x, y, w, h = box_to_px(spec.box_mm, fill.FILL_DPI)
        near = np.zeros_like(mask)
        near[y - h:y + 2 * h, x - 20:x + w + 20] = True
        return (mask & near & ~inside).sum()

    _, plain, _ = _field_ink(t, name, value, None)
    _, crossed, _ = _field_ink(t, name, value, Hand(line_cross=1.0, spacing=0.001))
    assert outside_cells(crossed) > outside_cells(plain) + 15


@pytest.mark.parametrize("colour,lo,hi", [("black", 0, 60), ("blue", 40, 110), ("faded", 120, 190)])
def test_ink_colours_and_pen_pressure(colour, lo, hi):
    t = loader.load("dc01")
    _, mask, sheet = _field_ink(t, "full_name", "Lê Thị Hoa", Hand(colour=colour, spacing=0.001))
    level = int(np.percentile(sheet.image[mask], 5))
    assert lo <= level <= hi, level
    _, light, sheet2 = _field_ink(t, "full_name", "Lê Thị Hoa", Hand(colour="black", pressure=0.5, spacing=0.001))
    assert np.percentile(sheet2.image[light], 5) > level if colour == "black" else True
    _, thin, sheet3 = _field_ink(t, "full_name", "Lê Thị Hoa", Hand(width_mm=0.12, spacing=0.001))
    dist = cv2.distanceTransform((sheet3.image < 200).astype(np.uint8) & thin.astype(np.uint8), cv2.DIST_L2, 3)
    assert dist.max() <= 1.5


def test_random_writers_differ_and_sheets_are_deterministic_for_a_seed(tmp_path):
    writers = [Hand.random(random.Random(i)) for i in range(20)]
    assert len({w for w in writers}) == 20
    assert {w.colour for w in writers} >= {"black", "blue"}
    t = loader.load("dc01")
    a = fill.generate(t, 1, 21, tmp_path / "a", style="handwriting", formats=("png",), scan_profile="mixed")
    b = fill.generate(t, 1, 21, tmp_path / "b", style="handwriting", formats=("png",), scan_profile="mixed")
    assert a == b and a[0]["writer"] is not None
    assert (tmp_path / "a" / "0000.png").read_bytes() == (tmp_path / "b" / "0000.png").read_bytes()
    plain = fill.generate(t, 1, 21, tmp_path / "p", style="handwriting", formats=("png",), hand_mode="plain")
    assert plain[0]["writer"] is None
