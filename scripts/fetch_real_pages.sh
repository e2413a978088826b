#!/usr/bin/env bash
# Fetches the real-page collection for bench/bench_orient.py: the pinned OCRmyPDF source distribution
# from PyPI (SHA-256 checked), its scanned test pages rendered to PNG with a ground-truth manifest, in
# bench/.cache/real-pages/ (gitignored; never committed). Safe to run again. Needs the network (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/real_pages.py "$@"
