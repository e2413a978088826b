"""A record through a mapping: plain values in, the row of exported texts out (or why it is held).

Pure functions, no database. A record whose value cannot be exported faithfully is *held*, never
exported silently: a value with no code in the named list, a value the mapping's ``map`` does not
know, an address whose post-2025 conversion is ambiguous or impossible, a control character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ocr_service.forms.model import cell_name
from ocr_service.service.export.mapping import Mapping, Slot
from ocr_service.service.store.models import FIELD_REJECTED, FIELD_VERIFIED
from ocr_service.vietnamese import codes
from ocr_service.vietnamese.validators import parse_date
from ocr_service.vietnamese.vocab import is_same_as_marker as _is_same_as_marker
from ocr_service.vietnamese.vocab import parse_address

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Record:
    """One sheet as the export sees it: each field's final value and status, and where it is from."""

    sheet_id: int
    status: str
    values: dict[str, str]
    statuses: dict[str, str]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Held:
    """A record kept out of an export, and why (the exporter's list)."""

    sheet_id: int
    reason: str
    meta: dict = field(default_factory=dict)


def final_value(value: str | None, verified_value: str | None, status: str) -> str:
    """What a field holds for export: the reviewer's value once verified, nothing once rejected
    (unreadable), else the pipeline's value."""
    if status == FIELD_VERIFIED:
        return verified_value or ""
    if status == FIELD_REJECTED:
        return ""
    return value or ""


@lru_cache(maxsize=4096)
def is_same_as_marker(text: str) -> bool:
    return _is_same_as_marker(text)


class _Hold(Exception):
    pass


def format_date(text: str, fmt: str) -> str:
    """``text`` (as stored: dd/mm/yyyy, d/m/yyyy or yyyy) in ``fmt``; a year-only date stays the
    year alone. A text that is not a date raises _Hold."""
    p = parse_date(text)
    if p is None or p.two_digit_year:
        raise _Hold(f"{text!r} is not a date with a four-digit year")
    if p.year_only:
        return f"{p.year:04d}"
    if p.as_date() is None:
        raise _Hold(f"{text!r} is not a real date")
    subs = {"dd": f"{p.day:02d}", "d": str(p.day), "mm": f"{p.month:02d}", "m": str(p.month), "yyyy": f"{p.year:04d}"}
    return "".join(subs.get(t, t) for t in re.findall(r"dd|d|mm|m|yyyy|.", fmt))


def split_name(text: str, compound: tuple[str, ...]) -> tuple[str, str, str]:
    """(surname, middle names, given name): the surname is the first word (or a listed two-word
    surname), the given name the last word, the middle what lies between. One word: given only."""
    words = text.split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", "", words[0]
    n = 2 if len(words) >= 3 and " ".join(words[:2]).casefold() in {c.casefold() for c in compound} else 1
    return " ".join(words[:n]), " ".join(words[n:-1]), words[-1]


@lru_cache(maxsize=16384)
def _address_parts(text: str, mode: str) -> dict[str, str]:
    a = parse_address(text)
    detail = ", ".join(c.value for c in (a.street, a.village) if c)
    if a.province is None:
        if mode == "post2025":
            raise _Hold(f"address {text!r}: no administrative unit recognized to convert to post-2025 units")
        return {"full": text, "detail": text, "commune": "", "district": "", "province": "", "unit_code": "",
                "commune_code": "", "district_code": "", "province_code": ""}
    if mode == "post2025":
        c = codes.convert_2025(", ".join(x.value for x in (a.commune, a.district, a.province) if x))
        if not c.ok:
            extra = f" (candidates: {', '.join(c.candidates)})" if c.candidates else ""
            raise _Hold(f"address {text!r}: {c.reason}{extra}")
        unit = c.commune_code or c.province_code or ""
        return {"full": ", ".join(x for x in (detail, c.commune, c.province) if x), "detail": detail,
                "commune": c.commune or "", "district": "", "province": c.province or "", "unit_code": unit,
                "commune_code": c.commune_code or "", "district_code": "", "province_code": c.province_code or ""}
    unit = next((x.code for x in (a.commune, a.district, a.province) if x and x.code), "")
    return {"full": text, "detail": detail, "commune": a.commune.value if a.commune else "",
            "district": a.district.value if a.district else "", "province": a.province.value,
            "unit_code": unit, "commune_code": (a.commune.code or "") if a.commune else "",
            "district_code": (a.district.code or "") if a.district else "", "province_code": a.province.code or ""}


