#!/usr/bin/env bash
# The whole suite: lint, types, and pytest against a real Redis (and PostgreSQL when DATABASE_URL says so).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
export THEMELOOP_DEV=1
# Tests use their own Redis database so a running `make run` is not disturbed.
export REDIS_URL=$("$PY" scripts/redis_url.py <<<"" | sed 's#/[0-9]*$#/15#')
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
    || echo "could not install chromium; browser tests will be skipped"
fi
if ! command -v pdftoppm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's poppler-utils for the PDF report test"
  (apt-get install -y -q poppler-utils >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q poppler-utils >/dev/null)) \
    || echo "could not install poppler-utils; the PDF test will be skipped"
fi
if [ "${LINT:-1}" != 0 ]; then  # LINT=0: a second run of the suite (on another database) skips the lint
  "$BIN/ruff" check .
  "$BIN/mypy" ml labeling_app
fi
"$PY" -m pytest "$@"
