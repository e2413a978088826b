"""Exports at district scale: N verified records (100,000 by default) in each format, time and peak memory.

    .venv/bin/python bench/bench_export.py [--records 100000] [--formats csv,xlsx,jsonl,xml] [--small 10000]

1. Fills a fresh SQLite store with N synthetic DC01 records (no OCR: ``tests/export_fixtures.py``, SQLAlchemy
   Core bulk inserts; every field auto-accepted or verified). The people come from a pool of 2,000 generated
   by ``ocr_service.synth`` and are repeated with their own ID numbers, so about 2,000 distinct addresses
   are parsed (and cached) per run; real batches have more distinct addresses, see the docs.
2. For each format, runs one export of every record (``--all``) with the bundled DC01 mapping in a
   fresh child process (so its peak resident memory is the export's alone), through the same code as the
   CLI: time, records per second, file size, the child's own peak RSS (``VmHWM``; ``ru_maxrss`` would
   report the parent's, which Linux carries over across fork and exec). With ``--small M``
   each format is also exported at M records, to show whether memory grows with the record count.
3. Checks each file: its sha256 is the manifest's, and an XML export was validated against the XSD.

All data is synthetic. Prints a Markdown table (docs/benchmarks.md has the measured one).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

CHILD = r"""
import json, sys, time
from pathlib import Path
from ocr_service.service.export import run
from ocr_service.service.store import open_store
from ocr_service.settings import Settings
data, fmt, out, batch = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
store = open_store(None, data)
settings = Settings(data_dir=data)
t = time.perf_counter()
req = run.ExportRequest("dc01", fmt, (batch,) if batch else (), include_exported=True)
got = run.execute(store, run.prepare(store, settings, req, actor="bench", source="bench"), out)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - t, "records": got.manifest["record_count"],
                  "held": got.manifest["held_count"], "sha256": got.manifest["files"][0]["sha256"],
                  "peak_kib": hwm}))
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fill(data: Path, n: int, small: int, copy: bool = False) -> float:
    """N records; the first ``small`` in their own batch (the small run exports exactly those). With
    ``copy``, the rest are copies of those made inside SQLite (INSERT … SELECT, new ids, one batch per
    copy): much faster, same shape, but fewer distinct records."""
    from export_fixtures import add_sheets, synthetic_records

    from ocr_service.service.store import open_store

    store = open_store(None, data, create=True)
    start = time.perf_counter()
    records = synthetic_records(small if copy else n, pool=2000)
    log(f"  {len(records):,} records generated in {time.perf_counter() - start:.0f} s")
    add_sheets(store, records[:small], batch="small", chunk=2000)
    if copy:
        _copy(store, small, n)
    else:
        for i in range(small, n, 20_000):
            add_sheets(store, records[i:i + 20_000], batch=f"box-{i // 20_000}", chunk=2000)
            log(f"  {min(i + 20_000, n):,} sheets stored, {time.perf_counter() - start:.0f} s")
    store.close()
    return time.perf_counter() - start


def _copy(store, base: int, n: int) -> None:
    from sqlalchemy import insert, select

    from ocr_service.service.store.models import Batch, FieldRow, PageRow, Sheet, SourceFile

    with store.session() as s:
        proto = s.scalars(select(Batch).where(Batch.name == "small")).one()
        max_field = s.execute(select(FieldRow.id).order_by(FieldRow.id.desc()).limit(1)).scalar_one()
    shift = {"source_files": base, "pages": base, "sheets": base, "fields": max_field}
    refs = {"file_id": base, "page_id": base, "sheet_id": base}
    for k in range(1, (n - 1) // base + 1):
        count = min(base, n - k * base)
        with store.session() as s:
            bid = s.execute(insert(Batch).values(name=f"copy-{k}", template_id=proto.template_id,
                                                 created_at=proto.created_at).returning(Batch.id)).scalar_one()
            for model in (SourceFile, PageRow, Sheet, FieldRow):
                t = model.__table__
                cols = [c.name for c in t.columns]
                exprs = []
                for c in cols:
                    if c == "id":
                        exprs.append(f"id + {shift[t.name] * k}")
                    elif c == "batch_id":
                        exprs.append(str(bid))
                    elif c in refs:
                        exprs.append(f"{c} + {refs[c] * k}")
                    else:
                        exprs.append(c)
                limit = f"sheet_id <= {count}" if t.name == "fields" else f"id <= {count}"
                s.connection().exec_driver_sql(f"INSERT INTO {t.name} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
                                               f"FROM {t.name} WHERE {limit}")
        log(f"  {k * base + count:,} sheets stored")


def export_once(data: Path, fmt: str, out: Path, batch: str = "") -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data), fmt, str(out), batch], capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"export {fmt} failed:\n{proc.stderr}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    import hashlib

    h = hashlib.sha256()
    with open(out, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    assert h.hexdigest() == got["sha256"], "the file's sha256 is not the manifest's"
    return {**got, "wall": wall, "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--formats", default="csv,xlsx,jsonl,xml")
    ap.add_argument("--small", type=int, default=10_000, help="also export this many (0: skip)")
    ap.add_argument("--large-formats", help="formats to export at --records (default: --formats)")
    ap.add_argument("--copy", action="store_true", help="fill by copying the first --small records inside SQLite")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args()
    from _machine import cpu_model

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        data = Path(tmp) / "data"
        log(f"filling {args.records:,} records")
        fill_s = fill(data, args.records, args.small, args.copy)
        log(f"filled in {fill_s:.0f} s")
        plan = ([(fmt, args.small, "small") for fmt in args.formats.split(",")] if args.small else []) + \
               [(fmt, args.records, "") for fmt in (args.large_formats or args.formats).split(",")]
        for fmt, n, batch in plan:
            log(f"export {fmt}, {n:,} records")
            r = export_once(data, fmt, Path(tmp) / f"out-{n}.{fmt}", batch)
            r.update(format=fmt, n=n)
            results.append(r)
            log(f"  {r['seconds']:.0f} s in the export ({r['records'] / r['seconds']:.0f} records/s), "
                f"{r['bytes'] / 1e6:.1f} MB, peak RSS {r['peak_kib'] / 1024:.0f} MiB")
            if args.json:
                args.json.write_text(json.dumps({"cpu": cpu_model(), "fill_s": fill_s, "results": results}, indent=1))
    print(f"\n{cpu_model()}; fill {fill_s:.0f} s\n")
    print("| format | records | export time | records/s | file | peak RSS of the exporting process |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['format']} | {r['records']:,} | {r['seconds']:.0f} s | {r['records'] / r['seconds']:.0f} | "
              f"{r['bytes'] / 1e6:.1f} MB | {r['peak_kib'] / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
