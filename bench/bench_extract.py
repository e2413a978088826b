"""Benchmark `extract` end to end on synthetic DC01 scans, in one run on the same sheets.

    .venv/bin/python bench/bench_extract.py [--pages N] [--seed S] [--write-docs]

1. Pages per core-hour of ``Pipeline.process_file`` in one process pinned to one core
   (``OMP_THREAD_LIMIT=1``): median seconds per page, the first page (warm-up: engine load,
   reference renders) excluded; then the same pages again, timing the stage functions directly,
   chained as ``pipeline/build.py`` chains them. Then ``executor.process_files`` with 2 workers: pages/hour on
   the wall clock (pool start-up and each worker's warm-up included).
2. Per-field OCR time, ``TesseractEngine.read`` vs ``TesseractEngine.read_bare`` (bare tesserocr),
   on the same tightened crops the pipeline sends (``recognize.tighten`` on ``extract_fields``).
3. Peak RSS (VmHWM) of each worker process after it has processed its pages.
4. Accuracy side table: exact-field rate vs truth (NFC, whitespace collapsed) for printed and
   handwriting sheets, auto-accepted share, error rate among auto-accepted fields.

Each measurement runs in a fresh child process so that memory peaks are the worker's own.
Sheets are generated once into bench/.cache/ (gitignored) and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr is imported anywhere

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE = REPO / "bench" / ".cache"
DOCS = REPO / "docs" / "benchmarks.md"
TEMPLATE = "dc01"
FORMATS = ("jpg", "pdf", "png", "tiff")
ANCHOR = 1040  # ABBYY FlexiCapture, published large deployment, B/W pages per core-hour
AIM = 2 * ANCHOR
BEGIN, END = "<!-- bench_extract:begin -->", "<!-- bench_extract:end -->"
STAGES = ("ingest", "orient", "register", "dropout+extract", "recognize", "validate/decide")


# ----------------------------------------------------------------------------------------- helpers

def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM of a process in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(val.split()[0]) / 1024
    return out


def norm(s: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s or "")).strip()


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def sheets(n: int, seed: int) -> Path:
    """The generated sheets (created on first use, reused after)."""
    d = CACHE / f"{TEMPLATE}-seed{seed}-n{n}-{'-'.join(FORMATS)}"
    if (d / "truth.jsonl").exists():
        return d
    from ocr_service.forms import loader
    from ocr_service.synth import fill

    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=d.name + ".", dir=CACHE))
    print(f"generating {n} sheets into {d} ...", file=sys.stderr)
    fill.generate(loader.load(TEMPLATE), n, seed, tmp, style="mixed", formats=FORMATS)
    tmp.rename(d)
    return d


def truth_of(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / "truth.jsonl").read_text(encoding="utf-8").splitlines() if line]


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def wait_idle(max_seconds: float, threshold: float = 0.15) -> float:
    """Wait (up to ``max_seconds``) until the machine has been nearly idle for 3 s in a row; returns
    the busy share (in cores) of the last second sampled."""
    hz = os.sysconf("SC_CLK_TCK")
    deadline, quiet, busy_cores = time.time() + max_seconds, 0, 0.0
    while True:
        b0, _ = _busy_jiffies()
        time.sleep(1)
        b1, _ = _busy_jiffies()
        busy_cores = (b1 - b0) / hz
        quiet = quiet + 1 if busy_cores < threshold else 0
        if quiet >= 3 or time.time() > deadline:
            return busy_cores


def child(mode: str, d: Path, wait: float = 0.0) -> dict:
    """Run one measurement in a fresh Python process; its last stdout line is JSON. Also measures
    how many cores' worth of *other* work ran on the machine meanwhile ("other_load")."""
    if wait:
        wait_idle(wait)
    hz = os.sysconf("SC_CLK_TCK")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, _ = _busy_jiffies()
    w0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", mode, "--dir", str(d)],
                          capture_output=True, text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {mode} failed ({proc.returncode})")
    wall = time.perf_counter() - w0
    b1, _ = _busy_jiffies()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["other_load"] = max(0.0, ((b1 - b0) / hz - ours) / wall)
    return out


