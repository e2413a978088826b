"""Ingest throughput: `ocr-service ingest` of the same generated DC01 sheets with 1 and 2 local
workers (and, with --celery, 2 Celery worker processes on a loopback Redis), into a fresh data dir
each time.

Two rates per run: wall clock of the whole command (start-up, intake, file jobs, page jobs, the
pool's start and stop), and steady state (pages finished between the first and the last page's
finish, from the database's timestamps), so fixed start-up costs do not hide the scaling. The
scaling ratio is the 2-worker rate over the 1-worker rate. Other load on the machine during each
run (cores busy with work not ours, from /proc/stat) is reported beside it.

    .venv/bin/python bench/bench_ingest.py [--pages 20] [--seed 7] [--celery] [--write-docs]

Sheets: `ocr-service samples generate --template dc01 -n N --seed S --style mixed`, cached in
bench/.cache/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _machine import cpu_model, tesseract_version  # noqa: E402

CACHE = REPO / "bench" / ".cache"
DOCS = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_ingest:begin -->", "<!-- bench_ingest:end -->"
OLD_POOL_RATIO = 1.58  # the extract pool's 2-worker scaling, docs/benchmarks.md


def cli_cmd() -> list[str]:
    return [sys.executable, "-m", "ocr_service.cli"]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCR_SERVICE_", "OCR_TEST_"))}
    env.update(PYTHONPATH=str(REPO), OMP_THREAD_LIMIT="1", OCR_SERVICE_DATA_DIR=str(data_dir))
    env.update(extra)
    return env


def sheets(n: int, seed: int) -> Path:
    d = CACHE / f"dc01-ingest-seed{seed}-n{n}"
    if (d / "truth.jsonl").exists():
        return d
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=d.name + ".", dir=CACHE))
    print(f"generating {n} sheets into {d} ...", file=sys.stderr)
    subprocess.run([*cli_cmd(), "samples", "generate", "--template", "dc01", "-n", str(n), "--seed", str(seed),
                    "--style", "mixed", "--out", str(tmp)], check=True, env=base_env(tmp), cwd=REPO)
    tmp.rename(d)
    return d


def _busy_jiffies() -> int:
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(v) - v[3] - v[4]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TreeCPU:
    """CPU seconds used by a process tree, sampled from /proc every 0.2 s (a process that ends
    between two samples loses at most its last 0.2 s). Forkserver workers are not waited for by
    the command, so getrusage(RUSAGE_CHILDREN) would miss them."""

    def __init__(self, *roots: int):
        import threading

        self.roots, self.seen, self._stop = list(roots), {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        out, todo = [], list(self.roots)
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                todo += [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                pass
        return out

    def _run(self) -> None:
        hz = os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(0.2):
            for pid in self._tree():
                try:
                    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seen[pid] = (int(f[11]) + int(f[12])) / hz  # utime + stime

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())


def steady_rate(data_dir: Path, database_url: str = "") -> tuple[float, int]:
    """Pages per hour between the first and the last page job's finish; and the page count."""
    from sqlalchemy import select

    from ocr_service.service.store import open_store
    from ocr_service.service.store.models import Job

    store = open_store(database_url or None, data_dir)
    with store.session(write=False) as s:
        ends = sorted(s.scalars(select(Job.finished_at).where(Job.kind == "page", Job.status == "done")))
    store.close()
    if len(ends) < 2:
        return 0.0, len(ends)
    span = (ends[-1] - ends[0]).total_seconds()
    return (len(ends) - 1) / span * 3600 if span > 0 else 0.0, len(ends)


