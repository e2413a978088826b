"""Repeated groups (a table of N rows of named columns) and CT01, the form that has one.

The loader expands a group into ordinary cell fields (``members.2.full_name``) and refuses a
malformed one with the file and the reason; ``templates author`` finds the ruled member table on
the real CT01 blank and places every cell; generated CT01 sheets read with real Tesseract, blank
rows stay blank (never "required but missing"); the store keeps the cells, the API lists the
members, and the export writes one row per member (``rows: members``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from api_fixtures import TestClient, bearer, fast_hashing, make_tokens  # noqa: F401 - fixture
from jobs_helpers import cli, cli_env
from ocr_service.cli import app
from ocr_service.errors import MappingError, TemplateError
from ocr_service.forms import author, loader
from ocr_service.forms.model import split_cell_name
from ocr_service.pipeline import authoring
from ocr_service.pipeline.recheck import recheck
from ocr_service.service.export.mapping import load_mapping
from ocr_service.service.export.transform import Record, apply_rows
from ocr_service.synth import fill

runner = CliRunner()
CT01 = loader.load("ct01")
CT01_FILE = Path(CT01.source)
COLUMNS = ["tt", "full_name", "dob", "sex", "personal_id", "relation"]


# -- the template format ---------------------------------------------------------------------------

def test_group_expands_into_cell_fields():
    g = CT01.group("members")
    assert len(g.rows_mm) == 9 and [c.name for c in g.columns] == COLUMNS
    cells = [f for f in CT01.fields if f.group == "members"]
    assert len(cells) == 9 * 6 and len(CT01.single_fields) == 12
    f = CT01.field("members.2.full_name")
    assert (f.group, f.row, f.column, f.kind) == ("members", 2, "full_name", "name")
    assert f.label == "Thành viên 2 – Họ, chữ đệm và tên"
    assert f.validators == ("person_name",) and f.export == "ho_ten"
    assert not f.required and f.row_required  # required only in a row that is an entry
    # the cell's box is its column across, its row down
    x, w = g.columns[1].x_mm, g.columns[1].w_mm
    y, h = g.rows_mm[1]
    assert f.box_mm == (x, y, w, h)
    assert CT01.field("members.9.relation").vocabulary == "relation_to_head"
    assert split_cell_name("members.9.relation") == ("members", 9, "relation") and split_cell_name("dob") is None
    shown = CT01.to_json()
    assert shown["groups"][0]["rows"] == 9 and shown["groups"][0]["columns"] == COLUMNS
    assert any(d["name"] == "members.1.tt" and d["row"] == 1 for d in shown["fields"])


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "ct01-blank.pdf").write_bytes((CT01_FILE.parent / "ct01-blank.pdf").read_bytes())
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _data() -> dict:
    return yaml.safe_load(CT01_FILE.read_text(encoding="utf-8"))


def test_rows_by_pitch_equal_rows_listed(tmp_path):
    d = _data()
    g = d["groups"][0]
    del g["rows_mm"]
    g.update(first_row_mm=160.5, row_pitch_mm=8.0, row_height_mm=7.8)
    t = loader.load_file(_write(tmp_path, d))
    assert t.group("members").rows_mm[2] == (176.5, 7.8)
    assert t.field("members.3.dob").box_mm[1:4:2] == (176.5, 7.8)


@pytest.mark.parametrize("change, words", [
    (lambda g: g.update(rows_mm=[[160, 8], [165, 8]], rows=2), ["row 2", "overlaps row 1"]),
    (lambda g: g.pop("rows_mm"), ["rows_mm", "missing: first_row_mm, row_pitch_mm"]),
    (lambda g: g.update(first_row_mm=160, row_pitch_mm=8), ["not both"]),
    (lambda g: g.update(rows=8), ["rows is 8 but rows_mm gives 9"]),
    (lambda g: g["columns"].append(dict(g["columns"][0])), ["column 'tt' given twice"]),
    (lambda g: g["columns"][2].update(x_mm=[80.0, 26.0]), ["column 'dob' overlaps column 'full_name'"]),
    (lambda g: g["columns"][5].update(x_mm=[161.25, 60.0]), ["runs outside the 210×297 mm page"]),
    (lambda g: g.update(name="dob"), ["already used by a field"]),
    (lambda g: g["columns"][1].update(cells=12), ["groups/0/columns/1", "cells"]),
    (lambda g: g["columns"][1].update(kind="choice"), ["groups/0/columns/1/kind"]),
])
def test_a_malformed_group_is_refused_naming_the_file_and_the_problem(tmp_path, change, words):
    d = _data()
    change(d["groups"][0])
    path = _write(tmp_path, d)
    with pytest.raises(TemplateError) as info:
        loader.load_file(path)
    msg = str(info.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg
    assert info.value.field in ("members", "dob")


def test_checks_may_bind_cells_and_unknown_cells_are_refused(tmp_path):
    d = _data()
    d["checks"].append({"rule": "id_vs_sex_dob", "fields": {"id": "members.1.personal_id", "sex": "members.1.sex",
                                                           "dob": "members.1.dob"}})
    assert loader.load_file(_write(tmp_path, d)).checks[-1]["fields"]["id"] == "members.1.personal_id"
    d["checks"][-1]["fields"]["id"] = "members.10.personal_id"
    with pytest.raises(TemplateError, match="unknown field 'members.10.personal_id'"):
        loader.load_file(_write(tmp_path, d))


def test_a_check_on_a_group_runs_on_every_row(tmp_path):
    per_row = [c for c in CT01.checks if c["fields"].get("id", "").startswith("members.")]
    assert [c["fields"]["id"] for c in per_row] == [f"members.{r}.personal_id" for r in range(1, 10)]
    values = {"members.3.full_name": "Lê Văn An", "members.3.dob": "01/02/1995", "members.3.sex": "Nữ",
              "members.3.personal_id": "001095012345"}  # the ID says a man born in 1995
    assert [p.reason for p in recheck(CT01, values)["members.3.sex"]] == ["check:id_vs_sex_dob: ID says Nam, sex reads Nữ"]
    d = _data()
    d["checks"][-1]["fields"]["id"] = "id_number"
    with pytest.raises(TemplateError, match="binds 'id' to 'id_number', not a column of group 'members'"):
        loader.load_file(_write(tmp_path, d))


def test_blank_rows_need_nothing_an_entry_needs_its_required_cells():
    values = {"members.1.tt": "1", "members.2.tt": "2", "members.2.full_name": "Lê Thị Bình"}
    problems = recheck(CT01, values)
    cells = {k for k in problems if k.startswith("members.")}
    # row 1 holds only its number: not an entry; row 2 lacks its date of birth
    assert cells == {"members.2.dob"} and problems["members.2.dob"][0].reason == "empty_required"
    assert CT01.group("members").filled_rows(values) == [2]


# -- authoring from the real blank -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def authored(tmp_path_factory):
    out = tmp_path_factory.mktemp("author-ct01") / "ct01-fresh.yaml"
    done = authoring.author_template(CT01_FILE.parent / "ct01-blank.pdf", CT01, out)
    return done, loader.load_file(done.template_path)


def test_author_places_every_member_table_cell(authored):
    done, new = authored
    assert done.text_source == "text layer"
    assert [f.name for f in new.fields] == [f.name for f in CT01.fields]
    g = new.group("members")
    assert len(g.rows_mm) == 9 and [c.name for c in g.columns] == COLUMNS
    cells = {p.name: p for p in done.placements if p.name.startswith("members.")}
    assert len(cells) == 54 and all(p.method == "table" and not p.doubtful for p in cells.values())
    rows = author.compare(CT01, {f.name: f.box_mm for f in new.fields})
    assert len(rows) == len(CT01.fields)
    cell_off = {name: d for name, *_, d in rows if name.startswith("members.")}
    assert len(cell_off) == 54 and max(cell_off.values()) <= 0.3, cell_off  # from the ruled lines themselves
    worst = {name: d for name, *_, d in rows if d > 1.5}
    assert not worst, f"boxes off by more than 1.5 mm: {worst}"
    # what is not a box is kept: kinds, validators, vocabularies, exports
    f = new.field("members.4.relation")
    assert (f.kind, f.vocabulary, f.export) == ("text", "relation_to_head", "quan_he_chu_ho")
    assert new.group("members").columns[0].row_number


def test_author_places_every_cell_on_a_scan_of_the_blank(tmp_path):
    """No text layer: Tesseract reads the labels and headers (it misreads "T / T"), the grid is the same."""
    import numpy as np

    from ocr_service.forms import render
    from ocr_service.synth import scan

    img, _ = scan.simulate_scan(np.array(render.reference_print(CT01, 300)), scan.ScanParams(
        skew_deg=-1.0, noise_sigma=3.0, blur_sigma=0.6, light_strength=0.15), src_dpi=300)
    blank = scan.write_png(img, tmp_path / "ct01-scanned.png", dpi=300)
    done = authoring.author_template(blank, CT01, tmp_path / "out" / "ct01-scanned.yaml")
    assert done.text_source == "ocr"
    new = loader.load_file(done.template_path)
    rows = author.compare(CT01, {f.name: f.box_mm for f in new.fields})
    assert len(rows) == len(CT01.fields)
    d = np.array([r[1:5] for r in rows])
    dev = dict(zip([r[0] for r in rows], np.abs(d - np.median(d, axis=0)).max(axis=1)))  # the scan's offset out
    cells = {n: v for n, v in dev.items() if n.startswith("members.")}
    assert len(cells) == 54 and max(cells.values()) <= 1.0, cells
    assert max(dev.values()) <= 1.5, {n: v for n, v in dev.items() if v > 1.5}


def test_author_names_the_column_whose_header_is_not_printed(tmp_path):
    d = _data()
    d["groups"][0]["columns"][3]["label"] = "Nghề nghiệp hiện nay"
    like = loader.load_file(_write(tmp_path, d))
    with pytest.raises(author.AuthorError) as info:
        authoring.author_template(tmp_path / "ct01-blank.pdf", like, tmp_path / "out" / "x.yaml")
    assert info.value.field == "members.1.sex" and "Nghề nghiệp hiện nay" in str(info.value)


def test_a_header_misread_by_ocr_is_placed_by_the_columns_order():
    cols = CT01.group("members").columns
    found = author.match_columns(cols, ["IE 1E", "Họ, chữ đệm và tên", "Ngày, tháng, năm sinh", "Giới tính",
                                        "Số định danh cá nhân", "Mối quan hệ với chủ hộ"])
    assert "tt" not in found and found["full_name"][0] == 1
    assert author._fill_by_order(cols, 6, found) == {"tt"} and found["tt"] == (0, author.BY_ORDER_SCORE)
    # two unread headers for one unmatched column: no guess
    found = author.match_columns(cols, ["IE 1E", "xx", "Họ, chữ đệm và tên", "Ngày, tháng, năm sinh", "Giới tính",
                                        "Số định danh cá nhân", "Mối quan hệ với chủ hộ"])
    assert author._fill_by_order(cols, 7, found) == set() and "tt" not in found


def test_author_says_when_there_is_no_table(tmp_path):
    cc01 = loader.load("cc01")
    d = _data()
    like = loader.load_file(_write(tmp_path, d))
    blank = authoring.read_blank(cc01.reference_pdf)[0]
    with pytest.raises(author.AuthorError) as info:
        author.place_group(blank, like.group("members"))
    assert info.value.field == "members" and "ruled table" in str(info.value)


# -- generated sheets: extract, store, API, export ----------------------------------------------------------

@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("ct01-sheets")
    entries = fill.generate(CT01, 2, 5, out, style="printed", formats=("png",))
    return out, entries


def test_generated_sheets_fill_some_rows_and_leave_the_rest_blank(sheets):
    _, entries = sheets
    for e in entries:
        filled = CT01.group("members").filled_rows(e["fields"])
        assert filled == list(range(1, len(filled) + 1))
        for r in range(len(filled) + 1, 10):
            assert all(e["fields"][f"members.{r}.{c}"] == "" for c in COLUMNS)
        for r in filled:
            assert e["fields"][f"members.{r}.tt"] == str(r) and e["fields"][f"members.{r}.full_name"]
    assert sum(len(CT01.group("members").filled_rows(e["fields"])) for e in entries) >= 3


def test_extract_reads_the_member_table_with_tesseract(sheets):
    out, entries = sheets
    e = entries[1]
    res = runner.invoke(app, ["extract", str(out / e["file"]), "--template", "ct01", "--json"])
    assert res.exit_code in (0, 1), res.output
    page = json.loads(res.stdout.splitlines()[0])
    assert page["status"] == "ok"
    got = {f["name"]: f for f in page["fields"]}
    assert set(got) == {f.name for f in CT01.fields}
    truth = e["fields"]
    cells = [n for n in truth if n.startswith("members.") and truth[n]]
    right = [n for n in cells if got[n]["value"] == truth[n]]
    assert len(cells) >= 10 and len(right) >= 0.9 * len(cells), [(n, truth[n], got[n]["value"]) for n in cells]
    # the page line lists the table's entries: the rows that hold writing, each column's value
    entries = page["groups"]["members"]
    assert [e["row"] for e in entries] == CT01.group("members").filled_rows(truth)
    assert entries[0]["values"] == {c: got[f"members.1.{c}"]["value"] for c in COLUMNS}
    blank = [n for n in truth if n.startswith("members.") and not truth[n]]
    for n in blank:  # blank rows: blank, and nothing to review
        assert got[n]["value"] == "" and "empty_required" not in got[n]["reasons"], got[n]


@pytest.fixture(scope="module")
def ingested(sheets, tmp_path_factory):
    out, entries = sheets
    data = tmp_path_factory.mktemp("ct01-data") / "data"
    env = cli_env(data)
    res = cli(["ingest", *(str(out / e["file"]) for e in entries), "--batch", "ct", "--template", "ct01",
               "--workers", "1"], env, timeout=300)
    assert res.returncode in (0, 1), res.stderr
    return data, env, entries


def test_store_api_and_export_list_the_members(ingested, tmp_path):
    from ocr_service.service.api import create_app
    from ocr_service.service.store import open_store
    from ocr_service.service.store import repository as repo
    from ocr_service.service.store.models import FieldRow, Sheet
    from ocr_service.settings import Settings

    data, env, entries = ingested
    settings = Settings(data_dir=data)
    store = open_store(settings.database, data)
    try:
        with store.session(write=False) as s:
            sheets = list(s.scalars(repo.select(Sheet).order_by(Sheet.id)))
            fields = list(s.scalars(repo.select(FieldRow).where(FieldRow.sheet_id == sheets[0].id)))
        assert len(sheets) == 2
        assert {f.name for f in fields} == {f.name for f in CT01.fields}  # every cell kept, by name
        tokens = make_tokens(store)
        client = TestClient(create_app(settings, store))
        listed = []
        for sh in sheets:
            body = client.get(f"/api/v1/sheets/{sh.id}", headers=bearer(tokens["admin"])).json()
            members = body["groups"]["members"]
            assert [m["row"] for m in members] == list(range(1, len(members) + 1))
            for m in members:
                assert set(m["values"]) == set(COLUMNS) and set(m["field_ids"]) == set(COLUMNS)
            listed.append(members)
    finally:
        store.close()
    truth = [CT01.group("members").filled_rows(e["fields"]) for e in entries]
    assert [len(m) for m in listed] == [len(t) for t in truth]

    # the revisit list (what an officer takes back to the households) holds no cell of a blank row
    res = cli(["reports", "show", "--kind", "revisits", "--batch", "ct", "--json"], env)
    assert res.returncode == 0, res.stderr
    revisits = json.dumps(json.loads(res.stdout), ensure_ascii=False)
    for members, e in zip(listed, entries):
        for r in range(len(members) + 1, 10):
            assert f"Thành viên {r} –" not in revisits and f"members.{r}." not in revisits

    csv_path = tmp_path / "ct01.csv"
    res = cli(["export", "--template", "ct01", "--format", "csv", "--out", str(csv_path), "--pending"], env)
    assert res.returncode in (0, 1), res.stderr
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # one row per member (a sheet listing nobody would still give one row)
    assert len(rows) == sum(max(1, len(m)) for m in listed)
    for sheet_members, sh in zip(listed, sheets):
        mine = [r for r in rows if r["Mã phiếu"] == str(sh.id)]
        assert [r["Dòng thành viên"] for r in mine] == [str(m["row"]) for m in sheet_members]
        assert [r["Họ, chữ đệm và tên thành viên"] for r in mine] == [m["values"]["full_name"] for m in sheet_members]
        assert len({r["Họ, chữ đệm và tên người kê khai"] for r in mine}) == 1  # the declarant on each row


def test_export_rows_option_in_the_mapping(tmp_path):
    m = load_mapping(CT01)
    assert m.group is not None and m.group.name == "members"
    values = {"full_name": "Nguyễn Văn An", "members.1.tt": "1", "members.1.full_name": "Nguyễn Thị Bình",
              "members.1.dob": "03/04/2005", "members.3.full_name": "Nguyễn Văn Cường", "members.3.dob": "2010",
              "members.9.tt": "9"}
    rows = apply_rows(m, Record(1, "verified", values, {}, {"sheet_id": 1}))
    ids = m.layout().ids
    got = [dict(zip(ids, r)) for r in rows]
    assert [(r["tv_dong"], r["tv_ho_ten"], r["tv_ten"], r["tv_ngay_sinh"]) for r in got] == [
        ("1", "Nguyễn Thị Bình", "Bình", "03/04/2005"), ("3", "Nguyễn Văn Cường", "Cường", "2010")]
    assert all(r["ho_ten"] == "Nguyễn Văn An" for r in got)
    nobody = apply_rows(m, Record(2, "verified", {"full_name": "Lê Văn D"}, {}, {"sheet_id": 2}))
    assert len(nobody) == 1 and dict(zip(ids, nobody[0]))["tv_ho_ten"] == ""
    held = apply_rows(m, Record(3, "verified", {"members.2.full_name": "X Y", "members.2.dob": "31/02/2001"}, {}, {}))
    assert "Thành viên 2" in held.reason and "members.dob" in held.reason
    # a mapping naming a group the template lacks, or a table column without rows:, is refused with its line
    src = Path(m.path).read_text(encoding="utf-8")
    bad = tmp_path / "bad.export.yaml"
    bad.write_text(src.replace("rows: members", "rows: children"), encoding="utf-8")
    with pytest.raises(MappingError, match=r"line \d+: rows names 'children'"):
        load_mapping(CT01, bad)
    bad.write_text(src.replace("rows: members\n", ""), encoding="utf-8")
    with pytest.raises(MappingError, match=r"unknown field 'members.tt'.*rows: members"):
        load_mapping(CT01, bad)


def test_sheet_mode_names_a_table_cell_by_its_row(tmp_path, fast_hashing):  # noqa: F811
    from store_fixtures import field, result, sha
    from web_fixtures import add_users, csrf_of, login

    from ocr_service.service.api import create_app
    from ocr_service.service.store import open_store
    from ocr_service.service.store import repository as repo
    from ocr_service.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", engines="fake")
    store = open_store(settings.database, settings.data_dir, create=True)
    try:
        add_users(store)
        with store.session() as s:
            b = repo.create_batch(s, "ct", template=CT01.id)
            f = repo.add_file(s, b.id, sha256=sha(4100), original_name="ct01.jpg", size_bytes=1).row
            repo.add_pages(s, f.id, [{"page": 1, "sha256": sha(4200)}], enqueue=False)
            res = result(1, fields=[field("full_name", value="NGUYỄN VĂN AN", kind="name"),
                                    field("members.2.full_name", "needs_review", "LÊ THỊ BÌNH", "name")])
            repo.write_result(s, f.id, {**res, "template": CT01.id})
        c = TestClient(create_app(settings, store))
        assert login(c, "reviewer").status_code == 303
        page = c.get("/review/sheet")
        claimed = c.post("/review/sheet", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert claimed.status_code == 303, claimed.text
        html = c.get(claimed.headers["location"]).text
        assert "Thành viên 2 – Họ, chữ đệm và tên" in html
    finally:
        store.close()
