#!/usr/bin/env bash
# Set up and run faultdesk on the embedded SQLite database (./faultdesk.sqlite3).
# With FAULTDESK_BOT_TOKEN set (in the environment or .env) it serves Telegram
# (`faultdesk run`); without one it plays the offline demo (`faultdesk demo`), and says which.
# Arguments go to that command (e.g. --runtime ptb).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The token is looked up as the bot reads its settings: environment first, then .env.
if .venv/bin/python -c 'import sys; from bot.settings import Settings; sys.exit(0 if Settings().bot_token else 1)'; then
  echo "faultdesk: FAULTDESK_BOT_TOKEN is set: running the bot (faultdesk run)" >&2
  exec .venv/bin/faultdesk run "$@"
fi
echo "faultdesk: no FAULTDESK_BOT_TOKEN: playing the offline demo (faultdesk demo); set the token to run the bot" >&2
exec .venv/bin/faultdesk demo "$@"
