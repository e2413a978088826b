"""Authoring a template from a printed blank: find the reference form's labels on the print and
place each field's writing area from them.

Plain data in, plain data out: the blank's printed words (:class:`Word`, millimetres, from a PDF
text layer or from OCR) and its ink (a boolean raster with its pixels per millimetre). The like
template says which fields to find, what their labels say and how each field sits relative to its
label (right of it on the same line, on the line below, over it, under a signature caption); the
print says where the labels and the dotted lines, comb boxes and checkboxes really are.

Matching is accent-aware and tolerant: words are compared by ``vietnamese.text.match_key`` (one
tone placement, casefolded), numbering ("14.", "a)") and footnote markers ("(1)", "(*)") are
ignored, a label may run over a line break, and a field whose label is printed twice (``Quốc
tịch:``) takes the occurrence in reading order. A field whose label the like template's own print
shows but this blank does not is an error (:class:`AuthorError`), never dropped.
"""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from rapidfuzz import fuzz

from ocr_service.errors import TemplateError
from ocr_service.forms.model import Box, FieldSpec, GroupColumn, GroupSpec, Template, cell_name, split_cell_name
from ocr_service.vietnamese.text import match_key, strip_diacritics

MIN_LABEL_SCORE = 0.78  # a window of printed words must be this similar to a label to be it
SURE_LABEL_SCORE = 0.92  # below this a matched label is listed as doubtful
DOUBTFUL = 0.8  # a field placed with less confidence than this is listed
DOT_MAX_MM = 0.9  # a printed dot (of a dotted line) is at most this wide and tall
ROW_TOL_MM = 0.45  # dots of one dotted line lie within this of their row
BOX_PAD_MM = 0.2  # the box ends this far below the dots' bottom (the writing sits on the dots)
MIN_BOX_H_MM, MAX_BOX_H_MM = 4.5, 7.5
CONTINUATION = re.compile(r"\s*\(line (\d+)\)\s*$")


class AuthorError(TemplateError):
    """A field of the like template cannot be placed on the blank (its label is missing, or
    what should follow it is not printed)."""


@dataclass(frozen=True)
class Word:
    """One printed word: its text and box (x, y, w, h) in millimetres from the page's top-left."""

    text: str
    box_mm: Box

    @property
    def x1(self) -> float:
        return self.box_mm[0] + self.box_mm[2]

    @property
    def y1(self) -> float:
        return self.box_mm[1] + self.box_mm[3]

    @property
    def cy(self) -> float:
        return self.box_mm[1] + self.box_mm[3] / 2


@dataclass(frozen=True)
class Ink:
    """The blank's print as a boolean raster (True = ink) and its scale."""

    mask: np.ndarray
    px_per_mm: float

    def px(self, mm: float) -> int:
        return int(round(mm * self.px_per_mm))

    def region(self, x0: float, y0: float, x1: float, y1: float) -> tuple[np.ndarray, int, int]:
        """The mask inside a millimetre rectangle (clipped to the page) and its pixel origin."""
        h, w = self.mask.shape
        px0, py0 = max(0, self.px(x0)), max(0, self.px(y0))
        px1, py1 = min(w, self.px(x1)), min(h, self.px(y1))
        return self.mask[py0:max(py0, py1), px0:max(px0, px1)], px0, py0


@dataclass(frozen=True)
class LabelMatch:
    """Where a field's label was found: the words it covers (indices into the reading order), its
    box and how similar the printed words are (0..1)."""

    first: int
    last: int
    box_mm: Box
    score: float
    text: str


@dataclass
class Placement:
    """One authored field: its box, how it was found, how sure it is, and what a person should look at."""

    name: str
    box_mm: Box | None
    method: str
    confidence: float
    label: LabelMatch | None = None
    cells: int | None = None
    options: tuple[tuple[str, Box], ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def doubtful(self) -> bool:
        return self.box_mm is None or self.confidence < DOUBTFUL


# -- reading the blank's words ---------------------------------------------------------------------

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
PT_MM = 25.4 / 72


def text_layer(pdf: str | Path, page: int = 1) -> tuple[list[Word], tuple[float, float]]:
    """The words of a PDF page's text layer (poppler's ``pdftotext -bbox``) and the page size in mm.
    An empty list when the page has no text layer (a scanned PDF)."""
    try:
        out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                             check=True, capture_output=True, timeout=120).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as exc:
        raise TemplateError(f"cannot read the PDF's text layer: {exc}", file=str(pdf)) from exc
    size = _PAGE.search(out)
    if not size:
        raise TemplateError(f"the PDF has no page {page}", file=str(pdf))
    words = []
    for x0, y0, x1, y1, text in _WORD.findall(out):
        a, b, c, d = (float(v) * PT_MM for v in (x0, y0, x1, y1))
        words.append(Word(html.unescape(text), (a, b, c - a, d - b)))
    return words, (float(size.group(1)) * PT_MM, float(size.group(2)) * PT_MM)


_GLUED = re.compile(r"^(.*\w.*?)([.…]{3,}.*)$")


def split_glued_leaders(words: list[Word], ink: "Ink") -> list[Word]:
    """Words whose text runs straight into a dotted leader ("sinh:....../", "hộ:.......", as a
    text layer may hold them) split in two where the print says: the label part ends at the last
    mark bigger than a dot before the first run of three dots, the leader starts at that run."""
    out = []
    for w in words:
        m = _GLUED.match(w.text)
        if not m:
            out.append(w)
            continue
        x, y, bw, bh = w.box_mm
        region, ox, _ = ink.region(x, y, x + bw, y + bh)
        stats = sorted(_components(region), key=lambda s: s[0]) if region.size else []
        small = ink.px(DOT_MAX_MM)
        is_dot = [s[2] <= small and s[3] <= small for s in stats]
        run = next((i for i in range(len(stats) - 2) if all(is_dot[i:i + 3])), None)
        if run is None:
            out.append(w)
            continue
        text_end = max((s[0] + s[2] for s, d in zip(stats[:run], is_dot[:run]) if not d), default=None)
        if text_end is None:
            out.append(w)
            continue
        split = (ox + text_end) / ink.px_per_mm
        lead = (ox + stats[run][0]) / ink.px_per_mm
        # the label keeps its text (colon included); its box ends at its last mark bigger than a dot
        out.append(Word(m.group(1), (x, y, split - x + 0.1, bh)))
        out.append(Word(m.group(2), (lead, y, x + bw - lead, bh)))
    return out


