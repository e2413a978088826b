"""Imports run one way: forms, engines, vietnamese → pipeline → calibration, synth → service → cli.

Every import in the package is read from the source (function-level ones too, which a run-time
check would miss); an import of a higher layer, or any import cycle between modules, fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ocr_service

PACKAGE = Path(ocr_service.__file__).parent
RANK = {
    "errors": 0, "settings": 0,
    "forms": 1, "engines": 1, "vietnamese": 1,
    "pipeline": 2,
    "calibration": 3, "synth": 3,
    "service": 4,
    "cli": 5,
}


def module_name(path: Path) -> str:
    parts = ("ocr_service",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, me: str | None = None) -> set[str]:
    """Every ocr_service module ``path`` (module ``me``) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = me or module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ocr_service"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("ocr_service"):
                # "from pkg import sub" imports the submodule when there is one
                subs = [f"{target}.{a.name}" for a in node.names]
                found = [s for s in subs if s in MODULES]
                out.update(found or [target])
    return out - {me}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ocr_service"


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {module_name(p) for p in FILES}
GRAPH = {module_name(p): imports_of(p) for p in FILES}


def test_every_module_belongs_to_a_layer():
    unknown = {m for m in MODULES if layer(m) not in RANK and m != "ocr_service"}
    assert not unknown, f"modules outside the layer table: {sorted(unknown)}"


def test_nothing_imports_a_higher_layer():
    upward = []
    for module, targets in GRAPH.items():
        if module == "ocr_service":
            continue
        for target in targets:
            if RANK[layer(target)] > RANK[layer(module)]:
                upward.append(f"{module} imports {target}")
    assert not upward, "\n".join(upward)


def test_calibration_and_synth_are_never_imported_by_the_pipeline_or_below():
    for module, targets in GRAPH.items():
        if layer(module) in ("forms", "engines", "vietnamese", "pipeline", "errors", "settings"):
            assert not {layer(t) for t in targets} & {"calibration", "synth", "service", "cli"}, module


def test_no_import_cycles():
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_function_level_imports(tmp_path):
    # the old calibration ↔ pipeline cycle hid in function bodies: the reader must find such imports
    f = PACKAGE / "pipeline" / "build.py"
    assert "ocr_service.pipeline.decide" in imports_of(f)
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ocr_service import cli\n    from . import decide\n", encoding="utf-8")
    assert imports_of(probe, "ocr_service.pipeline.probe") == {"ocr_service.cli", "ocr_service.pipeline.decide"}
