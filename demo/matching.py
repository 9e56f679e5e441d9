"""Recognising the bot's messages as a person reads them, in any language.

A message is matched by its msgid, translated with the reader's translator: the regex is
built from the translated template, so the same journey finds its messages in Chinese
as in English without knowing either.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable

from bot.i18n import Translator
from sandbox import SentMessage

Match = Callable[[SentMessage], bool]

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Telegram HTML as the person reads it: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def pattern(t: Translator, msgid: str, **known: object) -> re.Pattern[str]:
    """A regex for a message as `t` renders it; placeholders not in `known` match anything."""
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(t(msgid)):
        parts.append(re.escape(plain(literal)))
        if name is None:
            continue
        parts.append(re.escape(str(known[name])) if name in known else ".+?")
    return re.compile("".join(parts), re.DOTALL)


def says(t: Translator, msgid: str, **known: object) -> Match:
    """Matches a message containing that text."""
    regex = pattern(t, msgid, **known)
    return lambda message: regex.search(message.text) is not None


def with_button(text: str) -> Match:
    """Matches a message offering a button with exactly this label."""
    return lambda message: message.button(text) is not None


def all_of(*matches: Match) -> Match:
    """Matches when every one matches."""
    return lambda message: all(match(message) for match in matches)


def the_message(message: SentMessage) -> Match:
    """Matches one particular message (in whatever version it is now)."""
    return lambda candidate: candidate.message_id == message.message_id
