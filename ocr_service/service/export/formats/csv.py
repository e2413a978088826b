"""CSV: UTF-8 with a BOM (so Excel shows Vietnamese), every cell quoted (IDs and codes stay text
with their leading zeros), CRLF line ends (RFC 4180), and cells that begin with = + - @, tab or CR
prefixed with a single quote against formula injection (OWASP)."""

from __future__ import annotations

import csv
from pathlib import Path

from ocr_service.service.export.mapping import Layout

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape(cell: str) -> str:
    """The cell as written: a leading ' before a text Excel would read as a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


class Writer:
    def __init__(self, path: Path, layout: Layout, info: dict):
        self.n = len(layout.headers)
        self.f = open(path, "w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.f, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        self.w.writerow([escape(h) for h in layout.headers])

    def write(self, row: list[str]) -> None:
        self.w.writerow([escape(c) for c in row[:self.n]])

    def close(self) -> None:
        self.f.close()
