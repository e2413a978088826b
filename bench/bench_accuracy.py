"""End-to-end accuracy on held-apart synthetic DC01 sheets, Tesseract alone vs the cascade.

    .venv/bin/python bench/bench_accuracy.py [--sheets N] [--workers 2] [--write-docs]

In one run:

1. Generates (or reuses, from ``bench/.cache/``) a calibration set and a separate evaluation
   set of dc01 sheets with different seeds. Calibration: N/2 printed sheets and N/2
   handwriting-style sheets in fonts *outside* AsterNet's training list. Evaluation: N/3 printed,
   N/3 handwriting outside AsterNet's list (the main handwriting figure) and N/3 handwriting in
   fonts *inside* the list (reported apart: AsterNet has seen those glyph shapes).
2. For each engine configuration ('tesseract', 'cascade') reads every sheet once with the
   uncalibrated thresholds, fits the per-kind models and thresholds on the calibration fields
   (``calibration.fit``), writes them to a temp file, loads them with ``Thresholds.load`` and
   decides the evaluation fields with ``calibration.decide_all`` (no re-reading: the evidence
   is stored per field). A second pass re-reads the evaluation sheets with the calibrated
   thresholds to check that shortcut (``--no-rerun-check`` skips it).
3. Reports per style and field kind, both configurations side by side; closed-vocabulary
   fields by name; a leave-fonts-out check (hands never seen in calibration); examples of
   wrongly accepted values.
4. Speed and memory in a fresh single process: median seconds of ``process_file`` per page for
   both configurations on the same pages, and the peak RSS with every engine loaded.

All data is synthetic. ``--write-docs`` writes docs/accuracy.md with the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CACHE = REPO / "bench" / ".cache" / "accuracy"
DOCS = REPO / "docs" / "accuracy.md"
TEMPLATES = ("dc01", "cc01")
CONFIGS = ("tesseract", "cascade")
TARGET = 0.005
CLOSED_VOCAB = ("ethnicity", "religion", "nationality", "sex", "marital_status", "blood_group",
                "hdr_province", "hdr_district", "hdr_commune")
# groups of sheets: the calibration set (printed, handwriting in the calibration hands) and the
# evaluation set (printed, the held-out hands, the hands AsterNet was trained on)
GROUPS = ("printed", "held_out", "hw_in")
GROUP_LABEL = {"printed": "printed", "hw_cal": "handwriting, calibration hands",
               "held_out": "handwriting, held-out hands (never in any fit)",
               "hw_in": "handwriting, hands inside AsterNet's training list"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------------


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def generator_hash() -> str:
    """Short hash of the sample generator's code and font list: cached sheets are reused only
    while it is unchanged."""
    import hashlib

    h = hashlib.sha256()
    synth = REPO / "ocr_service" / "synth"
    for path in (*sorted(synth.glob("*.py")), synth / "fonts" / "fonts.yaml", synth / "data" / "names_vi.json",
                 REPO / "ocr_service" / "forms" / "render.py"):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:8]


def code_revision() -> str:
    """The commit the code was at ('+ local changes' when ocr_service/ differs from it)."""
    if os.environ.get("BENCH_CODE_REV"):
        return os.environ["BENCH_CODE_REV"]
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "ocr_service", "templates"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" + local changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def hand_sets() -> dict[str, list[str]]:
    """Font families by role: calibration hands, held-out hands, AsterNet's hands."""
    from ocr_service.synth import fonts

    return {"hw_cal": sorted(f.family for f in fonts.list_fonts("handwriting", asternet=False, held_out=False)),
            "held_out": sorted(f.family for f in fonts.list_fonts("handwriting", held_out=True)),
            "hw_in": sorted(f.family for f in fonts.list_fonts("handwriting", asternet=True, held_out=False))}


def plan(args, cache: Path) -> list[dict]:
    """Folders to generate: template, set ('cal'/'eval'), group, font family (None: any printed
    font), n, seed. Every folder mixes the scan profiles; handwriting sheets get varied writers."""
    hs = hand_sets()
    folders = []
    for ti, tname in enumerate(TEMPLATES):
        base = 10000 * (ti + 1)
        folders.append({"template": tname, "set": "cal", "group": "printed", "font": None, "n": args.cal_printed,
                        "seed": base + 1})
        for i, fam in enumerate(hs["hw_cal"]):
            folders.append({"template": tname, "set": "cal", "group": "hw_cal", "font": fam, "n": args.per_hand,
                            "seed": base + 100 + i})
        folders.append({"template": tname, "set": "eval", "group": "printed", "font": None, "n": args.eval_printed,
                        "seed": base + 2001})
        for i, fam in enumerate(hs["held_out"]):
            folders.append({"template": tname, "set": "eval", "group": "held_out", "font": fam,
                            "n": args.per_held_out_hand, "seed": base + 2100 + i})
        for i, fam in enumerate(hs["hw_in"]):
            folders.append({"template": tname, "set": "eval", "group": "hw_in", "font": fam, "n": args.per_in_hand,
                            "seed": base + 2200 + i})
    gen = generator_hash()
    for f in folders:
        f["style"] = "printed" if f["group"] == "printed" else "handwriting"
        f["dir"] = cache / "sheets" / (f"{f['template']}-{f['set']}-{f['group']}-{slug(f['font'] or 'any')}"
                                       f"-s{f['seed']}-n{f['n']}-g{gen}")
    held = set(hs["held_out"])
    for f in folders:  # the held-out hands never reach a fit
        assert not (f["set"] == "cal" and f["font"] in held), f
    return [f for f in folders if f["n"] > 0]


