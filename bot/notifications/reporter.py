"""What the person who reported a fault (and office staff generally) is told.

Every step of their ticket, the questions that need their answer (is it fixed, the
score, the data-backup consent), their complaints, and inspections announced at their
site.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.callback_ids import (
    CONSENT_ACTION,
    SHEET_ACTION,
    THREAD_ACTION,
    VERDICT_ACTION,
    WITHDRAW_ACTION,
)
from bot.cards import deadlines_line
from bot.chat import InlineKeyboard
from bot.dialogs.complain import about_line
from bot.dialogs.rate import ask_score_text, score_keyboard
from bot.i18n import N_
from bot.labels import BACKUP_OPERATION, CLOCK, PAUSE_REASON, STATUS, label
from bot.notifications.registry import Notice, RenderCtx, renders
from bot.notifications.rounds import round_day, round_name
from core.enums import TicketStatus
from core.messages import (
    ArrivalExpected,
    BackupConsentRequested,
    ComplaintAnswered,
    ComplaintConfirmed,
    ComplaintReceived,
    DispatchAccepted,
    EngineerArrived,
    EngineerAssigned,
    EngineerOnTheWay,
    FaultResolved,
    InspectionAnnounced,
    ProgressUpdate,
    ReporterDeadlineNotice,
    SecondVisitScheduled,
    ServiceRestored,
    SurveyReminder,
    TicketCancelled,
    WorkPaused,
    WorkResumed,
)

BEFORE_ARRIVAL = frozenset(
    {
        TicketStatus.REPORTED,
        TicketStatus.ASSIGNED,
        TicketStatus.ACKNOWLEDGED,
        TicketStatus.EN_ROUTE,
        TicketStatus.REOPENED,
    }
)
SECOND_VISIT_REASON = {
    "fix_rejected": N_("you said the fault is not fixed"),
    "low_score": N_("your rating was low"),
}
ENGINEER_ASSIGNED = N_("👷 <b>Ticket #{ticket}</b>: {engineer} is assigned to your fault.")
JOB_ACCEPTED = N_("👍 <b>Ticket #{ticket}</b>: {engineer} has accepted the job.")
ENGINEER_ON_THE_WAY = N_("🚗 <b>Ticket #{ticket}</b>: {engineer} is on the way.")
ENGINEER_ARRIVED = N_("📍 <b>Ticket #{ticket}</b>: {engineer} has arrived.")
FAULT_RESOLVED = N_("✅ <b>Ticket #{ticket} is resolved</b> by {engineer}.")
FIXED_BUTTON = N_("✅ Fixed")
ASK_BACKUP = N_(
    "⚠️ <b>Ticket #{ticket}: please back up your data.</b>\n"
    "The engineer is about to {operation}, which may erase data on the device. "
    "Have you backed up your files?"
)
BACKED_UP_BUTTON = N_("💾 I have backed up my data")
DEADLINE_MISSED_SORRY = N_(
    "⚠️ <b>Ticket #{ticket}</b>: we missed the deadline for {clock} ({due}). "
    "Sorry! It has been escalated."
)
NEW_TIME_TO_COME = N_("We will tell you the new time as soon as the engineer gives it.")
NOW_EXPECTED = N_("{engineer} now expects to arrive at <b>{time}</b>.")
ARRIVAL_LATE = N_(
    "🕐 <b>Ticket #{ticket}</b>: we are sorry, {engineer} will be later than promised "
    "({promised}). New expected arrival: <b>{time}</b>."
)
ARRIVAL_EXPECTED = N_("🕐 <b>Ticket #{ticket}</b>: {engineer} expects to arrive at <b>{time}</b>.")
OPERATION = BACKUP_OPERATION


def _promised(r: RenderCtx, status: TicketStatus, promised: datetime | None) -> str:
    """'Promised arrival: …' while the engineer is still to come."""
    if status not in BEFORE_ARRIVAL or promised is None:
        return ""
    return "\n" + r._("Promised arrival: <b>{time}</b>.", time=r.when(promised))


def _engineer(r: RenderCtx, name: str) -> str:
    return name or r._("the engineer")


def verdict_keyboard(
    r: RenderCtx, ticket_id: int, cycle: int, *, sheet: bool = False
) -> InlineKeyboard:
    """✅ Fixed / ❌ Not fixed, and (`sheet`) the service sheet as a PDF."""
    return InlineKeyboard.of(
        [
            r.button(r._(FIXED_BUTTON), VERDICT_ACTION, ticket_id, cycle, 1),
            r.button(r._("❌ Not fixed"), VERDICT_ACTION, ticket_id, cycle, 0),
        ],
        [r.button(r._("📄 Service sheet"), SHEET_ACTION, ticket_id)] if sheet else [],
    )


@renders(EngineerAssigned)
async def engineer_assigned(m: EngineerAssigned, r: RenderCtx) -> Notice:
    """An engineer is dispatched."""
    text = r._(
        ENGINEER_ASSIGNED,
        ticket=m.ticket_id,
        engineer=_engineer(r, m.engineer),
    )
    text += _promised(r, m.status, m.promised_arrival_at)
    return Notice(text, ticket_keyboard(r, m.ticket_id, withdraw=m.status in BEFORE_ARRIVAL))


def ticket_keyboard(r: RenderCtx, ticket_id: int, *, withdraw: bool) -> InlineKeyboard:
    """💬 Message the engineer, and 🚫 Withdraw while the engineer has not arrived."""
    row = [r.button(r._("💬 Message the engineer"), THREAD_ACTION, ticket_id)]
    if withdraw:
        row.append(r.button(r._("🚫 Withdraw"), WITHDRAW_ACTION, ticket_id))
    return InlineKeyboard.of(row)


@renders(TicketCancelled)
async def ticket_cancelled(m: TicketCancelled, r: RenderCtx) -> Notice:
    """A dispatcher cancelled the reporter's ticket."""
    return Notice(
        r._(
            "🚫 <b>Ticket #{ticket}</b> was cancelled by the dispatcher {name}: {reason}\n"
            "If the fault is still there, send /report.",
            ticket=m.ticket_id,
            name=m.cancelled_by,
            reason=m.reason,
        )
    )


