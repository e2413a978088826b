"""Export mapping files (``templates/NAME/VERSION.export.yaml``): load, validate, compile.

A mapping sets the columns (order, headers), the date format, how names and addresses are split,
which code lists to use, the administrative units (pre- or post-2025) and the QCVN 109 XML
elements. An exporter matches a provincial import format by editing the file, not code. Every
error names the file and the line (``MappingError``). The reference is docs/export.md.

The compiled :class:`Mapping` is plain data. Its :class:`Layout` (headers, column ids, code lists,
the XML tree over column indexes) is what the writers need and what a manifest records, so a
rerun rebuilds the files without the mapping file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocr_service.errors import MappingError
from ocr_service.forms.model import GroupSpec, Template, cell_name
from ocr_service.service.export import qcvn109
from ocr_service.vietnamese import codes

MAPPING_SUFFIX = ".export.yaml"
FORMATS = ("csv", "xlsx", "jsonl", "xml")
ADMIN_MODES = ("pre2025", "post2025")
ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
PARTS = {
    "name": ("full", "surname", "middle", "given"),
    "address": ("full", "detail", "commune", "district", "province", "unit_code", "commune_code", "district_code",
                "province_code"),
    "digits": ("full", "personal_id", "cmnd"),
}
META = ("sheet_id", "page_id", "batch", "commune", "village", "officer", "box", "file", "page_no", "sheet_status",
        "row")  # row: the repeated group's row an output row is for (with ``rows:``)
COLUMN_KEYS = {"id", "header", "field", "part", "code", "map", "date_format", "meta", "code_list_of"}
TOP_KEYS = {"template", "version", "date_format", "admin_units", "names", "code_lists", "columns", "xml",
            "pending_columns", "description", "rows"}
DEFAULT_PENDING = {"status": "Trạng thái phiếu", "fields": "Trường chưa hoàn tất"}
DEFAULT_COMPOUND_SURNAMES = ("Tôn Nữ", "Tôn Thất", "Nguyễn Phúc", "Âu Dương", "Công Tôn", "Tư Mã", "Gia Cát")


# -- YAML with line numbers ---------------------------------------------------------------------------

class _Map(dict):
    line: int = 0
    lines: dict


class _Seq(list):
    line: int = 0
    lines: list


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader, node):
    loader.flatten_mapping(node)
    out = _Map()
    out.line, out.lines = node.start_mark.line + 1, {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in out:
            raise MappingError(f"line {k_node.start_mark.line + 1}: key {key!r} given twice")
        out[key] = loader.construct_object(v_node, deep=True)
        out.lines[key] = k_node.start_mark.line + 1
    return out


def _construct_seq(loader, node):
    out = _Seq(loader.construct_object(n, deep=True) for n in node.value)
    out.line, out.lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _line(d: Any, key: Any = None) -> int:
    if key is not None and isinstance(d, (_Map, _Seq)):
        try:
            return d.lines[key]
        except (KeyError, IndexError, TypeError):
            pass
    return getattr(d, "line", 0)


# -- the compiled mapping ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """One value a record yields: a column (``header`` set) or a value only the XML uses."""

    id: str
    header: str | None
    field: str | None = None
    kind: str | None = None  # the template field's kind
    part: str = "full"
    code_list: str | None = None
    value_map: tuple[tuple[str, str], ...] | None = None
    date_format: str | None = None
    meta: str | None = None
    code_list_of: str | None = None
    pending: str | None = None  # "status" or "fields": the status columns of a pending export


@dataclass(frozen=True)
class Layout:
    """What a writer needs: the column headers and ids (the first ``len(headers)`` values of a row),
    each column's code list, and the XML tree: ``[[element, index | subtree], ...]``."""

    headers: list[str]
    ids: list[str]
    code_lists: list[str | None]
    xml: list

    def to_json(self) -> dict:
        return {"headers": self.headers, "ids": self.ids, "code_lists": self.code_lists, "xml": self.xml}

    @classmethod
    def from_json(cls, d: dict) -> "Layout":
        return cls(list(d["headers"]), list(d["ids"]), list(d["code_lists"]), d["xml"])