def reading_order(words: list[Word]) -> list[Word]:
    """Words grouped into printed lines (by vertical overlap) top to bottom, each left to right.
    Two columns printed side by side read as one line, which keeps the order labels have in a
    template (left block before right block)."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.cy, w.box_mm[0])):
        for line in lines[-4:]:
            ref = sorted(v.cy for v in line)[len(line) // 2]
            height = min(max(v.box_mm[3] for v in line), w.box_mm[3] * 1.6)
            if abs(w.cy - ref) < 0.45 * height:
                line.append(w)
                break
        else:
            lines.append([w])
    lines.sort(key=lambda line: sorted(v.cy for v in line)[len(line) // 2])
    return [w for line in lines for w in sorted(line, key=lambda v: v.box_mm[0])]


# -- label matching ------------------------------------------------------------------------------

_NUMBERING = re.compile(r"^\s*(?:[-–•]\s*)?(?:\d+[.)]|[a-zđ]\))\s*", re.IGNORECASE)
_MARKERS = re.compile(r"\((?:\d+|\*+)\)")
_NON_WORD = re.compile(r"[^\w]|_")


def _tokens(text: str) -> list[str]:
    out = []
    for t in match_key(_MARKERS.sub(" ", text), abbreviations=False).split():
        t = _NON_WORD.sub("", t)
        if t and not t.isdigit():
            out.append(t)
    return out


def label_tokens(label: str) -> list[str]:
    """The words of a template label that are looked for on a print: numbering, footnote markers,
    a ``(line N)`` suffix and punctuation left out."""
    label = CONTINUATION.sub("", label)
    while True:
        stripped = _NUMBERING.sub("", label, count=1)
        if stripped == label:
            break
        label = stripped
    return _tokens(label)


def _stream(words: list[Word]) -> tuple[list[str], list[int]]:
    """Tokens of the words in reading order and, for each, the index of its word."""
    toks, owner = [], []
    for i, w in enumerate(words):
        if re.fullmatch(r"[a-zđ]\)", w.text.strip(), re.IGNORECASE):
            continue  # list lettering: "a)", "b)"
        for t in _tokens(w.text):
            toks.append(t)
            owner.append(i)
    return toks, owner


def _similarity(a: str, b: str, a_plain: str, b_plain: str) -> float:
    exact = fuzz.ratio(a, b) / 100
    if exact >= 0.999:
        return exact
    plain = fuzz.ratio(a_plain, b_plain) / 100
    return max(exact, 0.92 * plain)  # accent-blind similarity counts, a little less


@dataclass(frozen=True)
class _Stream:
    toks: list[str]
    plain: list[str]
    owner: list[int]


def _prepared(words: list[Word]) -> _Stream:
    toks, owner = _stream(words)
    return _Stream(toks, [strip_diacritics(t, abbreviations=False) for t in toks], owner)


def label_candidates(label: str, words: list[Word], min_score: float = MIN_LABEL_SCORE,
                     stream: _Stream | None = None) -> list[LabelMatch]:
    """Every place in ``words`` (reading order) that reads like ``label``, best window per start."""
    want = label_tokens(label)
    if not want:
        return []
    st = stream or _prepared(words)
    toks, owner = st.toks, st.owner
    target = " ".join(want)
    target_plain = strip_diacritics(target, abbreviations=False)
    n = len(want)
    found = []
    for start in range(len(toks)):
        best = None
        for length in (n, n - 1, n + 1):
            if length < 1 or start + length > len(toks):
                continue
            s = _similarity(target, " ".join(toks[start:start + length]), target_plain,
                            " ".join(st.plain[start:start + length]))
            if best is None or s > best[0]:
                best = (s, length)
        if best and best[0] >= min_score:
            first, last = owner[start], owner[start + best[1] - 1]
            found.append(LabelMatch(first, last, _union([w.box_mm for w in words[first:last + 1]]), best[0],
                                    " ".join(w.text for w in words[first:last + 1])))
    found = [_widen(m, words) for m in found]
    # overlapping windows of one occurrence: keep the best of each run
    kept: list[LabelMatch] = []
    for m in found:
        if kept and m.first <= kept[-1].last:
            if m.score > kept[-1].score:
                kept[-1] = m
            continue
        kept.append(m)
    return kept


_NUMBER_WORD = re.compile(r"^(?:\d+[.)]?|[a-zđ]\)|[-–•])$", re.IGNORECASE)
_PUNCT_WORD = re.compile(r"^[:;,)\]]+$")


def is_leader(text: str) -> bool:
    """A printed dotted leader ("……", "......"), or what OCR makes of one ('"——....'): not text
    (fewer than half of its characters are letters or digits)."""
    t = text.strip()
    return bool(t) and sum(c.isalnum() for c in t) < 0.5 * len(t)


def _widen(m: LabelMatch, words: list[Word]) -> LabelMatch:
    """A label's numbering just before it ("14.", "a)") and its colon just after belong to it:
    the writing starts after the colon, and the previous field's line ends before the number."""
    first, last = m.first, m.last
    if first > 0 and _NUMBER_WORD.match(words[first - 1].text.strip()) and \
            _same_line(words[first - 1].box_mm, words[first].box_mm) and \
            words[first].box_mm[0] - words[first - 1].x1 < 3.0:
        first -= 1
    while last + 1 < len(words) and _PUNCT_WORD.match(words[last + 1].text.strip()) and \
            _same_line(words[last + 1].box_mm, words[last].box_mm) and words[last + 1].box_mm[0] - words[last].x1 < 2.0:
        last += 1
    if (first, last) == (m.first, m.last):
        return m
    return LabelMatch(first, last, _union([w.box_mm for w in words[first:last + 1]]), m.score,
                      " ".join(w.text for w in words[first:last + 1]))