@renders(DispatchAccepted)
async def dispatch_accepted(m: DispatchAccepted, r: RenderCtx) -> Notice:
    """The engineer accepted."""
    return Notice(r._(JOB_ACCEPTED, ticket=m.ticket_id, engineer=_engineer(r, m.engineer)))


@renders(EngineerOnTheWay)
async def engineer_on_the_way(m: EngineerOnTheWay, r: RenderCtx) -> Notice:
    """The engineer is travelling."""
    text = r._(ENGINEER_ON_THE_WAY, ticket=m.ticket_id, engineer=_engineer(r, m.engineer))
    return Notice(text + _promised(r, m.status, m.promised_arrival_at))


@renders(EngineerArrived)
async def engineer_arrived(m: EngineerArrived, r: RenderCtx) -> Notice:
    """The engineer is on site."""
    return Notice(r._(ENGINEER_ARRIVED, ticket=m.ticket_id, engineer=_engineer(r, m.engineer)))


@renders(WorkPaused)
async def work_paused(m: WorkPaused, r: RenderCtx) -> Notice:
    """Work waits for the reporter, parts or a vendor."""
    why = r._("waiting for you") if m.reason == "reporter" else label(r.t, PAUSE_REASON, m.reason)
    text = r._("⏸ <b>Ticket #{ticket}</b> is paused: {reason}.", ticket=m.ticket_id, reason=why)
    if m.note:
        text += "\n" + r._("Note: <i>{note}</i>", note=m.note)
    return Notice(text)


