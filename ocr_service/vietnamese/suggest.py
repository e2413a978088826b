"""Suggestions as a reviewer types: the values of a field's vocabulary (ethnicity, religion,
relationship to the head, nationality …) or administrative units at every level, pre-2025 and
post-2025, matched accent-insensitively by prefix (of the whole value or of any of its words), with
a fuzzy fallback when nothing starts so ("kinh" → Kinh, "ha noi" → Hà Nội, "tp ha noi" → Thành phố Hà Nội).

Which list a field gets is read from its template data: the field's ``vocabulary`` (a vocabulary
name, see vocab.py), the ``address`` validator (a free-text address: the comma-separated part where
the caret is is completed with units of every level, those the other parts' units contain or lie in
first: hierarchy-aware), or the ``person_name`` validator (the word at the caret: a surname from
data/name_syllables.json for the first word, a middle name from it or a word the engines read for
the others; no given-name lexicon). ``source_for(vocabulary, validators)`` names it.

The keys are computed once per source (``index(source)``, cached; the administrative ones take
about a second to build, so a server warms them at start with ``warm()``); a query is a binary
search in a sorted list of word-start keys, plus rapidfuzz over the keys when none matches.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from .text import clean, match_key, strip_diacritics
from .validators import name_syllable_lists, place_words
from .vocab import ALIASES, admin_units, get_vocabulary, legacy_unit_rows, load_vocabularies, post_2025_unit_rows

__all__ = ["Suggestion", "source_for", "family_of", "suggest", "index", "warm", "ADDRESS", "NAME"]

ADDRESS = "address"  # the source of free-text address fields: units of every level, both eras
NAME = "name"  # the source of personal names: listed surnames and middle names, the engines' readings
# Vocabularies whose values are administrative units: their lists also get the post-2025 units
# (province names, communes/wards), marked as such.
_POST_2025 = {"province": "province", "commune": "commune"}
MAX_SCAN = 400  # prefix hits looked at before ranking (a one-letter query on 15,000 units)
FUZZY_MIN = 75  # rapidfuzz ratio cutoff for the fallback
ERA_NEW = "từ 2025"
HINT_SURNAME, HINT_MIDDLE, HINT_READ = "họ", "tên đệm", "máy đọc"
RELATED_MAX = 4  # values written elsewhere that one list shows at most (before the list's own)
CHAIN_MAX = 3  # a commune's district-and-province pairs one list shows at most (a name found in many districts)
HINT_CHAIN, HINT_PLACE = "cấp huyện và tỉnh", "dưới cấp xã"


@dataclass(frozen=True)
class Suggestion:
    """One suggested value: ``value`` is what goes into the field (for an address or a name, the
    typed text with the part at the caret replaced), ``label`` what the list shows, ``hint``
    where/what it is, ``caret`` where the caret goes in ``value`` (the end of the replaced part)."""

    value: str
    label: str
    hint: str = ""
    caret: int | None = None


def source_for(vocabulary: str | None, validators: tuple[str, ...] | list[str] = ()) -> str | None:
    """The suggestion source of a field from its template data, or None when it has no list."""
    if vocabulary:
        name = ALIASES.get(vocabulary, vocabulary)
        return name if name in load_vocabularies() else None
    kinds = {v.split(":", 1)[0] for v in validators}
    if "address" in kinds:
        return ADDRESS
    if "person_name" in kinds:
        return NAME
    return None


def family_of(vocabulary: str | None, validators: tuple[str, ...] | list[str] = ()) -> str | None:
    """The family of values a field shares with other fields, from its template data: fields of one
    family repeat each other's values on a sheet and across a household's sheets (a person's name is
    the head's or the declarant's on the next line, an ID the father's on a child's sheet, an address
    the current one). Addresses and names by their suggestion source, other fields by their
    validators (``id_number``, ``digits:9``); None for a vocabulary field (its list is the list) or
    a field without validators."""
    source = source_for(vocabulary, validators)
    if source in (ADDRESS, NAME):
        return source
    if vocabulary or not validators:
        return None
    return "validators:" + ",".join(sorted(validators))


class _Index:
    """Entries (label, hint, written forms[, node]) and the sorted word-start keys that point at them.
    An entry's optional ``node`` places an administrative unit in its era's tree: ("L", province,
    district, commune) before 2025, ("N", province, commune) after, cut after the unit's own level;
    an entry's position in ``entries`` ranks it among equals when ``ordered`` (a list by commonness).
    Entries with the same label and hint are one (a province of both eras has two nodes)."""

    def __init__(self, entries: list[tuple], ordered: bool = False):
        self.labels: list[str] = []
        self.hints: list[str] = []
        self.forms: list[list[str]] = []  # match_key of each written form (for ranking)
        self.written: list[list[str]] = []  # the written forms as given (a unit's short name)
        self.plain: list[list[str]] = []  # strip_diacritics of each written form (for matching a few)
        self.nodes: list[list[tuple]] = []
        self.prior: list[int] = []
        keys: list[tuple[str, int, int]] = []  # (key suffix from a word start, entry, 0 if whole key)
        seen: dict[tuple[str, str], int] = {}
        for n, (label, hint, forms, *node) in enumerate(entries):
            i = seen.get((label, hint))
            if i is None:
                i = seen[(label, hint)] = len(self.labels)
                self.labels.append(label)
                self.hints.append(hint)
                self.forms.append([])
                self.written.append([])
                self.plain.append([])
                self.nodes.append([])
                self.prior.append(n if ordered else 0)
            if node and node[0] not in self.nodes[i]:
                self.nodes[i].append(node[0])
            for form in forms:
                k = strip_diacritics(form)
                if not k:
                    continue
                self.plain[i].append(k)
                self.forms[i].append(match_key(form))
                self.written[i].append(clean(form))
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
        self.under: dict[tuple, list[int]] = {}  # a node: the entries strictly below it
        self.at_node: dict[tuple, list[int]] = {}
        for i, nodes in enumerate(self.nodes):
            for node in nodes:
                self.at_node.setdefault(node, []).append(i)
                for d in range(2, len(node)):
                    self.under.setdefault(node[:d], []).append(i)

    def _rank(self, i: int, q: str, marked: str, with_marks: bool) -> tuple | None:
        """How entry ``i`` ranks for the accent-free query ``q`` (None: no form has a word starting so)."""
        whole = None
        for k in self.plain[i]:
            if k.startswith(q):
                whole = 0
                break
            if whole is None and f" {q}" in f" {k}":
                whole = 1
        if whole is None:
            return None
        return self._order(i, whole, marked, with_marks)

    def _order(self, i: int, whole: int, marked: str, with_marks: bool) -> tuple:
        """Entry ``i``'s rank (lower first): its marks agree with the query's, a whole-value match
        before a word's, then its prior (commonness), its length, its label."""
        agrees = not with_marks or any(marked in f for f in self.forms[i])
        return (0 if agrees else 1, whole, self.prior[i], len(self.labels[i]), self.labels[i])

    def search_among(self, query: str, ids: list[int], limit: int, fuzzy: bool = True) -> list[int]:
        """Like ``search``, among the entries ``ids`` only (a few hundred at most: each is matched
        directly); ``fuzzy``: the nearest spellings among them when none starts so."""
        q = strip_diacritics(query)
        if not q:
            return []
        marked = match_key(query)
        hits = {}
        for i in ids:
            r = self._rank(i, q, marked, marked != q)
            if r is not None:
                hits[i] = r
        out = sorted(hits, key=hits.__getitem__)[:limit]
        if fuzzy and not out and len(q) >= 3:  # a misspelling among the few that fit
            scored = sorted(((max(fuzz.ratio(q, k) for k in self.plain[i]), i) for i in set(ids) if self.plain[i]),
                            key=lambda x: (-x[0], self.labels[x[1]]))
            out = [i for score, i in scored if score >= FUZZY_MIN][:limit]
        return out

    def search(self, query: str, limit: int, fuzzy: bool = True) -> list[int]:
        """The entries a word of which starts with ``query`` (accent-free), best first; ``fuzzy``: the
        nearest spellings when none does."""
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
            rank = self._order(i, whole, marked, with_marks)
            if i not in hits or rank < hits[i]:
                hits[i] = rank
        out = sorted(hits, key=hits.__getitem__)[:limit]
        if fuzzy and not out and len(q) >= 3:  # nothing starts so: the nearest spellings (a misread, a typo)
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


