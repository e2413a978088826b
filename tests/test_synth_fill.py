"""The sample generator writes where a person would (dates into the gaps of a printed "…/…/…"),
refuses unknown fonts, styles and formats with a clear error, and renders printed fills without
the handwriting fonts or fontTools."""

import os
import random
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ocr_service.errors import ConfigError
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


@pytest.mark.parametrize("kwargs, message", [
    ({"font_family": "nope"}, r"unknown font family 'nope' \(known: Patrick Hand, .*Noto Serif.*\)"),
    ({"style": "cursive"}, r"unknown font style 'cursive' \(known: printed, handwriting, mixed\)"),
    ({"formats": ("png", "gif")}, r"unknown file formats 'png,gif' \(known: png, jpg, pdf, tiff\)"),
])
def test_generate_refuses_unknown_settings_before_writing(tmp_path, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message):
        fill.generate(loader.load("dc01"), 1, 0, out, **kwargs)
    assert not out.exists()


def test_printed_fills_need_neither_handwriting_fonts_nor_fonttools(tmp_path):
    """A font folder with the catalogue only (as a wheel install has): printed sheets render, with
    fontTools unimportable; asking for handwriting says which folder lacks the fonts."""
    shutil.copy(fonts.SOURCE_FONT_DIR / "fonts.yaml", tmp_path)
    code = textwrap.dedent("""
        import random, sys
        sys.modules["fontTools"] = None  # any import of fontTools now fails
        from ocr_service.errors import ConfigError
        from ocr_service.forms import loader
        from ocr_service.synth import fill, fonts
        t = loader.load("dc01")
        sheet = fill.fill_sheet(t, {"full_name": "Nguyễn Văn An"}, random.Random(1),
                                fonts.find_font("Noto Serif"), "1")
        blank = fill.fill_sheet(t, {}, random.Random(1), fonts.find_font("Noto Serif"), "1")
        print("ink", int((sheet.image < 128).sum() - (blank.image < 128).sum()))
        try:
            fill.generate(t, 1, 0, sys.argv[1], style="handwriting")
        except ConfigError as exc:
            print("error", exc)
    """)
    env = {**os.environ, fonts.FONTS_ENV: str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    ink, error = res.stdout.splitlines()
    assert int(ink.split()[1]) > 500  # the name was written
    assert error.startswith("error handwriting font 'Patrick Hand' missing: ")
    assert f"{tmp_path} has no PatrickHand-Regular.ttf" in error and "scripts/build_fonts.py" in error
    assert not (tmp_path / "out").exists()


def test_households_come_as_a_batch_does(tmp_path):
    """households=True: every member's sheet, head first, in one hand and on one day per household."""
    t = loader.load("dc01")
    got = fill.generate(t, 5, 11, tmp_path / "hh", style="handwriting", formats=("png",), households=True)
    fields = [e["fields"] for e in got]
    # the first sheet is a head's: its own name and ID are the head's
    assert fields[0]["head_name"] == fields[0]["full_name"] and fields[0]["head_id"] == fields[0]["id_number"]
    members = [i for i in range(1, 5) if fields[i]["head_name"] == fields[0]["head_name"]]
    assert members and members == list(range(1, len(members) + 1))  # the household's sheets come together
    for i in members:
        assert fields[i]["full_name"] != fields[0]["full_name"]
        for name in ("head_id", "household_book_no", "permanent_address", "declared_on", "hdr_commune"):
            assert fields[i][name] == fields[0][name], name
        assert got[i]["hand"] == got[0]["hand"] and got[i]["writer"] == got[0]["writer"]
    with pytest.raises(ConfigError, match="member table"):
        fill.generate(loader.load("ct01"), 1, 0, tmp_path / "ct", households=True)