@renders(WorkResumed)
async def work_resumed(m: WorkResumed, r: RenderCtx) -> Notice:
    """Work goes on."""
    return Notice(r._("▶️ <b>Ticket #{ticket}</b>: work has resumed.", ticket=m.ticket_id))


@renders(ServiceRestored)
async def service_restored(m: ServiceRestored, r: RenderCtx) -> Notice:
    """Service is back; the full fix may follow."""
    text = r._("🔧 <b>Ticket #{ticket}</b>: your service is restored.", ticket=m.ticket_id)
    if m.spare_lent:
        text += "\n" + r._("A spare device is lent to you while yours is repaired.")
    text += "\n" + r._("The full fix follows; we will tell you.")
    return Notice(text)


@renders(FaultResolved)
async def fault_resolved(m: FaultResolved, r: RenderCtx) -> Notice:
    """Resolved: ask the reporter to confirm the fix."""
    lines = [r._(FAULT_RESOLVED, ticket=m.ticket_id, engineer=_engineer(r, m.engineer))]
    if m.remote:
        lines.append(r._("It was fixed remotely."))
    if m.solution:
        lines.append(r._("Solution: {solution}", solution=m.solution))
    lines.append(r._("<b>Is it fixed?</b>"))
    return Notice("\n".join(lines), verdict_keyboard(r, m.ticket_id, m.cycle, sheet=True))


@renders(ProgressUpdate)
async def progress_update(m: ProgressUpdate, r: RenderCtx) -> Notice:
    """The hourly progress message (002)."""
    card = m.card
    text = r._(
        "⏳ <b>Ticket #{ticket}</b>: {status}, open for {duration}.",
        ticket=card.id,
        status=label(r.t, STATUS, card.status),
        duration=r.t.duration(timedelta(hours=m.hours_open)),
    )
    if card.assignee_name:
        text += "\n" + r._("Engineer: {engineer}", engineer=card.assignee_name)
    return Notice(text + "\n" + deadlines_line(r.t, r.tz, card))


@renders(SecondVisitScheduled)
async def second_visit_scheduled(m: SecondVisitScheduled, r: RenderCtx) -> Notice:
    """Reopened for a second visit after a rejected fix or a low score."""
    why = r._(SECOND_VISIT_REASON[m.reason]) if m.reason in SECOND_VISIT_REASON else m.reason
    text = r._(
        "🔁 <b>Ticket #{ticket}</b> is reopened for a second visit: {reason}.",
        ticket=m.ticket_id,
        reason=why,
    )
    return Notice(text + _promised(r, m.status, m.promised_arrival_at))


@renders(BackupConsentRequested)
async def backup_consent_requested(m: BackupConsentRequested, r: RenderCtx) -> Notice:
    """The engineer asks for a data backup before risky work (000 §2.2.1-3)."""
    if m.operation in OPERATION:
        what = r._(OPERATION[m.operation])
    elif m.operation:
        what = m.operation
    else:
        what = r._("do work that may erase data")
    text = r._(ASK_BACKUP, ticket=m.ticket_id, operation=what)
    keyboard = InlineKeyboard.of(
        [r.button(r._(BACKED_UP_BUTTON), CONSENT_ACTION, m.consent_id, m.ticket_id, 1)],
        [r.button(r._("⛔ Do not proceed"), CONSENT_ACTION, m.consent_id, m.ticket_id, 0)],
    )
    return Notice(text, keyboard)


@renders(ArrivalExpected)
async def arrival_expected(m: ArrivalExpected, r: RenderCtx) -> Notice:
    """The engineer's new arrival time; an apology when it is later than promised."""
    if m.late:
        text = r._(
            ARRIVAL_LATE,
            ticket=m.ticket_id,
            engineer=_engineer(r, m.engineer),
            promised=r.when(m.promised_arrival_at),
            time=r.when(m.expected_at),
        )
    else:
        text = r._(
            ARRIVAL_EXPECTED,
            ticket=m.ticket_id,
            engineer=_engineer(r, m.engineer),
            time=r.when(m.expected_at),
        )
    return Notice(text)


