"""Controlled vocabularies (data files in ``data/``), snapping and address parsing.

- ``load_vocabularies()``: all vocabularies by name, cached. The file-backed ones
  (ethnicity, religion, nationality, blood_group, marital_status, sex,
  relation_to_head, province) load at once in a few milliseconds; the
  administrative ones (district, commune) are built on first access from
  ``vietnamadminunits``, whose data takes about a second to load.
- ``Vocabulary.snap(text) -> Snap``: nearest canonical value with a score and a
  runner-up; ``confident`` only when the score is high and no rival is close.
- ``admin_units()``: pre-2025 provinces/districts/communes with codes and the
  old -> new (2025) converter, loaded lazily.
- ``parse_address(text, level_hint=None, ...) -> AddressMatch``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml
from rapidfuzz import fuzz, process

from .spelling import adds_marks_only
from .text import clean, match_key, strip_diacritics

__all__ = [
    "Snap",
    "Vocabulary",
    "Vocabularies",
    "load_vocabularies",
    "get_vocabulary",
    "AdminUnits",
    "admin_units",
    "legacy_unit_rows",
    "post_2025_unit_rows",
    "AddressComponent",
    "AddressMatch",
    "parse_address",
    "is_same_as_marker",
    "SAME_AS_MARKERS",
]

DATA_DIR = Path(__file__).parent / "data"

# Default thresholds; a data file may override them (confident_score, confident_margin).
CONFIDENT_SCORE = 0.85
CONFIDENT_MARGIN = 0.10
# A unique hit on the diacritic-less key is strong but not exact evidence.
NO_DIACRITICS_SCORE = 0.9
# The same letters with other marks than any written form: never a confident snap.
RESPELLED_SCORE = 0.7


@dataclass(frozen=True)
class Snap:
    """Result of snapping text to a vocabulary.

    raw: the text given. value: canonical value or None. score: 0..1.
    runner_up: (value, score) of the best other canonical value, or None.
    confident: True only when score is high and no runner-up is close.
    ambiguous: the text names several possible values (never auto-snapped);
    candidates then lists them. method: exact | compact | no_diacritics |
    fuzzy | ambiguous | none. attrs: the entry's data (code, class, sex ...).
    """

    raw: str
    value: str | None
    score: float
    runner_up: tuple[str, float] | None = None
    confident: bool = False
    ambiguous: bool = False
    candidates: tuple[str, ...] = ()
    method: str = "none"
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def margin(self) -> float:
        """How far the snap is ahead of the best other value (its whole score when none is near)."""
        if self.value is None:
            return 0.0
        return round(self.score - (self.runner_up[1] if self.runner_up else 0.0), 4)


# --- key functions (named in the data files) ---------------------------------

_BLOOD_NOISE = re.compile(r"NHÓMMÁU|NHÓM|RH|\s")


def _symbols_key(s: str) -> str:
    """Key for short symbolic values (blood groups): upper case, no spaces or
    Rh, minus-like signs as '-', 'âm'/'dương' as signs, zero as O."""
    c = clean(s).upper()
    c = c.replace("ÂM", "-").replace("DƯƠNG", "+").replace("DUONG", "+").replace("AM", "-")
    c = re.sub("[\u2010-\u2015\u2212]", "-", c)
    c = _BLOOD_NOISE.sub("", c)
    c = c.replace("0", "O").replace("(", "").replace(")", "")
    return c


def _text_keys(s: str, prefixes: tuple[str, ...]) -> tuple[str, str, str]:
    k = match_key(s)
    for p in prefixes:
        if k.startswith(p + " ") and len(k) > len(p) + 1:
            k = k[len(p) + 1:]
            break
    return k, k.replace(" ", ""), strip_diacritics(k, abbreviations=False).replace(" ", "")


class Vocabulary:
    """A controlled vocabulary: canonical values, their written variants and
    optionally ambiguous written forms that must go to review."""

    def __init__(self, name: str, entries: list[dict], *, key: str = "text",
                 fuzzy: bool = True, ambiguous: list[dict] | None = None,
                 strip_prefixes: list[str] | None = None,
                 confident_score: float = CONFIDENT_SCORE,
                 confident_margin: float = CONFIDENT_MARGIN,
                 description: str = "") -> None:
        self.name = name
        self.description = description
        self.key_style = key
        self.fuzzy = fuzzy
        self.confident_score = confident_score
        self.confident_margin = confident_margin
        self.prefixes: tuple[str, ...] = tuple(strip_prefixes or ())  # unit words that may precede a value
        self._prefixes = tuple(match_key(p) for p in self.prefixes)
        self._attrs: dict[str, dict] = {}
        self._exact: dict[str, set[str]] = {}
        self._compact: dict[str, set[str]] = {}
        self._nodia: dict[str, set[str]] = {}
        self._forms: dict[str, set[str]] = {}
        self._units: dict[str, set[str]] = {}  # value -> the unit words (match keys) its forms begin with
        self._symbols: dict[str, str] = {}  # variants with an empty text key ("—")
        self._amb: dict[str, tuple[tuple[str, ...], str]] = {}
        self._choices: list[str] = []
        self._choice_values: list[str] = []  # value, or "\0amb" marker for ambiguous keys
        for e in entries:
            value = str(e["value"])
            attrs = {k: v for k, v in e.items() if k not in ("value", "variants")}
            self._attrs[value] = attrs
            for form in [value, *map(str, e.get("variants") or ())]:
                self._add_form(form, value)
        for a in ambiguous or ():
            text = str(a["text"])
            cands = tuple(str(c) for c in a.get("candidates") or ())
            reason = str(a.get("reason", "ambiguous"))
            for k in self._keys(text):
                if k:
                    self._amb[k] = (cands, reason)
            k0 = self._keys(text)[0]
            self._choices.append(k0)
            self._choice_values.append("\0amb:" + text)

    # keys ------------------------------------------------------------------
    def _keys(self, s: str) -> tuple[str, str, str]:
        if self.key_style == "symbols":
            k = _symbols_key(s)
            return k, k, k
        return _text_keys(s, self._prefixes)

    def _unit_word(self, s: str) -> str | None:
        """The unit word (a strip prefix's match key) that ``s`` begins with, or None."""
        k = match_key(s)
        return next((p for p in self._prefixes if k.startswith(p + " ") and len(k) > len(p) + 1), None)

    def _add_form(self, form: str, value: str) -> None:
        self._forms.setdefault(form, set()).add(value)
        unit = self._unit_word(form) if self._prefixes else None
        if unit:
            self._units.setdefault(value, set()).add(unit)
        k, kc, kn = self._keys(form)
        if not k:
            self._symbols[clean(form)] = value
            return
        self._exact.setdefault(k, set()).add(value)
        self._compact.setdefault(kc, set()).add(value)
        self._nodia.setdefault(kn, set()).add(value)
        self._choices.append(k)
        self._choice_values.append(value)

    def _forms_of(self, value: str) -> list[str]:
        return [f for f, vals in self._forms.items() if value in vals]

    # public ----------------------------------------------------------------
    def written_forms(self) -> dict[str, tuple[str, ...]]:
        """Every canonical value with its written forms (the value itself first, then its variants)."""
        out: dict[str, list[str]] = {v: [v] for v in self._attrs}
        for form, vals in self._forms.items():
            for v in vals:
                if form != v:
                    out.setdefault(v, [v]).append(form)
        return {v: tuple(forms) for v, forms in out.items()}

    @property
    def values(self) -> tuple[str, ...]:
        """Canonical values in data order."""
        return tuple(self._attrs)

    def attrs(self, value: str) -> Mapping[str, Any]:
        """Data attributes of a canonical value (code, class, sex ...); {} if unknown."""
        return self._attrs.get(value, {})

    def __contains__(self, value: object) -> bool:
        return value in self._attrs

    def __len__(self) -> int:
        return len(self._attrs)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {len(self)} values)"

    def _other_unit(self, unit: str | None, value: str, other: str) -> bool:
        """Whether the written unit word rules ``other`` out beside ``value``: the text names a unit
        type ("Thị trấn …") that ``value`` has and ``other`` never has ("Xã Phước Cát 2" beside
        "Thị trấn Phước Cát"). Only a word both agree with the top value and disagree with the
        other counts, so a misread unit word never makes a snap surer."""
        return bool(unit) and unit in self._units.get(value, ()) and unit not in self._units.get(other, ())

    def _runner_up(self, key: str, value: str, unit: str | None = None) -> tuple[str, float] | None:
        """The best other canonical value for a key that hit ``value`` exactly (its fuzzy score),
        so every snap carries its margin: an exact hit next to a near twin is not a sure one. A
        value of another unit type than the written unit word is no runner-up (:meth:`_other_unit`)."""
        if not self.fuzzy or len(key) > 300:
            return None
        best: tuple[str, float] | None = None
        for _choice, score, i in process.extract(key, self._choices, scorer=fuzz.ratio, limit=8, score_cutoff=40):
            v = self._choice_values[i]
            if v == value or v.startswith("\0amb:") or self._other_unit(unit, value, v):
                continue
            if best is None or score / 100.0 > best[1]:
                best = (v, score / 100.0)
        return best

    def _snap(self, raw: str, value: str, score: float, method: str,
              runner_up: tuple[str, float] | None = None) -> Snap:
        confident = score >= self.confident_score and (
            runner_up is None or score - runner_up[1] >= self.confident_margin)
        return Snap(raw, value, round(score, 4), runner_up, confident, False, (), method,
                    self._attrs.get(value, {}))

    def _amb_snap(self, raw: str, key: str, score: float = 0.0) -> Snap:
        cands, _reason = self._amb[key]
        return Snap(raw, None, round(score, 4), None, False, True, cands, "ambiguous")

    def snap(self, text: object) -> Snap:
        """Snap ``text`` to the nearest canonical value.

        Exact key hits (match_key or its space-less form) score 1.0; a unique
        hit on the diacritic-less key scores 0.9; otherwise rapidfuzz's ratio
        on match keys (when the vocabulary allows fuzzy matching). Ambiguous
        written forms give value None, ambiguous=True. Never raises.
        """
        raw = text if isinstance(text, str) else clean(text)
        c = clean(raw)
        if not c:
            return Snap(raw, None, 0.0)
        if c in self._symbols:
            return self._snap(raw, self._symbols[c], 1.0, "exact")
        k, kc, kn = self._keys(c)
        if not k:
            return Snap(raw, None, 0.0)
        unit = self._unit_word(c) if self._units else None
        for idx, key, method in ((self._exact, k, "exact"), (self._compact, kc, "compact")):
            hit = idx.get(key)
            if hit:
                if len(hit) == 1:
                    value = next(iter(hit))
                    return self._snap(raw, value, 1.0, method, self._runner_up(k, value, unit))
                vals = sorted(hit)
                return Snap(raw, None, 1.0, None, False, True, tuple(vals), "ambiguous")
        for key in (k, kc, kn):
            if key in self._amb:
                return self._amb_snap(raw, key, 1.0)
        hit = self._nodia.get(kn)
        if hit and len(hit) == 1:
            value = next(iter(hit))
            # restoring marks may add what OCR lost, never swap one that was read (Thụy is not Thủy)
            forms = [f for f in self._forms_of(value) if self._keys(f)[2] == kn]
            if any(adds_marks_only(k, self._keys(f)[0]) for f in forms):
                return self._snap(raw, value, NO_DIACRITICS_SCORE, "no_diacritics", self._runner_up(k, value, unit))
            return self._snap(raw, value, RESPELLED_SCORE, "respelled", self._runner_up(k, value, unit))
        if hit:
            vals = sorted(hit)
            return Snap(raw, None, NO_DIACRITICS_SCORE, None, False, True, tuple(vals),
                        "ambiguous")
        if not self.fuzzy or len(k) > 300:
            return Snap(raw, None, 0.0)
        return self._fuzzy(raw, k, unit)

    def _fuzzy(self, raw: str, k: str, unit: str | None = None) -> Snap:
        found = process.extract(k, self._choices, scorer=fuzz.ratio, limit=12,
                                score_cutoff=40)
        best: dict[str, float] = {}
        for _choice, score, i in found:
            v = self._choice_values[i]
            if score / 100.0 > best.get(v, -1.0):
                best[v] = score / 100.0
        if not best:
            return Snap(raw, None, 0.0)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        top_v, top_s = ranked[0]
        ranked = [ranked[0]] + [r for r in ranked[1:] if not self._other_unit(unit, top_v, r[0])]
        runner = ranked[1] if len(ranked) > 1 else None
        if top_v.startswith("\0amb:"):
            key = self._keys(top_v[5:])[0]
            return self._amb_snap(raw, key, top_s)
        if runner and runner[0].startswith("\0amb:"):
            runner = (runner[0][5:] + " (ambiguous)", runner[1])
        return self._snap(raw, top_v, top_s, "fuzzy", runner)


