"""Cross-field and household checks as generic rules.

Form knowledge lives in templates: a template binds a rule's ROLES to its
FIELDS. A binding is ``{"rule": name, "fields": {role: field_name},
"params": {...}, "soft": bool}``; ``run_checks(bindings, values)`` runs them and
reports failures naming the FIELDS. Rules take ``(values_by_role, **params)``
with cleaned strings and return ``list[CheckFailure]`` naming ROLES.

Rules (roles; params):

- ``id_vs_sex_dob`` (id, sex, dob): sex digit and birth year of a 12-digit ID
  agree with the sex and date of birth (a year-only dob compares the year).
- ``id_province_vs_place`` (id, place), soft by default: the ID's province code
  agrees with the province of the birth-registration place.
- ``blank_when`` (condition, target[, target2 ...]; ``equals``: list of values,
  ``vocabulary``: name to snap the condition with): every target role is blank
  when the condition equals one of the values (e.g. spouse blank when
  "Chưa kết hôn").
- ``relation_implies_marital`` (relation, marital; ``relations`` default
  [Vợ, Chồng], ``expected`` default "Đã kết hôn").
- ``head_is_self`` (relation, name, head_name, id, head_id; ``head_value``
  default "Chủ hộ"): a head's own name/ID equal the head name/ID (match_key
  for names, digits for IDs).
- ``same_as`` (target, source; ``markers``): "như trên"/"nt" in target copies
  source; fails when the source is blank or itself a marker. Use
  ``resolve_same_as`` to get the resolved values.
- ``older_than`` (person, elder, person_id, elder_id; ``years`` default 12):
  the elder (a parent) is born at least ``years`` before the person; birth
  years come from dob roles, else from 12-digit IDs.
- ``not_after`` (date, limit): date not after limit (e.g. declaration date).
- ``required_when_minor`` (dob, target, ref; ``age`` default 18), soft by
  default: target (e.g. legal representative) is filled when the person is
  under ``age`` on ref (the declaration date).

Household checks: ``check_households(sheets, ...)``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .text import clean, match_key
from .validators import ParsedDate, decode_personal_id, parse_date
from .vocab import get_vocabulary, is_same_as_marker, parse_address

__all__ = [
    "CheckFailure",
    "RULES",
    "SOFT_BY_DEFAULT",
    "run_checks",
    "resolve_same_as",
    "check_households",
]


@dataclass(frozen=True)
class CheckFailure:
    """A failed check. ``fields``: role names (from a rule) or field names
    (from run_checks / check_households); ``soft``: a warning for review, not
    an error; ``sheets``: sheet indexes for household checks."""

    rule: str
    fields: tuple[str, ...]
    reason: str
    soft: bool = False
    sheets: tuple[int, ...] = ()


Rule = Callable[..., list[CheckFailure]]


def _digits(s: str) -> str:
    return re.sub(r"[\s.\-]", "", s or "")


@functools.lru_cache(maxsize=8192)  # a batch's household checks snap the same few relations thousands of times
def _snap_value(vocab: str, text: str) -> str | None:
    s = get_vocabulary(vocab).snap(text)
    return s.value if s.value is not None and s.confident else None


def _birth(dob: str) -> ParsedDate | None:
    p = parse_date(dob) if dob else None
    if p is None or p.two_digit_year or (not p.year_only and p.as_date() is None):
        return None
    return p


def id_vs_sex_dob(v: Mapping[str, str], **_: Any) -> list[CheckFailure]:
    dec = decode_personal_id(v.get("id", ""))
    if dec is None:
        return []
    _ppp, _pname, id_sex, id_year = dec
    out = []
    sex = _snap_value("sex", v.get("sex", "")) if v.get("sex") else None
    if sex and sex != id_sex:
        out.append(CheckFailure("id_vs_sex_dob", ("id", "sex"),
                                f"ID says {id_sex}, sex reads {sex}"))
    b = _birth(v.get("dob", ""))
    if b and b.year != id_year:
        out.append(CheckFailure("id_vs_sex_dob", ("id", "dob"),
                                f"ID says born {id_year}, date of birth reads {b.year}"))
    return out


def id_province_vs_place(v: Mapping[str, str], **_: Any) -> list[CheckFailure]:
    dec = decode_personal_id(v.get("id", ""))
    place = v.get("place", "")
    if dec is None or not place or dec[1] is None:
        return []
    m = parse_address(place)
    if m.province is None or not m.province.code:
        return []
    if m.province.code.zfill(3) != dec[0]:
        return [CheckFailure("id_province_vs_place", ("id", "place"),
                             f"ID province {dec[0]} ({dec[1]}), place is in {m.province.value}",
                             soft=True)]
    return []


def _equals_any(text: str, values: list[str], vocabulary: str | None) -> bool:
    if not text:
        return False
    if vocabulary:
        s = _snap_value(vocabulary, text)
        if s is None:
            return False
        return match_key(s) in {match_key(x) for x in values}
    return match_key(text) in {match_key(x) for x in values}


def blank_when(v: Mapping[str, str], *, equals: list[str] | tuple[str, ...] = (),
               vocabulary: str | None = None, **_: Any) -> list[CheckFailure]:
    if not _equals_any(v.get("condition", ""), list(equals), vocabulary):
        return []
    return [CheckFailure("blank_when", (role, "condition"),
                         f"should be blank when condition is {v.get('condition')!r}")
            for role in sorted(v) if role.startswith("target") and clean(v[role])]


def relation_implies_marital(v: Mapping[str, str], *,
                             relations: list[str] | tuple[str, ...] = ("Vợ", "Chồng"),
                             expected: str = "Đã kết hôn", **_: Any) -> list[CheckFailure]:
    rel = _snap_value("relation_to_head", v.get("relation", "")) if v.get("relation") else None
    if rel is None or match_key(rel) not in {match_key(r) for r in relations}:
        return []
    marital = v.get("marital", "")
    if not marital:
        return []
    m = _snap_value("marital_status", marital)
    if m is not None and m != expected:
        return [CheckFailure("relation_implies_marital", ("relation", "marital"),
                             f"relation {rel} implies {expected}, marital status reads {m}")]
    return []


def head_is_self(v: Mapping[str, str], *, head_value: str = "Chủ hộ",
                 **_: Any) -> list[CheckFailure]:
    rel = _snap_value("relation_to_head", v.get("relation", "")) if v.get("relation") else None
    if rel != head_value:
        return []
    out = []
    name, head = v.get("name", ""), v.get("head_name", "")
    if name and head and match_key(name) != match_key(head):
        out.append(CheckFailure("head_is_self", ("name", "head_name"),
                                "the person is the head but the head's name differs"))
    pid, hid = _digits(v.get("id", "")), _digits(v.get("head_id", ""))
    if pid and hid and pid != hid:
        out.append(CheckFailure("head_is_self", ("id", "head_id"),
                                "the person is the head but the head's ID differs"))
    return out


def _is_marker(text: str, markers: list[str] | tuple[str, ...] | None) -> bool:
    if markers:
        return match_key(text) in {match_key(m) for m in markers}
    return is_same_as_marker(text)


def same_as(v: Mapping[str, str], *, markers: list[str] | None = None,
            **_: Any) -> list[CheckFailure]:
    target = v.get("target", "")
    if not target or not _is_marker(target, markers):
        return []
    src = v.get("source", "")
    if not src or _is_marker(src, markers):
        return [CheckFailure("same_as", ("target", "source"),
                             "'như trên' but the referenced field is blank or also 'như trên'")]
    return []


def _birth_year(dob: str, pid: str) -> int | None:
    b = _birth(dob)
    if b:
        return b.year
    dec = decode_personal_id(pid) if pid else None
    return dec[3] if dec else None


def older_than(v: Mapping[str, str], *, years: int = 12, **_: Any) -> list[CheckFailure]:
    py = _birth_year(v.get("person", ""), v.get("person_id", ""))
    ey = _birth_year(v.get("elder", ""), v.get("elder_id", ""))
    if py is None or ey is None:
        return []
    if py - ey < years:
        roles = tuple(r for r in ("person", "person_id", "elder", "elder_id") if v.get(r))
        return [CheckFailure("older_than", roles,
                             f"born {ey}, only {py - ey} years before the person ({py}); "
                             f"expected at least {years}")]
    return []


def not_after(v: Mapping[str, str], **_: Any) -> list[CheckFailure]:
    d, lim = _birth(v.get("date", "")), _birth(v.get("limit", ""))
    if d is None or lim is None:
        return []
    if d.year_only or lim.year_only:
        later = d.year > lim.year
    else:
        later = d.as_date() > lim.as_date()
    if later:
        return [CheckFailure("not_after", ("date", "limit"),
                             f"{d.text()} is after {lim.text()}")]
    return []


def required_when_minor(v: Mapping[str, str], *, age: int = 18,
                        **_: Any) -> list[CheckFailure]:
    b = _birth(v.get("dob", ""))
    ref = _birth(v.get("ref", ""))
    ref_date = (ref.as_date() if ref and not ref.year_only else None) or _dt.date.today()
    if b is None or clean(v.get("target", "")):
        return []
    bd = b.as_date()
    years = ref_date.year - b.year if bd is None else (
        ref_date.year - bd.year - ((ref_date.month, ref_date.day) < (bd.month, bd.day)))
    if years < age:
        return [CheckFailure("required_when_minor", ("target", "dob"),
                             f"under {age} (age {years}) but the field is blank", soft=True)]
    return []


RULES: dict[str, Rule] = {
    "id_vs_sex_dob": id_vs_sex_dob,
    "id_province_vs_place": id_province_vs_place,
    "blank_when": blank_when,
    "relation_implies_marital": relation_implies_marital,
    "head_is_self": head_is_self,
    "same_as": same_as,
    "older_than": older_than,
    "not_after": not_after,
    "required_when_minor": required_when_minor,
}
SOFT_BY_DEFAULT = frozenset({"id_province_vs_place", "required_when_minor"})


def resolve_same_as(bindings: list[dict], values: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``values`` where each ``same_as`` binding's target that
    holds a "như trên" marker is replaced by its source's value (chains
    resolved in binding order). The input is not modified: keep it as raw."""
    out = dict(values)
    for b in bindings:
        if b.get("rule") != "same_as":
            continue
        f = b.get("fields", {})
        t, s = f.get("target"), f.get("source")
        if not t or not s:
            continue
        markers = (b.get("params") or {}).get("markers")
        tv, sv = clean(out.get(t, "")), clean(out.get(s, ""))
        if tv and _is_marker(tv, markers) and sv and not _is_marker(sv, markers):
            out[t] = sv
    return out


