"""The whole bot over real HTTP, on aiogram and on python-telegram-bot alike.

Each test runs once per runtime (the transcript comparison runs both itself). The
emulator fails a test on any call the real Bot API would refuse.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import aiohttp
import pytest

from bot.chat import Kind
from bot.runtimes import RUNTIMES
from bot.webhook import SECRET_HEADER
from core.enums import OutboxStatus, Role

pytestmark = [
    pytest.mark.e2e,
    # PTB 22 itself reads RetryAfter.retry_after while building the exception, which warns
    # about the coming timedelta type; bot.runtimes.ptb handles both types.
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

ALICE = 1001  # the registered staff member of the `alice` fixture

STALE_BUTTON = "This button belongs to a step that is already over."


async def test_an_unknown_user_is_told_how_to_register(bot, emulator):
    stranger = emulator.person(user_id=5555, first_name="Stranger", language_code="en")
    await stranger.start()
    reply = await stranger.wait_for("You are not registered yet.")
    assert reply.parse_mode == "HTML"


async def test_help_and_a_language_chosen_by_button(bot, alice, emulator):
    await alice.send("/help")
    await alice.wait_for("/report")
    await alice.send("/lang")
    menu = await alice.wait_for("Choose your language:")
    assert menu.button_labels() == ["简体中文", "English", "Русский"]

    await alice.press("English")

    edited = await alice.wait_for("Language set: English.")
    assert edited.message_id == menu.message_id and edited.edited
    assert edited.buttons() == []
    assert emulator.unanswered_callback_queries() == []
    profile = await bot.running.helpdesk.people.profile_by_telegram(ALICE)
    assert profile is not None and profile.language == "en"


async def test_a_dialog_button_round_trip_edits_the_prompt_and_answers_the_press(
    bot, alice, emulator
):
    await alice.send("/survey")
    prompt = await alice.wait_for("Which colour?")
    assert prompt.button_labels() == ["Red", "Blue", "✖ Cancel"]

    await alice.press("Blue")

    edited = await alice.wait_for("Colour blue. Now type a name.")
    assert edited.message_id == prompt.message_id
    await alice.send("Bo <b>")
    await alice.wait_for("Saved: blue for Bo <b>.")
    assert emulator.unanswered_callback_queries() == []


async def test_a_fast_double_press_is_handled_once(bot, alice):
    await alice.send("/survey")
    prompt = await alice.wait_for("Which colour?")

    # Both presses reach the bot before it answers either: one getUpdates batch.
    await asyncio.gather(alice.press("Red"), alice.press("Red"))

    await alice.wait_for("Colour red. Now type a name.")

    async def both_answered() -> bool:
        return all(query.answered for query in alice.callback_queries())

    await bot.until(both_answered)
    assert [q.answer_text for q in alice.callback_queries()] == [None, STALE_BUTTON]
    assert prompt.edits == ["Colour red. Now type a name."]


async def test_long_polling_pauses_after_each_batch_so_a_burst_comes_in_batches(
    deployment, emulator
):
    """FAULTDESK_POLL_INTERVAL: after a getUpdates that brought updates, the next one is
    sent no sooner than the interval later; what arrives meanwhile waits for it, and
    comes in one batch."""
    deployment.overrides["poll_interval"] = 0.5
    await deployment.start()
    await deployment.register(ALICE, "Alice")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
    for _ in range(3):
        await alice.send("/help")
        await alice.wait_for("/report")
    polls = emulator.calls("getUpdates")  # (each recorded as it is answered)
    after_updates = [
        (later.at - earlier.at)
        for earlier, later in itertools.pairwise(polls)
        if later.params.get("offset", 0) > earlier.params.get("offset", 0)
    ]
    assert len(after_updates) >= 2, [call.params for call in polls]
    assert min(after_updates) >= 0.5, after_updates


def test_the_poll_interval_is_a_setting_kept_short():
    from pydantic import ValidationError

    from bot.settings import Settings

    assert Settings(_env_file=None).poll_interval == 0.2
    assert Settings(_env_file=None, poll_interval=0).poll_interval == 0  # off
    for too_long_or_negative in (2.5, -0.1):
        with pytest.raises(ValidationError, match=r"use 0 \(off\) to 2 seconds"):
            Settings(_env_file=None, poll_interval=too_long_or_negative)


async def test_forged_button_data_is_refused_with_an_alert(bot, alice):
    await alice.send("/lang")
    await alice.wait_for("Choose your language:")

    query = await alice.press_data("lang:en~AAAAAAAA")

    async def answered() -> bool:
        return query.answered

    await bot.until(answered)
    assert query.answer_text == "This button is not valid." and query.show_alert


async def test_every_kind_of_message_is_converted_the_same(bot, alice, emulator):
    await alice.send("/probe")
    await alice.wait_for("Probe listening.")
    base = "chat_type=private"

    def saying(*parts):
        return lambda message: all(part in message.text for part in parts)

    await alice.send("hello  there")
    await alice.wait_for(saying("kind=text", base, "text='hello  there'", "photo=False"))
    await alice.send_photo(caption="jammed")
    await alice.wait_for(saying("kind=photo", base, "text='jammed'", "photo=True"))
    await alice.send_contact()
    await alice.wait_for(
        saying("kind=contact", f"phone={alice.phone_number}", f"contact_user={ALICE}")
    )
    await alice.send_location(31.23, 121.47)
    await alice.wait_for(saying("kind=location", "location=31.23,121.47"))
    await alice.send_document(caption="manual")
    await alice.wait_for(saying("kind=document", base, "text='manual'", "photo=False"))
    await alice.send_sticker()
    await alice.wait_for(saying("kind=other", base, "text=''", "message_id=True"))
    # A command with arguments and this bot's name is still the command.
    await alice.send("/HELP@faultdesk_bot please")
    await alice.wait_for("/report")
    await alice.send("/cancel")
    await alice.wait_for("Cancelled. Nothing was changed.")

    office = emulator.group(-1001234567, "Office")
    await alice.send_in(office, "/help@someone_else_bot")  # not ours: silence
    await alice.send_in(office, "/lang@faultdesk_bot")
    # Ours, but personal: in a group the bot only points to a private chat.
    await office.wait_for("I answer /lang only in a private chat")
    assert len(office.messages()) == 1


async def test_the_commands_menu_is_published_in_every_language(bot, emulator):
    for language in ("", "zh", "en", "ru"):
        names = [command["command"] for command in emulator.commands(language_code=language)]
        assert {"help", "lang", "cancel"} <= set(names), language
        assert "survey" not in names  # no description: kept out of the menu


async def test_webhook_mode_takes_updates_only_with_the_secret(deployment, emulator):
    url = deployment.use_webhook("e2e-Secret_42")
    await deployment.start()
    await deployment.register(ALICE, "Alice")

    config = emulator.bot_state().webhook
    assert config is not None and config.url == url
    assert config.secret_token == "e2e-Secret_42"
    assert config.allowed_updates == ["message", "callback_query"]

    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
    await alice.send("/lang")
    await alice.wait_for("Choose your language:")
    await alice.press("English")
    await alice.wait_for("Language set: English.")
    assert emulator.calls("getUpdates") == []  # nothing polled: all came by webhook

    forged = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "text": "/help",
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: "not-the-secret"}):
            async with http.post(url, json=forged, headers=headers) as response:
                assert response.status == 401


async def test_a_redelivered_update_is_handled_once(bot, alice, emulator):
    await alice.send("/lang")
    await alice.wait_for("Choose your language:")
    first = max(emulator.bot_state().history)

    emulator.redeliver(first)
    await alice.send("/help")  # handled after the duplicate: same chat, same lane

    await alice.wait_for("/report")
    texts = [message.text for message in alice.messages()]
    assert texts.count("Choose your language:") == 1


async def test_a_dialog_survives_restarts_and_updates_sent_while_down(bot, alice):
    await alice.send("/survey")
    await alice.wait_for("Which colour?")

    await bot.restart()
    await alice.press("Red")  # a button from before the restart still works
    await alice.wait_for("Colour red. Now type a name.")

    await bot.stop()
    await alice.send("Ada")  # waits at Telegram while the bot is down
    await bot.start()

    await alice.wait_for("Saved: red for Ada.")
    assert sum("Saved" in message.text for message in alice.messages()) == 1


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_update_whose_handler_died_is_handled_by_the_next_process(
    deployment, emulator, hang, mode
):
    from sqlalchemy import select

    from core.conversations import UPDATE_LEASE
    from core.models import ProcessedUpdate

    deployment.overrides.update(shutdown_grace=0.2, recovery_interval=0.1)
    if mode == "webhook":
        deployment.use_webhook("s3cret-token")
    await deployment.start()
    await deployment.register(ALICE, "Alice", language="en")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")

    await alice.send("/hang")

    async def being_handled() -> bool:
        async with deployment.running.core.reading() as session:
            row = await session.scalar(select(ProcessedUpdate))
            return row is not None and row.lease_until is not None and row.payload is not None

    await deployment.until(being_handled)
    await deployment.stop()  # the handler is cut off: as good as a killed process
    assert hang.released is not None
    hang.released.set()
    assert emulator.pending_updates() == []  # Telegram counts it as delivered

    await deployment.start()
    await deployment.recovery_rounds(3)  # the dead handler's lease still runs: nobody takes it
    assert not any("Handled at last." in m.text for m in alice.messages())
    async with deployment.running.core.reading() as session:
        row = await session.scalar(select(ProcessedUpdate))
        assert row is not None and row.done_at is None and row.payload is not None

    deployment.clock.advance(UPDATE_LEASE + timedelta(seconds=1))
    await alice.wait_for("Handled at last.")
    await deployment.recovery_rounds(3)  # a few more rounds: nothing is handled twice
    assert sum("Handled at last." in m.text for m in alice.messages()) == 1
    async with deployment.running.core.reading() as session:
        row = await session.scalar(select(ProcessedUpdate))
        assert row is not None and row.done_at is not None and row.payload is None


async def test_a_fault_report_survives_restarts_and_reaches_the_engineer(bot, alice, emulator):
    await bot.register(2001, "Wang Wei", role=Role.ENGINEER)
    await bot.register_device("PC-0001")
    wang = emulator.person(user_id=2001, first_name="Wang", language_code="en")
    await wang.start()
    await wang.wait_for("Welcome back")

    await alice.send("/report")
    await alice.wait_for("Which device is broken?")
    await alice.send("PC-0001")
    await alice.wait_for("What is wrong?")
    await bot.restart()
    await alice.send("Screen stays black")
    await alice.wait_for("A photo helps")
    await alice.send_photo()
    await alice.wait_for("1 photo received")
    await alice.press("✅ Done")
    await alice.wait_for("How badly does it affect work?")
    await alice.press("🟠", contains=True)
    await alice.wait_for("A phone number for the engineer?")

    await bot.stop()
    await alice.reply_keyboard("📱 Share my phone")  # sent while the bot is down
    await bot.start()

    await alice.wait_for(f"Contact phone: {alice.phone_number}")
    summary = await alice.wait_for(lambda message: message.button("✅ Confirm") is not None)
    assert "Screen stays black" in summary.text
    await alice.press("✅ Confirm")
    await alice.wait_for("Ticket #1 is open.")
    dispatch = await wang.wait_for("New dispatch for you")
    assert "Screen stays black" in dispatch.text
    assert dispatch.buttons()  # the engineer's control panel


async def test_flood_control_delays_an_outbox_message_without_losing_it(bot, alice, emulator):
    await alice.send("/help")
    await alice.wait_for("/report")
    emulator.inject_flood(chat_id=ALICE, retry_after=7)

    await bot.queue_notice("flood-1", "Your printer is fixed.", chat_id=ALICE)

    async def put_back() -> bool:
        row = await bot.outbox_row("flood-1")
        return row.attempts == 1 and row.lease_owner is None

    await bot.until(put_back)
    row = await bot.outbox_row("flood-1")
    assert row.status is OutboxStatus.PENDING and row.last_error == "retry after 7.0 s"

    bot.clock.advance(timedelta(seconds=8))
    assert bot.running.sender is not None
    bot.running.sender.wake()

    await alice.wait_for("Your printer is fixed.")

    async def sent() -> bool:
        return (await bot.outbox_row("flood-1")).status is OutboxStatus.SENT

    await bot.until(sent)
    assert (await bot.outbox_row("flood-1")).attempts == 2


async def test_a_person_who_blocked_the_bot_is_given_up_on(bot, alice, emulator):
    await alice.send("/help")
    await alice.wait_for("/report")
    emulator.block(ALICE)

    await bot.queue_notice("blocked-1", "Anyone there?", chat_id=ALICE)

    async def failed() -> bool:
        return (await bot.outbox_row("blocked-1")).status is OutboxStatus.FAILED

    await bot.until(failed)
    assert "blocked" in ((await bot.outbox_row("blocked-1")).last_error or "")


async def test_a_chat_that_does_not_exist_is_unreachable(bot, emulator):
    await bot.queue_notice("nowhere-1", "Hello?", chat_id=424242)

    async def failed() -> bool:
        return (await bot.outbox_row("nowhere-1")).status is OutboxStatus.FAILED

    await bot.until(failed)
    # The emulator counts "chat not found" as our mistake; here it is the point.
    violations = emulator.take_violations()
    assert len(violations) == 1 and "chat not found" in violations[0]


async def test_a_network_outage_is_retried(bot, alice, emulator):
    await alice.send("/help")
    await alice.wait_for("/report")
    emulator.set_outage(True)

    await bot.queue_notice("outage-1", "Back online.", chat_id=ALICE)

    async def put_back() -> bool:
        row = await bot.outbox_row("outage-1")
        return row.attempts == 1 and row.lease_owner is None

    await bot.until(put_back)
    assert (await bot.outbox_row("outage-1")).status is OutboxStatus.PENDING
    emulator.set_outage(False)
    bot.clock.advance(timedelta(minutes=1))
    assert bot.running.sender is not None
    bot.running.sender.wake()

    await alice.wait_for("Back online.")


async def scenario(deployment) -> str:
    """A bit of everything a person does; returns what they saw."""
    await deployment.register(ALICE, "Alice")
    alice = deployment.emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
    stranger = deployment.emulator.person(user_id=5555, first_name="Stranger")
    await stranger.start()
    await stranger.wait_for("not registered")
    await alice.send("/help")
    await alice.wait_for("/report")
    await alice.send("/lang")
    await alice.wait_for("Choose your language:")
    await alice.press("English")
    await alice.wait_for("Language set")
    await alice.send("/survey")
    await alice.wait_for("Which colour?")
    await alice.send("red!")
    await alice.wait_for("Press a colour, please.")
    await alice.press("Blue")
    await alice.wait_for("Now type a name.")
    await alice.send("Bo & <Co>")
    await alice.wait_for("Saved:")
    await alice.send("/frobnicate")
    await alice.wait_for("Unknown command")
    await alice.send_sticker()
    await alice.wait_for("I did not understand")
    await alice.send("/cancel")
    await alice.wait_for("nothing to cancel")
    return alice.transcript() + "\n---\n" + stranger.transcript()


async def test_both_runtimes_show_people_exactly_the_same_conversation(
    deploy,
):
    transcripts = {}
    for runtime in RUNTIMES:
        async with deploy(runtime) as deployment:
            transcripts[runtime] = await scenario(deployment)
    assert transcripts["aiogram"] == transcripts["ptb"]
    assert "Saved: blue for Bo &amp; &lt;Co&gt;." not in transcripts["ptb"]  # shown as text
    assert "Saved: blue for Bo & <Co>." in transcripts["ptb"]


USER = {"id": 7, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"}
PRIVATE = {"id": 7, "type": "private", "first_name": "Li"}


def convert(runtime: str, data: dict):
    """One raw Update through a runtime's own parser and converter."""
    if runtime == "aiogram":
        from aiogram.types import Update as AiogramUpdate

        from bot.runtimes import aiogram as adapter

        return adapter.to_incoming(AiogramUpdate.model_validate(data), "faultdesk_bot")
    from telegram import Update as PtbUpdate

    from bot.runtimes import ptb

    return ptb.to_incoming(PtbUpdate.de_json(data, None), "faultdesk_bot")


