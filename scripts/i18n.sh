#!/usr/bin/env bash
# Keep the gettext catalogs in step with the code.
#   scripts/i18n.sh extract   # regenerate locales/messages.pot from bot/
#                             # (NC_("context", "text") marks a message with a msgctxt)
#   scripts/i18n.sh update    # merge the template into zh_CN, en and ru (new entries empty)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
command -v "$PYBABEL" >/dev/null 2>&1 || PYBABEL=pybabel
case "${1:-}" in
  extract)
    "$PYBABEL" extract -F babel.cfg -k _ -k N_ -k t -k plural:1,2 -k NC_:1c,2 -k pgettext:1c,2 --add-location=file --sort-by-file \
      --project=faultdesk --copyright-holder="faultdesk" --msgid-bugs-address="" \
      -o locales/messages.pot . ;;
  update)
    for lang in zh_CN en ru; do
      if [ -f "locales/$lang/LC_MESSAGES/messages.po" ]; then
        "$PYBABEL" update -i locales/messages.pot -d locales -l "$lang" --no-fuzzy-matching --ignore-obsolete
      else
        "$PYBABEL" init -i locales/messages.pot -d locales -l "$lang"
      fi
    done ;;
  *) echo "usage: $0 extract|update" >&2; exit 2 ;;
esac
