"""What the dialogs opened from a dispatch card share: the ticket, the card, the ending.

Decline, pause, restore and resolve each start from a card button (the card stays as
it was while the dialog runs), ask in their own message, call one core service and
then refresh the card in place. /cancel or ✖ Cancel at any step leaves everything
unchanged.
"""

from __future__ import annotations

from typing import Final

from bot.cards import show_card
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepT
from bot.errors import error_text
from core.conversations import DialogState
from core.errors import Conflict, DomainError, IllegalTransition, NotFound, PermissionDenied

YES: Final = "y"
NO: Final = "n"

# The core refused at the end: the ticket moved on, or the person may no longer act.
ENDING_ERRORS = (IllegalTransition, Conflict, PermissionDenied, NotFound)


class CardDialog(Dialog[StepT]):
    """A dialog about one ticket, opened from its card, that refreshes the card at the end."""

    @staticmethod
    def ticket_id(state: DialogState) -> int:
        """The ticket the dialog is about."""
        return int(state.data["ticket_id"])

    async def refresh_card(self, ctx: Ctx, state: DialogState) -> None:
        """Show the ticket's current state on the card the dialog was opened from."""
        message_id = state.data.get("card_message")
        if message_id is None:
            return
        await show_card(
            ctx,
            self.ticket_id(state),
            assumed_fp=str(state.data.get("fp") or ""),
            message_id=int(message_id),
        )

    async def finish(self, ctx: Ctx, state: DialogState, text: str) -> Outcome:
        """Say how it ended, refresh the card, close the dialog."""
        await self.show(ctx, state, text)
        await self.refresh_card(ctx, state)
        return DONE

    async def refused(self, ctx: Ctx, state: DialogState, error: DomainError) -> Outcome:
        """The core said no at the end: explain, show the card as it is, close the dialog."""
        return await self.finish(ctx, state, error_text(ctx.t, error))

    async def use_buttons(self, ctx: Ctx) -> Outcome:
        """Typed input where only buttons work."""
        await ctx.say(ctx._("Please choose with the buttons above, or send /cancel."))
        return STAY
