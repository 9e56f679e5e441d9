"""Declining a dispatch: the engineer gives a reason and the ticket goes back to the dispatcher.

Opened by ↩️ Decline on the dispatch card; the card is refreshed when it ends.

```mermaid
stateDiagram-v2
    [*] --> reason: ↩️ Decline
    reason --> reason: sticker / empty text / too long
    reason --> [*]: quick reason or typed text → core decline → card refreshed
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.cards import DECLINE_REASON
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from core.conversations import DialogState
from core.tickets import MAX_NOTE

DECLINE_DIALOG: Final = "decline"


class Step(StrEnum):
    """The decline dialog's one step (the value is stored in the dialog state)."""

    REASON = "reason"


class DeclineDialog(CardDialog[Step]):
    """Decline a dispatch with a reason; it goes back to the dispatcher."""

    name = DECLINE_DIALOG
    steps = Step
    first = Step.REASON

    async def ask_reason(self, ctx: Ctx, state: DialogState) -> None:
        """Quick reasons as buttons, or any typed reason."""
        quick = [
            self.choice(ctx, state, ctx._(text), code) for code, text in DECLINE_REASON.items()
        ]
        await self.show(
            ctx,
            state,
            ctx._(
                "↩️ Why do you decline ticket #{ticket}? Choose or type the reason.",
                ticket=self.ticket_id(state),
            ),
            InlineKeyboard.of(quick, [self.cancel_button(ctx, state)]),
        )

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Decline with the chosen or typed reason."""
        if value is not None:
            if value not in DECLINE_REASON:
                return await self.use_buttons(ctx)
            reason = value
        else:
            text, problem = typed_text(
                ctx,
                MAX_NOTE,
                missing=ctx._("Please type the reason in words, or choose a button above."),
            )
            if text is None:
                await ctx.say(problem)
                return STAY
            reason = text
        try:
            await ctx.app.helpdesk.tickets.decline(
                self.ticket_id(state), actor_id=ctx.person_id, reason=reason
            )
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        return await self.finish(
            ctx,
            state,
            ctx._(
                "↩️ You declined ticket #{ticket}. The dispatcher will find another engineer.",
                ticket=self.ticket_id(state),
            ),
        )

    table = step_table({Step.REASON: StepSpec(ask_reason, on_reason)})
