"""Templates: the `templates show --json` shape, DC01 coverage of the field table, schema errors
that name the file, the field and the reason, and the render → register round trip."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from ocr_service.cli import app
from ocr_service.errors import EXIT_CODES, TemplateError
from ocr_service.forms import loader, qr, render
from ocr_service.pipeline import register

DC01_MD = Path("/work/shared/forms/dc01.md")
runner = CliRunner()


# ------------------------------------------------------------- templates show


@pytest.fixture(scope="module", params=["dc01", "cc01"])
def shown(request) -> dict:
    res = runner.invoke(app, ["templates", "show", request.param, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_show_json_shape(shown):
    assert {"name", "version", "page", "fields"} <= set(shown)
    assert shown["name"] in ("dc01", "cc01") and isinstance(shown["version"], str) and shown["version"]
    assert shown["page"] == {"width_mm": 210.0, "height_mm": 297.0}
    assert len(shown["fields"]) > 30
    names = [f["name"] for f in shown["fields"]]
    assert len(set(names)) == len(names)
    for f in shown["fields"]:
        assert {"name", "label", "kind", "box_mm"} <= set(f)
        assert isinstance(f["name"], str) and isinstance(f["label"], str) and f["label"]
        assert f["kind"] in ("text", "name", "address", "date", "digits", "choice", "signature")
        box = f["box_mm"]
        assert len(box) == 4 and all(isinstance(v, (int, float)) for v in box)
        x, y, w, h = box
        assert w > 0 and h > 0 and x + w <= 210 and y + h <= 297
        if "cells" in f:
            assert isinstance(f["cells"], int) and f["cells"] >= 1
        if "options" in f:
            assert f["kind"] == "choice" and all({"value", "box_mm"} <= set(o) for o in f["options"])


def test_show_json_cc01_combs():
    res = runner.invoke(app, ["templates", "show", "cc01", "--json"])
    fields = {f["name"]: f for f in json.loads(res.stdout)["fields"]}
    assert fields["id_number"]["cells"] == 12 and fields["id_number"]["kind"] == "digits"
    assert "cells" not in fields["full_name"]


def test_show_unknown_template_fails():
    res = runner.invoke(app, ["templates", "show", "nosuchform", "--json"])
    assert res.exit_code == EXIT_CODES[TemplateError.code] == 3
    assert "nosuchform" in res.stderr


def test_templates_list():
    res = runner.invoke(app, ["templates", "list"])
    assert res.exit_code == 0
    assert {"dc01@tt66-2015", "cc01@tt41-2019"} <= set(res.stdout.split())


def _md_field_names() -> set[str]:
    """Every field name of dc01.md's field table, person blocks (`mother_*`) expanded like 14a."""
    rows = [line for line in DC01_MD.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and "`" in line]
    names: list[str] = []
    for row in rows:
        names += re.findall(r"`([a-z][a-z0-9_]*\*?)`", row.split("|")[3])
    suffixes = [n[len("father_"):] for n in names if n.startswith("father_")]
    assert suffixes == ["name", "nationality", "other_nationality", "id"]
    out = set()
    for n in names:
        if n.endswith("_*"):
            out |= {n[:-1] + s for s in suffixes}
        else:
            out.add(n)
    return out


def test_dc01_has_every_field_of_the_field_table(dc01):
    want = _md_field_names()
    assert len(want) >= 43  # 3 header + items 1-13 (14) + 4 person blocks (20) + 16, 17 + date + 3 signatures
    assert {"hdr_province", "full_name", "household_book_no", "declared_on", "sig_police_chief",
            "sig_officer", "sig_declarant", "legal_rep_id", "spouse_other_nationality"} <= want
    have = {f.name for f in dc01.fields}
    assert want - have == set()
    for sig in ("sig_police_chief", "sig_officer", "sig_declarant"):
        assert dc01.field(sig).kind == "signature"
    assert dc01.field("dob").kind == "date" and dc01.field("declared_on").kind == "date"
    assert dc01.field("id_number").kind == "digits"


# ----------------------------------------------------------- schema errors

BASE = {
    "name": "broken",
    "version": "v1",
    "title": "Broken test form",
    "page": {"width_mm": 100, "height_mm": 80},
    "registration": {"method": "marks", "marks": [[2, 2, 5, 5], [93, 2, 5, 5], [2, 73, 5, 5]]},
    "static": [{"text": "TEST", "at_mm": [50, 10]}],
    "fields": [
        {"name": "full_name", "label": "Họ tên:", "kind": "name", "box_mm": [10, 20, 80, 7]},
        {"name": "dob", "label": "Ngày sinh:", "kind": "date", "box_mm": [10, 30, 40, 7]},
    ],
}


