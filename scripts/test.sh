#!/usr/bin/env bash
# Set up and run every check: lint, types, and the test suite on SQLite and PostgreSQL.
# A throw-away PostgreSQL is started from the machine's server binaries (installed from
# Debian's packages when missing) unless FAULTDESK_TEST_PG_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# poppler-utils: the suite turns a service-sheet PDF into a PNG (build/test-artefacts/).
if ! command -v pdftoppm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq poppler-utils || { apt-get update -qq && apt-get install -y -qq poppler-utils; }; } >&2
fi

echo "== lint and types"
ruff check .
ruff format --check .
mypy core bot sandbox demo benchmarks

pg_dir=""
cleanup() { [ -n "$pg_dir" ] && scripts/pg-throwaway.sh stop "$pg_dir" || true; [ -n "$pg_dir" ] && rm -rf "$pg_dir"; }
trap cleanup EXIT
if [ -z "${FAULTDESK_TEST_PG_URL:-}" ]; then
  pg_dir=$(mktemp -d /tmp/faultdesk-pg.XXXXXX)
  eval "$(scripts/pg-throwaway.sh start "$pg_dir")"
fi
echo "== tests (PostgreSQL at ${FAULTDESK_TEST_PG_URL})"
python -m pytest -q "$@"
