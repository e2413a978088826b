"""The fetched real-page collection (bench/real_pages.py): complete, licensed, and read right on a
few of its pages. The collection comes from package registries and is not in the repo: these tests
are skipped, with the reason, where scripts/fetch_real_pages.sh has not been run on a developer's
machine; scripts/test.sh (and so CI) fetches it, and under CI a missing collection fails instead."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import pytest

from ocr_service.pipeline import orient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import real_pages  # noqa: E402

MANIFEST = real_pages.DEFAULT_DIR / "manifest.jsonl"
if os.environ.get("CI") and not MANIFEST.exists():  # CI fetches it (scripts/test.sh): absent is a fault
    raise RuntimeError(f"{MANIFEST} is missing: scripts/test.sh fetches the real pages before the tests")
pytestmark = pytest.mark.skipif(not MANIFEST.exists(),
                                reason="real-page collection not fetched (run scripts/fetch_real_pages.sh)")


def _rows() -> list[dict]:
    return [json.loads(line) for line in MANIFEST.open()]


def test_every_listed_page_is_there_with_its_licence():
    rows = _rows()
    assert len(rows) == len(real_pages.PAGES) + len(real_pages.DEBIAN_PAGES)
    for r in rows:
        assert (MANIFEST.parent / r["name"]).exists(), r["name"]
        assert r["licence"] and r["copyright"] and r["source"] and r["origin"], r["name"]
        assert r["kind"] in (real_pages.TEXT, real_pages.MUSIC, real_pages.OTHER)
    for pkg in real_pages.DEBIAN:
        assert "License" in (MANIFEST.parent / "licences" / f"{pkg}.copyright").read_text()
    assert (MANIFEST.parent / "REUSE.toml").exists()


def test_fetch_again_reuses_the_collection():
    before = MANIFEST.stat().st_mtime_ns
    assert real_pages.fetch() == MANIFEST and MANIFEST.stat().st_mtime_ns == before


@pytest.mark.parametrize("name", ["leptonlib-feyn.png", "tesseract-phototest.png", "leptonlib-arabic.png",
                                  "leptonlib-cat.007.png"])
def test_a_few_real_pages_are_turned_right(name):
    row = next(r for r in _rows() if r["name"] == name)
    page = cv2.imread(str(MANIFEST.parent / name), cv2.IMREAD_GRAYSCALE)
    for turn in (90, 180):
        _, o = orient.orient(orient.rotate90(page, turn))
        assert o.rotation == (row["rotation"] - turn) % 360, (name, turn)
