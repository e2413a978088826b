#!/usr/bin/env bash
# Fetches the real-page collection for bench/bench_orient.py (bench/real_pages.py): the pinned OCRmyPDF
# source distribution from PyPI (pip) and the pinned leptonlib and tesseract source packages of Debian
# bookworm (apt-get source --download-only, from a private deb-src configuration in the cache: the
# machine's apt sources are not touched), each archive SHA-256 checked; their real scans written as
# grayscale PNG with a ground-truth manifest and the packages' licence files, in
# bench/.cache/real-pages/ (gitignored; never committed). Safe to run again (reuses the cache).
# Needs the network (PyPI, Debian), pdftoppm, and apt-get with Debian's archive keyring (root).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/real_pages.py "$@"
