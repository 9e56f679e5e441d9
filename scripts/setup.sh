#!/usr/bin/env bash
# Create .venv (if missing) and install faultdesk with its development tools into it.
# Installs a font with Chinese glyphs from the machine's Debian packages when fontconfig
# finds none (the monthly chart is drawn in the reader's language); needs root for that.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.faultdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi

has_cjk_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ':lang=zh-cn' file 2>/dev/null)" ]
}

if ! has_cjk_font; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "no font with Chinese glyphs found; installing one from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq fontconfig fonts-wqy-microhei >&2 \
      || apt-get install -y -qq fontconfig fonts-noto-cjk >&2 \
      || echo "could not install a CJK font: charts for Chinese readers will be in English" >&2
  else
    echo "no font with Chinese glyphs found: charts for Chinese readers will be in English" \
      "(as root: apt-get install fonts-wqy-microhei)" >&2
  fi
fi