def _admin_entries(level: str, *, short: bool) -> list[tuple]:
    """Pre-2025 districts or communes: label the short name (vocabulary values) or the full name
    (addresses), hinted with the type and where it lies, with their node in the tree."""
    au = admin_units()
    provinces = {p["code"]: p["short"] for p in au.provinces()}
    out = []
    if level == "district":
        for d in au.districts():
            hint = f"{d['type']} · {provinces.get(d['province_code'], '')}"
            out.append((d["short"] if short else d["name"], hint, [d["name"], d["short"]],
                        ("L", d["province_code"], d["code"])))
    else:
        districts = {d["code"]: d["short"] for d in au.districts()}
        for c in au.communes():
            hint = f"{c['type']} · {districts.get(c['district_code'], '')}, {provinces.get(c['province_code'], '')}"
            out.append((c["short"] if short else c["name"], hint, [c["name"], c["short"]],
                        ("L", c["province_code"], c["district_code"], c["code"])))
    return out


def _admin_entries_2025(level: str, *, short: bool, known: set[str] = frozenset()) -> list[tuple]:
    """Post-2025 provinces or communes/wards (no districts after the merger)."""
    rows = post_2025_unit_rows()
    out = []
    if level == "province":
        for r in {r["provinceCode"]: r for r in rows}.values():
            label = r["provinceShort"] if short else r["province"]
            if label not in known:
                out.append((label, ERA_NEW, [r["province"], r["provinceShort"]], ("N", r["provinceCode"])))
    else:
        for r in rows:
            out.append((r["wardShort"] if short else r["ward"], f"{r['wardType']} · {r['provinceShort']} ({ERA_NEW})",
                        [r["ward"], r["wardShort"]], ("N", r["provinceCode"], r["wardCode"])))
    return out


