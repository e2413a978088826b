"""Orientation without a template, deskew and its cost, on real pages and synthetic ones.

1. Quarter turn on real pages of any content: the collection of ``bench/real_pages.py`` (fetched from
   the OCRmyPDF sdist on PyPI and the leptonlib and tesseract source packages of Debian, pinned,
   hash-checked, never stored in the repo), each page turned by 0/90/180/270 here, and each of those
   once more with an extra skew of 3-15° (the same per page), all through ``orient.orient`` with no
   template. Reported apart, and per source: scanned pages of text, scanned music, and other images
   (maps, a chart, a diagram, plates, vertical title pages, two lines of large print).
2. The same on the bundled synthetic DC01/CC01 sheets (``samples/``), with no template and with theirs.
3. Deskew error on synthetic pages (a prose letter and a filled DC01 sheet, both at 150 dpi) turned by
   -20...+20°.
4. Time per page (median) of ``orient.orient``, and how often each method decided.

    .venv/bin/python bench/bench_orient.py [--write-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import real_pages  # noqa: E402
from _machine import cpu_model, tesseract_version  # noqa: E402

from ocr_service.forms import loader  # noqa: E402
from ocr_service.forms.render import reference_image  # noqa: E402
from ocr_service.pipeline import ingest, orient  # noqa: E402
from ocr_service.synth import fill, fonts  # noqa: E402
from ocr_service.synth.letter import text_page  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_orient:begin -->", "<!-- bench_orient:end -->"
TURNS = (0, 90, 180, 270)


def run_case(img: np.ndarray, want: int, reference: np.ndarray | None = None) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    _, o = orient.orient(img, reference)
    return {"ok": o.rotation == want, "got": o.rotation, "want": want, "method": o.method,
            "confidence": round(o.score, 3), "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0}


def real_cases(manifest: Path) -> list[dict]:
    rows = [json.loads(line) for line in manifest.open()]
    out = []
    for i, r in enumerate(rows):
        page = cv2.imread(str(manifest.parent / r["name"]), cv2.IMREAD_GRAYSCALE)
        extra = random.Random(i).choice((-1, 1)) * random.Random(100 + i).uniform(3, 15)
        for turn in TURNS:
            turned = orient.rotate90(page, turn)
            want = (r["rotation"] - turn) % 360
            for skew in (0.0, extra):
                img = orient.rotate_small(turned, skew) if skew else turned
                res = run_case(img, want)
                res.update(name=r["name"], turn=turn, skew=round(skew, 1), kind=r["kind"], origin=r["origin"])
                out.append(res)
                print(f"{r['name']:22s} turn {turn:3d} skew {skew:+5.1f}: {res['got']:3d} (want {want:3d}) "
                      f"{res['method']:8s} {res['confidence']:.2f} {res['seconds']:.2f}s"
                      f"{'' if res['ok'] else '  WRONG'}", file=sys.stderr)
    return out


def sample_cases() -> list[dict]:
    out = []
    for truth_file in sorted((REPO / "samples").glob("*/0*.json")):
        truth = json.loads(truth_file.read_text())
        src = truth_file.with_name(truth["file"])
        template = loader.load(truth["template"].split("@")[0])
        ref = reference_image(template, 300)
        page = next(iter(ingest.load_pages(src))).image
        upright = (360 - truth["scan"]["rotation90"]) % 360
        for turn in TURNS:
            img = orient.rotate90(page, turn)
            for with_ref in (False, True):
                res = run_case(img, (upright - turn) % 360, ref if with_ref else None)
                res.update(name=f"{src.parent.name}/{src.name}", turn=turn, template=with_ref)
                out.append(res)
    return out


def skew_errors() -> dict[str, list[tuple[float, float]]]:
    dc01 = loader.load("dc01")
    family = "Noto Serif"
    sheet = fill.fill_sheet(dc01, {"full_name": "NGUYỄN VĂN AN", "dob": "01/02/1990"}, random.Random(3),
                            next(f for f in fonts.list_fonts("printed") if f.family == family), "000777")
    pages = {"letter": text_page(150), "dc01": cv2.resize(sheet.image, None, fx=0.5, fy=0.5,
                                                          interpolation=cv2.INTER_AREA)}
    angles = [float(a) for a in np.arange(-20.0, 20.01, 2.5)] + [-19.3, -11.7, 6.1, 13.9]
    out: dict[str, list[tuple[float, float]]] = {}
    for name, page in pages.items():
        out[name] = []
        for a in angles:
            est = orient.estimate_skew(orient.rotate_small(page, a))
            out[name].append((a, abs(est + a)))
    return out


def share(cases: list[dict]) -> str:
    n = len(cases)
    ok = sum(c["ok"] for c in cases)
    return f"{ok}/{n} ({100 * ok / n:.1f}%)" if n else "0/0"


def methods(cases: list[dict]) -> str:
    counts: dict[str, int] = {}
    for c in cases:
        counts[c["method"]] = counts.get(c["method"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def report(real: list[dict], samples: list[dict], skews: dict) -> str:
    def pages_of(cases: list[dict]) -> int:
        return len({c["name"] for c in cases})

    def row(label: str, cases: list[dict]) -> str:
        return f"| {label} ({pages_of(cases)}) | {len(cases)} | {share(cases)} | {methods(cases)} |"

    kinds = {real_pages.TEXT: "scanned pages of text", real_pages.MUSIC: "scanned music",
             real_pages.OTHER: "other images: maps, chart, diagram, plates, vertical titles, 2 lines"}
    wrong = sorted({f"{c['name']} (turn {c['turn']}, skew {c['skew']:+.1f}: got {c['got']}, "
                    f"{c['method']} {c['confidence']:.2f})" for c in real if not c["ok"]})
    lines = [
        f"Run {dt.date.today().isoformat()} on {cpu_model()}, {platform.python_version()}, {tesseract_version()};"
        f" the machine's 2 cores shared with other work, so times are upper bounds.",
        "",
        f"Real pages: {pages_of(real)} scans from package registries (`bench/real_pages.py`; list and "
        f"licences: docs/orientation.md), each at 4 quarter turns, and each turn once more with "
        f"an extra skew of 3-15°; `orient.orient` with **no template**.",
        "",
        "| pages | cases | right quarter turn | decided by |",
        "| --- | --- | --- | --- |",
    ]
    for kind, label in kinds.items():
        lines.append(row(label, [c for c in real if c["kind"] == kind]))
    lines.append(row("all", real))
    lines += ["", "Scanned pages of text, per source:", "",
              "| source | cases | right quarter turn | decided by |", "| --- | --- | --- | --- |"]
    for origin in sorted({c["origin"] for c in real}):
        lines.append(row(origin, [c for c in real if c["origin"] == origin and c["kind"] == real_pages.TEXT]))
    skewed = [c for c in real if c["kind"] == real_pages.TEXT and c["skew"]]
    lines += ["", f"Of those, with the extra skew: {share(skewed)}; without: "
              f"{share([c for c in real if c['kind'] == real_pages.TEXT and not c['skew']])}.",
              "", "Wrong: " + ("; ".join(wrong) if wrong else "none") + ".", "",
        "Bundled synthetic sheets (`samples/dc01`, `samples/cc01`, 8 sheets × 4 turns):",
        "",
        "| template given | cases | right quarter turn | decided by |",
        "| --- | --- | --- | --- |",
    ]
    for with_ref in (False, True):
        cs = [c for c in samples if c["template"] == with_ref]
        lines.append(f"| {'yes' if with_ref else 'no'} | {len(cs)} | {share(cs)} | {methods(cs)} |")
    lines += ["", "Deskew on synthetic pages at 150 dpi, turned -20°…+20° (2.5° steps and 4 odd angles):", "",
              "| page | angles | max error | median error | within 0.3° |", "| --- | --- | --- | --- | --- |"]
    for name, errs in skews.items():
        e = [x for _, x in errs]
        lines.append(f"| {name} | {len(e)} | {max(e):.2f}° | {statistics.median(e):.2f}° | "
                     f"{sum(x <= 0.3 for x in e)}/{len(e)} |")
    # CPU seconds of this process (the OSD runs in it): on a shared machine the wall clock also counts
    # the time other work held the cores.
    def med(cases: list[dict], key: str = "cpu_seconds") -> str:
        return f"{statistics.median(c[key] for c in cases):.2f} s"
    everything = real + samples
    lines += ["", "Time of `orient.orient` per page (median CPU seconds of the process, all its threads; wall clock in brackets):",
              "", "| pages | all | decided by text | decided by OSD |", "| --- | --- | --- | --- |"]
    for name, cs in (("real pages", real), ("DC01/CC01 sheets (200-300 dpi)", samples)):
        by = {m: [c for c in cs if c["method"] == m] for m in (orient.TEXT, orient.OSD)}
        lines.append(f"| {name} | {med(cs)} ({med(cs, 'seconds')}) | "
                     + " | ".join(f"{med(by[m])} ({len(by[m])})" if by[m] else "-" for m in by) + " |")
    osd_share = sum(c["method"] == orient.OSD for c in everything) / len(everything)
    lines += ["", f"OSD decided {100 * osd_share:.0f}% of all cases (it runs only when the text cues are unsure)."]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOCS.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc += ("\n## Orientation without a template, deskew ±20° (bench/bench_orient.py)\n\n"
                "`.venv/bin/python bench/bench_orient.py --write-docs` (fetches the real pages once with "
                "`scripts/fetch_real_pages.sh`).\n\n" + block + "\n")
    DOCS.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--json", type=Path, help="also write every case here")
    ap.add_argument("--from-json", type=Path, help="report the cases of an earlier --json instead of running")
    args = ap.parse_args()
    if args.from_json:  # re-render the report of an earlier run
        saved = json.loads(args.from_json.read_text())
        real, samples, skews = saved["real"], saved["samples"], saved["skew"]
    else:
        manifest = real_pages.fetch()
        real = real_cases(manifest)
        samples = sample_cases()
        skews = skew_errors()
    text = report(real, samples, skews)
    print(text)
    if args.json and not args.from_json:
        args.json.write_text(json.dumps({"real": real, "samples": samples, "skew": skews}, indent=1))
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