def run_checks(bindings: list[dict], values: Mapping[str, str]) -> list[CheckFailure]:
    """Run every binding on ``values`` (field name -> text) and return the
    failures with FIELD names. "như trên" values are resolved first (see
    resolve_same_as) so later rules see the copied value. A binding's "soft"
    overrides the rule's default. Unknown rules and rule errors are reported
    as failures, never raised."""
    resolved = resolve_same_as(bindings, values)
    out: list[CheckFailure] = []
    for b in bindings:
        name = b.get("rule", "")
        fields: Mapping[str, str] = b.get("fields") or {}
        fn = RULES.get(name)
        soft = bool(b.get("soft", name in SOFT_BY_DEFAULT))
        if fn is None:
            out.append(CheckFailure(name, tuple(fields.values()), f"unknown rule {name!r}", soft))
            continue
        role_values = {role: clean(values.get(f, "") if name == "same_as" else
                                   resolved.get(f, ""))
                       for role, f in fields.items()}
        try:
            fails = fn(role_values, **(b.get("params") or {}))
        except Exception as e:  # a bad binding must not stop the other checks
            out.append(CheckFailure(name, tuple(fields.values()), f"rule error: {e!r}", soft))
            continue
        for fl in fails:
            out.append(CheckFailure(name, tuple(fields.get(r, r) for r in fl.fields),
                                    fl.reason, soft))
    return out