@dataclass(frozen=True)
class Mapping:
    path: str
    sha256: str
    template: str
    version: str
    date_format: str
    admin_units: str
    compound_surnames: tuple[str, ...]
    slots: tuple[Slot, ...]
    n_columns: int
    xml: list  # as Layout.xml
    same_as: dict = field(default_factory=dict)  # target field -> source field ("như trên")
    xml_problems: tuple[str, ...] = ()  # why this mapping cannot export QCVN 109 XML (file lines)
    group: GroupSpec | None = None  # ``rows: GROUP``: one output row per entry of this repeated group

    def layout(self) -> Layout:
        cols = self.slots[:self.n_columns]
        return Layout([c.header or c.id for c in cols], [c.id for c in cols], [c.code_list for c in cols], self.xml)


def mapping_path(template: Template) -> Path:
    """Where a template's mapping file is: ``VERSION.export.yaml`` beside the template file."""
    src = Path(template.source)
    return src.with_name(src.stem + MAPPING_SUFFIX)


def check_date_format(fmt: object) -> str | None:
    """None if ``fmt`` is a usable date format (tokens dd/d, mm/m, yyyy once each, separated by
    / - . or space), else the reason."""
    if not isinstance(fmt, str) or not fmt:
        return "a date format is a text such as dd/mm/yyyy"
    tokens = re.findall(r"dd|d|mm|m|yyyy|[/\-. ]|.", fmt)
    bad = [t for t in tokens if t not in ("dd", "d", "mm", "m", "yyyy", "/", "-", ".", " ")]
    if bad:
        return f"date format {fmt!r}: unknown part {bad[0]!r} (use dd or d, mm or m, yyyy and / - . or space)"
    for group in (("dd", "d"), ("mm", "m"), ("yyyy",)):
        if sum(tokens.count(t) for t in group) != 1:
            return f"date format {fmt!r} must hold {' or '.join(group)} exactly once"
    return None


