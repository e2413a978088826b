"""The review station: page response with 100,000 fields queued, a scripted reviewer clearing
generated handwriting sheets in the browser, and the sheets per operator-hour a keystroke-level
model implies.

    .venv/bin/python bench/bench_review.py [--fields 100000] [--reviewers 10] [--rounds 3]
                                           [--sheets 10] [--engines cascade] [--json FILE]

(a) A fresh SQLite store is filled without OCR (``bench_store.fill``: DC01's 46 fields per sheet,
    25% needing review, so ~8,700 sheets give 100,000 queued fields; 2% of the auto-accepted ones
    marked as pending QA samples). A real ``ocr-service serve`` on loopback; ``--reviewers`` logged-in
    reviewers each, ``--rounds`` times, claim a group (GET /review/group) and decide every row (POST
    /review/fields/{id}); a supervisor opens /supervisor; a reviewer opens a sheet. p50/p99 per page.
(b) ``--sheets`` handwriting sheets are generated (``synth.fill``), ingested with ``--engines`` (real
    OCR), served, and a scripted reviewer in Chromium (Playwright, /usr/bin/chromium) clears every
    review field in group mode with the keyboard only, knowing the truth: Enter when the shown value
    is right; else (``--reviewer cheapest``, the default) the cheapest of F2 to a right candidate, F3
    to the value accepted in the row above when it is right (a household's sheets repeat it), a
    suggestion (a prefix typed, accent-free, until the list holds the right value, ↓ to it, Enter), a
    word edit of the shown value or of a value F2 or F3 brings (End/Home, Ctrl+←/→, Ctrl+Backspace/Backspace,
    the new letters typed; ``_keyplan.py``), retyping whole, and for an address or a name (completed
    where the caret is, part by part or word by word): the value composed from the lists (each
    part's prefix typed, or nothing after a comma, ↓ to the suggestion, Tab takes it and stays; a
    suggestion may complete the next parts too, a commune's district and province, or open the
    part, a hamlet's or a street's word, the rest typed after it), its
    first parts kept by a word edit and the rest composed, or its wrong parts fixed in place from the
    lists, right to left (each deleted back to its start, a word stop or a few letters, the rest of a
    prefix typed, the suggestion taken). Every plan is performed key by key
    and the input (or the highlighted suggestion) read back before Enter; a plan that does not give
    the right value is redone by select-all and retyping, its keys counted too. ``--reviewer
    retype``: the policy before, F2 when a candidate is right, else retype. Keystrokes are counted
    two ways: what the page counted and stored on each decision's audit event (Playwright types
    non-ASCII letters as text without key events, so this undercounts Vietnamese letters; a Ctrl
    chord is two key presses there), and the keystrokes a person would press (Telex: a letter 1,
    each diacritic mark 1 more, e.g. ễ = e e x; names typed with Caps Lock; a modifier held over a
    run of chords once). Review fields per sheet are counted from the store. ``--ingested DIR`` keeps
    the ingested sheets and reviews a copy of them on later runs (the same sheets, the reviewer
    changed).
(c) The keystroke-level model (Card, Moran & Newell, "The keystroke-level model for user performance
    time with interactive systems", CACM 23(7), 1980): K = 0.20 s per keystroke (average skilled
    typist, 55 wpm), M = 1.35 s of mental preparation per decision, plus R, the measured wait for a
    new group page, once per group. Time per sheet = review fields × M + keystrokes × K +
    R × groups per sheet (full groups of 20 in a batch of hundreds of sheets; the few sheets of (b)
    make smaller groups, counted as measured), at the straight-through rates measured in (b) and in
    docs/accuracy.md. One M per field charges nothing for finding the wrong words of a long value:
    a second row adds one M for every edit region after a correction's first.

All data is synthetic. Results are printed (and written with ``--json``); docs/benchmarks.md has them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from _keyplan import back_stops, cost, deletes, edit_plan, fold, moves, parts, pick_keys, regions, simulate_caret, telex_keys

# the suggestion list shown answers the focused input's text and caret as they are
ANSWERED = ("() => { const l = document.getElementById('suggest'), i = document.activeElement;"
            " return !!(l && !l.hidden && i && l.dataset.q === i.value && +l.dataset.at === i.selectionStart); }")
K_S, M_S = 0.20, 1.35  # KLM operator times (Card, Moran & Newell 1980)
FIELDS_PER_SHEET = 46  # DC01 (templates/dc01/tt66-2015.yaml)
QA_RATE = 0.02
PASSWORD = "bench-password-0123"
ROW = re.compile(r'<form class="row.*?</form>', re.DOTALL)
ROW_ID = re.compile(r'id="row-(\d+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ACCURACY_DOC = Path(__file__).resolve().parent.parent / "docs" / "accuracy.md"


def accuracy_rates() -> dict[str, tuple[float, float]]:
    """Straight-through and exact after validation over all fields, Tesseract alone and the cascade,
    on DC01's held-out hands: the first "**all**" row of docs/accuracy.md (read, not copied, so it
    follows each refit)."""
    row = next(line for line in ACCURACY_DOC.read_text(encoding="utf-8").splitlines()
               if line.startswith("| **all** |"))
    cells = [c.strip().rstrip("%") for c in row.strip("|").split("|")]
    tess_exact, tess_st, casc_exact, casc_st = (float(cells[i]) / 100 for i in (2, 3, 6, 7))
    return {"Tesseract alone, held-out hands": (tess_st, tess_exact),
            "cascade, held-out hands": (casc_st, casc_exact)}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"n": len(xs), "p50_ms": round(statistics.median(xs), 1),
            "p99_ms": round(xs[min(len(xs) - 1, math.ceil(0.99 * len(xs)) - 1)], 1)}


def login(client, username: str) -> str:
    page = client.get("/login")
    res = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": CSRF.search(page.text)
                                      .group(1), "next": "/review/group"}, follow_redirects=False)
    assert res.status_code == 303, res.text[:300]
    return CSRF.search(client.get("/review/sheets/1").text).group(1)


def add_users(store, names: list[tuple[str, str]]) -> None:
    from ocr_service.service import auth

    with store.session() as s:
        for name, role in names:
            auth.add_user(s, name, PASSWORD, role=role, actor="bench")


# -- (a) page response with the queue full --------------------------------------------------------

def part_a(n_fields: int, reviewers: int, rounds: int) -> dict:
    import bench_store
    import httpx
    from serve_helpers import running_serve

    from ocr_service.service.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench-review-a-"))
    data = tmp / "data"
    store = open_store(None, data, create=True)
    sheets = math.ceil(n_fields / (FIELDS_PER_SHEET * bench_store.REVIEW_SHARE))
    log(f"(a) filling {sheets:,} sheets")
    fill_s = bench_store.fill(store, sheets)
    with store.engine.begin() as c:
        c.exec_driver_sql(f"UPDATE fields SET qa_state='pending' WHERE status='auto_accepted' AND id % {round(1 / QA_RATE)} = 0")
        queued = c.exec_driver_sql("SELECT count(*) FROM fields WHERE status='needs_review' OR qa_state='pending'").scalar()
        total = c.exec_driver_sql("SELECT count(*) FROM fields").scalar()
    names = [(f"r{i:02d}", "reviewer") for i in range(reviewers)] + [("sup", "supervisor")]
    add_users(store, names)
    store.close()
    log(f"(a) {queued:,} fields queued of {total:,}; serving")
    times: dict[str, list[float]] = {"GET /review/group (claim a group of 20)": [],
                                     "POST /review/fields/{id} (one decision)": [],
                                     "GET /review/sheets/{id} (sheet view)": [],
                                     "GET /supervisor (QA, queue views, statistics)": []}
    keys = list(times)

    def timed(key, fn):
        t0 = time.perf_counter()
        r = fn()
        times[key].append(1000 * (time.perf_counter() - t0))
        assert r.status_code in (200, 303), (key, r.status_code, r.text[:300])
        return r

    with running_serve(tmp, data, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_WORKERS="1") as url:
        clients = []
        for name, _ in names:
            c = httpx.Client(base_url=url, timeout=60)
            clients.append((name, c, login(c, name)))
        sup = clients[-1]
        for rnd in range(rounds):
            for name, c, csrf in clients[:-1]:
                page = timed(keys[0], lambda: c.post("/review/group", data={"csrf_token": csrf}))
                rows = ROW.findall(page.text)
                assert rows, "the queue ran dry"
                for row in rows:
                    fid, version = ROW_ID.search(row).group(1), VERSION.search(row).group(1)
                    timed(keys[1], lambda: c.post(f"/review/fields/{fid}", data={
                        "csrf_token": csrf, "version": version, "action": "accept", "value": "X", "keys": "1"}))
                sheet = re.search(r'data-sheet-url="(/review/sheets/\d+)"', rows[0]).group(1)
                timed(keys[2], lambda: c.get(sheet))
            for _ in range(3):
                timed(keys[3], lambda: sup[1].get("/supervisor"))
            log(f"(a) round {rnd + 1}/{rounds}")
        for _, c, _ in clients:
            c.close()
    shutil.rmtree(tmp, ignore_errors=True)  # the store of 100,000 fields
    return {"queued_fields": queued, "fields": total, "sheets": sheets, "fill_s": round(fill_s, 1),
            "reviewers": reviewers, "rounds": rounds, "pages": {k: pct(v) for k, v in times.items()}}


# -- (b) a scripted reviewer in the browser --------------------------------------------------------

NOTHING_SAVING = "() => !document.querySelector('form.row[data-state=\"saving\"]')"
# What the page's Ctrl+Enter confirms with the focused row (static/review.js, shownBelow), as
# [field id, value shown]
SHOWN_BELOW = ("() => window.GroupReview.shownBelow(document.activeElement.form)"
               ".map(f => [f.dataset.field, f.querySelector('input.value').value])")


def part_b(n_sheets: int, engines: str, seed: int, hands: str = "any", ingested: Path | None = None,
           reviewer: str = "cheapest", households: bool = False, row_by_row: bool = False) -> dict:
    import subprocess

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    from serve_helpers import running_serve
    from sqlalchemy import select

    from ocr_service.forms import loader
    from ocr_service.service.store import open_store
    from ocr_service.service.store.models import (
        AuditEvent,
        FieldRow,
        PageRow,
        Sheet,
        SourceFile,
    )
    from ocr_service.calibration import is_correct
    from ocr_service.calibration.labels import truth_context
    from ocr_service.synth import fill
    from ocr_service.vietnamese.text import clean, entered, match_key

    tmp = Path(tempfile.mkdtemp(prefix="bench-review-b-"))
    scans, data = tmp / "scans", tmp / "data"
    template = loader.load("dc01")
    from ocr_service.synth import fonts

    made = ingested / "made.json" if ingested else None
    want_made = {"sheets": n_sheets, "engines": engines, "seed": seed, "hands": hands}
    if households:
        want_made["households"] = True
    ingest_s = None
    if made and made.is_file() and json.loads(made.read_text()).get("made") == want_made:
        # the same sheets, already generated and ingested: review a fresh copy of that store
        log(f"(b) reusing the sheets ingested in {ingested}")
        shutil.copytree(ingested / "scans", scans)
        shutil.copytree(ingested / "data", data)
        ingest_s = json.loads(made.read_text()).get("ingest_s")
    else:
        log(f"(b) generating {n_sheets} handwriting sheets ({hands} hands)")
        if hands == "held-out":  # the hands no calibration saw, with varied writers and scan profiles
            others = {f.family for f in fonts.list_fonts("handwriting")} - fonts.held_out_families()
            fill.generate(template, n_sheets, seed, scans, style="handwriting", formats=("jpg",), hand_mode="varied",
                          scan_profile="mixed", exclude_fonts=others, households=households)
        else:
            fill.generate(template, n_sheets, seed, scans, style="handwriting", formats=("jpg",), households=households)
        env = {**os.environ, "PYTHONPATH": str(REPO), "OCR_SERVICE_DATA_DIR": str(data),
               "OCR_SERVICE_QA_SAMPLE_RATE": str(QA_RATE)}
        log(f"(b) ingesting with --engines {engines}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ocr_service.cli", "ingest", str(scans), "--batch", "hw", "--template",
                        "dc01", "--engines", engines, "--workers", "1", "--no-progress"], env=env, check=False,
                       stdout=subprocess.DEVNULL)
        ingest_s = round(time.perf_counter() - t0, 1)
        if ingested:  # kept, before any review, for --ingested runs to come
            if ingested.exists():
                shutil.rmtree(ingested)
            shutil.copytree(scans, ingested / "scans")
            shutil.copytree(data, ingested / "data")
            made.write_text(json.dumps({"made": want_made, "ingest_s": ingest_s}))
    truth = {json.loads(line)["file"]: json.loads(line)["fields"]
             for line in (scans / "truth.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()}
    store = open_store(None, data)
    add_users(store, [("hw-reviewer", "reviewer")])
    answers: dict[int, str] = {}
    judged: dict[int, tuple] = {}  # the field's spec and its sheet's validator context (is_correct)
    seps: dict[int, str] = {}  # a field completed part by part: "," an address, " " a name
    from ocr_service.vietnamese import suggest as vsuggest

    specs = {f.name: vsuggest.source_for(f.vocabulary, f.validators) for f in template.fields}
    with store.session(write=False) as s:
        q = (select(FieldRow, SourceFile.original_name).join(Sheet, Sheet.id == FieldRow.sheet_id)
             .join(PageRow, PageRow.id == Sheet.page_id).join(SourceFile, SourceFile.id == PageRow.file_id))
        per_sheet: dict[int, int] = {}
        everything = [f for f, _ in s.execute(q)]
        n_sheets_read = len({f.sheet_id for f in everything})
        n_auto = sum(1 for f in everything if f.status == "auto_accepted")
        contexts = {name: truth_context(template, fields) for name, fields in truth.items()}
        for f, name in s.execute(q.where((FieldRow.status == "needs_review") | (FieldRow.qa_state == "pending"))):
            answers[f.id] = clean(truth[name].get(f.name, ""))
            judged[f.id] = (template.field(f.name), contexts[name])
            seps[f.id] = {vsuggest.ADDRESS: ",", vsuggest.NAME: " "}.get(specs.get(f.name), "")
            per_sheet[f.sheet_id] = per_sheet.get(f.sheet_id, 0) + 1
    store.close()
    review_fields = len(answers)
    log(f"(b) {n_sheets_read} sheets read, {review_fields} fields to review; the scripted reviewer starts")
    telex = wrong_shown = corr_keys = confirmed_with = 0
    by_method: dict[str, list[int]] = {}  # method: [corrections, keys, edit regions after each one's first]
    failed_plans: list[tuple[str, int]] = []
    corrections: list[dict] = []  # each correction's method, keys and plan (synthetic values), for --json

    def right(value: str, want: str, fid: int) -> bool:
        # right as the accuracy figures count it (calibration.is_correct): what was written, or the
        # value the pipeline stores for it (a vocabulary's canonical entry, "Triệu Phong" for a
        # written "Huyện Triệu Phong"; a normalized date), as it is saved (``entered``: the
        # separator a suggestion leaves at the end dropped)
        spec, ctx = judged[fid]
        return is_correct(spec, entered(value), want, ctx)

    def starts(shown: str, choices: list[str], above: str | None = None) -> list[tuple[list, str]]:
        """(keys, value) for what the input can show before anything is typed: the value as shown,
        what F2 shows after 1, 2 … presses (the page steps through data-choices), and what F3
        brings (``above``: the value accepted in the row above, None when there is none)."""
        out = [([], shown)]
        if choices:
            here = choices.index(shown) if shown in choices else -1
            out += [([("press", "F2", k)], choices[(here + k) % len(choices)]) for k in range(1, len(choices))]
        if above is not None and above not in (v for _, v in out):
            out.append(([("press", "F3", 1)], above))
        return out

    def retype(want: str) -> list[tuple]:
        return [("type", want)] if want else [("press", "Backspace", 1)]

    def retype_plan(fid, shown, want, choices):
        """The reviewer before this change: F2 until a candidate is right if one is, else retype whole."""
        for keys, start in starts(shown, choices)[1:]:
            if right(start, want, fid):
                return "F2", keys, None
        return "retype", retype(want), None

    def cheapest(fid, shown, want, choices, suggestible, above):
        """The cheapest of: F2 to a right candidate, or F3 to the value accepted in the row above; a
        suggestion (a prefix typed, or the address's last part after a word edit, then ↓ to it); a
        word edit of the shown value or of a value F2 or F3 brings; retyping whole. (method, plan,
        (typed text, suggestion index) or None)."""
        options = [(cost(retype(want)), "retype", retype(want), None)]
        for f2, start in starts(shown, choices, above):
            if right(start, want, fid):
                options.append((cost(f2), f2[0][1] if f2 else "F2", f2, None))
                continue
            plan = edit_plan(start, want)
            if plan:
                options.append((cost(f2 + plan), "word edit", f2 + plan, None))
        if suggestible and want:
            best = min(o[0] for o in options)
            head, sep, last = want.rpartition(",")
            # what is typed before the prefix (an address keeps its earlier parts), and what the
            # prefix is taken from: the value, or the part from any of its words on (the lists match
            # a word's start too: "mong" → HMông)
            # (or, for an address, a prefix of the whole value: one settled elsewhere on the sheet)
            ways_in = [("", want)] + ([(head.strip() + ", ", last.strip())] if sep and head.strip() else [])
            for keep, tail, w in ((k, t, w) for k, t in ways_in
                                  for w in sorted({0, *(m.start() for m in re.finditer(r"(?<=\s)\S", t))})
                                  if not (k == "" and sep and w)):
                folded = fold(tail[w:])
                for n in range(1, len(folded) + 1):
                    typed = keep + folded[:n]
                    # the list is for the part at the caret: only plans leaving it after the prefix
                    # (an edit ends in its leftmost region) complete the last part (F2 selects all)
                    ways = [(cost(retype(typed)), retype(typed))]
                    for f2, start in starts(shown, choices, above):
                        plan = edit_plan(start, typed) if keep else None
                        if plan and simulate_caret(start, plan)[1] == len(typed):
                            ways.append((cost(f2 + plan), f2 + plan))
                    reach, plan = min(ways, key=lambda x: x[0])
                    if reach + 2 >= best:  # (+ one ↓ and Enter at the least): longer prefixes cost more
                        break
                    got = page.request.get(f"{url}/review/suggest", params={"field": str(fid), "q": typed}).json()
                    hit = [j for j, it in enumerate(got["items"]) if right(it["value"], want, fid)]
                    if hit and reach + hit[0] + 2 < best:
                        best = reach + hit[0] + 2
                        options.append((best - 1, "suggestion", plan, (typed, hit[0])))
        if suggestible and want and seps.get(fid):
            options += by_parts(fid, shown, want, choices, above, seps[fid], min(o[0] for o in options))
        _, method, plan, pick = min(options, key=lambda o: o[0])
        return method, plan, pick

    def ask(fid, text, at):
        return page.request.get(f"{url}/review/suggest", params={"field": str(fid), "q": text, "at": str(at)}
                                ).json()["items"]

    def same_part(got: str, goal: str, sep: str) -> bool:
        return got == goal if sep == " " else match_key(got) == match_key(goal)  # a name's case too

    def complete(fid, text, a, goal, sep, i, base_cost, budget, kept="", deleted=False, more=()):
        """The cheapest way to complete part ``i`` of ``text`` to ``goal`` from the list, the caret at
        ``a`` after ``kept`` (what is left of the part; ``deleted``: a key just deleted something,
        so the list is already asked for): the rest of a prefix typed (of the part or from one of
        its words; nothing typed after a comma or a deletion), then the suggestion taken with Tab;
        or a suggestion that opens the part (a hamlet's or a street's word: "Tổ dân phố "), the rest
        typed after it; or, with ``more`` (the goals of the parts after it), one that completes this
        part and the next ones at once (a commune's district and province). (cost, steps, new
        text, caret, parts completed) or None."""
        best = None

        def covered(it) -> int:
            """How many parts from ``i`` on suggestion ``it`` completes (0: none), its caret at the end
            of the last (a whole value taken from the sheet's other fields leaves the caret at its
            end, which completes this part only if it is the last)."""
            v, spans = it["value"], parts(it["value"], sep)
            for m, g in enumerate([goal, *more]):
                if len(spans) <= i + m or not same_part(v[slice(*spans[i + m])], g, sep):
                    return 0
                end = spans[i + m][1]
                # (or at the end, after the separator the list adds when nothing follows)
                if it["caret"] in (None, end) or (it["caret"] == len(v) and not v[end:].strip(", ")):
                    return m + 1
            return 0

        def opening(it) -> str | None:
            """The rest of ``goal`` to type after suggestion ``it`` when it is the goal's first words
            with the caret after them (and after a space it adds), else None."""
            spans = parts(it["value"], sep)
            if sep != "," or len(spans) <= i or it["caret"] is None:
                return None
            lo, hi = spans[i]
            head = it["value"][lo:it["caret"]]
            if it["caret"] < hi or not goal.startswith(head) or not head.strip() or len(head) >= len(goal):
                return None
            return goal[len(head):] if head.endswith(" ") or goal[len(head)] == " " else None
        kf = fold(kept)
        starts = sorted({0, *(m.start() for m in re.finditer(r"(?<=\s)\S", goal))})[:3]
        for w in starts:
            folded = fold(goal[w:], lower=sep != " ")
            if not folded.lower().startswith(kf) or (kept and len(folded) <= len(kf)):
                continue
            rest = folded[len(kf):]
            for n in range(0 if deleted or (w == 0 and sep == "," and i and not kept) else 1, len(rest) + 1):
                typed = rest[:n]
                c = base_cost + telex_keys(typed)
                if c + 1 >= min(budget, best[0] if best else budget):
                    break
                q = text[:a] + typed + text[a:]
                items = ask(fid, q, a + len(typed))
                lead = [("type", typed)] if typed else []
                whole_part = False  # a suggestion completes the part: a longer prefix costs more
                for j, it in enumerate(items):
                    n_parts, tail = covered(it), opening(it)
                    if n_parts:
                        whole_part = True
                        # the most parts for the least keys: one completing more is worth the keys
                        # of the commas and picks it saves
                        got = (c + pick_keys(j), lead + [("pick", j)], it["value"], it["caret"], n_parts)
                    elif tail is not None:
                        v, at = it["value"], it["caret"]
                        got = (c + pick_keys(j) + telex_keys(tail), lead + [("pick", j), ("type", tail)],
                               v[:at] + tail + v[at:], at + len(tail), 1)
                    else:
                        continue
                    if best is None or got[0] - 3 * got[4] < best[0] - 3 * best[4]:
                        best = got
                if whole_part:
                    break
        return best

    def by_parts(fid, shown, want, choices, above, sep, budget):
        """Options that complete parts from the list where the caret is (an address's comma-separated
        parts, a name's words), taking each suggestion with Tab and going on: (1) the value composed
        part by part, left to right (each list fits the parts before it), from nothing or after its
        first parts kept by a word edit of the shown value or of a candidate; (2) the shown
        value, or a candidate F2 brings, with its wrong parts fixed right to left (each wrong part
        deleted and completed, or word-edited, whichever is cheaper; the lists fit the parts
        around it)."""
        out = []
        goals = [want[a:b] for a, b in parts(want, sep)]
        typed_sep = ", " if sep == "," else " "
        # (1) composed: the first parts kept (a word edit of the shown value or of a candidate,
        # leaving the caret at their end) or none, the rest part by part
        spans = parts(want, sep)
        for i0 in range(len(goals)):
            head = want[:spans[i0 - 1][1]] if i0 else ""
            ways = [(0, [])] if not i0 else [(telex_keys(head), [("type", head)])]
            for f2, start in starts(shown, choices, above) if i0 else []:
                ep = edit_plan(start, head)
                if ep is not None:  # (an edit ends in its leftmost region: End, if so, to go on after it)
                    if simulate_caret(start, ep)[1] != len(head):
                        ep = ep + [("press", "End", 1)]
                    ways.append((cost(f2 + ep), f2 + ep))
            total, plan = min(ways, key=lambda w: w[0])
            if i0 and plan == [("type", head)]:
                continue  # typing the first parts whole: the composition from nothing covers it
            text, i = head, i0
            while i < len(goals):
                goal = goals[i]
                # the separator, unless the suggestion taken for the part before added it
                sep_now = typed_sep if i and not text.endswith(typed_sep) else ""
                lead = [("type", sep_now)] if sep_now else []
                at_head = text + sep_now
                total += telex_keys(sep_now)
                whole = (telex_keys(goal), [("type", goal)], at_head + goal, None, 1)
                # (what a pick completing the next parts too saves: their separators and picks)
                got = complete(fid, at_head, len(at_head), goal, sep, i, 0, whole[0] + 3 * (len(goals) - i - 1),
                               more=goals[i + 1:])
                c, steps, text, _, done = got if got and got[0] - 3 * got[4] < whole[0] - 3 else whole
                total += c
                plan = plan + lead + steps
                i += done
                if total >= budget:
                    break
            else:
                out.append((total, "parts composed" if not i0 else "parts kept, the rest composed", plan))
        # (2) fixed in place
        for f2, start in starts(shown, choices, above):
            if len(parts(start, sep)) != len(goals):
                continue
            text, caret, plan = start, None, list(f2)
            for i in reversed(range(len(goals))):
                a, b = parts(text, sep)[i]
                if same_part(text[a:b], goals[i], sep):
                    continue
                fixed = text[:a] + goals[i] + text[b:]
                ep = edit_plan(text, fixed)
                opts = [(cost(ep), ep, fixed, None)] if ep is not None else []
                mv = min(moves(text, caret, b), key=cost, default=None)
                # the part deleted back to its start, or to a word stop in it, or by 1-3 letters:
                # what is left of it starts the query
                for lo in sorted({a, *(x for x in back_stops(text) if a < x < b), *(x for x in (b - 1, b - 2, b - 3) if x > a)}):
                    dl = min((d for d, at in deletes(text, b, lo) if at == lo), key=cost, default=None)
                    if mv is None or dl is None:
                        continue
                    got = complete(fid, text[:lo] + text[b:], lo, goals[i], sep, i, cost(mv + dl),
                                   min([o[0] for o in opts] + [budget]), kept=text[a:lo], deleted=bool(dl))
                    if got:
                        opts.append((got[0], mv + dl + got[1], got[2], got[3]))
                if not opts:
                    plan = None
                    break
                _, steps, text, caret = min(opts, key=lambda o: o[0])
                plan += steps
                if cost(plan) >= budget:
                    plan = None
                    break
            if plan and right(text, want, fid):
                out.append((cost(plan), "parts fixed", plan))
        # a last pick with ↓ pressed is taken by the Enter that confirms (one key less than Tab, Enter)
        done = []
        for c, method, plan in out:
            if plan and plan[-1][0] == "pick" and plan[-1][1] > 0:
                done.append((c - 1, method, plan[:-1], ("", plan[-1][1])))
            else:
                done.append((c, method, plan, None))
        return done

    with running_serve(tmp, data, OCR_SERVICE_ENGINES="fake", OCR_SERVICE_WORKERS="1",
                       OCR_SERVICE_QA_REVIEW_RATE="0") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url + "/review/group")
        page.fill("#username", "hw-reviewer")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/review/group")
        t_start = time.perf_counter()
        groups = 0
        while page.locator("#empty").count() == 0:
            if page.locator("#claim-button").count():  # the claim page: Enter claims the next group (a POST)
                with page.expect_navigation(timeout=30_000):
                    page.keyboard.press("Enter")
                continue
            groups += 1
            n = page.locator('form.row[data-state="pending"]').count()
            if n == 0:
                raise RuntimeError(f"the group page shows no pending row and no 'empty' notice: {page.url}")

            def enter(last: bool, key: str = "Enter") -> None:
                if not last:
                    page.keyboard.press(key)
                    return
                # the last row's save claims the next group (a POST the page submits by itself):
                # wait until other rows, or the 'empty' notice, are shown
                before = page.evaluate("Array.from(document.querySelectorAll('form.row')).map(f => f.id).join()")
                page.keyboard.press(key)
                deadline = time.perf_counter() + 30
                while time.perf_counter() < deadline:
                    try:
                        page.wait_for_load_state("load")
                        now = page.evaluate("document.getElementById('empty') ? '#empty' : "
                                            "Array.from(document.querySelectorAll('form.row')).map(f => f.id).join()")
                        if now != before and (now == "#empty" or now):
                            return
                    except Exception:  # the page is navigating: its context is replaced
                        pass
                    time.sleep(0.1)
                raise RuntimeError("the next group did not load after the last row was saved")

            while True:
                left = page.locator('form.row[data-state="pending"]').count()
                last = left == 1
                active = page.evaluate("document.activeElement && document.activeElement.form ? "
                                       "[document.activeElement.form.dataset.field, document.activeElement.value, "
                                       "document.activeElement.dataset.choices, "
                                       "document.activeElement.form.dataset.suggest, "
                                       "window.GroupReview.above(document.activeElement.form)] : null")
                assert active, "no row has the focus"
                fid, shown, choices = int(active[0]), active[1], json.loads(active[2] or "[]")
                want = answers[fid]
                if right(shown, want, fid):
                    # the rows on screen below are all right too: Ctrl+Enter confirms them with this one
                    # (2 keys; worth it from 2 rows below on)
                    below = []
                    if not (row_by_row or last):
                        # the rows saved before are answered first: their answers change the layout,
                        # and with it which rows are on screen
                        page.wait_for_function(NOTHING_SAVING, timeout=30_000)
                        below = page.evaluate(SHOWN_BELOW)
                    if len(below) >= 2 and all(right(v, answers[int(f)], int(f)) for f, v in below):
                        all_left = len(below) == left - 1
                        enter(all_left, "Control+Enter")
                        telex += 2
                        confirmed_with += len(below)
                        if all_left:
                            break
                        continue
                    enter(last)
                    telex += 1
                    if last:
                        break
                    continue
                wrong_shown += 1
                if reviewer == "retype":
                    method, plan, pick = retype_plan(fid, shown, want, choices)
                else:
                    method, plan, pick = cheapest(fid, shown, want, choices, active[3] == "1", active[4])
                keys = cost(plan) + 1  # + Enter
                broken = False
                for step in plan:
                    if step[0] == "type":
                        page.keyboard.type(step[1])
                    elif step[0] == "pick":  # the list answering the text and caret: ↓ to it, Tab takes it
                        try:
                            page.wait_for_function(ANSWERED, timeout=10_000)
                        except PlaywrightTimeout:  # no list: the plan does not hold in the page (redone below)
                            broken = True
                            break
                        for _ in range(step[1] + 1 if step[1] else 0):
                            page.keyboard.press("ArrowDown")
                        page.keyboard.press("Tab")
                    else:
                        for _ in range(step[2]):
                            page.keyboard.press(step[1])
                if pick is not None and not pick[0] and not broken:  # taken by Enter from the list as it is
                    try:
                        page.wait_for_function(ANSWERED, timeout=10_000)
                    except PlaywrightTimeout:
                        broken = True
                if broken:
                    ok = False
                elif pick is not None and pick[0]:  # a suggestion: wait for the list answering what was typed, take it
                    try:
                        page.wait_for_function(ANSWERED, timeout=30_000)
                    except PlaywrightTimeout:  # no list for it: the plan does not hold in the page (redone below)
                        broken = True
                        ok = False
                if broken:
                    pass
                elif pick is not None:
                    for _ in range(pick[1] + 1):
                        page.keyboard.press("ArrowDown")
                    keys += pick[1] + 1
                    chosen = page.evaluate("document.getElementById('suggest').dataset.chosen || ''")
                    ok = right(chosen, want, fid)
                else:
                    ok = right(page.evaluate("document.activeElement.value"), want, fid)
                if not ok:  # the plan did not give the value in the page: select all, retype (counted)
                    failed_plans.append((method, fid))
                    page.keyboard.press("Escape")
                    page.keyboard.press("Control+a")
                    page.keyboard.type(want) if want else page.keyboard.press("Backspace")
                    keys += 1 + 2 + (telex_keys(want) if want else 1)
                telex += keys
                corr_keys += keys
                by_method.setdefault(method, [0, 0, 0])
                by_method[method][0] += 1
                by_method[method][1] += keys
                by_method[method][2] += max(0, regions(plan) - 1)  # places edited after the first
                corrections.append({"field": judged[fid][0].name, "method": method, "keys": keys, "shown": shown, "right": want, "held": ok,
                                    "plan": [list(st) for st in plan] + ([["↓", pick[1] + 1]] if pick else [])})
                enter(last)
                if last:
                    break
            page.wait_for_load_state("load")
        elapsed = time.perf_counter() - t_start
        browser.close()
    store = open_store(None, data)
    with store.session(write=False) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["field.verify", "field.reject"]))))
        page_keys = sum(int((e.new or {}).get("keys") or 0) for e in events)
        stored = {f.id: f for f in s.scalars(select(FieldRow).where(FieldRow.id.in_(list(answers))))}
        after = {fid: stored[fid].verified_value if stored[fid].verified_value is not None else stored[fid].value
                 for fid in answers}
        wrong_after = [{"field": fid, "name": stored[fid].name, "status": stored[fid].status, "stored": after[fid],
                        "written": want} for fid, want in answers.items() if not right(after[fid], want, fid)]
        right_after = len(answers) - len(wrong_after)
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)  # the sheets and the reviewed copy of the store
    return {"engines": engines, "hands": hands, "households": households, "sheets": n_sheets_read, "ingest_s": ingest_s, "review_fields": review_fields,
            "review_fields_per_sheet": round(review_fields / n_sheets_read, 2), "groups": groups,
            "decisions": len(events), "shown_wrong": wrong_shown, "reviewer": reviewer,
            "corrections_by_method": {m: {"n": v[0], "keys": v[1], "keys_each": round(v[1] / v[0], 2),
                                          "extra_edit_regions": v[2]} for m, v in sorted(by_method.items())},
            "plans_not_giving_the_value": len(failed_plans), "corrections": corrections,
            "confirmed_with_ctrl_enter": confirmed_with,
            "keys_per_correction": round(corr_keys / wrong_shown, 2) if wrong_shown else None, "right_after_review": right_after, "wrong_after_review": wrong_after,
            "page_counted_keys": page_keys, "telex_keys": telex,
            "telex_keys_per_sheet": round(telex / n_sheets_read, 2),
            "telex_keys_per_field": round(telex / max(1, review_fields), 2),
            "page_keys_per_field": round(page_keys / max(1, len(events)), 2),
            "scripted_seconds": round(elapsed, 1),
            "straight_through": round(n_auto / max(1, len(everything)), 3),
            "qa_samples": sum(1 for f in stored.values() if f.qa_state)}


# -- (c) the keystroke-level model ----------------------------------------------------------------

def klm(review_fields: float, keys: float, group_wait_s: float, groups_per_sheet: float) -> dict:
    seconds = review_fields * M_S + keys * K_S + group_wait_s * groups_per_sheet
    return {"review_fields_per_sheet": round(review_fields, 2), "keys_per_sheet": round(keys, 2),
            "seconds_per_sheet": round(seconds, 1), "sheets_per_hour": round(3600 / seconds, 1) if seconds else None}


def part_c(a: dict | None, b: dict | None) -> list[dict]:
    """Sheets per hour: measured in (b), and at docs/accuracy.md's rates, where a sheet has
    46 × (1 − straight-through) review fields (plus the QA samples), of which 46 × (1 − exact after
    validation) are wrong and need a correction (at (b)'s keystrokes per correction), the rest one Enter."""
    wait = (a["pages"]["GET /review/group (claim a group of 20)"]["p50_ms"] / 1000) if a else 0.1
    per_correction = (b or {}).get("keys_per_correction") or 20.0
    rows = []
    if b:
        case = (f"measured in (b): {b['sheets']} generated handwriting sheets ({b.get('hands', 'any')} hands{', households' if b.get('households') else ''}), "
                f"{b['engines']}, reviewer {b.get('reviewer', 'retype')}")
        rows.append({"case": case, **klm(b["review_fields_per_sheet"], b["telex_keys_per_sheet"], wait,
                                          b["groups"] / b["sheets"])})
        extra = sum(m.get("extra_edit_regions", 0) for m in (b.get("corrections_by_method") or {}).values())
        if extra:  # one more M per place edited after a correction's first
            extra /= b["sheets"]
            r = klm(b["review_fields_per_sheet"], b["telex_keys_per_sheet"], wait, b["groups"] / b["sheets"])
            r["seconds_per_sheet"] = round(r["seconds_per_sheet"] + extra * M_S, 1)
            r["sheets_per_hour"] = round(3600 / r["seconds_per_sheet"], 1)
            rows.append({"case": f"{case}, one more M for each of the {extra:.1f} extra edit regions per sheet", **r})
    for case, (st, exact) in accuracy_rates().items():
        n = FIELDS_PER_SHEET * (1 - st) + QA_RATE * FIELDS_PER_SHEET * st
        wrong = FIELDS_PER_SHEET * (1 - exact)
        keys = (n - wrong) + wrong * per_correction
        rows.append({"case": f"{case} (docs/accuracy.md: straight-through {st:.1%}, exact {exact:.1%})",
                     **klm(n, keys, wait, n / 20)})  # full groups of 20 in a real batch
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fields", type=int, default=100_000)
    ap.add_argument("--reviewers", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sheets", type=int, default=10)
    ap.add_argument("--engines", default="cascade")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--hands", choices=("any", "held-out"), default="any",
                    help="(b)'s sheets: any handwriting font, or only the held-out hands no calibration saw")
    ap.add_argument("--ingested", type=Path,
                    help="(b): keep the generated and ingested sheets in this directory, and on a later run with the "
                         "same --sheets/--engines/--seed/--hands review a copy of them instead of ingesting again")
    ap.add_argument("--reviewer", choices=("cheapest", "retype"), default="cheapest",
                    help="(b)'s corrections: the cheapest of F2, a suggestion, a word edit and retyping (default), "
                         "or as before 2026-12-01 evening: F2 when a candidate is right, else retype whole")
    ap.add_argument("--households", action="store_true",
                    help="(b)'s sheets come as a batch does, household by household (each household's sheets in one "
                         "hand); by default each sheet is a person of another household")
    ap.add_argument("--row-by-row", action="store_true",
                    help="(b): confirm every right row with its own Enter (as before Ctrl+Enter confirmed the rows on "
                         "screen below it)")
    ap.add_argument("--parts", default="a,b,c")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    out: dict = {"klm": {"K_s": K_S, "M_s": M_S, "source": "Card, Moran & Newell 1980, CACM 23(7)"}}
    def save() -> None:  # each part's figures as soon as they exist
        if args.json:
            args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False))

    if "a" in parts:
        out["a"] = part_a(args.fields, args.reviewers, args.rounds)
        print(json.dumps(out["a"], indent=1))
        save()
    if "b" in parts:
        out["b"] = part_b(args.sheets, args.engines, args.seed, args.hands, args.ingested, args.reviewer,
                          args.households, args.row_by_row)
        print(json.dumps({k: v for k, v in out["b"].items() if k != "corrections"}, indent=1))
        save()
    if "c" in parts:
        out["c"] = part_c(out.get("a"), out.get("b"))
        for r in out["c"]:
            print(f"{r['case']}: {r['review_fields_per_sheet']} review fields, {r['keys_per_sheet']} keys, "
                  f"{r['seconds_per_sheet']} s per sheet → {r['sheets_per_hour']} sheets per operator-hour")
    save()


if __name__ == "__main__":
    main()
