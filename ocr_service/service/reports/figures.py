"""The field-work figures and lists (docs/reports.md), as plain functions over the store.

- :func:`progress`: per commune and village, and per collecting officer: sheets issued, returned
  (scanned), read, waiting for a rescan, needing review, done (verified or auto-accepted), exported,
  to revisit, inconsistent;
- :func:`revisits`: fields to fetch again in the field (a required field blank, a field review
  found unreadable or rejected), with the household, its head and its address;
- :func:`inconsistent`: failed cross-field checks (on the final values) and household checks;
- :func:`duplicates`: pairs of sheets with the same ID number, or the same name and date of birth.

Each takes a Session and the templates directory (the roles of the fields are template data) and
optional filters (``batch``: name or id; ``commune``, ``officer``: names), and returns JSON-able dicts. The
Vietnamese texts are for the page, the printed lists and the CSV files.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from ocr_service.pipeline.households import household_findings
from ocr_service.pipeline.reasons import ReviewReason, describe
from ocr_service.service.store import repository as repo
from ocr_service.service.reports.facts import (
    Facts,
    SheetFacts,
    field_rows,
    final_value,
    load_facts,
    person_key,
    place_key,
)
from ocr_service.service.reports.issued import issued_rows
from ocr_service.service.store.models import (
    FIELD_AUTO,
    FIELD_REJECTED,
    FIELD_REVIEW,
    FIELD_VERIFIED,
    FieldRow,
)
from ocr_service.vietnamese.checks import run_checks
from ocr_service.vietnamese.validators import parse_date

UNREADABLE_NOTE = "không đọc được"  # the review station's note on a field marked unreadable (F4)
KINDS = ("progress", "revisits", "inconsistent", "duplicates")


def sheet_url(sheet_id: int) -> str:
    """The review station's page of a sheet (web/routes.py ``sheet_page``)."""
    return f"/review/sheets/{sheet_id}"


def _exported_sheet_ids(session: Session) -> set[int]:
    """The ids of the sheets a finished export has written complete (the ``export_sheets`` table)."""
    return repo.exported_sheet_ids(session)


# -- the scope -----------------------------------------------------------------------------------------

@dataclass
class Scope:
    """The sheets a report covers, loaded once and shared by the figures computed from it."""

    session: Session
    templates_dir: Path
    facts: Facts
    batch: int | str | None = None
    commune: str | None = None
    officer: str | None = None
    _revisits: list[dict] | None = None
    _inconsistent: list[dict] | None = None

    @property
    def batch_ids(self) -> list[int]:
        return sorted(self.facts.batches)


def scope(s: Session, templates_dir: Path | str, *, batch: int | str | None = None,
          commune: str | None = None, officer: str | None = None) -> Scope:
    """The sheets of one batch, commune or officer (or all), read from the store (see facts.load_facts)."""
    commune, officer = commune or None, officer or None
    facts = load_facts(s, templates_dir, batch=batch, commune=commune, officer=officer)
    return Scope(s, Path(templates_dir), facts, batch, commune, officer)


def _person(sh: SheetFacts) -> dict:
    return {"sheet_id": sh.id, "sheet_url": sheet_url(sh.id), "batch": sh.batch, "commune": sh.commune,
            "village": sh.village, "officer": sh.officer, "household": sh.household, "head_name": sh.get("head_name"),
            "address": sh.address, "full_name": sh.get("full_name"), "dob": sh.get("dob"),
            "id_number": sh.get("person_id")}


