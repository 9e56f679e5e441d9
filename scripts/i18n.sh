#!/usr/bin/env bash
# Keep the gettext catalogs in step with the code.
#   scripts/i18n.sh extract   # regenerate locales/messages.pot from bot/
#                             # (NC_("context", "text") marks a message with a msgctxt)
#   scripts/i18n.sh update    # merge the template into zh_CN, en and ru (new entries appended
#                             # empty, the files' layout kept)
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
    # Merge by hand rather than `pybabel update`, which rewraps every entry at 76 columns
    # and re-sorts the file: existing entries keep their place and text, new ones are
    # appended empty (to be translated), gone ones are dropped, lines stay 100 wide.
    PYTHON=${PYTHON:-.venv/bin/python}
    command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
    "$PYTHON" - <<'PY'
import io
from pathlib import Path

from babel.messages.pofile import read_po, write_po

with open("locales/messages.pot", "rb") as f:
    template = read_po(f)
for lang in ("zh_CN", "en", "ru"):
    path = Path(f"locales/{lang}/LC_MESSAGES/messages.po")
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    wanted = {(message.id if isinstance(message.id, str) else message.id[0], message.context)
              for message in template if message.id}
    for message in list(catalog):
        key = (message.id if isinstance(message.id, str) else message.id[0], message.context)
        if message.id and key not in wanted:
            catalog.delete(message.id, message.context)
    added = 0
    for message in template:
        if not message.id:
            continue
        known = catalog.get(message.id, message.context)
        if known is None:
            message.string = ("",) * catalog.num_plurals if message.pluralizable else ""
            catalog[message.id] = message  # the template is read afresh each time
            added += 1
        else:
            known.locations = message.locations
            known.flags = {flag for flag in message.flags if flag != "fuzzy"} | (
                {"fuzzy"} if "fuzzy" in known.flags else set()
            )
    out = io.BytesIO()
    write_po(out, catalog, width=100)
    path.write_bytes(out.getvalue().rstrip(b"\n") + b"\n")
    print(f"{path}: {added} new, {len(catalog)} in all")
PY
    ;;
  *) echo "usage: $0 extract|update" >&2; exit 2 ;;
esac
