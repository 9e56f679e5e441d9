#!/usr/bin/env bash
# Set up and run every check: lint, types, and the test suite on SQLite and PostgreSQL.
# A throw-away PostgreSQL is started from the machine's server binaries (installed from
# Debian's packages when missing) unless FAULTDESK_TEST_PG_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

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
# The backup tests run pg_dump and pg_restore: PostgreSQL's client tools, which the
# server package brings along; a server named from outside may leave them missing.
if ! command -v pg_dump >/dev/null 2>&1 || ! command -v pg_restore >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "pg_dump not found; installing the PostgreSQL client tools" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql-client-15 >&2 || apt-get install -y -qq postgresql-client >&2
  fi
fi
# The web console's browser tests drive headless Chromium through chromedriver, both
# from Debian's packages.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium not found; installing chromium and chromium-driver" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium chromium-driver >&2
  else
    echo "the browser tests need chromium and chromium-driver (apt-get, as root)" >&2
  fi
fi
echo "== tests (PostgreSQL at ${FAULTDESK_TEST_PG_URL})"
python -m pytest -q "$@"
