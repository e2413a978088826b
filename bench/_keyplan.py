"""How a person would turn the text in a review input into the right value with the fewest keys, for
bench_review.py's scripted reviewer: edit only the differing words (End/Home, Ctrl+←/→ to reach them,
Ctrl+Backspace or Backspace to remove, then typing), or retype the whole value.

The caret model is Chromium's on Linux, as measured in an <input> (bench_review.py checks every
plan by performing it and reading the value back): Ctrl+← stops at the start of each run of letters
and digits and of each run of punctuation, Ctrl+→ at their ends, Ctrl+Backspace deletes back to where
Ctrl+← would go. Keys are counted as a person presses them: a letter 1 and each Telex mark 1 more
(``telex_keys``); a modifier held over a run of chords once (Ctrl, then ← ← ← is 4 keys).

A plan is a list of steps, each ("press", key, n), ("type", text) or ("pick", j): take the j-th
suggestion of the list open for the part at the caret, staying in the input (Tab takes the first
with none highlighted: 1 key; else j + 1 presses of ↓, then Tab); ``cost`` counts it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

_TOKEN = re.compile(r"\w+|[^\w\s]+")


def telex_keys(text: str) -> int:
    """Keystrokes to type ``text`` with Telex: each letter 1, plus 1 per mark (â ê ô ă ơ ư đ: the
    doubled or w key; a tone: s f r x j); capitals with Caps Lock (no Shift)."""
    n = 0
    for ch in text:
        n += 1
        base = unicodedata.normalize("NFD", ch)
        n += sum(1 for c in base[1:] if unicodedata.combining(c))
        if ch in "đĐ":
            n += 1
    return n


def fold(text: str, lower: bool = True) -> str:
    """``text`` as typed without marks, in lower case unless ``lower`` is False (what a suggestion
    query needs: matching is accent-insensitive): 'Hậu Giang' → 'hau giang'."""
    d = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    out = "".join(c for c in d if not unicodedata.combining(c))
    return out.lower() if lower else out


def back_stops(text: str) -> list[int]:
    """Where Ctrl+← can stop (and Ctrl+Backspace deletes back to), ascending, 0 included."""
    return sorted({0, *(m.start() for m in _TOKEN.finditer(text))})


def fwd_stops(text: str) -> list[int]:
    """Where Ctrl+→ can stop, ascending, the end included."""
    return sorted({len(text), *(m.end() for m in _TOKEN.finditer(text))})


def cost(plan: list[tuple]) -> int:
    """The keystrokes of ``plan``: typed text in Telex keys; pressed keys 1 each, plus 1 for a
    modifier held over consecutive presses with the same modifiers."""
    n, held = 0, None
    for step in plan:
        if step[0] == "pick":
            n += pick_keys(step[1])
            held = None
            continue
        if step[0] == "type":
            n += telex_keys(step[1])
            held = None
            continue
        _, key, times = step
        mods = tuple(key.split("+")[:-1])
        n += times + (len(mods) if mods and mods != held else 0)
        held = mods or None
    return n


def pick_keys(j: int) -> int:
    """Keys to take suggestion ``j`` and stay in the input: Tab alone for the first, else ↓ j + 1
    times and Tab."""
    return 1 if j == 0 else j + 2


def parts(text: str, sep: str) -> list[tuple[int, int]]:
    """The spans of ``text``'s parts: comma-separated (``sep`` ",", each part's spaces around it left
    out) or words (``sep`` " ")."""
    if sep == " ":
        return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    out, start = [], 0
    for piece in text.split(","):
        lead = len(piece) - len(piece.lstrip())
        out.append((start + lead, start + len(piece.rstrip())))
        start += len(piece) + 1
    return out


def moves(text: str, caret: int | None, target: int) -> list[list[tuple]]:
    """Ways to put the caret at ``target`` (``caret`` None: the whole text is selected)."""
    return _moves(text, caret, target)


def deletes(text: str, caret: int, lo: int) -> list[tuple[list[tuple], int]]:
    """Ways to delete back from ``caret`` to at most ``lo``: (steps, where the caret ends)."""
    return _deletes(text, caret, lo)


def _moves(text: str, caret: int | None, target: int) -> list[list[tuple]]:
    """Ways to put the caret at ``target`` in ``text`` (``caret`` None: the whole text is selected)."""
    out = []
    b, f = back_stops(text), fwd_stops(text)
    starts = [("End", len(text)), ("Home", 0)] if caret is None else [(None, caret), ("End", len(text)), ("Home", 0)]
    for key, pos in starts:
        head = [("press", key, 1)] if key else []
        if pos == target:
            out.append(head)
            continue
        if pos > target:
            n = sum(1 for s in b if target <= s < pos)
            if target in b:
                out.append(head + [("press", "Control+ArrowLeft", n)])
            if pos - target <= 4:
                out.append(head + [("press", "ArrowLeft", pos - target)])
        else:
            n = sum(1 for s in f if pos < s <= target)
            if target in f:
                out.append(head + [("press", "Control+ArrowRight", n)])
            if target - pos <= 4:
                out.append(head + [("press", "ArrowRight", target - pos)])
    return out


def _deletes(text: str, caret: int, lo: int) -> list[tuple[list[tuple], int]]:
    """Ways to delete back from ``caret`` to at most ``lo`` (Ctrl+Backspace to word stops, Backspace
    to characters): (steps, where the caret ends)."""
    out = [([("press", "Backspace", caret - lo)] if caret > lo else [], lo)]
    b = back_stops(text)
    pos, n = caret, 0
    while pos > 0:
        pos = max(s for s in b if s < pos)
        n += 1
        if pos <= lo:
            out.append(([("press", "Control+Backspace", n)], pos))
            break
        if pos - lo <= 3:
            out.append(([("press", "Control+Backspace", n), ("press", "Backspace", pos - lo)], lo))
    return out


def _hunks(src: str, dst: str) -> list[tuple[int, int, int, int]]:
    ops = difflib.SequenceMatcher(None, src, dst, autojunk=False).get_opcodes()
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in ops if tag != "equal"]


def _groupings(hunks: list[tuple]) -> list[list[tuple]]:
    """Candidate ways to edit the hunks: all as one region, and regions merged across equal gaps
    shorter than a few limits (a person retypes a short right part rather than move around it)."""
    out = []
    for gap in (0, 2, 4, 8, 16, 10**9):
        groups = []
        for h in hunks:
            if groups and h[0] - groups[-1][1] <= gap:
                g = groups[-1]
                groups[-1] = (g[0], h[1], g[2], h[3])
            else:
                groups.append(h)
        if groups not in out:
            out.append(groups)
    return out


def edit_plan(src: str, dst: str) -> list[tuple] | None:
    """The cheapest word edit turning ``src`` (all selected, as a row's value is when it gets the
    focus) into ``dst``, region by region from the right; None when there is nothing to keep."""
    hunks = _hunks(src, dst)
    if not hunks:
        return []
    best = None
    for groups in _groupings(hunks):
        text, caret, plan, ok, limit = src, None, [], True, len(src)
        for i1, i2, j1, j2 in reversed(groups):  # right to left: what lies left of an edit stays put
            options = []
            # the caret goes to the region's end, or to the next stop after it (the equal letters
            # between are deleted and typed again), never into what was edited already
            ends = {i2} | {min([s for s in stops if s >= i2], default=i2) for stops in (back_stops(text), fwd_stops(text))}
            for c in sorted(e for e in ends if e <= limit):
                for mv in _moves(text, caret, c):
                    for dl, at in _deletes(text, c, i1):
                        typed = dst[j1 - (i1 - at):j2 + (c - i2)]
                        options.append((cost(mv + dl + [("type", typed)]), mv, dl, at, typed, c))
            if not options:
                ok = False
                break
            _, mv, dl, at, typed, c = min(options, key=lambda o: o[0])
            plan += mv + dl + ([("type", typed)] if typed else [])
            text = text[:at] + typed + text[c:]
            caret, limit = at + len(typed), at
        if ok and text == dst and (best is None or cost(plan) < cost(best)):
            best = plan
    return best


def simulate(src: str, plan: list[tuple]) -> str:
    """``plan`` applied to ``src`` (all selected) by the caret model above, for checking a plan."""
    return simulate_caret(src, plan)[0]


def simulate_caret(src: str, plan: list[tuple]) -> tuple[str, int]:
    """``plan`` applied to ``src``: the text and where the caret ends (the start of a selection),
    which decides the part a suggestion list is for."""
    text, lo, hi = src, 0, len(src)
    for step in plan:
        if step[0] == "type":
            text = text[:lo] + step[1] + text[hi:]
            lo = hi = lo + len(step[1])
            continue
        _, key, times = step
        for _ in range(times):
            if key == "End":
                lo = hi = len(text)
            elif key == "Home":
                lo = hi = 0
            elif key == "ArrowLeft":
                lo = hi = lo - 1 if lo == hi else lo
            elif key == "ArrowRight":
                lo = hi = hi + 1 if lo == hi else hi
            elif key == "Control+ArrowLeft":
                lo = hi = max([s for s in back_stops(text) if s < lo], default=0)
            elif key == "Control+ArrowRight":
                lo = hi = min([s for s in fwd_stops(text) if s > hi], default=len(text))
            elif key == "Backspace":
                if lo == hi and lo > 0:
                    lo -= 1
                text, hi = text[:lo] + text[hi:], lo
            elif key == "Control+Backspace":
                if lo == hi:
                    lo = max([s for s in back_stops(text) if s < lo], default=0)
                text, hi = text[:lo] + text[hi:], lo
            else:
                raise ValueError(key)
    return text, lo


def regions(plan: list[tuple]) -> int:
    """How many separate places ``plan`` edits (each reached by its own caret movement)."""
    n, moved = 0, True
    for step in plan:
        edit = step[0] in ("type", "pick") or step[1] in ("Backspace", "Control+Backspace")
        if edit and moved:
            n += 1
        moved = not edit and step[1] != "F2"
    return n
