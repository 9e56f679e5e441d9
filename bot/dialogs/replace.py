"""Engineer replacement (000 §4, 002): a manager's request, and recording the replacement.

`/replace` (managers and admins) files a request: which engineer, why, confirm. The
contractor then has ten working days; a request not met by then costs 20 points.

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

Recording the replacement (opened by "✅ Replaced…" in `/replacements`): who takes the
engineer's open work, then confirm; the work is handed over and the engineer leaves.

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

import html
from datetime import datetime
from typing import Any, Protocol

from bot.chat import InlineKeyboard, Kind
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog
from bot.errors import error_text
from core.conversations import DialogState
from core.errors import DomainError
from core.replacements import MAX_REASON, ReplacementView

REPLACE_DIALOG = "replace"
REPLACED_DIALOG = "replaced"
FILE = "file"
RECORD = "record"
LEAST_LOADED = 0


def _noted(note: str, text: str) -> str:
    """A prompt with what was wrong above it."""
    return f"⚠️ {note}\n\n{text}" if note else text


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


class ReplaceDialog(Dialog):
    """A manager asks for an engineer to be replaced: who, why, file."""

    name = REPLACE_DIALOG
    first_step = "engineer"

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
        await self.show(ctx, state, _noted(note, text), InlineKeyboard.of(*rows))

    async def on_engineer(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
        """Keep the engineer pressed."""
        engineers = await self._engineers(ctx)
        chosen = int(value) if value is not None and value.isdigit() else None
        if chosen is None or chosen not in engineers:
            await self.ask_engineer(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["engineer_id"] = chosen
        state.data["engineer"] = engineers[chosen]
        return "reason"

    async def ask_reason(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask why."""
        text = ctx._(
            "✏️ <b>Why should {engineer} be replaced?</b> (up to {limit} characters)",
            engineer=state.data["engineer"],
            limit=MAX_REASON,
        )
        await self.show(ctx, state, _noted(note, text), InlineKeyboard.of(self.nav_row(ctx, state)))

    async def on_reason(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
        """Keep the typed reason."""
        text = ctx.incoming.text.strip() if ctx.incoming.kind is Kind.TEXT else ""
        if value is not None or not text:
            await self.ask_reason(ctx, state, ctx._("Please type the reason as text."))
            return STAY
        if len(text) > MAX_REASON:
            await self.ask_reason(
                ctx,
                state,
                ctx._("That is too long: at most {limit} characters, please.", limit=MAX_REASON),
            )
            return STAY
        state.data["reason"] = text
        return "confirm"

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
            _noted(note, self._summary(ctx, state)),
            InlineKeyboard.of([file], self.nav_row(ctx, state)),
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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


class ReplacedDialog(Dialog):
    """Record a replacement: who takes the open work, then confirm."""

    name = REPLACED_DIALOG
    first_step = "successor"

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
        state = DialogState(self.name, self.first_step, {"request_id": view.id})
        await self.enter(ctx, state, self.first_step)

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
        await self.show(ctx, state, _noted(note, text), InlineKeyboard.of(*rows))

    async def on_successor(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
        """Keep the successor (0: the least loaded, chosen per ticket)."""
        candidates = await self._candidates(ctx, state)
        chosen = int(value) if value is not None and value.isdigit() else None
        if chosen is None or (chosen != LEAST_LOADED and chosen not in candidates):
            await self.ask_successor(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["successor_id"] = chosen or None
        state.data["successor"] = candidates.get(chosen or -1)
        return "confirm"

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
            ctx, state, _noted(note, text), InlineKeyboard.of([record], self.nav_row(ctx, state))
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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
