"""Finding, loading and validating template files.

A template is addressed as ``NAME`` (its only or newest version), ``NAME@VERSION`` or the path of a
template file; a named one lives in ``<templates dir>/NAME/VERSION.yaml``. The templates directory
is passed in (``Settings.templates_dir``); by default it is the ``templates/`` folder of the source tree.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import yaml

from ocr_service.errors import TemplateError
from ocr_service.forms.model import (FieldSpec, GroupColumn, GroupSpec, Option, RegistrationSpec, StaticText,
                                     Template, cell_name)
from ocr_service.settings import BUNDLED_TEMPLATES

_SCHEMA_PATH = Path(__file__).with_name("template.schema.json")


@functools.cache
def _schema() -> dict:
    return json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))


SHARED_EDGE_MM = 0.05  # neighbouring rows or columns of a group share a ruled line: rounding may overlap them this much
COMPANION_SUFFIXES = (".export",)  # VERSION.export.yaml beside a template is its export mapping


def _template_files(folder: Path, pattern: str = "*.yaml") -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if not p.stem.endswith(COMPANION_SUFFIXES))


def available(root: Path = BUNDLED_TEMPLATES) -> list[str]:
    """Every template id (``name@version``) in the templates directory, sorted."""
    return sorted(f"{p.parent.name}@{p.stem}" for p in _template_files(Path(root), "*/*.yaml"))


def resolve(ref: str | Path, root: Path = BUNDLED_TEMPLATES) -> Path:
    """The file behind a template reference: a path, ``NAME`` or ``NAME@VERSION``."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml"):
        if p.exists():
            return p
        raise TemplateError("template file not found", file=str(p))
    name, _, version = str(ref).partition("@")
    folder = Path(root) / name
    if version:
        path = folder / f"{version}.yaml"
        if path.exists():
            return path
    else:
        versions = _template_files(folder)
        if versions:
            return versions[-1]
    known = ", ".join(available(root)) or "none"
    raise TemplateError(f"no template {ref!r} (known: {known})", file=str(folder))


@functools.cache
def load(ref: str | Path, root: Path = BUNDLED_TEMPLATES) -> Template:
    """Load and validate a template (a name, ``name@version`` or a file's path), once per process;
    errors name the file, the field and the reason."""
    return load_file(resolve(ref, root))


def load_file(path: Path) -> Template:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise TemplateError("a template is a mapping at the top level", file=str(path))
    _validate(data, path)
    return _build(data, path)


def _field_name_at(data: dict, error_path) -> str | None:
    parts = list(error_path)
    if len(parts) >= 2 and parts[0] in ("fields", "groups") and isinstance(parts[1], int):
        try:
            return data[parts[0]][parts[1]].get("name") or f"#{parts[1] + 1}"
        except (IndexError, AttributeError):
            return f"#{parts[1] + 1}"
    return None


def _validate(data: dict, path: Path) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise TemplateError(f"{where}: {err.message}", file=str(path),
                            field=_field_name_at(data, err.absolute_path))
    names = set()
    w, h = data["page"]["width_mm"], data["page"]["height_mm"]
    for f in data["fields"]:
        name = f["name"]
        if name in names:
            raise TemplateError("field name used twice", file=str(path), field=name)
        names.add(name)
        boxes = [f["box_mm"]] + [o["box_mm"] for o in f.get("options", [])]
        for x, y, bw, bh in boxes:
            if bw <= 0 or bh <= 0 or x + bw > w + 1e-6 or y + bh > h + 1e-6:
                raise TemplateError(f"box {[x, y, bw, bh]} is empty or outside the {w}×{h} mm page",
                                    file=str(path), field=name)
        if f["kind"] == "choice" and not f.get("options"):
            raise TemplateError("a choice field needs options", file=str(path), field=name)
        if f.get("cells") and f["kind"] not in ("digits", "date", "text"):
            raise TemplateError(f"cells are for digit boxes, not kind {f['kind']}", file=str(path), field=name)
    for g in data.get("groups", []):
        names |= _validate_group(g, names, w, h, path)
    groups = {g["name"]: g for g in data.get("groups", [])}
    for check in data.get("checks", []):
        if "group" in check:  # per row: the fields are the group's columns
            g = groups.get(check["group"])
            if g is None:
                raise TemplateError(f"check {check['rule']!r} names unknown group {check['group']!r}",
                                    file=str(path), field=check["group"])
            columns = {c["name"] for c in g["columns"]}
            for role, col in check["fields"].items():
                if col not in columns:
                    raise TemplateError(f"check {check['rule']!r} binds {role!r} to {col!r}, not a column of group "
                                        f"{g['name']!r}", file=str(path), field=g["name"])
            continue
        for role, fname in check["fields"].items():
            if fname not in names:
                raise TemplateError(f"check {check['rule']!r} binds {role!r} to unknown field {fname!r}",
                                    file=str(path), field=fname)
    for key, fname in data.get("context", {}).items():
        if fname not in names:
            raise TemplateError(f"context {key!r} names unknown field {fname!r}", file=str(path), field=fname)
    for section in ("household", "reports"):
        for key, fname in data.get(section, {}).items():
            if fname not in names:
                raise TemplateError(f"{section} {key!r} names unknown field {fname!r}", file=str(path), field=fname)
    reg = data["registration"]
    if reg["method"] == "marks" and not reg.get("marks"):
        raise TemplateError("registration by marks needs at least 3 marks", file=str(path))
    if reg["method"] == "features" and "reference" not in data and not data.get("static"):
        raise TemplateError("feature registration needs a reference print or printed text", file=str(path))
    if "reference" in data and not (path.parent / data["reference"]["pdf"]).exists():
        raise TemplateError(f"reference PDF {data['reference']['pdf']!r} not found beside the template",
                            file=str(path))


