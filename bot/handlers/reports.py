"""Reports in chat: the monthly summary, the quarterly scorecard, the survey, false reports.

The posted reports and the survey question are rendered in `bot.notifications.reports`.

Commands (managers and admins):

- `/summary [2026-11] [SITE]`: a month's summary (default: last month), as posted when
  it was posted, else computed now; with the chart, the workbook (every KPI's tickets)
  and the month's service sheets (PDF).
- `/scorecard [2026-Q4] [SITE]`: a quarter's scorecard computed now (default: the last
  quarter), with the workbook.
- `/falsereport <ticket> <part|late|other> [note]`: record a false report (dialog
  "falsereport", one confirmation step: `bot.dialogs.false_report`).

Buttons (callback action: arguments):

- `svy:round:score`: a survey answer (recorded once per person and round).
"""

from __future__ import annotations

from bot.callback_ids import SURVEY_ACTION
from bot.callbacks import Callback
from bot.context import Ctx
from bot.dialogs.false_report import FALSE_REPORT_DIALOG, FalseReportDialog
from bot.dialogs.rate import score_label
from bot.i18n import N_
from bot.notifications.reports import monthly_notice, quarterly_notice
from bot.rendering.text import monthly_text
from bot.router import Router
from core import surveys
from core.clock import DEFAULT_TIMEZONE
from core.enums import Role
from core.errors import NotFound
from core.reports.details import kpi_details
from core.reports.monthly import monthly_figures
from core.reports.periods import (
    MONTH_LABEL,
    QUARTER_LABEL,
    previous_month_label,
    previous_quarter_label,
    quarter_label,
)
from core.reports.quarterly import quarterly_scorecard
from core.reports.sites import SiteRef, find_site

REPORT_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
REGISTERED = frozenset(Role)
KIND_ALIASES = {
    "part": "part_not_replaced",
    "parts": "part_not_replaced",
    "part_not_replaced": "part_not_replaced",
    "late": "late_reported_on_time",
    "late_reported_on_time": "late_reported_on_time",
    "other": "other",
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
    start, end = summary.kpis.start, summary.kpis.end
    site_id = site.id if site else None
    notice = await monthly_notice(
        ctx.t,
        summary,
        ctx.chat_id,
        monthly_text(ctx.t, summary),
        details=await kpi_details(core, start, end, site_id=site_id, as_of=summary.as_of),
        sheets=await ctx.app.helpdesk.sheets.resolved_between(start, end, site_id=site_id),
    )
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
    details = await kpi_details(
        core,
        card.kpis.start,
        card.kpis.end,
        site_id=site.id if site else None,
        as_of=card.kpis.as_of,
    )
    notice = await quarterly_notice(ctx.t, card, ctx.chat_id, ctx.tz, details=details)
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
    # isdigit() alone lets '²' through, which int() refuses: ASCII digits only.
    if kind is None or not (ticket_text.isascii() and ticket_text.isdigit()):
        await ctx.say(false_report_usage(ctx))
        return
    note = parts[2] if len(parts) > 2 else ""
    await ctx.start_dialog(FALSE_REPORT_DIALOG, ticket_id=int(ticket_text), kind=kind, note=note)


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