def _address_entries() -> list[tuple]:
    names = {}
    for r in legacy_unit_rows():
        names.setdefault(r["provinceCode"], (r["province"], r["provinceShort"]))
    entries = [(full, "Tỉnh/thành phố", [full, short], ("L", code)) for code, (full, short) in names.items()]
    legacy = {full for full, _ in names.values()}
    for label, hint, forms, node in _admin_entries_2025("province", short=False):
        # a province of both eras is one entry with a node in each era's tree
        entries.append((label, "Tỉnh/thành phố" if label in legacy else hint, forms, node))
    entries += _admin_entries("district", short=False)
    entries += _admin_entries("commune", short=False)
    entries += _admin_entries_2025("commune", short=False)
    return entries


def _name_entries(source: str) -> list[tuple]:
    """The listed surnames (``_SURNAMES``) or middle names, in their file's order (commonest first)."""
    lists = name_syllable_lists()
    if source == _SURNAMES:
        return [(w, HINT_SURNAME, [w]) for w in lists["surnames"]]
    return [(w, HINT_MIDDLE, [w]) for w in lists["middle"]]


_lock = threading.Lock()
_locks: dict[str, threading.Lock] = {}


_SURNAMES, _MIDDLES = "name:surname", "name:middle"  # the two lists a name's words come from
_PLACES = "address:place"  # the words that open an address's part below the commune


