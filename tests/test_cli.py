"""The command line: `extract` over a folder of good and bad files, and `samples generate`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DC01_RECORD, DC01_SERIAL, printed_font
from ocr_service.cli import app
from ocr_service.forms import loader
from ocr_service.synth import fill, scan

runner = CliRunner()
FIELD_KEYS = {"name", "value", "confidence", "status", "reasons", "box_px"}
CHOICE_YAML = Path(__file__).parent / "data" / "choice_form.yaml"
# fields whose printed values are read exactly on these scans
EXACT = ("full_name", "dob", "sex", "marital_status", "ethnicity", "nationality", "religion", "id_number", "father_id",
         "mother_name", "spouse_name", "head_name", "relation_to_head", "household_book_no", "declared_on",
         "current_address", "sig_declarant_name")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, dc01_filled, scan_of) -> Path:
    d = tmp_path_factory.mktemp("extract")
    good, _ = scan_of(dc01_filled, skew_deg=1.5, out_dpi=300, noise_sigma=2.0, blur_sigma=0.5)
    scan.write_png(good, d / "a_good.png", dpi=300)
    upside, _ = scan_of(dc01_filled, rotation90=180, skew_deg=-2.0, out_dpi=200, noise_sigma=2.5, blur_sigma=0.6,
                        jpeg_quality=85)
    scan.write_jpeg(upside, d / "b_upside_down.jpg", quality=90, dpi=200)
    (d / "c_empty.png").write_bytes(b"")
    whole = scan.write_pdf([upside], d / "whole.pdf", 200)
    data = whole.read_bytes()
    (d / "d_cut.pdf").write_bytes(data[:int(len(data) * 0.3)])
    whole.unlink()
    (d / "notes.txt").write_text("not a scan, skipped by the folder expansion\n")
    return d


@pytest.fixture(scope="module")
def extracted(folder):
    res = runner.invoke(app, ["extract", str(folder), "--template", "dc01", "--json", "--workers", "1",
                              "--no-progress"])
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return res, {Path(d["file"]).name: d for d in lines}, lines


def test_exit_code_and_one_line_per_page(extracted):
    res, by_name, lines = extracted
    assert res.exit_code == 1, res.output
    assert [Path(d["file"]).name for d in lines] == ["a_good.png", "b_upside_down.jpg", "c_empty.png", "d_cut.pdf"]
    for d in lines:
        assert {"file", "page", "template", "status", "residual_px", "fields"} <= set(d)
        assert d["template"] == "dc01@tt66-2015"


def test_bad_files_are_errors_with_reasons(extracted, folder):
    res, by_name, _ = extracted
    empty, cut = by_name["c_empty.png"], by_name["d_cut.pdf"]
    assert empty["status"] == "error" and "empty" in empty["reason"]
    assert cut["status"] == "error" and "PDF" in cut["reason"] and "corrupt" in cut["reason"]
    for d in (empty, cut):
        assert d["fields"] == [] and d["residual_px"] is None
        # the reason, with the file, on stderr
        assert any(str(folder / Path(d["file"]).name) in line and d["reason"] in line
                   for line in res.stderr.splitlines()), res.stderr
    # the good pages are not reported as failures (batch-level household notes may name them)
    page_errors = [line for line in res.stderr.splitlines() if "household:" not in line]
    assert not any("a_good.png" in line or "b_upside_down.jpg" in line for line in page_errors)
    assert "4 pages, 2 not read" in res.stderr


@pytest.mark.parametrize("name,rotation", [("a_good.png", 0), ("b_upside_down.jpg", 180)])
def test_good_pages_read(extracted, dc01, name, rotation):
    _, by_name, _ = extracted
    d = by_name[name]
    assert d["status"] == "ok", d.get("reason")
    assert d["page"] == 1 and d["rotation"] == rotation
    assert d["residual_px"] is not None and d["residual_px"] < 3
    assert d.get("serial") == DC01_SERIAL
    fields = {f["name"]: f for f in d["fields"]}
    assert list(fields) == [f.name for f in dc01.fields]
    for f in d["fields"]:
        assert FIELD_KEYS <= set(f)
        assert f["status"] in ("auto_accepted", "needs_review")
        assert 0.0 <= f["confidence"] <= 1.0 and isinstance(f["reasons"], list)
        assert len(f["box_px"]) == 4 and f["box_px"][2] > 0 and f["box_px"][3] > 0
        if f["status"] == "needs_review":
            assert f["reasons"], f
    for key in EXACT:
        assert fields[key]["value"] == DC01_RECORD[key], (key, fields[key])
    for key in ("blood_group", "other_nationality", "legal_rep_name", "legal_rep_id", "sig_police_chief"):
        assert fields[key]["value"] == "", key
    assert fields["sig_declarant"]["value"] == "1" and fields["sig_officer"]["value"] == "1"


def test_only_bad_files(folder):
    res = runner.invoke(app, ["extract", str(folder / "c_empty.png"), "--template", "dc01", "--json",
                              "--workers", "1"])
    assert res.exit_code == 1
    (d,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert d["status"] == "error" and "empty" in d["reason"]


def test_extract_all_good_exits_zero(tmp_path, scan_of):
    """A form with checkboxes only (no OCR engine runs): every page ok → exit code 0."""
    t = loader.load_file(CHOICE_YAML)
    sheet = fill.fill_sheet(t, {"sex": "Nam", "marital_status": "đã kết hôn"}, random.Random(4), printed_font(),
                               "7")
    img, _ = scan_of(sheet, rotation90=270, skew_deg=1.0, out_dpi=200, noise_sigma=2.0)
    scan.write_png(img, tmp_path / "p.png", dpi=200)
    res = runner.invoke(app, ["extract", str(tmp_path / "p.png"), "--template", str(CHOICE_YAML), "--json",
                              "--workers", "1"])
    assert res.exit_code == 0, res.output
    (d,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert d["status"] == "ok" and d["rotation"] == 90
    assert {f["name"]: f["value"] for f in d["fields"]} == {"sex": "Nam", "marital_status": "đã kết hôn",
                                                           "sig_declarant": ""}


def test_unknown_template_exit_code(folder):
    res = runner.invoke(app, ["extract", str(folder), "--template", "nosuchform", "--workers", "1"])
    assert res.exit_code == 3 and "nosuchform" in res.stderr


def test_samples_generate(tmp_path):
    out = tmp_path / "samples"
    exe = Path(sys.executable).with_name("ocr-service")
    res = subprocess.run([str(exe), "samples", "generate", "--template", "dc01", "-n", "2", "--seed", "1",
                          "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in out.iterdir())
    images = [f for f in files if f.rsplit(".", 1)[-1] in ("png", "jpg", "pdf", "tiff")]
    truths = [f for f in files if f.endswith(".json")]
    assert len(images) == 2 and truths == ["0000.json", "0001.json"] and "truth.jsonl" in files
    lines = [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    dc01 = loader.load("dc01")
    for entry, truth_file, image in zip(lines, truths, images):
        assert entry == json.loads((out / truth_file).read_text(encoding="utf-8"))
        assert entry["file"] == image and entry["template"] == "dc01@tt66-2015" and entry["page"] == 1
        assert set(entry["fields"]) == {f.name for f in dc01.fields}
        assert entry["fields"]["full_name"]  # a generated record always has a name
        assert {"rotation90", "skew_deg", "out_dpi"} <= set(entry["scan"])
    # deterministic for a seed
    again = tmp_path / "again"
    subprocess.run([str(exe), "samples", "generate", "--template", "dc01", "-n", "2", "--seed", "1",
                    "--out", str(again)], capture_output=True, check=True, timeout=120)
    assert (again / "truth.jsonl").read_text(encoding="utf-8") == (out / "truth.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("option, message", [
    (["--font", "nope"], "error: unknown font family 'nope' (known: Patrick Hand, "),
    (["--style", "cursive"], "error: unknown font style 'cursive' (known: printed, handwriting, mixed)"),
])
def test_samples_generate_bad_option_is_one_clear_line(tmp_path, option, message):
    exe = Path(sys.executable).with_name("ocr-service")
    res = subprocess.run([str(exe), "samples", "generate", "--template", "dc01", "-n", "1", "--out",
                          str(tmp_path / "out"), *option], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2  # a configuration error
    assert res.stderr.startswith(message) and len(res.stderr.splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert not (tmp_path / "out").exists()
