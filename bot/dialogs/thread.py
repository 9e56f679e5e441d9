"""Writing in a ticket's thread: the reporter, the engineer and the dispatcher talk through the bot.

Opened by 💬 Message (the dispatch card, a ticket shown with /ticket) or ↩️ Reply (a
relayed message). Text or a photo (with its caption) goes to the ticket's other parties,
who see the author's name and role, never their Telegram account; it is stored on the
ticket and in the audit log. The photos of an album all go: the dialog stays open for
them until Done. A reply to a message about a ticket does the same without the dialog
(`bot.handlers.thread`).

```mermaid
stateDiagram-v2
    [*] --> message: 💬 Message / ↩️ Reply
    message --> message: sticker / empty / too long / photo of an album
    message --> [*]: text or photo → core post_note → relayed to the others
    message --> [*]: Done (after an album)
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from bot.chat import InlineKeyboard, Kind
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import DONE, STAY, Outcome, StepSpec, step_table
from bot.errors import error_text
from bot.i18n import N_
from core.conversations import DialogState
from core.errors import InvalidInput
from core.tickets import MAX_THREAD_TEXT

THREAD_DIALOG: Final = "thread"
DONE_VALUE: Final = "done"
ASK_MESSAGE = N_(
    "💬 <b>Ticket #{ticket}</b>: type your message or send a photo. "
    "The bot passes it on with your name; your Telegram account stays private."
)
SENT = N_("✅ Sent to the others on ticket #{ticket}. Their answers come here.")


class Step(StrEnum):
    """The thread dialog's one step (the value is stored in the dialog state)."""

    MESSAGE = "message"


async def post_from_update(ctx: Ctx, ticket_id: int) -> None:
    """Post the update's text or photo in the ticket's thread (once, however often it comes)."""
    incoming = ctx.incoming
    photo = incoming.photo_file_id if incoming.kind is Kind.PHOTO else None
    await ctx.app.helpdesk.tickets.post_note(
        ticket_id,
        actor_id=ctx.person_id,
        text=incoming.text,
        photo_file_id=photo,
        request_key=f"update:{incoming.update_id}",
    )


def sent_text(ctx: Ctx, ticket_id: int) -> str:
    """What the writer is told once the message is on its way."""
    return ctx._(SENT, ticket=ticket_id)


class ThreadDialog(CardDialog[Step]):
    """Write one message (or one album) in a ticket's thread."""

    name = THREAD_DIALOG
    steps = Step
    first = Step.MESSAGE

    async def ask_message(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask for the text or a photo."""
        text = ctx._(ASK_MESSAGE, ticket=self.ticket_id(state))
        if note:
            text = f"⚠️ {note}\n\n{text}"
        await self.show(ctx, state, text, InlineKeyboard.of([self.cancel_button(ctx, state)]))

    async def on_message(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Relay the text or photo; the photos of an album keep the dialog open until Done."""
        ticket_id = self.ticket_id(state)
        if value == DONE_VALUE:
            await self.show(ctx, state, sent_text(ctx, ticket_id))
            return DONE
        incoming = ctx.incoming
        if value is not None or incoming.kind not in (Kind.TEXT, Kind.PHOTO):
            await self.ask_message(ctx, state, ctx._("Please type a message or send a photo."))
            return STAY
        if incoming.kind is Kind.TEXT and len(incoming.text) > MAX_THREAD_TEXT:
            problem = error_text(ctx.t, InvalidInput("text.too_long", limit=MAX_THREAD_TEXT))
            await self.ask_message(ctx, state, problem)
            return STAY
        try:
            await post_from_update(ctx, ticket_id)
        except InvalidInput as error:
            await self.ask_message(ctx, state, error_text(ctx.t, error))
            return STAY
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        album = incoming.media_group_id
        if album is None:
            await ctx.say(sent_text(ctx, ticket_id))
            return DONE
        if state.data.get("album") != album:
            state.data["album"] = album
            done = self.choice(ctx, state, ctx._("✅ Done"), DONE_VALUE)
            state.message_id = await ctx.say(
                ctx._(
                    "📷 Photos of the album are passed on as they come. Press Done when finished."
                ),
                InlineKeyboard.of([done]),
            )
        return STAY

    table = step_table({Step.MESSAGE: StepSpec(ask_message, on_message)})