@lru_cache(maxsize=32)
def _build(source: str) -> _Index:
    if source == ADDRESS:
        return _Index(_address_entries())
    if source in (_SURNAMES, _MIDDLES):
        return _Index(_name_entries(source), ordered=True)
    if source == _PLACES:
        return _Index([(w, HINT_PLACE, [w]) for w in place_words()])
    return _Index(_vocabulary_entries(source))


def index(source: str) -> _Index:
    """The precomputed keys of a source (built once; KeyError for an unknown vocabulary)."""
    with _lock:
        lock = _locks.setdefault(source, threading.Lock())
    with lock:  # one build per source, however many ask at once; other sources are not held up
        return _build(source)


def warm(sources: tuple[str, ...] = (ADDRESS, "province", "district", "commune", _SURNAMES, _MIDDLES)) -> None:
    """Build the slow (administrative) indexes now, e.g. in a server's background thread."""
    for s in sources:
        index(s)


def suggest(source: str | None, text: str, limit: int = 8, *, at: int | None = None,
            readings: tuple[str, ...] | list[str] = (), within: tuple[str | None, ...] = (),
            related: tuple[tuple[str, str], ...] | list[tuple[str, str]] = ()) -> list[Suggestion]:
    """Up to ``limit`` suggestions for what was typed. For ADDRESS the comma-separated part where the
    caret is (``at``, an index into ``text``; None: the end) is completed, for NAME the word there;
    ``value`` keeps the other parts, and ``caret`` is the end of the completed one. ``readings``:
    the field's candidate values (what F2 steps through, the value shown first), whose words a
    name's words may take (the shown value's last: it is the one being corrected). ``within``:
    for a district or commune list, the units written in the sheet's other fields it should lie in
    (its province, its district: the template's context), those first and alone when the gazetteer
    places them and one of them starts with the text; the whole list when not. For an ADDRESS,
    ``within`` (province, district: where the sheet was filled in) ranks the units there first while
    the other parts place none.
    ``related``: (value, hint) of the values written in the field's family elsewhere (the sheet's
    other fields, the household's sheets; nearest first): those the typed text before the caret
    begins come second, whole (at most RELATED_MAX), after the list's first and before the rest of
    it (``source`` None: only those)."""
    text = (text or "")[:200]
    at = len(text) if at is None else max(0, min(at, len(text)))
    near = _related(text, at, related)
    listed = [s for s in _listed(source, text, at, limit, readings, within) if s.value not in {n.value for n in near}]
    # the list's first stays first: Tab (which takes it) keeps completing the part at the caret
    return (listed[:1] + near + listed[1:])[:max(limit, len(near) + 1)]


def _plain(text: str) -> str:
    """An accent-free key for matching what was typed against the start of a whole value (no
    abbreviation expanded: a typed "h" is not yet "huyện")."""
    return strip_diacritics(text, abbreviations=False)


def _related(text: str, at: int, related) -> list[Suggestion]:
    typed = _plain(text[:at])
    if not typed:
        return []
    out, seen = [], {match_key(text)}
    for value, hint in related:
        value = clean(value)
        key = match_key(value)
        if key in seen or not _plain(value).startswith(typed):
            continue
        seen.add(key)
        out.append(Suggestion(value, value, hint, len(value)))
        if len(out) == RELATED_MAX:
            break
    return out