def _pipeline():
    from ocr_service.forms import loader
    from ocr_service.pipeline.scoring import Thresholds, thresholds_path
    from ocr_service.pipeline.build import Pipeline

    t = loader.load(TEMPLATE)
    return Pipeline(t, Thresholds.load(thresholds_path(t)))  # as `ocr-service extract` builds it


def _fields_json(results) -> list[dict]:
    return [{"file": Path(r.file).name, "status": r.status, "reason": r.reason,
             "fields": {f.name: [f.value, f.status] for f in r.fields}} for r in results]


# ------------------------------------------------------------------------------ child: one core

def child_single(d: Path) -> dict:
    """process_file on every sheet, then the stages timed one by one, then read vs read_bare."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from ocr_service.engines.tesseract import TesseractEngine
    from ocr_service.forms import qr
    from ocr_service.pipeline import dropout, orient, register
    from ocr_service.pipeline.ingest import load_pages
    from ocr_service.pipeline import recognize as rec
    from ocr_service.forms.render import reference_image
    from ocr_service.pipeline.decide import decide_sheet

    entries = truth_of(d)
    files = [d / e["file"] for e in entries]
    pipe = _pipeline()
    rss_start = proc_status()

    def cpu() -> float:  # this process and the children it waited for (pdftoppm for PDFs)
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    # 1. end to end, as `extract` does it
    per_page, per_page_cpu, results = [], [], []
    for f in files:
        t0, c0 = time.perf_counter(), cpu()
        rs = list(pipe.process_file(f))
        per_page.append((time.perf_counter() - t0) / max(1, len(rs)))
        per_page_cpu.append((cpu() - c0) / max(1, len(rs)))
        results.extend(rs)
    mem_after = proc_status()

    # 2. the same pages, stage functions chained as pipeline/build.py chains them
    t = pipe.template
    dpi, eng, cfg = pipe.dpi, pipe.engines, pipe.recognition

    def recognize_all(crops):
        return rec.recognize_page(crops, t, eng, cfg, dpi)

    def engine_image(cr, spec):
        """The tightened image recognition sends to an engine (None: no writing)."""
        return rec.field_image(cr, spec, dpi)

    stages: list[dict[str, float]] = []
    stages_cpu: list[dict[str, float]] = []
    crops_for_ocr = []  # (file, field name, kind, tightened image)
    for f in files:
        s = dict.fromkeys(STAGES, 0.0)
        sc = dict.fromkeys(STAGES, 0.0)

        def c() -> tuple[float, float]:
            return time.perf_counter(), cpu()

        def add(k: str, a: tuple[float, float], b: tuple[float, float]) -> None:
            s[k] += b[0] - a[0]
            sc[k] += b[1] - a[1]

        t0 = c()
        pages = list(load_pages(f))
        add("ingest", t0, c())
        for page in pages:
            t0 = c()
            upright, _ = orient.orient(page.image, reference_image(t, dpi))
            t1 = c()
            reg = register.register(upright, t, dpi)
            if not reg.ok:
                add("orient", t0, t1)
                add("register", t1, c())
                continue
            qr.parse(reg.qr_text)
            aligned = register.warp(upright, reg.homography, t, dpi)
            t2 = c()
            ink = dropout.drop_out(aligned, t, dpi)
            crops = dropout.extract_fields(ink, t, dpi)
            t3 = c()
            readings = recognize_all(crops)
            t4 = c()
            boxes = {cr.name: cr.box_px for cr in crops}
            decide_sheet(t, readings, boxes, pipe.thresholds)
            t5 = c()
            for k, a, b in (("orient", t0, t1), ("register", t1, t2), ("dropout+extract", t2, t3),
                            ("recognize", t3, t4), ("validate/decide", t4, t5)):
                add(k, a, b)
            # the crops recognize() sends to an engine (same code path as recognize)
            for cr in crops:
                spec = t.field(cr.name)
                if spec.kind in ("choice", "signature"):
                    continue
                img = engine_image(cr, spec)
                if img is not None:
                    crops_for_ocr.append((f.name, cr.name, spec.kind, img))
        stages.append(s)
        stages_cpu.append(sc)

    # 3. our engine vs bare tesserocr on the same crops, interleaved
    engine = TesseractEngine().load()
    for _, _, kind, img in crops_for_ocr[:3]:  # warm both paths
        engine.read(img, kind), engine.read_bare(img, kind)
    ours, bare, ocr_rows = [], [], []
    for i, (fname, name, kind, img) in enumerate(crops_for_ocr):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            t0 = time.perf_counter()
            if which == 0:
                text = engine.read(img, kind).text
                ours.append(time.perf_counter() - t0)
                a = text
            else:
                text, _ = engine.read_bare(img, kind)
                bare.append(time.perf_counter() - t0)
                b = text
        ocr_rows.append((fname, name, kind, a, b))

    return {"per_page": per_page, "per_page_cpu": per_page_cpu, "results": _fields_json(results),
            "stages": stages, "stages_cpu": stages_cpu, "ours": ours, "bare": bare, "ocr_rows": ocr_rows,
            "rss_start": rss_start, "mem_after": mem_after}


# ------------------------------------------------------------------------------ child: the pool

_MEMDIR: Path | None = None
_ORIGINAL = None


def _measured_process(path: str):
    """executor._process, then this worker's VmRSS/VmHWM and page count written to _MEMDIR/<pid>.json."""
    out = _ORIGINAL(path)
    rec = _MEMDIR / f"{os.getpid()}.json"
    pages = (json.loads(rec.read_text())["files"] if rec.exists() else 0) + len(out)
    rec.write_text(json.dumps({**proc_status(), "files": pages}))
    return out


