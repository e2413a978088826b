"""``ocr-service calibrate --from-reviews``: refit the decision thresholds from what reviewers
decided, with the evidence stored on each field row (no page is read again).

The labelled fields are the reviewed ones (verified or rejected by a reviewer) and the answered QA
samples. The truth is the reviewer's final value: a field is correct when the value the pipeline
stored matches it (``match_key``, as calibration labels generated sheets); a confirmed value is
therefore correct, a corrected one wrong, and one marked unreadable wrong. Reasons other than the
threshold's own (a failed check, an empty required field …) block a field as in
``calibration.labels``. The fit is ``calibration.fit``; the new file carries a version, when and
from what it was fitted, and the previous file is kept beside it as ``….vN.json``.

The sample is not the population: it holds every field that went to review but only the QA share
of the auto-accepted ones, so the hard fields weigh more than they do in a batch. The error rate a
threshold shows on it is therefore higher than on the batches, and the fitted thresholds lean
toward review; the QA answers on the next batches measure the real residual (supervisor page).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from pathlib import Path

from sqlalchemy import or_, select

from ocr_service import calibration
from ocr_service.calibration.intervals import clopper_pearson
from ocr_service.calibration.labels import THRESHOLD_REASONS, LabelledField
from ocr_service.errors import InsufficientDataError, OcrServiceError
from ocr_service.forms import loader
from ocr_service.pipeline.reasons import ReviewReason
from ocr_service.pipeline.scoring import Thresholds, calibration_kind
from ocr_service.service.store.models import (
    FIELD_REJECTED,
    FIELD_VERIFIED,
    QA_AGREE,
    QA_ERROR,
    FieldRow,
    Sheet,
    Template,
    utcnow,
)
from ocr_service.vietnamese.text import clean, match_key

MIN_FIELDS = 200  # fewer labelled fields than this: refuse (a threshold needs errors to be seen to hold)
_HAS_GROUP = "group" in {f.name for f in dataclasses.fields(LabelledField)}


def _blocked(reasons) -> bool:
    out = False
    for r in reasons or []:
        try:
            out |= ReviewReason.of(r) not in THRESHOLD_REASONS
        except (ValueError, KeyError):
            out = True
    return out


def labelled_from_reviews(s, template: str | None = None,
                          templates_dir: str | Path | None = None) -> dict[str, list[tuple[LabelledField, str]]]:
    """Per template reference (``name@version``): the labelled fields from reviews and QA answers,
    each with its source (``review`` or ``qa``). ``template`` is a name or ``name@version``. Each
    field is labelled with its calibration kind, from the template in ``templates_dir`` (default:
    the bundled ones; the stored kind where the template or field is not found)."""
    kinds = _calibration_kinds(templates_dir)
    q = (select(FieldRow, Template.name, Template.version).join(Sheet, Sheet.id == FieldRow.sheet_id)
         .join(Template, Template.id == Sheet.template_id)
         .where(or_(FieldRow.qa_state.in_([QA_AGREE, QA_ERROR]),
                    FieldRow.status.in_([FIELD_VERIFIED, FIELD_REJECTED]) & FieldRow.verified_by.isnot(None))))
    if template:
        name, _, version = template.partition("@")
        q = q.where(Template.name == name)
        if version:
            q = q.where(Template.version == version)
    out: dict[str, list[tuple[LabelledField, str]]] = {}
    for f, name, version in s.execute(q.order_by(FieldRow.id)):
        if not f.features or "conf" not in f.features:
            continue  # stored without evidence (e.g. before features were kept): nothing to learn from
        if f.qa_state in (QA_AGREE, QA_ERROR) and f.qa_reviewer is None:  # (reviewer QA: a reviewed field)
            source, correct = "qa", f.qa_state == QA_AGREE
            truth = f.value if correct else (f.verified_value or "")
        else:
            source = "review"
            truth = f.verified_value or ""
            correct = f.status == FIELD_VERIFIED and match_key(f.value) == match_key(truth)
        extra = {"group": f"sheet:{f.sheet_id}"} if _HAS_GROUP else {}
        lf = LabelledField(kinds(name, version, f.name, f.kind or "text"), f.name, {k: float(v) for k, v in f.features.items()}, bool(correct),
                           clean(f.raw) == clean(truth), f.value, truth, _blocked(f.reasons), **extra)
        out.setdefault(f"{name}@{version}", []).append((lf, source))
    return out


def _calibration_kinds(templates_dir):
    """A lookup (template name, version, field, stored kind) -> the field's calibration kind."""
    root = Path(templates_dir) if templates_dir else loader.BUNDLED_TEMPLATES

    @functools.cache
    def spec_kinds(name: str, version: str) -> dict[str, str]:
        try:
            t = loader.load(f"{name}@{version}", root)
        except OcrServiceError:
            return {}
        return {f.name: calibration_kind(f) for f in t.fields}

    return lambda name, version, field, stored: spec_kinds(name, version).get(field, stored)