def _listed(source: str | None, text: str, at: int, limit: int, readings, within) -> list[Suggestion]:
    """The suggestions of the source's own list (see ``suggest``)."""
    if source is None:
        return []
    if source == ADDRESS:
        return _complete_address(text, at, limit, within)
    if source == NAME:
        return _complete_name(text, at, limit, readings)
    part = clean(text)
    if not part:
        return []
    ix = index(source)
    province, district = (tuple(within) + (None, None))[:2]
    prov = [n for n in _unit_nodes(province) if len(n) == 2] if province else []
    dist = [n for n in _unit_nodes(district) if n[0] == "L" and len(n) == 3
            and (not prov or n[:2] in prov)] if district else []
    # before 2025 inside the district if it is placed, else the province; after, the province (no districts)
    parents = (dist or [n for n in prov if n[0] == "L"]) + [n for n in prov if n[0] == "N"]
    among = sorted({i for n in parents for i in ix.under.get(n, [])})
    # those there alone; where none starts so, the whole list's that do: the unit the other fields
    # name may itself be a misreading still to correct ("long th" on a sheet read as Hà Giang's is
    # Long An's Long Thạnh, not Hà Giang's Lũng Thầu); the nearest spellings only when no unit starts so
    hits = (ix.search_among(part, among, limit, fuzzy=False) or ix.search(part, limit, fuzzy=False)
            or ix.search_among(part, among, limit) or ix.search(part, limit))
    return [Suggestion(ix.labels[i], ix.labels[i], ix.hints[i]) for i in hits]


def _unit_nodes(written: str | None) -> list[tuple]:
    """The tree nodes of the units ``written`` names (a full or short name, abbreviations expanded)."""
    ax = index(ADDRESS)
    return [n for i in ax.by_key.get(strip_diacritics(written), []) for n in ax.nodes[i]] if written else []


def _fits(cand: list[tuple], part: list[tuple], right: bool) -> bool:
    """Whether a unit (its nodes) lies inside a unit written right of it (``right``: a larger one,
    in the written order commune, district, province) or contains one written left of it, in one era."""
    for c in cand:
        for p in part:
            if c[0] == p[0] and (c[:len(p)] == p and len(c) > len(p) if right else p[:len(c)] == c and len(p) > len(c)):
                return True
    return False


def _near(within: tuple[str | None, ...]) -> list[list[int]]:
    """The ADDRESS entries near where a sheet was filled in (``within``: its province, district),
    nearest first. A sheet whose header names a district was written in the pre-2025 tree: the
    district, its communes and the province, then the rest of the province, then the province's
    post-2025 communes; without a district, the province and its post-2025 communes, then its
    pre-2025 units. Empty when the gazetteer does not place the province."""
    ix = index(ADDRESS)
    province, district = (tuple(within) + (None, None))[:2]
    prov = [n for n in _unit_nodes(province) if len(n) == 2] if province else []
    if not prov:
        return []
    old, new = [n for n in prov if n[0] == "L"], [n for n in prov if n[0] == "N"]
    dist = [n for n in _unit_nodes(district) if n[0] == "L" and len(n) == 3 and n[:2] in prov] if district else []
    at = lambda nodes: [i for n in nodes for i in ix.at_node.get(n, [])]  # noqa: E731
    under = lambda nodes: [i for n in nodes for i in ix.under.get(n, [])]  # noqa: E731
    if dist:
        order = [at(dist) + under(dist) + at(prov), under(old), under(new)]
    else:
        order = [at(prov) + under(new), under(old)]
    tiers, seen = [], set()
    for tier in order:
        tier = [i for i in dict.fromkeys(tier) if i not in seen]
        seen.update(tier)
        tiers.append(tier)
    return tiers


