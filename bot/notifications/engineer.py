"""What engineers are told: dispatch cards, deadline reminders and pages, the reporter's
answer about a data backup, inspection rounds and spare devices due back."""

from __future__ import annotations

from bot.callback_ids import LOAN_RETURNED_ACTION
from bot.cards import Viewer, card_media, card_screen_for, short
from bot.chat import InlineKeyboard
from bot.i18n import N_
from bot.notifications.escalation import open_spec, page_screen, reminder_text
from bot.notifications.registry import Notice, RenderCtx, renders
from bot.notifications.rounds import round_moment, round_name, start_button
from bot.screens import Screen
from bot.web.links import card_console
from core.messages import (
    BackupConsentAnswered,
    CardMessage,
    DeadlinePage,
    DeadlineReminder,
    DispatchCancelled,
    DispatchTakenAway,
    InspectionOverdue,
    InspectionReminder,
    LoanMessage,
    NewDispatch,
    SpareDueBack,
)

NEW_DISPATCH = N_("📣 <b>New dispatch for you</b>")
REPORTER_BACKED_UP = N_(
    "💾 Ticket #{ticket}: the reporter confirmed the data is backed up. You may go ahead."
)


async def card_notice(m: CardMessage, r: RenderCtx, header: str | None) -> Notice:
    """The ticket card with the buttons the recipient may press."""
    screen = await card_screen_for(
        r.lookups,
        r.t,
        r.tz,
        m.card,
        Viewer.of(r.recipient),
        header=header,
        console=card_console(r.web_url, r.chat_id),
    )
    return Notice(screen.text, screen.keyboard(r.button))


def screen_notice(r: RenderCtx, screen: Screen) -> Notice:
    """A screen as a notice, its buttons signed."""
    return Notice(screen.text, screen.keyboard(r.button))


def loan_keyboard(r: RenderCtx, m: LoanMessage) -> InlineKeyboard:
    """✅ Returned."""
    return InlineKeyboard.of([r.button(r._("✅ Returned"), LOAN_RETURNED_ACTION, m.loan_id)])


@renders(NewDispatch)
async def new_dispatch(m: NewDispatch, r: RenderCtx) -> Notice:
    """The card, as the engineer's control panel, then the reporter's photos and the map."""
    header = None  # taken away again before this was written: the card says who has it
    if r.recipient is not None and m.card.assignee_id == r.recipient.id:
        header = r._("🔁 <b>Second visit for you</b>") if m.card.cycle > 0 else r._(NEW_DISPATCH)
        header += "\n" + r._("↩️ Reply to this card to write to the reporter.")
    notice = await card_notice(m, r, header)
    notice.attachments = card_media(r.t, m.card, r.chat_id or 0)
    return notice


@renders(DispatchTakenAway)
async def dispatch_taken_away(m: DispatchTakenAway, r: RenderCtx) -> Notice:
    """Another engineer has the ticket now."""
    return Notice(
        r._(
            "↪️ Ticket #{ticket} was given to another engineer; you need not go.\n📝 {symptom}",
            ticket=m.ticket_id,
            symptom=short(m.symptom, 120),
        )
    )


@renders(DispatchCancelled)
async def dispatch_cancelled(m: DispatchCancelled, r: RenderCtx) -> Notice:
    """The report was withdrawn, or a dispatcher cancelled it: who, and why."""
    text = r._(
        "🚫 Ticket #{ticket} was cancelled; you need not go.\n📝 {symptom}",
        ticket=m.ticket_id,
        symptom=short(m.symptom, 120),
    )
    if m.reason:
        who = (
            r._("the reporter {name}", name=m.cancelled_by)
            if m.by_reporter
            else r._("the dispatcher {name}", name=m.cancelled_by)
        )
        text += "\n" + r._("Cancelled by {who}: {reason}", who=who, reason=short(m.reason, 200))
    return Notice(text)


@renders(DeadlineReminder)
async def deadline_reminder(m: DeadlineReminder, r: RenderCtx) -> Notice:
    """80 % of a deadline has passed."""
    screen = Screen(reminder_text(r.t, r.tz, m, r.now), ((open_spec(r.t, m.ticket_id),),))
    return screen_notice(r, screen)


@renders(DeadlinePage)
async def deadline_page(m: DeadlinePage, r: RenderCtx) -> Notice:
    """A deadline was missed; acknowledge to stop the repeats."""
    return screen_notice(r, page_screen(r.t, r.tz, m, Viewer.of(r.recipient)))


@renders(BackupConsentAnswered)
async def backup_consent_answered(m: BackupConsentAnswered, r: RenderCtx) -> Notice:
    """The reporter confirmed (or refused) the data backup."""
    if m.confirmed:
        text = r._(REPORTER_BACKED_UP, ticket=m.ticket_id)
    else:
        text = r._(
            "⛔ Ticket #{ticket}: the reporter did NOT confirm the backup. Do not start the risky operation; talk to them first.",
            ticket=m.ticket_id,
        )
    return screen_notice(r, Screen(text, ((open_spec(r.t, m.ticket_id),),)))


@renders(InspectionReminder)
async def inspection_reminder(m: InspectionReminder, r: RenderCtx) -> Notice:
    """The window opened, or the due date is near."""
    if m.which == "due":
        text = r._(
            "⏰ <b>Inspection due soon</b>: {round}.\nDue {due}; {remaining} of {devices} devices still to check.",
            round=round_name(r.t, m),
            due=round_moment(r.t, r.tz, m.due_at),
            remaining=m.devices - m.checked,
            devices=m.devices,
        )
    else:
        text = r._(
            "🔍 <b>Inspection round open</b>: {round}.\n{devices} devices to check, due {due}.",
            round=round_name(r.t, m),
            devices=m.devices,
            due=round_moment(r.t, r.tz, m.due_at),
        )
    return Notice(text, start_button(r, m))


@renders(InspectionOverdue)
async def inspection_overdue(m: InspectionOverdue, r: RenderCtx) -> Notice:
    """To the engineer and the managers: not completed by the due time."""
    text = r._(
        "🚨 <b>Inspection overdue</b>: {round} was due {due}.\n{remaining} of {devices} devices not checked. Engineer: {engineer}.",
        round=round_name(r.t, m),
        due=round_moment(r.t, r.tz, m.due_at),
        remaining=m.remaining,
        devices=m.devices,
        engineer=m.engineer or "—",
    )
    return Notice(text, start_button(r, m))


@renders(SpareDueBack)
async def spare_due_back(m: SpareDueBack, r: RenderCtx) -> Notice:
    """On the due day (000 §2.1: the original returns in 7 working days)."""
    text = r._(
        "📦 <b>Spare device due back today</b>: ticket #{ticket} ({location}).\n"
        "{description}, lent {lent}; the original device is due back by {due}. "
        "Press ✅ Returned once the swap is done.",
        ticket=m.ticket_id,
        location=m.location or "—",
        description=m.description or r._("Spare device"),
        lent=r.when(m.lent_at),
        due=r.when(m.due_back_at),
    )
    return Notice(text, loan_keyboard(r, m))
