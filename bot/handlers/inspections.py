"""Inspections, reminders and deadline escalations in chat.

Command: /inspect (engineers, admins) opens the inspection walk (dialog "inspect") for the
round open at the person's site, or lists the rounds when there are several.

Buttons (callback action: arguments):

- `ins:inspection`: ▶️ Start inspection (on a reminder, an overdue page or the /inspect list)
- `lnr:loan`: ✅ Returned, on a spare-device reminder (the loan is recorded as returned)

Renderers: inspection.announced, inspection.reminder, inspection.overdue,
inspection.report, inspection.report_overdue, survey.reminder, loan.due, loan.overdue,
complaint.overdue. The survey reminder reuses the staff module's buttons (`sfx` fix
verdict, `srt` score), and the complaint escalation its Confirm / Answer buttons.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot.callbacks import Callback
from bot.chat import Button, InlineKeyboard
from bot.context import Ctx
from bot.dialogs.complain import manager_keyboard
from bot.dialogs.inspection import (
    INSPECT_DIALOG,
    InspectionDialog,
    check_label,
    inspection_error_text,
)
from bot.dialogs.rate import VERDICT_ACTION, ask_score_text, score_keyboard
from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, label
from bot.notifications import Notice, RenderCtx
from bot.router import Router
from bot.views import OPEN_ACTION
from core import reminders
from core.enums import AssetKind, Role
from core.errors import DomainError
from core.inspections import Answer

START_ACTION: Final = "ins"  # ins:<inspection id>
LOAN_RETURNED_ACTION: Final = "lnr"  # lnr:<loan id>
INSPECTORS: Final = frozenset({Role.ENGINEER, Role.ADMIN})
LOAN_HANDLERS: Final = reminders.LOAN_HANDLERS
MAX_TICKET_BUTTONS: Final = 8


def _moment(t: Translator, tz: str, value: object) -> str:
    """An ISO moment in the reader's zone, or a dash."""
    if not value:
        return "—"
    return t.moment(datetime.fromisoformat(str(value)), tz)


def _day(t: Translator, tz: str, value: object) -> str:
    """The local date of an ISO moment: 'Sun, Mar 1'."""
    if not value:
        return "—"
    local: date = datetime.fromisoformat(str(value)).astimezone(ZoneInfo(tz)).date()
    return str(format_skeleton("MMMEd", local, locale=t.locale))


def _kind(t: Translator, kind: object) -> str:
    try:
        return label(t, ASSET_KIND, AssetKind(str(kind)))
    except ValueError:
        return str(kind)


def _round_name(t: Translator, params: dict[str, Any]) -> str:
    return t(
        "{plan} ({period}) at {site}",
        plan=params.get("plan") or "",
        period=params.get("period") or "",
        site=params.get("site") or "",
    )


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
        buttons.append([ctx.button(f"{view.plan_name} · {view.period}", START_ACTION, view.id)])
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


# --- renderers: inspections ------------------------------------------------------------------------


def _start_button(r: RenderCtx) -> InlineKeyboard | None:
    """▶️ Start inspection, for engineers and admins only."""
    if r.recipient is None or r.recipient.role not in INSPECTORS:
        return None
    return InlineKeyboard.of(
        [r.button(r._("▶️ Start inspection"), START_ACTION, r.params["inspection_id"])]
    )


async def render_announced(r: RenderCtx) -> Notice:
    """To the site's staff and managers, ahead of the window (003 §2.4)."""
    p = r.params
    text = r._(
        "📅 <b>Inspection announced</b>: {round}.\n"
        "Engineers will check the equipment between <b>{start}</b> and <b>{due}</b>. "
        "Please give them access; a short interruption may be needed.",
        round=_round_name(r.t, p),
        start=_day(r.t, r.tz, p.get("starts_on")),
        due=_day(r.t, r.tz, p.get("due_at")),
    )
    return Notice(text)


async def render_reminder(r: RenderCtx) -> Notice:
    """To the engineer: the window opened, or the due date is near."""
    p = r.params
    remaining = int(p.get("devices") or 0) - int(p.get("checked") or 0)
    if p.get("which") == "due":
        text = r._(
            "⏰ <b>Inspection due soon</b>: {round}.\nDue {due}; {remaining} of {devices} devices still to check.",
            round=_round_name(r.t, p),
            due=_moment(r.t, r.tz, p.get("due_at")),
            remaining=remaining,
            devices=p.get("devices") or 0,
        )
    else:
        text = r._(
            "🔍 <b>Inspection round open</b>: {round}.\n{devices} devices to check, due {due}.",
            round=_round_name(r.t, p),
            devices=p.get("devices") or 0,
            due=_moment(r.t, r.tz, p.get("due_at")),
        )
    return Notice(text, _start_button(r))


