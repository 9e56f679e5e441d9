#!/usr/bin/env bash
# Make sure a font with Chinese glyphs is installed: the monthly chart finds it through
# fontconfig (it is drawn in the reader's language) and `faultdesk asset labels` and the
# service-sheet PDFs embed it (bot/rendering/ looks for these files). Installs Debian's
# fonts-wqy-microhei (small; fonts-noto-cjk when it is not to be had) when none is there
# (needs root); otherwise says how, without failing: charts then fall back to English.
set -euo pipefail
has_font() {
  command -v fc-list >/dev/null 2>&1 || return 1
  [ -n "$(fc-list ':lang=zh-cn' file 2>/dev/null)" ] || return 1
  local font
  for font in /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
              /usr/share/fonts/wqy-microhei/wqy-microhei.ttc \
              /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
              /usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc \
              /usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc; do
    [ -f "$font" ] && return 0
  done
  return 1
}
has_font && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "no Chinese font found; installing Debian's fonts-wqy-microhei (charts, labels, sheets)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq fontconfig fonts-wqy-microhei >&2 \
    || apt-get install -y -qq fontconfig fonts-noto-cjk >&2 \
    || echo "could not install a Chinese font: charts for Chinese readers will be in English" >&2
else
  echo "no Chinese font found: charts for Chinese readers will be in English" \
    "(as root: apt-get install fontconfig fonts-wqy-microhei)" >&2
fi
