"""The texts of escalation steps, shared by engineers' pages and managers' alerts.

A page says what to do about it: the missed deadline and by how much, a raised level,
the site, the ticket's state and who holds it since when (accepted but never left, on
the way since...), the engineer's phone, who has acknowledged so far, and the buttons
that help the reader: acknowledge (pages repeat until acknowledged), reassign and set
the level (dispatchers of the ticket's site), open the ticket. The acknowledged page is
shown again with the time it was acknowledged, its tools still there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.callback_ids import OPEN_ACTION, PAGE_ACK_ACTION, PAGE_TOOL_ACTION
from bot.cards import NEW_ARRIVAL_TIME, Op, Viewer, short, time_left
from bot.i18n import N_, Translator
from bot.labels import CLOCK, SEVERITY, label
from bot.screens import ButtonSpec, Screen, rows_of
from core import permissions
from core.enums import COMING_STATUSES, OPEN_STATUSES, TicketStatus
from core.messages import DeadlineMessage, DeadlineReminder, EscalationPage, ManagerAlert
from core.sla.policy import ClockKind

REMINDER = N_("⏰ <b>Ticket #{ticket}</b>: {clock} due {due}, {left}.")
DEADLINE_MISSED = N_("🚨 <b>Ticket #{ticket}</b>: the {clock} deadline ({due}) was {missed}.")
LEVEL_RAISED = N_("Level raised to {level}.")
ALSO_MISSED = N_("⚠️ At this level the {clock} deadline ({due}) is {missed} too.")
NEXT_DUE = N_("⏭ Next: {clock} due {due}.")
MANAGER_ALERT = N_("🚨 <b>Escalation: ticket #{ticket}</b>")
ACKNOWLEDGE_BUTTON = N_("✅ Acknowledge page")
ACKNOWLEDGED = N_("✅ Acknowledged at {at}.")

# Who holds the ticket in each state, and since when: what the reader needs to act.
HOLDER = {
    TicketStatus.REPORTED: N_("Nobody has it yet: waiting for dispatch since {since}."),
    TicketStatus.REOPENED: N_("Nobody has it yet: reopened for a second visit at {since}."),
    TicketStatus.ASSIGNED: N_("Dispatched at {since}, not accepted yet."),
    TicketStatus.ACKNOWLEDGED: N_("Accepted at {since}, not on the way yet."),
    TicketStatus.EN_ROUTE: N_("On the way since {since}."),
    TicketStatus.ON_SITE: N_("On site since {since}."),
    TicketStatus.PAUSED: N_("Paused since {since}."),
    TicketStatus.RESTORED: N_("Service restored at {since}; the full fix is still to come."),
    TicketStatus.RESOLVED: N_("Resolved at {since}; waiting for the reporter."),
    TicketStatus.CLOSED: N_("Closed at {since}."),
    TicketStatus.CANCELLED: N_("Cancelled at {since}."),
}


def summary_line(t: Translator, m: DeadlineMessage) -> str:
    """'📝 No picture · Room 301'."""
    return t("📝 {symptom} · {location}", symptom=short(m.symptom, 120), location=m.location or "—")


def missed_by(t: Translator, m: DeadlineMessage) -> str:
    """'missed by 1 h' or just 'missed' when paged right at the deadline."""
    return _missed_by_seconds(t, m.overdue_seconds)


def _missed_by_seconds(t: Translator, seconds: int) -> str:
    if seconds < 60:
        return t("missed")
    return t("missed by {late}", late=t.duration(timedelta(seconds=seconds)))


def raise_lines(t: Translator, tz: str, m: DeadlineMessage) -> list[str]:
    """After a raise: the other deadlines the new level has missed already, and the next one.

    They come in this one message instead of one alert per step (issue 16).
    """
    lines = [
        t(
            ALSO_MISSED,
            clock=label(t, CLOCK, missed.clock),
            due=t.moment(missed.due_at, tz),
            missed=_missed_by_seconds(t, missed.overdue_seconds),
        )
        for missed in m.also_missed
    ]
    if m.next_due is not None:
        lines.append(
            t(
                NEXT_DUE,
                clock=label(t, CLOCK, m.next_due.clock),
                due=t.moment(m.next_due.due_at, tz),
            )
        )
    return lines


def reminder_text(t: Translator, tz: str, m: DeadlineReminder, now: datetime) -> str:
    """80 %: the deadline is near."""
    return "\n".join(
        [
            t(
                REMINDER,
                ticket=m.ticket_id,
                clock=label(t, CLOCK, m.clock),
                due=t.moment(m.due_at, tz),
                left=time_left(t, m.due_at, now),
            ),
            summary_line(t, m),
        ]
    )


def _repeat_mark(t: Translator, m: DeadlineMessage) -> list[str]:
    """A repeated page says so, so it is not mistaken for a new escalation."""
    if not isinstance(m, EscalationPage) or not m.repeat:
        return []
    return [t("🔁 Reminder {n}: not acknowledged yet.", n=m.repeat)]


def standing_lines(t: Translator, tz: str, m: DeadlineMessage, *, phone: bool) -> list[str]:
    """Where, who holds it since when (with their phone), who has acknowledged."""
    lines = []
    if m.site:
        lines.append(t("📍 {site} · {location}", site=m.site, location=m.location or "—"))
    engineer = t("Engineer: {name}", name=m.assignee or t("nobody yet"))
    if phone and m.assignee and m.assignee_phone:
        engineer += " · " + t("☎ {phone}", phone=m.assignee_phone)
    lines.append(engineer)
    if m.since is not None and m.status in HOLDER:
        lines.append(t(HOLDER[m.status], since=t.moment(m.since, tz)))
    if m.expected_at is not None and m.assignee:
        lines.append(
            t(
                "🕐 {name} expects to arrive at {time}.",
                name=m.assignee,
                time=t.moment(m.expected_at, tz),
            )
        )
    if m.acknowledged:
        names = ", ".join(
            t("{name} ({at})", name=ack.name, at=t.moment(ack.at, tz)) for ack in m.acknowledged
        )
        lines.append(t("✅ Acknowledged by {names}.", names=names))
    elif isinstance(m, ManagerAlert) or m.percent > 100:
        lines.append(t("Nobody has acknowledged the page yet."))
    return lines


def page_text(t: Translator, tz: str, m: DeadlineMessage, *, phone: bool = True) -> str:
    """100 %: the deadline passed; the level may have been raised."""
    lines = [
        *_repeat_mark(t, m),
        t(
            DEADLINE_MISSED,
            ticket=m.ticket_id,
            clock=label(t, CLOCK, m.clock),
            due=t.moment(m.due_at, tz),
            missed=missed_by(t, m),
        ),
    ]
    if m.raised_to:
        lines.append(t(LEVEL_RAISED, level=label(t, SEVERITY, m.raised_to)))
    lines += raise_lines(t, tz, m)
    lines += standing_lines(t, tz, m, phone=phone)
    lines.append(summary_line(t, m))
    return "\n".join(lines)


def manager_alert_text(t: Translator, tz: str, m: DeadlineMessage, *, phone: bool = True) -> str:
    """150 %: for managers, the ticket, how late it is, and where it stands."""
    level = m.raised_to or m.severity
    return "\n".join(
        [
            *_repeat_mark(t, m),
            t(MANAGER_ALERT, ticket=m.ticket_id),
            t(
                "The {clock} deadline ({due}) was {missed}.",
                clock=label(t, CLOCK, m.clock),
                due=t.moment(m.due_at, tz),
                missed=missed_by(t, m),
            ),
            label(t, SEVERITY, level) if level else "—",
            *raise_lines(t, tz, m),
            *standing_lines(t, tz, m, phone=phone),
            summary_line(t, m),
        ]
    )


def escalation_text(t: Translator, tz: str, m: EscalationPage) -> str:
    """The text of a page or a manager alert."""
    if isinstance(m, ManagerAlert):
        return manager_alert_text(t, tz, m)
    return page_text(t, tz, m)


def open_spec(t: Translator, ticket_id: int) -> ButtonSpec:
    """📄 Open ticket: the card as a new message."""
    return ButtonSpec(t("📄 Open ticket"), OPEN_ACTION, (ticket_id,))


def tool_specs(t: Translator, m: DeadlineMessage, viewer: Viewer) -> list[ButtonSpec]:
    """What helps this reader now: the engineer late for arrival gives a new time;
    dispatchers of the site reassign and set the level."""
    specs = []
    coming = m.status in COMING_STATUSES and m.clock == ClockKind.ARRIVAL
    if coming and viewer.person_id is not None and viewer.person_id == m.assignee_id:
        specs.append(ButtonSpec(t(NEW_ARRIVAL_TIME), PAGE_TOOL_ACTION, (m.ticket_id, Op.ETA.value)))
    if m.status in OPEN_STATUSES and permissions.dispatches_at(
        viewer.role, viewer.site_id, m.site_id
    ):
        move = t("🔀 Reassign") if m.assignee else t("👷 Assign")
        specs.append(ButtonSpec(move, PAGE_TOOL_ACTION, (m.ticket_id, Op.ASSIGN.value)))
        specs.append(ButtonSpec(t("🎚 Set level"), PAGE_TOOL_ACTION, (m.ticket_id, Op.LEVEL.value)))
    return specs


def page_screen(t: Translator, tz: str, m: EscalationPage, viewer: Viewer) -> Screen:
    """A page with its acknowledge button and the tools that help its reader."""
    rows: list[tuple[ButtonSpec, ...]] = []
    if m.page_id:
        rows.append((ButtonSpec(t(ACKNOWLEDGE_BUTTON), PAGE_ACK_ACTION, (m.page_id,)),))
    rows += rows_of(tool_specs(t, m, viewer))
    rows.append((open_spec(t, m.ticket_id),))
    return Screen(escalation_text(t, tz, m), tuple(rows))


def acknowledged_screen(
    t: Translator,
    tz: str,
    m: EscalationPage | None,
    *,
    ticket_id: int,
    at: datetime,
    viewer: Viewer,
) -> Screen:
    """The page again, with when it was acknowledged; its tools and the card stay at hand."""
    text = t(ACKNOWLEDGED, at=t.moment(at, tz))
    tools: list[ButtonSpec] = []
    if m is not None:
        text = escalation_text(t, tz, m) + "\n\n" + text
        tools = tool_specs(t, m, viewer)
    return Screen(text, (*rows_of(tools), (open_spec(t, ticket_id),)))
