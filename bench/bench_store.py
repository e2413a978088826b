"""The store at district scale: 100,000 sheets (about 4.5 M fields) in SQLite and in PostgreSQL.

    .venv/bin/python bench/bench_store.py [--sheets 100000] [--backends sqlite,postgresql] [--write-docs]

In one run, per backend:

1. Fills a fresh, migrated database with synthetic rows shaped like real results (one file, page and
   sheet per sheet, DC01's 45 fields each with features, candidates and reasons; ~25% of fields need
   review, as on handwriting), in batches of 1,000 sheets, through SQLAlchemy Core bulk inserts.
2. Measures the database's size (bytes per 1,000 sheets) and, from the bundled samples, what the blob
   store holds per 1,000 sheets (the original scans, kept unchanged).
3. Times the repository calls behind the API's review-queue and sheet endpoints (``review_queue``
   first page and deep pages by cursor, ``get_sheet`` + its fields, ``batch_status``): p50/p99 of
   repeated calls, in-process (no HTTP), so the figure is the database's share of a request.
4. The same endpoints over HTTP against a real ``ocr-service serve`` process on loopback (one
   client, sequential requests), and the server's resident memory afterwards.

All data is synthetic. Results go to docs/benchmarks.md between the bench_store markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

DOCS = REPO / "docs" / "benchmarks.md"
SHEETS_PER_BATCH = 1000
REVIEW_SHARE = 0.25


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def field_rows(template) -> list[dict]:
    """One sheet's fields as the pipeline stores them (values, features and reasons of typical size)."""
    feats = {"conf": 0.93, "conf_logit": 2.6, "has_validator": 1.0, "valid": 1.0, "vscore": 0.97, "agree": 0.0,
             "disagree": 0.0, "empty": 0.0, "length": 0.25, "neural": 0.0}
    out = []
    for i, spec in enumerate(template.fields):
        out.append({"position": i, "name": spec.name, "kind": spec.kind, "raw": "Nguyễn Văn An",
                    "value": "NGUYỄN VĂN AN", "candidates": ["NGUYỄN VĂN AN", "NGUYỄN VĂN ÂN"], "engine": "tesseract",
                    "features": feats, "box_px": [120, 340, 1400, 60], "warnings": []})
    return out


def fill(store, n_sheets: int, seed: int = 1) -> float:
    """Insert ``n_sheets`` sheets; returns seconds taken."""
    from sqlalchemy import insert

    from ocr_service.forms import loader
    from ocr_service.service.store import repository as repo
    from ocr_service.service.store.models import Batch, FieldRow, PageRow, Sheet, SourceFile

    rng = random.Random(seed)
    template = loader.load("dc01")
    proto = field_rows(template)
    now = dt.datetime.now(dt.timezone.utc)
    start = time.perf_counter()
    with store.session() as s:
        tid = repo.template_for(s, template.id).id
    sheet_id = field_id = 0
    for b in range(0, n_sheets, SHEETS_PER_BATCH):
        count = min(SHEETS_PER_BATCH, n_sheets - b)
        with store.session() as s:
            batch = s.execute(insert(Batch).values(name=f"box-{b // SHEETS_PER_BATCH:04d}", commune="Xã Hải Bắc",
                                                   expected_sheets=count, template_id=tid, priority=0,
                                                   created_at=now).returning(Batch.id)).scalar_one()
            files, pages, sheets, fields = [], [], [], []
            for k in range(count):
                sheet_id += 1
                files.append({"id": sheet_id, "batch_id": batch, "sha256": f"{sheet_id:064x}",
                              "original_name": f"scan-{sheet_id:06d}.jpg", "size_bytes": 450_000,
                              "media_type": "image/jpeg", "created_at": now})
                pages.append({"id": sheet_id, "file_id": sheet_id, "batch_id": batch, "page_no": 1,
                              "sha256": f"{sheet_id:064x}", "status": "ok", "rotation": 0, "skew_deg": 0.2,
                              "residual_px": 0.06, "serial": f"{sheet_id:09d}", "created_at": now, "finished_at": now})
                review = 0
                for f in proto:
                    field_id += 1
                    needs = rng.random() < REVIEW_SHARE
                    review += needs
                    fields.append({**f, "id": field_id, "sheet_id": sheet_id, "batch_id": batch,
                                   "confidence": rng.uniform(0.5, 0.99) if needs else rng.uniform(0.97, 1.0),
                                   "status": "needs_review" if needs else "auto_accepted",
                                   "reasons": ["low_confidence"] if needs else [], "version": 1})
                sheets.append({"id": sheet_id, "page_id": sheet_id, "batch_id": batch, "template_id": tid,
                               "status": "needs_review" if review else "auto_accepted", "fields_total": len(proto),
                               "fields_review": review, "created_at": now, "updated_at": now})
            s.execute(insert(SourceFile), files)
            s.execute(insert(PageRow), pages)
            s.execute(insert(Sheet), sheets)
            for i in range(0, len(fields), 5000):
                s.execute(insert(FieldRow), fields[i:i + 5000])
        if (b // SHEETS_PER_BATCH) % 10 == 9:
            log(f"  {b + count:,} sheets, {field_id:,} fields, {time.perf_counter() - start:.0f} s")
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


def db_bytes(store, path: Path | None) -> int:
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size
    with store.engine.connect() as c:
        return int(c.exec_driver_sql("SELECT pg_database_size(current_database())").scalar())


def percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]


