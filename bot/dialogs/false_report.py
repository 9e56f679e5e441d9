"""The false-report dialog (虚报, 000 §4): a manager confirms before it is recorded for good.

Opened by `/falsereport <ticket> <part|late|other> [note]` (bot.handlers.reports) for an
existing ticket. The record costs 10% of the quarter's payment, stays in the audit log
and cannot be undone, so it waits for an explicit ✅ Record it.

```mermaid
stateDiagram-v2
    [*] --> confirm: /falsereport 123 part [note]
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: ✅ Record (false report recorded, audit event)
    confirm --> [*]: ✖ Cancel or /cancel
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.i18n import N_
from bot.rendering.wording import quarter_title
from core.conversations import DialogState
from core.errors import NotFound
from core.reports.false_reports import record_false_report
from core.reports.scorecard import FALSE_REPORTS_TO_END

FALSE_REPORT_DIALOG: Final = "falsereport"
RECORD: Final = "record"
FALSE_REPORT_KIND: Final = {
    "part_not_replaced": N_("a part reported replaced but not replaced"),
    "late_reported_on_time": N_("a repair reported on time but late"),
    "other": N_("another false record"),
}


class Step(StrEnum):
    """The dialog's one step (the value is stored in the dialog state)."""

    CONFIRM = "confirm"


class FalseReportDialog(Dialog[Step]):
    """Confirm a false report before it is recorded for good (it cannot be undone)."""

    name = FALSE_REPORT_DIALOG
    steps = Step
    first = Step.CONFIRM

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open only for an existing ticket."""
        try:
            await ctx.app.helpdesk.tickets.card(int(data["ticket_id"]))
        except NotFound:
            await ctx.say(ctx._("There is no ticket #{id}.", id=str(data["ticket_id"])[:24]))
            return
        await super().start(ctx, **data)

    async def _summary(self, ctx: Ctx, state: DialogState) -> str:
        card = await ctx.app.helpdesk.tickets.card(int(state.data["ticket_id"]))
        kind_label = FALSE_REPORT_KIND[state.data["kind"]]  # a msgid kept out of the call
        lines = [
            ctx._(
                "⚠️ <b>False report</b> on ticket #{id}: {kind}",
                id=card.id,
                kind=ctx._(kind_label),
            ),
            ctx._(
                "📝 {symptom} · 📍 {site} · reported {moment}",
                symptom=card.symptom[:200],
                site=card.site_name,
                moment=ctx.when(card.reported_at),
            ),
        ]
        if state.data.get("note"):
            lines.append(ctx._("Note: {note}", note=str(state.data["note"])[:500]))
        return "\n".join(lines)

    async def ask_confirm(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Show what will be recorded and what it costs, with Record and Cancel."""
        text = "\n".join(
            [
                *([f"⚠️ {note}"] if note else []),
                await self._summary(ctx, state),
                ctx._(
                    "It costs 10% of this quarter's payment and stays in the audit log; it cannot be undone."
                ),
            ]
        )
        record = self.choice(ctx, state, ctx._("✅ Record it"), RECORD)
        await self.show(
            ctx, state, text, InlineKeyboard.of([record, self.cancel_button(ctx, state)])
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Record it; the answer says how many there are now."""
        if value != RECORD:
            await self.ask_confirm(ctx, state, ctx._("Please press Record it, or Cancel."))
            return STAY
        view = await record_false_report(
            ctx.app.helpdesk.core,
            ticket_id=int(state.data["ticket_id"]),
            kind=str(state.data["kind"]),
            note=str(state.data.get("note") or ""),
            actor_id=ctx.person_id,
        )
        lines = [
            await self._summary(ctx, state),
            ctx._(
                "✅ Recorded as false report #{id}. {quarter}: {n} this quarter; {total} in total.",
                id=view.id,
                quarter=quarter_title(ctx.t, view.quarter),
                n=view.in_quarter,
                total=view.total,
            ),
        ]
        if view.total >= FALSE_REPORTS_TO_END:
            lines.append(
                ctx._(
                    "⛔ Three or more false reports in total: the customer may end the contract (000 §4)."
                )
            )
        await self.show(ctx, state, "\n".join(lines))
        return DONE

    table = step_table({Step.CONFIRM: StepSpec(ask_confirm, on_confirm)})
