"""The Bot API emulator, exercised over real HTTP with real aiogram and python-telegram-bot."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import telegram
import telegram.error
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    MenuButtonCommands,
    MenuButtonWebApp,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
    WebAppInfo,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from sandbox import BotApiEmulator, SimulatedPerson
from sandbox.images import make_png
from sandbox.telegram_html import parse_html


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """aiogram inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Poll a condition (for server-side state that has no event to await); the timeout is
    a safety net for a busy machine, not part of any test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


async def within_loop_turns(condition: Callable[[], bool], turns: int = 50) -> None:
    """Assert that `condition` holds within a few event-loop turns: it came about because of
    what the test just did, at once, and not when some timer ran out (however busy the
    machine, a turn is a turn)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"condition not reached within {turns} loop turns")


def seconds(value: int | timedelta) -> float:
    """PTB reports retry_after as int or timedelta depending on its settings."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FakeMonotonic:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The current fake reading."""
        return self.now


# ---------------------------------------------------------------------------------------------
# Round trips with both client libraries


async def test_aiogram_round_trip_with_plain_session(
    emulator: BotApiEmulator, alice: SimulatedPerson, token: str
) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    bot = Bot(token, session=session)
    try:
        me = await bot.get_me()
        assert (me.username, me.is_bot, me.id) == ("faultdesk_bot", True, 123456789)

        await alice.start()
        updates = await bot.get_updates(timeout=1)
        assert [u.message.text for u in updates if u.message] == ["/start"]
        offset = updates[-1].update_id + 1

        sent = await bot.send_message(
            alice.chat_id,
            "Printer <b>jammed</b>?",
            parse_mode="HTML",
            reply_markup=keyboard([("Accept", "acc:1"), ("Reject", "rej:1")]),
        )
        assert sent.text == "Printer jammed?"
        assert sent.entities is not None
        assert sent.entities[0].type == "bold"

        poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=10))
        await until(lambda: emulator.bot_state().active_poll is not None)
        query = await alice.press("Accept")
        # The long poll woke at once: it has taken the update before any timer could fire.
        await within_loop_turns(lambda: emulator.bot_state().active_poll is None)
        updates = await poll
        callback = updates[0].callback_query
        assert callback is not None
        assert (callback.id, callback.data) == (query.query_id, "acc:1")
        assert callback.message is not None
        assert callback.message.message_id == sent.message_id

        assert await bot.answer_callback_query(callback.id, text="Accepted")
        assert query.answered
        assert query.answer_text == "Accepted"
        edited = await bot.edit_message_text(
            "Accepted ✅", chat_id=alice.chat_id, message_id=sent.message_id
        )
        assert not isinstance(edited, bool)
        assert edited.edit_date is not None
        message = alice.last()
        assert (message.text, message.reply_markup, message.edits) == (
            "Accepted ✅",
            None,
            ["Accepted ✅"],
        )
    finally:
        await session.close()


async def test_ptb_round_trip(
    emulator: BotApiEmulator, ptb_bot: telegram.Bot, alice: SimulatedPerson
) -> None:
    me = await ptb_bot.get_me()
    assert me.username == "faultdesk_bot"
    await alice.start("ticket-42")
    updates = await ptb_bot.get_updates(timeout=1)
    assert updates[0].message is not None
    assert updates[0].message.text == "/start ticket-42"
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == len("/start")

    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Take it", callback_data="take:42")]]
    )
    sent = await ptb_bot.send_message(alice.chat_id, "New ticket #42", reply_markup=markup)
    poll = asyncio.create_task(ptb_bot.get_updates(offset=updates[-1].update_id + 1, timeout=10))
    await until(lambda: emulator.bot_state().active_poll is not None)
    await alice.press("Take it")
    await within_loop_turns(lambda: emulator.bot_state().active_poll is None)  # woke at once
    polled = await poll
    callback = polled[0].callback_query
    assert callback is not None
    assert callback.data == "take:42"
    assert await ptb_bot.answer_callback_query(callback.id)
    edited = await ptb_bot.edit_message_text(
        "Ticket #42 taken", chat_id=alice.chat_id, message_id=sent.message_id
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Ticket #42 taken"
    assert alice.last().edits == ["Ticket #42 taken"]


async def test_message_ids_are_shared_per_chat_and_dates_follow_the_clock(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson, bob: SimulatedPerson
) -> None:
    moment = datetime(2030, 5, 17, 9, 30, tzinfo=UTC)
    emulator.clock = lambda: moment
    first = await alice.send("hello")
    reply = await aiogram_bot.send_message(alice.chat_id, "hi Alice")
    second = await alice.send("again")
    await bob.send("privet")
    assert (first, reply.message_id, second) == (1, 2, 3)
    assert reply.date == moment
    updates = await aiogram_bot.get_updates()
    assert updates[-1].message is not None
    assert updates[-1].message.message_id == 1
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)


# ---------------------------------------------------------------------------------------------
# Updates: offsets, duplicates, filters, conflicts


