#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-real-pages  # the orientation tests read real scans (fetched, ~20 s)
export OMP_THREAD_LIMIT=1
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
