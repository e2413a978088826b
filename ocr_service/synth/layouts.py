"""Other printings of a drawn form: the same fields typeset as a different printer would.

A :class:`Layout` changes the font, the margins, the line pitch, and line breaks (a long label
broken over two lines, a writing line put under its label instead of after it). The result is a
template in the ordinary format, registered by its printed features (no registration marks, no QR
code, as a commune's own print has none), whose blank the renderer draws and whose sheets the
generator fills: what `templates author` and the pipeline are measured on (bench/bench_author.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ocr_service.errors import ConfigError
from ocr_service.forms.render import DEFAULT_FONT, load_font

PX = 300 / 25.4  # pixels per mm at which text is measured
BODY_TOP = 50.0  # mm: the header above this keeps its pitch


@dataclass(frozen=True)
class Layout:
    """How another printer typesets the form."""

    name: str
    font: dict
    dx: float = 0.0  # mm the whole body moves right
    dy: float = 0.0  # mm it moves down
    sx: float = 1.0  # horizontal scale of the body (narrower or wider margins)
    pitch: float = 1.0  # vertical scale of the rows under the header
    below: tuple[str, ...] = ()  # fields whose writing line goes on its own line under the label
    split: dict[str, int] = field(default_factory=dict)  # field -> words of its label left on the first line


def _font(regular: str, bold: str, italic: str, size: float) -> dict:
    return {"regular": regular, "bold": bold, "italic": italic, "size_pt": size}


_DV = "/usr/share/fonts/truetype/dejavu/"
_LIB = "/usr/share/fonts/truetype/liberation2/"
_NOTO = "/usr/share/fonts/truetype/noto/"
LAYOUTS = {
    "sans9": Layout("sans9", _font(_DV + "DejaVuSans.ttf", _DV + "DejaVuSans-Bold.ttf", _DV + "DejaVuSans-Oblique.ttf", 9),
                    dx=4.0, dy=5.0, sx=0.96, pitch=0.96),
    "serif11": Layout("serif11", _font(_LIB + "LiberationSerif-Regular.ttf", _LIB + "LiberationSerif-Bold.ttf",
                                       _LIB + "LiberationSerif-Italic.ttf", 11), dx=-3.0, dy=-3.0, sx=1.02, pitch=1.06),
    "breaks": Layout("breaks", _font(_NOTO + "NotoSans-Regular.ttf", _NOTO + "NotoSans-Bold.ttf",
                                     _NOTO + "NotoSans-Italic.ttf", 10),
                     dy=2.0, pitch=0.9, below=("permanent_address", "current_address"),
                     split={"legal_rep_name": 7}),
}


def _text_mm(text: str, font_path: str, size_pt: float) -> tuple[float, float]:
    """Width and ascent of ``text`` in mm."""
    f = load_font(font_path, max(1, round(size_pt / 72 * 300)))
    return f.getlength(text) / PX, f.getmetrics()[0] / PX


def variant(data: dict, layout: Layout) -> dict:
    """The template data of a drawn form (``dc01``'s YAML as loaded) typeset in ``layout``: a new
    version named after the layout. Raises ConfigError when a writing area no longer fits."""
    out = copy.deepcopy(data)
    font = {**DEFAULT_FONT, **layout.font}
    size = font["size_pt"]
    line = 8.6 * layout.pitch  # one row of the body

    def mx(x: float) -> float:
        return 16.0 + (x - 16.0) * layout.sx + layout.dx

    def my(y: float) -> float:
        return (BODY_TOP + (y - BODY_TOP) * layout.pitch if y >= BODY_TOP else y) + layout.dy

    # rows whose label breaks: every row under them moves down by one line
    breaks = sorted({f["box_mm"][1] for f in out["fields"] if f["name"] in set(layout.below) | set(layout.split)})

    def shift(y: float) -> float:
        return my(y) + line * sum(1 for b in breaks if y > b + 0.1)

    static = []
    for s in out.get("static", []):
        s["at_mm"] = [mx(s["at_mm"][0]),
                      shift(s["at_mm"][1])]
        static.append(s)
    rows: dict[float, list[dict]] = {}
    for f in out["fields"]:
        rows.setdefault(f["box_mm"][1], []).append(f)
    for y, fields in rows.items():
        labelled = sorted((f for f in fields if "label_at_mm" in f), key=lambda f: f["label_at_mm"][0])
        for f in fields:
            x, _, w, h = f["box_mm"]
            f["box_mm"] = [mx(x), shift(y), w * layout.sx, h]
        for i, f in enumerate(labelled):
            lx = mx(f["label_at_mm"][0])
            old_end = labelled[i + 1]["label_at_mm"][0] - 2.0 if i + 1 < len(labelled) else None
            end = mx(old_end) if old_end is not None else f["box_mm"][0] + f["box_mm"][2]
            label = f["label"]
            ty = f["box_mm"][1]
            if f["name"] in layout.split or f["name"] in layout.below:
                words = label.split()
                k = layout.split.get(f["name"], len(words))
                first, rest = " ".join(words[:k]), " ".join(words[k:])
                _, ascent = _text_mm(first, font["regular"], size)
                base = ty + f["box_mm"][3] - 1.2
                static.append({"text": first, "at_mm": [round(lx, 2), round(base - ascent, 2)]})
                del f["label_at_mm"]
                f["box_mm"][1] = ty + line  # the writing goes on the next line
                if rest:
                    width, _ = _text_mm(rest, font["regular"], size)
                    static.append({"text": rest, "at_mm": [round(lx, 2), round(base + line - ascent, 2)]})
                    start = lx + width + 1.0
                else:
                    start = lx
                f["box_mm"][0], f["box_mm"][2] = start, end - start
            else:
                width, _ = _text_mm(label, font["regular"], size)
                start = lx + width + 1.0
                f["label_at_mm"] = [round(lx, 2), f["box_mm"][1]]
                f["box_mm"][0], f["box_mm"][2] = start, end - start
            if f["box_mm"][2] < 10.0:
                raise ConfigError(f"layout {layout.name}: field {f['name']} has only {f['box_mm'][2]:.1f} mm to write on")
        for f in fields:
            if "label_at_mm" in f:
                f["label_at_mm"][1] = f["box_mm"][1]
    for f in out["fields"]:
        f["box_mm"] = [round(v, 2) for v in f["box_mm"]]
    rules = []
    for r in out.get("rules", []):
        x, y, w, h = r["box_mm"]
        rules.append({**r, "box_mm": [round(mx(x), 2), round(my(y), 2), round(w * layout.sx, 2),
                                      round(shift(y + h) - my(y), 2)]})
    out.update(version=layout.name, font=font, static=static, rules=rules,
               registration={"method": "features", "max_residual_px": 8.0},
               description=f"{data.get('description', '')} Typeset as another printer would ({layout.name}).")
    return out