def time_calls(store, n_sheets: int, repeats: int) -> dict[str, tuple[float, float]]:
    """p50/p99 milliseconds of the repository calls behind the review and sheet endpoints."""
    from ocr_service.service.store import repository as repo

    rng = random.Random(3)
    out: dict[str, list[float]] = {"review_queue first page (50)": [], "review_queue page by cursor (50)": [],
                                   "sheet + its 45 fields": [], "batch_status (1,000 sheets)": []}
    with store.session(write=False) as s:
        cursors = []
        page = repo.review_queue(s, limit=50)
        for _ in range(200):  # cursors spread over the queue
            cursors.append(page.next)
            page = repo.review_queue(s, after=page.next, limit=50)
            for _ in range(rng.randrange(1, 40)):
                page = repo.review_queue(s, after=page.next, limit=50) if page.next else page
    for _ in range(repeats):
        with store.session(write=False) as s:
            t0 = time.perf_counter()
            repo.review_queue(s, limit=50)
            t1 = time.perf_counter()
            repo.review_queue(s, after=rng.choice(cursors), limit=50)
            t2 = time.perf_counter()
            sheet = repo.get_sheet(s, rng.randrange(1, n_sheets + 1))
            repo.list_fields(s, sheet_id=sheet.id, limit=100)
            t3 = time.perf_counter()
            repo.batch_status(s, f"box-{rng.randrange(0, max(1, n_sheets // SHEETS_PER_BATCH)):04d}")
            t4 = time.perf_counter()
        for times, seconds in zip(out.values(), (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            times.append(1000 * seconds)
    return {k: percentiles(v) for k, v in out.items()}


def time_http(url: str, data_dir: Path, n_sheets: int, repeats: int) -> dict:
    """p50/p99 ms of the review-queue and sheet endpoints against a real `ocr-service serve` on
    loopback, and the server's resident memory (VmRSS, VmHWM) after the requests."""
    import httpx

    sys.path.insert(0, str(REPO / "tests"))
    import pg

    from ocr_service.service import auth
    from ocr_service.service.store import open_store

    store = open_store(url, data_dir)
    with store.session() as s:
        auth.add_user(s, "bench", "bench-password-not-used", role="admin", actor="bench")
    with store.session() as s:
        token = auth.create_token(s, "bench", name="bench", actor="bench")
    token = token[0] if isinstance(token, tuple) else token
    store.close()
    port = pg.free_port()
    env = {**os.environ, "OCR_SERVICE_DATABASE_URL": url, "OCR_SERVICE_DATA_DIR": str(data_dir),
           "OCR_SERVICE_BIND_PORT": str(port), "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "ocr_service.cli", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(4)
    out: dict[str, list[float]] = {"GET /api/v1/review?limit=50 (first page)": [],
                                   "GET /api/v1/review?limit=50&after=… (deep page)": [],
                                   "GET /api/v1/sheets/{id} (sheet + 45 fields)": []}
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for _ in range(200):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            cursors, page = [], client.get("/api/v1/review", params={"limit": 50}).json()
            for _ in range(100):
                for _ in range(rng.randrange(1, 40)):
                    page = client.get("/api/v1/review", params={"limit": 50, "after": page["next"]}).json()
                cursors.append(page["next"])
            for _ in range(repeats):
                for key, params_or_path in (
                        (0, ("/api/v1/review", {"limit": 50})),
                        (1, ("/api/v1/review", {"limit": 50, "after": rng.choice(cursors)})),
                        (2, (f"/api/v1/sheets/{rng.randrange(1, n_sheets + 1)}", {}))):
                    path, params = params_or_path
                    t0 = time.perf_counter()
                    r = client.get(path, params=params)
                    out[list(out)[key]].append(1000 * (time.perf_counter() - t0))
                    assert r.status_code == 200, (path, r.status_code, r.text[:200])
        status = {k: v for k, v in (line.split(":", 1) for line in
                                    Path(f"/proc/{server.pid}/status").read_text().splitlines() if ":" in line)}
        memory = {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"http": {k: percentiles(v) for k, v in out.items()}, "serve_mib": memory}


def blob_bytes_per_1000() -> float:
    samples = [p for p in (REPO / "samples" / "dc01").iterdir() if p.suffix in (".jpg", ".pdf")]
    return 1000 * statistics.mean(p.stat().st_size for p in samples)


def run_backend(name: str, n_sheets: int, repeats: int) -> dict:
    from ocr_service.service.store import open_store, upgrade

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-store-{name}-"))
    cluster = None
    path = None
    if name == "sqlite":
        path = tmp / "ocr-service.db"
        url = f"sqlite:///{path}"
    else:
        import pg

        cluster = pg.Cluster(pg.find_bin()).start()
        url = cluster.create_database()
    try:
        upgrade(url)
        store = open_store(url, tmp)
        log(f"{name}: filling {n_sheets:,} sheets")
        seconds = fill(store, n_sheets)
        size = db_bytes(store, path)
        log(f"{name}: {seconds:.0f} s, {size / 1e9:.2f} GB; timing calls")
        calls = time_calls(store, n_sheets, repeats)
        store.close()
        log(f"{name}: timing HTTP against ocr-service serve")
        http = time_http(url, tmp, n_sheets, repeats)
        return {"backend": name, "sheets": n_sheets, "fill_s": seconds, "db_bytes": size, "calls": calls,
                **http, "url": url}
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sheets", type=int, default=100_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args()
    blobs = blob_bytes_per_1000()
    results = []
    for backend in args.backends.split(","):
        results.append(run_backend(backend, args.sheets, args.repeats))
        if args.json:  # each backend's figures as soon as they exist
            args.json.write_text(json.dumps({"results": results, "blob_bytes_per_1000": blobs}, indent=1, default=str))
    for r in results:
        print(f"\n{r['backend']}: {r['sheets']:,} sheets, fill {r['fill_s']:.0f} s, "
              f"database {r['db_bytes'] / 1e9:.2f} GB = {r['db_bytes'] / r['sheets'] * 1000 / 1e6:.1f} MB per 1,000 sheets")
        for k, (p50, p99) in {**r["calls"], **r["http"]}.items():
            print(f"  {k}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"  serve resident memory: {r['serve_mib']['VmRSS']:.0f} MiB (peak {r['serve_mib']['VmHWM']:.0f} MiB)")
    print(f"\nblob store: {blobs / 1e6:.0f} MB per 1,000 sheets (bundled sample scans)")


if __name__ == "__main__":
    main()