def _value(m: Mapping, s: Slot, rec: Record, row: list[str]) -> str:
    if s.meta:
        return "" if rec.meta.get(s.meta) is None else str(rec.meta[s.meta])
    if s.code_list_of:
        return next(x.code_list for x in m.slots if x.id == s.code_list_of) or ""
    if s.pending == "status":
        return rec.status
    if s.pending == "fields":
        return "; ".join(f"{n}: {st}" for n, st in rec.statuses.items() if st not in ("auto_accepted", FIELD_VERIFIED))
    text = rec.values.get(s.field, "")
    source = m.same_as.get(s.field)
    if source and is_same_as_marker(text):  # "như trên": the field says it is the same as another
        text = rec.values.get(source, "")
    text = unicodedata.normalize("NFC", text)  # as verified, in NFC (no other rewriting)
    if not text.strip():
        return ""
    if CONTROL.search(text):
        raise _Hold(f"field {s.field}: control character in the value")
    if s.kind == "date":
        return format_date(text, s.date_format or m.date_format)
    if s.kind == "name" and s.part != "full":
        sur, mid, given = split_name(text, m.compound_surnames)
        return {"surname": sur, "middle": mid, "given": given}[s.part]
    if s.kind == "address" and (s.part != "full" or m.admin_units == "post2025"):
        if is_same_as_marker(text):
            raise _Hold(f"field {s.field}: says 'same as above' with nothing to refer to")
        return _address_parts(text, m.admin_units)[s.part]
    if s.kind == "digits" and s.part in ("personal_id", "cmnd"):
        digits = re.sub(r"\D", "", text)
        return digits if len(digits) == (12 if s.part == "personal_id" else 9) else ""
    if s.code_list:
        code = codes.code_list(s.code_list).code(text)
        if code is None:
            raise _Hold(f"field {s.field}: no code for {text!r} in the list {s.code_list}")
        return code
    if s.value_map is not None:
        for k, v in s.value_map:
            if k == text:
                return v
        raise _Hold(f"field {s.field}: {text!r} is not in the mapping's map for column {s.id}")
    return text


def apply(m: Mapping, rec: Record) -> list[str] | Held:
    """The row (one text per slot of the mapping) for a record, or :class:`Held` with the reason."""
    row: list[str] = []
    try:
        for s in m.slots:
            try:
                row.append(_value(m, s, rec, row))
            except _Hold as exc:
                if not s.field or str(exc).startswith("field "):
                    raise
                raise _Hold(f"field {s.field}: {exc}") from None
    except _Hold as exc:
        return Held(rec.sheet_id, str(exc), rec.meta)
    return row


def apply_rows(m: Mapping, rec: Record) -> list[list[str]] | Held:
    """The output rows of a record: one (:func:`apply`), or with ``rows: GROUP`` one per entry of
    the repeated group (its rows that hold writing, see ``GroupSpec.filled_rows``), each with the
    sheet's own fields repeated, the entry's cells in the ``GROUP.COLUMN`` columns and its row
    number in ``meta: row``. A sheet with no entry gives one row with those columns empty (nothing
    of the sheet is lost). A row that cannot be exported holds the whole record."""
    if m.group is None:
        one = apply(m, rec)
        return one if isinstance(one, Held) else [one]
    g = m.group
    out = []
    for r in g.filled_rows(rec.values) or [None]:
        values = dict(rec.values)
        for c in g.columns:
            values[f"{g.name}.{c.name}"] = rec.values.get(cell_name(g.name, r, c.name), "") if r else ""
        got = apply(m, replace(rec, values=values, meta={**rec.meta, "row": r}))
        if isinstance(got, Held):
            return replace(got, reason=f"{g.row_label} {r}: {got.reason}" if r else got.reason, meta=rec.meta)
        out.append(got)
    return out
