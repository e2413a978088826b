"""Exports with a ``rows:`` mapping (CT01's ``tt66-2023.export.yaml``: one row per household
member): XLSX and JSON Lines read back with real readers give one line per member, a sheet whose
table lists nobody gives one line, a sheet with an unexportable member value is held whole (none
of its members written, listed in the held file, not marked exported); the manifest, the API, the
CLI and the exporters' page give both counts, sheets and rows. Real SQLite store, no OCR."""

from __future__ import annotations

import csv
import json
import re

import openpyxl

from api_fixtures import TestClient, api, fast_hashing, settings  # noqa: F401 - fixtures
from export_fixtures import add_sheets, env, run_export  # noqa: F401 - env is a fixture
from serve_helpers import wait_until
from web_fixtures import login

from ocr_service.forms import loader
from ocr_service.service.export import run

CT01 = loader.load("ct01")
DECLARANT = {"full_name": "Nguyễn Văn An", "dob": "02/03/1970", "sex": "Nam", "id_number": "001070012345",
             "head_name": "Nguyễn Văn An", "relation_to_head": "Chủ hộ"}


def member(r: int, name: str, dob: str, pid: str = "") -> dict:
    return {f"members.{r}.tt": str(r), f"members.{r}.full_name": name, f"members.{r}.dob": dob,
            f"members.{r}.sex": "Nữ", f"members.{r}.personal_id": pid, f"members.{r}.relation": "Con"}


# sheet 0: three members (rows 1, 2 and 4: a skipped row stays skipped); sheet 1: nobody listed;
# sheet 2: two members, the second's date of birth impossible (held whole); sheet 3: one member
SHEETS = [
    {**DECLARANT, **member(1, "Nguyễn Thị Bình", "03/04/2005", "001305000111"),
     **member(2, "Nguyễn Văn Cường", "2010"), **member(4, "Nguyễn Thị Dung", "15/06/2012")},
    {**DECLARANT, "full_name": "Lê Văn Em", "members.1.tt": "1"},  # only the printed-in row number
    {**DECLARANT, "full_name": "Trần Thị Gấm", **member(1, "Trần Văn Hải", "01/01/2001"),
     **member(2, "Trần Thị Lan", "31/02/2001")},
    {**DECLARANT, "full_name": "Phạm Văn Khoa", **member(1, "Phạm Thị Mai", "09/09/1999", "001199000222")},
]
MEMBERS = [("0", 1, "Nguyễn Thị Bình"), ("0", 2, "Nguyễn Văn Cường"), ("0", 4, "Nguyễn Thị Dung"),
           ("1", None, ""), ("3", 1, "Phạm Thị Mai")]


def export(env, fmt, out, **kw):  # noqa: F811 - env is the fixture
    return run_export(env, "ct01", fmt, out, **kw)


def expected(ids: list[int]) -> list[tuple[str, str, str]]:
    """(sheet id, member row, member name) of each line the export should write, in order."""
    return [(str(ids[int(i)]), "" if r is None else str(r), name) for i, r, name in MEMBERS]


def check_manifest(got, ids) -> None:
    m = got.manifest
    assert (m["record_count"], m["row_count"], m["held_count"], m["rows"]) == (3, 5, 1, "members")
    on_disk = json.loads(got.manifest_path.read_text(encoding="utf-8"))
    assert (on_disk["record_count"], on_disk["row_count"]) == (3, 5)
    with got.held_path.open(encoding="utf-8-sig", newline="") as fh:
        held = list(csv.DictReader(fh))
    assert [h["sheet_id"] for h in held] == [str(ids[2])]
    assert "Thành viên 2" in held[0]["reason"] and "members.dob" in held[0]["reason"]


