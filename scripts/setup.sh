#!/usr/bin/env bash
# Create .venv (if missing) and install faultdesk with its development tools into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Debian packages the product needs: a CJK font for the service-sheet PDFs (and charts).
# Installed when missing (needs root and apt-get); without it the PDFs are refused politely.
need_deb() {  # need_deb PACKAGE FILE: install PACKAGE unless FILE exists
  [ -e "$2" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: $1 is not installed ($2 missing) and cannot be installed here" >&2; return 0
  fi
  echo "installing Debian package $1" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq "$1" || { apt-get update -qq && apt-get install -y -qq "$1"; }; } >&2
}
need_deb fonts-wqy-microhei /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
stamp=.venv/.faultdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