def _natural(key: str) -> tuple:
    """A sort key that puts "thôn 3" before "thôn 13", and the unknown ("") last."""
    return (key == "", tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", key) if p))


def _order(row: dict) -> tuple:
    return (_natural(place_key(row["commune"])), _natural(place_key(row["village"])), _natural(row["household"]),
            person_key(row["head_name"]), row["sheet_id"])


# -- revisits ------------------------------------------------------------------------------------------

def revisits(sc: Scope) -> list[dict]:
    """One row per field to fetch again: a required field left blank (``blank``; still ``pending``
    while review has not confirmed it), a field review marked unreadable (``unreadable``) or rejected
    with another note (``rejected``). Ordered by commune, village, household, sheet."""
    if sc._revisits is not None:
        return sc._revisits
    sheets = sc.facts.by_id()
    # Only rows that can be on the list leave the database: a sheet has many optional fields left
    # blank (a parent's ID, a spouse …), which are not.
    required = sorted({f.name for sh in {sh.tpl.ref: sh for sh in sc.facts.sheets}.values() if sh.tpl.template
                       for f in sh.tpl.template.fields if f.required})
    blank = or_(and_(FieldRow.status == FIELD_VERIFIED, func.coalesce(FieldRow.verified_value, "") == ""),
                and_(FieldRow.status.in_([FIELD_AUTO, FIELD_REVIEW]), FieldRow.value == ""))
    flagged = cast(FieldRow.reasons, String).like(f"%{ReviewReason.EMPTY_REQUIRED.value}%")
    q = (select(FieldRow.sheet_id, FieldRow.name, FieldRow.position, FieldRow.status, FieldRow.reasons,
                FieldRow.review_note)
         .where(or_(FieldRow.status == FIELD_REJECTED, and_(blank, or_(FieldRow.name.in_(required), flagged)))))
    if sc.batch is not None:
        q = q.where(FieldRow.batch_id.in_(sc.batch_ids))
    out = []
    for sh_id, name, position, status, reasons, note in sc.session.execute(q):
        sh = sheets.get(sh_id)
        if sh is None:
            continue
        codes = {str(r).split(":", 1)[0] for r in reasons or []}
        if status == FIELD_REJECTED:
            if not note or note.strip() == UNREADABLE_NOTE:
                kind, reason = "unreadable", f"{describe(ReviewReason.UNREADABLE, 'vi')} (kiểm tra viên xác nhận)"
            else:
                kind, reason = "rejected", f"Bị từ chối khi duyệt: {note.strip()}"
        elif sh.tpl.required(name) or ReviewReason.EMPTY_REQUIRED.value in codes:
            kind, reason = "blank", describe(ReviewReason.EMPTY_REQUIRED, "vi")
        else:
            continue
        pending = status == FIELD_REVIEW
        if pending:
            reason += " (chưa duyệt)"
        out.append({**_person(sh), "field": name, "label": sh.tpl.label(name), "kind": kind, "reason": reason,
                    "pending": pending, "_pos": position})
    out.sort(key=lambda r: (*_order(r), r["_pos"]))
    for r in out:
        del r["_pos"]
    sc._revisits = out
    return out


# -- inconsistent records ----------------------------------------------------------------------------

def inconsistent(sc: Scope) -> list[dict]:
    """One row per failed check and sheet: the template's cross-field checks run again on the final
    values of each sheet the pipeline flagged (a failure review corrected is gone; one review
    confirmed stays), and the household checks run over the sheets of each commune (one household's
    sheets may be in several batches). ``reason`` is the Vietnamese sentence; ``others``: the other
    sheets of the household a household check names."""
    if sc._inconsistent is not None:
        return sc._inconsistent
    sheets = sc.facts.by_id()
    out: list[dict] = []
    q = select(FieldRow.sheet_id).where(cast(FieldRow.reasons, String).like(f'%"{ReviewReason.CHECK.value}:%')).distinct()
    if sc.batch is not None:
        q = q.where(FieldRow.batch_id.in_(sc.batch_ids))
    flagged = [i for i in sc.session.scalars(q) if i in sheets]
    for sh_id, fields in field_rows(sc.session, flagged).items():
        sh = sheets[sh_id]
        if sh.tpl.template is None:
            continue
        values = {f.name: final_value(f.status, f.value, f.verified_value) for f in fields}
        for failure in run_checks(list(sh.tpl.template.checks), values):
            if failure.soft:
                continue
            out.append({**_person(sh), "kind": "sheet", "rule": failure.rule,
                        "fields": [sh.tpl.label(n) for n in failure.fields],
                        "reason": describe(ReviewReason.CHECK.detail(f"{failure.rule}: {failure.reason}"), "vi"),
                        "others": []})
    groups: dict[tuple[str, str], list[SheetFacts]] = defaultdict(list)
    for sh in sc.facts.sheets:
        if sh.tpl.template is not None and sh.tpl.template.household:
            groups[(sh.tpl.ref, place_key(sh.commune))].append(sh)
    for members in groups.values():
        template = members[0].tpl.template
        for finding in household_findings(template, [sh.values for sh in members]):
            book = members[finding.sheets[0]].household if finding.sheets else ""
            household = [sh.id for sh in members if sh.household and _book(sh.household) == _book(book)]
            for i in finding.sheets:
                sh = members[i]
                out.append({**_person(sh), "kind": "household", "rule": finding.rule,
                            "fields": [members[0].tpl.label(n) for n in finding.fields],
                            "reason": describe(finding.review_reason, "vi"),
                            "others": [o for o in household if o != sh.id]})
    out.sort(key=lambda r: (*_order(r), r["kind"], r["rule"]))
    sc._inconsistent = out
    return out


def _book(book: str) -> str:
    return re.sub(r"[\s.]", "", book).upper()


# -- likely duplicates -------------------------------------------------------------------------------

def _id_key(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) in (9, 12) and len(set(digits)) > 1 else None


def _name_dob_key(name: str, dob: str) -> str | None:
    n = person_key(name)
    d = parse_date(dob) if dob else None
    if not n or d is None or d.two_digit_year:
        return None
    return f"{n}|{d.text()}"


_MARKS = re.compile(r"[\u0300-\u036f]")
_NOT_LETTERS = re.compile(r"[\W_]+")


def _loose_name_dob(name: str, dob: str) -> str | None:
    """A cheap key that any two sheets with the same ``_name_dob_key`` share (letters and digits, no
    marks, i for y; the date's numbers without leading zeros): the exact key, which costs far more,
    is then computed only for the few sheets that share a cheap one."""
    letters = _NOT_LETTERS.sub("", _MARKS.sub("", unicodedata.normalize("NFD", name.casefold())))
    parts = re.findall(r"\d+", dob)
    if len(parts) == 1 and len(parts[0]) == 8:  # ddmmyyyy from digit boxes
        parts = [parts[0][:2], parts[0][2:4], parts[0][4:]]
    if not letters or not parts:
        return None
    return letters.replace("đ", "d").replace("y", "i") + "|" + ".".join(p.lstrip("0") for p in parts)


def duplicates(sc: Scope) -> list[dict]:
    """Pairs of sheets that are likely the same person: the same ID number (9 or 12 digits), or
    the same name (matching key) and date of birth, in one batch or across batches and households.
    One pass over the sheets, grouped by key: a group of n sheets gives n − 1 pairs (each with the
    group's first sheet), so the cost stays linear however large a group. A pair matched on both
    keys is one row with both ``reasons``."""
    groups: dict[tuple[str, str], list[SheetFacts]] = defaultdict(list)
    loose: dict[str, list[SheetFacts]] = defaultdict(list)
    for sh in sc.facts.sheets:
        k = _id_key(sh.get("person_id"))
        if k:
            groups[("id", k)].append(sh)
        k = _loose_name_dob(sh.get("full_name"), sh.get("dob"))
        if k:
            loose[k].append(sh)
    for members in loose.values():
        if len(members) < 2:
            continue
        for sh in members:
            k = _name_dob_key(sh.get("full_name"), sh.get("dob"))
            if k:
                groups[("name_dob", k)].append(sh)
    pairs: dict[tuple[int, int], dict] = {}
    for (kind, key), members in groups.items():
        if len(members) < 2:
            continue
        first = members[0]
        for other in members[1:]:
            row = pairs.get((first.id, other.id))
            if row is None:
                same_household = bool(first.household) and _book(first.household) == _book(other.household)
                row = pairs[(first.id, other.id)] = {
                    "a": _person(first), "b": _person(other), "kinds": [], "reasons": [],
                    "same_batch": first.batch_id == other.batch_id, "same_household": same_household,
                    "group_size": len(members)}
            row["kinds"].append(kind)
            row["reasons"].append(f"Trùng số định danh {key}" if kind == "id" else
                                  f"Trùng họ tên và ngày sinh ({first.get('full_name')}, {key.split('|')[1]})")
            row["group_size"] = max(row["group_size"], len(members))
    out = list(pairs.values())
    out.sort(key=lambda r: (_order(r["a"]), r["b"]["sheet_id"]))
    return out


# -- progress ----------------------------------------------------------------------------------------

COUNTS = ("issued", "returned", "read", "rescan", "needs_review", "done", "exported", "revisit", "inconsistent")


def _blank() -> dict:
    return {k: 0 for k in COUNTS} | {"issued": None, "issued_from": ""}


def _names() -> defaultdict:
    return defaultdict(Counter)


def _add_issued(row: dict, n: int | None, source: str) -> None:
    if n is None:
        return
    row["issued"] = (row["issued"] or 0) + n
    row["issued_from"] = source if row["issued_from"] in ("", source) else "mixed"


def _add_row(into: dict, row: dict) -> None:
    """Add a row's counts into a total row (issued only where known)."""
    for k in COUNTS:
        if k != "issued":
            into[k] += row[k]
    _add_issued(into, row["issued"], row["issued_from"])


def progress(sc: Scope) -> dict:
    """``{"places": [...], "officers": [...], "total": {...}}``: per commune (``level: commune``,
    the commune's totals) and its villages (``level: village``), and per officer, the counts of
    COUNTS. ``issued`` comes from the imported issue list (``issued_from: list``) where it names the
    commune (officer), else from the batches' expected counts (``issued_from: batches``); None when
    neither is known."""
    facts = sc.facts
    revisit_ids = {r["sheet_id"] for r in revisits(sc)}
    inconsistent_ids = {r["sheet_id"] for r in inconsistent(sc)}
    exported = _exported_sheet_ids(sc.session)
    places: dict[tuple[str, str], dict] = defaultdict(_blank)
    officers: dict[str, dict] = defaultdict(_blank)
    commune_names, village_names, officer_names = _names(), _names(), _names()

    def count(row: dict, sh: SheetFacts) -> None:
        row["returned"] += 1
        row["read"] += 1
        row["needs_review"] += sh.status == FIELD_REVIEW
        row["done"] += sh.status in (FIELD_AUTO, FIELD_VERIFIED)
        row["exported"] += sh.id in exported
        row["revisit"] += sh.id in revisit_ids
        row["inconsistent"] += sh.id in inconsistent_ids

    for sh in facts.sheets:
        ck, vk = sh.place
        count(places[(ck, vk)], sh)
        commune_names[ck][sh.commune] += 1
        village_names[(ck, vk)][sh.village] += 1
        ok = person_key(sh.officer)
        count(officers[ok], sh)
        officer_names[ok][sh.officer] += 1
    for b in facts.batches.values():
        ck, vk, ok = place_key(b.commune), place_key(b.village), person_key(b.officer)
        for row in (places[(ck, vk)], officers[ok]):
            row["returned"] += b.unread
            row["rescan"] += b.rescan
        commune_names[ck][b.commune] += 1
        village_names[(ck, vk)][b.village] += 1
        officer_names[ok][b.officer] += 1

    # Issued: the imported list where it covers a commune (an officer), else the batches' expected counts.
    listed = issued_rows(sc.session)
    listed_communes = {place_key(r.commune) for r in listed}
    listed_officers = {person_key(r.officer) for r in listed if r.officer}
    # One batch: the list's lines for its own places only; one commune: all of the commune's lines
    # (a village with no sheet back yet shows as issued, none returned).
    in_batch = set(places) if sc.batch is not None else None
    for r in listed:
        ck, vk, ok = place_key(r.commune), place_key(r.village), person_key(r.officer)
        if ((in_batch is not None and (ck, vk) not in in_batch) or (sc.commune and ck != place_key(sc.commune))
                or (sc.officer and ok != person_key(sc.officer))):
            continue
        _add_issued(places[(ck, vk)], r.sheets, "list")
        commune_names[ck][r.commune] += 1
        village_names[(ck, vk)][r.village] += 1
        if r.officer:
            _add_issued(officers[ok], r.sheets, "list")
            officer_names[ok][r.officer] += 1
    for b in facts.batches.values():
        ck, vk, ok = place_key(b.commune), place_key(b.village), person_key(b.officer)
        if ck not in listed_communes:
            _add_issued(places[(ck, vk)], b.expected, "batches")
        if ok not in listed_officers:
            _add_issued(officers[ok], b.expected, "batches")

    if sc.commune:
        key = place_key(sc.commune)
        places = defaultdict(_blank, {k: v for k, v in places.items() if k[0] == key})

    def shown(names: Counter) -> str:
        named = [(n, c) for n, c in names.most_common() if n]
        return named[0][0] if named else ""

    def rates(row: dict) -> dict:
        row["returned_pct"] = round(100 * row["returned"] / row["issued"], 1) if row["issued"] else None
        row["done_pct"] = round(100 * row["done"] / row["returned"], 1) if row["returned"] else None
        return row

    place_rows, total = [], _blank()
    for ck in sorted({ck for ck, _ in places}, key=_natural):
        villages = sorted((vk for c, vk in places if c == ck), key=_natural)
        commune_row = _blank()
        for vk in villages:
            _add_row(commune_row, places[(ck, vk)])
        commune = shown(commune_names[ck])
        place_rows.append(rates({"level": "commune", "commune": commune, "village": "", **commune_row}))
        for vk in villages:
            place_rows.append(rates({"level": "village", "commune": commune, "village": shown(village_names[(ck, vk)]),
                                     **places[(ck, vk)]}))
        _add_row(total, commune_row)
    officer_rows = []
    for ok in sorted(officers, key=_natural):
        row = officers[ok]
        if not any(row[k] for k in COUNTS if k != "issued") and row["issued"] is None:
            continue
        officer_rows.append(rates({"officer": shown(officer_names[ok]), **row}))
    if sc.officer:
        officer_rows = [r for r in officer_rows if person_key(r["officer"]) == person_key(sc.officer)]
    if sc.commune:  # an officer's figures are of the sheets in scope; issued only where the list says so
        officer_rows = [r for r in officer_rows if r["returned"] or r["issued"]]
    return {"places": place_rows, "officers": officer_rows, "total": rates(total)}


def rows_of(sc: Scope, kind: str) -> list[dict]:
    """The rows of one report kind (``progress`` gives its place rows and then its officer rows)."""
    if kind == "revisits":
        return revisits(sc)
    if kind == "inconsistent":
        return inconsistent(sc)
    if kind == "duplicates":
        return duplicates(sc)
    if kind == "progress":
        p = progress(sc)
        return p["places"] + p["officers"]
    raise ValueError(f"unknown report {kind!r}: one of {', '.join(KINDS)}")


def report(sc: Scope, kind: str) -> dict | list[dict]:
    """The JSON of one report kind: the progress object, or the rows of a list."""
    return progress(sc) if kind == "progress" else rows_of(sc, kind)


def unique_sheets(rows: Iterable[dict]) -> int:
    return len({r["sheet_id"] for r in rows})