def _generate_one(f: dict) -> str:
    from ocr_service.forms import loader
    from ocr_service.synth import fill, fonts

    index = f["dir"] / "truth.jsonl"
    if index.exists() and len(index.read_text(encoding="utf-8").splitlines()) == f["n"]:
        return ""
    fill.generate(loader.load(f["template"]), f["n"], f["seed"], f["dir"], style=f["style"], font_family=f["font"],
                  scan_profile="mixed", hand_mode="varied",
                  exclude_fonts=fonts.held_out_families() if f["set"] == "cal" else frozenset())
    return str(f["dir"])


def generate_all(folders: list[dict], workers: int) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max(1, workers)) as pool:
        for done in pool.map(_generate_one, folders):
            if done:
                log(f"generated {done}")


# --- reading -------------------------------------------------------------------------------------


def _fields_cache(f: dict, cfg: str, cache: Path) -> Path:
    return cache / "fields" / f"{f['dir'].name}.{cfg}.jsonl"


def _save_fields(path: Path, entry: dict) -> None:
    import dataclasses

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"pages": entry["pages"], "not_ok": entry["not_ok"]}, ensure_ascii=False) + "\n")
        for fld in entry["fields"]:
            fh.write(json.dumps(dataclasses.asdict(fld), ensure_ascii=False) + "\n")
    tmp.replace(path)


def _load_fields(path: Path) -> dict:
    from ocr_service.calibration import LabelledField

    lines = path.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    return {"pages": head["pages"], "not_ok": [tuple(x) for x in head["not_ok"]],
            "fields": [LabelledField(**json.loads(line)) for line in lines[1:]]}


def read_folders(cfg: str, folders: list[dict], workers: int, cache: Path) -> dict:
    """Labelled fields of every folder under configuration ``cfg`` with uncalibrated thresholds,
    read once and kept in ``cache/fields`` (each field keeps its evidence, so refits never re-read).
    Returns {folder dir name: {"fields", "pages", "not_ok"}}."""
    from ocr_service import calibration
    from ocr_service.engines.registry import RecognitionConfig
    from ocr_service.forms import loader
    from ocr_service.pipeline import executor
    from ocr_service.pipeline.build import Pipeline
    from ocr_service.pipeline.scoring import Thresholds

    out = {}
    for tname in TEMPLATES:
        todo = [f for f in folders if f["template"] == tname and not _fields_cache(f, cfg, cache).exists()]
        for f in folders:
            if f["template"] == tname and f not in todo:
                out[f["dir"].name] = _load_fields(_fields_cache(f, cfg, cache))
        if not todo:
            continue
        t = loader.load(tname)
        pipeline = Pipeline(t, Thresholds(), RecognitionConfig.named(cfg))
        items = [(f, path, entry) for f in todo for path, entry in calibration.read_labelled_entries(f["dir"])]
        log(f"{cfg}: reading {len(items)} {tname} sheets")
        acc: dict = {f["dir"].name: {"fields": [], "pages": 0, "not_ok": []} for f in todo}
        left = {f["dir"].name: f["n"] for f in todo}
        done, s = 0, time.time()
        for (f, path, entry), results in zip(items, executor.process_files(pipeline, [p for _, p, _ in items],
                                                                          workers)):
            e = acc[f["dir"].name]
            e["pages"] += 1
            if not results or results[0].status != "ok":
                r = results[0] if results else None
                e["not_ok"].append((str(path), r.status if r else "none", r.reason if r else ""))
            e["fields"].extend(calibration.label(t, results[:1], [entry["fields"]], [calibration.sheet_group(entry)]))
            left[f["dir"].name] -= 1
            if left[f["dir"].name] == 0:
                _save_fields(_fields_cache(f, cfg, cache), e)
                out[f["dir"].name] = e
            done += 1
            if done % 20 == 0:
                log(f"  {cfg} {tname}: {done}/{len(items)} sheets, {(time.time() - s) / done:.2f} s/sheet")
    return out


def fit_thresholds(fields, tmpdir: Path, name: str):
    from ocr_service import calibration
    from ocr_service.pipeline.scoring import Thresholds

    data = calibration.fit(fields, target=TARGET)
    path = tmpdir / f"{name}.thresholds.json"
    calibration.write(path, data)
    return data, Thresholds.load(path)


# --- statistics ----------------------------------------------------------------------------------


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if k >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq)
                        for i in range(k + 1)))