def group_rows(g: dict) -> list[tuple[float, float]]:
    """Each row's (top, height) in mm of a group as written: ``rows_mm``, or ``rows`` rows from
    ``first_row_mm`` every ``row_pitch_mm`` (``row_height_mm`` tall, the pitch by default)."""
    if "rows_mm" in g:
        return [(float(y), float(rh)) for y, rh in g["rows_mm"]]
    pitch = float(g["row_pitch_mm"])
    height = float(g.get("row_height_mm", pitch))
    return [(float(g["first_row_mm"]) + i * pitch, height) for i in range(int(g["rows"]))]


def _validate_group(g: dict, names: set[str], w: float, h: float, path: Path) -> set[str]:
    """The cell names of a valid group; TemplateError naming the file, the group and the problem."""
    gname = g["name"]

    def fail(reason: str) -> TemplateError:
        return TemplateError(f"group {gname!r}: {reason}", file=str(path), field=gname)

    if gname in names or any(n.split(".")[0] == gname for n in names):
        raise fail("the name is already used by a field or another group")
    spaced = all(k in g for k in ("rows", "first_row_mm", "row_pitch_mm"))
    if "rows_mm" in g and ("first_row_mm" in g or "row_pitch_mm" in g or "row_height_mm" in g):
        raise fail("give rows_mm (each row's top and height) or first_row_mm with row_pitch_mm, not both")
    if "rows_mm" not in g and not spaced:
        missing = [k for k in ("rows", "first_row_mm", "row_pitch_mm") if k not in g]
        raise fail(f"its rows need rows_mm, or rows, first_row_mm and row_pitch_mm (missing: {', '.join(missing)})")
    if "rows_mm" in g and "rows" in g and int(g["rows"]) != len(g["rows_mm"]):
        raise fail(f"rows is {g['rows']} but rows_mm gives {len(g['rows_mm'])} rows")
    rows = group_rows(g)
    for i, (y, rh) in enumerate(rows, 1):
        if rh <= 0:
            raise fail(f"row {i} has no height")
        if i > 1 and y < rows[i - 2][0] + rows[i - 2][1] - SHARED_EDGE_MM:
            raise fail(f"row {i} (top {y} mm) overlaps row {i - 1} (rows go down the page, one under the other)")
    cols = g["columns"]
    seen: set[str] = set()
    for i, c in enumerate(cols):
        if c["name"] in seen:
            raise fail(f"column {c['name']!r} given twice")
        seen.add(c["name"])
        x, cw = c["x_mm"]
        if cw <= 0:
            raise fail(f"column {c['name']!r} has no width")
        if i and x < cols[i - 1]["x_mm"][0] + cols[i - 1]["x_mm"][1] - SHARED_EDGE_MM:
            raise fail(f"column {c['name']!r} overlaps column {cols[i - 1]['name']!r} (columns go left to right)")
    x0, x1 = cols[0]["x_mm"][0], cols[-1]["x_mm"][0] + cols[-1]["x_mm"][1]
    y1 = rows[-1][0] + rows[-1][1]
    if x1 > w + 1e-6 or y1 > h + 1e-6:
        raise fail(f"the table [{x0}, {rows[0][0]}, {x1 - x0:.1f}, {y1 - rows[0][0]:.1f}] runs outside the "
                   f"{w}×{h} mm page")
    return {cell_name(gname, r, c["name"]) for r in range(1, len(rows) + 1) for c in cols}