def _union(boxes: list[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def match_labels(labels: list[tuple[str, str]], words: list[Word]) -> dict[str, LabelMatch]:
    """Each (field name, label) matched to one place on the print, in reading order: the
    assignment that keeps the fields' order and has the highest total similarity (a label printed
    several times goes to the field whose turn it is). Fields without a match are left out."""
    stream = _prepared(words)
    cands = [label_candidates(label, words, stream=stream) for _, label in labels]
    # DP over fields in order; state: the last word used. best[(i, c)] = (total, back-pointer)
    states: list[tuple[float, int, list[tuple[int, int]]]] = [(0.0, -1, [])]  # (total, last word, picks)
    for i, options in enumerate(cands):
        nxt = list(states)  # the field may stay unmatched
        for ci, c in enumerate(options):
            prior = [s for s in states if s[1] < c.first]
            if prior:
                base = max(prior, key=lambda s: s[0])
                nxt.append((base[0] + c.score, c.last, base[2] + [(i, ci)]))
        # keep, for each last-word position, only the best total (and prune dominated states)
        by_end: dict[int, tuple[float, int, list]] = {}
        for s in nxt:
            if s[1] not in by_end or s[0] > by_end[s[1]][0]:
                by_end[s[1]] = s
        ordered = sorted(by_end.values(), key=lambda s: s[1])
        states, top = [], -1.0
        for s in ordered:
            if s[0] > top:
                states.append(s)
                top = s[0]
    best = max(states, key=lambda s: s[0])
    return {labels[i][0]: cands[i][ci] for i, ci in best[2]}


# -- the like template's own geometry ----------------------------------------------------------------

def relation(spec: FieldSpec, label_box: Box | None) -> str:
    """How a field's box sits relative to its printed label in the like template: 'right' (on the
    same line, after it), 'below' (on a following line), 'over' (the box covers the label) or
    'caption' (a signature area under its caption); 'unprinted' when the label is not printed."""
    if label_box is None:
        return "unprinted"
    if spec.kind == "signature":
        return "caption"
    lx, ly, lw, lh = label_box
    x, y, w, h = spec.box_mm
    same_line = min(ly + lh, y + h) - max(ly, y) > 0.3 * min(lh, h)
    covered = max(0.0, min(lx + lw, x + w) - max(lx, x)) / max(lw, 1e-6)
    if same_line and covered < 0.8:  # after its label (or nudged onto part of it)
        return "right"
    if y >= ly + lh - 1.0:
        return "below"
    return "over"


# -- finding what follows a label on the print ---------------------------------------------------------

def _components(mask: np.ndarray) -> np.ndarray:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return stats[1:]


def find_dots(ink: Ink, x0: float, x1: float, y_top: float, y_bottom: float,
              words: list[Word] = ()) -> tuple[float, float, float] | None:
    """A dotted line in the rectangle: (first dot's left, last dot's right, the dots' bottom), in mm;
    None when there is no row of at least 5 dots. Dots inside printed ``words`` (full stops,
    colons, the dots of ẹ or ị) are not the line's."""
    above = 2.5  # mm: a dot with a mark right above it is a colon, an i or a tone mark, not a leader
    region, ox, oy = ink.region(x0, y_top - above, x1, y_bottom)
    if region.size == 0:
        return None
    stats = _components(region)
    top_px = ink.px(y_top) - oy
    small = ink.px(DOT_MAX_MM)
    # A word is text when it holds a mark bigger than a dot: OCR reads some dotted lines as
    # "words" ('"——....', '91990999092'), which hold dots only.
    centre = [((ox + o[0] + o[2] / 2) / ink.px_per_mm, (oy + o[1] + o[3] / 2) / ink.px_per_mm, o[3] > small or o[2] > small)
              for o in stats]

    def is_text(w: Word) -> bool:
        # more than a few marks bigger than a dot: a dotted date line OCR read as one "word"
        # ('2302510055110122102251' over "……/……") holds one slash among thirty dots
        inside = [b for cx, cy, b in centre if w.box_mm[0] <= cx <= w.x1 and w.box_mm[1] <= cy <= w.y1]
        n_big = sum(inside)
        return n_big > 0 and n_big >= 0.25 * (len(inside) - n_big)

    text = [w.box_mm for w in words if not is_leader(w.text) and w.box_mm[3] >= 1.2 and w.x1 > x0 and w.box_mm[0] < x1
            and w.y1 > y_top and w.box_mm[1] < y_bottom and is_text(w)]

    def in_text(s) -> bool:
        cx = (ox + s[0] + s[2] / 2) / ink.px_per_mm
        cy = (oy + s[1] + s[3] / 2) / ink.px_per_mm
        return any(bx - 0.15 <= cx <= bx + bw + 0.15 and by - 0.3 <= cy <= by + bh + 0.3 for bx, by, bw, bh in text)

    def capped(s) -> bool:  # (specks of scanner noise do not cap a dot)
        return any(o is not s and o[4] >= max(3, s[4] // 2) and o[0] < s[0] + s[2] and o[0] + o[2] > s[0]
                   and o[1] + o[3] <= s[1] and o[1] + o[3] >= s[1] - ink.px(above) for o in stats)

    dots = [s for s in stats if s[2] <= small and s[3] <= small and s[4] >= 2 and s[1] >= top_px
            and not in_text(s)]
    dots = [s for s in dots if not capped(s)] if len(dots) < 400 else dots
    if len(dots) < 5:
        return None
    bottoms = np.array([s[1] + s[3] for s in dots], float)
    # the row: the bottom most dots share (ties: the lowest, where dotted lines sit)
    tol = max(1, ink.px(ROW_TOL_MM))
    counts = [(int(((bottoms >= b - tol) & (bottoms <= b + tol)).sum()), b) for b in bottoms]
    _, row = max(counts)
    on_row = [s for s, b in zip(dots, bottoms) if abs(b - row) <= tol]
    if len(on_row) < 5:
        return None
    on_row.sort(key=lambda s: s[0])
    # a dotted line is continuous: stop at a gap wider than 12 mm (another writing area), or at
    # printed text on the row (a gap over 2 mm holding a mark bigger than a dot: the next label's
    # number; a date's "/" leaves a shorter gap)
    row_top = oy + int(row) - small * 3
    marks = [o for o in stats if (o[3] > small or o[2] > small) and o[1] + o[3] > row_top - oy + 0 and o[1] < row]
    # the first run of at least 5 dots (a stray dot before the label's end, the dot under an ị,
    # does not make a run)
    runs = [[on_row[0]]]
    for s in on_row[1:]:
        gap0, gap1 = runs[-1][-1][0] + runs[-1][-1][2], s[0]
        if gap1 - gap0 > ink.px(12.0) or (gap1 - gap0 > ink.px(2.0) and any(gap0 <= o[0] + o[2] / 2 <= gap1
                                                                            for o in marks)):
            if len(runs[-1]) >= 5:
                break
            runs.append([s])
            continue
        runs[-1].append(s)
    run = runs[-1]
    if len(run) < 5:
        return None
    left = (ox + run[0][0]) / ink.px_per_mm
    right = (ox + run[-1][0] + run[-1][2]) / ink.px_per_mm
    bottom = (oy + np.median([s[1] + s[3] for s in run])) / ink.px_per_mm
    return left, right, bottom


def find_rule(ink: Ink, x0: float, x1: float, y_top: float, y_bottom: float) -> tuple[float, float, float] | None:
    """A printed underline (a thin horizontal line at least 10 mm long) in the rectangle:
    (left, right, its top) in mm, or None."""
    region, ox, oy = ink.region(x0, y_top, x1, y_bottom)
    if region.size == 0:
        return None
    long_ = ink.px(10.0)
    for s in sorted(_components(region), key=lambda s: -s[2]):
        if s[2] >= long_ and s[3] <= ink.px(0.8):
            return (ox + s[0]) / ink.px_per_mm, (ox + s[0] + s[2]) / ink.px_per_mm, (oy + s[1]) / ink.px_per_mm
    return None


def find_comb(ink: Ink, x0: float, x1: float, y_top: float, y_bottom: float) -> tuple[Box, int, float] | None:
    """A row of comb cells (boxes drawn side by side) in the rectangle: its outline in mm, the
    number of cells and their pitch, or None."""
    region, ox, oy = ink.region(x0, y_top, x1, y_bottom)
    if region.size == 0 or min(region.shape) < 8:
        return None
    m = region.astype(np.uint8)
    horiz = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (ink.px(6.0), 1)))
    rows = np.flatnonzero(horiz.mean(axis=1) > 0.15)
    if rows.size < 2:
        return None
    # the outline's top and bottom: the first and last of the long horizontal lines, 3-12 mm apart
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 2) + 1)
    centres = [float(g.mean()) for g in groups]
    pair = None
    for i in range(len(centres)):
        for j in range(len(centres) - 1, i, -1):
            gap = (centres[j] - centres[i]) / ink.px_per_mm
            if 3.0 <= gap <= 12.0:
                pair = (groups[i], groups[j])
                break
        if pair:
            break
    if pair is None:
        return None
    top, bottom = int(pair[0].min()), int(pair[1].max()) + 1
    band = m[top:bottom]
    vert = cv2.morphologyEx(band, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int((bottom - top) * 0.7)))))
    cols = np.flatnonzero(vert.any(axis=0))
    if cols.size < 2:
        return None
    vgroups = np.split(cols, np.flatnonzero(np.diff(cols) > 2) + 1)
    xs = [float(g.mean()) for g in vgroups]
    if len(xs) < 3:
        return None
    pitches = np.diff(xs)
    pitch = float(np.median(pitches))
    # keep the longest run of equally spaced lines
    best, cur = (0, 0), (0, 0)
    for i, p in enumerate(pitches):
        if abs(p - pitch) <= 0.15 * pitch:
            cur = (cur[0], i + 1) if cur[1] == i else (i, i + 1)
            if cur[1] - cur[0] > best[1] - best[0]:
                best = cur
        else:
            cur = (i + 1, i + 1)
    n_cells = best[1] - best[0]
    if n_cells < 2:
        return None
    # the box runs along the printed lines' centres (what the hand-made templates measure)
    left = (ox + xs[best[0]]) / ink.px_per_mm
    right = (ox + xs[best[1]]) / ink.px_per_mm
    y0 = (oy + float(pair[0].mean())) / ink.px_per_mm
    y1 = (oy + float(pair[1].mean())) / ink.px_per_mm
    return (left, y0, right - left, y1 - y0), n_cells, (right - left) / n_cells


