"""The real-page collection for the orientation benchmark: scanned pages of any content, fetched from a
package registry (never stored in the repo).

Source: the OCRmyPDF source distribution on PyPI (a pinned version, checked against its SHA-256), whose
``tests/resources/`` hold real scans and printouts under the licences its ``REUSE.toml`` lists. Each
page is written as an 8-bit grayscale PNG with a ground-truth row in ``manifest.jsonl``:

- ``rotation``: the clockwise quarter turn that makes the page as written upright (the same convention
  as ``Orientation.rotation``);
- ``licence`` and ``copyright``: from OCRmyPDF's REUSE.toml for that file.

Ground truth is by knowledge of the files (looked at one by one): every page listed below reads upright
as rendered (PDF pages as a viewer shows them, the page's ``/Rotate`` applied), except the pages of
``cardinal.pdf`` (linn.png baked in at four turns). The benchmark turns every upright page by 0/90/180/270 itself for four times the cases.

    .venv/bin/python bench/real_pages.py [--dir bench/.cache/real-pages]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "bench" / ".cache" / "real-pages"
PACKAGE, VERSION = "ocrmypdf", "17.13.0"
SDIST_SHA256 = "151c35d810eb628fbc5cb9bbe80b834ecf094737efa0e7a2e9e1fac3c730ed49"
RENDER_DPI = 150  # PDF pages are rasterized at this resolution (a common scanner setting)

_GFDL_CC = "GFDL-1.2-or-later or CC-BY-SA-3.0"
_LINN = ("(C) 1985 Forat Electronics", _GFDL_CC)
_TYPEWRITER = ("(C) 2005 Ellywa", "GFDL-1.2-or-later or CC-BY-SA-1.0/2.0/2.5/3.0")
_OCRMYPDF = ("(C) 2025 James R. Barlow", "CC-BY-SA-4.0")
_PD = ("Public domain (Project Gutenberg scans)", "public-domain")

# (file, page or None for an image, how: 'render' | 'image', rotation that makes it upright,
#  what it is, copyright, licence)
PAGES: list[tuple[str, int | None, str, int, str, tuple[str, str]]] = [
    ("c03-29.pdf", 1, "render", 0, "book page scan with an illustration (Huckleberry Finn p. 29)", _PD),
    ("multipage.pdf", 5, "render", 0, "book page scan, two columns", _PD),
    ("multipage.pdf", 6, "render", 0, "book page scan, two columns", _PD),
    ("linn.png", None, "image", 0, "brochure page scan, two columns, 1-bit", _LINN),
    ("typewriter.png", None, "image", 0, "typewritten recipe, 1-bit", _TYPEWRITER),
    ("epson.pdf", 1, "render", 0, "printed web page scanned by an Epson device, 1-bit", (
        "contributors to the Wikipedia article 'Optical character recognition'", "CC-BY-SA-3.0")),
    ("masks.pdf", 1, "render", 0, "printed German web page with a photo and a table", (
        "contributors to the German Wikipedia article 'Linux'", "CC-BY-SA-3.0")),
    ("baiona.png", None, "image", 0, "map with place names at many angles", ("(C) 2014 Euskaldunaa", "CC-BY-SA-4.0")),
    ("graph.pdf", 1, "render", 0, "line chart with slanted axis labels", ("(C) 2012 SmokeyJoe", _GFDL_CC)),
    ("kcs.pdf", 1, "render", 0, "two handwritten-style lines from a capture test, 1-bit", _OCRMYPDF),
    ("francais.pdf", 1, "render", 0, "blurred French paragraph", _OCRMYPDF),
    ("cardinal.pdf", 1, "render", 0, "linn.png as printed (cardinal turn 1)", _LINN),
    ("cardinal.pdf", 2, "render", 270, "linn.png baked in turned 90° clockwise", _LINN),
    ("cardinal.pdf", 3, "render", 180, "linn.png baked in upside down", _LINN),
    ("cardinal.pdf", 4, "render", 90, "linn.png baked in turned 90° counter-clockwise", _LINN),
    ("skew.pdf", 1, "render", 0, "linn.png skewed by the page's transformation matrix", _LINN),
    ("rotated_skew.pdf", 1, "render", 0, "linn.png skewed, on a page with /Rotate 90 (rendered as shown)", _LINN),
]
# Left out, with the reason: lichtenstein.pdf (a photograph without text: no reading direction to find),
# crom.png/acroform.pdf (one 50-px text line, not a page), 2400dpi.pdf (typewriter.png again),
# ccitt/jbig2/poster/palette/link/baiona_* (re-encodings of pages already listed), the rest (synthetic
# PDFs without a page image: blank, vector, trivial, ...).


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_sdist(dest: Path) -> Path:
    """The pinned OCRmyPDF sdist in ``dest`` (downloaded by pip if absent), its hash checked."""
    sdist = dest / f"{PACKAGE}-{VERSION}.tar.gz"
    if not sdist.exists():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "-d", str(dest), f"{PACKAGE}=={VERSION}"], check=True)
    got = sha256_of(sdist)
    if got != SDIST_SHA256:
        sdist.unlink()
        raise SystemExit(f"{sdist.name}: SHA-256 {got} is not the pinned {SDIST_SHA256}; removed it")
    return sdist


def _render_pdf(pdf: Path, page: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(RENDER_DPI), "-gray",
                        str(pdf), f"{tmp}/p"], check=True)
        out = sorted(Path(tmp).iterdir())[0]
        return cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)


def fetch(out_dir: Path = DEFAULT_DIR) -> Path:
    """The collection in ``out_dir`` (built once; later calls reuse it). Returns the manifest's path."""
    manifest = out_dir / "manifest.jsonl"
    if manifest.exists():
        return manifest
    sdist = download_sdist(out_dir / "download")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as tar:
        prefix = f"{PACKAGE}-{VERSION}/tests/resources/"
        names = sorted({p[0] for p in PAGES}) + ["README.rst"]
        for n in names:
            tar.extract(prefix + n, tmp, filter="data")
        reuse = tar.extractfile(f"{PACKAGE}-{VERSION}/REUSE.toml").read()
        (out_dir / "REUSE.toml").write_bytes(reuse)  # the licences, as the package states them
        res = Path(tmp) / prefix
        for file, page, how, rotation, what, (copyright_, licence) in PAGES:
            src = res / file
            if how == "image":
                img = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
            else:
                img = _render_pdf(src, page or 1)
            name = f"{src.stem}-p{page}.png" if page else f"{src.stem}.png"
            cv2.imwrite(str(out_dir / name), img)
            rows.append({"name": name, "source": f"{PACKAGE}-{VERSION}/tests/resources/{file}", "page": page,
                         "rotation": rotation, "what": what, "copyright": copyright_, "licence": licence,
                         "size": list(img.shape[::-1])})
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = ap.parse_args()
    manifest = fetch(args.dir)
    print(f"{sum(1 for _ in manifest.open())} pages in {manifest.parent}", file=sys.stderr)


if __name__ == "__main__":
    main()
