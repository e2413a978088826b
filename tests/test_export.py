"""Exports: round trips through real readers (csv, openpyxl, lxml), formula escaping, byte-identical
reruns, incremental exports, pending sheets, both ethnic code lists, held records, mapping errors,
XSD validation, an export killed mid-way, and the CLI's output. Real SQLite store, no OCR (records
are inserted as the review station leaves them)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from export_fixtures import PEOPLE, add_sheets, env, run_export  # noqa: F401 - env is a fixture
from store_fixtures import BACKENDS, db_url, pg_cluster, store  # noqa: F401 - fixtures
from ocr_service.errors import ConflictError, InvalidRequestError, MappingError
from ocr_service.forms import loader
from ocr_service.service.export import qcvn109, run
from ocr_service.service.export.formats import xml as xml_format
from ocr_service.service.export.mapping import load_mapping, mapping_path
from ocr_service.service.store import repository as repo
from ocr_service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
NS = {"dc": qcvn109.NAMESPACE}
DC01 = loader.load("dc01")

CODES_2008 = {"Hoa": "06", "Khơ-me": "05", "Mường": "04"}
CODES_1979 = {"Hoa": "04", "Khơ-me": "05", "Mường": "06"}


def export(env, fmt, out, **kw):  # noqa: F811 - env is the fixture
    return run_export(env, "dc01", fmt, out, **kw)


def read_csv(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def read_xlsx(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=False).active
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows())
    head = [c.value for c in rows[0]]
    out = []
    for r in rows[1:]:
        for c in r:
            assert c.value is None or c.data_type == "s", (c.coordinate, c.value, c.data_type)  # text cells only
        out.append({h: ("" if c.value is None else c.value) for h, c in zip(head, r)})
    return out


def test_round_trip_in_every_format(env, tmp_path):
    store, _ = env
    verified = [{"full_name": "Nguyễn Thị Thủy"}, None, None]  # a reviewer's value wins over the pipeline's
    add_sheets(store, PEOPLE, verified=verified)
    expected_names = ["Nguyễn Thị Thủy", "Tôn Nữ Minh Khuê", "Đinh Công Mạnh"]

    rows = read_csv(export(env, "csv", tmp_path / "a.csv").path)
    assert [r["Họ, chữ đệm và tên khai sinh"] for r in rows] == expected_names
    assert [r["Số định danh cá nhân"] for r in rows] == ["001190012345", "094148000777", "017075000099"]
    assert [(r["Họ"], r["Chữ đệm"], r["Tên"]) for r in rows] == [("Nguyễn", "Thị", "Thủy"), ("Tôn Nữ", "Minh", "Khuê"),
                                                                  ("Đinh", "Công", "Mạnh")]
    assert [r["Ngày, tháng, năm sinh"] for r in rows] == ["05/03/1990", "1948", "17/11/1975"]  # year-only stays
    assert [r["Mã dân tộc"] for r in rows] == ["06", "05", "04"]
    assert {r["Danh mục mã dân tộc"] for r in rows} == {"ethnicity-1019-2008"}
    assert rows[0]["Mã tôn giáo"] == "00" and rows[1]["Mã tôn giáo"] == "01"
    assert rows[0]["Nơi ở hiện tại"] == PEOPLE[0]["permanent_address"]  # "như trên" is the address above
    assert rows[1]["Mã ĐVHC thường trú"] == "00001" and rows[2]["Số CMND"] == ""
    for r in rows:
        for v in r.values():
            assert unicodedata.is_normalized("NFC", v)
    assert rows[0]["Họ, chữ đệm và tên khai sinh"].encode() == "Nguyễn Thị Thủy".encode()  # no re-toning

    x = read_xlsx(export(env, "xlsx", tmp_path / "a.xlsx", include_exported=True).path)
    assert [{k: r[k] for k in rows[0]} for r in x] == rows

    lines = [json.loads(l) for l in (export(env, "jsonl", tmp_path / "a.jsonl", include_exported=True).path
                                      .read_text(encoding="utf-8").splitlines())]
    assert [l["ho_ten"] for l in lines] == expected_names and lines[0]["so_dinh_danh"] == "001190012345"
    assert lines[2]["ma_dan_toc"] == "04" and lines[1]["ngay_sinh"] == "1948"

    path = export(env, "xml", tmp_path / "a.xml", include_exported=True).path
    doc = etree.parse(str(path))
    xml_format.schema().assertValid(doc)
    root = doc.getroot()
    assert root.tag == f"{{{qcvn109.NAMESPACE}}}CongdanCollection" and root.get("SoCongDan") == "3"
    people = root.findall("dc:CongDan", NS)
    assert [p.findtext("dc:SoDinhDanh", namespaces=NS) for p in people] == ["001190012345", "094148000777",
                                                                           "017075000099"]
    assert [p.findtext("dc:HoVaTen/dc:Ho", namespaces=NS) for p in people] == ["Nguyễn", "Tôn Nữ", "Đinh"]
    assert people[0].findtext("dc:HoVaTen/dc:Ten", namespaces=NS) == "Thủy"
    assert [p.findtext("dc:DanToc/dc:MaDanToc", namespaces=NS) for p in people] == ["06", "05", "04"]
    assert [p.findtext("dc:NgayThangNamSinh/dc:NgayThangNam", namespaces=NS) for p in people] == [
        "1990-03-05", "1948", "1975-11-17"]
    assert [p.findtext("dc:GioiTinh", namespaces=NS) for p in people] == ["2", "2", "1"]
    assert people[1].findtext("dc:ThuongTru/dc:MaDonViHanhChinh", namespaces=NS) == "00001"
    assert people[0].findtext("dc:Cha/dc:HoVaTen/dc:Ten", namespaces=NS) == "Hoà"
    assert people[0].findtext("dc:Cha/dc:QuocTich", namespaces=NS) == "VN"
    assert people[2].findtext("dc:VoChong/dc:SoCMND", namespaces=NS) == "031975123"


def test_csv_escapes_formulas_xlsx_keeps_text(env, tmp_path):
    store, _ = env
    evil = ["=HYPERLINK(\"http://x\",\"y\")", "+84 123", "-5", "@SUM(A1)", "\tTab"]
    add_sheets(store, [{"full_name": v, "id_number": "001190012345"} for v in evil])
    rows = read_csv(export(env, "csv", tmp_path / "e.csv").path)
    assert [r["Họ, chữ đệm và tên khai sinh"] for r in rows] == ["'" + v for v in evil]
    x = read_xlsx(export(env, "xlsx", tmp_path / "e.xlsx", include_exported=True).path)
    assert [r["Họ, chữ đệm và tên khai sinh"] for r in x] == evil  # text cells: never formulas


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl", "xml"])
def test_rerun_is_byte_identical_whatever_changed_since(env, tmp_path, fmt):
    store, settings = env
    ids = add_sheets(store, PEOPLE)
    first = export(env, fmt, tmp_path / f"x.{fmt}")
    original = first.path.read_bytes()
    assert first.manifest["files"][0]["sha256"] == hashlib.sha256(original).hexdigest()
    time.sleep(1.1)  # a clock in the file would now differ
    with store.session() as s:  # a value changes after the export
        f = next(f for f in repo.list_fields(s, sheet_id=ids[0], limit=100).items if f.name == "full_name")
        repo.verify_field(s, f.id, version=f.version, value="Nguyễn Thị Thu", actor="reviewer1")
    again = run.rerun(store, first.export_id, tmp_path / f"again.{fmt}", actor="exporter1", source="test")
    assert again.matches and (tmp_path / f"again.{fmt}").read_bytes() == original
    fresh = export(env, fmt, tmp_path / f"fresh.{fmt}", include_exported=True)
    assert fresh.path.read_bytes() != original  # a new export does see the change


def test_an_export_takes_only_records_not_exported_before(env, tmp_path):
    store, _ = env
    first_ids = add_sheets(store, PEOPLE[:2])
    first = read_csv(export(env, "csv", tmp_path / "1.csv").path)
    assert [int(r["Mã phiếu"]) for r in first] == first_ids
    new_ids = add_sheets(store, PEOPLE[2:] + PEOPLE[:1])
    second = read_csv(export(env, "csv", tmp_path / "2.csv").path)
    assert [int(r["Mã phiếu"]) for r in second] == new_ids
    with store.session(write=False) as s:
        assert repo.exported_sheet_ids(s) == set(first_ids + new_ids)
        assert repo.exported_sheet_ids(s, first_ids[:1]) == set(first_ids[:1])
    assert read_csv(export(env, "csv", tmp_path / "3.csv").path) == []
    assert len(read_csv(export(env, "csv", tmp_path / "4.csv", include_exported=True).path)) == 4
    assert len(read_csv(export(env, "csv", tmp_path / "5.csv", batches=("b1",), include_exported=True).path)) == 4
    with pytest.raises(Exception, match="no batch named"):
        export(env, "csv", tmp_path / "6.csv", batches=("nope",))


def test_pending_sheets_only_on_request_with_status_columns(env, tmp_path):
    store, _ = env
    done = add_sheets(store, PEOPLE[:1])
    pending = add_sheets(store, PEOPLE[1:2], statuses=[{"dob": "needs_review"}])
    rejected = add_sheets(store, PEOPLE[2:], statuses=[{"religion": "rejected"}])
    assert [int(r["Mã phiếu"]) for r in read_csv(export(env, "csv", tmp_path / "v.csv").path)] == done
    rows = read_csv(export(env, "csv", tmp_path / "p.csv", include_pending=True).path)
    assert [int(r["Mã phiếu"]) for r in rows] == pending + rejected
    assert rows[0]["Trạng thái phiếu"] == "needs_review" and rows[0]["Trường chưa hoàn tất"] == "dob: needs_review"
    assert rows[1]["Trường chưa hoàn tất"] == "religion: rejected" and rows[1]["Tôn giáo"] == ""
    with store.session(write=False) as s:  # went out pending: still not exported
        assert repo.exported_sheet_ids(s, pending + rejected) == set()


def _mapping_copy(tmp_path: Path, **replace: str) -> Path:
    text = mapping_path(DC01).read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "tt66-2015.export.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_both_ethnic_code_lists(env, tmp_path, monkeypatch):
    store, _ = env
    add_sheets(store, PEOPLE)
    rows = read_csv(export(env, "csv", tmp_path / "2008.csv").path)
    assert {r["Dân tộc"]: r["Mã dân tộc"] for r in rows} == CODES_2008
    path = _mapping_copy(tmp_path, **{"ethnicity: ethnicity-1019-2008": "ethnicity: ethnicity-121-1979"})
    monkeypatch.setattr(run, "load_mapping", lambda t, pending=False: load_mapping(t, path, pending=pending))
    got = export(env, "csv", tmp_path / "1979.csv", include_exported=True)
    rows = read_csv(got.path)
    assert {r["Dân tộc"]: r["Mã dân tộc"] for r in rows} == CODES_1979
    assert {r["Danh mục mã dân tộc"] for r in rows} == {"ethnicity-121-1979"}
    assert got.manifest["code_lists"]["ma_dan_toc"] == "ethnicity-121-1979"
    with pytest.raises(MappingError, match=r"line \d+: MaDanToc: QCVN 109 uses the code list ethnicity-1019-2008"):
        export(env, "xml", tmp_path / "1979.xml", include_exported=True)  # QCVN 109 prescribes the 2008 list


def test_ambiguous_unit_conversion_is_held_not_exported(env, tmp_path, monkeypatch):
    store, _ = env
    split = "Ấp 1, Xã Tân Thạnh, Huyện Thới Lai, Thành phố Cần Thơ"  # split among two post-2025 communes
    ids = add_sheets(store, [PEOPLE[1], {**PEOPLE[2], "permanent_address": split}])
    path = _mapping_copy(tmp_path, **{"admin_units: pre2025": "admin_units: post2025"})
    monkeypatch.setattr(run, "load_mapping", lambda t, pending=False: load_mapping(t, path, pending=pending))
    got = export(env, "csv", tmp_path / "new.csv")
    rows = read_csv(got.path)
    assert [int(r["Mã phiếu"]) for r in rows] == ids[:1]
    assert rows[0]["Thường trú - quận/huyện"] == "" and rows[0]["Thường trú - tỉnh/thành phố"] == "Thành phố Hà Nội"
    assert got.manifest["held_count"] == 1 and got.held_path is not None
    held = read_csv(got.held_path)
    assert held[0]["sheet_id"] == str(ids[1]) and "split among 2" in held[0]["reason"]
    assert "permanent_address" in held[0]["reason"] and "xatruongthanh" in held[0]["reason"]
    with store.session(write=False) as s:
        assert repo.exported_sheet_ids(s) == {ids[0]}  # the held record waits for the exporter


@pytest.mark.parametrize("old,new,message", [
    ("{id: dan_toc, header: Dân tộc, field: ethnicity}", "{id: dan_toc, header: Dân tộc, field: ethnicty}",
     "unknown field 'ethnicty'"),
    ("{id: nhom_mau, header: Nhóm máu,", "{id: gioi_tinh, header: Nhóm máu,", "duplicate column 'gioi_tinh'"),
    ("{id: nhom_mau, header: Nhóm máu,", "{id: nhom_mau, header: Giới tính,", "duplicate column header 'Giới tính'"),
    ("date_format: dd/mm/yyyy ", "date_format: dd/mm/yy ", "unknown part 'y'"),
    ("{id: ngay_khai, header: Ngày khai, field: declared_on}",
     "{id: ngay_khai, header: Ngày khai, field: declared_on, date_format: yyyy-dd}", "must hold mm or m"),
    ("religion: religion-1019-2008", "religion: religion-2030", "unknown code list 'religion-2030'"),
    ("{id: ma_dan_toc, header: Mã dân tộc, field: ethnicity, code: ethnicity}",
     "{id: ma_dan_toc, header: Mã dân tộc, field: ethnicity, code: religion}", "is for religion values"),
    ("  TonGiao: {MaTonGiao: ma_ton_giao}", "  TonGiao: {MaTonGiao: ma_ton_giao}\n  NgheNghiep: ma_ton_giao",
     "unknown QCVN 109 element 'NgheNghiep'"),
])
def test_mapping_errors_name_the_file_and_the_line(tmp_path, old, new, message):
    path = _mapping_copy(tmp_path, **{old: new})
    lines = path.read_text(encoding="utf-8").splitlines()
    first_changed = next(i + 1 for i, line in enumerate(lines) if new.splitlines()[-1].strip() in line)
    with pytest.raises(MappingError) as info:
        load_mapping(DC01, path)
    text = str(info.value)
    assert str(path) in text and message in text, text
    assert f"line {first_changed}:" in text, (text, first_changed)
    assert info.value.code == "mapping_invalid"


def test_bad_yaml_is_refused_with_its_line(tmp_path):
    path = _mapping_copy(tmp_path, **{"version: \"2026-12-01\"": "version: [unclosed"})
    with pytest.raises(MappingError, match=r"line \d+: not valid YAML") as info:
        load_mapping(DC01, path)
    assert str(path) in str(info.value)


def test_every_xml_export_is_validated_against_the_xsd(env, tmp_path):
    good = export_after_insert(env, tmp_path)
    xml_format.validate(good)
    broken = tmp_path / "broken.xml"
    broken.write_text(good.read_text(encoding="utf-8").replace("<dc:SoDinhDanh>001190012345<",
                                                               "<dc:SoDinhDanh>00119001234X<"), encoding="utf-8")
    with pytest.raises(InvalidRequestError, match=r"broken.xml: the XML does not conform.*SoDinhDanh.*'00119001234X'"):
        xml_format.validate(broken)
    swapped = tmp_path / "order.xml"
    swapped.write_text(good.read_text(encoding="utf-8").replace("<dc:SoDinhDanh>001190012345</dc:SoDinhDanh>", "", 1)
                       .replace("</dc:HoVaTen>", "</dc:HoVaTen><dc:SoDinhDanh>001190012345</dc:SoDinhDanh>", 1),
                       encoding="utf-8")
    with pytest.raises(InvalidRequestError):
        xml_format.validate(swapped)


def export_after_insert(env, tmp_path) -> Path:
    add_sheets(env[0], PEOPLE)
    return export(env, "xml", tmp_path / "v.xml").path


def test_a_running_export_blocks_a_second_one(env, tmp_path):
    store, settings = env
    add_sheets(store, PEOPLE)
    p = run.prepare(store, settings, run.ExportRequest("dc01", "csv"), actor="a", source="test")
    with pytest.raises(ConflictError, match=f"export {p.export_id}"):
        run.prepare(store, settings, run.ExportRequest("dc01", "jsonl"), actor="b", source="test")
    run.execute(store, p, tmp_path / "ok.csv")


def _cli(args, data: Path, **kw):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OCR_SERVICE_DATA_DIR": str(data), **kw.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "ocr_service.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_cli_prints_the_export_id_and_manifest_and_reruns(env, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ocr_service.cli import app

    store, settings = env
    add_sheets(store, PEOPLE)
    monkeypatch.setenv("OCR_SERVICE_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    out = tmp_path / "cli" / "dc01.xlsx"
    res = runner.invoke(app, ["export", "--template", "dc01", "--format", "xlsx", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    export_id = int(res.stderr.split("export ", 1)[1].split(":", 1)[0])
    manifest_path = out.with_name("dc01.xlsx.manifest.json")
    assert f"manifest: {manifest_path}" in res.stderr
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["export_id"] == export_id and manifest["record_count"] == 3
    assert manifest["files"][0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["mapping"]["version"] == "2026-12-01" and manifest["created_by"].startswith("cli")
    again = tmp_path / "cli" / "again.xlsx"
    res = runner.invoke(app, ["export", "--rerun", str(export_id), "--out", str(again)])
    assert res.exit_code == 0 and "identical to the original" in res.stderr, res.stderr
    assert again.read_bytes() == out.read_bytes()
    res = runner.invoke(app, ["export", "--template", "dc01", "--format", "pdf", "--out", str(tmp_path / "x.pdf")])
    assert res.exit_code == 2 and "unknown format 'pdf'" in res.stderr


def test_an_export_killed_midway_leaves_no_complete_looking_file(env, tmp_path):
    store, settings = env
    add_sheets(store, PEOPLE * 200)  # 600 sheets: two chunks
    out = tmp_path / "killed" / "dc01.csv"
    proc = _cli(["export", "--template", "dc01", "--format", "csv", "--out", str(out), "--no-progress"],
                settings.data_dir, env={run.DELAY_ENV: "30"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with store.session(write=False) as s:
            rows = repo.list_exports(s)
            if rows and rows[0].processed > 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the export never got going: " + proc.communicate()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not out.exists() and not out.with_name("dc01.csv.manifest.json").exists()
    parts = sorted(p.name for p in out.parent.iterdir())
    assert parts and all(".part-" in name for name in parts), parts
    with store.session(write=False) as s:
        row = repo.list_exports(s)[0]
        assert row.status == "running" and run.interrupted(row) and run.describe(row)["status"] == "interrupted"
        assert repo.exported_sheet_ids(s) == set()  # an interrupted export counts for nothing
    got = export(env, "csv", tmp_path / "after.csv")  # and does not block the next one
    assert got.manifest["record_count"] == 600


@pytest.mark.parametrize("ref", loader.available())
def test_every_bundled_template_has_a_valid_mapping(ref):
    template = loader.load(ref)
    m = load_mapping(template, pending=True)
    # a mapping with rows: GROUP (one row per table entry, as ct01's) has no QCVN 109 XML: one citizen per record
    assert m.template == template.id and (m.xml or m.group) and not m.xml_problems
    used = {s.field for s in m.slots if s.field}
    assert used <= {f.name for f in template.fields} | {f"{g.name}.{c.name}" for g in template.groups for c in g.columns}
    assert {"full_name", "dob", "id_number"} <= used
    if m.xml:
        assert {"ethnicity", "religion"} <= used


@BACKENDS
def test_incremental_export_on_both_backends(store, tmp_path):
    """The export queries and export_sheets on SQLite and PostgreSQL (pg.py's throwaway cluster)."""
    settings = Settings(data_dir=tmp_path / "d")
    done = add_sheets(store, PEOPLE[:2])
    pending = add_sheets(store, PEOPLE[2:], statuses=[{"dob": "needs_review"}])
    first = export((store, settings), "jsonl", tmp_path / "1.jsonl")
    assert [json.loads(l)["ma_phieu"] for l in first.path.read_text(encoding="utf-8").splitlines()] == [
        str(i) for i in done]
    with store.session(write=False) as s:
        assert repo.exported_sheet_ids(s) == set(done) and repo.exported_sheet_ids(s, pending) == set()
    with_pending = export((store, settings), "jsonl", tmp_path / "2.jsonl", include_pending=True)
    assert with_pending.manifest["record_count"] == 1
    with store.session(write=False) as s:
        assert repo.exported_sheet_ids(s) == set(done)  # pending: not counted
        assert repo.count_export_candidates(s, template_id=repo.template_for(s, "dc01@tt66-2015").id,
                                            batch_ids=None, since=None, include_exported=True,
                                            include_pending=False) == 2
    again = run.rerun(store, first.export_id, tmp_path / "again.jsonl", actor="t", source="test")
    assert again.matches