def child_pool(d: Path, workers: int = 2) -> dict:
    """executor.process_files with ``workers`` processes; each worker records its own VmHWM after
    every file (into a temp dir keyed by pid), so the last record is its peak after its pages."""
    from ocr_service.pipeline import executor

    entries = truth_of(d)
    files = [d / e["file"] for e in entries]
    pipe = _pipeline()
    global _MEMDIR, _ORIGINAL
    _MEMDIR = Path(tempfile.mkdtemp(prefix="bench_extract_mem."))
    _ORIGINAL = executor._process
    executor._process = _measured_process  # executor.process_files looks it up by name: same work, plus a probe
    parent_before = proc_status()
    t0 = time.perf_counter()
    results = [r for rs in executor.process_files(pipe, files, workers) for r in rs]
    wall = time.perf_counter() - t0
    mem = {p.stem: json.loads(p.read_text()) for p in _MEMDIR.glob("*.json")}
    shutil.rmtree(_MEMDIR, ignore_errors=True)
    return {"wall": wall, "pages": len(results), "workers": workers, "worker_mem": mem,
            "parent_before_fork": parent_before, "results": _fields_json(results)}


# ------------------------------------------------------------------------------------ the report

def accuracy(entries: list[dict], results: list[dict], template) -> dict:
    by_file = {r["file"]: r for r in results}
    kinds = {f.name: f.kind for f in template.fields}
    acc = {}
    for style in ("printed", "handwriting", "all"):
        n_pages = rescans = tot = exact = auto = auto_wrong = ocr_tot = ocr_exact = 0
        for e in entries:
            if style != "all" and e["style"] != style:
                continue
            n_pages += 1
            r = by_file.get(e["file"])
            if r is None or r["status"] != "ok":
                rescans += 1
                continue
            for name, truth in e["fields"].items():
                value, status = r["fields"][name]
                ok = norm(value) == norm(truth)
                tot += 1
                exact += ok
                if kinds[name] not in ("choice", "signature") and norm(truth):
                    ocr_tot += 1
                    ocr_exact += ok
                if status == "auto_accepted":
                    auto += 1
                    auto_wrong += not ok
        acc[style] = dict(pages=n_pages, rescans=rescans, fields=tot, exact=exact / tot if tot else float("nan"),
                          ocr_fields=ocr_tot, ocr_exact=ocr_exact / ocr_tot if ocr_tot else float("nan"),
                          auto=auto / tot if tot else float("nan"),
                          auto_err=auto_wrong / auto if auto else float("nan"), auto_wrong=auto_wrong)
    return acc


