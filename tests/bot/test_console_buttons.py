"""'Open in console' on ticket cards in chat: who gets it, where it leads, and where not."""

from __future__ import annotations

import pytest
from chat_harness import ChatMessage

from bot.chat import Button, InlineKeyboard
from bot.web.links import card_console, mini_app_base
from core.enums import Impact

PUBLIC = "https://console.example.test/web/"
OPEN = "🖥 Open in console"


def mini_apps(message: ChatMessage) -> list[Button]:
    """The Mini App buttons under a message."""
    if not isinstance(message.keyboard, InlineKeyboard):
        return []
    return [button for row in message.keyboard.rows for button in row if button.web_app]


@pytest.fixture
async def ticket(chat, helpdesk, world) -> int:
    chat.app.web_url = PUBLIC
    for person_id in (world.reporter_id, world.engineer_id, world.dispatcher_id, world.manager_id):
        await helpdesk.people.set_language(person_id, "en")
    made = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.CANNOT_WORK
    )
    await chat.deliver()
    return made.id


async def test_the_engineers_card_and_the_dispatchers_open_the_tickets_page(chat, ticket):
    wang = chat.person(2001, "Wang")
    card = next(m for m in wang.messages if "New dispatch" in m.text)
    assert [(b.text, b.web_app) for b in mini_apps(card)] == [(OPEN, f"{PUBLIC}?ticket={ticket}")]
    # Pressing Accept edits the card: the button stays, under the next steps.
    await wang.press("✅ Accept", message=card)
    assert [b.web_app for b in mini_apps(card)] == [f"{PUBLIC}?ticket={ticket}"]
    assert card.buttons()[-1] == OPEN

    chen = chat.person(3001, "Chen")
    await chen.send("/queue")
    await chen.press(f"#{ticket}")
    dispatcher_card = chen.last()
    assert [b.web_app for b in mini_apps(dispatcher_card)] == [f"{PUBLIC}?ticket={ticket}"]
    # The level chooser is about the level only; back on the card the button returns.
    await chen.press("🎚 Set level", message=dispatcher_card)
    assert mini_apps(dispatcher_card) == []
    await chen.press("⬅️ Back", message=dispatcher_card)
    assert len(mini_apps(dispatcher_card)) == 1

    # The site's manager sees it on the card too (they read the board; they do not act).
    liu = chat.person(4001, "Liu")
    await liu.send("/queue")
    await liu.press(f"#{ticket}")
    assert [b.web_app for b in mini_apps(liu.last())] == [f"{PUBLIC}?ticket={ticket}"]
    assert liu.last().buttons() == [OPEN]

    # The reporter (staff) and the backup engineer (not theirs) never get one.
    for user_id in (1001, 2002):
        assert not any(mini_apps(m) for m in chat.person(user_id).messages)
    chat.assert_clean()


async def test_no_mini_app_buttons_when_the_console_is_not_on_https(chat, helpdesk, world):
    chat.app.web_url = "http://127.0.0.1:8080/web/"
    await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.CANNOT_WORK
    )
    await chat.deliver()
    wang = chat.person(2001, "Wang")
    card = next(m for m in wang.messages if "New dispatch" in m.text)
    assert mini_apps(card) == [] and "✅ Accept" in card.buttons()
    await wang.press("✅ Accept", message=card)
    assert mini_apps(card) == []


def test_only_https_addresses_and_private_chats_get_mini_apps():
    assert mini_app_base("") is None
    assert mini_app_base("http://127.0.0.1:8080/web/") is None
    assert mini_app_base("https://h.example/web") == "https://h.example/web/"
    assert card_console(PUBLIC, 2001) == PUBLIC
    assert card_console(PUBLIC, -1001234567890) is None  # a group: Telegram refuses them
    assert card_console(PUBLIC, None) is None
