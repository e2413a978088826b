"""Plain data describing a form template (see template.schema.json for the file format).

Coordinates are millimetres from the top-left corner of the page; boxes are [x, y, w, h].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

Box = tuple[float, float, float, float]

LINE_KINDS = frozenset({"text", "name", "address", "date", "digits"})


@dataclass(frozen=True)
class Option:
    value: str
    box_mm: Box
    label: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form: where it is, what it holds, how it is checked and exported."""

    name: str
    label: str
    kind: str
    box_mm: Box
    cells: int | None = None
    options: tuple[Option, ...] = ()
    required: bool = False
    validators: tuple[str, ...] = ()
    vocabulary: str | None = None
    export: str | None = None
    sample: str | None = None
    draw: str = "dots"
    label_at_mm: tuple[float, float] | None = None
    group: str | None = None  # a cell of a repeated group (a table): the group's name,
    row: int | None = None  # its row (1-based)
    column: str | None = None  # and its column's name; ``name`` is ``cell_name(group, row, column)``
    row_required: bool = False  # a cell that must hold writing when anything else in its row does

    def cell_boxes_mm(self) -> list[Box]:
        """The boxes of a comb field's cells, left to right (empty for a free line)."""
        if not self.cells:
            return []
        x, y, w, h = self.box_mm
        cw = w / self.cells
        return [(x + i * cw, y, cw, h) for i in range(self.cells)]


def cell_name(group: str, row: int, column: str) -> str:
    """The field name of a repeated group's cell: ``members.2.full_name``."""
    return f"{group}.{row}.{column}"


def split_cell_name(name: str) -> tuple[str, int, str] | None:
    """(group, row, column) of a cell's field name, None for an ordinary field."""
    parts = name.split(".")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    return None


def column_key(name: str) -> str:
    """How the review station groups a field with others (group mode, the supervisor's queue per
    field, assignments): a table cell by its column, ``members.2.full_name`` → ``members.full_name``
    (the same ``group.column`` an export mapping names), so one group holds that column's cells
    across rows and sheets; an ordinary field by its own name."""
    cell = split_cell_name(name)
    return f"{cell[0]}.{cell[2]}" if cell else name


def split_column_key(key: str) -> tuple[str, str] | None:
    """(group, column) of a column key (``members.full_name``), None for an ordinary field's name."""
    parts = key.split(".")
    return (parts[0], parts[1]) if len(parts) == 2 else None


@dataclass(frozen=True)
class GroupColumn:
    """One column of a repeated group: its name, printed header and left edge and width (mm)."""

    name: str
    label: str
    x_mm: float
    w_mm: float
    required: bool = False  # must hold writing in a row that is an entry
    row_number: bool = False  # the row's number (TT): writing here alone does not make the row an entry


@dataclass(frozen=True)
class GroupSpec:
    """A repeated group: a table of ``len(rows)`` rows of named columns. Each cell is also an
    ordinary :class:`FieldSpec` of the template (``group``/``row``/``column`` set), so every stage
    works on plain fields; this says how they hang together."""

    name: str
    label: str
    row_label: str
    rows_mm: tuple[tuple[float, float], ...]  # each row's top and height
    columns: tuple[GroupColumn, ...]

    @property
    def box_mm(self) -> Box:
        """The table's body (all rows, all columns)."""
        x0 = min(c.x_mm for c in self.columns)
        x1 = max(c.x_mm + c.w_mm for c in self.columns)
        y0 = self.rows_mm[0][0]
        y1 = self.rows_mm[-1][0] + self.rows_mm[-1][1]
        return (x0, y0, x1 - x0, y1 - y0)

    def filled_rows(self, values: Mapping[str, str]) -> list[int]:
        """The rows (1-based) that are entries: some cell other than the row number holds writing
        (``values``: field name → text). The other rows are blank, never "required but missing"."""
        return [r for r in range(1, len(self.rows_mm) + 1)
                if any((values.get(cell_name(self.name, r, c.name)) or "").strip()
                       for c in self.columns if not c.row_number)]

    def column_label(self, name: str) -> str:
        return next(c.label for c in self.columns if c.name == name)

    def cell_label(self, row: int, column: GroupColumn) -> str:
        """How a person is shown the cell: "Thành viên 2 – Họ, chữ đệm và tên"."""
        return f"{self.row_label} {row} – {column.label}"


@dataclass(frozen=True)
class StaticText:
    text: str
    at_mm: tuple[float, float]
    size_pt: float | None = None
    style: str = "regular"
    align: str = "left"


