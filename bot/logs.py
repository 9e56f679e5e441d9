"""Logging for the operator: a level, text or JSON lines, quiet libraries, no secrets.

`configure_logging(settings)` sets up the root logger once per process:
- faultdesk's own loggers (`bot.*`, `core.*`) at `FAULTDESK_LOG_LEVEL` (INFO);
- libraries (aiogram, python-telegram-bot, httpx, APScheduler, Alembic, aiohttp...) at
  `FAULTDESK_LOG_LIBRARY_LEVEL` (WARNING), so a start is a handful of lines;
- `FAULTDESK_LOG_FORMAT=text` (one readable line) or `json` (one object per line, with
  the business events' ids as keys; python-json-logger writes it);
- every line, tracebacks included, has the bot token, the webhook secret and the
  database's and proxy's passwords replaced by `***` before it is written, whatever
  logger wrote it and at whatever level.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, Final, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot.settings import Settings

OUR_LOGGERS: Final = ("bot", "core", "demo")
MASK: Final = "***"
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Redactor:
    """Replaces known secrets in text (as written, and as JSON escapes them)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.add(secret)
                forms.add(json.dumps(secret)[1:-1])  # inside a JSON string
        self.secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingTextFormatter(logging.Formatter):
    """The text line, secrets masked."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then mask."""
        return self.redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per record (time, level, logger, message, extra fields), masked."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
        )
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Serialise, then mask (also inside escaped strings)."""
        return self.redact(super().format(record))


def make_formatter(settings: Settings) -> logging.Formatter:
    """The formatter the settings ask for, masking the settings' secrets."""
    redact = Redactor(settings.secrets())
    if settings.log_format == "json":
        return RedactingJsonFormatter(redact)
    return RedactingTextFormatter(redact)


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Route every log record to one stream handler as the settings say; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(settings))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "faultdesk", False):
            root.removeHandler(old)
    handler.faultdesk = True  # type: ignore[attr-defined]  # ours to replace on reconfigure
    root.addHandler(handler)
    root.setLevel(settings.log_library_level)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(settings.log_level)
    # Warnings (deprecations, missing glyphs) go through logging, masked like the rest.
    logging.captureWarnings(True)
    return handler


def describe(value: Any) -> str:
    """A short human description of a job's result for a log line (no reprs)."""
    if value is None:
        return "nothing to do"
    if isinstance(value, list | tuple | set):
        return f"{len(value)} item(s)"
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        parts = []
        for name in fields:
            item = getattr(value, name)
            if isinstance(item, bool | int | float | str) or item is None:
                parts.append(f"{name}={item}")
            elif isinstance(item, list | tuple | set | dict):
                parts.append(f"{name}={len(item)}")
        return " ".join(parts)
    return str(value)
