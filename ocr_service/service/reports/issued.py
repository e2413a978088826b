"""The issue list: how many blank sheets were handed out per commune, village and officer.

Imported from a CSV file (UTF-8, with or without a BOM; comma or semicolon separated) whose header
names the columns, in English or Vietnamese (docs/reports.md):

    commune,village,officer,issued          xã,thôn,cán bộ,số phiếu phát
    Tân Phú,Thôn 1,Nguyễn Văn Bình,120

``commune`` and ``issued`` are required; ``village`` and ``officer`` may be empty. Rows for the same
(commune, village, officer) in one file are added up; importing a key already stored replaces its
count (re-importing a corrected list is safe). A bad row is reported with its line and skipped; the
other rows are imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocr_service.errors import InvalidRequestError
from ocr_service.service.reports.facts import person_key, place_key
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import IssuedCount, utcnow
from ocr_service.vietnamese.text import clean, strip_diacritics

MAX_BYTES = 5 << 20
MAX_ISSUED = 1_000_000
# Header spellings accepted per column (compared without case, tones or punctuation).
HEADERS = {
    "commune": ("commune", "xa", "xa phuong", "xa phuong thi tran", "phuong"),
    "village": ("village", "thon", "thon to", "thon xom", "to", "ap", "ban", "to dan pho"),
    "officer": ("officer", "can bo", "can bo thu thap", "nguoi thu thap", "canh sat khu vuc"),
    "issued": ("issued", "sheets", "so phieu", "so phieu phat", "so phieu da phat", "phieu phat"),
}


@dataclass
class IssuedRow:
    commune: str
    village: str
    officer: str
    sheets: int
    line: int


@dataclass
class ImportResult:
    """What an import did: rows stored (created or replaced) and the lines refused, with why."""

    file: str
    imported: int = 0
    replaced: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file": self.file, "imported": self.imported, "replaced": self.replaced, "errors": self.errors}


def _column(header: str) -> str | None:
    key = strip_diacritics(header).replace("_", " ").replace("/", " ").strip()
    key = " ".join(key.split())
    for col, names in HEADERS.items():
        if key in names:
            return col
    return None


def parse(data: bytes, name: str) -> tuple[list[IssuedRow], list[str]]:
    """The rows of an issue list and the errors of the lines refused ("line 4: …"). A file that
    cannot be read at all (not UTF-8, no header, no commune or issued column, too big) raises
    InvalidRequestError naming the file."""
    if len(data) > MAX_BYTES:
        raise InvalidRequestError(f"the issue list is over {MAX_BYTES >> 20} MB", file=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"not UTF-8 text (byte {exc.start}); save the list as CSV UTF-8", file=name) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidRequestError("empty file: the first line must name the columns (commune, village, officer, "
                                  "issued)", file=name)
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader)
    columns = [_column(h) for h in header]
    missing = [c for c in ("commune", "issued") if c not in columns]
    if missing:
        raise InvalidRequestError(f"line 1: no {' or '.join(missing)} column (the header names the columns: "
                                  f"commune, village, officer, issued; got {', '.join(map(repr, header))})", file=name)
    rows, errors = [], []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        got = {c: clean(v) for c, v in zip(columns, values) if c}
        if len(values) > len(columns):
            errors.append(f"line {line}: {len(values)} cells, the header has {len(columns)}")
            continue
        count = got.get("issued", "").replace(".", "").replace(" ", "")
        if not got.get("commune"):
            errors.append(f"line {line}: the commune is empty")
        elif not count.isdigit() or int(count) > MAX_ISSUED:
            errors.append(f"line {line}: issued {got.get('issued', '')!r} is not a whole number of sheets "
                          f"(0 to {MAX_ISSUED:,})")
        else:
            rows.append(IssuedRow(got["commune"], got.get("village", ""), got.get("officer", ""), int(count), line))
    return rows, errors


def key_of(commune: str, village: str, officer: str) -> tuple[str, str, str]:
    return place_key(commune), place_key(village), person_key(officer)


def import_issued(s: Session, data: bytes, name: str, *, actor: str, source: str) -> ImportResult:
    """Parse an issue list and store its rows (see the module docstring); audited."""
    rows, errors = parse(data, name)
    result = ImportResult(name, errors=[f"{name}: {e}" for e in errors])
    summed: dict[tuple[str, str, str], IssuedRow] = {}
    for r in rows:
        k = key_of(r.commune, r.village, r.officer)
        if k in summed:
            summed[k].sheets += r.sheets
        else:
            summed[k] = IssuedRow(r.commune, r.village, r.officer, r.sheets, r.line)
    stored = {key_of(row.commune, row.village, row.officer): row for row in s.scalars(select(IssuedCount))}
    now = utcnow()
    for k, r in summed.items():
        row = stored.get(k)
        if row is None:
            s.add(IssuedCount(commune=r.commune[:200], village=r.village[:200], officer=r.officer[:200],
                              sheets=r.sheets, source=name, imported_by=actor, imported_at=now))
        else:
            row.sheets, row.source, row.imported_by, row.imported_at = r.sheets, name, actor, now
            result.replaced += 1
        result.imported += 1
    s.flush()
    repo.add_audit(s, actor=actor, action="issued.import", entity_type="issued_counts", entity_id=name[:100],
                   new=result.to_json(), source=source)
    return result


def issued_rows(s: Session) -> list[IssuedCount]:
    return list(s.scalars(select(IssuedCount).order_by(IssuedCount.id)))
