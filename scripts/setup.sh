#!/usr/bin/env bash
# Sets up a fresh Debian machine for ocr-service: system packages, a virtualenv in .venv with the
# project and its pinned engines. Safe to run again; does only what is missing.
# --with-real-pages also fetches the real-page collection of bench/bench_orient.py and tests/test_real_pages.py
# (from PyPI and Debian source packages; scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  tesseract-ocr tesseract-ocr-vie tesseract-ocr-script-viet tesseract-ocr-eng
  tesseract-ocr-osd  # osd.traineddata: orientation from the page's text (engines/osd.py); a Depends of tesseract-ocr, named so it is never dropped
  poppler-utils
  fonts-dejavu-core fonts-noto-core fonts-liberation2 fonts-freefont-ttf fonts-roboto fonts-open-sans
  python3-venv
  postgresql redis-server
  chromium chromium-driver  # the review station's browser tests (Playwright drives /usr/bin/chromium)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.ocr-service-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-engines.txt -nt "$stamp" ]; then
  echo "setup: installing Python packages" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev,synth]'
  .venv/bin/python -m pip install -q --no-deps --require-hashes -r requirements-engines.txt
  touch "$stamp"
fi
if [ "${1:-}" = "--with-real-pages" ]; then  # the orientation real pages (registries, not the repo)
  bash scripts/fetch_real_pages.sh
fi
echo "setup: ready (.venv/bin/ocr-service)" >&2
