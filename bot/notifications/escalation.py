"""The texts of escalation steps, shared by engineers' pages and managers' alerts.

A page shows the missed deadline and by how much, a raised level, who holds the ticket,
an acknowledge button (pages repeat until acknowledged) and a button to open the card;
the acknowledged page is shown again with the time it was acknowledged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.callback_ids import OPEN_ACTION, PAGE_ACK_ACTION
from bot.cards import short, time_left
from bot.i18n import N_, Translator
from bot.labels import CLOCK, SEVERITY, label
from bot.screens import ButtonSpec, Screen
from core.messages import DeadlineMessage, DeadlineReminder, EscalationPage, ManagerAlert

REMINDER = N_("⏰ <b>Ticket #{ticket}</b>: {clock} due {due}, {left}.")
DEADLINE_MISSED = N_("🚨 <b>Ticket #{ticket}</b>: the {clock} deadline ({due}) was {missed}.")
LEVEL_RAISED = N_("Level raised to {level}.")
MANAGER_ALERT = N_("🚨 <b>Escalation: ticket #{ticket}</b>")
ACKNOWLEDGE_BUTTON = N_("✅ Acknowledge page")
ACKNOWLEDGED = N_("✅ Acknowledged at {at}.")


def summary_line(t: Translator, m: DeadlineMessage) -> str:
    """'📝 No picture · Room 301'."""
    return t("📝 {symptom} · {location}", symptom=short(m.symptom, 120), location=m.location or "—")


def missed_by(t: Translator, m: DeadlineMessage) -> str:
    """'missed by 1 h' or just 'missed' when paged right at the deadline."""
    if m.overdue_seconds < 60:
        return t("missed")
    return t("missed by {late}", late=t.duration(timedelta(seconds=m.overdue_seconds)))


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


def page_text(t: Translator, tz: str, m: DeadlineMessage) -> str:
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
    lines.append(t("Engineer: {name}", name=m.assignee or t("nobody yet")))
    lines.append(summary_line(t, m))
    return "\n".join(lines)


def manager_alert_text(t: Translator, tz: str, m: DeadlineMessage) -> str:
    """150 %: for managers, the ticket and how late it is."""
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
            t("Engineer: {name}", name=m.assignee or t("nobody yet")),
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


def page_screen(t: Translator, tz: str, m: EscalationPage) -> Screen:
    """A page with its acknowledge button."""
    rows: list[tuple[ButtonSpec, ...]] = []
    if m.page_id:
        rows.append((ButtonSpec(t(ACKNOWLEDGE_BUTTON), PAGE_ACK_ACTION, (m.page_id,)),))
    rows.append((open_spec(t, m.ticket_id),))
    return Screen(escalation_text(t, tz, m), tuple(rows))


def acknowledged_screen(
    t: Translator, tz: str, m: EscalationPage | None, *, ticket_id: int, at: datetime
) -> Screen:
    """The page again, with when it was acknowledged, and only the button to open the card."""
    text = t(ACKNOWLEDGED, at=t.moment(at, tz))
    if m is not None:
        text = escalation_text(t, tz, m) + "\n\n" + text
    return Screen(text, ((open_spec(t, ticket_id),),))
