"""Identifying a page's form: by its QR code, or by the best-matching blank; and the CLI's auto mode."""

import json
import random

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from ocr_service.cli import app
from ocr_service.forms import loader
from ocr_service.synth import fill, fonts, scan
from ocr_service.pipeline.identify import candidates, read_page_qr
from ocr_service.pipeline.ingest import Page
from ocr_service.pipeline.build import IdentifyingPipeline, Pipeline


@pytest.fixture(scope="module")
def templates():
    return [loader.load("dc01"), loader.load("cc01")]


def _scanned(template, rotation, seed=1):
    sheet = fill.fill_sheet(template, {"full_name": "Nguyễn Văn An"}, random.Random(seed),
                               fonts.list_fonts("printed")[0], "000777")
    params = scan.ScanParams(rotation90=rotation, skew_deg=2.0, out_dpi=200, noise_sigma=2.0, noise_seed=seed)
    return scan.simulate_scan(sheet.image, params, src_dpi=300)[0]


@pytest.mark.parametrize("rotation", [0, 180])
def test_dc01_is_identified_by_its_qr_code(templates, rotation):
    page = _scanned(templates[0], rotation)
    assert read_page_qr(page) == "dc01|tt66-2015|000777"
    ranked, _ = candidates(page, templates)
    assert [(t.id, how) for t, how in ranked] == [("dc01@tt66-2015", "qr")]


@pytest.mark.parametrize("rotation", [0, 90])
def test_cc01_without_qr_is_identified_by_its_print(templates, rotation):
    ranked, _ = candidates(_scanned(templates[1], rotation), templates)
    assert ranked[0][0].id == "cc01@tt41-2019" and ranked[0][1] == "features"


def test_blank_and_unknown_pages_are_not_identified(templates):
    assert candidates(np.full((2200, 1600), 250, np.uint8), templates) == ([], "blank page: no printed form found")
    other = np.full((1754, 1240), 255, np.uint8)  # a page of some other document
    for i in range(25):
        cv2.putText(other, f"Dong {i}: mot van ban khac", (80, 120 + 60 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2)
    # features alone may rank a form or two; registration then refuses each of them
    result = IdentifyingPipeline([Pipeline(t) for t in templates]).process_page(Page(other, "other.png", 1, "x", None))
    assert result.status == "rescan" and "not a known form" in result.reason and result.fields == ()


def test_extract_auto_routes_each_page_to_its_form(tmp_path, templates):
    for i, t in enumerate(templates):
        scan.write_jpeg(_scanned(t, 0, seed=i), tmp_path / f"{t.name}.jpg", dpi=200)
    res = CliRunner().invoke(app, ["extract", str(tmp_path), "--json", "--workers", "1"])
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert res.exit_code == 0, res.output
    assert {(d["file"].rsplit("/", 1)[1], d["template"], d["status"]) for d in lines} == {
        ("cc01.jpg", "cc01@tt41-2019", "ok"), ("dc01.jpg", "dc01@tt66-2015", "ok")}
    for d in lines:
        name = next(f for f in d["fields"] if f["name"] == "full_name")
        assert name["value"] == "Nguyễn Văn An"
