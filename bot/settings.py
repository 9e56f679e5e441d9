"""Configuration from the environment (FAULTDESK_*) or a .env file."""

from __future__ import annotations

import logging
import re

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.db import default_url

# A token from @BotFather: the bot's numeric id, a colon, then the secret part.
TOKEN_SHAPE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{20,}$")
LOG_FORMATS = ("text", "json")


class Settings(BaseSettings):
    """Everything an operator can set; the defaults run the offline SQLite setup."""

    model_config = SettingsConfigDict(env_prefix="FAULTDESK_", env_file=".env", extra="ignore")

    database_url: str = default_url()
    bot_token: str = ""
    # The bot's @username for links the command line prints; the running bot asks getMe.
    bot_username: str = ""
    policy_file: str | None = None
    runtime: str = "aiogram"  # or "ptb"
    webhook_url: str | None = None  # public https URL; unset: long polling
    webhook_secret: str | None = None  # unset: derived from the token, alike on every instance
    webhook_listen: str = "0.0.0.0:8080"  # where the webhook server binds (host:port)
    polling_timeout: int = 30  # seconds one getUpdates long poll may wait
    # Seconds between one getUpdates answer and the next request: what arrives meanwhile
    # comes in one batch, journaled in one write. A burst (updates arriving faster than
    # answers go out) then costs a poll and a write per batch, not per update; a person
    # waits at most this long more, and only for a message sent within it of the last.
    poll_interval: float = 0.2
    shutdown_grace: float = 30.0  # seconds in-flight updates get to finish at shutdown
    # How often (seconds) to look for journaled updates whose handler died with its process.
    recovery_interval: float = 2.0
    # Seconds an instance's hold on an update and on its chat's lane lasts unless renewed
    # (every third of it while a handler runs): a dead instance's chats are taken over
    # within about this long.
    update_lease: float = 10.0
    api_base_url: str | None = None  # another Bot API server (e.g. the sandbox emulator)
    default_language: str = "zh_CN"
    admin_telegram_ids: str = ""  # comma-separated; these users become admins on their first /start
    # Seconds an outbox lease (a message being sent, and its chat) lasts unless renewed;
    # renewed every third of it, so a dead instance's messages are taken over within it
    # (and its chats' queues drain at Telegram's per-chat pace from then: 5 s leaves room
    # for a few messages per chat inside about 10 s).
    outbox_lease: float = 5.0
    # --- operations (bot.network, bot.logs, bot.health, core.retention) ---
    # Proxy for every request to the Bot API (http://, https://, socks5://, socks5h://);
    # unset: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (and NO_PROXY); "direct": none at all.
    proxy: str | None = None
    log_level: str = "INFO"  # faultdesk's own loggers
    log_format: str = "text"  # or "json": one object per line
    log_library_level: str = "WARNING"  # aiogram, PTB, httpx, APScheduler, Alembic, aiohttp
    # /healthz, /readyz and /metrics in both polling and webhook mode; "off" disables.
    health_listen: str = "127.0.0.1:9464"
    ready_heartbeat_max: float = 60.0  # seconds a worker may go without a heartbeat and be ready
    ready_page_age_max: float = 600.0  # seconds the oldest unsent page may wait and be ready
    startup_backoff_max: float = 10.0  # cap (seconds) between tries to reach the API or database
    journal_retention_days: float = 14.0  # handled updates are pruned after this many days
    outbox_retention_days: float = 30.0  # delivered messages are pruned after this many days
    # Seconds a claim on due work (escalation steps, reminders) holds its rows; renewed
    # while the work runs, so a dead instance's steps are taken over within this long.
    due_work_lease: float = 5.0
    # A closed or cancelled ticket's fired and cancelled due work is pruned after this many days.
    due_work_retention_days: float = 30.0

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        from bot.i18n import SUPPORTED

        if value not in SUPPORTED:
            raise ValueError(f"use one of {', '.join(SUPPORTED)}")
        return value

    @field_validator("log_level", "log_library_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        fmt = value.strip().lower()
        if fmt not in LOG_FORMATS:
            raise ValueError(f"use {' or '.join(LOG_FORMATS)}")
        return fmt

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except (ArgumentError, ValueError):  # the URL is not shown: it may hold a password
            raise ValueError(
                "not a database URL: use sqlite:///path or postgresql://user@host/db"
            ) from None
        return value

    @field_validator("health_listen", "web_listen")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        # Checked here, not when the server binds: a typo is told before start-up waits.
        address = value.strip()
        if address.lower() in ("off", "none", ""):
            return address
        _, separator, port = address.rpartition(":")
        if not separator or not port.isdigit() or int(port) > 65535:
            raise ValueError("use host:port (e.g. 127.0.0.1:9464), or off")
        return address

    @field_validator("journal_retention_days")
    @classmethod
    def _journal_outlives_redelivery(cls, value: float) -> float:
        # Telegram redelivers an update for up to 24 hours: forgetting it sooner would
        # let a redelivered update be handled twice.
        if value < 2:
            raise ValueError("keep handled updates at least 2 days")
        return value

    @field_validator(
        "outbox_retention_days",
        "due_work_retention_days",
        "update_lease",
        "recovery_interval",
        "startup_backoff_max",
        "web_init_data_max_age",
        "web_login_minutes",
        "web_session_hours",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("poll_interval")
    @classmethod
    def _short_pause(cls, value: float) -> float:
        # Longer and a person would notice the wait for a message sent just after another.
        if not 0 <= value <= 2:
            raise ValueError("use 0 (off) to 2 seconds")
        return value

    @field_validator("due_work_lease", "outbox_lease")
    @classmethod
    def _lease_length(cls, value: float) -> float:
        # Under a second, renewals (a third of the lease) would be most of the work.
        if value < 1:
            raise ValueError("use at least 1 second")
        return value

    # --- the web console (bot.web): in webhook mode on the webhook's address under /web ---
    web_listen: str = "off"  # in polling mode, where the console listens (host:port); "off": none
    web_url: str | None = None  # its public address for /web links; unset: derived (see web_base)
    web_init_data_max_age: float = 3600.0  # seconds a Mini App's initData stays valid
    web_login_minutes: float = 10.0  # how long a one-time /web login link works
    web_session_hours: float = 12.0  # how long the cookie that link sets lasts

    # A read-only channel (its numeric id, -100…) the bot posts the audit log's fingerprint
    # to every day; unset: no daily post (the monthly summary still carries one).
    audit_channel: int | None = None

    def web_enabled(self) -> bool:
        """The console is served: always beside a webhook, in polling mode on web_listen."""
        return bool(self.webhook_url) or self.web_listen.strip().lower() not in ("off", "none", "")

    def web_base(self) -> str:
        """The console's public address, ending in /web/ ("" when it is not served)."""
        from urllib.parse import urlsplit

        if self.web_url:
            return self.web_url.rstrip("/") + "/"
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            return f"{parts.scheme}://{parts.netloc}/web/"
        if self.web_enabled():
            host, _, port = self.web_listen.strip().rpartition(":")
            host = "127.0.0.1" if host in ("", "0.0.0.0") else host
            return f"http://{host}:{port}/web/"
        return ""

    def admin_ids(self) -> set[int]:
        """The Telegram ids named as admins."""
        return {int(part) for part in self.admin_telegram_ids.replace(" ", "").split(",") if part}

    def token_is_well_formed(self) -> bool:
        """True when the token has @BotFather's shape (digits, a colon, the secret part)."""
        return TOKEN_SHAPE.match(self.bot_token.strip()) is not None

    def bot_id(self) -> int:
        """The bot's own Telegram id, the number its token starts with (0 without a token)."""
        head = self.bot_token.partition(":")[0].strip()
        return int(head) if head.isdigit() else 0

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line or a printed message."""
        from bot.network import password_forms, url_password
        from bot.webhook import default_secret

        found = [self.bot_token, self.webhook_secret or ""]
        if self.bot_token:
            found.append(self.bot_token.partition(":")[2])  # the secret part on its own
            found.append(default_secret(self.bot_token))
        for url in (self.database_url, self.proxy or ""):
            password = url_password(url)
            if password:
                found.extend(password_forms(password))
        # Longest first, so a token is masked whole rather than around its secret part.
        return sorted({secret for secret in found if len(secret) >= 4}, key=len, reverse=True)