async def test_offset_confirms_updates_like_telegram(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    for text in ("one", "two", "three"):
        await alice.send(text)
    first = await aiogram_bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await aiogram_bot.get_updates()  # nothing confirmed yet: same updates again
    assert [u.update_id for u in again][:2] == [u.update_id for u in first]
    rest = await aiogram_bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await aiogram_bot.get_updates(offset=rest[-1].update_id + 1) == []
    await alice.send("four")
    await alice.send("five")
    last = await aiogram_bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["five"]


async def test_redeliver_repeats_the_same_update_id(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot, alice: SimulatedPerson
) -> None:
    await alice.send("/report")
    (original,) = await aiogram_bot.get_updates()
    offset = original.update_id + 1
    assert await aiogram_bot.get_updates(offset=offset) == []
    emulator.redeliver(original.update_id)
    await alice.send("newer")
    duplicate, newer = await aiogram_bot.get_updates(offset=offset)
    assert duplicate.update_id == original.update_id
    assert duplicate.message == original.message
    assert newer.message is not None
    assert newer.message.text == "newer"
    assert await aiogram_bot.get_updates(offset=newer.update_id + 1) == []
    emulator.redeliver(original.update_id)
    (via_ptb,) = await ptb_bot.get_updates(offset=newer.update_id + 1)
    assert via_ptb.update_id == original.update_id
    with pytest.raises(ValueError, match="was ever produced"):
        emulator.redeliver(1)


async def test_allowed_updates_filters_new_updates(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    await aiogram_bot.send_message(alice.chat_id, "Pick", reply_markup=keyboard([("A", "a")]))
    assert len(await aiogram_bot.get_updates(allowed_updates=["callback_query"])) == 1
    await alice.send("ignored text")
    await alice.press("A")
    updates = await aiogram_bot.get_updates(offset=-1)
    assert updates[0].callback_query is not None
    assert [u.message for u in await aiogram_bot.get_updates() if u.message] == []


async def test_second_poller_terminates_the_first_with_409(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    first = asyncio.create_task(aiogram_bot.get_updates(timeout=5))
    await until(lambda: emulator.bot_state().active_poll is not None)
    second = asyncio.create_task(ptb_bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == ()
    assert [v for v in emulator.take_violations() if "Conflict" in v]


async def test_stop_ends_waiting_long_polls_quickly(token: str) -> None:
    emulator = BotApiEmulator()
    await emulator.start()
    emulator.register_bot(token)
    session = aiohttp.ClientSession()
    try:
        poll = asyncio.create_task(
            session.post(f"{emulator.base_url}/bot{token}/getUpdates", data={"timeout": "30"})
        )
        await until(lambda: emulator.bot_state().active_poll is not None)
        started = time.monotonic()
        await emulator.stop()
        response = await poll
        assert (await response.json())["result"] == []
        # Ended by the stop, not by its 30 s timeout (nor by the server's shutdown timeout):
        # the margin is for a busy machine.
        assert time.monotonic() - started < 10
    finally:
        await session.close()


# ---------------------------------------------------------------------------------------------
# Webhook


@dataclass
class Receiver:
    """A tiny webhook endpoint: fails the first `failures` deliveries, then records updates."""

    failures: int = 1
    reply: dict[str, object] | None = None
    updates: list[dict[str, object]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        """Record the secret header; fail or accept the update."""
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        self.updates.append(await request.json())
        self.arrived.set()
        return web.json_response(self.reply) if self.reply else web.Response()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A running Receiver and its URL."""
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield hook, f"http://{host}:{port}/hook"
    await runner.cleanup()


async def test_webhook_round_trip_with_secret_and_retry(
    emulator: BotApiEmulator,
    aiogram_bot: Bot,
    alice: SimulatedPerson,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    assert await aiogram_bot.set_webhook(url, secret_token="s3cr3t-Token_1")
    await alice.send("via webhook")
    await asyncio.wait_for(hook.arrived.wait(), 30)  # a safety net: the retry comes at once
    assert hook.secrets == ["s3cr3t-Token_1", "s3cr3t-Token_1"]  # one failure, one retry
    update = hook.updates[0]
    assert update["message"]["text"] == "via webhook"  # type: ignore[index]  # JSON dict
    info = await aiogram_bot.get_webhook_info()
    assert info.url == url
    assert info.pending_update_count == 0
    assert info.last_error_message is not None
    assert "500" in info.last_error_message

    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await aiogram_bot.get_updates()
    assert len(emulator.take_violations()) == 1

    assert await aiogram_bot.delete_webhook()
    await alice.send("via polling")
    updates = await aiogram_bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["via polling"]


async def test_webhook_reply_can_carry_a_method_call(
    emulator: BotApiEmulator,
    ptb_bot: telegram.Bot,
    alice: SimulatedPerson,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    hook.failures = 0
    hook.reply = {"method": "sendMessage", "chat_id": alice.chat_id, "text": "pong"}
    assert await ptb_bot.set_webhook(url)
    await alice.send("ping")
    reply = await alice.wait_for("pong")
    assert reply.text == "pong"


# ---------------------------------------------------------------------------------------------
# Validation: every rule rejects a bad call and records a violation

BadCall = Callable[[Bot, SimulatedPerson, BotApiEmulator], Awaitable[object]]


async def _text_4097(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(alice.chat_id, "x" * 4097)


async def _blank_text(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(alice.chat_id, "<b> </b>", parse_mode="HTML")


async def _caption_1025(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    document = BufferedInputFile(b"report", "report.txt")
    return await bot.send_document(alice.chat_id, document, caption="c" * 1025)


async def _callback_data_65_bytes(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    data = "a" * 63 + "é"  # 64 characters but 65 UTF-8 bytes
    return await bot.send_message(alice.chat_id, "Pick", reply_markup=keyboard([("A", data)]))


async def _empty_button_text(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(alice.chat_id, "Pick", reply_markup=keyboard([(" ", "a")]))


async def _button_without_action(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Just text")]])
    return await bot.send_message(alice.chat_id, "Pick", reply_markup=markup)


async def _bad_button_url(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    button = InlineKeyboardButton(text="Docs", url="ftp://example.com/manual")
    markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    return await bot.send_message(alice.chat_id, "Read", reply_markup=markup)


def _mini_app(url: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="Open in console", web_app=WebAppInfo(url=url))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def _web_app_over_http(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    markup = _mini_app("http://127.0.0.1:8080/web/?ticket=1")
    return await bot.send_message(alice.chat_id, "Card", reply_markup=markup)


async def _web_app_in_a_group(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    group = emu.group(-1009876543210, "Dispatch")
    markup = _mini_app("https://console.example.test/web/?ticket=1")
    return await bot.send_message(group.chat_id, "Card", reply_markup=markup)


async def _web_app_menu_over_http(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    button = MenuButtonWebApp(text="Console", web_app=WebAppInfo(url="http://127.0.0.1/web/"))
    return await bot.set_chat_menu_button(chat_id=alice.chat_id, menu_button=button)


async def _101_buttons(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    rows = [[(f"{r}-{c}", f"{r}:{c}") for c in range(8)] for r in range(13)]  # 104 buttons
    return await bot.send_message(alice.chat_id, "Too many", reply_markup=keyboard(*rows))


async def _unknown_chat(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(424242, "Hello?")


async def _double_answer(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    await bot.send_message(alice.chat_id, "Sure?", reply_markup=keyboard([("Yes", "y")]))
    query = await alice.press("Yes")
    await bot.answer_callback_query(query.query_id)
    return await bot.answer_callback_query(query.query_id)


async def _unknown_query(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.answer_callback_query("777")


async def _stale_query(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    fake = FakeMonotonic()
    emu.monotonic = fake
    await bot.send_message(alice.chat_id, "Sure?", reply_markup=keyboard([("Yes", "y")]))
    query = await alice.press("Yes")
    fake.now += 15 * 60 + 1
    return await bot.answer_callback_query(query.query_id)


async def _long_answer(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    await bot.send_message(alice.chat_id, "Sure?", reply_markup=keyboard([("Yes", "y")]))
    query = await alice.press("Yes")
    return await bot.answer_callback_query(query.query_id, text="t" * 201)


async def _not_modified(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    sent = await bot.send_message(alice.chat_id, "Status: open")
    return await bot.edit_message_text(
        "Status: open", chat_id=alice.chat_id, message_id=sent.message_id
    )


async def _keyboard_not_modified(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    markup = keyboard([("A", "a")])
    sent = await bot.send_message(alice.chat_id, "Pick", reply_markup=markup)
    return await bot.edit_message_reply_markup(
        chat_id=alice.chat_id, message_id=sent.message_id, reply_markup=markup
    )


async def _edit_missing(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.edit_message_text("New", chat_id=alice.chat_id, message_id=99)


async def _edit_persons_message(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.edit_message_text("Mine now", chat_id=alice.chat_id, message_id=1)


async def _delete_missing(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.delete_message(alice.chat_id, 99)


def _html(text: str) -> BadCall:
    async def call(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
        return await bot.send_message(alice.chat_id, text, parse_mode="HTML")

    return call


async def _bad_parse_mode(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(alice.chat_id, "hi", parse_mode="HTML5")


def _commands(commands: list[BotCommand], language_code: str | None = None) -> BadCall:
    async def call(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
        return await bot.set_my_commands(commands, language_code=language_code)

    return call


async def _chat_action(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_chat_action(alice.chat_id, "dancing")


async def _photo_not_image(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_photo(alice.chat_id, BufferedInputFile(b"not a picture", "x.jpg"))


async def _photo_url(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_photo(alice.chat_id, "https://example.com/cat.jpg")


async def _unknown_file_id(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_document(alice.chat_id, "BQACnonexistent")


async def _get_unknown_file(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.get_file("BQACnonexistent")


async def _reply_to_missing(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.send_message(
        alice.chat_id, "Re:", reply_parameters=ReplyParameters(message_id=99)
    )


async def _bad_secret(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="has space")


async def _misspelled_update(bot: Bot, alice: SimulatedPerson, emu: BotApiEmulator) -> object:
    return await bot.get_updates(allowed_updates=["callback_querys"])


BAD_CALLS = [
    pytest.param(_text_4097, "message is too long", id="text-4097-chars"),
    pytest.param(_blank_text, "message text is empty", id="text-empty-after-parsing"),
    pytest.param(_caption_1025, "message caption is too long", id="caption-1025"),
    pytest.param(_callback_data_65_bytes, "BUTTON_DATA_INVALID", id="callback-data-65-bytes"),
    pytest.param(_empty_button_text, "BUTTON_TEXT_INVALID", id="button-text-empty"),
    pytest.param(_button_without_action, "Text buttons are unallowed", id="button-no-action"),
    pytest.param(_bad_button_url, "BUTTON_URL_INVALID", id="button-url-ftp"),
    pytest.param(_web_app_over_http, "BUTTON_URL_INVALID", id="web-app-button-over-http"),
    pytest.param(_web_app_in_a_group, "BUTTON_TYPE_INVALID", id="web-app-button-in-a-group"),
    pytest.param(_web_app_menu_over_http, "BUTTON_URL_INVALID", id="web-app-menu-over-http"),
    pytest.param(_101_buttons, "reply markup is too long", id="more-than-100-buttons"),
    pytest.param(_unknown_chat, "chat not found", id="unknown-chat"),
    pytest.param(_double_answer, "query is too old", id="answer-twice"),
    pytest.param(_unknown_query, "query is too old", id="answer-unknown-query"),
    pytest.param(_stale_query, "query is too old", id="answer-after-15-minutes"),
    pytest.param(_long_answer, "MESSAGE_TOO_LONG", id="answer-text-201"),
    pytest.param(_not_modified, "message is not modified", id="edit-not-modified"),
    pytest.param(_keyboard_not_modified, "message is not modified", id="keyboard-not-modified"),
    pytest.param(_edit_missing, "message to edit not found", id="edit-missing"),
    pytest.param(_edit_persons_message, "message can't be edited", id="edit-users-message"),
    pytest.param(_delete_missing, "message to delete not found", id="delete-missing"),
    pytest.param(_html("line<br>break"), 'Unsupported start tag "br"', id="html-br"),
    pytest.param(_html("<b>open"), "Can't find end tag", id="html-unclosed"),
    pytest.param(_html("<b><i>x</b></i>"), "Unmatched end tag", id="html-misnested"),
    pytest.param(_html("1 < 2"), 'Unescaped "<"', id="html-bare-lt"),
    pytest.param(_html("Q&A"), 'Unescaped "&"', id="html-bare-amp"),
    pytest.param(_html("<span>x</span>"), "tg-spoiler", id="html-span-without-class"),
    pytest.param(_html('<a title="x">x</a>'), "href", id="html-a-without-href"),
    pytest.param(_bad_parse_mode, "unsupported parse_mode", id="parse-mode-unknown"),
    pytest.param(
        _commands([BotCommand(command="Report", description="Report")]),
        "BOT_COMMAND_INVALID",
        id="command-uppercase",
    ),
    pytest.param(
        _commands([BotCommand(command="/report", description="Report")]),
        "BOT_COMMAND_INVALID",
        id="command-with-slash",
    ),
    pytest.param(
        _commands([BotCommand(command="r" * 33, description="Report")]),
        "BOT_COMMAND_INVALID",
        id="command-33-chars",
    ),
    pytest.param(
        _commands([BotCommand(command="report", description=" ")]),
        "BOT_COMMAND_DESCRIPTION_INVALID",
        id="command-description-blank",
    ),
    pytest.param(
        _commands([BotCommand(command=f"c{i}", description="d") for i in range(101)]),
        "BOT_COMMANDS_TOO_MUCH",
        id="commands-101",
    ),
    pytest.param(
        _commands([BotCommand(command="report", description="Report")], "zh-hans"),
        "LANG_CODE_INVALID",
        id="commands-language-not-iso-639-1",
    ),
    pytest.param(_chat_action, "wrong parameter action", id="chat-action-unknown"),
    pytest.param(_photo_not_image, "IMAGE_PROCESS_FAILED", id="photo-not-an-image"),
    pytest.param(_photo_url, "wrong file identifier/HTTP URL", id="photo-by-url-offline"),
    pytest.param(_unknown_file_id, "wrong file identifier", id="document-unknown-file-id"),
    pytest.param(_get_unknown_file, "invalid file_id", id="get-file-unknown"),
    pytest.param(_reply_to_missing, "message to be replied not found", id="reply-missing"),
    pytest.param(_bad_secret, "secret token contains unallowed", id="webhook-secret"),
    pytest.param(_misspelled_update, "unknown update type", id="allowed-updates-typo"),
]


@pytest.mark.parametrize(("call", "description"), BAD_CALLS)
async def test_invalid_call_is_rejected_and_recorded(
    emulator: BotApiEmulator,
    aiogram_bot: Bot,
    alice: SimulatedPerson,
    call: BadCall,
    description: str,
) -> None:
    await alice.start()
    with pytest.raises(TelegramBadRequest) as rejected:
        await call(aiogram_bot, alice, emulator)
    assert description in rejected.value.message
    violations = emulator.take_violations()
    assert len(violations) == 1, violations
    assert description in violations[0]
    emulator.violations.append(violations[0])
    with pytest.raises(AssertionError, match="1 Bot API violation"):
        emulator.assert_no_violations()
    emulator.take_violations()


async def test_limits_are_inclusive(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    await aiogram_bot.send_message(alice.chat_id, "x" * 4096)
    # 4096 characters after parsing even though the HTML source is longer.
    await aiogram_bot.send_message(alice.chat_id, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    data = "a" * 62 + "é"  # 64 bytes
    await aiogram_bot.send_message(alice.chat_id, "Pick", reply_markup=keyboard([("A", data)]))
    rows = [[(f"{r}-{c}", f"{r}:{c}") for c in range(10)] for r in range(10)]
    await aiogram_bot.send_message(alice.chat_id, "100 buttons", reply_markup=keyboard(*rows))
    await aiogram_bot.send_document(
        alice.chat_id, BufferedInputFile(b"x", "x.txt"), caption="c" * 1024
    )
    query = await alice.press("A")
    await aiogram_bot.answer_callback_query(query.query_id, text="t" * 200)
    assert emulator.violations == []


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("<b>bold</b> &amp; <i>it</i>", "bold & it", [("bold", 0, 4), ("italic", 7, 2)]),
        ('<a href="https://x.org/?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
        (
            '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>',
            "st",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", [("pre", 0, 5)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),  # offsets in UTF-16 code units
        ("&lt;tag&gt; &#9731; &#x41;", "<tag> ☃ A", []),
        ("<B>caps</B>", "caps", [("bold", 0, 4)]),
    ],
)
def test_html_subset_parses_like_telegram(
    html: str, plain: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(html)
    assert parsed.plain == plain
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


@pytest.mark.parametrize(
    ("method", "data", "status", "description"),
    [
        ("sendSticker", {"chat_id": "1001"}, 404, "Not Found"),
        ("sendMessage", {"text": "no chat"}, 400, "chat_id is empty"),
        (
            "sendMessage",
            {"chat_id": "1001", "text": "x", "colour": "red"},
            400,
            "unknown parameter",
        ),
        (
            "sendMessage",
            {"chat_id": "1001", "text": "x", "reply_markup": "{oops"},
            400,
            "can't parse reply_markup",
        ),
        (
            "sendMessage",
            {"chat_id": "1001", "text": "x", "disable_notification": "maybe"},
            400,
            "invalid disable_notification",
        ),
        (
            "sendMessage",
            {"chat_id": "1001", "text": "x", "reply_markup": '{"inline_keyboard": "rows"}'},
            400,
            "can't parse reply keyboard markup",
        ),
        (  # caught by aiogram's MessageEntity model: offset and length are required
            "sendMessage",
            {"chat_id": "1001", "text": "x", "entities": '[{"type": "bold"}]'},
            400,
            "invalid entities",
        ),
        ("getUpdates", {"limit": "ten"}, 400, "invalid limit"),
    ],
)
async def test_raw_http_errors_are_telegram_shaped(
    emulator: BotApiEmulator,
    alice: SimulatedPerson,
    token: str,
    method: str,
    data: dict[str, str],
    status: int,
    description: str,
) -> None:
    await alice.start()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.base_url}/bot{token}/{method}", data=data) as response,
    ):
        body = await response.json()
    assert response.status == status
    assert body["ok"] is False
    assert body["error_code"] == status
    assert description in body["description"]
    assert len(emulator.take_violations()) == 1


async def test_unknown_token_is_unauthorized_in_both_clients(emulator: BotApiEmulator) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    stranger = Bot("999:not-registered", session=session)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await session.close()
    # An uninitialized PTB Bot's shutdown() is a no-op, so own the HTTP client to close it.
    request = HTTPXRequest()
    ptb = telegram.Bot("999:not-registered", base_url=f"{emulator.base_url}/bot", request=request)
    try:
        with pytest.raises(telegram.error.InvalidToken):
            await ptb.get_me()
    finally:
        await request.shutdown()
    assert len(emulator.take_violations()) == 2


async def test_json_bodies_and_get_queries_are_accepted(
    emulator: BotApiEmulator, alice: SimulatedPerson, token: str
) -> None:
    await alice.start()
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.base_url}/bot{token}"
        async with session.post(
            f"{url}/sendMessage",
            json={"chat_id": alice.chat_id, "text": "json", "reply_markup": markup},
        ) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        async with session.get(f"{url}/getme") as response:  # method names are case-insensitive
            assert (await response.json())["result"]["username"] == "faultdesk_bot"
    assert alice.last().buttons() == [["A"]]


async def test_person_who_never_wrote_cannot_be_messaged_first(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await aiogram_bot.send_message(alice.chat_id, "Hi stranger")
    assert emulator.violations == []  # a runtime condition, not a bug in the call


async def test_person_who_opened_the_chat_before_can_be_messaged_first(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    alice.opened_chat_before()
    await aiogram_bot.send_message(alice.chat_id, "Survey time")
    assert alice.last().text == "Survey time"
    assert alice.transcript().count("👤") == 0  # she sent nothing
    assert emulator.violations == []


# ---------------------------------------------------------------------------------------------
# Fault injection


async def test_flood_injection_is_seen_as_retry_after_by_both_clients(
    monkeypatch: pytest.MonkeyPatch,
    emulator: BotApiEmulator,
    aiogram_bot: Bot,
    ptb_bot: telegram.Bot,
    alice: SimulatedPerson,
    bob: SimulatedPerson,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22's opt-in; avoids its deprecation warning
    await alice.start()
    await bob.start()
    emulator.inject_flood(retry_after=7, count=2)
    with pytest.raises(TelegramRetryAfter) as aiogram_error:
        await aiogram_bot.send_message(alice.chat_id, "one")
    assert aiogram_error.value.retry_after == 7
    with pytest.raises(telegram.error.RetryAfter) as ptb_error:
        await ptb_bot.send_message(alice.chat_id, "two")
    assert seconds(ptb_error.value.retry_after) == 7
    await aiogram_bot.send_message(alice.chat_id, "three")  # the injected floods are used up

    emulator.inject_flood(chat_id=bob.chat_id, retry_after=3, count=1)
    await aiogram_bot.send_message(alice.chat_id, "alice is not affected")
    await aiogram_bot.send_chat_action(bob.chat_id, "typing")  # not a send*: not affected
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(bob.chat_id, "bob is")
    assert [m.text for m in alice.messages()] == ["three", "alice is not affected"]
    assert emulator.violations == []


async def test_blocked_user_gives_forbidden_until_they_write_again(
    emulator: BotApiEmulator,
    aiogram_bot: Bot,
    ptb_bot: telegram.Bot,
    alice: SimulatedPerson,
) -> None:
    await alice.start()
    emulator.block(alice.chat_id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await aiogram_bot.send_message(alice.chat_id, "hello?")
    with pytest.raises(telegram.error.Forbidden, match="bot was blocked by the user"):
        await ptb_bot.send_message(alice.chat_id, "hello?")
    updates = await aiogram_bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"
    await alice.send("/start")  # writing again lifts the block
    await aiogram_bot.send_message(alice.chat_id, "welcome back")
    assert "🚫 Alice blocked the bot" in alice.transcript()
    assert emulator.violations == []


async def test_outage_fails_at_network_level_then_recovers(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    emulator.set_outage(True)
    with pytest.raises(TelegramNetworkError):
        await aiogram_bot.get_me()
    with pytest.raises(telegram.error.NetworkError):
        await ptb_bot.get_me()
    emulator.set_outage(True, mode="502")
    with pytest.raises(TelegramServerError):
        await aiogram_bot.get_me()
    with pytest.raises(telegram.error.NetworkError):
        await ptb_bot.get_me()
    emulator.set_outage(False)
    assert (await aiogram_bot.get_me()).username == "faultdesk_bot"
    assert (await ptb_bot.get_me()).username == "faultdesk_bot"


async def test_rate_violations_are_measured_and_strict_mode_answers_429(
    emulator: BotApiEmulator,
    aiogram_bot: Bot,
    alice: SimulatedPerson,
    bob: SimulatedPerson,
) -> None:
    fake = FakeMonotonic()
    emulator.monotonic = fake
    await alice.start()
    await bob.start()
    managers = emulator.group(-1001234567890, "Managers")
    await aiogram_bot.send_message(alice.chat_id, "one")
    fake.now += 0.5
    await aiogram_bot.send_message(alice.chat_id, "two")  # 2 in 0.5 s: too fast for a private chat
    fake.now += 1.5
    await aiogram_bot.send_message(alice.chat_id, "three")  # fine again
    await aiogram_bot.send_message(bob.chat_id, "bob once")
    for i in range(21):
        fake.now += 0.1
        await aiogram_bot.send_message(managers.chat_id, f"group {i}")
    found = emulator.rate_violations()
    assert any(line.startswith("private chat 1001: 2 messages") for line in found), found
    assert any(line.startswith("supergroup chat -1001234567890: 21 messages") for line in found)
    assert not any("chat 1002" in line for line in found)
    with pytest.raises(AssertionError, match="rate limit"):
        emulator.assert_no_violations(include_rate_limits=True)

    emulator.strict_rate_limits = True
    await aiogram_bot.send_message(bob.chat_id, "bob later")  # bob's last send was long ago
    with pytest.raises(TelegramRetryAfter) as too_fast:
        await aiogram_bot.send_message(bob.chat_id, "bob again")
    assert too_fast.value.retry_after == 1
    fake.now += 1.0
    await aiogram_bot.send_message(bob.chat_id, "bob after waiting")


# ---------------------------------------------------------------------------------------------
# Files, commands, menus, keyboards


async def test_files_upload_by_both_clients_download_and_resend_by_file_id(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    png = make_png(64, 48)
    photo_message = await aiogram_bot.send_photo(
        alice.chat_id,
        BufferedInputFile(png, "chart.png"),
        caption="<i>SLA</i> chart",
        parse_mode="HTML",
    )
    assert photo_message.photo is not None
    biggest = photo_message.photo[-1]
    assert (biggest.width, biggest.height) == (64, 48)
    assert alice.last().kind == "photo"
    assert alice.last().file == png
    assert alice.last().caption == "SLA chart"

    again = await ptb_bot.send_photo(alice.chat_id, photo=biggest.file_id)
    assert again.photo[-1].file_id == biggest.file_id

    document = await ptb_bot.send_document(
        alice.chat_id, document=b"col1,col2\n1,2\n", filename="report.csv", caption="Weekly"
    )
    assert document.document is not None
    assert document.document.file_name == "report.csv"
    assert alice.last().file == b"col1,col2\n1,2\n"
    file = await aiogram_bot.get_file(document.document.file_id)
    assert file.file_path is not None
    downloaded = io.BytesIO()
    await aiogram_bot.download_file(file.file_path, downloaded)
    assert downloaded.getvalue() == b"col1,col2\n1,2\n"

    await alice.send_photo(png)
    await alice.send_document(b"%PDF-1.4 invoice", file_name="invoice.pdf")
    updates = await ptb_bot.get_updates()
    assert updates[-1].message is not None
    assert updates[-2].message is not None
    person_doc = updates[-1].message.document
    assert person_doc is not None
    ptb_file = await ptb_bot.get_file(person_doc.file_id)
    assert bytes(await ptb_file.download_as_bytearray()) == b"%PDF-1.4 invoice"
    person_photo = updates[-2].message.photo
    assert person_photo
    assert person_photo[-1].width == 64


async def test_commands_per_scope_and_language_and_menu_button(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    english = [BotCommand(command="report", description="Report a fault")]
    russian = [BotCommand(command="report", description="Сообщить о неисправности")]
    assert await aiogram_bot.set_my_commands(english)
    assert await aiogram_bot.set_my_commands(
        russian, scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    await ptb_bot.set_my_commands(
        [("queue", "Open tickets")], scope=telegram.BotCommandScopeChat(alice.chat_id)
    )

    def pairs(commands: list[BotCommand]) -> list[tuple[str, str]]:
        return [(c.command, c.description) for c in commands]

    assert pairs(await aiogram_bot.get_my_commands()) == pairs(english)
    got = await aiogram_bot.get_my_commands(
        scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    assert pairs(got) == pairs(russian)
    assert await aiogram_bot.get_my_commands(language_code="ru") == []  # exact scope+language
    chat_scope = BotCommandScopeChat(chat_id=alice.chat_id)
    assert [c.command for c in await aiogram_bot.get_my_commands(scope=chat_scope)] == ["queue"]
    assert emulator.commands({"type": "all_private_chats"}, "ru")[0]["command"] == "report"
    assert await aiogram_bot.delete_my_commands()
    assert await aiogram_bot.get_my_commands() == []

    assert await aiogram_bot.set_chat_menu_button(alice.chat_id, MenuButtonCommands())
    assert emulator.menu_button(alice.chat_id) == {"type": "commands"}
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await aiogram_bot.set_my_commands(english, scope=BotCommandScopeChat(chat_id=5))
    emulator.take_violations()


async def test_reply_keyboard_contact_location_and_unexpected_messages(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="Share phone", request_contact=True)],
            [KeyboardButton(text="Cancel")],
        ],
        one_time_keyboard=True,
    )
    await aiogram_bot.send_message(alice.chat_id, "Your phone?", reply_markup=markup)
    with pytest.raises(AssertionError, match="Share phone"):
        await alice.reply_keyboard("Send number")
    await alice.reply_keyboard("Share phone")
    with pytest.raises(AssertionError, match="no reply keyboard"):
        await alice.reply_keyboard("Cancel")  # one-time keyboard is gone
    await alice.send_location(59.93, 30.31)
    await alice.send_sticker()
    updates = await aiogram_bot.get_updates()
    contact = updates[1].message.contact if updates[1].message else None
    assert contact is not None
    assert contact.user_id == alice.user_id
    assert contact.phone_number == alice.phone_number
    assert updates[2].message is not None
    assert updates[2].message.location is not None
    assert updates[3].message is not None
    assert updates[3].message.sticker is not None


# ---------------------------------------------------------------------------------------------
# Groups and the people API


async def test_group_privacy_mode_and_buttons_in_groups(
    emulator: BotApiEmulator, aiogram_bot: Bot, bob: SimulatedPerson
) -> None:
    managers = emulator.group(-1001234567890, "Managers")
    await bob.send_in(managers, "morning all")  # privacy mode: the bot does not see this
    await bob.send_in(managers, "/queue")
    await bob.send_in(managers, "@faultdesk_bot status?")
    updates = await aiogram_bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/queue", "@faultdesk_bot status?"]
    assert updates[0].message is not None
    assert updates[0].message.chat.type == "supergroup"

    await aiogram_bot.send_message(
        managers.chat_id, "Ticket #7: printer on fire", reply_markup=keyboard([("Take", "take:7")])
    )
    query = await bob.press_in(managers, "Take")
    assert query.chat_id == managers.chat_id
    polled = await aiogram_bot.get_updates(offset=updates[-1].update_id + 1)
    callback = polled[0].callback_query
    assert callback is not None
    assert callback.from_user.id == bob.user_id
    assert callback.message is not None
    assert callback.message.chat.id == managers.chat_id
    await aiogram_bot.answer_callback_query(callback.id, text="Taken")
    assert managers.transcript().splitlines() == [
        "👤 Bob: morning all   (not seen by the bot: privacy mode)",
        "👤 Bob: /queue",
        "👤 Bob: @faultdesk_bot status?",
        "🤖 bot: Ticket #7: printer on fire",
        "   [Take]",
        "👤 Bob pressed [Take]",
        "   💬 toast: Taken",
    ]


async def test_transcript_formatting(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.send("/report")
    sent = await aiogram_bot.send_message(
        alice.chat_id,
        "Which device?\nPick one:",
        reply_markup=keyboard([("Printer", "dev:1"), ("Scanner", "dev:2")], [("Cancel", "x")]),
    )
    query = await alice.press("Printer")
    await aiogram_bot.answer_callback_query(query.query_id, text="Noted", show_alert=True)
    await aiogram_bot.edit_message_text(
        "Device: <b>Printer</b>",
        chat_id=alice.chat_id,
        message_id=sent.message_id,
        parse_mode="HTML",
    )
    await aiogram_bot.send_document(alice.chat_id, BufferedInputFile(b"x", "act.pdf"))
    await aiogram_bot.delete_message(alice.chat_id, sent.message_id)
    assert alice.transcript() == "\n".join(
        [
            "👤 Alice: /report",
            "🤖 bot: Which device?",
            "   Pick one:",
            "   [Printer] [Scanner]",
            "   [Cancel]",
            "👤 Alice pressed [Printer]",
            "   ⚠️ alert: Noted",
            "✏️ bot (edited): Device: Printer",
            "🤖 bot: [document act.pdf]",
            "🗑 bot deleted its message: Device: Printer",
        ]
    )
    assert [m.kind for m in alice.messages()] == ["document"]  # deleted ones are hidden
    assert alice.messages(include_deleted=True)[0].deleted


async def test_press_explains_missing_buttons_and_supports_contains_and_forgery(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    old = await aiogram_bot.send_message(
        alice.chat_id, "Old", reply_markup=keyboard([("Go", "old")])
    )
    await aiogram_bot.send_message(
        alice.chat_id,
        "New",
        reply_markup=keyboard([("Go", "new"), ("Accept ticket #12", "acc:12")]),
    )
    with pytest.raises(
        AssertionError, match=r"no button 'Stop'[\s\S]*\[Go\] \[Accept ticket #12\]"
    ):
        await alice.press("Stop")
    assert (await alice.press("Go")).data == "new"  # newest message first
    assert (await alice.press("Go", message=alice.messages()[0])).data == "old"
    assert (await alice.press("ticket #12", contains=True)).data == "acc:12"
    forged = await alice.press_data("acc:999999")
    assert forged.forged
    assert forged.message_id == old.message_id + 1
    updates = await aiogram_bot.get_updates()
    assert [u.callback_query.data for u in updates if u.callback_query][-1] == "acc:999999"
    assert len(emulator.unanswered_callback_queries()) == 4


async def test_wait_for_sees_new_and_edited_messages_and_times_out_with_transcript(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    await alice.send("/status")
    working_seen = asyncio.Event()

    async def bot_side() -> None:  # starts once the person waits, edits once they saw it
        sent = await aiogram_bot.send_message(alice.chat_id, "Working…")
        await working_seen.wait()
        await aiogram_bot.edit_message_text(
            "Done: 3 open tickets", chat_id=alice.chat_id, message_id=sent.message_id
        )

    task = asyncio.create_task(bot_side())
    working = await alice.wait_for("Working")
    working_seen.set()
    done = await alice.wait_for(lambda m: m.text.startswith("Done"))
    await task
    assert working is done  # the same message, now edited
    assert done.edits == ["Done: 3 open tickets"]
    assert done.original_text == "Working…"
    with pytest.raises(
        AssertionError, match=r"(?s)no bot message matching 'Done'.*earlier.*👤 Alice: /status"
    ):
        await alice.wait_for("Done", timeout=0.05)


# ---------------------------------------------------------------------------------------------
# The frameworks' own polling loops run unmodified


async def test_aiogram_dispatcher_polling_drives_a_conversation(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def on_start(message: Message) -> None:
        await message.answer("Report a fault?", reply_markup=keyboard([("Yes", "report")]))

    @dispatcher.callback_query(F.data == "report")
    async def on_report(query: CallbackQuery) -> None:
        await query.answer("Let's go")
        if isinstance(query.message, Message):
            await query.message.edit_text("Describe the fault")

    polling = asyncio.create_task(
        dispatcher.start_polling(aiogram_bot, handle_signals=False, close_bot_session=False)
    )
    try:
        await alice.start()
        await alice.wait_for("Report a fault?")
        await alice.press("Yes")
        await alice.wait_for("Describe the fault")
    finally:
        await dispatcher.stop_polling()
        await polling
    assert alice.callback_queries()[0].answer_text == "Let's go"
    assert emulator.unanswered_callback_queries() == []


async def test_ptb_application_polling_drives_a_conversation(
    emulator: BotApiEmulator, alice: SimulatedPerson, token: str
) -> None:
    async def on_start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Yes", callback_data="report")]]
        )
        await context.bot.send_message(
            update.effective_chat.id, "Report a fault?", reply_markup=markup
        )

    async def on_report(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Let's go")
        await query.edit_message_text("Describe the fault")

    application = (
        Application.builder()
        .token(token)
        .base_url(f"{emulator.base_url}/bot")
        .base_file_url(f"{emulator.base_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CallbackQueryHandler(on_report, pattern="^report$"))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        try:
            await alice.start()
            await alice.wait_for("Report a fault?")
            await alice.press("Yes")
            await alice.wait_for("Describe the fault")
        finally:
            await application.updater.stop()
            await application.stop()
    assert emulator.unanswered_callback_queries() == []


async def test_aiogram_webhook_handler_receives_updates_and_replies_with_a_method(
    emulator: BotApiEmulator, aiogram_bot: Bot, alice: SimulatedPerson
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(F.text == "ping")
    async def on_ping(message: Message) -> object:
        return message.answer("pong")  # not awaited: aiogram puts it in the webhook response

    app = web.Application()
    SimpleRequestHandler(
        dispatcher, aiogram_bot, handle_in_background=False, secret_token="hook-secret"
    ).register(app, path="/tg")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await aiogram_bot.set_webhook(f"http://{host}:{port}/tg", secret_token="hook-secret")
        await alice.send("ping")
        assert (await alice.wait_for("pong")).text == "pong"
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------------------------
# Albums, locations, venues and replies


async def test_albums_in_both_directions_locations_venues_and_replies(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot, alice: SimulatedPerson
) -> None:
    await alice.start()
    first = await aiogram_bot.send_photo(alice.chat_id, BufferedInputFile(make_png(8, 6), "a.png"))
    second = await ptb_bot.send_photo(alice.chat_id, photo=make_png(9, 6))
    ids = [first.photo[-1].file_id, second.photo[-1].file_id]  # type: ignore[index]

    album = await aiogram_bot.send_media_group(
        alice.chat_id,
        [
            InputMediaPhoto(media=ids[0], caption="<b>Ticket #7</b>", parse_mode="HTML"),
            InputMediaPhoto(media=ids[1]),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    shown = alice.messages()[-2:]
    assert [m.kind for m in shown] == ["photo", "photo"] and shown[0].caption == "Ticket #7"
    assert (
        shown[0].media_group_id is not None and shown[0].media_group_id == shown[1].media_group_id
    )
    ptb_album = await ptb_bot.send_media_group(
        alice.chat_id,
        [telegram.InputMediaPhoto(ids[0]), telegram.InputMediaPhoto(make_png(5, 5))],
        caption="From PTB",
    )
    assert len(ptb_album) == 2 and alice.messages()[-2].caption == "From PTB"
    with pytest.raises(TelegramBadRequest, match="wrong number of media"):
        await aiogram_bot.send_media_group(alice.chat_id, [InputMediaPhoto(media=ids[0])])
    assert emulator.take_violations()

    pin = await aiogram_bot.send_location(alice.chat_id, 31.2304, 121.4737)
    assert pin.location is not None and alice.last().location == (31.2304, 121.4737)
    venue = await ptb_bot.send_venue(
        alice.chat_id, latitude=31.23, longitude=121.47, title="Head office", address="1 Main St"
    )
    assert venue.venue is not None and venue.venue.title == "Head office"
    assert alice.last().kind == "venue" and "Head office" in alice.last().text
    with pytest.raises(TelegramBadRequest, match="wrong latitude"):
        await aiogram_bot.send_location(alice.chat_id, 95.0, 10.0)
    assert emulator.take_violations()
    assert "[venue 31.23, 121.47] Head office" in alice.transcript()
    assert "[album]" in alice.transcript()

    sent_ids = await alice.send_album(3, caption="jam", reply_to=alice.last())
    await alice.send_photo(reply_to=alice.messages()[0])
    await alice.send_location(
        31.0, 121.0, forwarded_from={"id": 5, "is_bot": False, "first_name": "Eve"}
    )
    updates = await aiogram_bot.get_updates()
    messages = [u.message for u in updates if u.message is not None][-5:]
    assert [m.message_id for m in messages[:3]] == sent_ids
    assert len({m.media_group_id for m in messages[:3]}) == 1 and messages[0].media_group_id
    assert messages[0].caption == "jam" and messages[1].caption is None
    assert messages[0].reply_to_message is not None
    assert messages[3].reply_to_message is not None
    assert messages[3].reply_to_message.message_id == alice.messages()[0].message_id
    assert messages[4].location is not None and messages[4].forward_origin is not None


async def test_a_channel_takes_posts_from_an_administrator_bot_only(
    emulator: BotApiEmulator, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    channel = emulator.channel(-1001234567890, "faultdesk audit", username="fd_audit")
    sent = await aiogram_bot.send_message(channel.chat_id, "anchor 12:abcdef0123456789")
    assert sent.chat.type == "channel" and sent.from_user is None
    assert sent.sender_chat is not None and sent.sender_chat.id == channel.chat_id
    by_name = await ptb_bot.send_message("@fd_audit", "anchor 13:abcdef0123456789")
    assert by_name.chat.id == channel.chat_id and by_name.sender_chat.title == "faultdesk audit"
    assert [m.text for m in channel.messages()] == [
        "anchor 12:abcdef0123456789",
        "anchor 13:abcdef0123456789",
    ]
    closed = emulator.channel(-1009999, "not ours", bot_is_admin=False)
    with pytest.raises(TelegramBadRequest, match="need administrator rights"):
        await aiogram_bot.send_message(closed.chat_id, "hello?")
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)need administrator rights"):
        await ptb_bot.send_message(closed.chat_id, "hello?")
    assert closed.messages() == []
    with pytest.raises(ValueError, match="-100"):
        emulator.channel(-42, "a group id")