def machine() -> dict:
    from _machine import cpu_model, tesseract_version

    cpu, tess = cpu_model(), tesseract_version()
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "ocr_service", "templates"],
                               capture_output=True, text=True).stdout.splitlines()
    except OSError:
        rev, dirty = "?", []
    return {"git": rev + (f" + {len(dirty)} uncommitted changes under ocr_service/ and templates/" if dirty else ""),
            "nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "tesseract": tess,
            "kernel": platform.release()}


def build_report(args, d: Path, single: dict, pooled: dict, load: tuple) -> tuple[str, dict]:
    from ocr_service.forms import loader

    template = loader.load(TEMPLATE)
    entries = truth_of(d)
    n = len(single["per_page"])
    steady = single["per_page"][1:]  # the first page carries the one-time warm-up
    s_med, s_mean = med(steady), statistics.fmean(steady)
    pch_med, pch_mean = 3600 / s_med, 3600 / s_mean
    cpu_med = med(single["per_page_cpu"][1:])
    stage_rows = {k: [s[k] for s in single["stages"][1:]] for k in STAGES}
    stage_total = sum(med(v) for v in stage_rows.values())
    stage_cpu = {k: [x[k] for x in single["stages_cpu"][1:]] for k in STAGES}
    cpu_total = sum(med(v) for v in stage_cpu.values())
    pool_ph = 3600 * pooled["pages"] / pooled["wall"]
    ours_ms, bare_ms = med(single["ours"]) * 1e3, med(single["bare"]) * 1e3
    acc = accuracy(entries, single["results"], template)
    pool_by_file = {r["file"]: r for r in pooled["results"]}
    differ = sum(1 for r in single["results"] for k, v in r["fields"].items()
                 if pool_by_file.get(r["file"], {}).get("fields", {}).get(k) != v)
    same = differ == 0
    styles = {s: sum(e["style"] == s for e in entries) for s in ("printed", "handwriting")}
    fmts = {f: sum(e["file"].endswith(f) for e in entries) for f in FORMATS}
    dominant = max(stage_cpu, key=lambda k: med(stage_cpu[k]))
    # crop-level exact rates of both readers (digits: spaces ignored, as read() does)
    trow = {e["file"]: e["fields"] for e in entries}
    ocr = single["ocr_rows"]

    def crop_ok(i: int) -> float:
        good = 0
        for fname, name, kind, *texts in ocr:
            t = norm(trow[fname][name])
            got = norm(texts[i])
            if kind in ("digits", "date"):
                t, got = t.replace(" ", ""), got.replace(" ", "")
            good += got == t
        return good / len(ocr) if ocr else float("nan")

    m = machine()
    L = []
    L.append("| Measure | Value |")
    L.append("|---|---|")
    L.append(f"| Sheets | {n} DC01 synthetic scans ({styles['printed']} printed, {styles['handwriting']} handwriting; "
             + ", ".join(f"{v} {k}" for k, v in fmts.items()) + ") |")
    L.append(f"| `extract`, 1 process on 1 core: median s/page (n={len(steady)}, warm-up excluded) | "
             f"**{s_med:.3f} s** (mean {s_mean:.3f}, min {min(steady):.3f}, max {max(steady):.3f}) |")
    L.append(f"| First page (warm-up: engine load, reference renders) | {single['per_page'][0]:.3f} s |")
    L.append(f"| **Pages per core-hour** (3600 / median) | **{pch_med:,.0f}** (from the mean: {pch_mean:,.0f}) |")
    L.append(f"| CPU time per page, median (process + waited-for children, e.g. pdftoppm) | {cpu_med:.3f} s → "
             f"{3600 / cpu_med:,.0f} pages per CPU-hour (wall/CPU {s_med / cpu_med:.2f}) |")
    L.append(f"| vs ABBYY FlexiCapture anchor ({ANCHOR:,}/core-h) | **{pch_med / ANCHOR:.2f}×** "
             f"(mean-based {pch_mean / ANCHOR:.2f}×); aim ≥ 2× ({AIM:,}): "
             f"{'met' if pch_med >= AIM else 'NOT met'} |")
    L.append(f"| Pool, {pooled['workers']} workers on {m['nproc']} cores, wall clock incl. pool start-up | "
             f"{pooled['wall']:.1f} s for {pooled['pages']} pages → **{pool_ph:,.0f} pages/hour** "
             f"({pool_ph / (pch_med * pooled['workers']):.0%} of {pooled['workers']}× the 1-core median rate) |")
    L.append(f"| Other load on the machine (cores busy with work not ours): 1-core run / pool run | "
             f"{single['other_load']:.2f} / {pooled['other_load']:.2f} |")
    L.append(f"| Pool results identical to the 1-process results | {'yes' if same else f'NO: {differ} field results differ (the code under ocr_service/ changed between the runs?)'} |")
    L.append("")
    L.append("Per stage, same pages, stage functions chained as in `pipeline/build.py` (median s/page, warm-up excluded):")
    L.append("")
    L.append("| Stage | Median wall s/page | Share | Median CPU s/page | Share |")
    L.append("|---|---|---|---|---|")
    for k in STAGES:
        v, vc = med(stage_rows[k]), med(stage_cpu[k])
        L.append(f"| {k} | {v:.3f} | {v / stage_total:.0%} | {vc:.3f} | {vc / cpu_total:.0%} |")
    L.append(f"| sum of medians | {stage_total:.3f} | | {cpu_total:.3f} | |")
    L.append("")
    L.append("ingest = decoding the file (`load_pages`); register includes `qr.parse` and `warp`; "
             "dropout+extract = `drop_out` + `extract_fields`; recognize = `recognize()` on every field; "
             "validate/decide = `decide_sheet`.")
    L.append("")
    L.append(f"Per-field OCR on the same {len(single['ours'])} tightened crops "
             "(`recognize.tighten` on `extract_fields` output, comb fields as `comb_line`):")
    L.append("")
    L.append("| Reader | Median ms/field | Mean ms/field | Crop exact rate |")
    L.append("|---|---|---|---|")
    L.append(f"| `TesseractEngine.read` (rescale + border + symbol confidences) | {ours_ms:.1f} | "
             f"{statistics.fmean(single['ours']) * 1e3:.1f} | {crop_ok(0):.1%} |")
    L.append(f"| `TesseractEngine.read_bare` (bare tesserocr, same API objects) | {bare_ms:.1f} | "
             f"{statistics.fmean(single['bare']) * 1e3:.1f} | {crop_ok(1):.1%} |")
    L.append(f"| ratio read / read_bare | **{ours_ms / bare_ms:.2f}×** (medians) | "
             f"{statistics.fmean(single['ours']) / statistics.fmean(single['bare']):.2f}× (means) | |")
    L.append("")
    L.append("Peak memory (VmHWM, measured inside each worker after its pages):")
    L.append("")
    L.append("| Process | Pages | Peak RSS (VmHWM) | RSS at end |")
    L.append("|---|---|---|---|")
    L.append(f"| single worker (1 core) | {n} | {single['mem_after']['VmHWM']:.0f} MiB | "
             f"{single['mem_after']['VmRSS']:.0f} MiB |")
    for pid, mm in sorted(pooled["worker_mem"].items()):
        L.append(f"| pool worker pid {pid} | {mm['files']} | {mm['VmHWM']:.0f} MiB | {mm['VmRSS']:.0f} MiB |")
    L.append(f"| (pool parent before fork, shared copy-on-write) | – | "
             f"{pooled['parent_before_fork']['VmHWM']:.0f} MiB | {pooled['parent_before_fork']['VmRSS']:.0f} MiB |")
    L.append("")
    from ocr_service.pipeline.scoring import thresholds_path

    L.append("Accuracy on the same pages (1-process run; values vs truth after NFC and whitespace collapse, "
             "case-sensitive, so a value snapped to its canonical form counts as different here; "
             "docs/accuracy.md compares canonical values; thresholds: "
             + (thresholds_path(template).name if thresholds_path(template).exists()
                else "built-in defaults, not calibrated") + "):")
    L.append("")
    L.append("| Sheets | Pages (rescan) | Exact fields, all | Exact, written text/digit fields | "
             "Auto-accepted share | Errors among auto-accepted |")
    L.append("|---|---|---|---|---|---|")
    for st in ("printed", "handwriting", "all"):
        a = acc[st]
        L.append(f"| {st} | {a['pages']} ({a['rescans']}) | {a['exact']:.1%} of {a['fields']} | "
                 f"{a['ocr_exact']:.1%} of {a['ocr_fields']} | {a['auto']:.1%} | "
                 f"{a['auto_err']:.1%} ({a['auto_wrong']}) |")
    table = "\n".join(L)
    tpath = thresholds_path(template)
    thresholds = f"calibrated ({tpath.name})" if tpath.exists() else "built-in defaults, not calibrated"

    summary = dict(s_med=s_med, s_mean=s_mean, pch_med=pch_med, pch_mean=pch_mean, pool_ph=pool_ph,
                   ours_ms=ours_ms, bare_ms=bare_ms, dominant=dominant, stage_total=stage_total,
                   dominant_share=med(stage_cpu[dominant]) / cpu_total, acc=acc,
                   stages={k: med(v) for k, v in stage_cpu.items()}, cpu_med=cpu_med, same=same, machine=m, load=load,
                   n=n, pooled_workers=pooled["workers"], other=(single["other_load"], pooled["other_load"]),
                   thresholds=thresholds)
    return table, summary


