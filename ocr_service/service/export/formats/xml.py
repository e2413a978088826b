"""XML following QCVN 109:2017/BTTTT (the covered part: ``qcvn109.py``, ``qcvn109.xsd``).

Written incrementally: each ``CongDan`` goes to a body file as it comes; at the end the root with
its ``SoCongDan`` count is written and the body copied after it, so memory does not grow with the
record count. ``ThoiDiemDuLieu`` is the export's creation time (a rerun writes the same bytes).
Every file is validated against the XSD before it is given its final name (``validate``)."""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from ocr_service.errors import InvalidRequestError
from ocr_service.service.export import qcvn109
from ocr_service.service.export.mapping import Layout

P = "dc:"


def _element(node: list, row: list[str]) -> str:
    out = []
    for name, sub in node:
        if isinstance(sub, list):
            inner = _element(sub, row)
            if inner:
                out.append(f"<{P}{name}>{inner}</{P}{name}>")
        else:
            v = row[sub]
            if v:
                out.append(f"<{P}{name}>{escape(v)}</{P}{name}>")
    return "".join(out)


class Writer:
    def __init__(self, path: Path, layout: Layout, info: dict):
        self.path = Path(path)
        self.tree = layout.xml
        self.info = info
        self.body_path = self.path.with_name(self.path.name + ".body")
        self.body = open(self.body_path, "w", encoding="utf-8", newline="\n")
        self.count = 0

    def write(self, row: list[str]) -> None:
        self.body.write(f"<{P}{qcvn109.RECORD}>{_element(self.tree, row)}</{P}{qcvn109.RECORD}>\n")
        self.count += 1

    def close(self) -> None:
        self.body.close()
        when = self.info["created_at"].strftime("%Y-%m-%dT%H:%M:%S")
        with open(self.path, "w", encoding="utf-8", newline="\n") as out:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write(f"<{P}{qcvn109.ROOT} xmlns:dc={quoteattr(qcvn109.NAMESPACE)} GhiChu={quoteattr(self.info.get('note', ''))} "
                      f'ThoiDiemDuLieu="{when}" SoCongDan="{self.count}">\n')
            with open(self.body_path, encoding="utf-8") as body:
                shutil.copyfileobj(body, out, 1 << 20)
            out.write(f"</{P}{qcvn109.ROOT}>\n")
        os.unlink(self.body_path)


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(qcvn109.XSD_PATH)))


def validate(path: Path) -> None:
    """Check ``path`` against the XSD, streaming (memory does not grow with the file);
    InvalidRequestError naming the line and the reason if it does not conform."""
    try:
        for _, el in etree.iterparse(str(path), events=("end",), schema=schema(), huge_tree=True):
            if el.tag.endswith(qcvn109.RECORD):
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except etree.XMLSyntaxError as exc:
        # a schema error found while streaming carries no line number: its message names the
        # element and the value
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise InvalidRequestError(f"the XML does not conform to {qcvn109.XSD_PATH.name}: {where}{exc.msg}",
                                  file=str(path)) from None