@dataclass(frozen=True)
class Grid:
    """A ruled table on the print: its vertical and horizontal lines' centres (mm), left to
    right and top to bottom, the outer edges included."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]


def _clusters(values: list[float], tol: float) -> list[list[float]]:
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return out


def find_grid(ink: Ink, x0: float, x1: float, y0: float, y1: float) -> Grid | None:
    """The ruled table in the rectangle: its columns from the vertical lines (at least 10 mm of
    unbroken ink, the set sharing the tallest span), its rows from the horizontal lines across it
    (solid or dashed: gaps up to 2.5 mm are closed), the top and bottom of the verticals being its
    outer edges. None when there is no table of at least 2 columns and 2 rows."""
    region, ox, oy = ink.region(x0, y0, x1, y1)
    if region.size == 0 or min(region.shape) < 10:
        return None
    m = region.astype(np.uint8)
    vert = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, ink.px(10.0))))
    comps = [s for s in _components(vert.astype(bool)) if s[2] <= ink.px(1.0)]
    if len(comps) < 3:
        return None
    tall = max(comps, key=lambda s: s[3])

    def shared(s) -> float:
        return max(0, min(s[1] + s[3], tall[1] + tall[3]) - max(s[1], tall[1])) / max(1, min(s[3], tall[3]))

    lines = [s for s in comps if shared(s) >= 0.8 and s[3] >= 0.6 * tall[3]]
    xs = [float(np.mean(c)) for c in _clusters([s[0] + s[2] / 2 for s in lines], ink.px(1.0))]
    if len(xs) < 3:
        return None
    top = int(np.median([s[1] for s in lines]))
    bottom = int(np.median([s[1] + s[3] for s in lines]))
    left, right = int(xs[0]), int(round(xs[-1])) + 1
    pad = ink.px(1.0)
    band = m[max(0, top - pad):bottom + pad, left:right]
    closed = cv2.morphologyEx(band, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (ink.px(2.5), 1)))
    rows = np.flatnonzero(closed.mean(axis=1) > 0.6)
    ys = [float(g.mean()) + max(0, top - pad) for g in np.split(rows, np.flatnonzero(np.diff(rows) > 2) + 1)
          if g.size] if rows.size else []
    if not ys or ys[0] - top > ink.px(1.0):
        ys.insert(0, float(top))
    if bottom - ys[-1] > ink.px(1.0):
        ys.append(float(bottom))
    if len(ys) < 3:
        return None
    return Grid(tuple((ox + x) / ink.px_per_mm for x in xs), tuple((oy + y) / ink.px_per_mm for y in ys))


def find_checkbox(ink: Ink, near: Box) -> Box | None:
    """A small empty square (2-7 mm) just left or right of an option's printed label, in mm."""
    x, y, w, h = near
    region, ox, oy = ink.region(x - 10, y - 2, x + w + 10, y + h + 2)
    best = None
    for s in _components(region):
        sw, sh = s[2] / ink.px_per_mm, s[3] / ink.px_per_mm
        if 2.0 <= sw <= 7.0 and 2.0 <= sh <= 7.0 and 0.7 < sw / sh < 1.4 and s[4] < 0.6 * s[2] * s[3]:
            bx = (ox + s[0]) / ink.px_per_mm
            d = min(abs(bx + sw - x), abs(bx - (x + w)))
            if best is None or d < best[0]:
                best = (d, (bx, (oy + s[1]) / ink.px_per_mm, sw, sh))
    return best[1] if best else None


# -- placing the fields ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Blank:
    """What the author knows about a blank: its words in reading order, its ink and page size."""

    words: list[Word]
    ink: Ink
    width_mm: float
    height_mm: float
    source: str = ""
    from_ocr: bool = False  # words from OCR (ink boxes), not from a text layer (font boxes)

    @property
    def text_right(self) -> float:
        """The right edge of the printed text block (where a line ends)."""
        xs = sorted(w.x1 for w in self.words)
        return xs[int(len(xs) * 0.98)] if xs else self.width_mm - 15


def _line_words(blank: Blank, box: Box) -> list[int]:
    """Indices of the words printed on the same line as ``box``."""
    y0, y1 = box[1], box[1] + box[3]
    return [i for i, w in enumerate(blank.words)
            if min(w.y1, y1) - max(w.box_mm[1], y0) > 0.4 * min(w.box_mm[3], box[3])]


def _next_label_x(blank: Blank, label: LabelMatch, starts: list[float]) -> float:
    """Where the writing after ``label`` must end: the next label on its line, else the line end."""
    right = label.box_mm[0] + label.box_mm[2]
    after = [x for x in starts if x > right + 0.5]
    return min(after) - 0.3 if after else blank.width_mm - 3.0


def _height(blank: "Blank", label: LabelMatch, like_h: float) -> float:
    """The writing area's height: a text layer's word boxes are the font's line height (the box is
    as tall as the label's line); OCR boxes hold only the ink, so the like template's height is
    kept there."""
    h = like_h if blank.from_ocr else min(label.box_mm[3] + 0.4, like_h + 1.0)
    return float(np.clip(h, MIN_BOX_H_MM, MAX_BOX_H_MM))


def _clear_top(ink: Ink, x0: float, x1: float, bottom: float, h: float) -> float:
    """``h``, lowered so the box's top stays below print of the line above (the bottom of a comb,
    the descenders of a label), but never under MIN_BOX_H_MM."""
    region, _, oy = ink.region(x0, bottom - h, x1, bottom - MIN_BOX_H_MM)
    if region.size == 0:
        return h
    rows = np.flatnonzero(region.mean(axis=1) > 0.01)
    if rows.size == 0:
        return h
    new_top = (oy + rows[-1] + 1) / ink.px_per_mm + 0.1
    return max(MIN_BOX_H_MM, bottom - new_top)