def interpretation(s: dict) -> str:
    a = s["acc"]
    st = s["stages"]
    rest = sorted(((v, k) for k, v in st.items() if k != s["dominant"]), reverse=True)
    lines = [
        f"- Throughput: {s['pch_med']:,.0f} pages per core-hour from the median "
        f"({s['pch_med'] / ANCHOR:.1f}× the {ANCHOR:,} anchor; the ≥ 2× aim is "
        f"{'met' if s['pch_med'] >= AIM else 'not met'}). Capacity planning should use the mean "
        f"({s['pch_mean']:,.0f}/core-h), which includes the slower pages. The anchor is ABBYY's published "
        "figure for a large production deployment on its own hardware and documents; ours is synthetic DC01 "
        "sheets on this machine, so the ratio says we are in the same range or better, not that we beat "
        "FlexiCapture on the same work.",
        f"- Where the CPU goes: `{s['dominant']}` is the largest stage ({s['dominant_share']:.0%} of the "
        f"stage sum, {st[s['dominant']]:.3f} CPU s/page), then "
        + ", ".join(f"`{k}` {v:.3f} s" for v, k in rest[:3]) + f". Orientation + registration together take "
        f"{(st['orient'] + st['register']) / sum(st.values()):.0%}: more than reading the fields.",
        f"- Our Tesseract wrapper costs {s['ours_ms']:.1f} ms per field vs {s['bare_ms']:.1f} ms bare "
        f"({s['ours_ms'] / s['bare_ms']:.2f}×). "
        + ("The wrapper's extra work (rescale to ~36 px ink height, border, per-symbol confidence walk) is "
           "paid back by Tesseract reading smaller, cleaner images: no overhead to remove there."
           if s['ours_ms'] <= 1.05 * s['bare_ms'] else
           "The difference is the rescale to ~36 px ink height + border and the per-symbol confidence walk "
           "the accept/reject decision needs."),
        f"- The 2-worker pool reached {s['pool_ph']:,.0f} pages/hour wall clock "
        f"({s['pool_ph'] / (2 * s['pch_med']):.0%} of twice the 1-core median rate, "
        f"{s['pool_ph'] / (2 * 3600 / s['cpu_med']):.0%} of twice the CPU-time rate). It pays pool start-up, "
        "each worker's own warm-up (engine load) and the slowest pages at the end; with only 2 cores it also "
        "shares them with everything else on the machine.",
        f"- Accuracy (side table): exact fields {a['printed']['exact']:.1%} printed vs "
        f"{a['handwriting']['exact']:.1%} handwriting (written text/digit fields only: "
        f"{a['printed']['ocr_exact']:.1%} vs {a['handwriting']['ocr_exact']:.1%}); "
        f"{a['all']['auto']:.1%} of fields auto-accepted, of which {a['all']['auto_err']:.1%} wrong. "
        "Empty fields are counted (they are most of the easy exact matches). "
        f"Thresholds: {s['thresholds']}; {s['n']} synthetic sheets: indicative only.",
        f"- Other work on the machine during the runs (busy cores not ours, from /proc/stat): "
        f"{s['other'][0]:.2f} cores during the 1-core run, {s['other'][1]:.2f} during the pool run; "
        f"wall/CPU per page was {s['s_med'] / s['cpu_med']:.2f}. Anything above ~1.1 means other work shared "
        f"the core and the wall-clock numbers are pessimistic; the CPU-time rate "
        f"({3600 / s['cpu_med']:,.0f} pages per CPU-hour) is then the better estimate of pages per core-hour.",
    ]
    return "\n".join(lines)


