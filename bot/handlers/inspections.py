"""Inspections in chat: /inspect, the start button, and spare devices returned.

Command: /inspect (engineers, admins) opens the inspection walk (dialog "inspect") for the
round open at the person's site, or lists the rounds when there are several.

Buttons (callback action: arguments):

- `ins:inspection`: ▶️ Start inspection (on a reminder, an overdue page or the /inspect list)
- `lnr:loan`: ✅ Returned, on a spare-device reminder (the loan is recorded as returned)

The messages about rounds, loans and overdue complaints are rendered in
`bot.notifications` (engineer, manager, admin).
"""

from __future__ import annotations

from typing import Final

from bot.callback_ids import INSPECTION_START_ACTION, LOAN_RETURNED_ACTION
from bot.callbacks import Callback
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.inspection import (
    INSPECT_DIALOG,
    InspectionDialog,
    inspection_error_text,
)
from bot.i18n import N_
from bot.router import Router
from core import reminders
from core.enums import Role
from core.errors import DomainError

INSPECTORS: Final = frozenset({Role.ENGINEER, Role.ADMIN})
LOAN_HANDLERS: Final = reminders.LOAN_HANDLERS


# --- /inspect and the start button ---------------------------------------------------------------


async def inspect(ctx: Ctx) -> None:
    """/inspect: walk the open round (or choose among several)."""
    rounds = await ctx.app.helpdesk.inspections.open_rounds_for(ctx.person_id)
    if not rounds:
        await ctx.say(ctx._("🔍 No inspection round is open for you now."))
        return
    if len(rounds) == 1:
        await ctx.start_dialog(INSPECT_DIALOG, inspection_id=rounds[0].id)
        return
    lines = [ctx._("🔍 <b>Open inspection rounds</b>: choose one.")]
    buttons = []
    for view in rounds:
        lines.append(
            ctx._(
                "• {plan} · {period}: {checked}/{devices} devices · due {due}",
                plan=view.plan_name,
                period=view.period,
                checked=len(view.items),
                devices=len(view.devices),
                due=ctx.when(view.due_at),
            )
        )
        buttons.append(
            [ctx.button(f"{view.plan_name} · {view.period}", INSPECTION_START_ACTION, view.id)]
        )
    await ctx.say("\n".join(lines), InlineKeyboard.of(*buttons))


async def start_inspection(ctx: Ctx, callback: Callback) -> None:
    """▶️ Start inspection: open (or resume) the walk of that round."""
    try:
        inspection_id = callback.int_arg(0)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    await ctx.answer()
    await ctx.start_dialog(INSPECT_DIALOG, inspection_id=inspection_id)


async def loan_returned(ctx: Ctx, callback: Callback) -> None:
    """✅ Returned: record the spare device back; its reminders stop."""
    try:
        loan_id = callback.int_arg(0)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    core = ctx.app.helpdesk.core
    try:
        loan = await reminders.return_loan(core, loan_id, actor_id=ctx.person_id)
    except DomainError as error:
        await ctx.answer(inspection_error_text(ctx.t, ctx.tz, error), alert=True)
        return
    assert loan.returned_at is not None  # just set by the core
    await ctx.answer(ctx._("Recorded as returned."))
    await ctx.edit(
        ctx._(
            "✅ <b>Ticket #{ticket}</b>: the spare device ({description}) is back, recorded {at}.",
            ticket=loan.ticket_id,
            description=loan.description or "—",
            at=ctx.when(loan.returned_at),
        )
    )


def register(router: Router) -> None:
    """Add /inspect, its buttons, the inspection dialog and these messages' renderers."""
    router.command("inspect", roles=INSPECTORS, description=N_("Run an inspection round"))(inspect)
    router.callback(INSPECTION_START_ACTION, roles=INSPECTORS)(start_inspection)
    router.callback(LOAN_RETURNED_ACTION, roles=LOAN_HANDLERS)(loan_returned)
    router.add_dialog(InspectionDialog())
