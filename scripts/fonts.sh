#!/usr/bin/env bash
# Make sure a CJK font is installed for `faultdesk asset labels` (bot/rendering/labels.py
# looks for these files). Installs Debian's fonts-noto-cjk when none is there (needs root);
# otherwise says how, without failing: only the labels need it.
set -euo pipefail
for font in /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
            /usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc \
            /usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc \
            /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
            /usr/share/fonts/wqy-microhei/wqy-microhei.ttc; do
  [ -f "$font" ] && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "no Chinese font found; installing Debian's fonts-noto-cjk (for sticker labels)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq fonts-noto-cjk >&2 || apt-get install -y -qq fonts-wqy-microhei >&2
else
  echo "no Chinese font found: install fonts-noto-cjk (or name one with faultdesk asset labels --font)" >&2
fi
