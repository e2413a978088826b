"""The export formats, one small module each. Every writer takes rows (one text per slot of the
mapping, see ``mapping.Layout``), streams them to a path, and writes nothing that changes between
two runs of the same export (no clock, no random names inside the files)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ocr_service.service.export.mapping import Layout


class Writer(Protocol):
    def write(self, row: list[str]) -> None: ...

    def close(self) -> None: ...


def open_writer(fmt: str, path: Path, layout: Layout, info: dict) -> Writer:
    """A writer of format ``fmt`` (csv, xlsx, jsonl, xml) to ``path``. ``info``: ``export_id``,
    ``created_at`` (a UTC datetime: the only time written into a file), ``note``."""
    from ocr_service.service.export.formats import csv, jsonl, xlsx, xml

    module = {"csv": csv, "xlsx": xlsx, "jsonl": jsonl, "xml": xml}[fmt]
    return module.Writer(path, layout, info)


SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "jsonl": ".jsonl", "xml": ".xml"}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "jsonl": "application/x-ndjson; charset=utf-8", "xml": "application/xml"}
