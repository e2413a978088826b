"""Plain data describing a form template (see template.schema.json for the file format).

Coordinates are millimetres from the top-left corner of the page; boxes are [x, y, w, h].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def cell_boxes_mm(self) -> list[Box]:
        """The boxes of a comb field's cells, left to right (empty for a free line)."""
        if not self.cells:
            return []
        x, y, w, h = self.box_mm
        cw = w / self.cells
        return [(x + i * cw, y, cw, h) for i in range(self.cells)]


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

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

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
            out_fields.append(d)
        return {"name": self.name, "version": self.version, "title": self.title,
                "page": {"width_mm": self.width_mm, "height_mm": self.height_mm},
                "registration": self.registration.method, "fields": out_fields}


def mm_to_px(value_mm: float, dpi: float) -> float:
    return value_mm / 25.4 * dpi


def box_to_px(box_mm: Box, dpi: float) -> tuple[int, int, int, int]:
    """A millimetre box as integer pixel (x, y, w, h) at ``dpi``."""
    x, y, w, h = (mm_to_px(v, dpi) for v in box_mm)
    return (round(x), round(y), max(1, round(w)), max(1, round(h)))
