#!/usr/bin/env bash
# The main job on the bundled samples, with the embedded defaults (SQLite, a local worker pool, no other
# service): sets everything up, ingests samples/ into a fresh data dir (demo-data/, or $OCR_SERVICE_DATA_DIR),
# makes an admin account and an API token the first time, then serves the API on 127.0.0.1:8000.
# Safe to run again: ingest is idempotent, the account is kept, a new token is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OCR_SERVICE_DATA_DIR="${OCR_SERVICE_DATA_DIR:-demo-data}"
export OMP_THREAD_LIMIT=1
ocr=.venv/bin/ocr-service

$ocr db upgrade
# One batch per box of returned sheets. A refused file or a page to rescan makes ingest exit 1 with the
# reason on stderr: the broken files in samples/bad are there to show that, so it is not fatal here.
$ocr ingest samples/dc01 --batch "Hải Hậu — hộp 1" --template dc01 --expected 6 --commune "Xã Hải Bắc" || true
$ocr ingest samples/cc01 --batch "CC01 mẫu" --template cc01 --expected 2 || true
$ocr ingest samples/bad --batch "Tệp hỏng" --template auto || true
$ocr status

if ! $ocr users list 2>/dev/null | grep -q '^admin\b'; then
  password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))')
  printf '%s\n' "$password" | $ocr users add admin --role admin
  echo "admin password (shown once; change it with \`ocr-service users add\` on a new account): $password" >&2
fi
token=$($ocr tokens create admin --name demo)
cat >&2 <<INFO

API token for admin (shown once): $token
Try:  curl -H "Authorization: Bearer $token" http://127.0.0.1:8000/api/v1/batches
      curl -H "Authorization: Bearer $token" "http://127.0.0.1:8000/api/v1/review?limit=5"
INFO
exec $ocr serve