def _complete_address(text: str, at: int, limit: int, within: tuple[str | None, ...] = ()) -> list[Suggestion]:
    pieces, start = [], 0
    for piece in text.split(","):
        pieces.append((start, piece))
        start += len(piece) + 1
    k = max(j for j, (st, _) in enumerate(pieces) if st <= at)
    query = clean(text[pieces[k][0]:at])
    if not strip_diacritics(query) and (k == 0 or not clean(pieces[k - 1][1])):
        return []  # (an empty part after a written one is offered what contains that one, below)
    ix = index(ADDRESS)
    # the units the other parts name (by their whole written form), and on which side they are
    context = []
    for j, (_, piece) in enumerate(pieces):
        ids = ix.by_key.get(strip_diacritics(piece), []) if j != k else []
        nodes = [n for i in ids for n in ix.nodes[i]]
        if nodes:
            context.append((j > k, nodes))
    hits, chains = [], []
    if context:
        right = [nodes for is_right, nodes in context if is_right]
        if right:  # what lies inside the nearest larger unit written after this part
            pool = {i for n in right[0] for i in ix.under.get(n, [])}
        else:  # what contains the smaller unit written before it
            pool = {i for n in context[-1][1] for d in range(2, len(n)) for i in ix.at_node.get(n[:d], [])}
        fitting = [i for i in pool if all(_fits(ix.nodes[i], nodes, is_right) for is_right, nodes in context)]
        if strip_diacritics(query):
            hits = ix.search_among(query, fitting, limit)
        elif not right:  # nothing typed yet after a unit: the units it lies in, the nearest level first
            hits = sorted(fitting, key=lambda i: (-max(len(n) for n in ix.nodes[i]), ix.labels[i]))[:limit]
            chains = _chains(context[-1][1], within) if k == len(pieces) - 1 else []
    if not context and strip_diacritics(query) and within:  # the units where the sheet was filled in first
        for tier in _near(within):
            hits += [i for i in ix.search_among(query, tier, limit, fuzzy=False) if i not in hits]
        hits = hits[:limit]
    if len(hits) < limit and strip_diacritics(query) and not (context and hits):
        # no context, or the gazetteer does not place the parts: the whole list (after those near)
        hits += [i for i in ix.search(query, limit) if i not in hits][:limit - len(hits)]
    before = [c for c in (clean(p) for _, p in pieces[:k]) if c]
    after = [c for c in (clean(p) for _, p in pieces[k + 1:]) if c]

    def offered(label: str, hint: str, space: str = "") -> Suggestion:
        """``label`` as the part at the caret (then ``space``), the other parts kept, the caret after it."""
        head = ", ".join(before + [label]) + space
        return Suggestion(", ".join([head] + after), label, hint, len(head))

    def then(i: int) -> str:
        """What follows unit ``i`` taken as the last part: a comma and a space before the unit above
        it (the caret after them, that part's list next), unless it is a province."""
        return "" if after or any(len(n) == 2 for n in ix.nodes[i]) else ", "

    out = [offered(ix.labels[i], ix.hints[i], then(i)) for i in hits]
    typed = strip_diacritics(query)
    if typed and (not context or (context[0][0] and all(_is_commune(n) for n in context[0][1]))):
        # nothing placed around the part, or a commune after it: it may be the hamlet, group or
        # street no list has, opened by a word of its own ("Tổ dân phố "; the caret after a space)
        px = index(_PLACES)
        places = [offered(px.labels[i], px.hints[i], " ")
                  for i in px.search_among(query, list(range(len(px.labels))), limit, fuzzy=False)]
        # first once the typed text is a whole word or reaches past one ("to d"): a letter or two
        # mostly begin a unit ("ph" a ward), whose places in the list do not move; else after them
        if " " in typed or typed in px.by_key:
            out = places + out
        else:
            out = out + places[:max(0, limit - len(out))]
    # a pre-2025 commune's district and province at once, before the single levels
    out = [offered(chain, HINT_CHAIN) for chain in chains] + out
    # the same units without their unit word, as addresses are often written ("…, Huyện Chợ Gạo,
    # Tiền Giang"), after the full names, whose places in the list do not move (the last one
    # gives way to the first of them in a full list); only those the typed text begins
    bare = [offered(b[0], ix.hints[i], then(i)) for i in hits if (b := _bare_name(ix, i)) and b[1].startswith(typed)]
    room = max(limit - len(out), 1 if bare else 0)
    return out[:limit - room] + bare[:room]


