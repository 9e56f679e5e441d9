"""Withdrawing a report (its reporter) or cancelling a ticket (a dispatcher), with a reason.

Opened by 🚫 Withdraw (the reporter: on the assignment notice or the ticket shown with
/ticket, until the engineer arrives) or 🚫 Cancel ticket (a dispatcher, on the card).
The engineer is told who cancelled and why; a reporter whose ticket a dispatcher
cancelled is told too.

```mermaid
stateDiagram-v2
    [*] --> reason: 🚫 Withdraw / 🚫 Cancel ticket
    reason --> reason: sticker / empty text / too long
    reason --> [*]: quick reason or typed text → core cancel → everyone told
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.i18n import N_
from core.conversations import DialogState
from core.tickets import MAX_NOTE

WITHDRAW_DIALOG: Final = "withdraw"

QUICK_REASONS = {
    "works": N_("It works again"),
    "mistake": N_("Reported by mistake"),
    "twice": N_("Reported twice"),
}


class Step(StrEnum):
    """The withdrawal's one step (the value is stored in the dialog state)."""

    REASON = "reason"


class WithdrawDialog(CardDialog[Step]):
    """Ask why, then withdraw or cancel the ticket through the core."""

    name = WITHDRAW_DIALOG
    steps = Step
    first = Step.REASON

    def by_reporter(self, state: DialogState) -> bool:
        """Opened by the reporter (not a dispatcher)."""
        return not state.data.get("dispatcher")

    async def ask_reason(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Quick reasons as buttons, or any typed reason."""
        ticket = self.ticket_id(state)
        if self.by_reporter(state):
            text = ctx._(
                "🚫 Why do you withdraw ticket #{ticket}? Choose or type the reason.", ticket=ticket
            )
        else:
            text = ctx._(
                "🚫 Why is ticket #{ticket} cancelled? Choose or type the reason; "
                "the reporter and the engineer are told.",
                ticket=ticket,
            )
        quick = [
            self.choice(ctx, state, ctx._(label), code) for code, label in QUICK_REASONS.items()
        ]
        keyboard = InlineKeyboard.of(quick, [self.cancel_button(ctx, state)])
        await self.show(ctx, state, noted(note, text), keyboard)

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Cancel with the chosen or typed reason."""
        if value is not None:
            if value not in QUICK_REASONS:
                return await self.use_buttons(ctx)
            reason = ctx._(QUICK_REASONS[value])
        else:
            text, problem = typed_text(
                ctx,
                MAX_NOTE,
                missing=ctx._("Please type the reason in words, or choose a button above."),
            )
            if text is None:
                await self.ask_reason(ctx, state, problem)
                return STAY
            reason = text
        ticket = self.ticket_id(state)
        try:
            await ctx.app.helpdesk.tickets.cancel(ticket, actor_id=ctx.person_id, reason=reason)
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        if self.by_reporter(state):
            done = ctx._(
                "🚫 Ticket #{ticket} is withdrawn ({reason}). The engineer is told.",
                ticket=ticket,
                reason=reason,
            )
        else:
            done = ctx._(
                "🚫 Ticket #{ticket} is cancelled ({reason}). The reporter and the engineer are told.",
                ticket=ticket,
                reason=reason,
            )
        return await self.finish(ctx, state, done)

    table = step_table({Step.REASON: StepSpec(ask_reason, on_reason)})
