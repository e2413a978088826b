"""XLSX with XlsxWriter in constant-memory mode (each row goes to disk as it is written): a bold
header row, frozen below the header, every cell a text cell (IDs and codes keep their leading
zeros; nothing is read as a number or a formula). The workbook's creation date is the export's,
and XlsxWriter dates the zip entries 1980-01-01, so a rerun writes the same bytes."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from ocr_service.errors import InvalidRequestError
from ocr_service.service.export.mapping import Layout

MAX_ROWS = 1_048_575  # Excel's limit, less the header


class Writer:
    def __init__(self, path: Path, layout: Layout, info: dict):
        self.n = len(layout.headers)
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(Path(path).parent),
                                                  "strings_to_numbers": False, "strings_to_formulas": False,
                                                  "strings_to_urls": False})
        self.wb.set_properties({"created": info["created_at"].replace(tzinfo=None), "author": "ocr-service",
                                "title": info.get("note", "")})
        self.ws = self.wb.add_worksheet("DuLieu")
        text = self.wb.add_format({"num_format": "@"})
        head = self.wb.add_format({"bold": True, "num_format": "@"})
        self.text = text
        self.ws.set_column(0, self.n - 1, 18, text)
        self.ws.freeze_panes(1, 0)
        for c, h in enumerate(layout.headers):
            self.ws.write_string(0, c, h, head)
        self.row = 0

    def write(self, row: list[str]) -> None:
        self.row += 1
        if self.row > MAX_ROWS:
            raise InvalidRequestError(f"an XLSX sheet holds at most {MAX_ROWS} records: export by batch, or as CSV")
        for c, v in enumerate(row[:self.n]):
            if v:
                self.ws.write_string(self.row, c, v, self.text)

    def close(self) -> None:
        self.wb.close()
