"""A manager asks for an engineer to be replaced (000 §4; 002: ten working days).

`/replace` (managers and admins, `bot.handlers.replacements`): which engineer, why,
confirm. The contractor then has ten working days; a request not met by then costs 20
points. Recording the replacement is `bot.dialogs.replaced`.

```mermaid
stateDiagram-v2
    [*] --> engineer: /replace
    engineer --> engineer: typed instead of pressed
    engineer --> reason: an engineer
    reason --> reason: not text / too long
    reason --> confirm: reason typed
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: 📨 File the request (request recorded, deadline set)
    confirm --> [*]: ✖ Cancel or /cancel (at any step)
```
"""

from __future__ import annotations

import html
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.errors import error_text
from core.conversations import DialogState
from core.errors import DomainError
from core.replacements import MAX_REASON, ReplacementView

REPLACE_DIALOG = "replace"
FILE = "file"


class Step(StrEnum):
    """The request's steps (the values are stored in the dialog state)."""

    ENGINEER = "engineer"
    REASON = "reason"
    CONFIRM = "confirm"


class Says(Protocol):
    """Words and moments in the reader's language and zone (a Ctx, or the command line's)."""

    def _(self, message: str, /, **params: Any) -> str:
        """Translate."""
        ...

    def when(self, moment: datetime | None) -> str:
        """A moment in the reader's zone and locale."""
        ...


def request_text(ctx: Says, view: ReplacementView) -> str:
    """A request as managers see it: engineer, reason, deadline, state."""
    if view.status == "done":
        state = ctx._(
            "replaced on {moment} ({verdict})",
            moment=ctx.when(view.done_at),
            verdict=ctx._("in time") if view.met else ctx._("late: −20 points"),
        )
    elif view.status == "withdrawn":
        state = ctx._("withdrawn on {moment}", moment=ctx.when(view.withdrawn_at))
    elif view.missed_at is not None:
        state = ctx._("open, deadline missed: −20 points")
    else:
        state = ctx._("open")
    return "\n".join(
        [
            ctx._(
                "🔄 <b>#{id}</b> {engineer}{site}",
                id=view.id,
                engineer=view.engineer,
                site=f" · {view.site}" if view.site else "",
            ),
            ctx._("Reason: {reason}", reason=view.reason[:300]),
            ctx._("Due by {moment} · {state}", moment=ctx.when(view.due_at), state=state),
        ]
    )


class ReplaceDialog(Dialog[Step]):
    """A manager asks for an engineer to be replaced: who, why, file."""

    name = REPLACE_DIALOG
    steps = Step
    first = Step.ENGINEER

    async def _engineers(self, ctx: Ctx) -> dict[int, str]:
        assert ctx.profile is not None
        people = await ctx.app.helpdesk.replacements.engineers(ctx.profile.site_id)
        return {person.id: person.name for person in people}

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open only when there is an engineer to name."""
        if not await self._engineers(ctx):
            await ctx.say(ctx._("There is no active engineer at your site."))
            return
        await super().start(ctx, **data)

    async def ask_engineer(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """One button per active engineer of the manager's site."""
        rows = [
            [self.choice(ctx, state, name, person_id)]
            for person_id, name in (await self._engineers(ctx)).items()
        ]
        rows.append([self.cancel_button(ctx, state)])
        text = ctx._(
            "🔄 <b>Which engineer should be replaced?</b> The contractor has {days} working days (002).",
            days=ctx.app.helpdesk.core.policy.replacement_working_days,
        )
        await self.show(ctx, state, noted(note, text), InlineKeyboard.of(*rows))

    async def on_engineer(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the engineer pressed."""
        engineers = await self._engineers(ctx)
        chosen = int(value) if value is not None and value.isdigit() else None
        if chosen is None or chosen not in engineers:
            await self.ask_engineer(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["engineer_id"] = chosen
        state.data["engineer"] = engineers[chosen]
        return Step.REASON

    async def ask_reason(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask why."""
        text = ctx._(
            "✏️ <b>Why should {engineer} be replaced?</b> (up to {limit} characters)",
            engineer=state.data["engineer"],
            limit=MAX_REASON,
        )
        await self.show(ctx, state, noted(note, text), InlineKeyboard.of(self.nav_row(ctx, state)))

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the typed reason."""
        text, problem = typed_text(
            ctx, MAX_REASON, missing=ctx._("Please type the reason as text.")
        )
        if text is None:
            await self.ask_reason(ctx, state, problem)
            return STAY
        state.data["reason"] = text
        return Step.CONFIRM

    def _summary(self, ctx: Ctx, state: DialogState) -> str:
        return "\n".join(
            [
                ctx._("🔄 <b>Replace {engineer}</b>", engineer=state.data["engineer"]),
                ctx._("Reason: {reason}", reason=html.escape(state.data["reason"][:1000])),
            ]
        )

    async def ask_confirm(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Show the request with File and Cancel."""
        file = self.choice(ctx, state, ctx._("📨 File the request"), FILE)
        await self.show(
            ctx,
            state,
            noted(note, self._summary(ctx, state)),
            InlineKeyboard.of([file], self.nav_row(ctx, state)),
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """File it; the deadline comes back from the core."""
        if value != FILE:
            await self.ask_confirm(ctx, state, ctx._("Please press File the request, or Cancel."))
            return STAY
        try:
            view = await ctx.app.helpdesk.replacements.request(
                engineer_id=int(state.data["engineer_id"]),
                reason=str(state.data["reason"]),
                actor_id=ctx.person_id,
                request_key=f"press:{ctx.incoming.callback_id or ctx.incoming.update_id}",
            )
        except DomainError as error:
            await self.show(ctx, state, error_text(ctx.t, error))
            return DONE
        await self.show(
            ctx,
            state,
            "\n".join(
                [
                    ctx._("✅ Replacement request #{id} filed.", id=view.id),
                    request_text(ctx, view),
                    ctx._("Record the replacement with /replacements once it is made."),
                ]
            ),
        )
        return DONE

    table = step_table(
        {
            Step.ENGINEER: StepSpec(ask_engineer, on_engineer, to={Step.REASON}),
            Step.REASON: StepSpec(ask_reason, on_reason, to={Step.CONFIRM}),
            Step.CONFIRM: StepSpec(ask_confirm, on_confirm),
        }
    )
