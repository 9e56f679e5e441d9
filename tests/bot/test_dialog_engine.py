"""The dialog engine at run time: moves its table forbids, and steps it no longer knows."""

from __future__ import annotations

import logging
from enum import StrEnum

from chat_harness import ChatHarness

from bot.chat import Action, InlineKeyboard, SendMessage, Sent
from bot.context import Ctx
from bot.dialogs.engine import (
    BACK_VALUE,
    DIALOG_BUTTON,
    DONE,
    INSTANCE,
    TRAIL,
    Dialog,
    IllegalStep,
    Outcome,
    StepSpec,
    step_table,
)
from bot.dialogs.report import REPORT_DIALOG
from core.conversations import DialogState

LI = 1001
APOLOGY = "Sorry, something went wrong on our side. Nothing you sent was lost; please try again."
OVER = "That conversation is over; please start again."


class Step(StrEnum):
    ASK = "ask"
    NEXT = "next"


class SkipsAhead(Dialog[Step]):
    """A dialog with a bug: its first step moves on although its table says it may not."""

    name = "skips_ahead"
    steps = Step
    first = Step.ASK

    async def ask_ask(self, ctx: Ctx, state: DialogState) -> None:
        """Ask for anything."""
        go = self.choice(ctx, state, "Go", "go")
        await self.show(ctx, state, "Say something.", InlineKeyboard.of([go]))

    async def on_ask(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Move on (the table forgot to allow it)."""
        return Step.NEXT

    async def ask_next(self, ctx: Ctx, state: DialogState) -> None:
        """Never reached."""
        await ctx.say("Next question.")

    async def on_next(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Never reached."""
        return DONE

    table = step_table(
        {Step.ASK: StepSpec(ask_ask, on_ask), Step.NEXT: StepSpec(ask_next, on_next)}
    )


def add_skips_ahead(chat: ChatHarness) -> None:
    """Register the buggy dialog and /skipsahead to open it."""
    dialog = SkipsAhead()
    chat.router.add_dialog(dialog)

    async def start(ctx: Ctx) -> None:
        await ctx.start_dialog(dialog.name)

    chat.router.command("skipsahead")(start)


async def test_a_move_the_table_does_not_allow_is_logged_apologised_for_and_ends_the_dialog(
    chat, world, caplog
):
    add_skips_ahead(chat)
    li = chat.person(LI, "Li")
    await li.send("/skipsahead")
    assert li.last().text == "Say something."

    with caplog.at_level(logging.ERROR):
        await li.send("anything")

    assert li.last().text == APOLOGY
    assert "Next question." not in li.texts()
    assert await chat.app.conversations.load(LI, LI) is None  # not stuck at a broken step
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert len(failures) == 1 and isinstance(failures[0], IllegalStep)
    assert "'ask' led to" in str(failures[0])


async def test_the_same_bug_behind_a_button_answers_the_press_and_apologises(chat, world):
    add_skips_ahead(chat)
    li = chat.person(LI, "Li")
    await li.send("/skipsahead")
    await li.press("Go")
    assert li.last().text == APOLOGY
    assert li.answers()[-1].text is None  # the press itself was answered before the step ran
    assert await chat.app.conversations.load(LI, LI) is None


async def test_typing_into_a_dialog_saved_at_a_step_this_version_does_not_know_ends_it(chat, world):
    li = chat.person(LI, "Li")
    old = DialogState(REPORT_DIALOG, "where_exactly", {"photos": []})
    await chat.app.conversations.save(LI, LI, old)

    await li.send("Room 301")

    assert li.last().text == OVER
    assert await chat.app.conversations.load(LI, LI) is None
    await li.send("/report")  # starting again works
    assert "Which device is broken?" in li.last().text


async def test_a_button_of_a_step_this_version_does_not_know_ends_the_dialog_on_its_message(
    chat, world
):
    li = chat.person(LI, "Li")
    await li.send("/report")
    prompt = li.last()
    state = await chat.app.conversations.load(LI, LI)
    assert state is not None and state.message_id == prompt.message_id
    # As an older version left it: its step name, and a button of that step on the prompt.
    state.step = "where_exactly"
    await chat.app.conversations.save(LI, LI, state)
    old_button = chat.app.codec.pack(
        DIALOG_BUTTON, REPORT_DIALOG, state.data[INSTANCE], "where_exactly", "room"
    )

    await li.press_data(old_button, message_id=prompt.message_id)

    assert prompt.text == OVER and prompt.buttons() == []
    assert await chat.app.conversations.load(LI, LI) is None


async def test_back_to_a_step_this_version_does_not_know_ends_the_dialog(chat, world):
    li = chat.person(LI, "Li")
    await li.send("/report")
    await li.send("PC-0001")
    prompt = li.last()
    assert "What is wrong?" in prompt.text
    state = await chat.app.conversations.load(LI, LI)
    assert state is not None and state.data[TRAIL] == ["device"]
    state.data[TRAIL] = ["which_building"]
    await chat.app.conversations.save(LI, LI, state)

    back = chat.app.codec.pack(
        DIALOG_BUTTON, REPORT_DIALOG, state.data[INSTANCE], state.step, BACK_VALUE
    )
    await li.press_data(back, message_id=prompt.message_id)

    assert prompt.text == OVER
    assert await chat.app.conversations.load(LI, LI) is None


async def test_the_ending_is_said_in_the_readers_language(chat, helpdesk, world):
    await helpdesk.people.set_language(world.reporter_id, "zh_CN")
    li = chat.person(LI, "Li", language_code="zh-hans")
    await chat.app.conversations.save(LI, LI, DialogState(REPORT_DIALOG, "where_exactly", {}))
    await li.send("301")
    assert li.last().text == "这段对话已经结束，请重新开始。"


async def test_a_step_is_saved_before_its_prompt_is_sent(chat, world):
    """An answer sent the moment a prompt arrives must find the dialog at that prompt's step."""
    li = chat.person(LI, "Li")
    saved_when_sent: list[tuple[str, str | None]] = []
    perform = chat.transport.perform

    async def watching(action: Action) -> Sent:
        if isinstance(action, SendMessage) and action.chat_id == LI:
            state = await chat.app.conversations.load(LI, LI)
            saved_when_sent.append((action.text, state.step if state else None))
        return await perform(action)

    chat.transport.perform = watching  # type: ignore[method-assign]
    await li.send("/report")
    prompt, step = saved_when_sent[-1]
    assert "Which device is broken?" in prompt and step == "device"
    await li.send("PC-0001")  # typed: the next prompt is a new message
    prompt, step = saved_when_sent[-1]
    assert "What is wrong?" in prompt and step == "symptom"
    state = await chat.app.conversations.load(LI, LI)
    assert state is not None and state.step == "symptom"
    assert state.message_id == li.last().message_id  # the new prompt is remembered too