@dataclass(frozen=True)
class RegistrationSpec:
    """How a template's pages are registered (the result of registering a page is
    ``pipeline.register.Registration``)."""

    method: str  # "marks" or "features"
    max_residual_px: float = 6.0
    marks: tuple[Box, ...] = ()
    qr_box_mm: Box | None = None


@dataclass(frozen=True, eq=False)  # identity hash: loaded once, cached by callers
class Template:
    """A versioned form template, loaded and validated from one YAML file."""

    name: str
    version: str
    title: str
    width_mm: float
    height_mm: float
    registration: RegistrationSpec
    fields: tuple[FieldSpec, ...]
    source: Path
    font: dict = field(default_factory=dict)
    reference_pdf: Path | None = None
    reference_page: int = 1
    static: tuple[StaticText, ...] = ()
    rules: tuple[tuple[Box, float], ...] = ()
    checks: tuple[dict, ...] = ()
    household: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)  # report roles (commune, officer, person_id …) → field names
    description: str = ""
    groups: tuple[GroupSpec, ...] = ()  # repeated groups; their cells are among ``fields``

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def group(self, name: str) -> GroupSpec:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def group_entries(self, values: Mapping[str, str]) -> dict[str, list[dict]]:
        """Each repeated group's entries (its rows that hold writing, see ``GroupSpec.filled_rows``)
        as ``{"row": r, "values": {column: text}}``, by group name: how a sheet's table reads as a list."""
        return {g.name: [{"row": r, "values": {c.name: values.get(cell_name(g.name, r, c.name)) or ""
                                                for c in g.columns}} for r in g.filled_rows(values)]
                for g in self.groups}

    def column_label(self, key: str) -> str:
        """How a person is shown a column key (:func:`column_key`): a table column as the group's row
        label and the column's header ("Thành viên – Họ, chữ đệm và tên"), an ordinary field as its
        label. KeyError for a name this template does not have."""
        col = split_column_key(key)
        if col is None:
            return self.field(key).label.strip().rstrip(":")
        g = self.group(col[0])
        if col[1] not in {c.name for c in g.columns}:
            raise KeyError(key)
        return f"{g.row_label} – {g.column_label(col[1])}"

    def row_label(self, name: str) -> str | None:
        """Which row of its table a cell is, as shown to a person ("Thành viên 2"); None for an
        ordinary field."""
        f = self.field(name)
        return f"{self.group(f.group).row_label} {f.row}" if f.group else None

    @property
    def single_fields(self) -> tuple[FieldSpec, ...]:
        """The fields that are not cells of a repeated group."""
        return tuple(f for f in self.fields if f.group is None)

    def page_px(self, dpi: float) -> tuple[int, int]:
        """(width, height) of the page in pixels at ``dpi``."""
        return (round(self.width_mm / 25.4 * dpi), round(self.height_mm / 25.4 * dpi))

    def to_json(self) -> dict:
        """The normalized, stable description other tools read (`templates show --json`)."""
        out_fields = []
        for f in self.fields:
            d = {"name": f.name, "label": f.label, "kind": f.kind, "box_mm": list(f.box_mm),
                 "required": f.required}
            if f.cells:
                d["cells"] = f.cells
            if f.options:
                d["options"] = [{"value": o.value, "box_mm": list(o.box_mm)} for o in f.options]
            if f.validators:
                d["validators"] = list(f.validators)
            if f.vocabulary:
                d["vocabulary"] = f.vocabulary
            if f.export:
                d["export"] = f.export
            if f.group:
                d.update(group=f.group, row=f.row, column=f.column)
            out_fields.append(d)
        return {"name": self.name, "version": self.version, "title": self.title,
                "page": {"width_mm": self.width_mm, "height_mm": self.height_mm},
                "registration": self.registration.method, "fields": out_fields,
                **({"groups": [{"name": g.name, "label": g.label, "rows": len(g.rows_mm),
                                "columns": [c.name for c in g.columns], "box_mm": [round(v, 2) for v in g.box_mm]}
                               for g in self.groups]} if self.groups else {})}


def mm_to_px(value_mm: float, dpi: float) -> float:
    return value_mm / 25.4 * dpi


def box_to_px(box_mm: Box, dpi: float) -> tuple[int, int, int, int]:
    """A millimetre box as integer pixel (x, y, w, h) at ``dpi``."""
    x, y, w, h = (mm_to_px(v, dpi) for v in box_mm)
    return (round(x), round(y), max(1, round(w)), max(1, round(h)))