def write_docs(args, table: str, s: dict) -> None:
    m = s["machine"]
    section = f"""{BEGIN}
## `extract` throughput, OCR overhead, memory and accuracy (bench/bench_extract.py)

What is measured, in one run on the same generated sheets:

1. Pages per core-hour of `extract` (`Pipeline.process_file`) in one process pinned to one core with
   `OMP_THREAD_LIMIT=1`: median seconds per page, the first page (one-time warm-up) excluded; the same
   pages again with the stage functions timed one by one, chained as `ocr_service/pipeline/build.py`
   chains them; and `executor.process_files` with 2 workers (pages/hour, wall clock).
2. Per-field OCR time of `TesseractEngine.read` vs bare tesserocr (`TesseractEngine.read_bare`) on the
   same tightened crops the pipeline sends to the engine.
3. Peak memory (VmHWM from `/proc/self/status`, read inside each worker after its pages).
4. Accuracy on the same pages (side table).

Anchor: ABBYY FlexiCapture's published large deployment does about {ANCHOR:,} black-and-white pages per
core-hour; the aim is ≥ 2× ({AIM:,}).

Command: `.venv/bin/python bench/bench_extract.py --pages {args.pages} --seed {args.seed} --write-docs`
(sheets: `ocr-service samples generate --template {TEMPLATE} -n {args.pages} --seed {args.seed} --style mixed
--formats {','.join(FORMATS)}`, cached in `bench/.cache/`).

Machine: {m['nproc']} cores (`nproc`), CPU `{m['cpu']}`, Linux {m['kernel']}, Python {m['python']},
{m['tesseract']}. Date: {dt.date.today().isoformat()}. Code: commit {m['git']}.

{table}

Interpretation:

{interpretation(s)}
{END}
"""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=30, help="sheets to generate and process (≥ 21)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--wait-idle", type=float, default=30.0,
                    help="before each measurement, wait up to this many seconds for the machine to be idle")
    ap.add_argument("--write-docs", action="store_true", help="write the results section of docs/benchmarks.md")
    ap.add_argument("--child", choices=("single", "pool"), help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        out = child_single(args.dir) if args.child == "single" else child_pool(args.dir)
        print(json.dumps(out, ensure_ascii=False))
        return
    if args.pages < 21:
        ap.error("--pages must be at least 21 (20 timed pages after the warm-up page)")
    started = time.perf_counter()
    load0 = os.getloadavg()[0]
    d = sheets(args.pages, args.seed)
    print("1-core run (process_file, then stages, then read vs read_bare) ...", file=sys.stderr)
    single = child("single", d, args.wait_idle)
    print("pool run (2 workers) ...", file=sys.stderr)
    pooled = child("pool", d, args.wait_idle)
    load = (f"{load0:.2f}", f"{os.getloadavg()[0]:.2f}")
    table, summary = build_report(args, d, single, pooled, load)
    print(table)
    print()
    print(interpretation(summary))
    print(f"\n(total bench time {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.write_docs:
        write_docs(args, table, summary)


if __name__ == "__main__":
    main()
