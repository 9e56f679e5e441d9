"""Recording an engineer's replacement (000 §4, 002): who takes the open work, confirm.

Opened by "✅ Replaced…" under a request in `/replacements` (`bot.handlers.replacements`);
the core hands the engineer's open tickets, inspection plans and rounds over, then
deactivates the engineer, in one transaction. Filing the request is `bot.dialogs.replace`.

```mermaid
stateDiagram-v2
    [*] --> successor: ✅ Replaced…
    successor --> successor: typed instead of pressed
    successor --> confirm: a successor, or the least-loaded engineers
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: ✅ Record it (handed over, engineer deactivated)
    confirm --> [*]: ✖ Cancel or /cancel (at any step)
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted
from bot.dialogs.replace import request_text
from bot.errors import error_text
from core.conversations import DialogState
from core.errors import DomainError

REPLACED_DIALOG = "replaced"
RECORD = "record"
LEAST_LOADED = 0


class Step(StrEnum):
    """The steps of recording a replacement (the values are stored in the dialog state)."""

    SUCCESSOR = "successor"
    CONFIRM = "confirm"


class ReplacedDialog(Dialog[Step]):
    """Record a replacement: who takes the open work, then confirm."""

    name = REPLACED_DIALOG
    steps = Step
    first = Step.SUCCESSOR

    async def _candidates(self, ctx: Ctx, state: DialogState) -> dict[int, str]:
        view = await ctx.app.helpdesk.replacements.get(int(state.data["request_id"]))
        people = await ctx.app.helpdesk.replacements.engineers(view.site_id)
        return {p.id: p.name for p in people if p.id != view.engineer_id}

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open for an open request only."""
        view = await ctx.app.helpdesk.replacements.get(int(data["request_id"]))
        if view.status != "open":
            await ctx.say(request_text(ctx, view))
            return
        await self.begin(ctx, DialogState(self.name, self.first, {"request_id": view.id}))

    async def ask_successor(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """The site's other engineers, and 'the least-loaded engineers'."""
        request_id = int(state.data["request_id"])
        view = await ctx.app.helpdesk.replacements.get(request_id)
        load = await ctx.app.helpdesk.replacements.workload(view.engineer_id)
        rows = [
            [self.choice(ctx, state, name, person_id)]
            for person_id, name in (await self._candidates(ctx, state)).items()
        ]
        rows.append([self.choice(ctx, state, ctx._("⚖️ The least-loaded engineers"), LEAST_LOADED)])
        rows.append([self.cancel_button(ctx, state)])
        text = "\n".join(
            [
                request_text(ctx, view),
                ctx._(
                    "{engineer} has {tickets} open ticket(s) and {plans} inspection plan(s) and round(s).",
                    engineer=view.engineer,
                    tickets=load.tickets,
                    plans=load.plans + load.rounds,
                ),
                ctx._(
                    "<b>Who takes them over?</b> The new engineer, or each to the least-loaded engineer of its site."
                ),
            ]
        )
        await self.show(ctx, state, noted(note, text), InlineKeyboard.of(*rows))

    async def on_successor(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the successor (0: the least loaded, chosen per ticket)."""
        candidates = await self._candidates(ctx, state)
        chosen = int(value) if value is not None and value.isdigit() else None
        if chosen is None or (chosen != LEAST_LOADED and chosen not in candidates):
            await self.ask_successor(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["successor_id"] = chosen or None
        state.data["successor"] = candidates.get(chosen or -1)
        return Step.CONFIRM

    async def ask_confirm(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """What will happen, with Record and Cancel."""
        view = await ctx.app.helpdesk.replacements.get(int(state.data["request_id"]))
        taker = state.data.get("successor") or ctx._("the least-loaded engineers of the site")
        text = "\n".join(
            [
                request_text(ctx, view),
                ctx._(
                    "{engineer}'s open work goes to {taker}; {engineer} can no longer use the bot.",
                    engineer=view.engineer,
                    taker=taker,
                ),
            ]
        )
        record = self.choice(ctx, state, ctx._("✅ Record it"), RECORD)
        await self.show(
            ctx, state, noted(note, text), InlineKeyboard.of([record], self.nav_row(ctx, state))
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Hand over and deactivate, in one core call."""
        if value != RECORD:
            await self.ask_confirm(ctx, state, ctx._("Please press Record it, or Cancel."))
            return STAY
        successor = state.data.get("successor_id")
        try:
            view = await ctx.app.helpdesk.replacements.complete(
                int(state.data["request_id"]),
                actor_id=ctx.person_id,
                successor_id=int(successor) if successor else None,
            )
        except DomainError as error:
            await self.show(ctx, state, error_text(ctx.t, error))
            return DONE
        await self.show(
            ctx,
            state,
            "\n".join(
                [
                    request_text(ctx, view),
                    ctx._(
                        "✅ Handed over: {tickets} ticket(s), {plans} inspection plan(s) and round(s).",
                        tickets=view.tickets_handed_over,
                        plans=view.plans_handed_over,
                    ),
                ]
            ),
        )
        return DONE

    table = step_table(
        {
            Step.SUCCESSOR: StepSpec(ask_successor, on_successor, to={Step.CONFIRM}),
            Step.CONFIRM: StepSpec(ask_confirm, on_confirm),
        }
    )
