"""Rating a fix: the 1-5 score (000 §4), the optional follow-up (001 回访) and a comment.

The score buttons sit on the resolved-ticket message (handled in bot.handlers.staff) and
record the score at once, because the KPI and a second visit depend on it. Whoever wants
to add a comment presses "Comment first", which opens this dialog: the comment is typed,
then the score is chosen, and both are recorded in one core call (`TicketService.rate`
takes them together). After the score, four optional follow-up questions are offered as
buttons with "Skip"; they are stored with `TicketService.set_follow_up`.

```mermaid
stateDiagram-v2
    [*] --> comment: 💬 Comment first (on the score message)
    comment --> comment: not text, or too long
    comment --> score: comment typed
    score --> score: typed instead of pressed
    score --> [*]: score pressed (rating recorded, follow-up offered)
    comment --> [*]: ✖ Cancel or /cancel
    score --> [*]: ✖ Cancel or /cancel
```
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.callback_ids import COMMENT_ACTION, FOLLOW_UP_ACTION, SCORE_ACTION
from bot.chat import Button, InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from bot.errors import error_text
from bot.i18n import N_, Translator
from bot.labels import SATISFACTION, STATUS, label
from core.conversations import DialogState
from core.enums import FOLLOW_UP_DIMENSIONS, FOLLOW_UP_LABELS, TicketStatus
from core.errors import DomainError
from core.tickets import MAX_NOTE

RATE_DIALOG = "rate"
SKIP = 0

SKIP_BUTTON = N_("Skip")
RATED = N_("⭐ <b>Ticket #{ticket}</b>: you rated the service <b>{score}</b>.")

FOLLOW_UP_QUESTION = {
    "quality": N_("How was the <b>quality</b> of the repair?"),
    "standard": N_("Did the engineer work <b>to standard</b>?"),
    "progress": N_("How was the <b>speed</b> of the work?"),
    "attitude": N_("How was the engineer's <b>attitude</b>?"),
}
FOLLOW_UP_ANSWER = {
    "very_satisfied": N_("Very satisfied"),
    "satisfied": N_("Satisfied"),
    "average": N_("Average"),
    "dissatisfied": N_("Dissatisfied"),
}


class Speaker(Protocol):
    """What both a handler's Ctx and a renderer's RenderCtx offer."""

    t: Translator

    def _(self, message: str, /, **params: Any) -> str:
        """Translate."""
        ...

    def button(self, text: str, action: str, *args: object) -> Button:
        """A signed callback button."""
        ...

    def when(self, moment: datetime) -> str:
        """A moment in the reader's zone and locale."""
        ...


def score_label(t: Translator, score: int) -> str:
    """'5 · Very satisfied' in the reader's language."""
    return f"{score} · {label(t, SATISFACTION, score)}"


def score_keyboard(
    s: Speaker, ticket_id: int, cycle: int, *, comment: bool = True
) -> InlineKeyboard:
    """The five scores, best first, and optionally the 'Comment first' button."""
    rows = [
        [s.button(score_label(s.t, n), SCORE_ACTION, ticket_id, cycle, n)] for n in range(5, 0, -1)
    ]
    if comment:
        rows.append([s.button(s._("💬 Comment first"), COMMENT_ACTION, ticket_id, cycle)])
    return InlineKeyboard.of(*rows)


def ask_score_text(s: Speaker, ticket_id: int) -> str:
    """The question above the score buttons."""
    return s._(
        "⭐ <b>Ticket #{ticket}</b>: how satisfied are you with the service?", ticket=ticket_id
    )


def rated_text(s: Speaker, ticket_id: int, score: int) -> str:
    """What the reporter sees once the score is recorded."""
    text = s._(RATED, ticket=ticket_id, score=score_label(s.t, score))
    if score <= 2:
        text += "\n" + s._(
            "We are sorry. A second visit is being arranged and the manager has been told."
        )
    return text


def status_line(s: Speaker, status: TicketStatus) -> str:
    """One line on where the ticket is after the rating."""
    if status is TicketStatus.CLOSED:
        return s._("The ticket is closed. Thank you!")
    return s._("The ticket is now: {status}.", status=label(s.t, STATUS, status))