async def render_overdue(r: RenderCtx) -> Notice:
    """To the engineer and the managers: not completed by the due time."""
    p = r.params
    text = r._(
        "🚨 <b>Inspection overdue</b>: {round} was due {due}.\n{remaining} of {devices} devices not checked. Engineer: {engineer}.",
        round=_round_name(r.t, p),
        due=_moment(r.t, r.tz, p.get("due_at")),
        remaining=p.get("remaining") or 0,
        devices=p.get("devices") or 0,
        engineer=p.get("engineer") or "—",
    )
    return Notice(text, _start_button(r))


def _consumable_line(t: Translator, entry: dict[str, Any]) -> str:
    where = f"{_kind(t, entry.get('kind'))} {entry.get('tag')}"
    if entry.get("location"):
        where += f" ({entry['location']})"
    item = check_label(t, str(entry.get("item")))
    if entry.get("limit") is not None:
        return t(
            "• {where}: {item} {value} (replace over {limit})",
            where=where,
            item=item,
            value=entry.get("value"),
            limit=int(float(entry["limit"])),
        )
    if entry.get("value") == Answer.LOW.value:
        return t("• {where}: {item} low", where=where, item=item)
    return t("• {where}: {item}", where=where, item=item)


def report_text(t: Translator, tz: str, p: dict[str, Any]) -> str:
    """The inspection report: totals, consumables, tickets and skipped devices."""
    lines = [
        t("📋 <b>Inspection report</b>: {round}", round=_round_name(t, p)),
        t(
            "Completed {completed} by {engineer} · {timing}",
            completed=_moment(t, tz, p.get("completed_at")),
            engineer=p.get("engineer") or "—",
            timing=t("on time")
            if p.get("on_time")
            else t("late (due {due})", due=_moment(t, tz, p.get("due_at"))),
        ),
        t(
            "✅ {ok} OK · ❌ {fault} with a fault · ⏭ {skipped} skipped (of {devices})",
            ok=p.get("ok") or 0,
            fault=p.get("fault") or 0,
            skipped=p.get("skipped") or 0,
            devices=p.get("devices") or 0,
        ),
    ]
    due = list(p.get("consumables_due") or [])
    if due:
        lines += ["", t("<b>Consumables to replace</b>:")]
        lines += [_consumable_line(t, entry) for entry in due]
    replaced = list(p.get("consumables_replaced") or [])
    if replaced:
        lines += ["", t("<b>Replaced during the round</b>:")]
        lines += [_consumable_line(t, entry) for entry in replaced]
    tickets = list(p.get("tickets") or [])
    if tickets:
        lines += ["", t("<b>Tickets opened</b>:")]
        lines += [
            t(
                "• #{ticket}: {kind} {tag} ({location})",
                ticket=entry.get("ticket_id"),
                kind=_kind(t, entry.get("kind")),
                tag=entry.get("tag"),
                location=entry.get("location") or "—",
            )
            for entry in tickets
        ]
    skipped = list(p.get("skipped_devices") or [])
    if skipped:
        lines += ["", t("<b>Skipped</b>:")]
        lines += [
            t(
                "• {kind} {tag}: {reason}",
                kind=_kind(t, entry.get("kind")),
                tag=entry.get("tag"),
                reason=entry.get("reason") or "—",
            )
            for entry in skipped
        ]
    return "\n".join(lines)


def _ticket_buttons(r: RenderCtx) -> InlineKeyboard | None:
    tickets = [entry.get("ticket_id") for entry in r.params.get("tickets") or []]
    buttons: list[Button] = [
        r.button(f"#{ticket}", OPEN_ACTION, ticket) for ticket in tickets[:MAX_TICKET_BUTTONS]
    ]
    return InlineKeyboard.of(buttons[:4], buttons[4:]) if buttons else None


async def render_report(r: RenderCtx) -> Notice:
    """To the site's managers when a round is completed (004: report to the project lead)."""
    return Notice(report_text(r.t, r.tz, r.params), _ticket_buttons(r))


async def render_report_overdue(r: RenderCtx) -> Notice:
    """To the engineer and the admins: the report reached no manager by its due date."""
    heading = r._(
        "⚠️ <b>Inspection report not delivered</b>: no manager received it by {due}. Here it is:",
        due=_moment(r.t, r.tz, r.params.get("report_due_at")),
    )
    return Notice(f"{heading}\n\n{report_text(r.t, r.tz, r.params)}", _ticket_buttons(r))


# --- renderers: survey, loans, complaints ------------------------------------------------------------


