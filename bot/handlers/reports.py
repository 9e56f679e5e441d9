"""Reports in chat: the monthly summary, the quarterly scorecard, the survey, false reports.

The posted reports and the survey question are rendered in `bot.notifications.reports`.

Commands (managers and admins):

- `/summary [2026-11] [SITE]`: a month's summary (default: last month), as posted when
  it was posted, else computed now; with the chart and the workbook.
- `/scorecard [2026-Q4] [SITE]`: a quarter's scorecard computed now (default: the last
  quarter), with the workbook.
- `/falsereport <ticket> <part|late|other> [note]`: record a false report (dialog
  "falsereport", one confirmation step, below).

Buttons (callback action: arguments):

- `svy:round:score`: a survey answer (recorded once per person and round).

```mermaid
stateDiagram-v2
    [*] --> confirm: /falsereport 123 part [note]
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: ✅ Record (false report recorded, audit event)
    confirm --> [*]: ✖ Cancel or /cancel
```
"""

from __future__ import annotations

from typing import Any

from bot.callback_ids import SURVEY_ACTION
from bot.callbacks import Callback
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog
from bot.dialogs.rate import score_label
from bot.i18n import N_
from bot.notifications.reports import monthly_notice, quarterly_notice
from bot.rendering.text import monthly_text
from bot.rendering.wording import quarter_title
from bot.router import Router
from core import surveys
from core.clock import DEFAULT_TIMEZONE
from core.conversations import DialogState
from core.enums import Role
from core.errors import NotFound
from core.reports.false_reports import record_false_report
from core.reports.monthly import monthly_figures
from core.reports.periods import (
    MONTH_LABEL,
    QUARTER_LABEL,
    previous_month_label,
    previous_quarter_label,
    quarter_label,
)
from core.reports.quarterly import quarterly_scorecard
from core.reports.scorecard import FALSE_REPORTS_TO_END
from core.reports.sites import SiteRef, find_site

REPORT_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
REGISTERED = frozenset(Role)
FALSE_REPORT_DIALOG = "falsereport"
RECORD = "record"
KIND_ALIASES = {
    "part": "part_not_replaced",
    "parts": "part_not_replaced",
    "part_not_replaced": "part_not_replaced",
    "late": "late_reported_on_time",
    "late_reported_on_time": "late_reported_on_time",
    "other": "other",
}
FALSE_REPORT_KIND = {
    "part_not_replaced": N_("a part reported replaced but not replaced"),
    "late_reported_on_time": N_("a repair reported on time but late"),
    "other": N_("another false record"),
}


# --- the survey buttons ------------------------------------------------------------------------


async def survey_answer(ctx: Ctx, callback: Callback) -> None:
    """svy:round:score: record the answer once; say clearly when it does not count."""
    try:
        round_id, score = callback.int_arg(0), callback.int_arg(1)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    result = await surveys.answer(
        ctx.app.helpdesk.core, round_id=round_id, person_id=ctx.person_id, score=score
    )
    if result.outcome is surveys.Outcome.RECORDED:
        await ctx.answer(ctx._("Thank you! Your answer is recorded."))
        await ctx.edit(
            "\n".join(
                [
                    ctx._("🗳 <b>Satisfaction survey {period}</b>", period=result.period),
                    ctx._(
                        "Thank you! You answered: <b>{answer}</b>.",
                        answer=score_label(ctx.t, score),
                    ),
                ]
            )
        )
        return
    if result.outcome is surveys.Outcome.ALREADY_ANSWERED:
        text = ctx._(
            "You already answered this survey ({answer}). Only the first answer counts.",
            answer=score_label(ctx.t, result.score or 0),
        )
    elif result.outcome is surveys.Outcome.CLOSED:
        text = ctx._(
            "This survey is closed (since {moment}); answers are no longer recorded.",
            moment=ctx.when(result.closes_at),
        )
    elif result.outcome is surveys.Outcome.NOT_INVITED:
        text = ctx._("This survey is for the staff of the site it was sent to.")
    else:
        text = ctx._("This survey no longer exists.")
    await ctx.answer(text, alert=True)


# --- manager commands --------------------------------------------------------------------------


async def _site_arg(ctx: Ctx, code: str | None) -> SiteRef | None:
    if not code:
        return None
    return await find_site(ctx.app.helpdesk.core, code)


def _period_error(ctx: Ctx, example: str) -> str:
    return ctx._("Please give the period like {example}.", example=example)


