"""Benchmark the recognition engines on rendered field crops.

Per field kind and engine: median milliseconds per field and exact-match rate, against bare
tesserocr (same API objects, no preprocessing, no symbol iteration) on the same crops; then
the peak RSS of one process with every engine loaded that has read all crops.

    .venv/bin/python bench/bench_engines.py [--n 100] [--repeat 3]

Crops are printed text in Debian fonts (DejaVu, Liberation, FreeFont), sizes 16-40 px,
Gaussian-blurred a little and lightly noised, so numbers here are for clean print.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thuỳ", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hương", "Lan", "Thuỷ", "Nhung", "Tuấn", "Hải", "Phương", "Yến"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ"]
WARDS = ["phường Bến Nghé", "phường Tân Định", "xã Đông Thạnh", "phường Cửa Nam", "xã Hòa Phước"]


def render(text: str, size: int, font: str, rng: random.Random) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    f = ImageFont.truetype(font, size)
    left, top, right, bottom = f.getbbox(text)
    pad = rng.randint(3, 10)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=f, fill=rng.randint(0, 60))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.6)))
    arr = np.asarray(img, dtype=np.float32)
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def make_samples(n: int, seed: int = 7) -> list[tuple[str, str, np.ndarray]]:
    rng = random.Random(seed)
    out = []
    kinds = ["name", "address", "digits", "date"]
    for i in range(n):
        kind = kinds[i % 4]
        if kind == "name":
            text = " ".join([rng.choice(SURNAMES), rng.choice(MIDDLE), rng.choice(GIVEN)])
        elif kind == "address":
            text = f"Số {rng.randint(1, 300)} đường {rng.choice(STREETS)}, {rng.choice(WARDS)}"
        elif kind == "digits":
            text = "0" + "".join(str(rng.randint(0, 9)) for _ in range(11))
        else:
            text = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2024)}"
        font = FONTS[i % len(FONTS)]
        if not os.path.exists(font):
            font = FONTS[0]
        out.append((kind, text, render(text, rng.randint(16, 40), font, rng)))
    return out


def _norm(kind: str, text: str) -> str:
    return text.replace(" ", "") if kind == "digits" else " ".join(text.split())


def run(n: int, repeat: int) -> dict:
    from ocr_service.engines import asternet, ppocr
    from ocr_service.engines.tesseract import TesseractEngine

    samples = make_samples(n)
    t0 = time.perf_counter()
    tess = TesseractEngine().load()
    t_tess = time.perf_counter() - t0
    t0 = time.perf_counter()
    aster = asternet.AsterNetEngine()
    t_aster = time.perf_counter() - t0
    t0 = time.perf_counter()
    pp = ppocr.PPOCRDigitsEngine()
    t_pp = time.perf_counter() - t0

    engines = {
        "tesserocr-bare": lambda c, k: tess.read_bare(c, k)[0],
        "tesseract": lambda c, k: tess.read(c, k).text,
        "asternet": lambda c, k: aster.read(c, k).text,
        "ppocr": lambda c, k: pp.read(c, k).text,
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, fn in engines.items():
        for kind, text, crop in samples[:4]:  # warm-up
            fn(crop, kind)
        per_kind: dict[str, list[float]] = {}
        exact: dict[str, list[bool]] = {}
        for kind, text, crop in samples:
            if name == "ppocr" and kind not in ("digits", "date"):
                continue
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                got = fn(crop, kind)
                times.append(time.perf_counter() - t)
            per_kind.setdefault(kind, []).append(min(times) * 1000)
            exact.setdefault(kind, []).append(_norm(kind, got) == _norm(kind, text))
        results[name] = {k: {"ms": statistics.median(v), "exact": sum(exact[k]) / len(exact[k]), "n": len(v)}
                         for k, v in per_kind.items()}
    return {
        "load_s": {"tesseract": t_tess, "asternet": t_aster, "ppocr": t_pp},
        "results": results,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per crop (the fastest counts)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run(args.n, args.repeat)))
        return
    # A fresh process, so the peak RSS is that of a worker with all engines loaded.
    proc = subprocess.run([sys.executable, __file__, "--child", "--n", str(args.n), "--repeat", str(args.repeat)],
                          capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    res = data["results"]
    bare = res["tesserocr-bare"]
    print(f"{args.n} rendered crops, median ms per field (fastest of {args.repeat} runs), exact-match rate")
    print(f"{'engine':<16}{'kind':<10}{'n':>4}{'ms/field':>10}{'x bare':>8}{'exact':>8}")
    for name, kinds in res.items():
        for kind in ("name", "address", "digits", "date"):
            if kind not in kinds:
                continue
            r = kinds[kind]
            ratio = r["ms"] / bare[kind]["ms"] if kind in bare else float("nan")
            print(f"{name:<16}{kind:<10}{r['n']:>4}{r['ms']:>10.1f}{ratio:>8.2f}{r['exact']:>8.0%}")
    print("load time: " + ", ".join(f"{k} {v:.2f} s" for k, v in data["load_s"].items()))
    flag = "OK" if data["peak_rss_mb"] < 600 else "OVER TARGET"
    print(f"peak RSS, all engines loaded: {data['peak_rss_mb']:.0f} MB (target < 600 MB: {flag})")


if __name__ == "__main__":
    main()