def _write(tmp_path: Path, data: dict | str) -> Path:
    p = tmp_path / "broken" / "v1.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _load_error(tmp_path: Path, data) -> TemplateError:
    p = _write(tmp_path, data)
    with pytest.raises(TemplateError) as info:
        loader.load_file(p)
    err = info.value
    assert str(p) in str(err), str(err)
    assert err.file == str(p)
    return err


def test_base_template_is_valid(tmp_path):
    t = loader.load_file(_write(tmp_path, BASE))
    assert t.id == "broken@v1" and [f.name for f in t.fields] == ["full_name", "dob"]


def test_invalid_yaml(tmp_path):
    err = _load_error(tmp_path, "name: broken\nfields: [\n  - {name: a, label: 'x'\n")
    assert "YAML" in str(err)


def test_unknown_kind(tmp_path):
    data = copy.deepcopy(BASE)
    data["fields"][1]["kind"] = "checkbox"
    err = _load_error(tmp_path, data)
    assert err.field == "dob" and "field dob" in str(err)
    assert "kind" in str(err) and "checkbox" in str(err)


def test_box_outside_page(tmp_path):
    data = copy.deepcopy(BASE)
    data["fields"][0]["box_mm"] = [30, 20, 80, 7]  # ends at 110 mm on a 100 mm page
    err = _load_error(tmp_path, data)
    assert err.field == "full_name" and "field full_name" in str(err)
    assert "outside" in str(err)


def test_duplicate_field_name(tmp_path):
    data = copy.deepcopy(BASE)
    data["fields"][1]["name"] = "full_name"
    err = _load_error(tmp_path, data)
    assert err.field == "full_name" and "twice" in str(err)


def test_check_binds_unknown_field(tmp_path):
    data = copy.deepcopy(BASE)
    data["checks"] = [{"rule": "not_after", "fields": {"date": "dob", "limit": "declared_on"}}]
    err = _load_error(tmp_path, data)
    assert err.field == "declared_on" and "declared_on" in str(err)
    assert "not_after" in str(err) and "unknown field" in str(err)


def test_missing_required_key_in_field(tmp_path):
    data = copy.deepcopy(BASE)
    del data["fields"][1]["label"]
    err = _load_error(tmp_path, data)
    assert err.field == "dob" and "'label' is a required property" in str(err)


def test_missing_required_top_level_key(tmp_path):
    data = copy.deepcopy(BASE)
    del data["registration"]
    err = _load_error(tmp_path, data)
    assert "registration" in str(err) and "required" in str(err)


def test_choice_without_options(tmp_path):
    data = copy.deepcopy(BASE)
    data["fields"].append({"name": "sex", "label": "Giới tính", "kind": "choice", "box_mm": [10, 40, 40, 7]})
    err = _load_error(tmp_path, data)
    assert err.field == "sex" and "options" in str(err)


def test_missing_template_file(tmp_path):
    with pytest.raises(TemplateError) as info:
        loader.load_file(tmp_path / "absent.yaml")
    assert str(tmp_path / "absent.yaml") in str(info.value)


# ---------------------------------------------------------- render round trip


def test_render_blank_round_trip(dc01):
    img = render.render_blank(dc01, 300, serial="123")
    assert img.shape == (3508, 2480) and img.dtype == np.uint8
    reg = register.register(img, dc01)
    assert reg.ok, reg.reason
    assert reg.residual_px < 0.5
    assert reg.qr_text == "dc01|tt66-2015|123"
    assert qr.parse(reg.qr_text) == ("dc01", "tt66-2015", "123")


def test_render_blank_without_serial_has_no_qr(dc01):
    img = render.render_blank(dc01, 150)
    x, y, w, h = (round(v / 25.4 * 150) for v in dc01.registration.qr_box_mm)
    assert img[y:y + h, x:x + w].min() == 255


@pytest.mark.parametrize("suffix", ["pdf", "png"])
def test_cli_render(tmp_path, suffix):
    out = tmp_path / f"x.{suffix}"
    res = runner.invoke(app, ["templates", "render", "dc01", "--dpi", "150", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 1000
    if suffix == "pdf":
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M)
        w_pt, h_pt = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        assert w_pt == pytest.approx(595, abs=2) and h_pt == pytest.approx(842, abs=2)  # A4
    else:
        with Image.open(out) as im:
            assert im.size == (1240, 1754) and im.mode == "L"
            assert im.info["dpi"][0] == pytest.approx(150, abs=0.5)
