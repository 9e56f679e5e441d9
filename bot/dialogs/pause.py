"""Pausing a ticket: what it waits for (the reporter, parts, a vendor) and a note.

Opened by ⏸ Pause on the dispatch card; the card is refreshed when it ends.

```mermaid
stateDiagram-v2
    [*] --> reason: ⏸ Pause
    reason --> reason: typed text (buttons only)
    reason --> note: reporter / parts / vendor
    note --> note: sticker / empty text / too long
    note --> [*]: note text or "No note" → core pause → card refreshed
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from bot.labels import PAUSE_REASON
from core.conversations import DialogState
from core.sla.policy import PauseReason
from core.tickets import MAX_NOTE

PAUSE_DIALOG: Final = "pause"
NO_NOTE: Final = "none"


class Step(StrEnum):
    """The pause dialog's steps (the values are stored in the dialog state)."""

    REASON = "reason"
    NOTE = "note"


class PauseDialog(CardDialog[Step]):
    """Pause a ticket while waiting for the reporter, parts or a vendor."""

    name = PAUSE_DIALOG
    steps = Step
    first = Step.REASON

    async def ask_reason(self, ctx: Ctx, state: DialogState) -> None:
        """What the ticket waits for."""
        reasons = [
            [self.choice(ctx, state, ctx._(text).capitalize(), code)]
            for code, text in PAUSE_REASON.items()
        ]
        await self.show(
            ctx,
            state,
            ctx._(
                "⏸ Why does ticket #{ticket} wait? The clocks this wait does not count against you stop.",
                ticket=self.ticket_id(state),
            ),
            InlineKeyboard.of(*reasons, [self.cancel_button(ctx, state)]),
        )

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Remember the reason, then ask for a note."""
        if value is None or value not in PAUSE_REASON:
            return await self.use_buttons(ctx)
        state.data["reason"] = value
        return Step.NOTE

    async def ask_note(self, ctx: Ctx, state: DialogState) -> None:
        """An optional note for the record."""
        await self.show(
            ctx,
            state,
            ctx._("Add a note for the record (e.g. which part), or press “No note”."),
            InlineKeyboard.of(
                [self.choice(ctx, state, ctx._("No note"), NO_NOTE)],
                [self.cancel_button(ctx, state)],
            ),
        )

    async def on_note(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Pause with the reason and note."""
        if value is not None:
            if value != NO_NOTE:
                return await self.use_buttons(ctx)
            note = ""
        else:
            text, problem = typed_text(
                ctx, MAX_NOTE, missing=ctx._("Please type the note in words, or press “No note”.")
            )
            if text is None:
                await ctx.say(problem)
                return STAY
            note = text
        reason = PauseReason(state.data["reason"])
        try:
            await ctx.app.helpdesk.tickets.pause(
                self.ticket_id(state), actor_id=ctx.person_id, reason=reason, note=note
            )
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        return await self.finish(
            ctx,
            state,
            ctx._(
                "⏸ Ticket #{ticket} paused: {reason}. Press ▶️ Resume on the card when work goes on.",
                ticket=self.ticket_id(state),
                reason=ctx._(PAUSE_REASON[reason.value]),
            ),
        )

    table = step_table(
        {
            Step.REASON: StepSpec(ask_reason, on_reason, to={Step.NOTE}),
            Step.NOTE: StepSpec(ask_note, on_note),
        }
    )
