"""Short dialogs an engineer opens from the dispatch card: decline, pause, restore.

Each starts from a card button (the card stays as it was while the dialog runs), asks
one or two things in its own message, calls one core service and then refreshes the
card in place. /cancel or ✖ Cancel at any step leaves everything unchanged.

Decline:

```mermaid
stateDiagram-v2
    [*] --> reason: ↩️ Decline
    reason --> reason: sticker / empty text
    reason --> [*]: quick reason or typed text → core decline → card refreshed
```

Pause:

```mermaid
stateDiagram-v2
    [*] --> reason: ⏸ Pause
    reason --> reason: typed text (buttons only)
    reason --> note: reporter / parts / vendor
    note --> note: sticker
    note --> [*]: note text or "No note" → core pause → card refreshed
```

Restore:

```mermaid
stateDiagram-v2
    [*] --> spare: 🩹 Restored
    spare --> spare: typed text (buttons only)
    spare --> [*]: No → core restore → card refreshed
    spare --> spare_desc: Yes
    spare_desc --> spare_desc: sticker / empty text
    spare_desc --> [*]: description → core restore with a spare loan → card refreshed
```
"""

from __future__ import annotations

from typing import ClassVar, Final

from bot.cards import DECLINE_REASON, show_card
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog
from bot.dialogs.inputs import typed_text
from bot.errors import error_text
from bot.labels import PAUSE_REASON
from core.conversations import DialogState
from core.errors import Conflict, DomainError, IllegalTransition, NotFound, PermissionDenied
from core.sla.policy import PauseReason
from core.tickets import MAX_NOTE

DECLINE_DIALOG: Final = "decline"
PAUSE_DIALOG: Final = "pause"
RESTORE_DIALOG: Final = "restore"

YES: Final = "y"
NO: Final = "n"
NO_NOTE: Final = "none"
MAX_SPARE_DESCRIPTION: Final = 300

# The core refused at the end: the ticket moved on, or the person may no longer act.
ENDING_ERRORS = (IllegalTransition, Conflict, PermissionDenied, NotFound)


class CardDialog(Dialog):
    """A dialog about one ticket, opened from its card, that refreshes the card at the end."""

    name: ClassVar[str]
    first_step: ClassVar[str]

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

    async def finish(self, ctx: Ctx, state: DialogState, text: str) -> str:
        """Say how it ended, refresh the card, close the dialog."""
        await self.show(ctx, state, text)
        await self.refresh_card(ctx, state)
        return DONE

    async def refused(self, ctx: Ctx, state: DialogState, error: DomainError) -> str:
        """The core said no at the end: explain, show the card as it is, close the dialog."""
        return await self.finish(ctx, state, error_text(ctx.t, error))

    async def use_buttons(self, ctx: Ctx) -> str:
        """Typed input where only buttons work."""
        await ctx.say(ctx._("Please choose with the buttons above, or send /cancel."))
        return STAY


class DeclineDialog(CardDialog):
    """Decline a dispatch with a reason; it goes back to the dispatcher."""

    name = DECLINE_DIALOG
    first_step = "reason"

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

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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


class PauseDialog(CardDialog):
    """Pause a ticket while waiting for the reporter, parts or a vendor."""

    name = PAUSE_DIALOG
    first_step = "reason"

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

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
        """Remember the reason, then ask for a note."""
        if value is None or value not in PAUSE_REASON:
            return await self.use_buttons(ctx)
        state.data["reason"] = value
        return "note"

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

    async def on_note(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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


class RestoreDialog(CardDialog):
    """Service is back (workaround or spare device); a spare loan is recorded."""

    name = RESTORE_DIALOG
    first_step = "spare"

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

    async def on_spare(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
        """No spare: restore now; a spare: ask what it is."""
        if value == YES:
            return "spare_desc"
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

    async def on_spare_desc(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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

    async def _restore(self, ctx: Ctx, state: DialogState, *, spare: str) -> str:
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
