"""What the reports read from the store, in a few bulk queries: each sheet with its place (commune,
village), its collecting officer and the final values of the fields the reports look at.

A field's final value is what review decided (``verified_value`` of a verified field; nothing for a
rejected one) or else what the pipeline read. Which fields hold the commune, the officer, the
person's ID, name, date of birth and address is template data (the template's ``reports`` section);
the household's book number, head and relation come from its ``household`` section.

The place and officer of a sheet are the batch's (typed by the clerk who boxed the sheets) when the
batch has them, else the sheet's own field (read from the header / the officer's signature line).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ocr_service.errors import OcrServiceError
from ocr_service.forms import loader
from ocr_service.forms.model import Template
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import (
    FIELD_REJECTED,
    FIELD_VERIFIED,
    PAGE_DUPLICATE,
    Batch,
    FieldRow,
    PageRow,
    Sheet,
)
from ocr_service.service.store.models import Template as TemplateRow
from ocr_service.vietnamese.text import clean, match_key

# Words that only say what kind of unit a name is ("Xã Tân Phú" is "Tân Phú"), dropped from the
# matching key so a batch, a sheet and an issue list that write it differently still agree.
PLACE_PREFIXES = ("xã", "phường", "thị trấn", "thôn", "ấp", "bản", "buôn", "làng", "xóm", "tổ dân phố",
                  "khu phố", "tổ", "khu")
_PREFIX_KEYS = tuple(sorted((match_key(p) for p in PLACE_PREFIXES), key=len, reverse=True))
HOUSEHOLD_ROLES = ("book", "head_name", "head_id", "relation")


@functools.lru_cache(maxsize=65536)  # a district has a few hundred place names, written on every sheet
def place_key(name: str | None) -> str:
    """The key two spellings of one commune or village share (case, tone placement, unit word)."""
    k = match_key(name or "")
    for p in _PREFIX_KEYS:
        if k.startswith(p + " ") and len(k) > len(p) + 1:
            return k[len(p) + 1:]
    return k


@functools.lru_cache(maxsize=1 << 17)
def person_key(name: str | None) -> str:
    return match_key(name or "")


def final_value(status: str, value: str | None, verified: str | None) -> str:
    """A field's value after review: the verified value, nothing if rejected, else the reading (both
    stored cleaned already: by the pipeline's validation, by the review station)."""
    if status == FIELD_VERIFIED:
        return (verified or "").strip()
    if status == FIELD_REJECTED:
        return ""
    return (value or "").strip()


@dataclass
class TemplateRoles:
    """The report roles of one template: role → field name, and the template itself (None when it
    cannot be loaded: then only the batch's place and officer are known)."""

    ref: str
    template: Template | None
    roles: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def field_names(self) -> set[str]:
        names = set(self.roles.values())
        if self.template is not None:  # the address may say "như trên": its source is needed too
            for b in self.template.checks:
                f = b.get("fields") or {}
                if b.get("rule") == "same_as" and f.get("target") in names and f.get("source"):
                    names.add(f["source"])
        return names

    def label(self, name: str) -> str:
        if self.template is None:
            return name
        try:
            return self.template.field(name).label.strip().rstrip(":") or name
        except KeyError:
            return name

    def required(self, name: str) -> bool:
        if self.template is None:
            return False
        try:
            return self.template.field(name).required
        except KeyError:
            return False


@functools.lru_cache(maxsize=32)
def template_roles(templates_dir: str, ref: str) -> TemplateRoles:
    try:
        t = loader.load(ref, Path(templates_dir))
    except OcrServiceError:
        return TemplateRoles(ref, None, {})
    roles = dict(t.reports)
    roles.update({r: t.household[r] for r in HOUSEHOLD_ROLES if r in t.household})
    return TemplateRoles(ref, t, roles)


@dataclass(slots=True)  # one per sheet: 100,000 in a district
class SheetFacts:
    """One read sheet as the reports see it. ``values``: final values by field name (only the
    fields the roles name); ``get(role)`` reads one by role."""

    id: int
    batch_id: int
    batch: str
    page_id: int
    status: str
    tpl: TemplateRoles
    commune: str = ""
    village: str = ""
    officer: str = ""
    values: dict[str, str] = field(default_factory=dict)

    def get(self, role: str) -> str:
        name = self.tpl.roles.get(role)
        return self.values.get(name, "") if name else ""

    @property
    def address(self) -> str:
        """The address, "như trên" resolved to the field it refers to (the template's same_as)."""
        if self.tpl.template is None:
            return self.get("address")
        from ocr_service.vietnamese.checks import resolve_same_as

        return resolve_same_as(list(self.tpl.template.checks), self.values).get(self.tpl.roles.get("address", ""), "")

    @property
    def household(self) -> str:
        return self.get("book")

    @property
    def place(self) -> tuple[str, str]:
        return place_key(self.commune), place_key(self.village)


@dataclass
class BatchFacts:
    id: int
    name: str
    commune: str
    village: str
    officer: str
    expected: int | None
    pages: int = 0  # scanned pages that count as a returned sheet (not duplicates, not replaced)
    unread: int = 0  # of which not read into a sheet (waiting, rescan, error)
    rescan: int = 0  # of which waiting for a rescan or failed


@dataclass
class Facts:
    batches: dict[int, BatchFacts]
    sheets: list[SheetFacts]

    def by_id(self) -> dict[int, SheetFacts]:
        return {sh.id: sh for sh in self.sheets}


def _batches(s: Session, batch: int | str | None) -> list[Batch]:
    if isinstance(batch, str) and batch.isdigit():  # a name first ("2024" may be a batch's name), else an id
        named = s.scalars(select(Batch).where(Batch.name == batch)).first()
        return [named if named is not None else repo.get_batch(s, int(batch))]
    if batch is not None:
        return [repo.get_batch(s, batch)]
    return list(s.scalars(select(Batch).order_by(Batch.id)))


