"""The small engine that runs multi-step dialogs with their state in the database.

A dialog is a class with one `ask_<step>` (shows the prompt) and one `on_<step>`
(takes the answer) per step. `on_<step>` returns the next step's name, `DONE` to end,
or `STAY` to keep waiting (after telling the person what was wrong). Buttons inside a
dialog carry `d:<dialog>:<step>:<value>`, so a button from an earlier step is
recognised as stale. State is saved after every step, so a restart loses nothing.

The steps taken are kept in the state too, so a dialog can offer ◀ Back
(`nav_row`): it shows the previous step again with its answer still filled in.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from bot.callbacks import Callback
from bot.chat import Button, InlineKeyboard, Keyboard, Kind
from bot.context import Ctx
from core.conversations import DialogState

DIALOG_BUTTON: Final = "d"  # callback action of every button inside a dialog
DONE: Final = "__done__"
STAY: Final = "__stay__"
CANCEL_VALUE: Final = "__cancel__"
BACK_VALUE: Final = "__back__"
TRAIL: Final = "_trail"  # state.data key: the steps answered so far, oldest first


class Dialog:
    """Base class of every dialog."""

    name: ClassVar[str]
    first_step: ClassVar[str]

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open the dialog at its first step (replacing any other open dialog)."""
        state = DialogState(self.name, self.first_step, dict(data))
        await self.enter(ctx, state, self.first_step)

    async def enter(self, ctx: Ctx, state: DialogState, step: str) -> None:
        """Move to `step`: save the state and show its prompt."""
        state.step = step
        await getattr(self, f"ask_{step}")(ctx, state)
        await ctx.app.conversations.save(ctx.chat_id, ctx.incoming.user.id, state)

    async def handle(self, ctx: Ctx, state: DialogState, value: str | None) -> None:
        """Feed an update (typed input, or a dialog button's value) to the current step."""
        if value == CANCEL_VALUE:
            await self.cancel(ctx, state)
            return
        if value is not None:
            await ctx.answer()
        if value == BACK_VALUE:
            trail = list(state.data.get(TRAIL) or [])
            if trail:
                previous = trail.pop()
                state.data[TRAIL] = trail
                await self.enter(ctx, state, previous)
            return
        outcome = await getattr(self, f"on_{state.step}")(ctx, state, value)
        if outcome == STAY:
            await ctx.app.conversations.save(ctx.chat_id, ctx.incoming.user.id, state)
            return
        if outcome == DONE:
            await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
            return
        if outcome != state.step:
            state.data[TRAIL] = [*(state.data.get(TRAIL) or []), state.step]
        await self.enter(ctx, state, outcome)

    async def cancel(self, ctx: Ctx, state: DialogState) -> None:
        """Close the dialog without doing anything; tell the person nothing was changed."""
        await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
        text = ctx._("Cancelled. Nothing was changed.")
        if ctx.incoming.kind is Kind.CALLBACK and ctx.incoming.message_id == state.message_id:
            await ctx.answer()
            await ctx.edit(text)
        else:
            await ctx.say(text)

    # --- helpers for subclasses ---------------------------------------------------------

    def choice(self, ctx: Ctx, state: DialogState, text: str, value: object) -> Button:
        """A button answering the current step with `value`."""
        return ctx.button(text, DIALOG_BUTTON, self.name, state.step, value)

    def cancel_button(self, ctx: Ctx, state: DialogState) -> Button:
        """The dialog's own cancel button."""
        return ctx.button(ctx._("✖ Cancel"), DIALOG_BUTTON, self.name, state.step, CANCEL_VALUE)

    def nav_row(self, ctx: Ctx, state: DialogState) -> list[Button]:
        """◀ Back (once a step has been answered) and ✖ Cancel, for the last keyboard row."""
        row = [self.cancel_button(ctx, state)]
        if state.data.get(TRAIL):
            back = ctx.button(ctx._("◀ Back"), DIALOG_BUTTON, self.name, state.step, BACK_VALUE)
            row.insert(0, back)
        return row

    async def show(
        self, ctx: Ctx, state: DialogState, text: str, keyboard: Keyboard | None = None
    ) -> None:
        """Show a step's prompt: edit the dialog's message when a button of it was pressed, else send anew."""
        pressed_here = (
            ctx.incoming.kind is Kind.CALLBACK
            and state.message_id is not None
            and ctx.incoming.message_id == state.message_id
        )
        if pressed_here and (keyboard is None or isinstance(keyboard, InlineKeyboard)):
            await ctx.edit(text, keyboard, message_id=state.message_id)
            return
        state.message_id = await ctx.say(text, keyboard)


async def press_dialog_button(ctx: Ctx, callback: Callback) -> None:
    """A dialog's button: handled by the dialog when it belongs to the person's current step."""
    if len(callback.args) < 3:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    dialog_name, step, value = callback.args[0], callback.args[1], callback.args[2]
    state = await ctx.dialog_state()
    if (
        state is None
        or state.dialog != dialog_name
        or state.step != step
        or dialog_name not in ctx.dialogs
    ):
        await ctx.answer(ctx._("This button belongs to a step that is already over."), alert=True)
        return
    await ctx.dialogs[dialog_name].handle(ctx, state, value)