def place_right(blank: Blank, spec: FieldSpec, label: LabelMatch, line_label_starts: list[float]) -> Placement:
    """The writing area after a label on its line: over the dotted line (or underline) up to the
    next label or the line end, its bottom on the dots. A label broken over lines counts from
    its last line."""
    label = _last_line(blank, label)
    lx, ly, lw, lh = label.box_mm
    start, end = lx + lw - 0.5, _next_label_x(blank, label, line_label_starts)
    top, bottom = ly - 1.0, ly + lh + 1.6
    h = _height(blank, label, spec.box_mm[3])
    if spec.cells:  # a comb may run past the text's right edge
        comb_end = end if end < blank.text_right else blank.width_mm - 3
        return _place_comb(blank, spec, label, start, comb_end, ly - 3.0, ly + lh + 3.0)
    dots = find_dots(blank.ink, start, end, top, bottom, blank.words)
    if dots:
        x0, x1, b = dots
        b += BOX_PAD_MM
        h = _clear_top(blank.ink, x0, x1, b, h)
        p = Placement(spec.name, (x0, b - h, x1 - x0, h), "dots", 1.0, label)
        if x1 - x0 < 8:
            p.confidence, p.notes = 0.6, ["the dotted line is shorter than 8 mm"]
        return p
    rule = find_rule(blank.ink, start, end, top, bottom + 0.6)
    if rule:
        x0, x1, b = rule
        return Placement(spec.name, (x0, b - h, x1 - x0, h), "rule", 0.95, label)
    under = place_below(blank, spec, ly + lh - 0.5, lx - 3.0, spec.box_mm[3], steps=2)
    if under is not None:  # this printing puts the writing line under its label
        under.label, under.confidence = label, 0.85
        under.notes.append("the dotted line is under its label, not after it")
        return under
    if end - start < 8:
        raise AuthorError("nothing to write on after its label (no dotted line, no room)", field=spec.name)
    b = ly + lh + 0.2
    end = min(end, max(blank.text_right, start + 10))
    return Placement(spec.name, (start + 0.5, b - h, end - start - 0.5, h), "line_end", 0.7, label,
                     notes=["no dotted line after the label: the box runs to the next label or the line end"])


def _last_line(blank: Blank, label: LabelMatch) -> LabelMatch:
    """The part of a label on its last printed line (the label itself when it has one line)."""
    words = blank.words[label.first:label.last + 1]
    tail = [w for w in words if _same_line(w.box_mm, words[-1].box_mm)]
    if len(tail) == len(words):
        return label
    return replace(label, first=label.last - len(tail) + 1, box_mm=_union([w.box_mm for w in tail]))


def _place_comb(blank: Blank, spec: FieldSpec, label: LabelMatch, x0: float, x1: float, y0: float,
                y1: float) -> Placement:
    comb = find_comb(blank.ink, x0, x1, y0, y1)
    if comb is None:  # on the line below the label
        comb = find_comb(blank.ink, label.box_mm[0] - 5, blank.width_mm - 5, y1 - 1.0, y1 + 12.0)
    if comb is None:
        raise AuthorError(f"no comb of {spec.cells} boxes found near its label", field=spec.name)
    box, n, pitch = comb
    p = Placement(spec.name, box, "comb", 1.0, label, cells=n)
    if n != spec.cells:
        p.confidence = 0.5
        p.notes.append(f"{n} cells printed, the like template has {spec.cells}")
    p.notes.append(f"{n} cells, pitch {pitch:.2f} mm")
    return p


def place_below(blank: Blank, spec: FieldSpec, below_y: float, x_from: float, like_h: float,
                steps: int = 4) -> Placement | None:
    """The first dotted line (or underline) under ``below_y`` with nothing printed before it:
    a writing line of its own (an address's second line), starting near ``x_from``."""
    for step in range(1, steps + 1):
        top = below_y + (step - 1) * 3.5
        dots = find_dots(blank.ink, x_from, blank.width_mm - 5, top, top + 7.0, blank.words)
        if dots and dots[0] > x_from + 12.0:
            dots = None  # the dotted line of a labelled line further down
        if dots:
            x0, x1, b = dots
            b += BOX_PAD_MM
            h = float(np.clip(like_h, MIN_BOX_H_MM, MAX_BOX_H_MM))
            return Placement(spec.name, (x0, b - h, x1 - x0, h), "line_below", 0.9)
    return None


def place_caption(blank: Blank, spec: FieldSpec, label: LabelMatch) -> Placement:
    """A signature area: the blank space under its caption block (the caption and the lines
    printed right under it, like "(Ký, ghi rõ họ tên)"), centred on that block, as large as in
    the like template and no lower than the next print."""
    block = label.box_mm
    while True:
        under = [w for w in blank.words if 0 <= w.box_mm[1] - (block[1] + block[3]) < 2.5
                 and w.box_mm[0] < block[0] + block[2] + 3 and w.x1 > block[0] - 3]
        if not under:
            break
        block = _union([block] + [w.box_mm for w in under])
    # the print says where the caption block ends, even where OCR missed a line of it: rows of
    # ink under the label, until a blank gap of 1.5 mm
    region, _, oy = blank.ink.region(block[0] - 2, block[1], block[0] + block[2] + 2, block[1] + 25)
    rows = region.any(axis=1) if region.size else np.zeros(0, bool)
    gap, end = blank.ink.px(1.5), 0
    for i, inked in enumerate(rows):
        if inked:
            end = i + 1
        elif i - end >= gap:
            break
    ink_bottom = (oy + end) / blank.ink.px_per_mm
    block = (block[0], block[1], block[2], max(block[3], ink_bottom - block[1]))
    _, _, w, h = spec.box_mm
    cx = block[0] + block[2] / 2
    top = block[1] + block[3] + 0.9
    below = [v.box_mm[1] for v in blank.words if v.box_mm[1] > top + 1 and v.box_mm[0] < cx + w / 2
             and v.x1 > cx - w / 2]
    bottom = min([top + h] + [y - 0.5 for y in below])
    p = Placement(spec.name, (cx - w / 2, top, w, bottom - top), "caption", 0.9, label)
    if bottom - top < 0.6 * h:
        p.confidence = 0.5
        p.notes.append(f"only {bottom - top:.1f} mm free under the caption")
    return p


def place_offset(spec: FieldSpec, label: LabelMatch, like_label: Box) -> Placement:
    """The box where the like template has it relative to its label (a box over its label)."""
    dx, dy = label.box_mm[0] - like_label[0], label.box_mm[1] - like_label[1]
    x, y, w, h = spec.box_mm
    return Placement(spec.name, (x + dx, y + dy, w, h), "label_offset", 0.75, label,
                     notes=["placed at the like template's offset from its label"])


def author_fields(like: Template, like_labels: dict[str, Box | None], blank: Blank) -> list[Placement]:
    """Place every field of ``like`` on ``blank``. ``like_labels``: each field's printed label box
    in the like template (None: the label is not printed there either). Raises AuthorError naming
    the first field that cannot be placed."""
    printed = [(f.name, f.label) for f in like.single_fields if like_labels.get(f.name) is not None]
    matches = match_labels(printed, blank.words)
    missing = [name for name, _ in printed if name not in matches]
    if missing:
        spec = like.field(missing[0])
        raise AuthorError(f"label {spec.label!r} not found on the blank"
                          + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                          file=blank.source, field=missing[0])
    starts_by_line: dict[str, list[float]] = {}
    for name, m in matches.items():
        starts_by_line[name] = [matches[o].box_mm[0] for o in matches
                                if o != name and _same_line(matches[o].box_mm, m.box_mm)]
    out: list[Placement] = []
    placed: dict[str, Placement] = {}
    for spec in like.single_fields:
        rel = relation(spec, like_labels.get(spec.name))
        label = matches.get(spec.name)
        try:
            p = _place_one(blank, like, spec, rel, label, like_labels, placed, starts_by_line.get(spec.name, []))
        except AuthorError as exc:
            exc.file = exc.file or blank.source
            raise
        if label is not None and label.score < SURE_LABEL_SCORE:
            p.notes.append(f"label read as {label.text!r} ({label.score:.2f})")
        if label is not None:
            p.confidence = round(min(p.confidence, 1.0) * min(1.0, label.score / SURE_LABEL_SCORE), 3)
        _check_inside(blank, p)
        placed[spec.name] = p
        out.append(p)
    _map_unprinted(like, out)
    for group in like.groups:
        out.extend(place_group(blank, group))
    return out


