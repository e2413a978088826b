"""What thresholds achieve on labelled fields: straight-through and residual error per kind."""

from __future__ import annotations

from ocr_service.calibration.labels import LabelledField
from ocr_service.pipeline.scoring import Thresholds


def report(rows: list[tuple[LabelledField, float, bool]]) -> list[dict]:
    """Per kind: fields, exact before/after validation, straight-through rate, residual error among
    accepted, errors caught by review. ``rows`` are (field, score, accepted)."""
    table = []
    for kind in sorted({f.kind for f, _, _ in rows}) + ["all"]:
        sel = [(f, s, a) for f, s, a in rows if kind == "all" or f.kind == kind]
        n = len(sel)
        accepted = [f for f, _, a in sel if a]
        wrong_acc = sum(1 for f in accepted if not f.correct)
        wrong = sum(1 for f, _, _ in sel if not f.correct)
        table.append({
            "kind": kind, "fields": n,
            "exact_raw": sum(f.exact_raw for f, _, _ in sel) / n if n else 0.0,
            "exact_validated": sum(f.correct for f, _, _ in sel) / n if n else 0.0,
            "straight_through": len(accepted) / n if n else 0.0,
            "residual_error": wrong_acc / len(accepted) if accepted else 0.0,
            "errors": wrong, "caught_by_review": wrong - wrong_acc,
        })
    return table


def format_table(table: list[dict]) -> str:
    head = "| kind | fields | exact (raw OCR) | exact (validated) | straight-through | residual error | errors caught by review |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        lines.append(f"| {r['kind']} | {r['fields']} | {r['exact_raw']:.1%} | {r['exact_validated']:.1%} | "
                     f"{r['straight_through']:.1%} | {r['residual_error']:.2%} | {r['caught_by_review']}/{r['errors']} |")
    return "\n".join(lines)


def decide_all(fields: list[LabelledField], thresholds: Thresholds) -> list[tuple[LabelledField, float, bool]]:
    """(field, score, auto-accepted) for labelled fields under ``thresholds``, without re-reading them
    (evidence outside the calibrated ranges is not accepted, as in the pipeline)."""
    out = []
    for f in fields:
        sc = thresholds.score(f.kind, f.feats)
        threshold = thresholds.threshold(f.kind, f.name, f.feats)
        out.append((f, sc, (not f.blocked) and sc >= threshold and not thresholds.out_of_range(f.kind, f.feats)))
    return out
