"""Records for the export tests and the export benchmark, put into a store quickly without OCR:
one file, page and sheet per record, the template's fields with the given values, by SQLAlchemy
Core bulk inserts (as bench_store does). All data is synthetic."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, insert, select

from ocr_service.forms import loader
from ocr_service.service.export import run
from ocr_service.service.store import open_store, upgrade
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import Batch, FieldRow, PageRow, Sheet, SourceFile
from ocr_service.settings import Settings

TEMPLATE = "dc01@tt66-2015"


@pytest.fixture
def env(tmp_path):
    """(store, settings) over a fresh SQLite store in ``tmp_path/data``, migrated to head."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'ocr-service.db'}"
    data.mkdir()
    upgrade(url)
    store = open_store(url, data)
    yield store, Settings(data_dir=data)
    store.close()


def run_export(env, template: str, fmt: str, out, **kw):
    """Prepare and run one export of ``template`` in ``fmt`` into ``out``, as exporter1."""
    store, settings = env
    p = run.prepare(store, settings, run.ExportRequest(template, fmt, **kw), actor="exporter1", source="test")
    return run.execute(store, p, out)

# Synthetic people. Names in NFC with both tone styles, IDs with leading zeros, groups whose codes
# differ between the two ethnic lists.
PEOPLE = [
    {"full_name": "Nguyễn Thị Thuỷ", "dob": "05/03/1990", "sex": "Nữ", "ethnicity": "Hoa", "religion": "Không",
     "nationality": "Việt Nam", "id_number": "001190012345", "father_name": "Nguyễn Văn Hoà",
     "father_nationality": "Việt Nam", "father_id": "001060012345",
     "permanent_address": "Thôn Đông, Xã Hải Bắc, Huyện Hải Hậu, Tỉnh Nam Định", "current_address": "như trên"},
    {"full_name": "Tôn Nữ Minh Khuê", "dob": "1948", "sex": "Nữ", "ethnicity": "Khơ-me", "religion": "Phật giáo",
     "nationality": "Việt Nam", "id_number": "094148000777",
     "permanent_address": "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"},
    {"full_name": "Đinh Công Mạnh", "dob": "17/11/1975", "sex": "Nam", "ethnicity": "Mường", "religion": "Công giáo",
     "nationality": "Việt Nam", "id_number": "017075000099", "spouse_name": "Bùi Thị Hoà", "spouse_id": "031975123"},
]


def add_sheets(store, records: list[dict], *, batch: str = "b1", template: str = TEMPLATE,
               statuses: list[dict] | None = None, verified: list[dict] | None = None,
               now: dt.datetime | None = None, chunk: int = 1000) -> list[int]:
    """Insert one sheet per record (``{field: value}``; fields not given are empty, auto-accepted).
    ``statuses[i]`` overrides field statuses of record i; ``verified[i]`` gives verified values
    (status verified). Returns the sheet ids, in order. The batch is created if new."""
    tpl = loader.load(template)
    now = now or dt.datetime.now(dt.timezone.utc)
    ids: list[int] = []
    with store.session() as s:
        tid = repo.template_for(s, tpl.id).id
        b = s.scalars(select(Batch).where(Batch.name == batch)).first()
        bid = b.id if b else repo.create_batch(s, batch, commune="Xã Hải Bắc", village="Thôn 1",
                                                 officer="Cán bộ A", template=tpl.id).id
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk]
        with store.session() as s:
            next_file = (s.scalar(select(func.max(SourceFile.id))) or 0) + 1
            next_page = (s.scalar(select(func.max(PageRow.id))) or 0) + 1
            next_sheet = (s.scalar(select(func.max(Sheet.id))) or 0) + 1
            next_field = (s.scalar(select(func.max(FieldRow.id))) or 0) + 1
            files, pages, sheets, fields = [], [], [], []
            for k, rec in enumerate(part):
                i = start + k
                fid, pid, sid = next_file + k, next_page + k, next_sheet + k
                st_over = (statuses[i] if statuses else None) or {}
                ver = (verified[i] if verified else None) or {}
                files.append({"id": fid, "batch_id": bid, "sha256": f"{fid:064x}", "original_name": f"scan-{fid:06d}.jpg",
                              "size_bytes": 1000, "media_type": "image/jpeg", "created_at": now})
                pages.append({"id": pid, "file_id": fid, "batch_id": bid, "page_no": 1, "sha256": f"{pid:064x}",
                              "status": "ok", "created_at": now, "finished_at": now})
                st_list = []
                for pos, spec in enumerate(tpl.fields):
                    st = "verified" if spec.name in ver else st_over.get(spec.name, "auto_accepted")
                    st_list.append(st)
                    fields.append({"id": next_field, "sheet_id": sid, "batch_id": bid, "position": pos,
                                   "name": spec.name, "kind": spec.kind, "raw": rec.get(spec.name, ""),
                                   "value": rec.get(spec.name, ""), "candidates": [], "engine": "fake",
                                   "confidence": 0.99, "features": {}, "status": st, "reasons": [], "warnings": [],
                                   "box_px": [], "verified_value": ver.get(spec.name),
                                   "verified_by": "reviewer1" if spec.name in ver else None,
                                   "verified_at": now if spec.name in ver else None, "version": 1})
                    next_field += 1
                review = sum(1 for st in st_list if st == "needs_review")
                sheet_status = ("needs_review" if review else
                                "verified" if any(st in ("verified", "rejected") for st in st_list) else "auto_accepted")
                sheets.append({"id": sid, "page_id": pid, "batch_id": bid, "template_id": tid, "status": sheet_status,
                               "fields_total": len(tpl.fields), "fields_review": review, "created_at": now,
                               "updated_at": now})
                ids.append(sid)
            s.execute(insert(SourceFile), files)
            s.execute(insert(PageRow), pages)
            s.execute(insert(Sheet), sheets)
            for j in range(0, len(fields), 5000):
                s.execute(insert(FieldRow), fields[j:j + 5000])
    return ids


def synthetic_records(n: int, seed: int = 1, pool: int = 500) -> list[dict]:
    """``n`` synthetic DC01 records with canonical vocabulary values (as validation stores them):
    a pool of generated people, cycled, each copy with its own ID number."""
    from ocr_service.synth.records import generate_record
    from ocr_service.vietnamese.vocab import load_vocabularies

    vocabs = load_vocabularies()
    rng = random.Random(seed)
    base = []
    for _ in range(min(n, pool)):
        r = generate_record(rng)
        for name in ("ethnicity", "religion", "nationality", "sex"):
            snap = vocabs[name].snap(r.get(name, ""))
            r[name] = snap.value if snap.value else ""
        for name in ("father_nationality", "mother_nationality", "spouse_nationality"):
            snap = vocabs["nationality"].snap(r.get(name, "")) if r.get(name) else None
            r[name] = snap.value if snap and snap.value else ""
        base.append(r)
    out = []
    for i in range(n):
        r = dict(base[i % len(base)])
        if len(r.get("id_number", "")) == 12:
            r["id_number"] = r["id_number"][:6] + f"{i % 1_000_000:06d}"
        out.append(r)
    return out