def load_facts(s: Session, templates_dir: Path | str, *, batch: int | str | None = None,
               commune: str | None = None, officer: str | None = None) -> Facts:
    """Every read sheet (of one batch, by name or id, of one commune, of one officer, as given) with its
    place, officer and role values, and every batch's page counts. A handful of queries whatever the
    number of sheets; the field rows read are only those of the role fields."""
    rows = _batches(s, batch)
    batches = {b.id: BatchFacts(b.id, b.name, clean(b.commune or ""), clean(b.village or ""),
                                clean(b.officer or ""), b.expected_sheets) for b in rows}
    ids = list(batches)
    only = (lambda col: col.in_(ids)) if batch is not None else (lambda col: True)

    later = aliased(PageRow)
    replaced = select(later.id).where(later.replaces_page_id == PageRow.id).exists()
    read = select(Sheet.id).where(Sheet.page_id == PageRow.id).exists()
    for b_id, status, has_sheet, n in s.execute(
            select(PageRow.batch_id, PageRow.status, read, repo.func.count())
            .where(only(PageRow.batch_id), PageRow.status != PAGE_DUPLICATE, ~replaced)
            .group_by(PageRow.batch_id, PageRow.status, read)):
        bf = batches.get(b_id)
        if bf is None:
            continue
        bf.pages += n
        if not has_sheet:
            bf.unread += n
            if status in ("rescan", "error"):
                bf.rescan += n

    refs = {t_id: f"{name}@{version}" for t_id, name, version in
            s.execute(select(TemplateRow.id, TemplateRow.name, TemplateRow.version))}
    sheets: dict[int, SheetFacts] = {}
    for sh_id, b_id, page_id, status, t_id in s.execute(
            select(Sheet.id, Sheet.batch_id, Sheet.page_id, Sheet.status, Sheet.template_id)
            .where(only(Sheet.batch_id)).order_by(Sheet.id)):
        bf = batches[b_id]
        sheets[sh_id] = SheetFacts(sh_id, b_id, bf.name, page_id, status, template_roles(str(templates_dir),
                                                                                         refs[t_id]))
    names = set().union(*(sh.tpl.field_names for sh in sheets.values())) if sheets else set()
    if names:
        conn = s.connection()  # Core rows: no ORM processing for a million of them
        for sh_id, name, status, value, verified in conn.execute(
                select(FieldRow.sheet_id, FieldRow.name, FieldRow.status, FieldRow.value, FieldRow.verified_value)
                .where(only(FieldRow.batch_id), FieldRow.name.in_(sorted(names)))
                .execution_options(stream_results=True, max_row_buffer=20_000)):  # not all held at once
            sh = sheets.get(sh_id)
            if sh is not None and name in sh.tpl.field_names:
                sh.values[name] = ((verified or "") if status == FIELD_VERIFIED else
                                   "" if status == FIELD_REJECTED else (value or "")).strip()  # final_value, inline
    seen: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for sh in sheets.values():
        bf = batches[sh.batch_id]
        sh.commune = bf.commune or sh.get("commune")
        sh.village = bf.village or sh.get("village")
        sh.officer = bf.officer or sh.get("officer")
        for what in ("commune", "village", "officer"):
            if getattr(sh, what):
                seen[(bf.id, what)][getattr(sh, what)] += 1
    # A batch the clerk gave no place or officer takes what most of its sheets say, so its expected
    # count and its unread pages land where its sheets do.
    for (b_id, what), names in seen.items():
        if not getattr(batches[b_id], what):
            setattr(batches[b_id], what, names.most_common(1)[0][0])
    _one_spelling(list(sheets.values()) + list(batches.values()))
    out = list(sheets.values())
    if commune is not None:
        key = place_key(commune)
        out = [sh for sh in out if place_key(sh.commune) == key]
        with_sheets = {sh.batch_id for sh in out}
        batches = {i: b for i, b in batches.items() if place_key(b.commune) == key or i in with_sheets}
    if officer is not None:
        key = person_key(officer)
        out = [sh for sh in out if person_key(sh.officer) == key]
        with_sheets = {sh.batch_id for sh in out}
        batches = {i: b for i, b in batches.items() if person_key(b.officer) == key or i in with_sheets}
    return Facts(batches, out)


def _one_spelling(items: list) -> None:
    """Show each commune, village and officer with one spelling: the one most sheets and batches use
    ("Tân Phú" on nine sheets, "xã tân phú" typed on one batch: "Tân Phú" everywhere)."""
    keys = {"commune": lambda x: place_key(x.commune), "village": lambda x: (place_key(x.commune), place_key(x.village)),
            "officer": lambda x: person_key(x.officer)}
    for what, key in keys.items():
        names: dict = defaultdict(Counter)
        for x in items:
            if getattr(x, what):
                names[key(x)][getattr(x, what)] += 1
        best = {k: c.most_common(1)[0][0] for k, c in names.items()}
        for x in items:
            if getattr(x, what):
                setattr(x, what, best[key(x)])


def field_rows(s: Session, sheet_ids: Iterable[int]) -> dict[int, list[FieldRow]]:
    """All fields of these sheets, by sheet, in position order (for the few sheets a list names)."""
    ids = sorted(set(sheet_ids))
    out: dict[int, list[FieldRow]] = {}
    for i in range(0, len(ids), 500):
        for f in s.scalars(select(FieldRow).where(FieldRow.sheet_id.in_(ids[i:i + 500]))
                           .order_by(FieldRow.sheet_id, FieldRow.position)):
            out.setdefault(f.sheet_id, []).append(f)
    return out
