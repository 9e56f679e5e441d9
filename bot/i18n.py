"""Translations (gettext catalogs under locales/, compiled at start) and locale-aware formatting.

Message ids are English source text with `{name}` placeholders. Parameters are
HTML-escaped when formatted, because every message goes out with parse_mode=HTML and
a reporter's symptom text must never break (or inject) markup; wrap trusted markup
in `Safe` to pass it through.
"""

from __future__ import annotations

import gettext
import html
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED = ("zh_CN", "en", "ru")
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "zh_CN"


class Safe(str):
    """A string already safe for Telegram HTML; not escaped again."""

    __slots__ = ()


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


@dataclass(frozen=True)
class InContext:
    """A message id with its gettext context (msgctxt): one English word, several meanings."""

    context: str
    message: str


def NC_(context: str, message: str) -> InContext:
    """Mark a string with its context for extraction; translated later, where it is shown."""
    return InContext(context, message)


# How a language joins the parts of a duration: '2 h 12 min', but '2小时12分钟'.
DURATION_JOINER = {"zh": ""}


def normalize_language(code: str | None) -> str | None:
    """Map Telegram's language_code (e.g. 'zh-hans', 'en-US', 'ru') to a supported locale."""
    if not code:
        return None
    lowered = code.replace("_", "-").lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    base = lowered.split("-")[0]
    return base if base in SUPPORTED else None


def _escape(value: Any) -> Any:
    if isinstance(value, Safe) or not isinstance(value, str):
        return value
    return html.escape(value, quote=False)


def load_catalog(path: Path, locale: str) -> gettext.NullTranslations:
    """Compile one .po file in memory."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Text and formatting in one language."""

    def __init__(self, lang: str, catalog: gettext.NullTranslations) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        self._catalog = catalog

    def __call__(self, message: str | InContext, /, **params: Any) -> str:
        """Translate (in its context, if marked with one) and fill `{placeholders}` escaped."""
        if isinstance(message, InContext):
            text = self._catalog.pgettext(message.context, message.message)
        else:
            text = self._catalog.gettext(message)
        if not params:
            return text
        return text.format(**{key: _escape(value) for key, value in params.items()})

    def plural(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """Translate with the language's plural rules; `n` is also a parameter."""
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=n, **{key: _escape(value) for key, value in params.items()})

    def moment(self, value: datetime, tz: str) -> str:
        """A date and time in the reader's zone: '3月2日 11:00' / 'Mar 2, 11:00'."""
        local = value.astimezone(ZoneInfo(tz))
        day = format_date(local, format=self._skeleton("MMMd"), locale=self.locale)
        return f"{day} {format_time(local, format='HH:mm', locale=self.locale)}"

    def full_moment(self, value: datetime, tz: str) -> str:
        """Date with year and time, for reports."""
        return format_datetime(value.astimezone(ZoneInfo(tz)), format="medium", locale=self.locale)

    def day_short(self, value: datetime, tz: str) -> str:
        """A date with the year, short: '2026/3/2' / 'Mar 2, 2026'."""
        return format_date(value.astimezone(ZoneInfo(tz)), format="medium", locale=self.locale)

    def day(self, value: datetime, tz: str) -> str:
        """A date with weekday."""
        return format_date(value.astimezone(ZoneInfo(tz)), format="full", locale=self.locale)

    def duration(self, value: timedelta) -> str:
        """'2 h 07 min', '45 min', '3 d 4 h' in this language."""
        total = int(abs(value.total_seconds()) // 60)
        days, rest = divmod(total, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = []
        if days:
            parts.append(self(N_("{n} d"), n=days))
        if hours:
            parts.append(self(N_("{n} h"), n=hours))
        if minutes or not parts:
            parts.append(self(N_("{n} min"), n=minutes))
        return DURATION_JOINER.get(self.locale.language, " ").join(parts)

    def number(self, value: float, digits: int = 1) -> str:
        """A decimal number in this locale."""
        from babel.numbers import format_decimal

        return format_decimal(round(value, digits), locale=self.locale)

    def percent(self, value: float | None) -> str:
        """A share as a percentage with one decimal, or a dash when undefined."""
        if value is None:
            return "—"
        from babel.numbers import format_percent

        return format_percent(value, format="#,##0.0%", locale=self.locale)

    def _skeleton(self, skeleton: str) -> str:
        return str(self.locale.datetime_skeletons.get(skeleton, "MMM d"))


class I18n:
    """All catalogs, loaded once at start."""

    def __init__(self, locales_dir: Path = LOCALES_DIR, default: str = DEFAULT_LANGUAGE) -> None:
        self.default = default if default in SUPPORTED else DEFAULT_LANGUAGE
        self._translators: dict[str, Translator] = {}
        for lang in SUPPORTED:
            path = locales_dir / lang / "LC_MESSAGES" / "messages.po"
            catalog = load_catalog(path, lang) if path.exists() else gettext.NullTranslations()
            self._translators[lang] = Translator(lang, catalog)

    def get(self, lang: str | None) -> Translator:
        """The translator for a supported language, else the default one."""
        return self._translators.get(lang or "", self._translators[self.default])

    def choose(self, person_language: str | None, telegram_code: str | None) -> str:
        """The user's stored choice, else Telegram's language, else the default."""
        if person_language in SUPPORTED:
            assert person_language is not None
            return person_language
        return normalize_language(telegram_code) or self.default


@lru_cache(maxsize=1)
def default_i18n() -> I18n:
    """The catalogs of the installed project."""
    return I18n()
