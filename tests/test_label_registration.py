"""Label-anchored registration: pages that fail to register by their printed features are
registered from their printed labels, and say which fields were placed that way."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import DC01_RECORD
from ocr_service.pipeline import labels, register
from ocr_service.pipeline.build import build_pipeline
from ocr_service.pipeline.ingest import Page


@pytest.fixture(scope="module")
def page(dc01_filled, scan_of) -> Page:
    img, _ = scan_of(dc01_filled, skew_deg=1.0, out_dpi=300, noise_sigma=2.0, blur_sigma=0.5)
    return Page(img, "sheet.png", 1, "0" * 64, 300)


@pytest.fixture(scope="module")
def forced(dc01):
    """DC01 with a residual limit no scan can meet: registration by features always fails."""
    return dataclasses.replace(dc01, registration=dataclasses.replace(dc01.registration, max_residual_px=0.01))


@pytest.fixture(scope="module")
def normal(dc01, page):
    return build_pipeline(dc01, "tesseract").process_page(page)


def test_forced_failure_is_registered_by_labels(forced, page, normal):
    assert normal.status == "ok" and not normal.placed_by_label  # features suffice: no fallback
    off = build_pipeline(forced, "tesseract")
    off.label_fallback = False
    refused = off.process_page(page)
    assert refused.status == "rescan" and "residual" in refused.reason
    r = build_pipeline(forced, "tesseract").process_page(page)
    assert r.status == "ok", r.reason
    assert r.registration == "labels" and r.residual_px < labels.MAX_RESIDUAL_MM * 300 / 25.4
    line = r.to_json()
    assert line["registration"] == "labels" and line["placed_by_label"] == list(r.placed_by_label)
    printed = set(labels.label_boxes(forced))
    assert len(r.placed_by_label) >= 0.7 * len(printed) and set(r.placed_by_label) <= printed
    for f in r.fields:
        assert (labels.PLACED_BY_LABEL in f.warnings) == (f.name in r.placed_by_label), f.name
    # placed from the labels, the fields read as they do when the features register the page
    same = sum(a.value == b.value for a, b in zip(r.fields, normal.fields))
    assert same >= len(r.fields) - 2, [(a.name, a.value, b.value) for a, b in zip(r.fields, normal.fields)
                                       if a.value != b.value]
    assert {f.name: f.value for f in r.fields}["full_name"] == DC01_RECORD["full_name"]


def test_too_few_anchors_falls_back_to_labels(dc01, page, monkeypatch):
    monkeypatch.setattr(register, "MIN_PATCH_SCORE", 1.01)  # no anchor patch can match
    reg = register.register(page.image, dc01)
    assert not reg.ok and "anchors" in reg.reason and reg.prior is not None
    lab = labels.register_by_labels(page.image, dc01, 300, reg.prior)
    assert lab.ok and lab.labels_found >= 0.7 * lab.labels_expected


def test_another_form_is_not_registered_by_labels(cc01, cc01_filled, dc01):
    """CC01's labels are not DC01's: the fallback refuses the page instead of forcing it."""
    lab = labels.register_by_labels(cc01_filled.image, dc01, 300, None)
    assert not lab.ok and ("labels found" in lab.reason or "agree" in lab.reason), lab.reason