def test_xlsx_writes_one_row_per_member_and_holds_a_sheet_whole(env, tmp_path):
    store, _ = env
    ids = add_sheets(store, SHEETS, template=CT01.id)
    got = export(env, "xlsx", tmp_path / "ct01.xlsx")
    ws = openpyxl.load_workbook(got.path).active
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    lines = [dict(zip(head, ("" if v is None else v for v in r))) for r in rows[1:]]
    assert len(lines) == 5
    assert [(x["Mã phiếu"], x["Dòng thành viên"], x["Họ, chữ đệm và tên thành viên"]) for x in lines] == expected(ids)
    # the declarant's own fields are repeated on each member's line; IDs keep their leading zeros as text
    assert {x["Họ, chữ đệm và tên người kê khai"] for x in lines[:3]} == {"Nguyễn Văn An"}
    assert lines[0]["Số định danh thành viên"] == "001305000111" and lines[0]["Tên thành viên"] == "Bình"
    assert "Trần" not in json.dumps(lines, ensure_ascii=False)  # nothing of the held sheet
    check_manifest(got, ids)
    # the held sheet is not marked exported: the next export takes it again (held again), nothing else
    again = export(env, "xlsx", tmp_path / "again.xlsx")
    assert (again.manifest["record_count"], again.manifest["row_count"], again.manifest["held_count"]) == (0, 0, 1)


def test_jsonl_writes_one_object_per_member(env, tmp_path):
    store, _ = env
    ids = add_sheets(store, SHEETS, template=CT01.id)
    got = export(env, "jsonl", tmp_path / "ct01.jsonl")
    text = got.path.read_text(encoding="utf-8")
    objs = [json.loads(line) for line in text.splitlines()]
    assert len(objs) == 5 == got.manifest["row_count"]
    assert [(o["ma_phieu"], o["tv_dong"], o["tv_ho_ten"]) for o in objs] == expected(ids)
    assert objs[1]["tv_ngay_sinh"] == "2010" and objs[3]["ho_ten"] == "Lê Văn Em" and objs[3]["tv_tt"] == ""
    assert "Trần" not in text
    check_manifest(got, ids)
    # a rerun rebuilds the same lines from the snapshot
    res = run.rerun(store, got.export_id, tmp_path / "rerun.jsonl", actor="t", source="test")
    assert res.matches and (tmp_path / "rerun.jsonl").read_text(encoding="utf-8") == text


def test_cli_says_sheets_and_rows(env, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ocr_service.cli import app

    store, settings = env
    add_sheets(store, SHEETS, template=CT01.id)
    monkeypatch.setenv("OCR_SERVICE_DATA_DIR", str(settings.data_dir))
    out = tmp_path / "cli.jsonl"
    res = CliRunner().invoke(app, ["export", "--template", "ct01", "--format", "jsonl", "--out", str(out),
                                   "--no-progress"])
    assert res.exit_code == 1, res.stderr  # one sheet held
    assert re.search(r"export \d+: 3 records \(5 rows, one per entry of members\) to ", res.stderr), res.stderr
    assert "held: 1 records" in res.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5


def test_api_and_page_show_sheets_and_rows(api):  # noqa: F811
    add_sheets(api.store, SHEETS, template=CT01.id)
    add_sheets(api.store, [{"full_name": "Đinh Công Mạnh"}], batch="dc", template="dc01@tt66-2015")
    ids = {}
    for tpl in ("ct01", "dc01"):
        res = api.post("/api/v1/exports", as_="exporter", json={"template": tpl, "format": "csv"})
        assert res.status_code == 202, res.text
        ids[tpl] = res.json()["id"]

        def done(i=ids[tpl]):
            got = api.get(f"/api/v1/exports/{i}", as_="exporter").json()
            return got if got["status"] in ("done", "failed") else None

        got = wait_until(done, 60, "the export to finish")
        assert got["status"] == "done", got
    ct = api.get(f"/api/v1/exports/{ids['ct01']}", as_="exporter").json()
    assert (ct["record_count"], ct["row_count"], ct["held_count"], ct["rows"]) == (3, 5, 1, "members")
    dc = api.get(f"/api/v1/exports/{ids['dc01']}", as_="exporter").json()
    assert (dc["record_count"], dc["row_count"], dc["rows"]) == (1, 1, None)
    # the exporters' page: sheets and data rows for the per-member export, the plain count otherwise
    client = TestClient(api.app)  # a browser's session (the fixture's users have PASSWORD)
    assert login(client, "exporter").status_code == 303
    html = client.get("/exports").text
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'data-export="(\d+)">.*?</tr>', html, re.S)}
    count = re.compile(r'<td class="count">(.*?)</td>', re.S)
    assert re.sub(r"\s+", " ", count.search(rows[ids["ct01"]]).group(1)) == (
        '3 phiếu<br><span class="rows">5 dòng dữ liệu</span>')
    assert count.search(rows[ids["dc01"]]).group(1).strip() == "1"
