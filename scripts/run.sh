#!/usr/bin/env bash
# Set up and run faultdesk on the embedded SQLite database (./faultdesk.sqlite3).
# With FAULTDESK_BOT_TOKEN set it serves Telegram; without one it plays the offline demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/faultdesk run "$@"