def test_edits_and_updates_without_a_person_are_ignored(runtime):
    edited = {"message_id": 5, "date": 0, "edit_date": 1, "chat": PRIVATE, "from": USER}
    assert convert(runtime, {"update_id": 1, "edited_message": {**edited, "text": "x"}}) is None
    channel = {"id": -100777, "type": "channel", "title": "News"}
    post = {"message_id": 6, "date": 0, "chat": channel, "text": "hello"}
    assert convert(runtime, {"update_id": 2, "channel_post": post}) is None
    assert convert(runtime, {"update_id": 3, "message": {**post, "chat": channel}}) is None


def test_a_photo_is_taken_at_its_largest_size(runtime):
    sizes = [
        {"file_id": f"size-{w}", "file_unique_id": f"u{w}", "width": w, "height": w}
        for w in (90, 320, 1280)
    ]
    message = {"message_id": 5, "date": 0, "chat": PRIVATE, "from": USER, "photo": sizes}
    incoming = convert(runtime, {"update_id": 9, "message": message})
    assert incoming is not None and incoming.kind is Kind.PHOTO
    assert incoming.photo_file_id == "size-1280" and incoming.text == ""
    assert incoming.user.language_code == "zh-hans" and incoming.message_id == 5


def test_a_press_on_a_message_too_old_to_read_still_names_its_chat(runtime):
    old = {"chat": PRIVATE, "message_id": 3, "date": 0}  # InaccessibleMessage: date 0
    query = {"id": "q1", "from": USER, "chat_instance": "c", "data": "lang:en~x", "message": old}
    incoming = convert(runtime, {"update_id": 10, "callback_query": query})
    assert incoming is not None and incoming.kind is Kind.CALLBACK
    assert (incoming.chat_id, incoming.message_id, incoming.callback_id) == (7, 3, "q1")
    assert incoming.callback_data == "lang:en~x"


def test_group_commands_carry_the_chat_type_and_only_ours_count(runtime):
    group = {"id": -1001234, "type": "supergroup", "title": "Office"}
    base = {"message_id": 8, "date": 0, "chat": group, "from": USER}
    ours = convert(
        runtime, {"update_id": 11, "message": {**base, "text": "/Help@FaultDesk_Bot now"}}
    )
    assert ours is not None and ours.kind is Kind.COMMAND and ours.chat_type == "supergroup"
    assert (ours.command, ours.args, ours.is_private) == ("help", "now", False)
    theirs = convert(runtime, {"update_id": 12, "message": {**base, "text": "/help@other_bot"}})
    assert theirs is not None and theirs.kind is Kind.OTHER
