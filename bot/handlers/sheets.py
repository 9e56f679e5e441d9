"""Service sheets (001 附表一) as PDF: the reporter's own in chat, a month's for managers.

Commands: `/sheet [TICKET]` (the reporter: their ticket's sheet, or buttons for their
latest ones; dispatchers, managers and admins: any ticket of their site) and
`/sheets [2026-11] [SITE]` (managers and admins: the month's sheets in one PDF; 000
§2.2.1-9 "故障处理单…按月汇总"). Button (callback action: arguments):

- `ssh:ticket`: the ticket's sheet (under the resolved-ticket message, and in /sheet)
"""

from __future__ import annotations

import asyncio

from bot.callback_ids import SHEET_ACTION
from bot.callbacks import Callback
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.i18n import N_
from bot.notifications.reports import sheets_attachments
from bot.rendering.pdf import FontMissing, sheet_filename, sheet_pdf
from bot.rendering.wording import month_title
from bot.router import Router
from core.clock import DEFAULT_TIMEZONE
from core.enums import Role
from core.errors import NotFound
from core.reports.periods import MONTH_LABEL, month_period, previous_month_label
from core.reports.sites import find_site

REGISTERED = frozenset(Role)
MONTH_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


def font_missing_text(ctx: Ctx) -> str:
    """Why no PDF can be made here."""
    return ctx._(
        "The service sheet cannot be made: no Chinese font is installed on the server (fonts-wqy-microhei)."
    )


async def send_sheet(ctx: Ctx, ticket_id: int) -> None:
    """The ticket's sheet as a PDF document (the core checks who may read it)."""
    try:
        sheet = await ctx.app.helpdesk.sheets.for_ticket(ticket_id, reader_id=ctx.person_id)
    except NotFound:
        await ctx.answer()
        await ctx.say(ctx._("There is no ticket #{id}.", id=ticket_id))
        return
    try:
        data = await asyncio.to_thread(sheet_pdf, ctx.t, sheet)
    except FontMissing:
        await ctx.answer()
        await ctx.say(font_missing_text(ctx))
        return
    await ctx.answer()
    await ctx.send_document(
        data,
        sheet_filename(sheet),
        ctx._("📄 Service sheet · ticket #{ticket}", ticket=sheet.ticket_id),
    )


async def sheet_command(ctx: Ctx) -> None:
    """/sheet N: that ticket's sheet; /sheet alone: buttons for the reporter's latest."""
    argument = ctx.incoming.args.strip().lstrip("#")
    if argument:
        if not argument.isdigit():
            await ctx.say(ctx._("Please give the ticket number, like /sheet 12."))
            return
        await send_sheet(ctx, int(argument))
        return
    recent = await ctx.app.helpdesk.sheets.recent_for_reporter(ctx.person_id)
    if not recent:
        await ctx.say(
            ctx._("None of your tickets has a service sheet yet. /sheet 12 sends ticket 12's.")
        )
        return
    buttons = [ctx.button(f"📄 #{ticket_id}", SHEET_ACTION, ticket_id) for ticket_id in recent]
    rows = [buttons[index : index + 4] for index in range(0, len(buttons), 4)]
    await ctx.say(
        ctx._("📄 <b>Service sheets</b> of your latest tickets:"), InlineKeyboard.of(*rows)
    )


async def sheet_button(ctx: Ctx, callback: Callback) -> None:
    """ssh:ticket."""
    await send_sheet(ctx, callback.int_arg(0))


async def sheets_command(ctx: Ctx) -> None:
    """/sheets [YYYY-MM] [SITE]: the month's sheets in one PDF (default: last month)."""
    core = ctx.app.helpdesk.core
    args = ctx.incoming.args.split()
    period = args[0] if args else previous_month_label(core.clock.now(), DEFAULT_TIMEZONE)
    if MONTH_LABEL.match(period) is None:
        await ctx.say(ctx._("Please give the period like {example}.", example="2026-11"))
        return
    site = None
    if len(args) > 1:
        try:
            site = await find_site(core, args[1])
        except NotFound:
            await ctx.say(ctx._("No site has the code {code}.", code=args[1][:32]))
            return
    assert ctx.profile is not None
    site_id = site.id if site else ctx.profile.site_id
    bounds = month_period(period, site.timezone if site else DEFAULT_TIMEZONE)
    sheets = await ctx.app.helpdesk.sheets.resolved_between(
        bounds.start, bounds.end, site_id=site_id
    )
    title = month_title(ctx.t, bounds.label)
    if not sheets:
        await ctx.say(ctx._("No ticket was resolved in {month}.", month=title))
        return
    documents, problem = await sheets_attachments(
        ctx.t, sheets, ctx.chat_id, title, f"faultdesk-sheets-{bounds.label}"
    )
    if problem:
        await ctx.say(problem)
        return
    for document in documents:
        await ctx.perform(document)


def register(router: Router) -> None:
    """Add the service-sheet commands and button."""
    router.command(
        "sheet", roles=REGISTERED, description=N_("A resolved ticket's service sheet (PDF)")
    )(sheet_command)
    router.command(
        "sheets", roles=MONTH_ROLES, description=N_("A month's service sheets in one PDF")
    )(sheets_command)
    router.callback(SHEET_ACTION, roles=REGISTERED)(sheet_button)