def upper95(k: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound on an error rate with k errors in n (0 errors: ≈ 3/n)."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > 0.05:
            lo = mid
        else:
            hi = mid
    return hi


def summarize(rows) -> dict:
    """Per kind (+ 'all', 'all (written)'): counts behind calibration.report, plus accepted n and bound."""
    from ocr_service import calibration

    table = {r["kind"]: r for r in calibration.report(rows)}
    for kind, r in table.items():
        sel = [(f, a) for f, _, a in rows if kind == "all" or f.kind == kind]
        acc = [f for f, a in sel if a]
        r["accepted"] = len(acc)
        r["wrong_accepted"] = sum(1 for f in acc if not f.correct)
        r["upper95"] = upper95(r["wrong_accepted"], len(acc))
    written = [(f, s, a) for f, s, a in rows if f.truth]
    if written:
        w = {r["kind"]: r for r in calibration.report(written)}["all"]
        acc = [f for f, _, a in written if a]
        w["kind"] = "all (written fields)"
        w["accepted"] = len(acc)
        w["wrong_accepted"] = sum(1 for f in acc if not f.correct)
        w["upper95"] = upper95(w["wrong_accepted"], len(acc))
        table[w["kind"]] = w
    return table


def by_name(rows, names) -> dict:
    out = {}
    for name in list(names) + ["pooled"]:
        sel = [(f, a) for f, _, a in rows if (f.name in names if name == "pooled" else f.name == name)]
        acc = [f for f, a in sel if a]
        wsel = [(f, a) for f, a in sel if f.truth]
        out[name] = {"fields": len(sel), "accepted": len(acc), "wrong_accepted": sum(1 for f in acc if not f.correct),
                     "straight_through": len(acc) / len(sel) if sel else 0.0,
                     "written": len(wsel),
                     "straight_through_written": sum(a for _, a in wsel) / len(wsel) if wsel else 0.0,
                     "exact_validated": sum(f.correct for f, _ in sel) / len(sel) if sel else 0.0}
        out[name]["residual_error"] = out[name]["wrong_accepted"] / len(acc) if acc else 0.0
    return out


def oracle_straight_through(rows, target: float = TARGET) -> tuple[float, int, int]:
    """Straight-through when each kind's threshold is chosen on ``rows`` themselves (an optimistic,
    in-sample bound): (share accepted, accepted, wrong accepted)."""
    import numpy as np

    from ocr_service.calibration import choose_threshold

    acc = wrong = 0
    for kind in sorted({f.kind for f, _, _ in rows}):
        sel = [(f, sc) for f, sc, _ in rows if f.kind == kind and not f.blocked]
        if not sel:
            continue
        scores = np.array([sc for _, sc in sel])
        correct = np.array([f.correct for f, _ in sel])
        th = choose_threshold(scores, correct, target)
        acc += int((scores >= th).sum())
        wrong += int(((scores >= th) & ~correct).sum())
    return acc / len(rows) if rows else 0.0, acc, wrong


def wrong_by_field(rows) -> dict:
    out: dict = defaultdict(int)
    for f, _, a in rows:
        if a and not f.correct:
            out[f.name] += 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def lenient_matches(rows) -> list:
    """Accepted, counted right by match_key (case, i/y, tone placement, abbreviations), but not
    character-identical to the written value nor to its canonical form."""
    from ocr_service.calibration import canonical_truth
    from ocr_service.forms import loader
    from ocr_service.vietnamese.text import clean

    t = loader.load(TEMPLATE)
    out = []
    for f, _, a in rows:
        if a and f.correct and clean(f.value) != clean(f.truth) and clean(f.value) != clean(canonical_truth(t.field(f.name), f.truth)):
            out.append(f)
    return out


# --- speed ---------------------------------------------------------------------------------------


def speed_worker(spec_path: str) -> None:
    """In a fresh process: load every engine, time process_file per page for both configurations."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from ocr_service.forms import loader
    from ocr_service.pipeline.scoring import Thresholds
    from ocr_service.engines.registry import Engines, RecognitionConfig
    from ocr_service.pipeline.build import Pipeline

    spec = json.loads(Path(spec_path).read_text())
    t = loader.load(TEMPLATE)
    engines = Engines()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    for name in ("tesseract", "asternet", "ppocr"):
        engines.get(name)
    load_s = time.perf_counter() - t0
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipes = {c: Pipeline(t, Thresholds.load(spec["thresholds"][c]), RecognitionConfig.named(c), engines=engines)
             for c in CONFIGS}
    times: dict = {c: defaultdict(list) for c in CONFIGS}
    for c in CONFIGS:  # warm-up, not counted
        list(pipes[c].process_file(spec["warmup"]))
    for i, (group, path) in enumerate(spec["pages"]):
        order = CONFIGS if i % 2 == 0 else CONFIGS[::-1]
        for c in order:
            s = time.perf_counter()
            list(pipes[c].process_file(path))
            times[c][group].append(time.perf_counter() - s)
    print(json.dumps({"times": times, "rss_start_kb": rss0, "rss_loaded_kb": rss_loaded,
                      "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "load_s": load_s}))


def run_speed(folders: list[dict], thresholds_paths: dict, per_group: int, tmpdir: Path) -> dict:
    from ocr_service import calibration

    def eval_paths(group):
        return _interleave([[str(p) for p, _ in calibration.read_labelled_dir(f["dir"])]
                            for f in folders if f["set"] == "eval" and f["group"] == group])

    pages = [(g, p) for g in ("printed", "hw_out") for p in eval_paths(g)[:per_group]]
    warm = [str(p) for f in folders if f["set"] == "cal" and f["group"] == "printed"
            for p, _ in calibration.read_labelled_dir(f["dir"])][0]
    spec = tmpdir / "speed.json"
    spec.write_text(json.dumps({"pages": pages, "warmup": warm, "thresholds": {c: str(p) for c, p in thresholds_paths.items()}}))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = subprocess.run([sys.executable, __file__, "--speed-worker", str(spec)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _interleave(lists):
    out = []
    for i in range(max(map(len, lists), default=0)):
        out += [lst[i] for lst in lists if i < len(lst)]
    return out


# --- formatting ----------------------------------------------------------------------------------


def pct(x: float, d: int = 1) -> str:
    return f"{x * 100:.{d}f}%"


def side_by_side(tables: dict) -> str:
    """tables: config → summarize() output, for one group."""
    kinds = list(tables[CONFIGS[0]].keys())
    head = ("| kind | fields | " + " | ".join(f"{c}: {h}" for c in CONFIGS for h in
            ("exact raw", "exact validated", "straight-through", "residual error (wrong/accepted)", "95% bound",
             "caught by review")) + " |")
    lines = [head, "|---|---:|" + "---:|" * (6 * len(CONFIGS))]
    for k in kinds:
        cells = [k, str(tables[CONFIGS[0]][k]["fields"])]
        for c in CONFIGS:
            r = tables[c].get(k)
            if r is None:
                cells += ["–"] * 6
                continue
            cells += [pct(r["exact_raw"]), pct(r["exact_validated"]), pct(r["straight_through"]),
                      f"{pct(r['residual_error'], 2)} ({r['wrong_accepted']}/{r['accepted']})", pct(r["upper95"], 2),
                      f"{r['caught_by_review']}/{r['errors']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def vocab_table(vt: dict) -> str:
    head = "| field | fields (written) | " + " | ".join(
        f"{c}: {h}" for c in CONFIGS for h in ("straight-through", "straight-through of written", "residual error (wrong/accepted)")) + " |"
    lines = [head, "|---|---:|" + "---:|" * (3 * len(CONFIGS))]
    for name in vt[CONFIGS[0]]:
        r0 = vt[CONFIGS[0]][name]
        cells = [name if name != "pooled" else "**pooled**", f"{r0['fields']} ({r0['written']})"]
        for c in CONFIGS:
            r = vt[c][name]
            cells += [pct(r["straight_through"]), pct(r["straight_through_written"]),
                      f"{pct(r['residual_error'], 2)} ({r['wrong_accepted']}/{r['accepted']})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def constant_model(model: dict) -> bool:
    """``calibration.fit`` gives a kind whose calibration fields were all right (or all wrong) a
    constant model: the same score for every field, whatever the evidence."""
    return all(v == 0 for k, v in model.items() if k != "bias")


def thresholds_table(fitted: dict, cal_counts: dict) -> str:
    kinds = sorted({k for d in fitted.values() for k in d["kinds"]})
    lines = ["| kind | " + " | ".join(f"{c}: threshold | {c}: model (calibration fields, wrong)" for c in CONFIGS) + " |",
             "|---|" + "---:|---|" * len(CONFIGS)]
    for k in kinds:
        cells = [k]
        for c in CONFIGS:
            model = fitted[c]["models"].get(k, {})
            n, wrong = cal_counts[c].get(k, (0, 0))
            cells += [f"{fitted[c]['kinds'].get(k, float('nan')):.4f}",
                      f"{'**constant**' if constant_model(model) else 'fitted'} ({n}, {wrong})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def md_escape(s: str) -> str:
    return s.replace("|", "\\|") or "∅"


def machine() -> str:
    from _machine import cpu_model, tesseract_version

    cpu = cpu_model()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    tess = tesseract_version()
    try:
        import onnxruntime
        ort = f"onnxruntime {onnxruntime.__version__}"
    except ImportError:
        ort = "onnxruntime ?"
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {tess}; {ort}")


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cal-printed", type=int, default=50, help="printed calibration sheets per template")
    ap.add_argument("--per-hand", type=int, default=12, help="calibration sheets per calibration hand and template")
    ap.add_argument("--eval-printed", type=int, default=20, help="printed evaluation sheets per template")
    ap.add_argument("--per-held-out-hand", type=int, default=12, help="evaluation sheets per held-out hand and template")
    ap.add_argument("--per-in-hand", type=int, default=0, help="evaluation sheets per AsterNet hand and template")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=CACHE, help="where sheets and collected fields are kept")
    ap.add_argument("--collect-only", action="store_true", help="generate and read the sheets, then stop")
    ap.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(REPO)}")
    ap.add_argument("--write-thresholds", action="store_true",
                    help="write the thresholds fitted on the calibration set beside the templates")
    args = ap.parse_args()

    started = time.time()
    rev = code_revision()
    command = " ".join([".venv/bin/python bench/bench_accuracy.py"] + sys.argv[1:])
    folders = plan(args, args.cache)
    generate_all(folders, args.workers)
    gen_s = time.time() - started
    data = {}
    for cfg in CONFIGS:
        data[cfg] = read_folders(cfg, folders, args.workers, args.cache)
    read_s = time.time() - started - gen_s
    if args.collect_only:
        log(f"collected in {read_s / 60:.1f} min (generation {gen_s / 60:.1f} min)")
        return
    res = analyse(folders, data, args)
    total_s = time.time() - started
    emit(args, command, folders, res, total_s, gen_s, rev)


def emit(args, command, folders, res, speed, total_s, gen_s, rev) -> None:
    from ocr_service.synth import fonts

    md = render(args, command, folders, res, speed, total_s, gen_s, fonts, rev)
    print(md)
    if args.write_docs:
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        DOCS.write_text(md, encoding="utf-8")
        log(f"wrote {DOCS.relative_to(REPO)}")
    log(f"total {total_s / 60:.1f} min")


def render(args, command, folders, res, speed, total_s, gen_s, fonts, rev) -> str:
    out_fonts = sorted(f.family for f in fonts.list_fonts("handwriting", asternet=False))
    in_fonts = sorted(f.family for f in fonts.list_fonts("handwriting", asternet=True))
    printed_fonts = sorted(f.family for f in fonts.list_fonts("printed"))
    L: list[str] = []
    add = L.append
    add("# Accuracy on held-apart synthetic sheets: Tesseract alone vs the cascade\n")
    add(f"Generated by `bench/bench_accuracy.py` on {dt.date.today().isoformat()} "
        f"(whole run {total_s / 60:.1f} min, of which sheet generation {gen_s / 60:.1f} min).\n")
    add("```\n" + command + "\n```\n")
    add(f"Code: commit {rev}. Machine: {machine()}.\n")
    add("## What is measured\n")
    add("* Synthetic DC01 (`dc01@tt66-2015`) sheets from `ocr_service.synth.fill.generate`: records from "
        "`synth.records`, filled in one font per sheet, then scan-simulated (rotation, skew, noise, blur, "
        "formats PNG/JPEG/PDF/TIFF in turn). Nothing here is a real scan or real handwriting.")
    add("* Two sets with different seeds. **Calibration** (fit only): "
        f"{sum(f['n'] for f in folders if f['set'] == 'cal' and f['group'] == 'printed')} printed sheets and "
        f"{sum(f['n'] for f in folders if f['set'] == 'cal' and f['group'] == 'hw_out')} handwriting-style sheets in "
        f"fonts outside AsterNet's training list. **Evaluation** (held apart, never used for fitting): "
        + ", ".join(f"{sum(f['n'] for f in folders if f['set'] == 'eval' and f['group'] == g)} {GROUP_LABEL[g]}"
                    for g in GROUPS) + ".")
    add(f"* Printed fonts: {', '.join(printed_fonts)}. Handwriting fonts outside AsterNet's list: "
        f"{', '.join(out_fonts)}. Inside it (reported apart, never used to fit): {', '.join(in_fonts)}.")
    add("* For each configuration — `tesseract` (Tesseract alone) and `cascade` (Tesseract, with AsterNet "
        "and PP-OCR second opinions on unsure fields and on every field of a page that looks handwritten) — "
        "every sheet is read once with uncalibrated thresholds; `calibration.fit(target=0.005)` fits a "
        "logistic evidence model and a threshold per field kind on the calibration fields; the thresholds "
        "file is loaded with `Thresholds.load` and the evaluation fields are decided by "
        "`calibration.decide_all` from their stored evidence (no re-reading).")
    add("* Per field: *exact raw* = the chosen engine's text equals the written value (after `clean`); "
        "*exact validated* = the final value (normalized / snapped to the vocabulary) equals the written "
        "value or its canonical form under `match_key` (case, tone placement, i/y, abbreviations ignored); "
        "*straight-through* = auto-accepted share; *residual error* = wrong among auto-accepted; "
        "*caught by review* = wrong fields that were sent to review / all wrong fields. Blank fields "
        "(nothing written, read as blank) count as fields, as in `calibration.report`; "
        "'all (written fields)' leaves them out.")
    add("* The 95% bound is the one-sided Clopper-Pearson upper bound on the residual error given the "
        "accepted count (0 errors in n accepted gives ≈ 3/n).\n")

    # data health
    add("## Sheets\n")
    add("| set | group | sheets | registered (status ok) | fields |")
    add("|---|---|---:|---:|---:|")
    d0 = res[CONFIGS[0]]["data"]
    for (st, g), d in sorted(d0.items()):
        add(f"| {st} | {GROUP_LABEL[g]} | {d['pages']} | {d['pages'] - len(d['not_ok'])} | {len(d['fields'])} |")
    for c in CONFIGS:
        bad = [x for d in res[c]["data"].values() for x in d["not_ok"]]
        if bad:
            add(f"\n{c}: sheets not registered (their fields are missing from every table): "
                + "; ".join(f"`{p}` {s} ({r})" for p, s, r in bad))
    add("")

    add("## Fitted thresholds (per kind, on the calibration set)\n")
    cal_counts = {}
    for c in CONFIGS:
        cal = [f for (st, _), d in res[c]["data"].items() if st == "cal" for f in d["fields"] if not f.blocked]
        cal_counts[c] = {k: (sum(1 for f in cal if f.kind == k), sum(1 for f in cal if f.kind == k and not f.correct))
                         for k in {f.kind for f in cal}}
    add(thresholds_table({c: res[c]["fitted"] for c in CONFIGS}, cal_counts))
    add("")
    const = [f"{c}/{k}" for c in CONFIGS for k, m in res[c]["fitted"]["models"].items() if constant_model(m) and k != "signature"]
    if const:
        add(f"**Constant models: {', '.join(const)}.** Every non-blocked calibration field of these kinds was right, "
            "so `calibration.fit` gives them a constant model (bias +8, every evidence weight 0): every field of the "
            "kind gets the same score (0.99966) and the threshold equals it, so every field of the kind that no "
            "check blocks is auto-accepted, whatever the engines' confidence or (dis)agreement. Zero errors in "
            "~100–350 calibration fields only bounds the error rate at ≈ 1–3%, not 0.5%. In the cascade, a "
            "constant score also makes `validate._choose` fall back to the first engine's reading (ties go to "
            "the first), even when the two other engines agree on another value (see the re-read check).\n")
    add("A threshold of 1.0 means no score cut met the target with at least "
        "20 accepted calibration fields: the kind is never auto-accepted.\n")
    for c in CONFIGS:
        r = res[c]["cal_insample"]
        add(f"In-sample on the calibration set ({c}): straight-through {pct(r['straight_through'])}, residual error "
            f"{pct(r['residual_error'], 2)} ({r['wrong_accepted']}/{r['accepted']}).")
    add("")

    add("## Results on the held-apart evaluation set\n")
    for g in GROUPS:
        if g not in res[CONFIGS[0]]["eval"]:
            continue
        add(f"### {GROUP_LABEL[g][0].upper() + GROUP_LABEL[g][1:]}\n")
        add(side_by_side({c: res[c]["eval"][g]["table"] for c in CONFIGS}))
        add("")

    from ocr_service import calibration

    add("### Handwriting by font (all fields)\n")
    add("| group | font | fields | " + " | ".join(f"{c}: straight-through | {c}: residual error (wrong/accepted)"
                                              for c in CONFIGS) + " |")
    add("|---|---|---:|" + "---:|---:|" * len(CONFIGS))
    for g in ("hw_out", "hw_in"):
        if ("eval", g) not in res[CONFIGS[0]]["data"]:
            continue
        for font in sorted(k for k, v in res[CONFIGS[0]]["data"][("eval", g)]["fonts"].items() if v):
            cells = [g, font, str(len(res[CONFIGS[0]]["data"][("eval", g)]["fonts"][font]))]
            for c in CONFIGS:
                r = summarize(calibration.decide_all(res[c]["data"][("eval", g)]["fonts"][font], res[c]["th"]))["all"]
                cells += [pct(r["straight_through"]), f"{pct(r['residual_error'], 2)} ({r['wrong_accepted']}/{r['accepted']})"]
            add("| " + " | ".join(cells) + " |")
    add("")

    hw = {c: res[c]["eval"]["hw_out"]["table"] for c in CONFIGS}
    ratio = hw["cascade"]["all"]["straight_through"] / max(hw["tesseract"]["all"]["straight_through"], 1e-9)
    ratio_w = (hw["cascade"]["all (written fields)"]["straight_through"]
               / max(hw["tesseract"]["all (written fields)"]["straight_through"], 1e-9))
    add("### Handwriting (outside AsterNet's list): cascade vs Tesseract alone\n")
    add(f"* Straight-through, all fields: tesseract {pct(hw['tesseract']['all']['straight_through'])}, cascade "
        f"{pct(hw['cascade']['all']['straight_through'])}: ratio **{ratio:.2f}×** (residual error: tesseract "
        f"{pct(hw['tesseract']['all']['residual_error'], 2)}, cascade {pct(hw['cascade']['all']['residual_error'], 2)}).")
    add(f"* Written fields only: tesseract {pct(hw['tesseract']['all (written fields)']['straight_through'])}, cascade "
        f"{pct(hw['cascade']['all (written fields)']['straight_through'])}: ratio **{ratio_w:.2f}×**.\n")
    orc = oracle_straight_through(res["tesseract"]["eval"]["hw_out"]["rows"])
    add(f"* Tesseract alone misses its 0.5% target on this set (residual {pct(hw['tesseract']['all']['residual_error'], 2)}). "
        f"Even with each kind's threshold chosen on the evaluation sheets themselves (an optimistic in-sample "
        f"bound for Tesseract) to keep ≤ 0.5% wrong, it accepts {pct(orc[0])} ({orc[2]}/{orc[1]} wrong): ratio "
        f"cascade/that = **{hw['cascade']['all']['straight_through'] / max(orc[0], 1e-9):.2f}×**.\n")
    add("### Closed-vocabulary fields on handwriting (outside AsterNet's list), by field name\n")
    add(vocab_table({c: res[c]["eval"]["hw_out"]["vocab"] for c in CONFIGS}))
    add("")
    if "hw_in" in res[CONFIGS[0]]["eval"]:
        add("Same fields on handwriting in fonts inside AsterNet's training list:\n")
        add(vocab_table({c: res[c]["eval"]["hw_in"]["vocab"] for c in CONFIGS}))
        add("")

    # leave-fonts-out
    halves = res[CONFIGS[0]]["lfo"]["halves"]
    add("### Hands never seen in calibration (leave-fonts-out check)\n")
    add("The evaluation handwriting above is in the same six fonts as the calibration handwriting (different "
        "sheets, records and scan noise). Here the thresholds are refitted on the printed calibration sheets "
        f"plus the calibration handwriting of half the fonts ({', '.join(halves[0])}) and evaluated on the "
        f"evaluation sheets of the other half ({', '.join(halves[1])}), and the other way round; results "
        "merged.\n")
    add(side_by_side({c: res[c]["lfo"]["table"] for c in CONFIGS}))
    add("")
    lv = {c: res[c]["lfo"]["vocab"]["pooled"] for c in CONFIGS}
    add("Closed-vocabulary fields pooled: " + "; ".join(
        f"{c} straight-through {pct(lv[c]['straight_through'])}, residual {pct(lv[c]['residual_error'], 2)} "
        f"({lv[c]['wrong_accepted']}/{lv[c]['accepted']})" for c in CONFIGS) + ".\n")
    add("Wrongly auto-accepted fields by field name (evaluation set, decide_all): " + "; ".join(
        f"{c}, {g}: " + (", ".join(f"{n} {k}" for n, k in wrong_by_field(res[c]["eval"][g]["rows"]).items()) or "none")
        for c in CONFIGS for g in GROUPS if g in res[c]["eval"]) + ".\n")

    # rerun check
    if "rerun" in res[CONFIGS[0]]:
        add("### Check: re-reading the evaluation sheets with the calibrated thresholds\n")
        add("`decide_all` decides from the evidence gathered under the uncalibrated thresholds, but the "
            "pipeline also uses the score to *choose* among the engines' readings (`validate._choose`), so "
            "with calibrated thresholds it may keep another reading. Second pass, same sheets, calibrated "
            "thresholds in the pipeline:\n")
        add("| config | group | straight-through (decide_all → re-read) | residual error (decide_all → re-read) | exact validated (decide_all → re-read) |")
        add("|---|---|---:|---:|---:|")
        for c in CONFIGS:
            for g in GROUPS:
                if g not in res[c]["rerun"]:
                    continue
                a, b = res[c]["eval"][g]["table"]["all"], res[c]["rerun"][g]["all"]
                add(f"| {c} | {g} | {pct(a['straight_through'])} → {pct(b['straight_through'])} | "
                    f"{pct(a['residual_error'], 2)} ({a['wrong_accepted']}/{a['accepted']}) → "
                    f"{pct(b['residual_error'], 2)} ({b['wrong_accepted']}/{b['accepted']}) | "
                    f"{pct(a['exact_validated'])} → {pct(b['exact_validated'])} |")
        add("")
        add("Per kind, handwriting outside AsterNet's list, re-read with the calibrated thresholds:\n")
        add(side_by_side({c: res[c]["rerun"]["hw_out"] for c in CONFIGS}))
        add("")
        if "rerun_rows" in res[CONFIGS[0]]:
            for c in CONFIGS:
                for g in GROUPS:
                    bad = [f for f, _, a in res[c]["rerun_rows"].get(g, []) if a and not f.correct]
                    if bad:
                        add(f"* re-read, {c}, {GROUP_LABEL[g]}: wrongly accepted ({len(bad)}): " + "; ".join(
                            f"{f.name} ({f.kind}): read `{md_escape(f.value)}`, written `{md_escape(f.truth)}`"
                            for f in bad[:12]) + (" …" if len(bad) > 12 else ""))
            add("")

    # speed
    add("## Speed and memory\n")
    add("One fresh process (`OMP_THREAD_LIMIT=1`, single-threaded ONNX sessions), every engine loaded, the "
        "same pages read by both configurations in alternating order after one warm-up page; seconds of "
        "`Pipeline.process_file` per page (decode, orient, register, extract, recognize, validate, decide).\n")
    add("| pages | n | tesseract: median s/page | cascade: median s/page | tesseract: pages/core-hour | cascade: pages/core-hour | cascade / tesseract time |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    med = {}
    for g in ("printed", "hw_out"):
        ts = {c: speed["times"][c].get(g, []) for c in CONFIGS}
        if not ts["tesseract"]:
            continue
        m = {c: statistics.median(ts[c]) for c in CONFIGS}
        med[g] = m
        add(f"| {GROUP_LABEL[g]} | {len(ts['tesseract'])} | {m['tesseract']:.2f} | {m['cascade']:.2f} | "
            f"{3600 / m['tesseract']:.0f} | {3600 / m['cascade']:.0f} | {m['cascade'] / m['tesseract']:.2f}× |")
    rss = speed["rss_peak_kb"] / 1024
    add(f"\nPeak RSS of that process (`ru_maxrss`): {speed['rss_loaded_kb'] / 1024:.0f} MB right after loading "
        f"Tesseract (vie + eng), AsterNet and PP-OCR ({speed['load_s']:.1f} s); **{rss:.0f} MB** after reading all "
        f"pages with both configurations.\n")

    # targets
    add("## Targets\n")
    add("| target | measured | met? |")
    add("|---|---|---|")

    def kind_check(c, g):
        tab = res[c]["eval"][g]["table"]
        kinds = [k for k in tab if not k.startswith("all")]
        over = [f"{k} {pct(tab[k]['residual_error'], 2)} ({tab[k]['wrong_accepted']}/{tab[k]['accepted']})"
                for k in kinds if tab[k]["residual_error"] > TARGET]
        loose = [k for k in kinds if tab[k]["upper95"] > TARGET]
        return over, loose

    for c in CONFIGS:
        for g in ("printed", "hw_out"):
            over, loose = kind_check(c, g)
            add(f"| residual error ≤ 0.5% per kind, {c}, {GROUP_LABEL[g]} | "
                + (("over: " + "; ".join(over)) if over else "every kind ≤ 0.5%")
                + f" (95% bound > 0.5% for: {', '.join(loose) or 'none'}) | {'not met' if over else 'met (point estimate)'} |")
    if "rerun" in res[CONFIGS[0]]:
        for c in CONFIGS:
            for g in ("printed", "hw_out"):
                tab = res[c]["rerun"][g]
                over = [f"{k} {pct(tab[k]['residual_error'], 2)} ({tab[k]['wrong_accepted']}/{tab[k]['accepted']})"
                        for k in tab if not k.startswith("all") and tab[k]["residual_error"] > TARGET]
                add(f"| same, re-read with the calibrated thresholds in the pipeline: {c}, {GROUP_LABEL[g]} | "
                    + (("over: " + "; ".join(over)) if over else "every kind ≤ 0.5%")
                    + f"; all kinds {pct(tab['all']['residual_error'], 2)} | {'not met' if over else 'met (point estimate)'} |")
    vp = {c: res[c]["eval"]["hw_out"]["vocab"]["pooled"] for c in CONFIGS}
    v_ok = vp["cascade"]["straight_through"] >= 0.8 and vp["cascade"]["residual_error"] <= TARGET
    n_fields_ok = sum(1 for n in CLOSED_VOCAB if res["cascade"]["eval"]["hw_out"]["vocab"][n]["straight_through"] >= 0.8)
    add(f"| closed-vocabulary fields ≥ 80% auto-accepted on handwriting (cascade) | pooled "
        f"{pct(vp['cascade']['straight_through'])} (written only {pct(vp['cascade']['straight_through_written'])}), "
        f"residual {pct(vp['cascade']['residual_error'], 2)}; {n_fields_ok}/{len(CLOSED_VOCAB)} fields ≥ 80% "
        f"(tesseract pooled {pct(vp['tesseract']['straight_through'])}) | {'met' if v_ok else 'not met'} |")
    casc_res = hw["cascade"]["all"]["residual_error"]
    add(f"| cascade ≥ 3× Tesseract-alone straight-through on handwriting at ≤ 0.5% residual | {ratio:.2f}× "
        f"(written fields {ratio_w:.2f}×), cascade residual {pct(casc_res, 2)} | "
        f"{'met' if ratio >= 3 and casc_res <= TARGET else 'not met'} |")
    pt = {c: res[c]["eval"]["printed"]["table"]["all"] for c in CONFIGS}
    loss = pt["cascade"]["exact_validated"] < pt["tesseract"]["exact_validated"] or \
        pt["cascade"]["residual_error"] > max(pt["tesseract"]["residual_error"], TARGET)
    add(f"| printed: no accuracy loss | exact validated {pct(pt['tesseract']['exact_validated'])} → "
        f"{pct(pt['cascade']['exact_validated'])}, straight-through {pct(pt['tesseract']['straight_through'])} → "
        f"{pct(pt['cascade']['straight_through'])}, residual {pct(pt['tesseract']['residual_error'], 2)} → "
        f"{pct(pt['cascade']['residual_error'], 2)} | {'not met' if loss else 'met for accuracy'}"
        + (f"; but {pct(pt['tesseract']['straight_through'] - pt['cascade']['straight_through'])} fewer printed fields "
           f"auto-accepted" if pt['cascade']['straight_through'] < pt['tesseract']['straight_through'] - 0.01 else "") + " |")
    if "printed" in med:
        slow = med["printed"]["cascade"] / med["printed"]["tesseract"] - 1
        add(f"| printed: cascade ≤ 15% slower | {slow * 100:+.0f}% (median {med['printed']['tesseract']:.2f} → "
            f"{med['printed']['cascade']:.2f} s/page) | {'met' if slow <= 0.15 else 'not met'} |")
    add(f"| one worker with all engines < 600 MB | {rss:.0f} MB peak RSS | {'met' if rss < 600 else 'not met'} |")
    add("")

    # wrongly accepted
    add("## Wrongly auto-accepted values (evaluation set)\n")
    for c in CONFIGS:
        for g in GROUPS:
            if g not in res[c]["eval"]:
                continue
            bad = [f for f, _, a in res[c]["eval"][g]["rows"] if a and not f.correct]
            if not bad:
                add(f"* {c}, {GROUP_LABEL[g]}: none.")
                continue
            ex = "; ".join(f"{f.name} ({f.kind}): read `{md_escape(f.value)}`, written `{md_escape(f.truth)}`"
                           for f in bad[:12])
            add(f"* {c}, {GROUP_LABEL[g]} ({len(bad)}): {ex}{' …' if len(bad) > 12 else ''}")
    add("")
    lm = [(c, g, f) for c in CONFIGS for g in GROUPS if g in res[c]["eval"] for f in lenient_matches(res[c]["eval"][g]["rows"])]
    if lm:
        add(f"Accepted fields counted right only through `match_key`'s leniency (not character-identical to the "
            f"written value or its canonical form): {len(lm)} in all, e.g. "
            + "; ".join(f"{c}/{g} {f.name}: `{md_escape(f.value)}` for `{md_escape(f.truth)}`" for c, g, f in lm[:8]) + ".\n")

    # caveats
    add("## Caveats\n")
    add("* **Synthetic data only.** Sheets are generated records in computer fonts, with simulated scanning. "
        "Handwriting-style fonts are far more regular than real handwriting (same glyph for every "
        "occurrence, no pen pressure, no overruns, no corrections); real forms will do worse, and the "
        "thresholds must be recalibrated on reviewers' corrections of real sheets before the targets can be "
        "claimed.")
    add("* **AsterNet licence and provenance.** The `asterocr` 1.0.2 wheel declares `License: MIT` in its "
        "metadata, but ships no licence file, and the training data of the weights is not stated. Its "
        "training font list (Caveat, Dancing Script, Patrick Hand, Mali, Itim, Sriracha, Pangolin, Sedgwick Ave, "
        "Marck Script, Comfortaa, …) overlaps the fonts we can render: those fonts "
        f"({', '.join(in_fonts)} here) were excluded from the calibration set and from the main handwriting "
        "evaluation, and are only reported apart.")
    add("* **Small samples.** A 0.5% residual-error target needs many accepted fields to be shown: with 0 "
        "errors in n accepted fields the 95% upper bound is ≈ 3/n, so n ≥ 600 per kind is needed for the bound "
        "itself to be under 0.5%. The tables give the accepted counts and the bounds; a kind with a few "
        "dozen accepted fields and 0 errors is *not* shown to meet the target. The same holds for the "
        "calibration: a threshold chosen on ~100s of fields per kind at 0.5% is itself noisy.")
    add("* The evaluation handwriting shares its six fonts with the calibration handwriting (different "
        "sheets); the leave-fonts-out check above shows what happens with hands never seen in calibration.")
    add("* Blank fields (optional fields left empty) are easy and are counted as fields; the 'written "
        "fields' rows leave them out.")
    add("* Speed is for one process on an otherwise idle core of this machine; pages/core-hour = 3600 / median "
        "seconds per page. Generation of the sheets is not included.")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