async def summary_command(ctx: Ctx) -> None:
    """/summary [YYYY-MM] [SITE]: a month's summary with the chart and the workbook."""
    core = ctx.app.helpdesk.core
    args = ctx.incoming.args.split()
    period = args[0] if args else previous_month_label(core.clock.now(), DEFAULT_TIMEZONE)
    if MONTH_LABEL.match(period) is None:
        await ctx.say(_period_error(ctx, "2026-11"))
        return
    try:
        site = await _site_arg(ctx, args[1] if len(args) > 1 else None)
    except NotFound:
        await ctx.say(ctx._("No site has the code {code}.", code=args[1][:32]))
        return
    summary, _run = await monthly_figures(core, period, site=site)
    notice = await monthly_notice(ctx.t, summary, ctx.chat_id, monthly_text(ctx.t, summary))
    await ctx.say(notice.text)
    for attachment in notice.attachments:
        await ctx.perform(attachment)


async def scorecard_command(ctx: Ctx) -> None:
    """/scorecard [YYYY-Qn] [SITE]: a quarter's scorecard computed now, with the workbook."""
    core = ctx.app.helpdesk.core
    args = ctx.incoming.args.split()
    period = (
        args[0].upper()
        if args
        else previous_quarter_label(quarter_label(core.clock.now(), DEFAULT_TIMEZONE))
    )
    if QUARTER_LABEL.match(period) is None:
        await ctx.say(_period_error(ctx, "2026-Q4"))
        return
    try:
        site = await _site_arg(ctx, args[1] if len(args) > 1 else None)
    except NotFound:
        await ctx.say(ctx._("No site has the code {code}.", code=args[1][:32]))
        return
    card = await quarterly_scorecard(core, period, site=site)
    notice = await quarterly_notice(ctx.t, card, ctx.chat_id, ctx.tz)
    await ctx.say(notice.text)
    for attachment in notice.attachments:
        await ctx.perform(attachment)


def false_report_usage(ctx: Ctx) -> str:
    """How to use /falsereport."""
    return "\n".join(
        [
            ctx._("Record a false report (虚报) found on a ticket:"),
            ctx._("<code>/falsereport TICKET part [note]</code>: a part reported replaced but not"),
            ctx._(
                "<code>/falsereport TICKET late [note]</code>: a repair reported on time but late"
            ),
            ctx._("<code>/falsereport TICKET other [note]</code>: another false record"),
            ctx._(
                "Each costs 10% of the quarter's payment; three in total allow the customer to end the contract."
            ),
        ]
    )


async def false_report_command(ctx: Ctx) -> None:
    """/falsereport <ticket> <kind> [note]: check the ticket, then ask to confirm."""
    parts = ctx.incoming.args.split(maxsplit=2)
    kind = KIND_ALIASES.get(parts[1].lower()) if len(parts) >= 2 else None
    ticket_text = parts[0].lstrip("#") if parts else ""
    if kind is None or not ticket_text.isdigit():
        await ctx.say(false_report_usage(ctx))
        return
    note = parts[2] if len(parts) > 2 else ""
    await ctx.start_dialog(FALSE_REPORT_DIALOG, ticket_id=int(ticket_text), kind=kind, note=note)


class FalseReportDialog(Dialog):
    """Confirm a false report before it is recorded for good (it cannot be undone)."""

    name = FALSE_REPORT_DIALOG
    first_step = "confirm"

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open only for an existing ticket."""
        try:
            await ctx.app.helpdesk.tickets.card(int(data["ticket_id"]))
        except NotFound:
            await ctx.say(ctx._("There is no ticket #{id}.", id=data["ticket_id"]))
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

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> str:
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


def register(router: Router) -> None:
    """Add the report renderers, the survey buttons and the managers' report commands."""
    router.callback(SURVEY_ACTION, roles=REGISTERED)(survey_answer)
    router.command(
        "summary",
        roles=REPORT_ROLES,
        description=N_("A month's summary with chart and spreadsheet"),
    )(summary_command)
    router.command(
        "scorecard", roles=REPORT_ROLES, description=N_("A quarter's score and payment (000 §4)")
    )(scorecard_command)
    router.command(
        "falsereport", roles=REPORT_ROLES, description=N_("Record a false report on a ticket")
    )(false_report_command)
    router.add_dialog(FalseReportDialog())
