#!/usr/bin/env python3
"""Build the handwriting-style fonts kept in ``ocr_service/synth/fonts/`` (not in the wheel).

Debian has no handwriting-style font that covers Vietnamese (stacked tone
marks such as "ặ", "ỹ", "Ữ"). The npm registry's ``@fontsource/*`` packages
(SIL OFL 1.1) do, but split every font into unicode-range subsets. This script:

1. fetches each pinned package with ``npm pack`` into a temporary folder,
2. takes the ``latin``, ``latin-ext`` and ``vietnamese`` WOFF files of the
   400 (regular) weight, decodes them to TrueType and merges them into one TTF
   with ``fontTools.merge.Merger``,
3. checks that the merged font maps every code point of a Vietnamese test
   string (precomposed NFC letters included),
4. writes ``<File>-Regular.ttf`` plus the package's OFL licence text
   (``<File>-OFL.txt``) and regenerates ``fonts.yaml`` (handwriting fonts built
   here + printed fonts from Debian packages, referenced by system path).

Usage::

    python scripts/build_fonts.py            # rebuild all
    python scripts/build_fonts.py --check    # only verify the committed files

Needs ``npm`` on PATH and ``fonttools`` in the Python environment. Plain .woff
files are used, so ``brotli`` is not needed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fontTools.merge import Merger
from fontTools.ttLib import TTFont

REPO = Path(__file__).resolve().parents[1]
FONT_DIR = REPO / "ocr_service" / "synth" / "fonts"
SUBSETS = ("latin", "latin-ext", "vietnamese")
WEIGHT = 400

# Code points every font must map (NFC; includes stacked tone marks).
VIETNAMESE_TEST = "Đặng Thị Thuỷ Ngọc ỹ Ỹ ữ Ữ ặ Ặ ề Ề ở Ở ự Ự đ ơ ư"

# Fonts the AsterNet handwriting model was trained on (for evaluation fairness).
ASTERNET_TRAINING = {
    "Caveat", "Dancing Script", "Patrick Hand", "Mali", "Itim", "Sriracha",
    "Pangolin", "Sedgwick Ave", "Marck Script", "Comfortaa",
}


@dataclass(frozen=True)
class NpmFont:
    package: str  # npm package name without scope
    version: str  # pinned version
    family: str  # human family name
    file_stem: str  # output file stem
    held_out: bool = False  # one of the hands kept out of every calibration fit (HELD_OUT_HANDS)

    @property
    def spec(self) -> str:
        return f"@fontsource/{self.package}@{self.version}"


# Pinned packages. Each was checked to cover Vietnamese (see VIETNAMESE_TEST).
NPM_FONTS: tuple[NpmFont, ...] = (
    # In AsterNet's training list.
    NpmFont("patrick-hand", "5.3.0", "Patrick Hand", "PatrickHand"),
    NpmFont("mali", "5.3.0", "Mali", "Mali"),
    NpmFont("itim", "5.3.0", "Itim", "Itim"),
    NpmFont("pangolin", "5.3.0", "Pangolin", "Pangolin"),
    # Not in AsterNet's training list (held-out styles).
    NpmFont("charm", "5.2.7", "Charm", "Charm"),
    NpmFont("playpen-sans", "5.3.0", "Playpen Sans", "PlaypenSans"),
    NpmFont("shantell-sans", "5.3.0", "Shantell Sans", "ShantellSans"),
    NpmFont("fuzzy-bubbles", "5.3.0", "Fuzzy Bubbles", "FuzzyBubbles"),
    NpmFont("mynerve", "5.3.0", "Mynerve", "Mynerve"),
    NpmFont("grandstander", "5.3.0", "Grandstander", "Grandstander"),
    # Added for issue 12 (more varied hands). In AsterNet's training list:
    NpmFont("dancing-script", "5.3.0", "Dancing Script", "DancingScript"),
    NpmFont("sriracha", "5.3.0", "Sriracha", "Sriracha"),
    NpmFont("sedgwick-ave", "5.3.0", "Sedgwick Ave", "SedgwickAve"),
    # Outside it, used for calibration:
    NpmFont("ephesis", "5.3.0", "Ephesis", "Ephesis"),
    NpmFont("ms-madi", "5.3.0", "Ms Madi", "MsMadi"),
    NpmFont("comforter", "5.2.8", "Comforter", "Comforter"),
    NpmFont("fuggles", "5.3.0", "Fuggles", "Fuggles"),
    NpmFont("gwendolyn", "5.3.0", "Gwendolyn", "Gwendolyn"),
    # Outside it and held out of every fit: the leave-hands-out evaluation (docs/accuracy.md).
    NpmFont("grape-nuts", "5.3.0", "Grape Nuts", "GrapeNuts", held_out=True),
    NpmFont("square-peg", "5.3.0", "Square Peg", "SquarePeg", held_out=True),
    NpmFont("oooh-baby", "5.3.0", "Oooh Baby", "OoohBaby", held_out=True),
    NpmFont("borel", "5.3.0", "Borel", "Borel", held_out=True),
)

# Printed fonts from Debian packages (fonts-dejavu-core, fonts-liberation2 -- the
# 1.x fonts-liberation lacks Vietnamese --,
# fonts-noto-core, fonts-freefont-ttf, fonts-roboto-unhinted, fonts-open-sans).
PRINTED_FONTS: tuple[tuple[str, str, str], ...] = (
    ("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    ("DejaVu Serif", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "fonts-dejavu-core"),
    ("Liberation Sans", "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", "fonts-liberation2"),
    ("Liberation Serif", "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf", "fonts-liberation2"),
    ("Noto Sans", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "fonts-noto-core"),
    ("Noto Serif", "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf", "fonts-noto-core"),
    ("FreeSans", "/usr/share/fonts/truetype/freefont/FreeSans.ttf", "fonts-freefont-ttf"),
    ("FreeSerif", "/usr/share/fonts/truetype/freefont/FreeSerif.ttf", "fonts-freefont-ttf"),
    ("Roboto", "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf", "fonts-roboto-unhinted"),
    ("Open Sans", "/usr/share/fonts/truetype/open-sans/OpenSans-Regular.ttf", "fonts-open-sans"),
)


def missing_codepoints(font: TTFont, text: str = VIETNAMESE_TEST) -> list[str]:
    cmap = font.getBestCmap() or {}
    text = unicodedata.normalize("NFC", text)
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})


def npm_pack(spec: str, dest: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", spec, "--pack-destination", str(dest), "--silent"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()
    return dest / out[-1]


def build_one(font: NpmFont, work: Path) -> tuple[Path, Path]:
    tgz = npm_pack(font.spec, work)
    ttf_parts: list[str] = []
    stamps: tuple[int, int] | None = None
    with tarfile.open(tgz) as tar:
        licence = tar.extractfile("package/LICENSE").read()
        for subset in SUBSETS:
            name = f"package/files/{font.package}-{subset}-{WEIGHT}-normal.woff"
            try:
                data = tar.extractfile(name).read()
            except KeyError:  # a family whose latin subset already covers Vietnamese
                continue
            part = TTFont(io.BytesIO(data))
            part.flavor = None  # WOFF -> plain sfnt
            part.recalcTimestamp = False
            if stamps is None:
                stamps = (part["head"].created, part["head"].modified)
            part_path = work / f"{font.package}-{subset}.ttf"
            part.save(part_path)
            ttf_parts.append(str(part_path))
    merged = Merger().merge(ttf_parts)
    # Fontsource subsets carry no hinting worth keeping; drop DSIG if any.
    if "DSIG" in merged:
        del merged["DSIG"]
    missing = missing_codepoints(merged)
    if missing:
        raise SystemExit(f"{font.family}: merged font misses {''.join(missing)!r}")
    ttf_path = FONT_DIR / f"{font.file_stem}-Regular.ttf"
    # Merger stamps "now" into head; restore the source's dates so builds are byte-reproducible.
    merged["head"].created, merged["head"].modified = stamps
    merged.recalcTimestamp = False
    merged.save(ttf_path)
    lic_path = FONT_DIR / f"{font.file_stem}-OFL.txt"
    lic_path.write_bytes(licence)
    return ttf_path, lic_path


def yaml_text() -> str:
    lines = [
        "# Fonts used to render synthetic form fills. Generated by scripts/build_fonts.py; do not edit.",
        "# style: printed | handwriting. file: relative to this folder, or an absolute system path",
        "# (printed fonts come from Debian packages and may be missing on a machine).",
        "# in_asternet_training: the AsterNet handwriting model was trained on this font.",
        "# held_out: a hand kept out of every calibration fit (the leave-hands-out evaluation).",
        "fonts:",
    ]
    for f in NPM_FONTS:
        lines += [
            f"  - family: {f.family}",
            f"    file: {f.file_stem}-Regular.ttf",
            "    style: handwriting",
            f"    in_asternet_training: {'true' if f.family in ASTERNET_TRAINING else 'false'}",
            f"    held_out: {'true' if f.held_out else 'false'}",
            f"    licence: {f.file_stem}-OFL.txt",
            f"    source: npm {f.spec}",
        ]
    for family, path, deb in PRINTED_FONTS:
        lines += [
            f"  - family: {family}",
            f"    file: {path}",
            "    style: printed",
            "    in_asternet_training: false",
            f"    source: debian {deb}",
        ]
    return "\n".join(lines) + "\n"


def check() -> int:
    bad = 0
    for f in NPM_FONTS:
        path = FONT_DIR / f"{f.file_stem}-Regular.ttf"
        if not path.exists():
            print(f"MISSING {path}")
            bad += 1
            continue
        missing = missing_codepoints(TTFont(path))
        print(f"{f.family:15s} {path.stat().st_size / 1024:7.1f} KiB  missing={''.join(missing)!r}")
        bad += bool(missing)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the committed fonts")
    args = ap.parse_args(argv)
    if args.check:
        return check()
    FONT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-fonts-") as tmp:
        for f in NPM_FONTS:
            ttf, _ = build_one(f, Path(tmp))
            print(f"built {ttf.relative_to(REPO)} ({ttf.stat().st_size / 1024:.1f} KiB)")
    (FONT_DIR / "fonts.yaml").write_text(yaml_text(), encoding="utf-8")
    return check()


if __name__ == "__main__":
    sys.exit(main())
