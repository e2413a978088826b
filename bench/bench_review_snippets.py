"""Time to all snippets of a review group: 20 sheets, each snippet cut from its page registered again.

    .venv/bin/python bench/bench_review_snippets.py --pages DIR [--code DIR] [--think 30] [--label NAME]

DIR holds at least 40 scanned sheets (e.g. `ocr-service samples generate --template dc01 -n 40 --out DIR`:
synthetic sheets rendered and "scanned", PNG/JPEG/PDF/TIFF). They become one batch whose dates of birth
need review, so group mode shows two groups of 20 (sheets 1–20, then 21–40). Against a real
`ocr-service serve` (the code in --code, default this checkout: pass the main checkout to measure the
code before a change), one reviewer:

1. claims group A and fetches its 20 snippets over 6 connections (as a browser does): A seconds;
2. works on it for --think seconds (the reviewer reading and typing), then saves the 20 rows;
3. claims group B and fetches its 20 snippets: B seconds.

The pages are stored as a worker stores them, with what their registration found
(``pages.registration``, computed here with the pipeline's orient/register); code that predates that
column ignores it and registers each page again. Prints one JSON line. All data is synthetic.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = Path(os.environ.get("BENCH_CODE", REPO))  # the code that fills the database (its schema revision)
sys.path.insert(0, str(CODE))
sys.path.insert(0, str(REPO / "tests"))

TEMPLATE = "dc01@tt66-2015"
GROUP = 20
PASSWORD = "a long bench password"


def registration(path: Path, template) -> dict:
    """What a worker's registration of the page finds and stores (pages.registration)."""
    from ocr_service.forms.render import reference_image
    from ocr_service.pipeline import ingest, orient, register

    page = ingest.load_page(path, 1)
    upright, how = orient.orient(page.image, reference_image(template, 300))
    reg = register.register(upright, template, 300)
    return {"rotation": how.rotation, "skew_deg": how.skew_deg, "homography": [float(v) for v in reg.homography.ravel()]}


def fill(data: Path, pages: list[Path]) -> None:
    from ocr_service.forms import loader
    from ocr_service.service import auth
    from ocr_service.service.store import open_store
    from ocr_service.service.store import repository as repo

    t = loader.load(TEMPLATE)
    spec = next(f for f in t.fields if f.name == "dob")
    box = [round(v / 25.4 * 300) for v in spec.box_mm]
    store = open_store(None, data, create=True)
    with store.session() as s:
        auth.add_user(s, "reviewer", PASSWORD, role="reviewer", actor="bench")
        b = repo.create_batch(s, "bench", template=TEMPLATE)
    for i, path in enumerate(pages):
        raw = path.read_bytes()
        info = store.blobs.put(raw)
        with store.session() as s:
            f = repo.add_file(s, b.id, sha256=info.sha256, original_name=path.name, size_bytes=len(raw)).row
            repo.add_pages(s, f.id, [{"page": 1}], enqueue=False)
            repo.write_result(s, f.id, {
                "file": path.name, "page": 1, "template": TEMPLATE, "status": "ok", "residual_px": 0.5,
                "fields": [{"name": "dob", "value": f"0{1 + i % 9}/01/1990", "confidence": 0.5,
                            "status": "needs_review", "reasons": ["low_confidence"], "box_px": box, "kind": "date"}],
                "registration": registration(path, t)})
    store.close()


def run(args) -> dict:
    import httpx
    from serve_helpers import running_serve

    pages = sorted(p for p in Path(args.pages).iterdir() if p.suffix.lower() in (".png", ".jpg", ".pdf", ".tif", ".tiff"))
    if len(pages) < 2 * GROUP:
        raise SystemExit(f"{args.pages}: need {2 * GROUP} scanned sheets, found {len(pages)}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        code = str(Path(args.code).resolve())
        # the database is made by the code under test (its migrations): another process
        subprocess.run([sys.executable, __file__, "--fill", str(data), "--pages", args.pages],
                       env={**os.environ, "BENCH_CODE": code, "PYTHONPATH": code}, check=True)
        env = {"OCR_SERVICE_ENGINES": "fake", "OCR_SERVICE_WORKERS": "1", "PYTHONPATH": str(Path(args.code).resolve())}
        with running_serve(Path(tmp), data, **env) as url, httpx.Client(base_url=url, timeout=120) as c:
            page = c.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"username": "reviewer", "password": PASSWORD, "csrf_token": csrf})

            def claim() -> tuple[list[tuple[int, int]], str]:
                html = c.get("/review/group").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
                if 'id="row-' not in html:  # this code claims by POST (a GET claims nothing)
                    html = c.post("/review/group", data={"csrf_token": token}, follow_redirects=True).text
                got = [(int(i), int(v)) for i, v in re.findall(r'id="row-(\d+)".*?name="version" value="(\d+)"',
                                                               html, flags=re.S)]
                return got, token

            def snippets(rows) -> float:
                t0 = time.perf_counter()
                with ThreadPoolExecutor(6) as pool:  # a browser's connections per host
                    codes = list(pool.map(lambda r: httpx.get(f"{url}/review/fields/{r[0]}/image", cookies=c.cookies,
                                                              timeout=300).status_code, rows))
                assert codes == [200] * len(rows), codes
                return time.perf_counter() - t0

            rows_a, token = claim()
            a = snippets(rows_a)
            time.sleep(args.think)
            for fid, version in rows_a:
                c.post(f"/review/fields/{fid}", headers={"X-CSRF-Token": token},
                       data={"version": version, "action": "accept", "value": "01/01/1990"})
            rows_b, _ = claim()
            assert len(rows_a) == len(rows_b) == GROUP and not {r[0] for r in rows_a} & {r[0] for r in rows_b}
            b = snippets(rows_b)
    return {"label": args.label, "code": str(args.code), "think_s": args.think, "group": GROUP,
            "A_s": round(a, 2), "B_s": round(b, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", required=True)
    ap.add_argument("--code", default=str(REPO))
    ap.add_argument("--think", type=float, default=30.0)
    ap.add_argument("--label", default="")
    ap.add_argument("--fill", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fill:
        pages = sorted(p for p in Path(args.pages).iterdir() if p.suffix.lower() in (".png", ".jpg", ".pdf", ".tif", ".tiff"))
        fill(Path(args.fill), pages[:2 * GROUP])
        return
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
