"""JSON Lines: one object per record, keys the column ids in column order, values texts (UTF-8,
not escaped to ASCII, NFC as stored)."""

from __future__ import annotations

import json
from pathlib import Path

from ocr_service.service.export.mapping import Layout


class Writer:
    def __init__(self, path: Path, layout: Layout, info: dict):
        self.ids = layout.ids
        self.f = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, row: list[str]) -> None:
        self.f.write(json.dumps(dict(zip(self.ids, row)), ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.f.close()
