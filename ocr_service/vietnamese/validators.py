"""Field validators, addressed by name (templates name them in data).

Every validator has the signature ``fn(raw, ctx=None, **params) -> Finding`` and
never raises: invalid values are flagged, never dropped. ``ctx`` carries values
from elsewhere on the sheet, e.g. ``declared_on`` (the declaration date, as text
or ``datetime.date``), ``reference_date`` (for ages; defaults to declared_on,
then today), ``province``/``district`` (context for short addresses).

Registry: ``VALIDATORS`` (name -> function); ``get_validator(name)`` also
resolves ``"vocabulary:<name>"``; ``validate(name, raw, ctx, **params)`` runs one.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from .spelling import adds_marks_only, syllable_problem
from .text import clean, fix_ocr_digits, strip_diacritics, title_case_name
from .vocab import (ADMIN_PARENT, _expand_display, admin_units, admin_vocabulary_in, get_vocabulary, is_same_as_marker, parse_address,
                    parse_address_2025, prov_vocab_variants)

__all__ = [
    "Finding",
    "ParsedDate",
    "parse_date",
    "decode_personal_id",
    "ID_PROVINCE_CODES",
    "VALIDATORS",
    "get_validator",
    "validate",
    "validate_date",
    "validate_id_number",
    "validate_person_name",
    "validate_address",
    "validate_household_book_no",
    "validate_vocabulary",
]


@dataclass(frozen=True)
class Finding:
    """What a validator concluded about one field value.

    raw: the text given. value: normalized/canonical value, or the cleaned raw.
    suggestion: a proposed replacement (snapped value, title-cased name ...) or
    None. score: 0..1 certainty that ``value`` is right from the data's point
    of view (1.0 exact vocabulary hit, the snap score otherwise; 0 when a check
    failed). passed: names of checks passed. failed: (check name, reason).
    flags: markers such as "empty", "year_only", "old_cmnd", "ambiguous",
    "same_as_previous", "ocr_digit_fix". data: extra results (decoded ID,
    parsed date, AddressMatch, Snap ...).
    """

    raw: str
    value: str
    suggestion: str | None = None
    score: float = 1.0
    passed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    flags: frozenset[str] = frozenset()
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failed

    @property
    def empty(self) -> bool:
        return "empty" in self.flags

    @property
    def year_only(self) -> bool:
        return "year_only" in self.flags


def _empty(raw: str) -> Finding:
    # Blank is not a failure here: whether the field is required is the caller's call.
    return Finding(raw, "", None, 1.0, ("empty",), (), frozenset({"empty"}))


def _rawstr(raw: object) -> str:
    return raw if isinstance(raw, str) else clean(raw)


# --- dates -------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedDate:
    """A date read from a form; day/month are None when only the year is known;
    ``two_digit_year``: the year was written with two digits (``year`` < 100)."""

    year: int
    month: int | None = None
    day: int | None = None
    two_digit_year: bool = False

    @property
    def year_only(self) -> bool:
        return self.month is None

    def as_date(self) -> _dt.date | None:
        """The calendar date (None for year-only or impossible dates)."""
        if self.month is None or self.day is None:
            return None
        try:
            return _dt.date(self.year, self.month, self.day)
        except ValueError:
            return None

    def text(self) -> str:
        """dd/mm/yyyy, or yyyy for year-only."""
        if self.year_only:
            return f"{self.year:04d}"
        return f"{self.day:02d}/{self.month:02d}/{self.year:04d}"


_DATE_DMY = re.compile(r"^(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{2}|\d{4})$")
_DATE_WORDS = re.compile(r"^ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})$")
_DATE_YEAR = re.compile(r"^(?:nam\s*)?(\d{4})$")
_DATE_DIGITS8 = re.compile(r"^(\d{2})(\d{2})(\d{4})$")  # a comb of boxes read without separators


def _fold(s: str) -> str:
    """Casefolded, without diacritics, punctuation kept (unlike strip_diacritics)."""
    d = unicodedata.normalize("NFD", s.casefold().replace("đ", "d"))
    return "".join(ch for ch in d if not unicodedata.combining(ch))


def parse_date(s: object) -> ParsedDate | None:
    """Parse dd/mm/yyyy, d/m/yyyy (separators / - .), "ngày d tháng m năm yyyy",
    ddmmyyyy (digit boxes) or a bare year. Values are returned as read (the
    day/month may be out of range; a two-digit year is flagged, not guessed);
    None when the text is not date-shaped."""
    c = clean(s)
    if not c or len(c) > 60:
        return None
    k = _fold(c).replace(",", " ")
    k = re.sub("[\u2010-\u2015\u2212]", "-", " ".join(k.split()))
    for pat in (_DATE_DMY, _DATE_WORDS, _DATE_DIGITS8):
        m = pat.match(k)
        if m:
            d, mo, y = (int(g) for g in m.groups())
            return ParsedDate(y, mo, d, len(m.group(3)) == 2)
    m = _DATE_YEAR.match(k)
    if m:
        return ParsedDate(int(m.group(1)))
    return None


def _as_date(v: object) -> _dt.date | None:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str):
        p = parse_date(v)
        return p.as_date() if p else None
    return None


def _years_between(born: ParsedDate, ref: _dt.date) -> float:
    if born.year_only:
        return ref.year - born.year
    d = born.as_date()
    assert d is not None
    return ref.year - d.year - ((ref.month, ref.day) < (d.month, d.day))


def validate_date(raw: object, ctx: Mapping | None = None, *, min_age: float | None = 0,
                  max_age: float | None = 120, allow_year_only: bool = True,
                  not_after: str | None = "declared_on", min_date: str | None = None,
                  max_date: str | None = None, **_: Any) -> Finding:
    """A date: dd/mm/yyyy, d/m/yyyy with / - . separators, "ngày .. tháng .. năm",
    or a year alone (flag ``year_only``). Checks: ``format``, ``real_date``,
    ``plausible_age`` (min_age..max_age years before the reference date; set
    both to None to skip, e.g. for the declaration date), ``not_after``
    (not after ctx[not_after], default the declaration date), ``min_date`` /
    ``max_date`` (dd/mm/yyyy bounds, e.g. a form version's period).
    ``value`` is dd/mm/yyyy (or yyyy) when parsed."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    ctx = ctx or {}
    flags: set[str] = set()
    passed: list[str] = []
    failed: list[tuple[str, str]] = []
    p = parse_date(c)
    if p is None:
        fixed = fix_ocr_digits(c)
        if fixed != c:
            p = parse_date(fixed)
            if p is not None:
                flags.add("ocr_digit_fix")
    if p is None:
        return Finding(raw_s, c, None, 0.0, (), (("format", "not a date (dd/mm/yyyy)"),),
                       frozenset(flags))
    if p.two_digit_year:
        return Finding(raw_s, c, None, 0.0, (), (("format", "two-digit year"),),
                       frozenset(flags | {"two_digit_year"}))
    passed.append("format")
    if p.year_only:
        flags.add("year_only")
        if not allow_year_only:
            failed.append(("format", "year only; a full date is required"))
    value = p.text()
    data: dict[str, Any] = {"date": p}
    if not p.year_only and p.as_date() is None:
        failed.append(("real_date", f"{value} is not a calendar date"))
        return Finding(raw_s, c, None, 0.0, tuple(passed), tuple(failed), frozenset(flags), data)
    if not (1850 <= p.year <= 2200):
        failed.append(("real_date", f"year {p.year} out of range"))
        return Finding(raw_s, value, None, 0.0, tuple(passed), tuple(failed),
                       frozenset(flags), data)
    passed.append("real_date")
    declared = _as_date(ctx.get(not_after)) if not_after else None
    ref = _as_date(ctx.get("reference_date")) or declared or _dt.date.today()
    if min_age is not None or max_age is not None:
        age = _years_between(p, ref)
        lo = min_age if min_age is not None else float("-inf")
        hi = max_age if max_age is not None else float("inf")
        if lo <= age <= hi:
            passed.append("plausible_age")
        else:
            failed.append(("plausible_age", f"age {age:g} on {ref:%d/%m/%Y} outside {lo:g}-{hi:g}"))
    if declared is not None:
        later = (p.year > declared.year) if p.year_only else (p.as_date() > declared)
        if later:
            failed.append(("not_after", f"after the declaration date {declared:%d/%m/%Y}"))
        else:
            passed.append("not_after")
    for name, bound, cmp in (("min_date", min_date, lambda a, b: a >= b),
                             ("max_date", max_date, lambda a, b: a <= b)):
        b = _as_date(bound) if bound else None
        if b is None:
            continue
        d = p.as_date() or _dt.date(p.year, 1 if name == "max_date" else 12,
                                    1 if name == "max_date" else 31)
        if cmp(d, b):
            passed.append(name)
        else:
            failed.append((name, f"{value} beyond {b:%d/%m/%Y}"))
    score = 0.0 if failed else (0.9 if "ocr_digit_fix" in flags else 1.0)
    return Finding(raw_s, value, value if value != c else None, score, tuple(passed),
                   tuple(failed), frozenset(flags), data)


# --- ID numbers --------------------------------------------------------------


@lru_cache(maxsize=1)
def _id_codes() -> dict[str, str]:
    v = get_vocabulary("province")
    return {str(v.attrs(x)["id_code"]): x for x in v.values if "id_code" in v.attrs(x)}


class _IdCodes(Mapping):
    """Province code (PPP of the personal ID) -> province name, from province.yaml."""

    def __getitem__(self, k: str) -> str:
        return _id_codes()[k]

    def __iter__(self):
        return iter(_id_codes())

    def __len__(self) -> int:
        return len(_id_codes())


ID_PROVINCE_CODES: Mapping[str, str] = _IdCodes()


def decode_personal_id(s: object) -> tuple[str, str | None, str, int] | None:
    """Decode a 12-digit personal ID ``PPP G YY NNNNNN``.

    Returns (province_code "036", province name or None when PPP is not a
    province code (e.g. a birth abroad), sex "Nam"/"Nữ", birth year), or None
    when ``s`` is not 12 digits (spaces and dots ignored)."""
    d = re.sub(r"[\s.\-]", "", clean(s))
    if len(d) != 12 or not d.isascii() or not d.isdigit():
        return None
    ppp, g, yy = d[:3], int(d[3]), int(d[4:6])
    sex = "Nam" if g % 2 == 0 else "Nữ"
    year = 1900 + 100 * (g // 2) + yy
    return ppp, _id_codes().get(ppp), sex, year


def validate_id_number(raw: object, ctx: Mapping | None = None, *,
                       allow_cmnd: bool = True, **_: Any) -> Finding:
    """A 12-digit personal ID (province code in the TT 07/2016 list, century/
    sex digit, birth year not in the future) or a 9-digit old CMND (format only,
    flag ``old_cmnd``). Spaces/dots are ignored; letters often misread for
    digits are fixed (flag ``ocr_digit_fix``). ``data["decoded"]`` holds
    decode_personal_id's result."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    flags: set[str] = set()
    d = re.sub(r"[\s.\-]", "", c)
    if not (d.isascii() and d.isdigit()):
        fixed = fix_ocr_digits(d)
        if fixed.isascii() and fixed.isdigit() and len(fixed) in (9, 12):
            d = fixed
            flags.add("ocr_digit_fix")
        else:
            return Finding(raw_s, c, None, 0.0, (), (("digits", "contains non-digits"),))
    passed = ["digits"]
    if len(d) == 9:
        if not allow_cmnd:
            return Finding(raw_s, d, None, 0.0, tuple(passed),
                           (("length", "9-digit CMND not accepted here"),),
                           frozenset(flags | {"old_cmnd"}))
        score = 0.9 if flags else 1.0
        return Finding(raw_s, d, d if d != c else None, score, (*passed, "length"), (),
                       frozenset(flags | {"old_cmnd"}))
    if len(d) != 12:
        return Finding(raw_s, d, None, 0.0, tuple(passed),
                       (("length", f"{len(d)} digits; expected 12 (or 9 for CMND)"),),
                       frozenset(flags))
    passed.append("length")
    failed: list[tuple[str, str]] = []
    dec = decode_personal_id(d)
    assert dec is not None
    ppp, pname, sex, year = dec
    if pname is None:
        failed.append(("province_code", f"{ppp} is not a province code"))
    else:
        passed.append("province_code")
    today = _dt.date.today()
    ref = _as_date((ctx or {}).get("declared_on")) or today
    if year > ref.year:
        failed.append(("birth_year", f"encodes birth year {year}, after {ref.year}"))
    elif ref.year - year > 130:
        failed.append(("birth_year", f"encodes birth year {year}, implausibly old"))
    else:
        passed.append("birth_year")
    data = {"decoded": dec, "province_code": ppp, "province": pname, "sex": sex,
            "birth_year": year}
    score = 0.0 if failed else (0.9 if flags else 1.0)
    return Finding(raw_s, d, d if d != c else None, score, tuple(passed), tuple(failed),
                   frozenset(flags), data)


# --- names -------------------------------------------------------------------

_VI_LETTERS = set(
    "abcdefghijklmnopqrstuvwxyzđ"
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ")


def validate_person_name(raw: object, ctx: Mapping | None = None, *, min_syllables: int = 2,
                         max_syllables: int = 6, **_: Any) -> Finding:
    """A person's name: Vietnamese letters and spaces (apostrophes allowed, as in
    minority names like H'Hen), min..max syllables (default 2-6). Checks:
    ``charset``, ``syllables``, ``syllable``: every syllable, given names
    included, has the structure of a Vietnamese syllable (onset, rhyme, a stop
    ending only with sắc/nặng: see vietnamese/spelling.py); one that does not
    fails (flag ``unusual_syllable``): "Phạm Thanh Qup" is not a name. ``value`` keeps the cleaned text as
    written; ``suggestion`` is the title-cased form when it differs."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    passed: list[str] = []
    failed: list[tuple[str, str]] = []
    flags: set[str] = set()
    bad = sorted({ch for ch in c.casefold() if ch not in _VI_LETTERS and ch not in " '’ʼ"})
    if bad:
        shown = "".join(bad[:10])
        failed.append(("charset", f"characters not allowed in a name: {shown!r}"))
    else:
        passed.append("charset")
    syllables = c.split(" ")
    if min_syllables <= len(syllables) <= max_syllables:
        passed.append("syllables")
    else:
        failed.append(("syllables", f"{len(syllables)} syllables; expected "
                                    f"{min_syllables}-{max_syllables}"))
    if not failed:
        # every syllable, the given name too: "Phạm Thanh Qup" is no name ("H'Hen": each part)
        for syl in syllables:
            problem = next((p for part in re.split(r"['’ʼ]", syl) if part and (p := syllable_problem(part))), None)
            if problem:
                flags.add("unusual_syllable")
                failed.append(("syllable", f"{syl!r}: {problem}"))
                break
        else:
            passed.append("syllable")
    score = 0.0 if failed else 1.0
    value = c
    if not failed:
        value = restore_name_diacritics(c)
        if value != c:
            flags.add("diacritics_restored")
            score = min(score, 0.9)
    tc = title_case_name(value)
    return Finding(raw_s, value, tc if tc != value and not bad else None, score, tuple(passed),
                   tuple(failed), frozenset(flags))


@lru_cache(maxsize=1)
def name_syllable_lists() -> dict[str, list[str]]:
    """``data/name_syllables.json``: the listed ``surnames`` and ``middle`` names, each list in the
    file's order (commonest first)."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).with_name("data") / "name_syllables.json").read_text(encoding="utf-8"))
    return {"surnames": list(data["surnames"]), "middle": list(data["middle"])}


@lru_cache(maxsize=1)
def _name_syllables() -> tuple[dict[str, str | None], dict[str, str | None], frozenset, frozenset]:
    data = name_syllable_lists()

    def index(words: list[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for w in words:
            k = strip_diacritics(w, abbreviations=False).casefold()
            out[k] = None if k in out and out[k] != w else w  # None: two syllables share the letters
        return out

    fold = lambda ws: frozenset(clean(w).casefold() for w in ws)  # noqa: E731
    return (index(data["surnames"]), index(data["middle"]), fold(data["surnames"]), fold(data["middle"]))


def listed_name_parts(name: str) -> tuple[bool, float]:
    """How far a personal name's fixed parts are listed in ``data/name_syllables.json``: whether its
    first syllable is a listed surname, and the share of its middle syllables that are listed
    middle names (1.0 when it has none). OCR's commonest wrong names are a tone off in exactly these
    parts (Đồ for Đỗ, Trân for Trần, Vẫn for Văn); a rare real surname is unlisted too, so this is
    evidence for the score, not a check that refuses the name."""
    words = clean(name).split(" ")
    if not words or not words[0]:
        return False, 0.0
    _, _, known_surnames, known_middles = _name_syllables()
    middles = words[1:-1]
    share = sum(w.casefold() in known_middles for w in middles) / len(middles) if middles else 1.0
    return words[0].casefold() in known_surnames and len(words) > 1, share


def _marks(word: str) -> int:
    return sum(1 for ch in unicodedata.normalize("NFD", word) if unicodedata.combining(ch)) + word.lower().count("đ")


def _match_case(model: str, word: str) -> str:
    if model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word[:1].lower() + word[1:]


def restore_name_diacritics(name: str) -> str:
    """Restore the diacritics OCR dropped from a name's surname and middle syllables
    (NGUYÊN VĂN A → NGUYỄN VĂN A, Hoàng Thi Uyên → Hoàng Thị Uyên): only where the written
    syllable is not a known surname/middle name and exactly one known one has its letters.
    Given names are never changed: too many of them differ only by a tone mark."""
    words = name.split(" ")
    if len(words) < 2:
        return name
    surnames, middles, known_surnames, known_middles = _name_syllables()
    out = list(words)
    slots = [(0, surnames, known_surnames)] + [(i, middles, known_middles) for i in range(1, len(words) - 1)]
    for i, table, known in slots:
        w = words[i]
        if w.casefold() in known:
            continue
        fix = table.get(strip_diacritics(w, abbreviations=False).casefold())
        if fix and fix.casefold() != w.casefold() and adds_marks_only(w, fix):  # only ever add marks OCR lost
            out[i] = _match_case(w, fix)
    return " ".join(out)


# --- addresses, household book, vocabularies ----------------------------------


def validate_address(raw: object, ctx: Mapping | None = None, *, level_hint: str | None = None,
                     require: tuple[str, ...] | list[str] = ("province",), **_: Any) -> Finding:
    """An address, parsed with vocab.parse_address (ctx "province"/"district"
    give context). Check ``recognized``: every level in ``require`` (default
    province) was found. "như trên"/"nt" passes with flag ``same_as_previous``
    (checks.same_as resolves it). ``suggestion`` is the canonical form;
    ``data["address"]`` is the AddressMatch."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    ctx = ctx or {}
    m = parse_address(c, level_hint, province=ctx.get("province") or None,
                      district=ctx.get("district") or None)
    if m.same_as_previous:
        return _same_as_finding(raw_s, c, {"address": m})
    missing = [lvl for lvl in require if lvl not in m.matched]
    named = [c for c in (m.province, m.district, m.commune) if c is not None and c.score > 0.85]
    if not missing and not named and m.village is None and m.street is None:
        # everything came from the context (the header's province): the text itself names nothing
        return Finding(raw_s, c, None, 0.0, (), (("recognized", "names no place"),), frozenset(), {"address": m})
    if missing:
        return Finding(raw_s, c, m.formatted() or None, 0.0, (),
                       (("recognized", "not found: " + ", ".join(missing)),),
                       frozenset(), {"address": m})
    strict = check_address_text(c, m)
    if strict.problems:
        m2 = parse_address_2025(c)  # post-2025 units (province, commune) when the text names them
        if m2 is not None:
            strict2 = check_address_text(c, m2)
            if not strict2.problems:
                m, strict = m2, strict2
    sugg = m.formatted()
    restored = restore_address_diacritics(c, m)
    value, respelled = _marks_added_only(c, restored, m, agreed=bool(ctx.get("agreed")))
    failed: list[tuple[str, str]] = []
    for written, gazetteer in dict.fromkeys([*strict.respelled, *respelled]):
        failed.append(("gazetteer", f"{written!r} is {gazetteer!r} in the gazetteer"))
    if strict.unmatched:
        failed.append(("gazetteer", "not in the gazetteer: " + ", ".join(repr(w) for w in strict.unmatched)))
    failed.extend(("hierarchy", why) for why in strict.hierarchy)
    flags = {"diacritics_restored"} if value != c else set()
    if getattr(m, "post_2025", False):
        flags.add("post_2025")
    if failed:
        return Finding(raw_s, value, sugg if sugg != value else None, 0.0, ("recognized",), tuple(failed),
                       frozenset(flags | {"respelled"} if respelled or strict.respelled else flags), {"address": m})
    score = min(m.score, 0.9) if flags - {"post_2025"} else m.score
    return Finding(raw_s, value, sugg if sugg != value else None, score, ("recognized", "gazetteer"), (),
                   frozenset(flags), {"address": m})


# --- the strict reading of an address: every written word accounted for ----------------------

# Unit words by level, and abbreviations people write for them (after vocab's display expansion).
_LEVEL_UNIT_WORDS = {
    "province": ("Tỉnh", "Thành phố"),
    "district": ("Quận", "Huyện", "Thị xã", "Thành phố"),
    "commune": ("Xã", "Phường", "Thị trấn"),
}
_FREE_TEXT_WORDS = ("thôn", "ấp", "bản", "buôn", "làng", "xóm", "tổ", "khu", "khóm", "sóc", "plei", "phum",
                    "số", "đường", "phố", "ngõ", "ngách", "hẻm", "kiệt", "kp", "đội", "lô", "tổ dân phố", "khu phố")
_ABBREVIATED = frozenset({"kp"})  # written so, never offered so
_PREFIX_WORDS = ("UBND",)  # "UBND xã …": the commune's people's committee


def place_words() -> tuple[str, ...]:
    """The words that open a part of an address below the commune, which no gazetteer lists (a
    hamlet, a residential group, a street, a house number: "Thôn", "Tổ dân phố", "Số"), capitalized
    as they open a part; abbreviations left out."""
    return tuple(w[:1].upper() + w[1:] for w in _FREE_TEXT_WORDS if w not in _ABBREVIATED)


@dataclass(frozen=True)
class AddressCheck:
    """What the strict reading found: written words no gazetteer unit or unit word accounts for,
    units written with other marks or letters than the gazetteer's (written, gazetteer), and
    hierarchy breaks (a commune outside the written district …)."""

    unmatched: tuple[str, ...] = ()
    respelled: tuple[tuple[str, str], ...] = ()
    hierarchy: tuple[str, ...] = ()
    match_of: Any = None

    @property
    def problems(self) -> bool:
        return bool(self.unmatched or self.respelled or self.hierarchy)


def _segment_words(text: str) -> list[list[str]]:
    """The words of each comma segment, abbreviations expanded, punctuation-only tokens left out."""
    body = _expand_display(_periods_to_commas(text))
    out = []
    for seg in re.split(r"[,;]", body):
        words = [w.strip(".()[]:\"'") for w in seg.split()]
        out.append([w for w in words if re.search(r"\w", w)])
    return out


def _word_match(written: str, gazetteer: str) -> str | None:
    """'same' | 'added' (marks only added) | 'respelled' (same letters, other marks) | None."""
    if written.casefold() == gazetteer.casefold():
        return "same"
    if adds_marks_only(written, gazetteer):
        return "added"
    if _fold_word(written) == _fold_word(gazetteer):
        return "respelled"
    return None


def _span_match(words: list[str], start: int, form: list[str]) -> str | None:
    if start < 0 or start + len(form) > len(words):
        return None
    kinds = [_word_match(w, g) for w, g in zip(words[start:start + len(form)], form)]
    if None in kinds:
        return None
    return "respelled" if "respelled" in kinds else "ok"


def check_address_text(text: str, match: Any) -> AddressCheck:
    """Account for every written word of an address: each admin unit the parser found is written
    as the gazetteer names it (diacritics may be missing, none may differ), with a proper unit
    word or none before it; village and street parts (Thôn …, Số 12, đường …) are free text;
    anything else ("tỉình", "yên" for a lost "Huyện", "Vĩnh Pu") is unmatched. Then the units must
    nest: the commune in the district, the district in the province."""
    segs = _segment_words(text)
    covered = [[False] * len(ws) for ws in segs]
    respelled: list[tuple[str, str]] = []
    levels = [(lvl, getattr(match, lvl, None)) for lvl in ("province", "district", "commune")]
    limit: tuple[int, int] | None = None  # a lower unit is written before (left of) the one above it
    for level, comp in levels:
        if comp is None:
            continue
        forms = [f for f in dict.fromkeys([comp.value, comp.short or ""]
                                          + (list(prov_vocab_variants(comp.value)) if level == "province" else []))
                 if f and not (f.isdigit())]
        forms = sorted({tuple(w for w in f.split() if re.search(r"\w", w)) for f in forms}, key=lambda f: -len(f))
        found = None
        for want in ("ok", "respelled"):
            spans = [(si, i + len(form), len(form), i, list(form))
                     for si in range(len(segs)) for i in range(len(segs[si])) for form in forms
                     if (limit is None or (si, i + len(form)) <= limit)
                     and not any(covered[si][i:i + len(form)]) and _span_match(segs[si], i, list(form)) == want]
            if spans:  # the one ending furthest right, the longest there
                si, _end, _n, i, form = max(spans, key=lambda sp: sp[:3])
                found = (si, i, form, want)
                break
        if not found:
            continue  # not written (inferred from a lower unit or the context), or misspelled: its words stay unmatched
        si, i, form, how = found
        words = segs[si]
        if how == "respelled":
            respelled.append((" ".join(words[i:i + len(form)]), " ".join(form)))
        for k in range(i, i + len(form)):
            covered[si][k] = True
        start = i
        for unit in _LEVEL_UNIT_WORDS[level]:
            uw = unit.split()
            how_u = _span_match(words, i - len(uw), uw)
            if how_u and not any(covered[si][i - len(uw):i]):
                if how_u == "respelled":
                    respelled.append((" ".join(words[i - len(uw):i]), unit))
                for k in range(i - len(uw), i):
                    covered[si][k] = True
                start = i - len(uw)
                break
        if start > 0 and words[start - 1].upper() in _PREFIX_WORDS:
            covered[si][start - 1] = True
        limit = (si, start)
    unmatched: list[str] = []
    free = {_fold_word(w) for w in _FREE_TEXT_WORDS}
    for si, words in enumerate(segs):
        i = 0
        while i < len(words):
            if covered[si][i]:
                i += 1
                continue
            j = i
            while j < len(words) and not covered[si][j]:
                j += 1
            run = words[i:j]
            first = _fold_word(run[0])
            if not (first in free or " ".join(_fold_word(w) for w in run[:3]) == "to dan pho"
                    or any(re.search(r"\d", w) for w in run)):
                unmatched.extend(run)
            i = j
    return AddressCheck(tuple(unmatched), tuple(respelled), tuple(_hierarchy_breaks(match)), match)


def _hierarchy_breaks(match: Any) -> list[str]:
    """Units that do not nest (the parser keeps them consistent; this guards it and merged data)."""
    if getattr(match, "post_2025", False):
        return []
    au = admin_units()
    out = []
    p, d, c = match.province, match.district, match.commune
    if c is not None and c.code and d is not None and d.code:
        unit = au.commune(c.code)
        if unit is None or unit["district_code"] != d.code:
            out.append(f"{c.value} is not in {d.value}")
    if d is not None and d.code and p is not None and p.code:
        unit = au.district(d.code)
        if unit is None or unit["province_code"] != p.code.lstrip("0").zfill(2):
            out.append(f"{d.value} is not in {p.value}")
    return out


def _marks_added_only(text: str, restored: str, match: Any, agreed: bool) -> tuple[str, list[tuple[str, str]]]:
    """The restored address kept only where it adds marks (and fixes 1s read as I/l in numbers),
    with the gazetteer's capitalization for unit names; other changes (a swapped mark, a letter
    one off) are returned as (written, restored) and kept in the value only when no two engines
    agreed on the text."""
    a, b = re.split(r"(\s+|[,.])", text), re.split(r"(\s+|[,.])", restored)
    if len(a) != len(b):
        return (text if agreed else restored), ([(text, restored)] if restored != text else [])
    names = {}
    for comp in (match.province, match.district, match.commune):
        if comp is not None and comp.short:
            for w in comp.short.split():
                names.setdefault(_fold_word(w), w)
    exact = {w.casefold() for comp in (match.province, match.district, match.commune)
             if comp is not None and comp.short for w in comp.short.split()}
    out, changed = [], []
    for x, y in zip(a, b):
        if x == y or not x.strip() or x in ",.":
            out.append(y if x in ",." or not x.strip() else x)
            continue
        if x.casefold() in exact:  # already the gazetteer's word (Ea Kar is no misreading of Ea Đar)
            out.append(x)
            continue
        if _NUMBERISH.match(x):
            out.append(y)
            continue
        if adds_marks_only(x, y):
            g = names.get(_fold_word(y))
            out.append(g if g and not (x.isupper() and len(x) > 1) and adds_marks_only(x, g) else y)
            continue
        changed.append((x, y))
        out.append(x if agreed else y)
    return "".join(out), changed


# Unit words that open a segment of an address ("Quân Hoàng Mai" → "Quận Hoàng Mai").
_UNIT_WORDS = ("Tỉnh", "Thành phố", "Quận", "Huyện", "Thị xã", "Thị trấn", "Phường", "Xã", "Thôn", "Xóm",
               "Ấp", "Bản", "Tổ", "Tổ dân phố", "Khu phố")
_UNIT_WORD_BY_FOLD = {" ".join(strip_diacritics(w, abbreviations=False).casefold().split()): w for w in _UNIT_WORDS}
_NUMBERISH = re.compile(r"^(?=.*\d)[0-9Il|]+$")
# Words that stand before a number in an address ("ngỏ 68" is always "ngõ 68").
_NUMBERED_WORDS = ("Số", "Ngõ", "Ngách", "Hẻm", "Kiệt", "Tổ", "Xóm", "Đội", "Khu", "Lô", "Phường", "Quận", "Ấp", "Thôn")
# Words after which a street's name follows; street names are mostly people's names.
_STREET_WORDS = ("đường", "phố")


_ABBREVIATION = re.compile(r"(?:^|\s)(?:TP|Tp|TX|Tx|TT|Tt|P|Q|H|X|T|KP|Kp)$")


@lru_cache(maxsize=16384)
def _fold_word(word: str) -> str:
    """A word without diacritics, case-folded (cached: addresses repeat the same words)."""
    return strip_diacritics(word, abbreviations=False).casefold()


def _periods_to_commas(text: str) -> str:
    """OCR reads an address's commas as periods ("Ấp 4. Xã Vĩnh Trung. Huyện …"); a period after
    a number or a whole word, before a capitalized or address word, is a comma. Abbreviations
    (P., TP.) keep theirs."""
    if "." not in text:
        return text
    address_words = _address_words()
    out = list(text)
    for i, ch in enumerate(text):
        if ch != ".":
            continue
        after = text[i + 1:].lstrip()
        if not re.match(r"\s+[^\W\d_]", text[i + 1:]):
            continue
        if (after[:1].isupper() or _fold_word(after.split(" ", 1)[0]) in address_words) \
                and not _ABBREVIATION.search(text[:i]) and re.search(r"(\d|[^\W\d_]{2,})$", text[:i]):
            out[i] = ","
    return "".join(out)


@lru_cache(maxsize=1)
def _address_words() -> frozenset:
    return frozenset(_fold_word(w) for w in _UNIT_WORDS + _NUMBERED_WORDS + _STREET_WORDS)


def _close(a: str, b: str, min_len: int = 5) -> bool:
    """One letter apart (after folding), on names long enough for that to be a misreading."""
    from rapidfuzz.distance import Levenshtein

    return len(b) >= min_len and Levenshtein.distance(a, b) <= 1


def restore_address_diacritics(text: str, match: Any) -> str:
    """Restore what OCR lost in an address, keeping its layout and case: the spelling of the
    units the parser recognized (Hà Nôi → Hà Nội, Cẩn Thơ → Cần Thơ), the marks of unit words
    opening a segment (Quân → Quận), words before a number (ngỏ 68 → ngõ 68), the surname and
    middle names of a street named after a person (đường Trân Nhân Tông → Trần Nhân Tông), and
    1s read as I/l inside numbers (Xóm I3 → Xóm 13). Outside recognized units and numbered
    words, marks are only ever added, never swapped."""
    segments = re.split(r"(,)", _periods_to_commas(text))
    comps = [c for c in (match.province, match.district, match.commune) if c is not None and c.code]
    # units the text itself names (not inferred from context or a lower level) may respell it;
    # a unit matched only loosely may, when another unit of the address is named exactly
    trusted = [c for c in comps if c.score >= 0.9]
    anchored = [c for c in comps if c.score >= 0.85] if any(c.score >= 0.95 for c in comps) else []
    units = [p for comp in trusted for p in (comp.value, comp.short) if p]
    fold = _fold_word
    unit_words = {fold(w): w for w in _UNIT_WORDS if " " not in w}
    numbered = {fold(w): w for w in _NUMBERED_WORDS}
    out = []
    for seg in segments:
        if seg == ",":
            out.append(seg)
            continue
        tokens = re.split(r"(\s+|\.)", seg)
        words = [i for i, t in enumerate(tokens) if t and not re.fullmatch(r"\s+|\.", t)]
        for i in words:
            if _NUMBERISH.match(tokens[i]):
                tokens[i] = re.sub(r"[Il|]", "1", tokens[i])
        if len(words) > 1:  # "Huuện Tuần Giáo": a unit word one letter off opens the segment
            first = fold(tokens[words[0]])
            near = [w for k, w in unit_words.items() if k != first and _close(first, k, min_len=4)]
            if len(near) == 1 and first not in unit_words:
                tokens[words[0]] = _match_case(tokens[words[0]], near[0])
        for comp in anchored:
            # "Hòa Thọ Tâu" for the recognized "Hòa Thọ Tây": a unit name one letter off
            if not comp.short or len(words) < 2:
                continue
            short = comp.short.split()
            idx = words[-len(short):]  # the unit's name ends its segment ("Thành phố Nha Tran")
            if len(idx) == len(short) and fold(" ".join(tokens[i] for i in idx)) != fold(comp.short) \
                    and _close(fold(" ".join(tokens[i] for i in idx)), fold(comp.short)):
                for i, p in zip(idx, short):
                    tokens[i] = _match_case(tokens[i], p)
        # "tính Quảng Nam": the word before a recognized unit's name is its unit word, whatever mark
        # OCR put on it
        for comp in trusted:
            n = len(comp.short.split()) if comp.short else 0
            head = words[:-n] if n else []
            if n and 1 <= len(head) <= 2 and fold(" ".join(tokens[i] for i in words[-n:])) == fold(comp.short):
                phrase = _UNIT_WORD_BY_FOLD.get(" ".join(fold(tokens[i]) for i in head))
                if phrase:
                    for i, p in zip(head, phrase.split()):
                        tokens[i] = _match_case(tokens[i], p)
        for a, b in zip(words, words[1:]):
            if tokens[b][:1].isdigit() and fold(tokens[a]) in numbered:
                tokens[a] = _match_case(tokens[a], numbered[fold(tokens[a])])
        for k, i in enumerate(words):
            if tokens[i].casefold() in _STREET_WORDS and k + 2 < len(words):
                idx = words[k + 1:]
                fixed = restore_name_diacritics(" ".join(tokens[j] for j in idx)).split(" ")
                for j, w in zip(idx, fixed):
                    tokens[j] = w
        phrases = [(u, False) for u in units] + [(w, True) for w in _UNIT_WORDS]
        for phrase, is_unit_word in sorted(phrases, key=lambda p: -len(p[0].split())):
            pw = phrase.split()
            key = [fold(w) for w in pw]
            starts = [0] if is_unit_word else range(len(words) - len(pw) + 1)
            for start in starts:
                idx = words[start:start + len(pw)]
                if len(idx) < len(pw) or (is_unit_word and len(words) <= len(pw)):
                    continue
                got = [tokens[i] for i in idx]
                if [fold(w) for w in got] != key or got == pw:
                    continue
                adds_only = all(_marks(p) >= _marks(g) for p, g in zip(pw, got)) and \
                    sum(map(_marks, pw)) > sum(map(_marks, got))
                keeps_marks = sum(map(_marks, pw)) >= sum(map(_marks, got))
                # a recognized unit is spelled as the gazetteer has it, but never loses a mark
                # written on the page (Vĩnh Yên is not Vinh); a unit word opening a segment may
                # swap a mark too (Thòn → Thôn)
                if adds_only or keeps_marks:
                    for i, p in zip(idx, pw):
                        tokens[i] = _match_case(tokens[i], p)
        out.append("".join(tokens))
    return "".join(out)


_BOOK = re.compile(r"^[0-9A-Z][0-9A-Z/\-]{0,19}$")


SAME_AS = "Như trên"


def _same_as_finding(raw_s: str, c: str, data: dict) -> Finding:
    """ "như trên", "nt", "Như trèn" …: the canonical marker; exact spellings are sure, a marker
    recognized only without its diacritics less so."""
    from .text import match_key

    exact = match_key(c) in (match_key(SAME_AS), "nt")
    return Finding(raw_s, SAME_AS, SAME_AS if c != SAME_AS else None, 1.0 if exact else 0.9, ("same_as",), (),
                   frozenset({"same_as_previous"}), data)


def validate_household_book_no(raw: object, ctx: Mapping | None = None, **_: Any) -> Finding:
    """A household book number: digits/letters (with / or -), at least one
    digit, at most 20 characters; spaces and dots removed, upper-cased."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    v = re.sub(r"[\s.]", "", c).upper()
    if not (_BOOK.match(v) and any(ch.isdigit() for ch in v) and v.isascii()):
        return Finding(raw_s, c, None, 0.0, (), (("format", "not a household book number"),))
    if v.isdigit():
        return Finding(raw_s, v, v if v != c else None, 1.0, ("format",))
    digits = sum(ch.isdigit() for ch in v)
    fixed = fix_ocr_digits(re.sub(r"[\s.]", "", c))
    if digits >= 0.6 * len(v) and fixed.isdigit():
        # mostly digits with a letter or two: OCR's O/S/I for 0/5/1, not a lettered number
        return Finding(raw_s, fixed, fixed, 0.8, ("format",), (), frozenset({"ocr_digit_fix"}))
    return Finding(raw_s, v, v if v != c else None, 0.7, ("format",), (), frozenset({"letters"}))


def _lengths(spec: object) -> set[int]:
    """"9" → {9}; "9|12" → {9, 12}; "10-11" → {10, 11}."""
    out: set[int] = set()
    for part in str(spec).replace(",", "|").split("|"):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.update(range(int(lo), int(hi) + 1))
        elif part:
            out.add(int(part))
    return out


def validate_digits(raw: object, ctx: Mapping | None = None, *, length: object = "", **_: Any) -> Finding:
    """A string of digits of a declared length (``digits:9``, ``digits:10-11``, ``digits:9|12``):
    spaces, dots and dashes are ignored; letters OCR reads for digits (O, I, l, S …) are fixed (flag
    ``ocr_digit_fix``, score 0.9). Checks ``digits`` and ``length``: a number short of a digit is
    never accepted."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    d = re.sub(r"[\s.\-]", "", c)
    flags: set[str] = set()
    if not (d.isascii() and d.isdigit()):
        fixed = fix_ocr_digits(d)
        if not (fixed.isascii() and fixed.isdigit()):
            return Finding(raw_s, c, None, 0.0, (), (("digits", "contains non-digits"),))
        d = fixed
        flags.add("ocr_digit_fix")
    want = _lengths(length) if length not in ("", None) else set()
    if want and len(d) not in want:
        shown = "/".join(str(n) for n in sorted(want))
        return Finding(raw_s, d, None, 0.0, ("digits",), (("length", f"{len(d)} digits; expected {shown}"),),
                       frozenset(flags))
    return Finding(raw_s, d, d if d != c else None, 0.9 if flags else 1.0, ("digits", "length"), (),
                   frozenset(flags))


def validate_vocabulary(raw: object, ctx: Mapping | None = None, *, name: str = "",
                        **_: Any) -> Finding:
    """Snap to vocabulary ``name``. Check ``vocabulary`` passes when the snap is
    confident; then ``value`` is the canonical value. Otherwise ``value`` is
    the cleaned raw, ``suggestion`` the best candidate (if any) and the
    failure says why (unknown, close runner-up, ambiguous)."""
    raw_s = _rawstr(raw)
    c = clean(raw_s)
    if not c:
        return _empty(raw_s)
    try:
        vocab = get_vocabulary(name)
    except KeyError:
        return Finding(raw_s, c, None, 0.0, (), (("vocabulary", f"unknown vocabulary {name!r}"),))
    ctx = ctx or {}
    parent_failed: tuple[tuple[str, str], ...] = ()
    if name in ADMIN_PARENT:
        # a district of the written province, a commune of the written district (the header's)
        within, where = admin_vocabulary_in(name, ctx.get("province") or None, ctx.get("district") or None)
        if within is None:
            parent_failed = (("hierarchy", f"cannot check it lies there: {where}"),)
        else:
            vocab = within
    s = vocab.snap(c)
    data = {"snap": s}
    if parent_failed:
        return Finding(raw_s, s.value if s.value and s.confident else c, s.value, 0.0, (), parent_failed,
                       frozenset(), data)
    if s.ambiguous:
        cands = ", ".join(s.candidates) or "several groups"
        return Finding(raw_s, c, None, 0.0, (), (("vocabulary", f"ambiguous: {cands}"),),
                       frozenset({"ambiguous"}), data)
    if s.value is not None and s.confident:
        return Finding(raw_s, s.value, s.value, s.score, ("vocabulary",), (), frozenset(), data)
    if s.value is None:
        reason = f"not in {name}" + (f" {where}" if name in ADMIN_PARENT and where else "")
    elif s.runner_up and s.score - s.runner_up[1] < vocab.confident_margin:
        reason = f"close candidates: {s.value} ({s.score:.2f}), {s.runner_up[0]} ({s.runner_up[1]:.2f})"
    else:
        reason = f"weak match: {s.value} ({s.score:.2f})"
    return Finding(raw_s, c, s.value, s.score, (), (("vocabulary", reason),), frozenset(), data)


def validate_same_as_or(raw: object, ctx: Mapping | None = None, *, then: str = "address",
                        **params: Any) -> Finding:
    """"như trên"/"nt" passes (flag same_as_previous); anything else goes to
    validator ``then``."""
    if is_same_as_marker(raw):
        raw_s = _rawstr(raw)
        return _same_as_finding(raw_s, clean(raw_s), {})
    return validate(then, raw, ctx, **params)


VALIDATORS: dict[str, Callable[..., Finding]] = {
    "date": validate_date,
    "id_number": validate_id_number,
    "person_name": validate_person_name,
    "address": validate_address,
    "household_book_no": validate_household_book_no,
    "vocabulary": validate_vocabulary,
    "same_as_or": validate_same_as_or,
    "digits": validate_digits,
}


# Validators that take one argument in the template's name for them ("vocabulary:ethnicity",
# "digits:9"): the parameter it binds.
ARGUMENT = {"vocabulary": "name", "digits": "length"}


def get_validator(name: str) -> Callable[..., Finding]:
    """The validator registered as ``name``; "vocabulary:<v>" binds the vocabulary, "digits:<n>"
    the length (see ARGUMENT). KeyError for unknown names."""
    base, sep, arg = name.partition(":")
    if sep and base in ARGUMENT:
        fn, param = VALIDATORS[base], ARGUMENT[base]

        def _v(raw: object, ctx: Mapping | None = None, **params: Any) -> Finding:
            return fn(raw, ctx, **{param: arg, **params})

        return _v
    return VALIDATORS[name]


def validate(name: str, raw: object, ctx: Mapping | None = None, **params: Any) -> Finding:
    """Run validator ``name`` on ``raw``. Never raises for a known validator;
    an unknown name gives a failed Finding (check "validator")."""
    try:
        fn = get_validator(name)
    except KeyError:
        raw_s = _rawstr(raw)
        return Finding(raw_s, clean(raw_s), None, 0.0, (),
                       (("validator", f"unknown validator {name!r}"),))
    return fn(raw, ctx, **params)