# -- repeated groups: a ruled table of rows and named columns -----------------------------------------------

MIN_HEADER_SCORE = 0.6  # a printed column header must be this similar to the column's label


def _header_score(label: str, text: str) -> float:
    want, got = " ".join(label_tokens(label)), " ".join(_tokens(text))
    if not want or not got:
        return 0.0
    score = _similarity(want, got, strip_diacritics(want, abbreviations=False),
                        strip_diacritics(got, abbreviations=False))
    # a header printed over two lines in a narrow column ("T / T") reads as its letters
    w, g = want.replace(" ", ""), got.replace(" ", "")
    squeezed = _similarity(w, g, strip_diacritics(w, abbreviations=False), strip_diacritics(g, abbreviations=False))
    return max(score, squeezed)


def match_columns(columns: tuple[GroupColumn, ...], headers: list[str]) -> dict[str, tuple[int, float]]:
    """Each column (by name) to the printed header column (index into ``headers``) it reads like,
    keeping the left-to-right order: the order-preserving assignment of the highest total
    similarity. Columns without a header at least MIN_HEADER_SCORE similar are left out."""
    n, k = len(columns), len(headers)
    score = [[_header_score(c.label, h) for h in headers] for c in columns]
    # best[i][j]: the best total for the first i columns using the first j headers
    best = [[0.0] * (k + 1) for _ in range(n + 1)]
    pick = [[None] * (k + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(k + 1):
            cands = [(best[i - 1][j], ("skip", j))]
            if j:
                cands.append((best[i][j - 1], ("left", j - 1)))
                if score[i - 1][j - 1] >= MIN_HEADER_SCORE:
                    cands.append((best[i - 1][j - 1] + score[i - 1][j - 1], ("take", j - 1)))
            best[i][j], pick[i][j] = max(cands, key=lambda c: c[0])
    out: dict[str, tuple[int, float]] = {}
    i, j = n, k
    while i > 0:
        how, nj = pick[i][j]
        if how == "left":
            j = nj
            continue
        if how == "take":
            out[columns[i - 1].name] = (nj, score[i - 1][nj])
        i, j = i - 1, (nj if how == "take" else j)
    return out


BY_ORDER_SCORE = 0.5  # a column placed by the columns' order, its header unread: doubtful


def _fill_by_order(columns: tuple[GroupColumn, ...], n_headers: int, found: dict[str, tuple[int, float]]) -> set[str]:
    """Columns whose header was not matched (misread by OCR: "T / T" as "IE 1E") but whose place is
    certain by order: as many unmatched columns between two matched ones (or a table edge) as
    unmatched printed columns there. They are added to ``found`` at BY_ORDER_SCORE; their names
    are returned."""
    placed: set[str] = set()
    names = [c.name for c in columns]
    i = 0
    while i < len(names):
        if names[i] in found:
            i += 1
            continue
        k = i
        while k < len(names) and names[k] not in found:
            k += 1
        lo = found[names[i - 1]][0] + 1 if i else 0
        hi = found[names[k]][0] if k < len(names) else n_headers
        if hi - lo == k - i:
            for off, name in enumerate(names[i:k]):
                found[name] = (lo + off, BY_ORDER_SCORE)
                placed.add(name)
        i = k
    return placed


def place_group(blank: Blank, group: GroupSpec) -> list[Placement]:
    """Every cell of a repeated group: the ruled table under the group's label (its rows and
    columns from the printed lines), each column found by its printed header, each body row
    (under the header rows) a row of the group. Raises AuthorError naming the group (or the
    column) when there is no table or a column's header is not printed."""
    label = None
    cands = label_candidates(group.label, blank.words)
    if cands:
        label = max(cands, key=lambda c: c.score)
    y_from = label.box_mm[1] + label.box_mm[3] - 0.5 if label else 0.0
    grid = find_grid(blank.ink, 3.0, blank.width_mm - 3.0, y_from, blank.height_mm - 3.0)
    if grid is None:
        raise AuthorError(f"no ruled table found {'under its label' if label else 'on the page'}", field=group.name,
                          file=blank.source)
    xs, ys = grid.xs, grid.ys

    def inside(w: Word, x0: float, x1: float, y0: float, y1: float) -> bool:
        cx, cy = w.box_mm[0] + w.box_mm[2] / 2, w.cy
        return x0 <= cx <= x1 and y0 <= cy <= y1

    # header rows: the bands from the top holding printed words; the rest are the body rows
    body_from = 1
    while body_from < len(ys) - 1 and any(inside(w, xs[0], xs[-1], ys[body_from - 1], ys[body_from])
                                          for w in blank.words):
        body_from += 1
    if body_from == 1:
        raise AuthorError("the table has no printed column headers", field=group.name, file=blank.source)
    head_y0, head_y1 = ys[0], ys[body_from - 1]
    headers = [" ".join(w.text for w in blank.words if inside(w, xs[i], xs[i + 1], head_y0, head_y1))
               for i in range(len(xs) - 1)]
    found = match_columns(group.columns, headers)
    # OCR misreads a short header ("T / T" as "IE 1E"); a text layer does not: there an unmatched
    # header is another table's
    by_order = _fill_by_order(group.columns, len(headers), found) if blank.from_ocr else set()
    missing = [c.name for c in group.columns if c.name not in found]
    if missing:
        raise AuthorError(f"column header {group.column_label(missing[0])!r} not found in the table's headers "
                          f"({' | '.join(headers)})", field=cell_name(group.name, 1, missing[0]), file=blank.source)
    rows = [(ys[i], ys[i + 1]) for i in range(body_from - 1, len(ys) - 1)]
    like_rows = len(group.rows_mm)
    out = []
    for r, (y0, y1) in enumerate(rows, 1):
        for col in group.columns:
            j, score = found[col.name]
            conf = round(min(1.0, score / SURE_LABEL_SCORE), 3)
            p = Placement(cell_name(group.name, r, col.name), (xs[j], y0, xs[j + 1] - xs[j], y1 - y0), "table",
                          conf, None, notes=[f"row {r} of {len(rows)}, under header {headers[j]!r}"])
            if col.name in by_order:
                p.notes.append(f"its header {col.label!r} was read as {headers[j]!r}: placed by the columns' order")
            if len(rows) != like_rows:
                p.confidence = min(p.confidence, 0.7)
                p.notes.append(f"{len(rows)} rows printed, the like template has {like_rows}")
            out.append(p)
    return out


def _fit(pairs: list[tuple[float, float]]) -> tuple[float, float] | None:
    """new = a·old + b over the pairs, refitted once without pairs more than 2 mm off."""
    if len(pairs) < 4:
        return None
    old, new = (np.array(v, float) for v in zip(*pairs))
    a, b = np.polyfit(old, new, 1)
    keep = np.abs(a * old + b - new) <= 2.0
    if keep.sum() >= 4:
        a, b = np.polyfit(old[keep], new[keep], 1)
    return float(a), float(b)


def _map_unprinted(like: Template, placements: list[Placement]) -> None:
    """Fields with nothing printed to find (placed after a neighbour) keep their neighbour's
    place across; down the page they go where the like template has them, mapped by how this
    print's nearest dotted lines sit relative to the like template's (a scale and an offset fitted
    on the fields found on their dots): a print with looser rows moves the name line under a
    signature down with them."""
    found = [(like.field(p.name).box_mm, p.box_mm) for p in placements if p.method == "dots" and p.box_mm]
    rows = sorted((a[1] + a[3], b[1] + b[3]) for a, b in found)
    if len(rows) < 4:
        return
    for p in placements:
        if p.method != "after_neighbour":
            continue
        x, y, w, h = like.field(p.name).box_mm
        # vertically, only the nearest rows: a line break higher up moves what is under it
        near = sorted(rows, key=lambda r: abs(r[0] - (y + h)))[:8]
        fy = _fit(near) or (1.0, float(np.median([n - o for o, n in near])))
        bottom = fy[0] * (y + h) + fy[1]
        px, _, pw, _ = p.box_mm  # across, where the neighbour it follows is
        p.box_mm = (px, bottom - h, pw, h)
        p.notes = ["label not printed: across as its neighbour, down as this print's nearest dotted lines"]


def _same_line(a: Box, b: Box) -> bool:
    return min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > 0.4 * min(a[3], b[3])


def _previous(like: Template, spec: FieldSpec) -> FieldSpec | None:
    names = [f.name for f in like.fields]
    i = names.index(spec.name)
    return like.fields[i - 1] if i else None


def _place_one(blank: Blank, like: Template, spec: FieldSpec, rel: str, label: LabelMatch | None,
               like_labels: dict[str, Box | None], placed: dict[str, Placement],
               line_starts: list[float]) -> Placement:
    if rel == "right":
        assert label is not None
        if spec.kind == "choice":
            return _place_choice(blank, spec, label)
        return place_right(blank, spec, label, line_starts)
    if rel == "caption":
        assert label is not None
        return place_caption(blank, spec, label)
    if rel == "below":
        assert label is not None
        if spec.cells:
            return _place_comb(blank, spec, label, label.box_mm[0] - 5, blank.width_mm - 5,
                               label.box_mm[1] + label.box_mm[3] - 1, label.box_mm[1] + label.box_mm[3] + 12)
        p = place_below(blank, spec, label.box_mm[1] + label.box_mm[3] - 1.0, label.box_mm[0] - 5, spec.box_mm[3])
        if p is None:
            raise AuthorError("no writing line found under its label", field=spec.name)
        p.label = label
        return p
    if rel == "over":
        assert label is not None
        return place_offset(spec, label, like_labels[spec.name])  # type: ignore[arg-type]
    # the label is not printed: a continuation line, or an area beside its neighbour field
    prev = _previous(like, spec)
    if prev is None or prev.name not in placed or placed[prev.name].box_mm is None:
        raise AuthorError("its label is not printed and it has no placed field before it to follow",
                          field=spec.name)
    anchor = placed[prev.name]
    assert anchor.box_mm is not None
    px, py, pw, ph = prev.box_mm
    if CONTINUATION.search(spec.label) and spec.box_mm[1] >= py + ph - 0.5:
        ax, ay, aw, ah = anchor.box_mm
        p = place_below(blank, spec, ay + ah - 0.5, spec.box_mm[0] - (px - ax) - 3, spec.box_mm[3])
        if p is None:
            raise AuthorError(f"no writing line found under {prev.name}", field=spec.name)
        p.notes.append(f"continues {prev.name}")
        return p
    ax, ay, aw, ah = anchor.box_mm
    x, y, w, h = spec.box_mm
    # keep the like template's offset from the neighbour's box, scaled with its width
    sx = aw / pw if pw else 1.0
    box = (ax + (x - px) * sx, ay + ah + (y - (py + ph)), w * sx, h)
    return Placement(spec.name, box, "after_neighbour", 0.6, None,
                     notes=[f"label not printed: placed as in the like template, from {prev.name}"])


def _place_choice(blank: Blank, spec: FieldSpec, label: LabelMatch) -> Placement:
    options = []
    for opt in spec.options:
        cands = [c for c in label_candidates(opt.label or opt.value, blank.words)
                 if c.box_mm[1] > label.box_mm[1] - 3 and c.box_mm[1] < label.box_mm[1] + 15]
        if not cands:
            raise AuthorError(f"option {opt.value!r} not found near its label", field=spec.name)
        box = find_checkbox(blank.ink, cands[0].box_mm)
        if box is None:
            raise AuthorError(f"no checkbox printed beside option {opt.value!r}", field=spec.name)
        options.append((opt.value, box))
    outline = _union([b for _, b in options])
    return Placement(spec.name, outline, "checkboxes", 0.95, label, options=tuple(options))


def _check_inside(blank: Blank, p: Placement) -> None:
    if p.box_mm is None:
        return
    x, y, w, h = p.box_mm
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > blank.width_mm or y + h > blank.height_mm:
        raise AuthorError(f"placed outside the page at {[round(v, 1) for v in p.box_mm]}", field=p.name,
                          file=blank.source)


# -- the like template's labels, and the result as a template --------------------------------------------

def like_label_boxes(like: Template, words: list[Word] | None) -> dict[str, Box | None]:
    """Where each field's label is printed in the like template: from ``label_at_mm`` for a drawn
    template, else by matching the labels on the words of its own reference print. None for a
    label that is not printed (continuation lines, names under signatures)."""
    if words is None:
        out: dict[str, Box | None] = {}
        for f in like.fields:
            if f.label_at_mm is None:
                out[f.name] = (f.box_mm[0], f.box_mm[1] - 6.0, f.box_mm[2], 5.0) if f.kind == "signature" else None
            else:
                x, y = f.label_at_mm
                out[f.name] = (x, f.box_mm[1], max(1.0, f.box_mm[0] - x - 0.5), f.box_mm[3])
        return out
    ordered = reading_order(words)
    labels = [(f.name, f.label) for f in like.single_fields if not CONTINUATION.search(f.label)]
    matches = match_labels(labels, ordered)
    return {f.name: (matches[f.name].box_mm if f.name in matches else None) for f in like.fields}


def to_template_data(like_data: dict, placements: list[Placement], *, version: str, reference_pdf: str,
                     page: tuple[float, float], title: str | None = None) -> dict:
    """The authored template as YAML-ready data: the like template's fields, checks and exports,
    with the boxes found on the blank, registered against the blank (features, reference print)."""
    by_name = {p.name: p for p in placements}
    fields = []
    for f in like_data["fields"]:
        p = by_name[f["name"]]
        d = {k: v for k, v in f.items() if k not in ("label_at_mm", "box_mm", "cells", "options")}
        d["box_mm"] = [round(float(v), 2) for v in p.box_mm]  # type: ignore[union-attr]
        if p.cells:
            d["cells"] = int(p.cells)
            d.setdefault("draw", "box")
        if p.options:
            d["options"] = [{"value": v, "box_mm": [round(float(c), 2) for c in b]} for v, b in p.options]
        if f.get("draw") == "dots" and p.method not in ("dots", "line_below"):
            d.pop("draw")
        fields.append(_ordered(d))
    reg = dict(like_data.get("registration", {}))
    out = {"name": like_data["name"], "version": version, "title": title or like_data["title"],
           "description": f"Authored by `ocr-service templates author` from {reference_pdf}, like "
                          f"{like_data['name']}@{like_data['version']}.",
           "page": {"width_mm": round(page[0], 2), "height_mm": round(page[1], 2)},
           "reference": {"pdf": reference_pdf, "page": 1},
           "registration": {"method": "features", "max_residual_px": max(8.0, float(reg.get("max_residual_px", 8.0)))},
           "fields": fields}
    groups = [_group_data(g, placements) for g in like_data.get("groups", [])]
    if groups:
        out["groups"] = groups
    for key in ("checks", "context", "household", "reports"):
        if like_data.get(key):
            out[key] = like_data[key]
    return out


def _group_data(g: dict, placements: list[Placement]) -> dict:
    """A like template's group as authored: the printed rows (each row's top and height) and each
    column's left edge and width, from the cells placed on the table."""
    cells = {p.name: p.box_mm for p in placements if p.box_mm is not None and p.name.startswith(g["name"] + ".")}
    first = g["columns"][0]["name"]
    rows, r = [], 1
    while cell_name(g["name"], r, first) in cells:
        _, y, _, h = cells[cell_name(g["name"], r, first)]
        rows.append([round(float(y), 2), round(float(h), 2)])
        r += 1
    d = {k: v for k, v in g.items() if k not in ("rows", "rows_mm", "first_row_mm", "row_pitch_mm", "row_height_mm",
                                                 "columns")}
    d["rows"] = len(rows)
    d["rows_mm"] = rows
    d["columns"] = []
    for c in g["columns"]:
        x, _, w, _ = cells[cell_name(g["name"], 1, c["name"])]
        col = {k: v for k, v in c.items() if k != "x_mm"}
        col["x_mm"] = [round(float(x), 2), round(float(w), 2)]
        d["columns"].append({k: col[k] for k in sorted(col, key=lambda k: _COLUMN_KEYS.index(k)
                                                       if k in _COLUMN_KEYS else 99)})
    return d


_COLUMN_KEYS = ("name", "label", "kind", "x_mm", "required", "row_number", "validators", "vocabulary", "export", "sample")


_KEY_ORDER = ("name", "label", "kind", "box_mm", "cells", "draw", "options", "required", "validators", "vocabulary",
              "export", "sample")


def _ordered(d: dict) -> dict:
    return {k: d[k] for k in sorted(d, key=lambda k: _KEY_ORDER.index(k) if k in _KEY_ORDER else 99)}


def dump_yaml(data: dict, placements: list[Placement]) -> str:
    """The template as YAML text, each field preceded by a comment with its method and confidence."""
    import yaml

    by_name = {p.name: p for p in placements}
    head = {k: v for k, v in data.items() if k not in ("fields", "groups", "checks", "context", "household", "reports")}
    text = ["# Authored from a printed blank; boxes in mm [x, y, width, height]. Re-check an edited copy with",
            "# `ocr-service templates author BLANK --recheck FILE.yaml`.",
            yaml.safe_dump(head, allow_unicode=True, sort_keys=False, width=110).rstrip(), "fields:"]
    for f in data["fields"]:
        p = by_name[f["name"]]
        flag = " DOUBTFUL" if p.doubtful else ""
        notes = f" ({'; '.join(p.notes)})" if p.notes else ""
        text.append(f"# {p.method}, confidence {p.confidence:.2f}{flag}{notes}")
        body = yaml.safe_dump([f], allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
        text.append(body.rstrip())
    if data.get("groups"):
        text.append("groups:")
        for g in data["groups"]:
            cells = [p for p in placements if p.name.startswith(g["name"] + ".")]
            doubtful = [p.name for p in cells if p.doubtful]
            low = min((p.confidence for p in cells), default=0.0)
            text.append(f"# table, {len(cells)} cells placed from the ruled grid, lowest confidence {low:.2f}"
                        + (f" DOUBTFUL: {', '.join(doubtful[:6])}" if doubtful else ""))
            body = yaml.safe_dump([g], allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
            text.append(body.rstrip())
    for key in ("context", "checks", "household", "reports"):
        if key in data:
            text.append(yaml.safe_dump({key: data[key]}, allow_unicode=True, sort_keys=False, width=110,
                                       default_flow_style=None).rstrip())
    return "\n".join(text) + "\n"


def overlay(gray: np.ndarray, px_per_mm: float, placements: list[Placement]) -> np.ndarray:
    """The blank in colour with every placed box and its name drawn over it (green: sure; orange:
    doubtful; comb cells and checkboxes outlined one by one)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", max(10, int(px_per_mm * 2.2)))
    except OSError:
        font = ImageFont.load_default()
    width = max(1, int(px_per_mm * 0.25))
    for p in placements:
        if p.box_mm is None:
            continue
        colour = (220, 120, 0) if p.doubtful else (0, 160, 60)
        x, y, w, h = (v * px_per_mm for v in p.box_mm)
        draw.rectangle([x, y, x + w, y + h], outline=colour, width=width)
        if p.cells:
            for i in range(1, p.cells):
                cx = x + w * i / p.cells
                draw.line([cx, y, cx, y + h], fill=(40, 90, 230), width=width)
        for _, (ox, oy, ow, oh) in p.options:
            draw.rectangle([ox * px_per_mm, oy * px_per_mm, (ox + ow) * px_per_mm, (oy + oh) * px_per_mm],
                           outline=(40, 90, 230), width=width)
        cell = split_cell_name(p.name)  # a table cell: its row and column (the group is the table)
        name = f"{cell[1]}.{cell[2]}" if cell else p.name
        draw.text((x + 2, y + 1), f"{name} {p.confidence:.2f}", fill=(200, 0, 0), font=font)
    return np.asarray(img)


def compare(a: Template, b_fields: dict[str, Box]) -> list[tuple[str, float, float, float, float, float]]:
    """Per field of ``a`` found in ``b_fields``: the offsets (mm) of the left, top, right and bottom
    edges (b minus a) and the largest of them."""
    rows = []
    for f in a.fields:
        if f.name not in b_fields:
            continue
        x, y, w, h = f.box_mm
        bx, by, bw, bh = b_fields[f.name]
        d = (bx - x, by - y, (bx + bw) - (x + w), (by + bh) - (y + h))
        rows.append((f.name, *d, max(abs(v) for v in d)))
    return rows


def with_boxes(template: Template, boxes: dict[str, Box]) -> Template:
    """``template`` with some fields' boxes replaced (plain data; the file is unchanged)."""
    fields = tuple(replace(f, box_mm=boxes[f.name]) if f.name in boxes else f for f in template.fields)
    return replace(template, fields=fields)
