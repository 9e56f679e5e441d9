"""The chat menu button that opens the console (a Mini App), kept right per private chat.

Every active dispatcher, manager, engineer and administrator gets a `web_app` menu button
labelled in their language and opening the console; staff keep Telegram's default, and
someone who loses their screen (role change, deactivation, console switched off or not
on https) gets the default back. Telegram has no "menu button for a role", so the button
is set chat by chat.

Cheap and idempotent: what was set is remembered in the database (`core.menu_buttons`),
so a start-up or a pass calls Telegram only for chats whose button must change. A pass
runs at start, whenever a person changed (the newest `person` audit event moved: checked
every `CHECK_EVERY` seconds with one indexed read), and every `FULL_PASS_EVERY` seconds
in any case. A failed call is simply tried again by a later pass, so no outbox row is
needed: menu buttons are state to converge to, not messages to deliver once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from bot.chat import BadRequest as TelegramRefused
from bot.chat import RetryAfter, SetMenuButton, Transport, TransportError, Unreachable
from bot.i18n import N_, I18n
from bot.ratelimit import SendLimiter
from bot.web.links import mini_app_base
from core import menu_buttons
from core.unit_of_work import Core

log = logging.getLogger(__name__)

MENU_LABEL: Final = N_("Console")  # the menu button's text (Telegram shows it short)
CHECK_EVERY: Final = 2.0  # seconds between looks at whether anyone changed
FULL_PASS_EVERY: Final = 300.0  # seconds; catches what no audit event announces
# A chat whose person never started the bot refuses the button; try it again after this.
RETRY_REFUSED: Final = timedelta(hours=1)
# Behind every message in the shared limiter (replies 0, pages 1, notices 5, reports 8):
# a menu button is no message anyone waits for.
MENU_PRIORITY: Final = 9


def digest(text: str, url: str) -> str:
    """What a web_app button shows, as the 64 characters remembered for its chat."""
    return hashlib.sha256(f"web_app\n{text}\n{url}".encode()).hexdigest()


class MenuButtons:
    """Sets each private chat's menu button to the console, or back to the default."""

    def __init__(self, core: Core, i18n: I18n, *, bot_id: int, web_url: Callable[[], str]) -> None:
        self.core = core
        self.i18n = i18n
        self.bot_id = bot_id
        self.web_url = web_url  # read on every pass: in polling mode it is known late
        # The instance's send limiter, once it has one: a large first rollout is paced
        # within Telegram's overall rate instead of running into 429s.
        self.limiter: SendLimiter | None = None
        self._told_http = False
        self._marker: int | None = None
        self._pause_until = 0.0  # loop time before which Telegram asked us to wait
        self.passes = 0  # looks at the people taken so far (whole passes or not needed)

    def wanted(self, chats: list[menu_buttons.ConsoleChat]) -> dict[int, SetMenuButton]:
        """The web_app button each chat should show (none when not on https)."""
        address = self.web_url()
        base = mini_app_base(address)
        if base is None:
            if address and not self._told_http:
                self._told_http = True
                log.info(
                    "no console menu buttons: Telegram opens Mini Apps only over https,"
                    " and the console is at %s",
                    address,
                )
            return {}
        return {
            chat.chat_id: SetMenuButton(
                chat.chat_id, self.i18n.get(chat.language)(MENU_LABEL), base
            )
            for chat in chats
        }

    async def sync(self, transport: Transport) -> int:
        """One pass: set what differs from what was set; the number of calls to Telegram."""
        wanted = self.wanted(await menu_buttons.console_chats(self.core))
        known = await menu_buttons.remembered(self.core, self.bot_id)
        now = self.core.clock.now()
        calls = 0
        for chat_id, button in wanted.items():
            assert button.text is not None and button.url is not None
            shown = digest(button.text, button.url)
            was = known.get(chat_id)
            settled = was is not None and (not was.failed or now - was.set_at < RETRY_REFUSED)
            if settled and was is not None and was.shown == shown:
                continue
            calls += 1
            outcome = await self._call(transport, button)
            if outcome is not None:
                await menu_buttons.remember(
                    self.core, self.bot_id, chat_id, shown, failed=not outcome, now=now
                )
        for chat_id in known.keys() - wanted.keys():
            calls += 1
            # Refused (the chat is gone) is as good as done: there is nothing to put back.
            if await self._call(transport, SetMenuButton(chat_id)) is not None:
                await menu_buttons.forget(self.core, self.bot_id, chat_id)
        return calls

    async def _call(self, transport: Transport, button: SetMenuButton) -> bool | None:
        """True when set, False when Telegram refused it for good, None: try again later."""
        try:
            if self.limiter is None:
                await transport.perform(button)
            else:  # no message to the chat: its own pace does not apply, only the overall
                async with self.limiter.sending(button.chat_id, MENU_PRIORITY, paced=False):
                    await transport.perform(button)
        except RetryAfter as error:
            self._pause_until = asyncio.get_running_loop().time() + error.seconds
            raise
        except (Unreachable, TelegramRefused) as error:
            log.warning("menu button of chat %s not set: %s", button.chat_id, error)
            return False
        except TransportError as error:
            log.warning("menu button of chat %s not set (will retry): %s", button.chat_id, error)
            return None
        return True

    async def run(self, transport: Transport, stop: asyncio.Event) -> None:
        """Pass at start, after each change of a person, and now and then, until `stop`."""
        loop = asyncio.get_running_loop()
        last_full = -FULL_PASS_EVERY
        while not stop.is_set():
            try:
                marker = await menu_buttons.people_marker(self.core)
                due = loop.time() - last_full >= FULL_PASS_EVERY
                if (due or marker != self._marker) and loop.time() >= self._pause_until:
                    await self.sync(transport)
                    self._marker, last_full = marker, loop.time()
            except RetryAfter:
                log.info("menu buttons: Telegram asked to wait; going on later")
            except Exception:  # the database may be away for a moment; the next pass retries
                log.warning("menu buttons not brought up to date", exc_info=True)
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_EVERY)
