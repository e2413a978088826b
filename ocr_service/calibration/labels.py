"""Labelled fields: a pipeline's field results paired with the truth, as calibration learns from them.

Today the labels come from generated sheets (``truth.jsonl`` beside the scans); reviewers'
corrections are the next source. Each labelled field keeps the evidence (features) it was decided
on, so refitting never re-reads a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ocr_service.pipeline import executor
from ocr_service.pipeline.evidence import run_validators, sheet_context
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.pipeline.scoring import calibration_kind
from ocr_service.vietnamese.text import clean, match_key


THRESHOLD_REASONS = (ReviewReason.LOW_CONFIDENCE, ReviewReason.OUT_OF_CALIBRATION)


@dataclass(frozen=True)
class LabelledField:
    kind: str
    name: str
    feats: dict[str, float]
    correct: bool
    exact_raw: bool  # the engine's raw text was already right (before validation)
    value: str
    truth: str
    blocked: bool = False  # a hard reason (failed check, empty required …) sends it to review anyway
    # What the field's sheet shares with others that calibration must not learn from when it judges
    # this field: labels joined by "|" (e.g. "hand:Charm|scan:office", or "batch:12"). The grouped
    # cross-validation (fit.py) scores a field only with a model fitted on fields sharing none of its labels.
    group: str = ""


def canonical_truth(spec, truth: str, ctx: dict | None = None) -> str:
    """The value the pipeline should produce for a written ``truth`` (a vocabulary variant snaps to
    its canonical value, a date normalizes), so a right snap counts as right. ``ctx``: the
    validators' context from the sheet's written values (:func:`truth_context`): a commune's name
    is resolved within its written district, as the pipeline resolves it."""
    text = clean(truth)
    if not text:
        return ""
    finding = run_validators(spec, text, ctx or {})
    return finding.value if finding is not None and finding.ok else text


def truth_context(template, truth: dict[str, str]) -> dict:
    """The validators' context of a sheet from its written values (ground truth by field name)."""
    return sheet_context(template, {k: v or "" for k, v in truth.items()})


def is_correct(spec, value: str, written: str, ctx: dict | None = None) -> bool:
    """Whether a field's value is what the pipeline should produce for what was ``written``."""
    want = canonical_truth(spec, written, ctx)
    return match_key(value) == match_key(want) or match_key(value) == match_key(written)


def sheet_group(entry: dict) -> str:
    """The group labels of a sheet from its ``truth.jsonl`` entry: its hand (font family) and its
    scan profile, as ``samples generate`` records them ('' when the entry names neither), and its
    style (printed, handwriting) as a stratum (``fit.stratum``: thresholds must hold within each)."""
    parts = []
    if entry.get("hand") or entry.get("font"):
        parts.append(f"hand:{entry.get('hand') or entry.get('font')}")
    if entry.get("scan_profile"):
        parts.append(f"scan:{entry['scan_profile']}")
    if entry.get("style"):
        parts.append(f"style:{entry['style']}")
    return "|".join(parts)


def label(template, results, truths: list[dict[str, str]], groups: list[str] | None = None) -> list[LabelledField]:
    """Pair every field result of registered sheets with its ground truth (and its sheet's group
    labels, ``groups[i]`` for sheet i)."""
    out = []
    for i, (result, truth) in enumerate(zip(results, truths)):
        group = groups[i] if groups else ""
        if result.status != "ok":
            continue
        ctx = truth_context(template, truth)
        for fr in result.fields:
            spec = template.field(fr.name)
            written = truth.get(fr.name, "")
            correct = is_correct(spec, fr.value, written, ctx)
            exact_raw = clean(fr.raw) == clean(written)
            # reasons that depend on the thresholds are decided again from the evidence
            blocked = any(ReviewReason.of(r) not in THRESHOLD_REASONS for r in fr.reasons)
            out.append(LabelledField(calibration_kind(spec), fr.name, fr.features, bool(correct), exact_raw, fr.value, written,
                                     blocked, group))
    return out


def read_labelled_dir(path: str | Path) -> list[tuple[Path, dict[str, str]]]:
    """(scan file, truth fields) for each sheet listed in ``truth.jsonl`` (as `samples generate` writes)."""
    return [(path, entry["fields"]) for path, entry in read_labelled_entries(path)]


def read_labelled_entries(path: str | Path) -> list[tuple[Path, dict]]:
    """(scan file, whole truth entry: fields, hand, scan profile …) for each sheet of ``truth.jsonl``."""
    path = Path(path)
    index = path / "truth.jsonl"
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: a labelled folder has truth.jsonl beside its scans")
    out = []
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            out.append((path / entry["file"], entry))
    return out


def collect(pipeline, labelled_dir: str | Path, workers: int | None = None, on_file=None) -> list[LabelledField]:
    """Run ``pipeline`` over a labelled folder and label every field of every registered sheet
    (with its sheet's hand and scan profile as its group, when truth.jsonl records them)."""
    items = read_labelled_entries(labelled_dir)
    fields: list[LabelledField] = []
    for (path, entry), results in zip(items, executor.process_files(pipeline, [p for p, _ in items], workers)):
        fields.extend(label(pipeline.template, results[:1], [entry["fields"]], [sheet_group(entry)]))
        if on_file:
            on_file(path, results)
    return fields