def _expand_group(g: dict) -> tuple[GroupSpec, list[FieldSpec]]:
    """A group and its cells as ordinary fields, row by row (``members.1.tt``, ``members.1.full_name`` …)."""
    rows = group_rows(g)
    spec = GroupSpec(g["name"], g["label"], g.get("row_label", "Dòng"), tuple(rows),
                     tuple(GroupColumn(c["name"], c["label"], float(c["x_mm"][0]), float(c["x_mm"][1]),
                                       bool(c.get("required", False)), bool(c.get("row_number", False)))
                           for c in g["columns"]))
    cells = []
    for r, (y, rh) in enumerate(rows, 1):
        for c, col in zip(g["columns"], spec.columns):
            cells.append(FieldSpec(
                name=cell_name(spec.name, r, col.name), label=spec.cell_label(r, col), kind=c["kind"],
                box_mm=(col.x_mm, y, col.w_mm, rh), required=False, row_required=bool(c.get("required", False)),
                validators=tuple(c.get("validators", [])), vocabulary=c.get("vocabulary"),
                export=c.get("export"), sample=c.get("sample"), draw="none",
                group=spec.name, row=r, column=col.name))
    return spec, cells


def _expand_checks(data: dict) -> list[dict]:
    """The template's checks, one per row for a check on a group (its fields: that row's cells)."""
    rows = {g["name"]: len(group_rows(g)) for g in data.get("groups", [])}
    out = []
    for check in data.get("checks", []):
        if "group" not in check:
            out.append(check)
            continue
        base = {k: v for k, v in check.items() if k != "group"}
        for r in range(1, rows[check["group"]] + 1):
            out.append({**base, "fields": {role: cell_name(check["group"], r, col) for role, col in check["fields"].items()}})
    return out


def _box(v) -> tuple[float, float, float, float]:
    return tuple(float(x) for x in v)  # type: ignore[return-value]


def _build(data: dict, path: Path) -> Template:
    fields = []
    for f in data["fields"]:
        fields.append(FieldSpec(
            name=f["name"], label=f["label"], kind=f["kind"], box_mm=_box(f["box_mm"]),
            cells=f.get("cells"),
            options=tuple(Option(o["value"], _box(o["box_mm"]), o.get("label", o["value"]))
                          for o in f.get("options", [])),
            required=bool(f.get("required", False)),
            validators=tuple(f.get("validators", [])),
            vocabulary=f.get("vocabulary"), export=f.get("export"), sample=f.get("sample"),
            draw=f.get("draw", "box" if f.get("cells") else "dots"),
            label_at_mm=tuple(f["label_at_mm"]) if "label_at_mm" in f else None,
        ))
    groups = []
    for g in data.get("groups", []):
        spec, cells = _expand_group(g)
        groups.append(spec)
        fields.extend(cells)
    reg = data["registration"]
    ref = data.get("reference")
    return Template(
        name=data["name"], version=data["version"], title=data["title"],
        width_mm=float(data["page"]["width_mm"]), height_mm=float(data["page"]["height_mm"]),
        registration=RegistrationSpec(
            method=reg["method"], max_residual_px=float(reg.get("max_residual_px", 6.0)),
            marks=tuple(_box(m) for m in reg.get("marks", [])),
            qr_box_mm=_box(reg["qr_box_mm"]) if "qr_box_mm" in reg else None),
        fields=tuple(fields), source=path, font=data.get("font", {}),
        reference_pdf=(path.parent / ref["pdf"]) if ref else None,
        reference_page=int(ref.get("page", 1)) if ref else 1,
        static=tuple(StaticText(s["text"], tuple(s["at_mm"]), s.get("size_pt"), s.get("style", "regular"),
                                s.get("align", "left")) for s in data.get("static", [])),
        rules=tuple((_box(r["box_mm"]), float(r.get("width_mm", 0.3))) for r in data.get("rules", [])),
        checks=tuple(_expand_checks(data)), household=data.get("household", {}),
        context=data.get("context", {}), reports=data.get("reports", {}),
        description=data.get("description", ""), groups=tuple(groups),
    )
