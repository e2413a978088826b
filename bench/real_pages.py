"""The real-page collection for the orientation benchmark: scanned pages of any content, fetched from
package registries (never stored in the repo).

Sources, each a pinned archive checked against its SHA-256:

- PyPI: the OCRmyPDF source distribution, whose ``tests/resources/`` hold real scans and printouts
  under the licences its ``REUSE.toml`` lists;
- Debian (bookworm) source packages, fetched with ``apt-get source --download-only`` from a private
  apt configuration in the cache (the machine's own apt sources are not touched): ``leptonlib``, whose
  upstream tarball ships the real scans Leptonica's programs are tested on (``prog/``), and
  ``tesseract``, whose test tarball ships Tesseract's scanned test pages (``testing/``). The licence is
  the package's ``debian/copyright``, kept beside the pages.

Each page is written as an 8-bit grayscale PNG with a ground-truth row in ``manifest.jsonl``:

- ``rotation``: the clockwise quarter turn that makes the page as written upright (the same convention
  as ``Orientation.rotation``);
- ``kind``: ``text`` (a scanned page of text, with or without pictures), ``music`` (a scanned page of
  printed music) or ``other`` (a scanned image that is not a page of running text: map, chart,
  diagram, a plate with a caption, a title page whose text runs vertically, two lines of print);
- ``source``, ``licence`` and ``copyright``: where the file is from and under what terms.

Ground truth is by knowledge of the files (looked at one by one): every page listed below reads upright
as rendered (PDF pages as a viewer shows them, the page's ``/Rotate`` applied), except the pages of
``cardinal.pdf`` (linn.png baked in at four turns). The benchmark turns every upright page by 0/90/180/270 itself for four times the cases.

    .venv/bin/python bench/real_pages.py [--dir bench/.cache/real-pages]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "bench" / ".cache" / "real-pages"
PACKAGE, VERSION = "ocrmypdf", "17.13.0"
SDIST_SHA256 = "151c35d810eb628fbc5cb9bbe80b834ecf094737efa0e7a2e9e1fac3c730ed49"
RENDER_DPI = 150  # PDF pages are rasterized at this resolution (a common scanner setting)
TEXT, MUSIC, OTHER = "text", "music", "other"

_GFDL_CC = "GFDL-1.2-or-later or CC-BY-SA-3.0"
_LINN = ("(C) 1985 Forat Electronics", _GFDL_CC)
_TYPEWRITER = ("(C) 2005 Ellywa", "GFDL-1.2-or-later or CC-BY-SA-1.0/2.0/2.5/3.0")
_OCRMYPDF = ("(C) 2025 James R. Barlow", "CC-BY-SA-4.0")
_PD = ("Public domain (Project Gutenberg scans)", "public-domain")

# (file, page or None for an image, how: 'render' | 'image', rotation that makes it upright,
#  what it is, kind, (copyright, licence))
PAGES: list[tuple[str, int | None, str, int, str, str, tuple[str, str]]] = [
    ("c03-29.pdf", 1, "render", 0, "book page scan with an illustration (Huckleberry Finn p. 29)", TEXT, _PD),
    ("multipage.pdf", 5, "render", 0, "book page scan, two columns", TEXT, _PD),
    ("multipage.pdf", 6, "render", 0, "book page scan, two columns", TEXT, _PD),
    ("linn.png", None, "image", 0, "brochure page scan, two columns, 1-bit", TEXT, _LINN),
    ("typewriter.png", None, "image", 0, "typewritten recipe, 1-bit", TEXT, _TYPEWRITER),
    ("epson.pdf", 1, "render", 0, "printed web page scanned by an Epson device, 1-bit", TEXT, (
        "contributors to the Wikipedia article 'Optical character recognition'", "CC-BY-SA-3.0")),
    ("masks.pdf", 1, "render", 0, "printed German web page with a photo and a table", TEXT, (
        "contributors to the German Wikipedia article 'Linux'", "CC-BY-SA-3.0")),
    ("baiona.png", None, "image", 0, "map with place names at many angles", OTHER,
     ("(C) 2014 Euskaldunaa", "CC-BY-SA-4.0")),
    ("graph.pdf", 1, "render", 0, "line chart with slanted axis labels", OTHER, ("(C) 2012 SmokeyJoe", _GFDL_CC)),
    ("kcs.pdf", 1, "render", 0, "two handwritten-style lines from a capture test, 1-bit", OTHER, _OCRMYPDF),
    ("francais.pdf", 1, "render", 0, "blurred French paragraph (synthetic)", OTHER, _OCRMYPDF),
    ("cardinal.pdf", 1, "render", 0, "linn.png as printed (cardinal turn 1)", TEXT, _LINN),
    ("cardinal.pdf", 2, "render", 270, "linn.png baked in turned 90° clockwise", TEXT, _LINN),
    ("cardinal.pdf", 3, "render", 180, "linn.png baked in upside down", TEXT, _LINN),
    ("cardinal.pdf", 4, "render", 90, "linn.png baked in turned 90° counter-clockwise", TEXT, _LINN),
    ("skew.pdf", 1, "render", 0, "linn.png skewed by the page's transformation matrix", TEXT, _LINN),
    ("rotated_skew.pdf", 1, "render", 0, "linn.png skewed, on a page with /Rotate 90 (rendered as shown)", TEXT, _LINN),
]
# Left out, with the reason: lichtenstein.pdf (a photograph without text: no reading direction to find),
# crom.png/acroform.pdf (one 50-px text line, not a page), 2400dpi.pdf (typewriter.png again),
# ccitt/jbig2/poster/palette/link/baiona_* (re-encodings of pages already listed), the rest (synthetic
# PDFs without a page image: blank, vector, trivial, ...).

# Debian source packages: name -> (version, the upstream tarball that holds the pages, its SHA-256 (as the
# .dsc lists it), the folder of the pages inside it, (copyright, licence) as debian/copyright states).
DEBIAN_SUITE = "bookworm"
DEBIAN: dict[str, tuple[str, str, str, str, tuple[str, str]]] = {
    "leptonlib": ("1.82.0-3", "leptonlib_1.82.0.orig.tar.gz",
                  "155302ee914668c27b6fe3ca9ff2da63b245f6d62f3061c8f27563774b8ae2d6", "leptonica-1.82.0/prog/",
                  ("(C) 2001 Leptonica (Dan Bloomberg)", "BSD-2-Clause (the Leptonica licence)")),
    "tesseract": ("5.3.0-2", "tesseract_5.3.0.orig-test.tar.gz",
                  "2788d27de6e448f8ffa7dd19a22c5781768440dee60a34607099f0c66d44b911",
                  "tesseract-0.0~git20210423.3ea1099/testing/",
                  ("1988-1995 Hewlett Packard Company, 2006-2019 Google Inc.", "Apache-2.0")),
}
# (package, file in its folder, rotation that makes it upright, what it is, kind). Every one is a real
# scan or photo of paper, looked at one by one, and all read upright as stored.
DEBIAN_PAGES: list[tuple[str, str, int, str, str]] = [
    ("leptonlib", "1555.003.jpg", 0, "16th-c. book page, blackletter with a woodcut initial, colour", TEXT),
    ("leptonlib", "1555.007.jpg", 0, "16th-c. book page, blackletter, shadowed gutter", TEXT),
    ("leptonlib", "amoris.2.150.jpg", 0, "book page, small Latin print, grey", TEXT),
    ("leptonlib", "arabic.png", 0, "Arabic printed page, 1-bit", TEXT),
    ("leptonlib", "arabic2.png", 0, "Arabic book page with headings", TEXT),
    ("leptonlib", "breviar.38.150.jpg", 0, "breviary page, Latin with a decorated initial, colour", TEXT),
    ("leptonlib", "brothers.150.jpg", 0, "17th-c. English book page, large initial, italic", TEXT),
    ("leptonlib", "candelabrum.011.jpg", 0, "Latin dedication page with a large initial", TEXT),
    ("leptonlib", "cat.007.jpg", 0, "catalogue page, dense lists, grey", TEXT),
    ("leptonlib", "cat.035.jpg", 0, "catalogue page, dense lists, grey", TEXT),
    ("leptonlib", "cavalerie.29.jpg", 0, "French book page with a chapter head, dark margins", TEXT),
    ("leptonlib", "colorpage.030.jpg", 0, "textbook page with bar charts, colour", TEXT),
    ("leptonlib", "contrast-orig-60.jpg", 0, "journal paper page, low contrast", TEXT),
    ("leptonlib", "cootoots.png", 0, "table of contents, sparse, 1-bit", TEXT),
    ("leptonlib", "feyn.tif", 0, "book page, title and two columns, 1-bit 300 dpi", TEXT),
    ("leptonlib", "german.png", 0, "German Fraktur page", TEXT),
    ("leptonlib", "harmoniam-11.tif", 0, "Latin title page with a printer's mark, 1-bit", TEXT),
    ("leptonlib", "italic.png", 0, "glossary text, italic heads, 1-bit", TEXT),
    ("leptonlib", "keystone.png", 0, "book page of dialogue, 1-bit", TEXT),
    ("leptonlib", "lapide.052.100.jpg", 0, "Latin book page, photographed, grey", TEXT),
    ("leptonlib", "lighttext.jpg", 0, "faint newspaper text, grey", TEXT),
    ("leptonlib", "lion-page.00010.jpg", 0, "children's book page: drawing and a paragraph", TEXT),
    ("leptonlib", "lucasta.047.jpg", 0, "book page, biography text, grey", TEXT),
    ("leptonlib", "pageseg1.tif", 0, "magazine page with photos, 1-bit", TEXT),
    ("leptonlib", "pageseg2.tif", 0, "magazine page, large headline, photo, 1-bit", TEXT),
    ("leptonlib", "pageseg3.tif", 0, "advertisement page, large type, 1-bit", TEXT),
    ("leptonlib", "pageseg4.tif", 0, "magazine page, columns and large quote, 1-bit", TEXT),
    ("leptonlib", "patent.png", 0, "patent front page, 1-bit", TEXT),
    ("leptonlib", "pedante.079.jpg", 0, "Italian book page, yellowed paper", TEXT),
    ("leptonlib", "rabi.png", 0, "magazine page, photo and columns, 1-bit", TEXT),
    ("leptonlib", "scots-frag.tif", 0, "newspaper page, many columns, 1-bit", TEXT),
    ("leptonlib", "shearer.148.tif", 0, "journal page, two columns, 1-bit", TEXT),
    ("leptonlib", "stampede2.jpg", 0, "newspaper column, large grey crop", TEXT),
    ("leptonlib", "table.15.tif", 0, "page of ruled statistical tables, 1-bit", TEXT),
    ("leptonlib", "table.27.tif", 0, "page of a numeric table, 1-bit", TEXT),
    ("leptonlib", "toc.99.tif", 0, "list page, small print, 1-bit", TEXT),
    ("leptonlib", "tribune-page-4x.png", 0, "newspaper front page, headlines and photos, 1-bit", TEXT),
    ("leptonlib", "w91frag.jpg", 0, "journal page fragment, grey", TEXT),
    ("leptonlib", "witten.tif", 0, "magazine article page, three columns, 1-bit", TEXT),
    ("leptonlib", "words.15.tif", 0, "page of notes on metre, 1-bit", TEXT),
    ("leptonlib", "words.44.tif", 0, "Latin verse with line numbers, 1-bit", TEXT),
    ("leptonlib", "zanotti-78.jpg", 0, "Latin book page, grey", TEXT),
    ("leptonlib", "binding-example.45.jpg", 0, "photo of an open book, curved pages", TEXT),
    ("leptonlib", "boxedpage.jpg", 0, "German book page in a printed frame", TEXT),
    ("leptonlib", "bois-2.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "bois-3.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "bois-4.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "ortiz-02.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "ortiz-03.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "ortiz-04.tif", 0, "printed music score page, 1-bit", MUSIC),
    ("leptonlib", "brev.06.75.jpg", 0, "title page that is mostly an engraved coat of arms, 75 dpi", OTHER),
    ("leptonlib", "cavalerie.11.jpg", 0, "engraved plate with a one-line caption", OTHER),
    ("leptonlib", "copernicus.png", 0, "diagram of spheres with text set along circles", OTHER),
    ("leptonlib", "lyra.005.jpg", 0, "title page whose main text runs vertically", OTHER),
    ("leptonlib", "pancrazi.15.jpg", 0, "title page whose main text runs vertically, photographed", OTHER),
    ("leptonlib", "map1.jpg", 0, "printed map with a legend box", OTHER),
    ("leptonlib", "map.057.jpg", 0, "atlas page: map, title and legend", OTHER),
    ("leptonlib", "tickets.tif", 0, "sheet of printed tickets with barcodes, 1-bit", OTHER),
    ("tesseract", "8071_093.3B.tif", 0, "magazine page with a large photo (UNLV test set), 1-bit", TEXT),
    ("tesseract", "8087_054.3B.tif", 0, "magazine page, columns and a photo (UNLV test set), 1-bit", TEXT),
    ("tesseract", "eurotext.tif", 0, "scanned multilingual paragraph, 1-bit", TEXT),
    ("tesseract", "phototest.tif", 0, "scanned paragraph of large print, 1-bit", TEXT),
]
# Left out of leptonlib, with the reason: photographs and drawings without text (marge, tetons, wyom,
# juditharismax, wet-day, fish24, lyra.036, dave-orig, church, rock, ...), ruled paper without text
# (warped_paper), a page at another resolution of one listed (lucasta.150, lucasta.1.300,
# harmoniam100-11, table.150, brev.*.75 but one), fragments of a few words or lines (feyn-fract,
# feyn-word, tribune-word, chars-*, lucasta-frag, ...), synthetic test patterns (weasel*, test*,
# barcode-*, checkerboard*, speckle*, ...). Of tesseract's test files: the renders (devatest,
# hebrew*, deslant, phototest_2, phototestrot) and 8087_054.3G (8087_054.3B in grey), hebtypo.jpg (not
# known to be a scan). unpaper's test sheets were looked at and left out: they are synthetic renders.


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check(path: Path, want: str) -> Path:
    got = sha256_of(path)
    if got != want:
        path.unlink()
        raise SystemExit(f"{path.name}: SHA-256 {got} is not the pinned {want}; removed it")
    return path


def download_sdist(dest: Path) -> Path:
    """The pinned OCRmyPDF sdist in ``dest`` (downloaded by pip if absent), its hash checked."""
    sdist = dest / f"{PACKAGE}-{VERSION}.tar.gz"
    if not sdist.exists():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "-d", str(dest), f"{PACKAGE}=={VERSION}"], check=True)
    return _check(sdist, SDIST_SHA256)


def _apt_options(dest: Path) -> list[str]:
    """apt-get options for a private deb-src configuration under ``dest`` (the machine's apt sources,
    lists and caches are left as they are)."""
    apt = dest / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    sources = apt / "deb-src.sources"
    sources.write_text(f"Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: {DEBIAN_SUITE}\n"
                       "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    return ["-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={apt / 'lists'}",
            "-o", "APT::Sandbox::User=root"]  # the cache may sit where apt's own user cannot write


def download_debian_sources(dest: Path) -> dict[str, Path]:
    """The pinned upstream tarballs of the ``DEBIAN`` source packages in ``dest`` (fetched with
    ``apt-get source --download-only`` if absent), each hash checked, and each package's
    ``debian/copyright`` beside them as ``NAME.copyright``."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = [n for n, (_, tarball, *_r) in DEBIAN.items()
               if not (dest / tarball).exists() or not (dest / f"{n}.copyright").exists()]
    if missing:
        opts = _apt_options(dest)
        subprocess.run(["apt-get", *opts, "-qq", "update"], check=True)
        subprocess.run(["apt-get", *opts, "-qq", "source", "--download-only",
                        *(f"{n}={DEBIAN[n][0]}" for n in missing)], check=True, cwd=dest)
        for n in missing:
            version = DEBIAN[n][0]
            debian_tar = dest / f"{n}_{version}.debian.tar.xz"
            with tarfile.open(debian_tar) as tar:
                (dest / f"{n}.copyright").write_bytes(tar.extractfile("debian/copyright").read())
    return {n: _check(dest / tarball, sha) for n, (_, tarball, sha, *_r) in DEBIAN.items()}