@renders(ReporterDeadlineNotice)
async def reporter_deadline_notice(m: ReporterDeadlineNotice, r: RenderCtx) -> Notice:
    """A deadline of the reporter's ticket is near or missed (with the engineer's new time)."""
    clock = label(r.t, CLOCK, m.clock)
    due = r.when(m.due_at)
    if m.percent >= 100:
        text = r._(
            DEADLINE_MISSED_SORRY,
            ticket=m.ticket_id,
            clock=clock,
            due=due,
        )
        if m.expected_at is not None:
            text += "\n" + r._(
                NOW_EXPECTED,
                engineer=_engineer(r, m.assignee or ""),
                time=r.when(m.expected_at),
            )
        elif m.clock == "arrival" and m.status in BEFORE_ARRIVAL:
            text += "\n" + r._(NEW_TIME_TO_COME)
    else:
        text = r._(
            "⏳ <b>Ticket #{ticket}</b>: the deadline for {clock} ({due}) is near. We are on it.",
            ticket=m.ticket_id,
            clock=clock,
            due=due,
        )
    return Notice(text)


@renders(SurveyReminder)
async def survey_reminder(m: SurveyReminder, r: RenderCtx) -> Notice:
    """A day after the fix, unrated: the verdict or the score buttons again."""
    text = r._(
        "🙏 <b>Ticket #{ticket}</b> ({symptom}) was resolved {resolved}. "
        "Please tell us how it went; it takes one tap.",
        ticket=m.ticket_id,
        symptom=m.symptom[:80],
        resolved=r.when(m.resolved_at),
    )
    if m.fix_confirmed is None:
        return Notice(
            text + "\n" + r._("<b>Is it fixed?</b>"), verdict_keyboard(r, m.ticket_id, m.cycle)
        )
    return Notice(
        text + "\n" + ask_score_text(r, m.ticket_id), score_keyboard(r, m.ticket_id, m.cycle)
    )


@renders(ComplaintReceived)
async def complaint_received(m: ComplaintReceived, r: RenderCtx) -> Notice:
    """The reporter's acknowledgement with the due date."""
    return Notice(
        r._(
            "📨 <b>Complaint #{id}</b> received. A manager will answer by <b>{due}</b>.",
            id=m.complaint_id,
            due=r.when(m.due_at),
        )
        + "\n"
        + about_line(r, m.ticket_id)
    )


@renders(ComplaintConfirmed)
async def complaint_confirmed(m: ComplaintConfirmed, r: RenderCtx) -> Notice:
    """A manager is looking into it."""
    return Notice(
        r._(
            "👀 <b>Complaint #{id}</b>: a manager is looking into it. Answer by <b>{due}</b>.",
            id=m.complaint_id,
            due=r.when(m.due_at),
        )
    )


@renders(ComplaintAnswered)
async def complaint_answered(m: ComplaintAnswered, r: RenderCtx) -> Notice:
    """The manager's answer."""
    return Notice(
        r._(
            "📬 <b>Complaint #{id}</b> answered:\n<i>{answer}</i>",
            id=m.complaint_id,
            answer=m.answer,
        )
    )


@renders(InspectionAnnounced)
async def inspection_announced(m: InspectionAnnounced, r: RenderCtx) -> Notice:
    """To the site's staff and managers, ahead of the window (003 §2.4)."""
    text = r._(
        "📅 <b>Inspection announced</b>: {round}.\n"
        "Engineers will check the equipment between <b>{start}</b> and <b>{due}</b>. "
        "Please give them access; a short interruption may be needed.",
        round=round_name(r.t, m),
        start=round_day(r.t, r.tz, m.starts_on),
        due=round_day(r.t, r.tz, m.due_at),
    )
    return Notice(text)
