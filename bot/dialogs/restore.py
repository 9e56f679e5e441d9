"""Restoring service on a ticket (a workaround or a spare device); a spare loan is recorded.

Opened by 🩹 Restored on the dispatch card; the card is refreshed when it ends.

```mermaid
stateDiagram-v2
    [*] --> spare: 🩹 Restored
    spare --> spare: typed text (buttons only)
    spare --> [*]: No → core restore → card refreshed
    spare --> spare_desc: Yes
    spare_desc --> spare_desc: sticker / empty text / too long
    spare_desc --> [*]: description → core restore with a spare loan → card refreshed
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, NO, YES, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from core.conversations import DialogState

RESTORE_DIALOG: Final = "restore"
MAX_SPARE_DESCRIPTION: Final = 300


class Step(StrEnum):
    """The restore dialog's steps (the values are stored in the dialog state)."""

    SPARE = "spare"
    SPARE_DESC = "spare_desc"


class RestoreDialog(CardDialog[Step]):
    """Service is back (workaround or spare device); a spare loan is recorded."""

    name = RESTORE_DIALOG
    steps = Step
    first = Step.SPARE

    async def ask_spare(self, ctx: Ctx, state: DialogState) -> None:
        """Was a spare device lent?"""
        await self.show(
            ctx,
            state,
            ctx._(
                "🩹 Service restored on ticket #{ticket}. Did you lend a spare device?",
                ticket=self.ticket_id(state),
            ),
            InlineKeyboard.of(
                [
                    self.choice(ctx, state, ctx._("Yes, a spare"), YES),
                    self.choice(ctx, state, ctx._("No"), NO),
                ],
                [self.cancel_button(ctx, state)],
            ),
        )

    async def on_spare(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """No spare: restore now; a spare: ask what it is."""
        if value == YES:
            return Step.SPARE_DESC
        if value == NO:
            return await self._restore(ctx, state, spare="")
        return await self.use_buttons(ctx)

    async def ask_spare_desc(self, ctx: Ctx, state: DialogState) -> None:
        """Which spare device."""
        await self.show(
            ctx,
            state,
            ctx._("Which spare device? Type its kind and tag, e.g. “Laptop SP-07”."),
            InlineKeyboard.of([self.cancel_button(ctx, state)]),
        )

    async def on_spare_desc(
        self, ctx: Ctx, state: DialogState, value: str | None
    ) -> Step | Outcome:
        """Restore with the spare loan recorded."""
        text, problem = typed_text(
            ctx,
            MAX_SPARE_DESCRIPTION,
            missing=ctx._("Please type what the spare device is, e.g. “Laptop SP-07”."),
        )
        if text is None:
            await ctx.say(problem)
            return STAY
        return await self._restore(ctx, state, spare=text)

    async def _restore(self, ctx: Ctx, state: DialogState, *, spare: str) -> Outcome:
        tickets = ctx.app.helpdesk.tickets
        ticket_id = self.ticket_id(state)
        try:
            await tickets.restore(
                ticket_id, actor_id=ctx.person_id, spare_lent=bool(spare), spare_description=spare
            )
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        text = ctx._("🩹 Service restored on ticket #{ticket}.", ticket=ticket_id)
        card = await tickets.card(ticket_id)
        if spare and card.spare_due_back_at is not None:
            text += "\n" + ctx._(
                "Spare device lent: {spare}. The original is due back within {days} working days: by {due}.",
                spare=spare,
                days=ctx.app.helpdesk.core.policy.loan_return_working_days,
                due=ctx.when(card.spare_due_back_at),
            )
        return await self.finish(ctx, state, text)

    table = step_table(
        {
            Step.SPARE: StepSpec(ask_spare, on_spare, to={Step.SPARE_DESC}),
            Step.SPARE_DESC: StepSpec(ask_spare_desc, on_spare_desc),
        }
    )
