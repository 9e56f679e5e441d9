"""Arrival you can trust: at a site with coordinates the engineer shares where they are.

Opened by 📍 Arrived on the dispatch card when the ticket's site has coordinates (at
other sites the press records the arrival at once). A reply keyboard offers
📍 Share my location, which sends the phone's own position; a typed address, a
forwarded location or anything else is refused with the reason. "Arrive without
location" records the arrival as not verified. The system clock stamps the arrival;
the core checks the distance to the site (verified within its radius, or outside it
with the distance) and the card shows the result.

```mermaid
stateDiagram-v2
    [*] --> location: 📍 Arrived (site with coordinates)
    location --> location: typed address / forwarded location / sticker
    location --> [*]: location shared, or "Arrive without location" → core arrive → card refreshed
    location --> [*]: /cancel (nothing recorded)
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.cards import arrival_check_text
from bot.chat import Kind, RemoveKeyboard, ReplyKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import DONE, STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted
from bot.errors import error_text
from bot.i18n import N_
from core.conversations import DialogState
from core.errors import DomainError, InvalidInput

ARRIVAL_DIALOG: Final = "arrival"
ASK_LOCATION = N_(
    "📍 <b>Ticket #{ticket}</b>: to record your arrival, tap <b>📍 Share my location</b> "
    "below. Your position is checked against the site; a typed address does not count.\n"
    "No location at hand? Tap “Arrive without location”: the arrival is recorded as not "
    "verified. /cancel records nothing."
)
SHARE_LOCATION_BUTTON = N_("📍 Share my location")
WITHOUT_LOCATION_BUTTON = N_("Arrive without location")
ARRIVAL_RECORDED = N_("📍 Arrival at ticket #{ticket} recorded at {time}: {check}")


class Step(StrEnum):
    """The arrival's one step (the value is stored in the dialog state)."""

    LOCATION = "location"


class ArrivalDialog(CardDialog[Step]):
    """Ask for the engineer's location and record the arrival with its check."""

    name = ARRIVAL_DIALOG
    steps = Step
    first = Step.LOCATION

    @staticmethod
    def share_label(ctx: Ctx) -> str:
        """The reply-keyboard button that shares the phone's position."""
        return ctx._(SHARE_LOCATION_BUTTON)

    @staticmethod
    def without_label(ctx: Ctx) -> str:
        """The reply-keyboard button that records the arrival without a location."""
        return ctx._(WITHOUT_LOCATION_BUTTON)

    async def ask_location(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """The prompt, with the reply keyboard that shares the location."""
        text = ctx._(ASK_LOCATION, ticket=self.ticket_id(state))
        keyboard = ReplyKeyboard(
            rows=((self.without_label(ctx),),), request_location=self.share_label(ctx)
        )
        state.message_id = await ctx.say(noted(note, text), keyboard)

    async def on_location(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Record the arrival with the shared location, or without one when asked to."""
        incoming = ctx.incoming
        location: tuple[float, float] | None = None
        if incoming.kind is Kind.LOCATION and not incoming.forwarded:
            assert incoming.latitude is not None and incoming.longitude is not None
            location = (incoming.latitude, incoming.longitude)
        elif incoming.kind is Kind.LOCATION:
            await self.ask_location(
                ctx, state, ctx._("A forwarded location is not where you are; share your own.")
            )
            return STAY
        elif not (incoming.kind is Kind.TEXT and incoming.text.strip() == self.without_label(ctx)):
            await self.ask_location(
                ctx,
                state,
                ctx._("Please share your location with the button below, not as text or a photo."),
            )
            return STAY
        tickets = ctx.app.helpdesk.tickets
        ticket_id = self.ticket_id(state)
        try:
            ticket = await tickets.arrive(ticket_id, actor_id=ctx.person_id, location=location)
        except InvalidInput as error:
            await self.ask_location(ctx, state, error_text(ctx.t, error))
            return STAY
        except ENDING_ERRORS as error:
            return await self.end(ctx, state, error_text(ctx.t, error))
        assert ticket.arrived_at is not None  # just stamped by the core's clock
        text = ctx._(
            ARRIVAL_RECORDED,
            ticket=ticket_id,
            time=ctx.when(ticket.arrived_at),
            check=arrival_check_text(ctx.t, ticket.arrival_check, ticket.arrival_distance_m),
        )
        return await self.end(ctx, state, text)

    async def end(self, ctx: Ctx, state: DialogState, text: str) -> Outcome:
        """Say how it ended, take the reply keyboard away, refresh the card."""
        await ctx.say(text, RemoveKeyboard())
        await self.refresh_card(ctx, state)
        return DONE

    async def refused(self, ctx: Ctx, state: DialogState, error: DomainError) -> Outcome:
        """The core said no: explain without leaving the reply keyboard behind."""
        return await self.end(ctx, state, error_text(ctx.t, error))

    async def cancel(self, ctx: Ctx, state: DialogState) -> None:
        """Cancel: nothing is recorded; the reply keyboard goes away."""
        await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
        await ctx.say(ctx._("Cancelled. Nothing was changed."), RemoveKeyboard())

    table = step_table({Step.LOCATION: StepSpec(ask_location, on_location)})
