"""The console's entry points inside Telegram, on both runtimes through the emulator: the
chat menu button (per person, in their language, kept right as people change) and the
"Open in console" button on ticket cards, which opens that ticket's page."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bot.web.auth import sign_init_data
from core.enums import Impact, Role
from sandbox.emulator import BotApiEmulator
from sandbox.people import SentMessage
from tests.command_line import faultdesk

if TYPE_CHECKING:
    from tests.e2e.conftest import Deployment


PUBLIC = "https://console.example.test/web/"  # the console's public (https) address
DORA, MILA, EDDIE, SAM, RITA = 7401, 7402, 7403, 7404, 7405
LABELS = {"en": "Console", "ru": "Консоль", "zh_CN": "控制台"}
OPEN = {"en": "🖥 Open in console", "ru": "🖥 Открыть в консоли", "zh_CN": "🖥 在控制台中打开"}


def signed(telegram_id: int, token: str) -> str:
    """initData as Telegram would sign it for this person's Mini App."""
    user = json.dumps({"id": telegram_id, "first_name": "P", "language_code": "en"})
    return sign_init_data({"auth_date": str(int(time.time())), "user": user}, token)


def served(deployment: Deployment, public: str) -> str:
    """Where a public console address is actually served (the webhook's loopback port)."""
    assert public.startswith(PUBLIC), public
    listen = deployment.settings().webhook_listen
    return f"http://{listen}/web/" + public.removeprefix(PUBLIC)


def web_app_buttons(message: SentMessage) -> list[dict[str, Any]]:
    """The Mini App buttons under a bot message."""
    markup = message.reply_markup or {}
    return [
        button
        for row in markup.get("inline_keyboard", [])
        for button in row
        if button.get("web_app") is not None
    ]


def web_app_menu(label: str) -> dict[str, Any]:
    return {"type": "web_app", "text": label, "web_app": {"url": PUBLIC}}


async def served_with_console(deployment: Deployment) -> None:
    """Webhook mode with the console on a public https address."""
    deployment.use_webhook("s3cret-for-the-entry-test")
    deployment.overrides["web_url"] = PUBLIC
    await deployment.start()


async def after_next_pass(deployment: Deployment) -> None:
    """Wait for a whole pass of the menu buttons to start and finish after now."""
    target = deployment.running.menu_buttons.passes + 2

    async def done() -> bool:
        return deployment.running.menu_buttons.passes >= target

    await deployment.until(done, message="no menu button pass")


async def test_each_person_with_a_screen_gets_the_console_in_their_menu(
    deployment: Deployment, emulator: BotApiEmulator
) -> None:
    for user_id, name, language in (
        (DORA, "Dora", "en"),
        (MILA, "Mila", "ru"),
        (EDDIE, "Eddie", "zh-hans"),
        (SAM, "Sam", "en"),
    ):
        emulator.person(user_id=user_id, first_name=name, language_code=language)
    await served_with_console(deployment)
    dora = await deployment.register(DORA, "Dora", role=Role.DISPATCHER, language="en")
    mila = await deployment.register(MILA, "Mila", role=Role.MANAGER, language="ru")
    await deployment.register(EDDIE, "Eddie", role=Role.ENGINEER, language="zh_CN")
    sam = await deployment.register(SAM, "Sam", role=Role.STAFF, language="en")
    wanted = {
        DORA: web_app_menu(LABELS["en"]),
        MILA: web_app_menu(LABELS["ru"]),
        EDDIE: web_app_menu(LABELS["zh_CN"]),
        SAM: {"type": "default"},
    }

    async def as_wanted() -> bool:
        return all(emulator.menu_button(chat) == button for chat, button in wanted.items())

    await deployment.until(as_wanted, message=str({c: emulator.menu_button(c) for c in wanted}))
    # Staff are never called about: Telegram's default needs no call.
    assert {c.params["chat_id"] for c in emulator.calls("setChatMenuButton")} == {
        DORA,
        MILA,
        EDDIE,
    }

    # A restart changes nothing, so Telegram is not called again.
    before = len(emulator.calls("setChatMenuButton"))
    await deployment.restart()
    await after_next_pass(deployment)
    assert len(emulator.calls("setChatMenuButton")) == before
    assert await as_wanted()

    # An administrator at the command line (another process): Dora becomes staff, Mila
    # leaves, Sam becomes a dispatcher. Each chat follows.
    for command in (
        ("person", "role", str(dora), "staff"),
        ("person", "deactivate", str(mila)),
        ("person", "role", str(sam), "dispatcher"),
    ):
        ran = await asyncio.to_thread(faultdesk, *command, "-d", deployment.database_url)
        assert ran.code == 0, ran.output
    people = deployment.running.helpdesk.people
    wanted.update(
        {DORA: {"type": "default"}, MILA: {"type": "default"}, SAM: web_app_menu(LABELS["en"])}
    )
    await deployment.until(as_wanted, message=str({c: emulator.menu_button(c) for c in wanted}))
    # A language change relabels the button.
    await people.set_language(sam, "ru")
    wanted[SAM] = web_app_menu(LABELS["ru"])
    await deployment.until(as_wanted, message=str(emulator.menu_button(SAM)))
    # The person registered anew (a new invitation) gets their button back.
    await deployment.register(MILA, "Mila", role=Role.MANAGER, language="ru")
    wanted[MILA] = web_app_menu(LABELS["ru"])
    await deployment.until(as_wanted, message=str(emulator.menu_button(MILA)))