def _is_commune(node: tuple) -> bool:
    """A node of a commune or ward (pre-2025: province, district, commune; post-2025: province, ward)."""
    return len(node) == (4 if node[0] == "L" else 3)


def _chains(nodes: list[tuple], within: tuple[str | None, ...]) -> list[str]:
    """The units above each pre-2025 commune among ``nodes`` (the part written before the caret),
    as one part: "Huyện Phú Lương, Tỉnh Thái Nguyên", those where the sheet was filled in first
    (``within``), at most CHAIN_MAX. A written address names them all more often than not, so a
    comma and one key take both; a district or a post-2025 unit has one level above, already the
    list's first."""
    ix = index(ADDRESS)
    near = {i for tier in _near(within)[:1] for i in tier}
    out = []
    for n in nodes:
        if n[0] != "L" or not _is_commune(n):
            continue
        district, province = ix.at_node.get(n[:3], []), ix.at_node.get(n[:2], [])
        if district and province:
            out.append((district[0] not in near, province[0] not in near,
                        f"{ix.labels[district[0]]}, {ix.labels[province[0]]}"))
    return [chain for *_, chain in sorted(set(out))][:CHAIN_MAX]


def _bare_name(ix: _Index, i: int) -> tuple[str, str] | None:
    """The written form of entry ``i`` that is its label without the unit word ("Tiền Giang" for
    "Tỉnh Tiền Giang") and its accent-free key, or None."""
    full = match_key(ix.labels[i])
    return next(((w, p) for w, k, p in zip(ix.written[i], ix.forms[i], ix.plain[i])
                 if k != full and full.endswith(" " + k)), None)


def _cased(word: str, model: list[str], typed: str) -> str:
    """A name syllable in the case the name is written in: capitals if the rest of it (or else what
    was read, or else what was typed) is in capitals, else capitalised."""
    letters = "".join(ch for w in model for ch in w if ch.isalpha()) or "".join(ch for ch in typed if ch.isalpha())
    if len(letters) >= 2 and letters.isupper():
        return word.upper()
    return word[:1].upper() + word[1:].lower()


def _complete_name(text: str, at: int, limit: int, readings) -> list[Suggestion]:
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    k = next((j for j, (a, b) in enumerate(spans) if a <= at <= b), None)
    if k is None:
        return []
    query = text[spans[k][0]:at]
    q = strip_diacritics(query)
    if not q:
        return []
    words = [text[a:b] for a, b in spans]
    read = [clean(r).split(" ") for r in readings if clean(r)]

    def heard(values: list[list[str]]) -> list[tuple[str, str]]:
        """The engines' words for this place: a first word for the surname, a later one for the others."""
        return [(w, HINT_READ) for ws in values for w in (ws[:1] if k == 0 else ws[1:])
                if strip_diacritics(w).startswith(q)]

    ix = index(_SURNAMES if k == 0 else _MIDDLES)
    listed = [(ix.labels[i], ix.hints[i]) for i in ix.search(query, limit)]
    # the value shown (the first reading) is the one being corrected: its words come last
    if k > 0:  # the other readings first: the given name has no list
        items = heard(read[1:]) + listed + heard(read[:1])
    else:
        items = listed + heard(read[1:]) + heard(read[:1])
    model = [w for j, w in enumerate(words) if j != k] or [w for ws in read for w in ws]
    last = k == len(words) - 1
    out, seen = [], set()
    for word, hint in items:
        word = _cased(word, model, query)
        if match_key(word) in seen:
            continue
        seen.add(match_key(word))
        # a surname or a listed middle name taken as the last word: the space before the next one
        # (the caret after it; a space left at the end is dropped when the value is saved)
        head = " ".join(words[:k] + [word]) + (" " if last and (k == 0 or hint == HINT_MIDDLE) else "")
        out.append(Suggestion(head if last else " ".join([head] + words[k + 1:]), word, hint, len(head)))
        if len(out) == limit:
            break
    return out