def _render_pdf(pdf: Path, page: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(RENDER_DPI), "-gray",
                        str(pdf), f"{tmp}/p"], check=True)
        out = sorted(Path(tmp).iterdir())[0]
        return cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)


def _read_gray(path: Path) -> np.ndarray:
    """An image file's first page as 8-bit grayscale (Pillow reads the 1-bit and palette TIFF/PNGs)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def _collection_id() -> str:
    """Changes whenever the list of pages or sources does, so that an older cached set is rebuilt."""
    return hashlib.sha256(repr((PAGES, DEBIAN, DEBIAN_PAGES, SDIST_SHA256, RENDER_DPI)).encode()).hexdigest()[:16]


def _ocrmypdf_rows(out_dir: Path) -> list[dict]:
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
        for file, page, how, rotation, what, kind, (copyright_, licence) in PAGES:
            src = res / file
            img = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE) if how == "image" else _render_pdf(src, page or 1)
            name = f"{src.stem}-p{page}.png" if page else f"{src.stem}.png"
            cv2.imwrite(str(out_dir / name), img)
            rows.append({"name": name, "origin": f"PyPI {PACKAGE} {VERSION} (sdist)",
                         "source": f"{PACKAGE}-{VERSION}/tests/resources/{file}", "page": page,
                         "rotation": rotation, "what": what, "kind": kind, "copyright": copyright_,
                         "licence": licence, "size": list(img.shape[::-1])})
    return rows


def _debian_rows(out_dir: Path) -> list[dict]:
    tarballs = download_debian_sources(out_dir / "download")
    licences = out_dir / "licences"
    licences.mkdir(exist_ok=True)
    rows = []
    for pkg, tarball in tarballs.items():
        version, _, _, folder, (copyright_, licence) = DEBIAN[pkg]
        shutil.copyfile(tarball.parent / f"{pkg}.copyright", licences / f"{pkg}.copyright")
        wanted = [p for p in DEBIAN_PAGES if p[0] == pkg]
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(tarball) as tar:
            for _, file, rotation, what, kind in wanted:
                tar.extract(folder + file, tmp, filter="data")
                img = _read_gray(Path(tmp) / folder / file)
                name = f"{pkg}-{Path(file).stem}.png"
                cv2.imwrite(str(out_dir / name), img)
                rows.append({"name": name, "origin": f"Debian {DEBIAN_SUITE} source package {pkg} {version}",
                             "source": f"{tarball.name}:{folder}{file}", "page": None, "rotation": rotation,
                             "what": what, "kind": kind, "copyright": copyright_, "licence": licence,
                             "size": list(img.shape[::-1])})
    return rows


def fetch(out_dir: Path = DEFAULT_DIR) -> Path:
    """The collection in ``out_dir`` (built once; later calls reuse it while the list of pages is the
    same). Returns the manifest's path."""
    manifest, stamp = out_dir / "manifest.jsonl", out_dir / "collection.id"
    if manifest.exists() and stamp.exists() and stamp.read_text().strip() == _collection_id():
        return manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):  # pages of an older list
        old.unlink()
    rows = _ocrmypdf_rows(out_dir) + _debian_rows(out_dir)
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    stamp.write_text(_collection_id() + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = ap.parse_args()
    manifest = fetch(args.dir)
    print(f"{sum(1 for _ in manifest.open())} pages in {manifest.parent}", file=sys.stderr)


if __name__ == "__main__":
    main()
