"""Configuration from the environment (FAULTDESK_*) or a .env file."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from core.db import default_url


class Settings(BaseSettings):
    """Everything an operator can set; the defaults run the offline SQLite setup."""

    model_config = SettingsConfigDict(env_prefix="FAULTDESK_", env_file=".env", extra="ignore")

    database_url: str = default_url()
    bot_token: str = ""
    policy_file: str | None = None
    runtime: str = "aiogram"  # or "ptb"
    webhook_url: str | None = None  # public https URL; unset: long polling
    webhook_secret: str | None = None  # unset: derived from the token, alike on every instance
    webhook_listen: str = "0.0.0.0:8080"  # where the webhook server binds (host:port)
    polling_timeout: int = 30  # seconds one getUpdates long poll may wait
    shutdown_grace: float = 30.0  # seconds in-flight updates get to finish at shutdown
    # How often (seconds) to look for journaled updates whose handler died with its process.
    recovery_interval: float = 60.0
    api_base_url: str | None = None  # another Bot API server (e.g. the sandbox emulator)
    default_language: str = "zh_CN"
    admin_telegram_ids: str = ""  # comma-separated; these users become admins on their first /start
    instances: int = 1  # bot processes sharing this token; each sends at 1/N of Telegram's rate
    # A read-only channel (its numeric id, -100…) the bot posts the audit log's fingerprint
    # to every day; unset: no daily post (the monthly summary still carries one).
    audit_channel: int | None = None

    def admin_ids(self) -> set[int]:
        """The Telegram ids named as admins."""
        return {int(part) for part in self.admin_telegram_ids.replace(" ", "").split(",") if part}
