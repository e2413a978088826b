"""`templates author` measured: on the real CC01 and CT01 prints, and on DC01 typeset as other
printers would. Not a test: run it by hand; it prints Markdown for docs/templates.md.

    .venv/bin/python bench/bench_author.py cc01
    .venv/bin/python bench/bench_author.py ct01
    .venv/bin/python bench/bench_author.py layouts [-n SHEETS] [--seed S] [--out DIR]

``cc01``: author cc01 afresh from its real blank (``templates/cc01/cc01-blank.pdf``, text layer)
and compare every box with the hand-made template (edge offsets in mm, authored minus hand-made).
``ct01``: the same for CT01 (its member table: every cell, summarised per column).

``layouts``: for DC01's own layout and each layout of ``ocr_service/synth/layouts.py``: render the
blank (a PNG: no text layer, so its labels are read by Tesseract), author a template from it like
``dc01``, compare its boxes with the layout's true ones, generate SHEETS printed sheets on the
layout and read them with the layout's true template and with the authored one. *Exact* is the
share of written fields whose final value equals the written one (``calibration.labels``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import yaml  # noqa: E402

from ocr_service.calibration.labels import collect  # noqa: E402
from ocr_service.forms import author, loader, render  # noqa: E402
from ocr_service.forms.model import split_cell_name  # noqa: E402
from ocr_service.pipeline import authoring  # noqa: E402
from ocr_service.pipeline.build import build_pipeline  # noqa: E402
from ocr_service.pipeline.scoring import Thresholds  # noqa: E402
from ocr_service.synth import fill, layouts  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench_real(name: str = "cc01") -> None:
    hand = loader.load(name)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = authoring.author_template(hand.reference_pdf, hand, Path(tmp) / f"{name}-fresh.yaml")
        secs = time.perf_counter() - t0
        new = loader.load_file(done.template_path)
    by = {p.name: p for p in done.placements}
    rows = author.compare(hand, {f.name: f.box_mm for f in new.fields})
    print(f"`templates author templates/{name}/{hand.reference_pdf.name} --like {name}` ({done.text_source}, "
          f"{secs:.1f} s): {len(rows)} of {len(hand.fields)} fields placed, largest edge offset "
          f"{max(r[-1] for r in rows):.2f} mm, {sum(r[-1] <= 1.5 for r in rows)} within 1.5 mm.\n")
    for g in hand.groups:  # a table's cells, per column (every row)
        print(f"Table `{g.name}`: {len(new.group(g.name).rows_mm)} rows printed (template: {len(g.rows_mm)}).\n")
        print("| column | cells placed | method | max edge offset (mm) |")
        print("|---|---:|---|---:|")
        for c in g.columns:
            mine = [r for r in rows if split_cell_name(r[0]) and split_cell_name(r[0])[2] == c.name
                    and split_cell_name(r[0])[0] == g.name]
            methods = sorted({by[r[0]].method for r in mine})
            print(f"| {c.name} | {len(mine)} | {', '.join(methods)} | {max(r[-1] for r in mine):.2f} |")
        print()
    print("| field | placed by | confidence | left | top | right | bottom | max |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, dl, dt, dr, db, worst in rows:
        if split_cell_name(name):
            continue
        p = by[name]
        cells = f"{p.cells} cells" if p.cells else ""
        print(f"| {name} | {p.method}{' (' + cells + ')' if cells else ''} | {p.confidence:.2f}{' ⚠' if p.doubtful else ''} "
              f"| {dl:+.2f} | {dt:+.2f} | {dr:+.2f} | {db:+.2f} | {worst:.2f} |")


def bench_scanned(name: str = "cc01") -> None:
    """The same print as a scan (no text layer: Tesseract reads it): skewed, noisy, unevenly lit,
    on the scanner bed. The scan's frame is not the page's, so boxes are compared after taking
    out their common offset (the median of each edge's offset)."""
    import numpy as np

    from ocr_service.synth import scan

    hand = loader.load(name)
    img, _ = scan.simulate_scan(np.array(render.reference_print(hand, 300)), scan.ScanParams(
        skew_deg=-1.0, noise_sigma=3.0, blur_sigma=0.6, light_strength=0.15), src_dpi=300)
    with tempfile.TemporaryDirectory() as tmp:
        blank = Path(tmp) / f"{name}-scanned.png"
        scan.write_png(img, blank, dpi=300)
        t0 = time.perf_counter()
        done = authoring.author_template(blank, hand, Path(tmp) / f"{name}-scanned.yaml")
        secs = time.perf_counter() - t0
        new = loader.load_file(done.template_path)
    rows = author.compare(hand, {f.name: f.box_mm for f in new.fields})
    d = np.array([r[1:5] for r in rows])
    dev = np.abs(d - np.median(d, axis=0)).max(axis=1)
    worst = sorted(zip(dev, [r[0] for r in rows]), reverse=True)[:3]
    print(f"\nThe same print scanned (skew -1°, noise σ 3, blur 0.6, light 15%; {done.text_source}, {secs:.1f} s): "
          f"{len(rows)} of {len(hand.fields)} fields placed, {int((dev <= 1.5).sum())} within 1.5 mm of the "
          f"hand-made box once the scan's common offset is taken out; largest: "
          + ", ".join(f"{n} {v:.2f} mm" for v, n in worst) + f"; doubtful: {', '.join(p.name for p in done.doubtful)}.")


def _exact(pipeline, folder: Path) -> tuple[float, int, int, int]:
    """(exact share of written fields, written fields, pages registered, pages)."""
    fields = collect(pipeline, folder, workers=1)
    pages = len([line for line in (folder / "truth.jsonl").read_text().splitlines() if line.strip()])
    written = [f for f in fields if f.truth]
    registered = len(fields) // len(pipeline.template.fields)  # one labelled field per field of a registered page
    return (sum(f.correct for f in written) / len(written) if written else 0.0), len(written), registered, pages


def bench_layouts(n: int, seed: int, out: Path) -> None:
    dc01 = loader.load("dc01")
    data = yaml.safe_load(Path(dc01.source).read_text(encoding="utf-8"))
    rows = []
    for name in ["dc01"] + list(layouts.LAYOUTS):
        d = out / name
        (d / "true").mkdir(parents=True, exist_ok=True)
        if name == "dc01":
            true = dc01
        else:
            path = d / "true" / f"{name}.yaml"
            path.write_text(yaml.safe_dump(layouts.variant(data, layouts.LAYOUTS[name]), allow_unicode=True,
                                           sort_keys=False), encoding="utf-8")
            true = loader.load_file(path)
        blank = d / "blank.png"
        render.save_image(render.render_blank(true, 300), blank, 300)
        t0 = time.perf_counter()
        done = authoring.author_template(blank, dc01, d / "authored" / f"{true.version}.yaml", version=true.version)
        secs = time.perf_counter() - t0
        authored = loader.load_file(done.template_path)
        offsets = [r[-1] for r in author.compare(true, {f.name: f.box_mm for f in authored.fields})]
        sheets = d / "sheets"
        if not (sheets / "truth.jsonl").exists():
            log(f"{name}: generating {n} sheets")
            fill.generate(true, n, seed, sheets, style="printed", formats=("png",), severity=1.0)
        log(f"{name}: reading with the true template")
        ex_true = _exact(build_pipeline(true, "tesseract", Thresholds()), sheets)
        log(f"{name}: reading with the authored template")
        ex_auth = _exact(build_pipeline(authored, "tesseract", Thresholds()), sheets)
        rows.append((name, secs, len(done.doubtful), max(offsets), statistics.median(offsets),
                     sum(o <= 1.5 for o in offsets), len(offsets), ex_true, ex_auth))
    print(f"{n} printed sheets per layout (seed {seed}, severity 1.0), Tesseract, uncalibrated thresholds "
          "(exact values do not depend on them).\n")
    print("| layout | author (s) | doubtful | boxes within 1.5 mm | max / median offset (mm) | registered (true / authored) "
          "| exact, true template | exact, authored template | difference (points) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, secs, doubt, mx, med, within, total, (et, nt, rt, pt), (ea, na, ra, pa) in rows:
        print(f"| {name} | {secs:.1f} | {doubt} | {within} of {total} | {mx:.2f} / {med:.2f} | {rt}/{pt} · {ra}/{pa} "
              f"| {et:.1%} ({nt}) | {ea:.1%} ({na}) | {100 * (ea - et):+.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["cc01", "ct01", "layouts"])
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_author")
    args = ap.parse_args()
    if args.what == "cc01":
        bench_real("cc01")
        bench_scanned("cc01")
    elif args.what == "ct01":
        bench_real("ct01")
        bench_scanned("ct01")
    else:
        bench_layouts(args.n, args.seed, args.out)


if __name__ == "__main__":
    main()