def check_households(sheets: list[Mapping[str, str]], book_field: str = "household_book_no",
                     head_name_field: str = "head_name", head_id_field: str = "head_id",
                     relation_field: str = "relation_to_head",
                     head_value: str = "Chủ hộ", require_head: bool = False) -> list[CheckFailure]:
    """Check sheets grouped by household book number (spaces/dots ignored,
    upper case; sheets without a number are skipped):

    - ``one_head``: at most one sheet whose relation snaps to ``head_value`` (exactly one
      with ``require_head``: a batch may hold only some sheets of a household);
    - ``same_head_name`` / ``same_head_id``: the head's name (match_key) and ID
      (digits) are the same on every sheet that fills them; the sheets that
      differ from the most common value are named.

    Failures name the fields and the sheet indexes (``sheets``)."""
    groups: dict[str, list[int]] = {}
    for i, sh in enumerate(sheets):
        book = re.sub(r"[\s.]", "", clean(sh.get(book_field, ""))).upper()
        if book:
            groups.setdefault(book, []).append(i)
    out: list[CheckFailure] = []
    for book, idxs in groups.items():
        heads = [i for i in idxs
                 if clean(sheets[i].get(relation_field, ""))
                 and _snap_value("relation_to_head", sheets[i][relation_field]) == head_value]
        if len(heads) > 1 or (require_head and not heads):
            what = "no sheet" if not heads else f"{len(heads)} sheets"
            out.append(CheckFailure("one_head", (relation_field, book_field),
                                    f"household {book}: {what} with {head_value}",
                                    False, tuple(heads or idxs)))
        for rule, fld, key in (("same_head_name", head_name_field, match_key),
                               ("same_head_id", head_id_field, _digits)):
            keyed = {i: key(clean(sheets[i].get(fld, ""))) for i in idxs}
            keyed = {i: k for i, k in keyed.items() if k}
            if len(set(keyed.values())) <= 1:
                continue
            common, _n = Counter(keyed.values()).most_common(1)[0]
            odd = tuple(i for i, k in keyed.items() if k != common)
            out.append(CheckFailure(rule, (fld, book_field),
                                    f"household {book}: {fld} differs between sheets",
                                    False, odd))
    return out