async def test_a_tickets_card_opens_its_page_in_the_console(
    deployment: Deployment, emulator: BotApiEmulator
) -> None:
    rita = emulator.person(user_id=RITA, first_name="Rita", language_code="en")
    eddie = emulator.person(user_id=EDDIE, first_name="Eddie", language_code="en")
    dora = emulator.person(user_id=DORA, first_name="Dora", language_code="ru")
    for person in (rita, eddie, dora):
        person._open_private_chat()  # each has a chat with the bot: dispatch reaches them
    await served_with_console(deployment)
    reporter = await deployment.register(RITA, "Rita", language="en")
    await deployment.register(EDDIE, "Eddie", role=Role.ENGINEER, language="en")
    await deployment.register(DORA, "Dora", role=Role.DISPATCHER, language="ru")
    ticket = await deployment.running.helpdesk.tickets.report_fault(
        reporter, symptom="Printer jams", impact=Impact.DEGRADED
    )
    page = f"{PUBLIC}?ticket={ticket.id}"

    # The engineer's own card carries the button, under the card's work buttons.
    card = await eddie.wait_for(lambda m: bool(web_app_buttons(m)))
    assert f"#{ticket.id}" in card.text
    (button,) = web_app_buttons(card)
    assert button == {"text": OPEN["en"], "web_app": {"url": page}}
    # The dispatcher opens the card from /queue: theirs carries it too, in Russian.
    await dora.send("/queue")
    await dora.wait_for(f"#{ticket.id}")
    await dora.press(f"#{ticket.id}", contains=True)
    dispatcher_card = await dora.wait_for(lambda m: bool(web_app_buttons(m)))
    assert web_app_buttons(dispatcher_card) == [{"text": OPEN["ru"], "web_app": {"url": page}}]
    # The reporter's messages never carry it (staff have no console).
    assert not any(web_app_buttons(m) for m in rita.messages())

    # The address opens that ticket's page, for the engineer's signed Mini App.
    token = deployment.settings().bot_token
    async with aiohttp.ClientSession() as browser:
        async with browser.get(served(deployment, page)) as opened:
            assert opened.status == 200 and "console.js" in await opened.text()
        api = served(deployment, f"{PUBLIC}api/tickets/{ticket.id}")
        for telegram_id in (EDDIE, DORA):
            headers = {"X-Telegram-Init-Data": signed(telegram_id, token)}
            async with browser.get(api, headers=headers) as shown:
                assert shown.status == 200, await shown.text()
                assert (await shown.json())["id"] == ticket.id


async def test_without_https_there_are_no_mini_app_buttons_and_the_bot_works(
    deployment: Deployment, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.web.menu")
    rita = emulator.person(user_id=RITA, first_name="Rita", language_code="en")
    eddie = emulator.person(user_id=EDDIE, first_name="Eddie", language_code="en")
    dora = emulator.person(user_id=DORA, first_name="Dora", language_code="en")
    for person in (rita, eddie, dora):
        person._open_private_chat()
    deployment.overrides["web_listen"] = "127.0.0.1:0"  # local polling: the console on http
    await deployment.start()
    assert deployment.running.bot.web_url.startswith("http://")
    reporter = await deployment.register(RITA, "Rita", language="en")
    await deployment.register(EDDIE, "Eddie", role=Role.ENGINEER, language="en")
    await deployment.register(DORA, "Dora", role=Role.DISPATCHER, language="en")
    await after_next_pass(deployment)
    ticket = await deployment.running.helpdesk.tickets.report_fault(
        reporter, symptom="Projector dark", impact=Impact.DEGRADED
    )
    card = await eddie.wait_for(f"#{ticket.id}")
    await eddie.press("✅ Accept", message=card)
    await eddie.wait_for(
        lambda m: m.message_id == card.message_id and "Accept" not in str(m.reply_markup)
    )
    await dora.send("/queue")
    await dora.wait_for(f"#{ticket.id}")
    await dora.press(f"#{ticket.id}", contains=True)
    await dora.wait_for(f"Ticket #{ticket.id}")
    await after_next_pass(deployment)
    for person in (rita, eddie, dora):
        assert not any(web_app_buttons(m) for m in person.messages()), person.transcript()
        assert emulator.menu_button(person.user_id) == {"type": "default"}
    assert emulator.calls("setChatMenuButton") == []
    told = [r for r in caplog.records if "only over https" in r.getMessage()]
    assert len(told) == 1