def _vocab_from_file(path: Path) -> Vocabulary:
    with path.open(encoding="utf-8") as f:
        d = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Vocabulary(
        d["name"], d["entries"], key=d.get("key", "text"), fuzzy=d.get("fuzzy", True),
        ambiguous=d.get("ambiguous"), strip_prefixes=d.get("strip_prefixes"),
        confident_score=d.get("confident_score", CONFIDENT_SCORE),
        confident_margin=d.get("confident_margin", CONFIDENT_MARGIN),
        description=d.get("description", ""))


# Vocabularies built from vietnamadminunits on first access.
_ADMIN_VOCABS = ("district", "commune")
ALIASES = {"relationship": "relation_to_head", "relation": "relation_to_head",
           "ward": "commune", "marital": "marital_status", "blood": "blood_group"}


class Vocabularies(Mapping):
    """Read-only mapping name -> Vocabulary; admin vocabularies load lazily.
    Aliases: relationship/relation -> relation_to_head, ward -> commune."""

    def __init__(self, files: dict[str, Vocabulary]) -> None:
        self._v = dict(files)
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Vocabulary:
        name = ALIASES.get(name, name)
        if name in self._v:
            return self._v[name]
        if name in _ADMIN_VOCABS:
            with self._lock:
                if name not in self._v:
                    self._v[name] = admin_units().vocabulary(name)
            return self._v[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from [n for n in self._v if n not in _ADMIN_VOCABS]
        yield from _ADMIN_VOCABS

    def __len__(self) -> int:
        return len(set(self._v) | set(_ADMIN_VOCABS))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (ALIASES.get(name, name) in self._v
                                          or ALIASES.get(name, name) in _ADMIN_VOCABS)


# Which context key names the unit an admin vocabulary's values lie in.
ADMIN_PARENT = {"district": "province", "commune": "district"}


@lru_cache(maxsize=4096)
def admin_vocabulary_in(name: str, province: str | None, district: str | None) -> tuple[Vocabulary | None, str]:
    """The district or commune vocabulary restricted to the units of the written province or
    district (the header's), and what it lies in; (None, why) when that parent is written but not
    recognized (its units cannot be checked); (the nationwide vocabulary, "") without a parent."""
    name = ALIASES.get(name, name)
    if name not in ADMIN_PARENT:
        return get_vocabulary(name), ""
    au = admin_units()
    pcode = None
    if province:
        s = load_vocabularies()["province"].snap(province)
        if s.value is None or not s.confident:
            return None, f"province {province!r} not recognized"
        pcode = _code2(str(s.attrs.get("id_code", "")))
    if name == "district":
        return (au.vocabulary("district", pcode), f"in {province}") if pcode else (get_vocabulary(name), "")
    if not district:
        return get_vocabulary(name), ""
    dv = au.vocabulary("district", pcode) if pcode else get_vocabulary("district")
    d = dv.snap(district)
    codes = d.attrs.get("codes", []) if d.value is not None and d.confident else []
    if len(codes) != 1:
        return None, f"district {district!r} not recognized"
    return au.vocabulary("commune", codes[0]), f"in {d.value}"


@lru_cache(maxsize=1)
def load_vocabularies() -> Vocabularies:
    """Load every vocabulary data file once (cached); admin-unit vocabularies
    (district, commune) are built on first access."""
    vocabs = {}
    for p in sorted(DATA_DIR.glob("*.yaml")):
        v = _vocab_from_file(p)
        vocabs[v.name] = v
    return Vocabularies(vocabs)


def get_vocabulary(name: str) -> Vocabulary:
    """The vocabulary called ``name`` (KeyError if none)."""
    return load_vocabularies()[name]


# --- administrative units ----------------------------------------------------


class AdminUnits:
    """Pre-2025 administrative units (63 provinces, districts, communes) from
    vietnamadminunits, with codes, and the old -> new (2025) converter.

    Codes are the GSO codes: province "36", district "366", commune "14218".
    """

    def __init__(self) -> None:
        rows = legacy_unit_rows()
        self._provinces: dict[str, dict] = {}
        self._districts: dict[str, dict] = {}
        self._communes: dict[str, dict] = {}
        self._districts_of: dict[str, list[str]] = {}
        self._communes_of: dict[str, list[str]] = {}
        for r in rows:
            pc, dc, wc = r["provinceCode"], r["districtCode"], r["wardCode"]
            if pc and pc not in self._provinces:
                self._provinces[pc] = {"code": pc, "name": r["province"],
                                       "short": r["provinceShort"]}
            if dc and dc not in self._districts:
                self._districts[dc] = {"code": dc, "name": r["district"],
                                       "short": r["districtShort"], "type": r["districtType"],
                                       "province_code": pc}
                self._districts_of.setdefault(pc, []).append(dc)
            if wc and wc not in self._communes:
                self._communes[wc] = {"code": wc, "name": r["ward"], "short": r["wardShort"],
                                      "type": r["wardType"], "district_code": dc,
                                      "province_code": pc}
                self._communes_of.setdefault(dc, []).append(wc)
        self._sub_vocab: dict[tuple[str, str], Vocabulary] = {}
        self._lock = threading.Lock()

    def provinces(self) -> list[dict]:
        """[{code, name, short}] for the 63 pre-2025 provinces."""
        return list(self._provinces.values())

    def districts(self, province_code: str | None = None) -> list[dict]:
        """[{code, name, short, type, province_code}], all or of one province."""
        if province_code is None:
            return list(self._districts.values())
        return [self._districts[c] for c in self._districts_of.get(_code2(province_code), [])]

    def communes(self, district_code: str | None = None) -> list[dict]:
        """[{code, name, short, type, district_code, province_code}], all or of one district."""
        if district_code is None:
            return list(self._communes.values())
        return [self._communes[c] for c in self._communes_of.get(district_code, [])]

    def province(self, code: str) -> dict | None:
        """The province with GSO code ``code`` ("36" or ID-style "036"), or None."""
        return self._provinces.get(_code2(code))

    def district(self, code: str) -> dict | None:
        return self._districts.get(code)

    def commune(self, code: str) -> dict | None:
        return self._communes.get(code)

    def vocabulary(self, level: str, parent_code: str | None = None) -> Vocabulary:
        """A Vocabulary of district or commune names, nationwide or within one
        province (district) / district (commune). Values are short names."""
        key = (level, parent_code or "")
        with self._lock:
            if key not in self._sub_vocab:
                if level == "district":
                    units = self.districts(parent_code) if parent_code else self.districts()
                    prefixes = ["quận", "huyện", "thị xã", "thành phố"]
                elif level == "commune":
                    units = self.communes(parent_code) if parent_code else self.communes()
                    prefixes = ["xã", "phường", "thị trấn"]
                else:
                    raise KeyError(level)
                entries: dict[str, dict] = {}
                for u in units:
                    e = entries.setdefault(u["short"], {"value": u["short"], "variants": [],
                                                        "codes": []})
                    e["variants"].append(u["name"])
                    e["codes"].append(u["code"])
                self._sub_vocab[key] = Vocabulary(level, list(entries.values()),
                                                  strip_prefixes=prefixes)
            return self._sub_vocab[key]

    def convert_to_new(self, commune: str | None = None, district: str | None = None,
                       province: str | None = None) -> dict | None:
        """Convert a pre-2025 unit (names, as parsed) to the post-2025 one.

        Returns {province, province_code, commune, commune_code} (commune fields
        may be None when only the province converts) or None when nothing
        converts. The library returns empty units without error; we return None.
        """
        parts = [clean(p) for p in (commune, district, province) if p and clean(p)]
        if not parts:
            return None
        conv = _converter()
        # No street: the converter would geocode a street over the network.
        u = conv(", ".join(parts))
        if not getattr(u, "province", None):
            return None
        return {"province": u.province, "province_code": u.province_code,
                "commune": u.ward or None, "commune_code": u.ward_code or None}


def legacy_unit_rows() -> list[dict]:
    """Every row of vietnamadminunits' pre-2025 table (province, district, ward: names, short names,
    codes, types), as the library returns it; not cached (callers keep what they build from it)."""
    from vietnamadminunits.database import query  # slow import: keep lazy

    return query("SELECT province, provinceShort, provinceCode, district, districtShort,"
                 " districtCode, districtType, ward, wardShort, wardCode, wardType"
                 " FROM admin_units_legacy")


def post_2025_unit_rows() -> list[dict]:
    """Every row of vietnamadminunits' post-2025 table (province and commune/ward after the 2025
    merger: names, short names, codes, types), as the library returns it; not cached."""
    from vietnamadminunits.database import query  # slow import: keep lazy

    return query("SELECT province, provinceShort, provinceCode, ward, wardShort, wardCode, wardType"
                 " FROM admin_units")


def _code2(code: str) -> str:
    c = str(code).strip()
    return c[1:] if len(c) == 3 and c.startswith("0") else c


@lru_cache(maxsize=1)
def admin_units() -> AdminUnits:
    """The administrative-unit tables (loaded once, ~1 s on first call)."""
    return AdminUnits()


@lru_cache(maxsize=1)
def _converter():
    from vietnamadminunits.converter import converter_2025 as c

    def _no_geocode(_address):  # never reach the network from the converter
        return None

    c.get_geo_location = _no_geocode
    return c.convert_address_2025


@lru_cache(maxsize=1)
def _legacy_parser():
    from vietnamadminunits.parser.parser_legacy import parse_address_legacy
    return parse_address_legacy


# --- addresses ---------------------------------------------------------------

SAME_AS_MARKERS = ("như trên", "nt", "n t", "như trên nt", "nhu tren", "như trên (nt)",
                   "như mục 12", "như trên đã ghi", "như nơi thường trú")
_SAME_AS_KEYS = frozenset(strip_diacritics(m).replace(" ", "") for m in SAME_AS_MARKERS)


def is_same_as_marker(text: object) -> bool:
    """True when ``text`` says "same as above" ("như trên", "nt", "Như trên" ...)."""
    k = strip_diacritics(text, abbreviations=False).replace(" ", "").replace(",", "")
    return bool(k) and k in _SAME_AS_KEYS


@dataclass(frozen=True)
class AddressComponent:
    """One level of an address: value (canonical full name, or text for
    village/street), short name, GSO code where known, and score 0..1."""

    value: str
    short: str | None = None
    code: str | None = None
    score: float = 1.0


@dataclass(frozen=True)
class AddressMatch:
    """A parsed address. Components are None when not found; ``matched`` lists
    the names of the found ones (province, district, commune, village, street);
    ``score`` is the weakest found admin level's score (0 if none);
    ``same_as_previous`` is True for "như trên"/"nt" (nothing else is parsed)."""

    raw: str
    province: AddressComponent | None = None
    district: AddressComponent | None = None
    commune: AddressComponent | None = None
    village: AddressComponent | None = None
    street: AddressComponent | None = None
    matched: tuple[str, ...] = ()
    score: float = 0.0
    same_as_previous: bool = False
    post_2025: bool = False  # the units are the post-2025 ones (province, commune; no district)

    def formatted(self) -> str:
        """Canonical text: village/street, commune, district, province."""
        parts = [c.value for c in (self.street, self.village, self.commune, self.district,
                                   self.province) if c]
        return ", ".join(parts)


_VILLAGE_WORDS = re.compile(
    r"^(thôn|ấp|bản|buôn|làng|xóm|tổ dân phố|tổ|khu phố|khu|khóm|sóc|plei|phum)\b",
    re.IGNORECASE)
_LEVEL = {"province": 1, "district": 2, "commune": 3}
# Expansions for the library's parser (display-form text, not keys).
_DISPLAY_ABBR = [
    (re.compile(r"\bTP\b\.?\s*", re.IGNORECASE), "Thành phố "),
    (re.compile(r"\bQ\.\s*|\bQ\s*(?=\d)", re.IGNORECASE), "Quận "),
    (re.compile(r"\bP\.\s*|\bP\s*(?=\d)", re.IGNORECASE), "Phường "),
    (re.compile(r"\bH\.\s*", re.IGNORECASE), "Huyện "),
    (re.compile(r"\bX\.\s*", re.IGNORECASE), "Xã "),
    (re.compile(r"(^|,\s*)TT\b\.?\s*", re.IGNORECASE), r"\1Thị trấn "),
    (re.compile(r"(^|,\s*)TX\b\.?\s*", re.IGNORECASE), r"\1Thị xã "),
]
_FUZZY_MIN = 0.8


def _expand_display(s: str) -> str:
    for pat, rep in _DISPLAY_ABBR:
        s = pat.sub(rep, s)
    return s


def _library_parse(text: str, level: int):
    try:
        return _legacy_parser()(text, keep_street=True, level=level)
    except Exception:  # the third-party parser must not break validation
        return None


def _fuzzy_fix_segments(segments: list[str], level: int) -> tuple[list[str], dict[str, float]]:
    """Replace misread segments (from the right: province, district, commune)
    by the canonical name they snap to; returns new segments and the fuzzy
    scores used per level."""
    au = admin_units()
    scores: dict[str, float] = {}
    segs = list(segments)
    prov_vocab = load_vocabularies()["province"]
    idx = len(segs) - 1
    if idx < 0:
        return segs, scores
    s = prov_vocab.snap(segs[idx])
    if not (s.value and s.confident and s.score >= _FUZZY_MIN):
        return segs, scores
    if s.score < 1.0:
        scores["province"] = s.score
    segs[idx] = s.value
    pcode = _code2(str(s.attrs.get("id_code", "")))
    if level < 2 or idx == 0:
        return segs, scores
    idx -= 1
    dv = au.vocabulary("district", pcode)
    d = dv.snap(segs[idx])
    if not (d.value and d.confident and d.score >= _FUZZY_MIN):
        return segs, scores
    if d.score < 1.0:
        scores["district"] = d.score
    dcodes = [c for c in d.attrs.get("codes", [])]
    segs[idx] = au.district(dcodes[0])["name"] if dcodes else d.value
    if level < 3 or idx == 0 or not dcodes:
        return segs, scores
    idx -= 1
    cv = au.vocabulary("commune", dcodes[0])
    c = cv.snap(segs[idx])
    if c.value and c.confident and c.score >= _FUZZY_MIN:
        if c.score < 1.0:
            scores["commune"] = c.score
        ccodes = c.attrs.get("codes", [])
        segs[idx] = au.commune(ccodes[0])["name"] if ccodes else c.value
    return segs, scores


@lru_cache(maxsize=128)
def prov_vocab_variants(value: str) -> tuple[str, ...]:
    """Written forms of a province (canonical name and variants) from the data file."""
    v = load_vocabularies()["province"]
    return tuple(f for f, vals in v._forms.items() if value in vals)


@lru_cache(maxsize=4096)
def _parse_address_cached(text: str, level_hint: str | None, province: str | None,
                          district: str | None) -> AddressMatch:
    raw = text
    c = clean(text)
    if not c:
        return AddressMatch(raw)
    if is_same_as_marker(c):
        return AddressMatch(raw, matched=(), score=1.0, same_as_previous=True)
    level = _LEVEL.get(level_hint or "", 3)
    body = _expand_display(c)
    body = re.sub(r"\s*[;\n]\s*", ", ", body)
    ctx = [clean(x) for x in (district, province) if x and clean(x)]
    # the context helps only a text that names no province itself; appended to a full address
    # it would compete with the address's own province
    u = _library_parse(body, level) if ctx else None
    full = body if u is not None and u.province else ", ".join([body, *[_expand_display(x) for x in ctx]])
    if u is None or not u.province:
        u = _library_parse(full, level)
    fuzzy_scores: dict[str, float] = {}
    if u is None or not u.province or (level >= 2 and not u.district and "," in full) or (
            level >= 3 and not u.ward and full.count(",") >= 2):
        segs = [s.strip() for s in full.split(",") if s.strip()]
        fixed, fuzzy_scores = _fuzzy_fix_segments(segs, level)
        if fuzzy_scores:
            u2 = _library_parse(", ".join(fixed), level)
            if u2 is not None and u2.province:
                u = u2
            else:
                fuzzy_scores = {}
    comps: dict[str, AddressComponent] = {}
    if u is not None and u.province:
        prov_vocab = load_vocabularies()["province"]
        code3 = "0" + u.province_code if len(u.province_code or "") == 2 else u.province_code
        pname = next((v for v in prov_vocab.values
                      if prov_vocab.attrs(v).get("id_code") == code3), u.short_province)
        # scored against what was written, not the context appended to it
        key, key_nd = match_key(body), strip_diacritics(body)

        def _score(level: str, short: str, *names: str) -> float:
            # Lower when the text names the unit only without its diacritics, or
            # not at all (inferred from a lower level or from the context).
            s = fuzzy_scores.get(level, 1.0)
            forms = [short, *names]
            if any(match_key(f) in key for f in forms if f):
                return s
            if any(strip_diacritics(f) in key_nd for f in forms if f):
                return min(s, NO_DIACRITICS_SCORE)
            return min(s, 0.85)

        comps["province"] = AddressComponent(
            pname, u.short_province, u.province_code,
            _score("province", u.short_province, pname, *prov_vocab_variants(pname)))
        if u.district:
            comps["district"] = AddressComponent(u.district, u.short_district, u.district_code,
                                                 _score("district", u.short_district))
        if u.ward:
            comps["commune"] = AddressComponent(u.ward, u.short_ward, u.ward_code,
                                                _score("commune", u.short_ward))
    # Village/street: comma parts of the input that hold no found admin unit.
    admin_keys = [strip_diacritics(x.short or x.value, abbreviations=False)
                  for x in comps.values()]
    for part in (p.strip() for p in c.split(",")):
        pk = strip_diacritics(_expand_display(part), abbreviations=False)
        if not pk or any(a and a in pk for a in admin_keys):
            continue
        if _VILLAGE_WORDS.match(part):
            if "village" not in comps:
                comps["village"] = AddressComponent(part, None, None, 1.0)
        elif "street" not in comps and (re.search(r"\d", part) or re.match(
                r"(?i)(số|đường|phố|ngõ|ngách|hẻm|kiệt|kp)\b", part)):
            comps["street"] = AddressComponent(part, None, None, 1.0)
    admin = [comps[k].score for k in ("province", "district", "commune") if k in comps]
    score = min(admin) if admin else 0.0
    order = ("province", "district", "commune", "village", "street")
    return AddressMatch(raw, comps.get("province"), comps.get("district"),
                        comps.get("commune"), comps.get("village"), comps.get("street"),
                        tuple(k for k in order if k in comps), round(score, 4), False)


@lru_cache(maxsize=1)
def _parser_2025():
    from vietnamadminunits import parse_address as p

    return p


@lru_cache(maxsize=4096)
def parse_address_2025(text: str) -> AddressMatch | None:
    """The address read against the post-2025 units (province and commune, no district), or None
    when the library finds no province. For texts that name post-2025 units (TT 53/2025 sheets);
    the strict check (validators.check_address_text) decides whether the text really names them."""
    c = clean(text)
    if not c or len(c) > 1000:
        return None
    try:
        u = _parser_2025()(_expand_display(c), mode="FROM_2025", keep_street=True, level=2)
    except Exception:  # the third-party parser must not break validation
        return None
    if u is None or not u.province:
        return None
    comps = {"province": AddressComponent(u.province, u.short_province, u.province_code, 1.0)}
    if u.ward:
        comps["commune"] = AddressComponent(u.ward, u.short_ward, u.ward_code, 1.0)
    return AddressMatch(c, comps["province"], None, comps.get("commune"), None, None, tuple(comps), 1.0, False,
                        post_2025=True)


def parse_address(text: object, level_hint: str | None = None, *,
                  province: str | None = None, district: str | None = None) -> AddressMatch:
    """Parse a Vietnamese address (pre-2025 units) into components with codes.

    level_hint: "province", "district" or "commune": the finest level to look
    for (e.g. a header field holding only a district). ``province``/``district``
    give context from other fields (e.g. the header) for short texts.
    Tolerates missing diacritics, both tone styles, abbreviations (TP., Q., P.,
    H., X., TT) and misread names (fuzzy, when comma-separated). "như trên"/"nt"
    give ``same_as_previous=True``. Never raises.
    """
    raw = text if isinstance(text, str) else clean(text)
    if len(raw) > 1000:  # not an address; avoid feeding huge text to regexes
        return AddressMatch(raw)
    return _parse_address_cached(raw, level_hint, province, district)
