"""The console's menu buttons on every backend: what a pass sets, what it remembers, and
how it treats refusals, passing failures and Telegram's "wait"."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.chat import Action, NetworkError, RetryAfter, Sent, SetMenuButton, Unreachable
from bot.i18n import I18n
from bot.ratelimit import Rate, RateLimits, SendLimiter
from bot.web.menu import RETRY_REFUSED, MenuButtons
from core.enums import Role
from core.models import MenuButton

PUBLIC = "https://console.example.test/web/"
BOT = 42


class Telegram:
    """Records setChatMenuButton calls; fails the ones it is told to, by chat."""

    def __init__(self) -> None:
        self.calls: list[SetMenuButton] = []
        self.fail: dict[int, Exception] = {}

    async def perform(self, action: Action) -> Sent:
        assert isinstance(action, SetMenuButton)
        self.calls.append(action)
        error = self.fail.get(action.chat_id)
        if error is not None:
            raise error
        return Sent(None)

    def chats(self) -> dict[int, str | None]:
        """Chat -> the label set there (None: back to the default), and forget the calls."""
        seen = {call.chat_id: call.text for call in self.calls}
        self.calls = []
        return seen


def menus(helpdesk, url: str = PUBLIC, bot_id: int = BOT) -> MenuButtons:
    address = [url]
    buttons = MenuButtons(
        helpdesk.core, I18n(default="en"), bot_id=bot_id, web_url=lambda: address[0]
    )
    buttons.address = address  # type: ignore[attr-defined]  # the tests move the console
    return buttons


async def rows(helpdesk) -> dict[tuple[int, int], bool]:
    async with helpdesk.core.reading() as session:
        found = await session.scalars(select(MenuButton))
        return {(row.bot_id, row.chat_id): row.failed for row in found}


async def test_a_pass_sets_what_differs_and_remembers_it(helpdesk, world):
    telegram, buttons = Telegram(), menus(helpdesk)
    await helpdesk.people.set_language(world.manager_id, "ru")
    assert await buttons.sync(telegram) == 4
    assert {call.url for call in telegram.calls} == {PUBLIC}
    # Engineers, the dispatcher and the manager (in Russian); never the reporter (staff).
    assert telegram.chats() == {2001: "Console", 2002: "Console", 3001: "Console", 4001: "Консоль"}
    assert await buttons.sync(telegram) == 0  # nothing changed: Telegram is not called
    assert telegram.calls == []
    # Another process (a restart) reads what was set from the database.
    assert await menus(helpdesk).sync(telegram) == 0
    # The same database serving another bot token remembers nothing for it.
    assert await menus(helpdesk, bot_id=BOT + 1).sync(telegram) == 4
    telegram.chats()

    await helpdesk.people.set_role(world.dispatcher_id, Role.STAFF)
    await helpdesk.people.deactivate(world.manager_id)
    await helpdesk.people.set_language(world.backup_id, "zh_CN")
    await buttons.sync(telegram)
    assert telegram.chats() == {3001: None, 4001: None, 2002: "控制台"}
    assert set(await rows(helpdesk)) == {(BOT, 2001), (BOT, 2002)} | {
        (BOT + 1, chat) for chat in (2001, 2002, 3001, 4001)
    }

    # The console moves to another address: every button follows; off https, all go back.
    buttons.address[0] = "https://elsewhere.example.test/web/"  # type: ignore[attr-defined]
    await buttons.sync(telegram)
    assert {call.url for call in telegram.calls} == {"https://elsewhere.example.test/web/"}
    telegram.chats()
    buttons.address[0] = "http://127.0.0.1:8080/web/"  # type: ignore[attr-defined]
    await buttons.sync(telegram)
    assert telegram.chats() == {2001: None, 2002: None}
    assert {bot for bot, _ in await rows(helpdesk)} == {BOT + 1}


async def test_refusals_wait_an_hour_and_passing_failures_the_next_pass(helpdesk, world, clock):
    telegram, buttons = Telegram(), menus(helpdesk)
    telegram.fail = {2001: Unreachable("chat not found"), 3001: NetworkError("reset")}
    await buttons.sync(telegram)
    assert await rows(helpdesk) == {(BOT, 2001): True, (BOT, 2002): False, (BOT, 4001): False}
    telegram.chats()
    telegram.fail = {}
    await buttons.sync(telegram)
    assert telegram.chats() == {3001: "Console"}  # the passing failure, at once
    clock.advance(RETRY_REFUSED - timedelta(minutes=1))
    await buttons.sync(telegram)
    assert telegram.calls == []  # the refused chat is not asked every pass
    clock.advance(timedelta(minutes=2))
    await buttons.sync(telegram)
    assert telegram.chats() == {2001: "Console"}
    assert not any((await rows(helpdesk)).values())


async def test_telegram_asking_to_wait_stops_the_pass(helpdesk, world):
    telegram, buttons = Telegram(), menus(helpdesk)
    telegram.fail = {2001: RetryAfter(30)}
    with pytest.raises(RetryAfter):
        await buttons.sync(telegram)
    assert [call.chat_id for call in telegram.calls] == [2001]  # nothing after the 429
    telegram.chats()
    telegram.fail = {}
    await buttons.sync(telegram)
    assert telegram.chats() == {2001: "Console", 2002: "Console", 3001: "Console", 4001: "Console"}


async def test_a_pass_takes_its_turns_from_the_instances_send_limiter(
    helpdesk, world, virtual_time
):
    """A first rollout is paced within the overall rate, behind a reply that waits."""
    seen: list[tuple[float, str]] = []

    class Timed(Telegram):
        async def perform(self, action: Action) -> Sent:
            seen.append((virtual_time(), f"menu {action.chat_id}"))
            return await super().perform(action)

    limits = RateLimits(overall=Rate(2.0), chat=Rate(1 / 1.15), max_in_flight=1)
    limiter = SendLimiter(limits, clock=virtual_time, sleep=virtual_time.sleep)
    buttons = menus(helpdesk)
    buttons.limiter = limiter

    async def reply() -> None:
        await virtual_time.sleep(0.1)  # someone writes while the pass runs
        async with limiter.sending(2001, priority=0, paced=False):
            seen.append((virtual_time(), "reply"))

    calls, _ = await virtual_time.run(asyncio.gather(buttons.sync(Timed()), reply()))
    assert calls == 4
    times = [at for at, _ in seen]
    assert all(later - earlier >= 0.5 - 1e-9 for earlier, later in itertools.pairwise(times))
    # The reply waited for one token, not for the three menu calls still queued.
    assert [what for _, what in seen].index("reply") == 1
