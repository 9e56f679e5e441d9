#!/usr/bin/env bash
# Run the test suite several times in a row on a busy machine, as CI may: two CPU-burning
# processes run beside it the whole time. Prints pass or fail for each round (and what
# failed); exits non-zero if any round failed.
#
# Usage: scripts/busy-suite.sh [ROUNDS] [pytest arguments...]   (ROUNDS defaults to 3)
#
# A throw-away PostgreSQL is started as scripts/test.sh does (scripts/pg-throwaway.sh)
# unless FAULTDESK_TEST_PG_URL already names one. Each round's full output is kept in
# BUSY_SUITE_LOGS (a fresh directory under /tmp by default). Lint and types are
# scripts/test.sh's business: a busy machine cannot change their outcome. The burners and
# the database are stopped on exit, however the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  rounds=$1
  shift
fi
python=.venv/bin/python
if [ ! -x "$python" ]; then
  echo "no .venv here: run scripts/setup.sh first" >&2
  exit 2
fi
logs=${BUSY_SUITE_LOGS:-$(mktemp -d /tmp/faultdesk-busy.XXXXXX)}
mkdir -p "$logs"

pg_dir=""
burners=()
cleanup() {
  local pid
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${burners[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_dir" ]; then
    scripts/pg-throwaway.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through the EXIT trap

if [ -z "${FAULTDESK_TEST_PG_URL:-}" ]; then
  pg_dir=$(mktemp -d /tmp/faultdesk-pg.XXXXXX)
  eval "$(scripts/pg-throwaway.sh start "$pg_dir")"
fi
export FAULTDESK_TEST_PG_URL

# Each burner spins until this script is gone, even if it is killed before its trap runs.
burn='import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass'
for _ in 1 2; do
  python3 -c "$burn" &
  burners+=($!)
done
echo "== $rounds rounds beside 2 CPU burners (pids ${burners[*]}); PostgreSQL at $FAULTDESK_TEST_PG_URL"
echo "== logs in $logs"

failed=0
for round in $(seq "$rounds"); do
  log="$logs/round-$round.log"
  started=$(date +%s)
  if "$python" -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1; then
    verdict=pass
  else
    verdict=FAIL
    failed=$((failed + 1))
  fi
  summary=$(grep -E '(passed|failed|error)' "$log" | tail -n 1 || true)
  echo "round $round: $verdict after $(($(date +%s) - started)) s: ${summary:-no summary}"
  if [ "$verdict" = FAIL ]; then
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
  fi
done

echo "== $((rounds - failed)) of $rounds rounds passed"
[ "$failed" -eq 0 ]