def follow_up_question(s: Speaker, index: int) -> str:
    """The optional follow-up question number `index`."""
    return (
        s._("Optional ({n}/{total}):", n=index + 1, total=len(FOLLOW_UP_DIMENSIONS))
        + " "
        + s._(FOLLOW_UP_QUESTION[FOLLOW_UP_DIMENSIONS[index]])
    )


def follow_up_keyboard(s: Speaker, ticket_id: int, score: int, index: int) -> InlineKeyboard:
    """The four-point answers of one follow-up question, and Skip."""
    answers = [
        s.button(s._(FOLLOW_UP_ANSWER[code]), FOLLOW_UP_ACTION, ticket_id, score, index, value)
        for value, code in sorted(FOLLOW_UP_LABELS.items(), reverse=True)
    ]
    return InlineKeyboard.of(
        answers[:2],
        answers[2:],
        [s.button(s._(SKIP_BUTTON), FOLLOW_UP_ACTION, ticket_id, score, index, SKIP)],
    )


class Step(StrEnum):
    """The comment dialog's steps (the values are stored in the dialog state)."""

    COMMENT = "comment"
    SCORE = "score"


class RateDialog(Dialog[Step]):
    """A comment, then the score; both recorded together."""

    name = RATE_DIALOG
    steps = Step
    first = Step.COMMENT

    async def ask_comment(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask for the comment."""
        text = ctx._(
            "💬 <b>Ticket #{ticket}</b>: type your comment (up to {limit} characters). "
            "Then you choose the score.",
            ticket=state.data["ticket_id"],
            limit=MAX_NOTE,
        )
        await self.show(
            ctx, state, _noted(note, text), InlineKeyboard.of([self.cancel_button(ctx, state)])
        )

    async def on_comment(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the typed comment."""
        text, problem = typed_text(
            ctx, MAX_NOTE, missing=ctx._("Please type your comment as text.")
        )
        if text is None:
            await self.ask_comment(ctx, state, problem)
            return STAY
        state.data["comment"] = text
        return Step.SCORE

    async def ask_score(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Offer the five scores."""
        ticket_id = int(state.data["ticket_id"])
        rows = [[self.choice(ctx, state, score_label(ctx.t, n), n)] for n in range(5, 0, -1)]
        rows.append([self.cancel_button(ctx, state)])
        text = ctx._("Thank you, your comment is noted.") + "\n" + ask_score_text(ctx, ticket_id)
        await self.show(ctx, state, _noted(note, text), InlineKeyboard.of(*rows))

    async def on_score(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Record score and comment in one call, then offer the follow-up."""
        if value is None or not value.isdigit():
            await self.ask_score(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        ticket_id, score = int(state.data["ticket_id"]), int(value)
        tickets = ctx.app.helpdesk.tickets
        try:
            await tickets.rate(
                ticket_id, actor_id=ctx.person_id, score=score, comment=state.data["comment"]
            )
        except DomainError as error:
            # Rated meanwhile from the other message, or the ticket moved on: say so, end here.
            card = await tickets.card(ticket_id)
            await self.show(
                ctx,
                state,
                error_text(ctx.t, error) + "\n" + status_line(ctx, card.status),
            )
            return DONE
        card = await tickets.card(ticket_id)
        done = rated_text(ctx, ticket_id, score) + "\n" + status_line(ctx, card.status)
        origin = state.data.get("origin")
        if origin:
            # The score message this dialog came from must not keep live buttons.
            await ctx.edit(done, message_id=int(origin))
        await self.show(
            ctx,
            state,
            done + "\n\n" + follow_up_question(ctx, 0),
            follow_up_keyboard(ctx, ticket_id, score, 0),
        )
        return DONE

    table = step_table(
        {
            Step.COMMENT: StepSpec(ask_comment, on_comment, to={Step.SCORE}),
            Step.SCORE: StepSpec(ask_score, on_score),
        }
    )


def _noted(note: str, text: str) -> str:
    """A prompt with what was wrong above it."""
    return f"{note}\n\n{text}" if note else text