async def render_survey_reminder(r: RenderCtx) -> Notice:
    """To the reporter a day after the fix, unrated: the verdict or the score buttons again."""
    p = r.params
    ticket_id, cycle = int(p["ticket_id"]), int(p.get("cycle") or 0)
    text = r._(
        "🙏 <b>Ticket #{ticket}</b> ({symptom}) was resolved {resolved}. "
        "Please tell us how it went; it takes one tap.",
        ticket=ticket_id,
        symptom=str(p.get("symptom") or "")[:80],
        resolved=_moment(r.t, r.tz, p.get("resolved_at")),
    )
    if p.get("fix_confirmed") is None:
        keyboard = InlineKeyboard.of(
            [
                r.button(r._("✅ Fixed"), VERDICT_ACTION, ticket_id, cycle, 1),
                r.button(r._("❌ Not fixed"), VERDICT_ACTION, ticket_id, cycle, 0),
            ]
        )
        return Notice(text + "\n" + r._("<b>Is it fixed?</b>"), keyboard)
    return Notice(text + "\n" + ask_score_text(r, ticket_id), score_keyboard(r, ticket_id, cycle))


def _loan_keyboard(r: RenderCtx) -> InlineKeyboard:
    return InlineKeyboard.of(
        [r.button(r._("✅ Returned"), LOAN_RETURNED_ACTION, r.params["loan_id"])]
    )


async def render_loan_due(r: RenderCtx) -> Notice:
    """To the engineer on the due day (000 §2.1: the original returns in 7 working days)."""
    p = r.params
    text = r._(
        "📦 <b>Spare device due back today</b>: ticket #{ticket} ({location}).\n"
        "{description}, lent {lent}; the original device is due back by {due}. "
        "Press ✅ Returned once the swap is done.",
        ticket=p.get("ticket_id"),
        location=p.get("location") or "—",
        description=p.get("description") or r._("Spare device"),
        lent=_moment(r.t, r.tz, p.get("lent_at")),
        due=_moment(r.t, r.tz, p.get("due_back_at")),
    )
    return Notice(text, _loan_keyboard(r))


async def render_loan_overdue(r: RenderCtx) -> Notice:
    """To the site's managers a working day after the due date."""
    p = r.params
    text = r._(
        "⚠️ <b>Spare device overdue</b>: ticket #{ticket} ({location}).\n"
        "{description}, lent {lent} by {engineer}, was due back {due}.",
        ticket=p.get("ticket_id"),
        location=p.get("location") or "—",
        description=p.get("description") or r._("Spare device"),
        lent=_moment(r.t, r.tz, p.get("lent_at")),
        engineer=p.get("engineer") or "—",
        due=_moment(r.t, r.tz, p.get("due_back_at")),
    )
    return Notice(text, _loan_keyboard(r))


async def render_complaint_overdue(r: RenderCtx) -> Notice:
    """Unanswered at its deadline: managers first, administrators a working day later (002)."""
    p = r.params
    common = {
        "id": p.get("complaint_id"),
        "due": _moment(r.t, r.tz, p.get("due_at")),
        "reporter": p.get("reporter") or "—",
        "text": str(p.get("text") or ""),
    }
    if int(p.get("level") or 1) > 1:
        text = r._(
            "🚨 <b>Complaint #{id} escalated</b>: still unanswered, it was due {due}.\n"
            "From {reporter}: <i>{text}</i>",
            **common,
        )
    else:
        text = r._(
            "⏰ <b>Complaint #{id} is overdue</b>: it had to be answered by {due}.\n"
            "From {reporter}: <i>{text}</i>",
            **common,
        )
    keyboard = None
    if r.recipient is not None and r.recipient.role in (Role.MANAGER, Role.ADMIN):
        view = await r.app.helpdesk.complaints.get(int(p["complaint_id"]))
        keyboard = manager_keyboard(r, view)
    return Notice(text, keyboard)


RENDERERS: Final = {
    "inspection.announced": render_announced,
    "inspection.reminder": render_reminder,
    "inspection.overdue": render_overdue,
    "inspection.report": render_report,
    "inspection.report_overdue": render_report_overdue,
    "survey.reminder": render_survey_reminder,
    "loan.due": render_loan_due,
    "loan.overdue": render_loan_overdue,
    "complaint.overdue": render_complaint_overdue,
}


def register(router: Router) -> None:
    """Add /inspect, its buttons, the inspection dialog and these messages' renderers."""
    router.command("inspect", roles=INSPECTORS, description=N_("Run an inspection round"))(inspect)
    router.callback(START_ACTION, roles=INSPECTORS)(start_inspection)
    router.callback(LOAN_RETURNED_ACTION, roles=LOAN_HANDLERS)(loan_returned)
    router.add_dialog(InspectionDialog())
    for code, renderer in RENDERERS.items():
        router.renders(code)(renderer)