def _summary(rows) -> list[dict]:
    """Per kind and all: fields, accepted (straight-through), errors among accepted with the 95%
    Clopper–Pearson interval."""
    kinds = sorted({f.kind for f, _, _ in rows})
    out = []
    for kind in kinds + ["all"]:
        sel = [(f, a) for f, _, a in rows if kind == "all" or f.kind == kind]
        accepted = [f for f, a in sel if a]
        wrong = sum(1 for f in accepted if not f.correct)
        lo, hi = clopper_pearson(wrong, len(accepted))
        out.append({"kind": kind, "fields": len(sel), "accepted": len(accepted),
                    "straight_through": len(accepted) / len(sel) if sel else 0.0, "errors": wrong,
                    "residual": wrong / len(accepted) if accepted else None, "low": lo, "high": hi})
    return out


def compare(fields: list[LabelledField], old: Thresholds, new: Thresholds) -> list[dict]:
    """Before/after per kind on the same labelled fields: straight-through and residual error (with
    its interval) under the old thresholds and under the new."""
    before = {r["kind"]: r for r in _summary(calibration.decide_all(fields, old))}
    after = {r["kind"]: r for r in _summary(calibration.decide_all(fields, new))}
    return [{"kind": k, "fields": before[k]["fields"], "before": before[k], "after": after[k]} for k in before]


def format_report(rows: list[dict]) -> str:
    def res(r):
        if r["residual"] is None:
            return "— (none accepted)"
        return f"{r['residual']:.2%} [{r['low']:.2%}, {r['high']:.2%}] ({r['errors']}/{r['accepted']})"

    lines = ["| kind | fields | straight-through before | after | residual before [95% CI] | after [95% CI] |",
             "|---|---:|---:|---:|---|---|"]
    for r in rows:
        b, a = r["before"], r["after"]
        lines.append(f"| {r['kind']} | {r['fields']} | {b['straight_through']:.1%} | {a['straight_through']:.1%} | "
                     f"{res(b)} | {res(a)} |")
    return "\n".join(lines)


def _version_of(path: Path) -> int:
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("version", 1))
    except (OSError, ValueError, AttributeError):
        return 1


def write_versioned(path: Path, data: dict) -> tuple[int, Path | None]:
    """Write ``data`` to ``path`` as the next version (the old file's ``version`` + 1, or 1), keeping
    the previous file as ``<stem>.v<N>.json`` beside it. (version, where the previous one went)."""
    path = Path(path)
    kept = None
    version = 1
    if path.exists():
        old_version = _version_of(path)
        version = old_version + 1
        kept = path.with_name(f"{path.stem}.v{old_version}.json")
        shutil.copy2(path, kept)
    data = {"version": version, **data}
    tmp = path.with_name(path.name + ".tmp")
    calibration.write(tmp, data)
    tmp.replace(path)  # atomic: a worker reading the file sees the old or the new one, whole
    return version, kept


def refit(fields: list[tuple[LabelledField, str]], *, old_path: Path, out: Path, target: float,
          template: str, engines: str, min_fields: int = MIN_FIELDS) -> dict:
    """Fit, write ``out`` versioned, and compare with the thresholds at ``old_path``. Raises
    InsufficientDataError when there are fewer than ``min_fields`` labelled fields."""
    labelled = [f for f, _ in fields]
    if len(labelled) < min_fields:
        raise InsufficientDataError(
            f"only {len(labelled)} reviewed or QA-answered fields with stored evidence for {template} "
            f"(at least {min_fields} are needed to refit thresholds); the thresholds were not changed")
    if all(f.correct for f in labelled) or not any(f.correct for f in labelled):
        raise InsufficientDataError(f"the {len(labelled)} reviewed fields of {template} are all "
                                    f"{'right' if labelled[0].correct else 'wrong'}: nothing to tell them apart")
    old = Thresholds.load(old_path)
    data = calibration.fit(labelled, target)
    data.update({"engines": engines, "template": template, "source": "reviews",
                 "fitted_at": utcnow().replace(microsecond=0).isoformat(),
                 "counts": {"fields": len(labelled), "reviewed": sum(1 for _, s in fields if s == "review"),
                            "qa": sum(1 for _, s in fields if s == "qa"),
                            "wrong": sum(1 for f in labelled if not f.correct)},
                 "previous": old.source if Path(old_path).exists() else None})
    version, kept = write_versioned(out, data)
    new = Thresholds.load(out)
    return {"version": version, "path": str(out), "kept": str(kept) if kept else None,
            "counts": data["counts"], "report": compare(labelled, old, new)}


__all__ = ["MIN_FIELDS", "compare", "format_report", "labelled_from_reviews", "refit", "write_versioned"]