def load_mapping(template: Template, path: str | Path | None = None, *, pending: bool = False) -> Mapping:
    """Load and validate the mapping of ``template`` (its companion file, or ``path``). With
    ``pending``, the status columns are appended. MappingError names the file and the line."""
    path = Path(path) if path is not None else mapping_path(template)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"cannot read the export mapping: {exc.strerror or exc}", file=str(path)) from exc
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
    except MappingError as exc:
        raise MappingError(exc.reason, file=str(path)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise MappingError(f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}", file=str(path)) from None
    return _compile(data, template, path, hashlib.sha256(raw).hexdigest(), pending)


def _compile(d: Any, template: Template, path: Path, sha: str, pending: bool) -> Mapping:
    def err(line: int, reason: str) -> MappingError:
        return MappingError(f"line {line}: {reason}" if line else reason, file=str(path))

    if not isinstance(d, dict):
        raise err(1, "an export mapping is a YAML mapping (template, version, columns, …)")
    for key in d:
        if key not in TOP_KEYS:
            raise err(_line(d, key), f"unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    if d.get("template") not in (template.id, template.name):
        raise err(_line(d, "template"), f"template is {d.get('template')!r}, this mapping is read for {template.id}")
    version = str(d.get("version") or "")
    if not version:
        raise err(_line(d, "version") or 1, "version is missing (it is recorded in every export's manifest)")
    date_format = d.get("date_format", "dd/mm/yyyy")
    if (why := check_date_format(date_format)) is not None:
        raise err(_line(d, "date_format"), why)
    admin = d.get("admin_units", "pre2025")
    if admin not in ADMIN_MODES:
        raise err(_line(d, "admin_units"), f"admin_units is pre2025 or post2025, not {admin!r}")
    names = d.get("names") or {}
    if not isinstance(names, dict) or set(names) - {"compound_surnames"}:
        raise err(_line(d, "names"), "names takes compound_surnames: [a list of two-word surnames]")
    compound = tuple(str(x) for x in names.get("compound_surnames", DEFAULT_COMPOUND_SURNAMES))
    code_lists = d.get("code_lists") or {}
    if not isinstance(code_lists, dict):
        raise err(_line(d, "code_lists"), "code_lists maps a name used by columns (e.g. ethnicity) to a code list")
    known_lists = codes.code_list_names()
    for key, name in code_lists.items():
        if name not in known_lists:
            raise err(_line(code_lists, key), f"unknown code list {name!r} for {key!r} (known: {', '.join(known_lists)})")

    fields = {f.name: f for f in template.fields}
    group = None
    if "rows" in d:
        known_groups = [g.name for g in template.groups]
        if d["rows"] not in known_groups:
            raise err(_line(d, "rows"), f"rows names {d['rows']!r}, which is not a repeated group of {template.id} "
                                        f"(its groups: {', '.join(known_groups) or 'none'})")
        group = template.group(d["rows"])
        for c in group.columns:  # GROUP.COLUMN: the column's cell in the row being written
            fields[f"{group.name}.{c.name}"] = template.field(cell_name(group.name, 1, c.name))
    slots: list[Slot] = []
    ids: dict[str, int] = {}
    headers: dict[str, int] = {}

    def slot(spec: Any, line: int, *, column: bool) -> Slot:
        if not isinstance(spec, dict):
            raise err(line, "a column is a mapping (id, header, field, part, …)")
        for key in spec:
            if key not in COLUMN_KEYS:
                raise err(_line(spec, key), f"unknown column key {key!r} (known: {', '.join(sorted(COLUMN_KEYS))})")
        cid = spec.get("id")
        if not isinstance(cid, str) or not ID.fullmatch(cid):
            raise err(_line(spec, "id") or line, f"column id {cid!r} must be lower-case letters, digits and _")
        if cid in ids:
            raise err(_line(spec, "id"), f"duplicate column {cid!r} (first on line {ids[cid]})")
        header = spec.get("header", cid) if column else None
        if column:
            if not isinstance(header, str) or not header.strip():
                raise err(_line(spec, "header") or line, f"column {cid!r}: the header is a non-empty text")
            if header in headers:
                raise err(_line(spec, "header") or line, f"duplicate column header {header!r} (first on line {headers[header]})")
            headers[header] = _line(spec, "header") or line
        sources = [k for k in ("field", "meta", "code_list_of") if k in spec]
        if len(sources) != 1:
            raise err(line, f"column {cid!r} needs exactly one of field, meta, code_list_of")
        ids[cid] = _line(spec, "id")
        if "meta" in spec:
            if spec["meta"] not in META:
                raise err(_line(spec, "meta"), f"unknown meta {spec['meta']!r} (known: {', '.join(META)})")
            return Slot(cid, header, meta=spec["meta"])
        if "code_list_of" in spec:
            target = next((s for s in slots if s.id == spec["code_list_of"]), None)
            if target is None or target.code_list is None:
                raise err(_line(spec, "code_list_of"), f"code_list_of names {spec['code_list_of']!r}, "
                                                       "which is not an earlier column with a code")
            return Slot(cid, header, code_list_of=target.id)
        name = spec["field"]
        f = fields.get(name)
        if f is None:
            hint = ""
            if isinstance(name, str) and name.split(".")[0] in {g.name for g in template.groups}:
                hint = f" (a table's column is GROUP.COLUMN, with rows: {name.split('.')[0]} at the top)"
            raise err(_line(spec, "field"), f"unknown field {name!r}: {template.id} has no such field{hint}")
        part = spec.get("part", "full")
        if part != "full" and part not in PARTS.get(f.kind, ()):
            allowed = ", ".join(PARTS.get(f.kind, ("full",)))
            raise err(_line(spec, "part"), f"field {name!r} ({f.kind}) has no part {part!r} (parts: {allowed})")
        fmt = None
        if f.kind == "date":
            fmt = spec.get("date_format", date_format)
            if (why := check_date_format(fmt)) is not None:
                raise err(_line(spec, "date_format"), why)
        elif "date_format" in spec:
            raise err(_line(spec, "date_format"), f"field {name!r} is not a date")
        code_list = None
        if "code" in spec:
            key = spec["code"]
            if key in code_lists:
                code_list = code_lists[key]
            elif key in known_lists:
                code_list = key
            else:
                raise err(_line(spec, "code"), f"unknown code list {key!r} (name one under code_lists, or one of: "
                                               f"{', '.join(known_lists)})")
            vocab = codes.code_list(code_list).vocabulary
            if f.vocabulary != vocab:
                raise err(_line(spec, "code"), f"code list {code_list!r} is for {vocab} values; field {name!r} "
                                               f"holds {f.vocabulary or 'free text'}")
        value_map = None
        if "map" in spec:
            m = spec["map"]
            if not isinstance(m, dict) or not m:
                raise err(_line(spec, "map"), "map takes value: output pairs")
            value_map = tuple((str(k), "" if v is None else str(v)) for k, v in m.items())
        if code_list and value_map:
            raise err(line, f"column {cid!r}: give code or map, not both")
        return Slot(cid, header, field=name, kind=f.kind, part=part, code_list=code_list, value_map=value_map,
                    date_format=fmt)

    columns = d.get("columns")
    if not isinstance(columns, list) or not columns:
        raise err(_line(d, "columns") or 1, "columns is a list of columns")
    for i, spec in enumerate(columns):
        slots.append(slot(spec, _line(columns, i), column=True))
    pc = d.get("pending_columns") or {}
    if not isinstance(pc, dict) or set(pc) - set(DEFAULT_PENDING):
        raise err(_line(d, "pending_columns"), "pending_columns takes status: HEADER and fields: HEADER")
    if pending:
        for key in ("status", "fields"):
            h = str(pc.get(key, DEFAULT_PENDING[key]))
            if h in headers:
                raise err(_line(pc, key) or _line(d, "pending_columns"), f"duplicate column header {h!r}")
            slots.append(Slot(f"pending_{key}", h, pending=key))
    n_columns = len(slots)

    def walk(node: Any, schema: tuple, line: int, where: tuple[str, ...]) -> list:
        if not isinstance(node, dict):
            raise err(line, f"{'/'.join(where) or 'xml'} takes the elements {', '.join(e for e, _ in schema)}")
        allowed = dict(schema)
        for key in node:
            if key not in allowed:
                raise err(_line(node, key), f"unknown QCVN 109 element {key!r} under {'/'.join(where) or 'CongDan'} "
                                            f"(known: {', '.join(allowed)})")
        out = []
        for name, children in schema:
            if name not in node:
                continue
            value, vline = node[name], _line(node, name)
            if children is None:
                if isinstance(value, str):
                    idx = next((i for i, s in enumerate(slots) if s.id == value), None)
                    if idx is None:
                        raise err(vline, f"{name}: unknown column {value!r}")
                else:
                    s = slot(value, vline, column=False)
                    slots.append(s)
                    idx = len(slots) - 1
                need = qcvn109.REQUIRED_CODE_LIST.get((where[-1] if where else "", name))
                if need and slots[idx].code_list != need:  # refused when exporting XML only
                    xml_problems.append(f"line {vline}: {name}: QCVN 109 uses the code list {need}, the column "
                                        f"gives {slots[idx].code_list or 'no code'}")
                out.append([name, idx])
            else:
                out.append([name, walk(value, children, vline, where + (name,))])
        return out

    xml_problems: list[str] = []
    xml = walk(d["xml"], qcvn109.CITIZEN, _line(d, "xml"), ()) if "xml" in d else []
    same_as = {c["fields"]["target"]: c["fields"]["source"] for c in template.checks
               if c.get("rule") == "same_as" and "target" in c.get("fields", {})}
    if group is not None and xml:
        raise err(_line(d, "xml"), "a mapping with rows: (one row per table entry) cannot export QCVN 109 XML, "
                                   "which holds one citizen per record")
    return Mapping(str(path), sha, template.id, version, date_format, admin, compound, tuple(slots), n_columns, xml,
                   same_as, tuple(xml_problems), group)