def run_ingest(d: Path, workers: int, broker_url: str = "", data_dir: Path | None = None,
               also: tuple[int, ...] = ()) -> dict:
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    env = base_env(data_dir, OCR_SERVICE_WORKERS=str(workers))
    if broker_url:
        env["OCR_SERVICE_BROKER_URL"] = broker_url
    hz = os.sysconf("SC_CLK_TCK")
    b0, w0 = _busy_jiffies(), time.perf_counter()
    proc = subprocess.Popen([*cli_cmd(), "ingest", str(d), "--batch", "bench", "--template", "dc01", "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    cpu = TreeCPU(proc.pid, *also)
    _out, err = proc.communicate()
    wall = time.perf_counter() - w0
    b1, ours = _busy_jiffies(), cpu.stop()
    if proc.returncode not in (0, 1):
        sys.stderr.write(err)
        raise SystemExit(f"ingest failed ({proc.returncode})")
    status = json.loads(subprocess.run([*cli_cmd(), "status", "--batch", "bench", "--json"], env=env,
                                       capture_output=True, text=True, cwd=REPO, check=True).stdout)
    steady, pages = steady_rate(data_dir)
    out = {"workers": workers, "celery": bool(broker_url), "wall": wall, "pages": pages,
           "rate_wall": pages / wall * 3600, "rate_steady": steady, "status": status, "cpu_s": ours,
           "cpu_per_page": ours / max(pages, 1), "other_load": max(0.0, ((b1 - b0) / hz - ours) / wall)}
    shutil.rmtree(data_dir, ignore_errors=True)
    return out


def run_celery(d: Path, workers: int) -> dict:
    """2 Celery worker processes (one `ocr-service worker --workers N`) on a loopback Redis."""
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    data_dir = tmp / "data"
    env = base_env(data_dir, OCR_SERVICE_BROKER_URL=url)
    log = open(tmp / "worker.log", "wb")
    worker = None
    try:
        time.sleep(0.5)
        subprocess.run([*cli_cmd(), "db", "upgrade"], env=env, check=True, capture_output=True, cwd=REPO)
        worker = subprocess.Popen([*cli_cmd(), "worker", "--workers", str(workers), "--loglevel", "WARNING"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        time.sleep(5)  # the worker connects and forks its pool processes
        return run_ingest(d, workers, url, data_dir, also=(worker.pid,))
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def table(args, runs: list[dict]) -> str:
    one = next(r for r in runs if r["workers"] == 1 and not r["celery"])
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "ocr_service"], capture_output=True, text=True,
                           cwd=REPO).stdout.strip()
    lines = [
        BEGIN,
        "## `ingest` throughput, local pool and Celery (bench/bench_ingest.py)",
        "",
        "`ocr-service ingest DIR --batch bench --template dc01` into a fresh data dir (embedded SQLite), the",
        f"same {args.pages} generated DC01 sheets each time (`ocr-service samples generate --template dc01 -n {args.pages} "
        f"--seed {args.seed} --style mixed`,",
        "jpg/pdf/png/tiff), Tesseract engines. *Wall clock* is the whole command (start-up, intake, file jobs,",
        "page jobs, pool start and stop); *steady state* counts the pages finished between the first and the",
        "last page job's finish (database timestamps), so the fixed start-up does not hide the scaling.",
        "",
        f"Command: `.venv/bin/python bench/bench_ingest.py --pages {args.pages} --seed {args.seed}"
        f"{' --celery' if args.celery else ''} --write-docs`",
        "",
        f"Machine: {os.cpu_count()} cores, CPU `{cpu_model()}`, Linux {platform.release()}, Python "
        f"{platform.python_version()}, {tesseract_version()}. Date: {dt.date.today().isoformat()}. "
        f"Code: commit {git}{' + uncommitted changes' if dirty else ''}.",
        "",
        "| Executor | Pages | Wall clock | Pages/hour (wall) | Pages/hour (steady) | Scaling vs 1 worker (wall / steady) | CPU s/page (all our processes) | Other load (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        name = f"{'Celery' if r['celery'] else 'local pool'}, {r['workers']} worker{'s' if r['workers'] > 1 else ''}"
        ratio = ("—" if r is one else f"{r['rate_wall'] / one['rate_wall']:.2f}× / "
                 f"{r['rate_steady'] / one['rate_steady']:.2f}×")
        lines.append(f"| {name} | {r['pages']} | {r['wall']:.1f} s | {r['rate_wall']:,.0f} | {r['rate_steady']:,.0f} "
                     f"| {ratio} | {r['cpu_per_page']:.2f} | {r['other_load']:.2f} |")
    two = next((r for r in runs if r["workers"] == 2 and not r["celery"]), None)
    lines.append("")
    if two:
        s_ratio = two["rate_steady"] / one["rate_steady"]
        w_ratio = two["rate_wall"] / one["rate_wall"]
        lines.append(f"2 local workers vs 1: **{s_ratio:.2f}×** in steady state, {w_ratio:.2f}× on the wall clock "
                     f"(aim ≥ 1.8× on 2 cores; the old `extract` pool measured {OLD_POOL_RATIO}×). "
                     "Every file also costs a file job (decoding it to hash its pixels): a one-page file's page is "
                     "then read in that same job with the decoded image, a page of a longer file is decoded again "
                     "by its page job. Each worker process also warms up once (engines, reference renders), and "
                     "every result is written to the database; `extract` pays none of these.")
        if max(r["other_load"] for r in runs) > 0.3:
            lines.append("Other work was running on the machine (see the last column): the figures are lower bounds.")
    lines.append(END)
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(doc, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--celery", action="store_true", help="also 2 Celery worker processes on a loopback Redis")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    d = sheets(args.pages, args.seed)
    runs = []
    for n in (1, 2):
        print(f"local pool, {n} worker(s) ...", file=sys.stderr)
        runs.append(run_ingest(d, n))
    if args.celery:
        print("Celery, 2 workers ...", file=sys.stderr)
        runs.append(run_celery(d, 2))
    text = table(args, runs)
    print(text)
    if args.write_docs:
        write_docs(text)
        print(f"wrote {DOCS}", file=sys.stderr)


if __name__ == "__main__":
    main()
