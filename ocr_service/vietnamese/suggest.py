"""Suggestions as a reviewer types: the values of a field's vocabulary (ethnicity, religion,
relationship to the head, nationality …) or administrative units at every level, pre-2025 and
post-2025, matched accent-insensitively by prefix (of the whole value or of any of its words), with
a fuzzy fallback when nothing starts so ("kinh" → Kinh, "ha noi" → Hà Nội, "tp ha noi" → Thành phố Hà Nội).

Which list a field gets is read from its template data: the field's ``vocabulary`` (a vocabulary
name, see vocab.py), or the ``address`` validator (a free-text address: the part after the last
comma is completed with units of every level). ``source_for(vocabulary, validators)`` names it.

The keys are computed once per source (``index(source)``, cached; the administrative ones take
about a second to build, so a server warms them at start with ``warm()``); a query is a binary
search in a sorted list of word-start keys, plus rapidfuzz over the keys when none matches.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from .text import clean, match_key, strip_diacritics
from .vocab import ALIASES, admin_units, get_vocabulary, legacy_unit_rows, load_vocabularies, post_2025_unit_rows

__all__ = ["Suggestion", "source_for", "suggest", "index", "warm", "ADDRESS"]

ADDRESS = "address"  # the source of free-text address fields: units of every level, both eras
# Vocabularies whose values are administrative units: their lists also get the post-2025 units
# (province names, communes/wards), marked as such.
_POST_2025 = {"province": "province", "commune": "commune"}
MAX_SCAN = 400  # prefix hits looked at before ranking (a one-letter query on 15,000 units)
FUZZY_MIN = 75  # rapidfuzz ratio cutoff for the fallback
ERA_NEW = "từ 2025"


@dataclass(frozen=True)
class Suggestion:
    """One suggested value: ``value`` is what goes into the field (for an address, the typed text
    with its last part replaced), ``label`` what the list shows, ``hint`` where/what it is."""

    value: str
    label: str
    hint: str = ""


def source_for(vocabulary: str | None, validators: tuple[str, ...] | list[str] = ()) -> str | None:
    """The suggestion source of a field from its template data, or None when it has no list."""
    if vocabulary:
        name = ALIASES.get(vocabulary, vocabulary)
        return name if name in load_vocabularies() else None
    if any(v.split(":", 1)[0] == "address" for v in validators):
        return ADDRESS
    return None


class _Index:
    """Entries (label, hint, value) and the sorted word-start keys that point at them."""

    def __init__(self, entries: list[tuple[str, str, list[str]]]):
        self.labels: list[str] = []
        self.hints: list[str] = []
        self.forms: list[list[str]] = []  # match_key of each written form (for ranking)
        keys: list[tuple[str, int, int]] = []  # (key suffix from a word start, entry, 0 if whole key)
        seen: dict[tuple[str, str], int] = {}
        for label, hint, forms in entries:
            i = seen.get((label, hint))
            if i is None:
                i = seen[(label, hint)] = len(self.labels)
                self.labels.append(label)
                self.hints.append(hint)
                self.forms.append([])
            for form in forms:
                k = strip_diacritics(form)
                if not k:
                    continue
                self.forms[i].append(match_key(form))
                words = k.split(" ")
                for w in range(len(words)):
                    keys.append((" ".join(words[w:]), i, 0 if w == 0 else 1))
        keys.sort()
        self.keys = [k for k, _, _ in keys]
        self.refs = [(i, whole) for _, i, whole in keys]
        self.choices = sorted({k for k, _, whole in keys if whole == 0})
        self.by_key: dict[str, list[int]] = {}
        for k, (i, whole) in zip(self.keys, self.refs):
            if whole == 0:
                self.by_key.setdefault(k, []).append(i)

    def search(self, query: str, limit: int) -> list[int]:
        q = strip_diacritics(query)
        if not q:
            return []
        marked = match_key(query)
        with_marks = marked != q  # the reviewer typed diacritics: those that agree rank first
        hits: dict[int, tuple] = {}
        start = bisect.bisect_left(self.keys, q)
        for j in range(start, min(len(self.keys), start + MAX_SCAN)):
            if not self.keys[j].startswith(q):
                break
            i, whole = self.refs[j]
            agrees = not with_marks or any(marked in f for f in self.forms[i])
            rank = (0 if agrees else 1, whole, len(self.labels[i]), self.labels[i])
            if i not in hits or rank < hits[i]:
                hits[i] = rank
        out = sorted(hits, key=hits.__getitem__)[:limit]
        if not out and len(q) >= 3:  # nothing starts so: the nearest spellings (a misread, a typo)
            for key, _score, _ in process.extract(q, self.choices, scorer=fuzz.ratio, limit=limit,
                                                  score_cutoff=FUZZY_MIN):
                for i in self.by_key.get(key, []):
                    if i not in out and len(out) < limit:
                        out.append(i)
        return out


def _vocabulary_entries(name: str) -> list[tuple[str, str, list[str]]]:
    if name in ("district", "commune"):  # built from the unit tables, with where each unit lies
        entries = _admin_entries(name, short=True)
    else:
        entries = [(value, "", list(forms)) for value, forms in get_vocabulary(name).written_forms().items()]
    if name in _POST_2025:
        entries += _admin_entries_2025(_POST_2025[name], short=True, known={e[0] for e in entries})
    return entries


def _admin_entries(level: str, *, short: bool) -> list[tuple[str, str, list[str]]]:
    """Pre-2025 districts or communes: label the short name (vocabulary values) or the full name
    (addresses), hinted with the type and where it lies."""
    au = admin_units()
    provinces = {p["code"]: p["short"] for p in au.provinces()}
    out = []
    if level == "district":
        for d in au.districts():
            hint = f"{d['type']} · {provinces.get(d['province_code'], '')}"
            out.append((d["short"] if short else d["name"], hint, [d["name"], d["short"]]))
    else:
        districts = {d["code"]: d["short"] for d in au.districts()}
        for c in au.communes():
            hint = f"{c['type']} · {districts.get(c['district_code'], '')}, {provinces.get(c['province_code'], '')}"
            out.append((c["short"] if short else c["name"], hint, [c["name"], c["short"]]))
    return out


def _admin_entries_2025(level: str, *, short: bool, known: set[str] = frozenset()) -> list[tuple[str, str, list[str]]]:
    """Post-2025 provinces or communes/wards (no districts after the merger)."""
    rows = post_2025_unit_rows()
    out = []
    if level == "province":
        for r in {r["provinceCode"]: r for r in rows}.values():
            label = r["provinceShort"] if short else r["province"]
            if label not in known:
                out.append((label, ERA_NEW, [r["province"], r["provinceShort"]]))
    else:
        for r in rows:
            out.append((r["wardShort"] if short else r["ward"], f"{r['wardType']} · {r['provinceShort']} ({ERA_NEW})",
                        [r["ward"], r["wardShort"]]))
    return out


def _address_entries() -> list[tuple[str, str, list[str]]]:
    names = {}
    for r in legacy_unit_rows():
        names.setdefault(r["provinceCode"], (r["province"], r["provinceShort"]))
    entries = [(full, "Tỉnh/thành phố", [full, short]) for full, short in names.values()]
    entries += _admin_entries_2025("province", short=False, known={e[0] for e in entries})
    entries += _admin_entries("district", short=False)
    entries += _admin_entries("commune", short=False)
    entries += _admin_entries_2025("commune", short=False)
    return entries


_lock = threading.Lock()
_locks: dict[str, threading.Lock] = {}


@lru_cache(maxsize=32)
def _build(source: str) -> _Index:
    return _Index(_address_entries() if source == ADDRESS else _vocabulary_entries(source))


def index(source: str) -> _Index:
    """The precomputed keys of a source (built once; KeyError for an unknown vocabulary)."""
    with _lock:
        lock = _locks.setdefault(source, threading.Lock())
    with lock:  # one build per source, however many ask at once; other sources are not held up
        return _build(source)


def warm(sources: tuple[str, ...] = (ADDRESS, "province", "district", "commune")) -> None:
    """Build the slow (administrative) indexes now, e.g. in a server's background thread."""
    for s in sources:
        index(s)


def suggest(source: str, text: str, limit: int = 8) -> list[Suggestion]:
    """Up to ``limit`` suggestions for what was typed. For ADDRESS the part after the last comma is
    completed and the earlier parts are kept in ``value``."""
    text = clean(text)[:200]
    head, sep, part = text.rpartition(",") if source == ADDRESS else ("", "", text)
    part = part.strip()
    if not part:
        return []
    ix = index(source)
    prefix = f"{head.strip()}, " if sep and head.strip() else ""
    return [Suggestion(prefix + ix.labels[i], ix.labels[i], ix.hints[i]) for i in ix.search(part, limit)]
