"""A manager's answer to a complaint (004 §1.3.6): the text, then accepted or not.

Opened by the "✍️ Answer…" button of a complaint message (see `bot.dialogs.complain`);
the answer goes to the reporter through the core, and the complaint message is shown
again with the answer.

```mermaid
stateDiagram-v2
    [*] --> answer: ✍️ Answer…
    answer --> answer: not text / too long
    answer --> accepted: answer typed
    accepted --> accepted: typed instead of pressed
    accepted --> [*]: Accepted / Not accepted (answer sent to the reporter)
    answer --> [*]: ✖ Cancel or /cancel
    accepted --> [*]: ✖ Cancel or /cancel
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.complain import manager_text
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.errors import error_text
from core.complaints import MAX_ANSWER
from core.conversations import DialogState
from core.errors import Conflict, DomainError

ANSWER_DIALOG = "cpanswer"


class Step(StrEnum):
    """The answer's steps (the values are stored in the dialog state)."""

    ANSWER = "answer"
    ACCEPTED = "accepted"


class ComplaintAnswerDialog(Dialog[Step]):
    """A manager's answer to a complaint: the text, then accepted or not."""

    name = ANSWER_DIALOG
    steps = Step
    first = Step.ANSWER

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open for one complaint; refuse one already answered."""
        view = await ctx.app.helpdesk.complaints.get(int(data["complaint_id"]))
        if view.answered:
            raise Conflict("complaint.already_answered", complaint_id=view.id)
        state = DialogState(
            self.name, self.first, {"complaint_id": view.id, "origin": data.get("origin")}
        )
        await self.begin(ctx, state)

    async def ask_answer(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask for the answer text."""
        text = ctx._(
            "✍️ <b>Your answer to complaint #{id}</b> (up to {limit} characters). "
            "The reporter will read it.",
            id=state.data["complaint_id"],
            limit=MAX_ANSWER,
        )
        await self.show(
            ctx, state, noted(note, text), InlineKeyboard.of([self.cancel_button(ctx, state)])
        )

    async def on_answer(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the answer."""
        answer, problem = typed_text(ctx, MAX_ANSWER)
        if answer is None:
            await self.ask_answer(ctx, state, problem)
            return STAY
        state.data["answer"] = answer
        return Step.ACCEPTED

    async def ask_accepted(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask whether the complaint is justified."""
        text = ctx._(
            "Is complaint #{id} <b>justified</b>? An accepted complaint costs 20 points "
            "in the quarterly score.",
            id=state.data["complaint_id"],
        )
        await self.show(
            ctx,
            state,
            noted(note, text),
            InlineKeyboard.of(
                [
                    self.choice(ctx, state, ctx._("Accepted"), 1),
                    self.choice(ctx, state, ctx._("Not accepted"), 0),
                ],
                [self.cancel_button(ctx, state)],
            ),
        )

    async def on_accepted(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Send the answer through the core; settle the complaint message."""
        if value not in ("0", "1"):
            await self.ask_accepted(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        complaints = ctx.app.helpdesk.complaints
        complaint_id = int(state.data["complaint_id"])
        try:
            view = await complaints.answer(
                complaint_id,
                actor_id=ctx.person_id,
                answer=state.data["answer"],
                accepted=value == "1",
            )
        except DomainError as error:
            # Answered meanwhile by another manager: show how it stands and end here.
            view = await complaints.get(complaint_id)
            await self.show(ctx, state, error_text(ctx.t, error) + "\n\n" + manager_text(ctx, view))
            return DONE
        origin = state.data.get("origin")
        if origin:
            await ctx.edit(manager_text(ctx, view), message_id=int(origin))
        await self.show(
            ctx, state, ctx._("✅ Your answer was sent to {reporter}.", reporter=view.reporter_name)
        )
        return DONE

    table = step_table(
        {
            Step.ANSWER: StepSpec(ask_answer, on_answer, to={Step.ACCEPTED}),
            Step.ACCEPTED: StepSpec(ask_accepted, on_accepted),
        }
    )
