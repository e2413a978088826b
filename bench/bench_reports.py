"""The field-work reports at district scale: time and peak memory of each report over N sheets.

    .venv/bin/python bench/bench_reports.py [--sheets 100000]

Fills a fresh SQLite store (SQLAlchemy Core bulk inserts, 100 batches of 1,000 sheets over 10
communes and 100 villages) with the fields the reports read plus a few others (16 per sheet):
unique people, with about 1% of sheets sharing an ID number with another sheet, 1% the same name and
date of birth, 2% a blank required field, 1% a failed cross-field check. Then times, in-process,
loading the scope and each report (progress, revisits, inconsistent, duplicates) and prints what
each found. All data is synthetic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PER_BATCH = 1000
OTHER = ("sex", "ethnicity", "religion", "permanent_address", "father_name", "marital_status")


def fill(store, n: int, seed: int = 1) -> float:
    from sqlalchemy import insert

    from ocr_service.service.store import repository as repo
    from ocr_service.service.store.models import (
        Batch,
        FieldRow,
        PageRow,
        Sheet,
        SourceFile,
    )

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    with store.session() as s:
        tid = repo.template_for(s, "dc01@tt66-2015").id
    fid = 0
    for b in range(0, n, PER_BATCH):
        bn = b // PER_BATCH
        with store.session() as s:
            batch = s.execute(insert(Batch).values(
                name=f"box-{bn:04d}", commune=f"Xã {bn % 10}", village=f"Thôn {bn}", officer=f"Cán bộ {bn % 25}",
                expected_sheets=PER_BATCH + 50, template_id=tid, priority=0, created_at=now).returning(Batch.id)).scalar_one()
            files, pages, sheets, fields = [], [], [], []
            for i in range(b + 1, min(n, b + PER_BATCH) + 1):
                year = 1930 + i % 90
                pid = f"001{i % 2}{year % 100:02d}{i:06d}"
                name, dob = f"NGƯỜI {i:06d}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/{year}"
                r = rng.random()
                if r < 0.01:
                    pid = f"001{(i - 7) % 2}{(1930 + (i - 7) % 90) % 100:02d}{i - 7:06d}"  # another sheet's ID
                elif r < 0.02:
                    name, dob = f"NGƯỜI {i - 11:06d}", f"{1 + (i - 11) % 28:02d}/{1 + (i - 11) % 12:02d}/{1930 + (i - 11) % 90}"
                book = f"HK{i // 4:06d}"
                values = {"hdr_commune": f"Xã {bn % 10}", "full_name": name, "dob": dob, "id_number": pid,
                          "current_address": "như trên", "head_name": f"NGƯỜI {(i // 4) * 4:06d}",
                          "head_id": "", "relation_to_head": "Chủ hộ" if i % 4 == 0 else "Con",
                          "household_book_no": book, "sig_officer_name": f"Cán bộ {bn % 25}",
                          **{k: "Kinh" for k in OTHER}}
                blank = rng.random() < 0.02
                check = rng.random() < 0.01
                files.append({"id": i, "batch_id": batch, "sha256": f"{i:064x}", "original_name": f"{i}.jpg",
                              "size_bytes": 1, "created_at": now})
                pages.append({"id": i, "file_id": i, "batch_id": batch, "page_no": 1, "sha256": f"{i:064x}",
                              "status": "ok", "created_at": now})
                review = 0
                for pos, (k, v) in enumerate(values.items()):
                    fid += 1
                    reasons, status = [], "auto_accepted"
                    if blank and k == "ethnicity":
                        v, reasons, status = "", ["empty_required"], "needs_review"
                    if check and k in ("dob", "id_number"):
                        if k == "dob":
                            v = f"01/01/{year + 1}"
                            values["dob"] = v
                        reasons, status = ["check:id_vs_sex_dob: ID says born x, date of birth reads y"], "needs_review"
                    review += status == "needs_review"
                    fields.append({"id": fid, "sheet_id": i, "batch_id": batch, "position": pos, "name": k,
                                   "kind": "text", "raw": v, "value": v, "candidates": [], "confidence": 0.99,
                                   "features": {}, "status": status, "reasons": reasons, "warnings": [],
                                   "box_px": [], "version": 1})
                sheets.append({"id": i, "page_id": i, "batch_id": batch, "template_id": tid,
                               "status": "needs_review" if review else "auto_accepted", "fields_total": len(values),
                               "fields_review": review, "created_at": now, "updated_at": now})
            s.execute(insert(SourceFile), files)
            s.execute(insert(PageRow), pages)
            s.execute(insert(Sheet), sheets)
            for k in range(0, len(fields), 5000):
                s.execute(insert(FieldRow), fields[k:k + 5000])
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheets", type=int, default=100_000)
    ap.add_argument("--data", type=Path, help="keep the store in this folder, and reuse it if it is there")
    args = ap.parse_args()
    from ocr_service.service.reports import figures
    from ocr_service.service.store import open_store
    from ocr_service.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        reuse = (data / "ocr-service.db").exists()
        store = open_store(None, data, create=True)
        if not reuse:
            took = fill(store, args.sheets)
            print(f"filled {args.sheets:,} sheets in {took:.0f} s", file=sys.stderr)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with store.session(write=False) as s:
            t0, c0 = time.perf_counter(), time.process_time()
            sc = figures.scope(s, Settings().templates_dir)
            print(f"scope (load {len(sc.facts.sheets):,} sheets): {time.perf_counter() - t0:.1f} s "
                  f"({time.process_time() - c0:.1f} s CPU)")
            for kind in ("revisits", "inconsistent", "duplicates", "progress"):
                t, c = time.perf_counter(), time.process_time()
                data = figures.report(sc, kind)
                n = len(data) if isinstance(data, list) else len(data["places"])
                print(f"{kind}: {time.perf_counter() - t:.1f} s ({time.process_time() - c:.1f} s CPU), {n:,} rows")
            print(f"all four from one scope: {time.perf_counter() - t0:.1f} s ({time.process_time() - c0:.1f} s CPU)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS {peak / 1024:.0f} MB (before the reports: {before / 1024:.0f} MB)")
        store.close()


if __name__ == "__main__":
    main()
