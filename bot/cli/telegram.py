"""The bot's identity for links the command line prints: its @username, never a guess.

From `--bot-username`, else FAULTDESK_BOT_USERNAME, else Telegram's `getMe` with
FAULTDESK_BOT_TOKEN (through FAULTDESK_API_BASE_URL when set). Without any of them the
command says how to give it, so no link ever points at somebody else's bot.
"""

from __future__ import annotations

import asyncio
import re

from bot.cli.speech import fail
from bot.i18n import N_
from bot.settings import Settings

TELEGRAM_API = "https://api.telegram.org"
GET_ME_TIMEOUT = 15.0  # seconds
# Telegram: 5-32 characters, letters, digits and underscores, starting with a letter.
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")


def check_username(text: str) -> str:
    """A bot username without the @, or a sentence saying what is wrong with it."""
    name = text.strip().removeprefix("@")
    if not USERNAME.fullmatch(name):
        fail(
            N_(
                "{name} is not a Telegram username: 5 to 32 letters, digits or _, starting with a letter (BotFather shows it)."
            ),
            name=text,
        )
    return name


async def _ask_telegram(token: str, base: str) -> str:
    import aiohttp

    url = f"{base.rstrip('/')}/bot{token}/getMe"
    timeout = aiohttp.ClientTimeout(total=GET_ME_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        answer = await response.json(content_type=None)
    if not isinstance(answer, dict) or not answer.get("ok"):
        description = answer.get("description") if isinstance(answer, dict) else None
        raise ValueError(str(description or f"HTTP {response.status}"))
    return str(answer["result"]["username"])


def bot_username(given: str | None, settings: Settings | None = None) -> str:
    """The bot's username: given, configured, or asked from Telegram with the token."""
    if given:
        return check_username(given)
    settings = settings or Settings()
    if settings.bot_username:
        return check_username(settings.bot_username)
    if not settings.bot_token:
        fail(
            N_(
                "The link needs your bot's username: pass --bot-username NAME, set FAULTDESK_BOT_USERNAME, or set FAULTDESK_BOT_TOKEN so it can be asked from Telegram."
            )
        )
    from aiohttp import ClientError

    try:
        return asyncio.run(_ask_telegram(settings.bot_token, settings.api_base_url or TELEGRAM_API))
    except (ClientError, TimeoutError, ValueError, KeyError, TypeError) as error:
        fail(
            N_(
                "Telegram did not tell the bot's username ({problem}); check FAULTDESK_BOT_TOKEN, or pass --bot-username NAME."
            ),
            problem=str(error) or type(error).__name__,
        )


def deep_link(username: str, payload: str) -> str:
    """https://t.me/<bot>?start=<payload>."""
    return f"https://t.me/{username}?start={payload}"


def invite_link(username: str, code: str) -> str:
    """The link that registers whoever opens it through an invitation."""
    from bot.handlers.common import INVITE_PREFIX  # the chat's own prefix, loaded when needed

    return deep_link(username, f"{INVITE_PREFIX}{code}")
