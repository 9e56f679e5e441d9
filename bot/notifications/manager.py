"""What managers are told: escalation alerts, repeat failures and second visits, complaints,
inspection reports and spare devices overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.callback_ids import OPEN_ACTION
from bot.cards import Viewer, console_link
from bot.chat import Button, InlineKeyboard
from bot.dialogs.complain import manager_keyboard, manager_text
from bot.notifications.engineer import loan_keyboard, screen_notice
from bot.notifications.escalation import page_screen
from bot.notifications.registry import Notice, RenderCtx, renders
from bot.notifications.rounds import report_text, ticket_buttons
from bot.web.links import card_console
from core.enums import ComplaintStatus, Role
from core.messages import (
    CardMessage,
    ComplaintFiled,
    ComplaintOverdue,
    InspectionReport,
    ManagerAlert,
    RepeatFailure,
    SecondVisitAlert,
    SpareOverdue,
)


@renders(ManagerAlert)
async def manager_alert(m: ManagerAlert, r: RenderCtx) -> Notice:
    """The ticket, the missed clock and by how much, with an acknowledge button."""
    return screen_notice(r, page_screen(r.t, r.tz, m, Viewer.of(r.recipient)))


def _ticket_lines(m: CardMessage, r: RenderCtx) -> list[str]:
    """Who reported what, where, and on which device."""
    card = m.card
    device = " ".join(part for part in (card.asset_tag, card.brand_model) if part) or "—"
    return [
        r._("📝 {symptom}", symptom=card.symptom[:200]),
        r._(
            "🖥 {device} · 📍 {site} {location}",
            device=device,
            site=card.site_name,
            location=card.location,
        ),
        r._(
            "👤 {reporter} · ☎ {phone}",
            reporter=card.reporter_name or "—",
            phone=card.contact_phone or "—",
        ),
    ]


def _open_button(m: CardMessage, r: RenderCtx) -> InlineKeyboard:
    """Open the card in chat, and (as on the card) its page in the console."""
    link = console_link(r.t, m.card, Viewer.of(r.recipient), card_console(r.web_url, r.chat_id))
    return InlineKeyboard.of(
        [r.button(r._("🔎 Open ticket #{id}", id=m.card.id), OPEN_ACTION, m.card.id)],
        [Button(text=link.text, web_app=link.url)] if link is not None else [],
    )


@renders(RepeatFailure)
async def repeat_failure(m: RepeatFailure, r: RenderCtx) -> Notice:
    """The same device dispatched again within 30 days (000 §4)."""
    head = r._(
        "🔁 <b>Repeat failure</b>: ticket #{id} is for a device already reported in ticket #{previous} within 30 days.",
        id=m.card.id,
        previous=m.card.repeat_of_id or "?",
    )
    return Notice("\n".join([head, *_ticket_lines(m, r)]), _open_button(m, r))


@renders(SecondVisitAlert)
async def second_visit_alert(m: SecondVisitAlert, r: RenderCtx) -> Notice:
    """The reporter rejected the fix or rated it 1-2 (001 流程说明)."""
    if m.reason == "low_score":
        head = r._(
            "⚠️ <b>Second visit</b> for ticket #{id}: the reporter rated the fix {score} of 5.",
            id=m.card.id,
            score=m.score if m.score is not None else "?",
        )
    else:
        head = r._(
            "⚠️ <b>Second visit</b> for ticket #{id}: the reporter says the fault is not fixed.",
            id=m.card.id,
        )
    return Notice("\n".join([head, *_ticket_lines(m, r)]), _open_button(m, r))


@dataclass(frozen=True)
class _Complaint:
    """A complaint as its message carries it, in the shape managers' texts read."""

    id: int
    reporter_name: str
    ticket_id: int | None
    text: str
    due_at: datetime
    status: ComplaintStatus
    accepted: bool | None = None
    answer: str = ""


def _complaint(m: ComplaintFiled | ComplaintOverdue) -> _Complaint:
    return _Complaint(m.complaint_id, m.reporter, m.ticket_id, m.text, m.due_at, m.status)


@renders(ComplaintFiled)
async def complaint_filed(m: ComplaintFiled, r: RenderCtx) -> Notice:
    """A new complaint, with Confirm and Answer."""
    return Notice(manager_text(r, _complaint(m)), manager_keyboard(r, _complaint(m)))


@renders(ComplaintOverdue)
async def complaint_overdue(m: ComplaintOverdue, r: RenderCtx) -> Notice:
    """Unanswered at its deadline: managers first, administrators a working day later (002)."""
    common = {
        "id": m.complaint_id,
        "due": r.when(m.due_at),
        "reporter": m.reporter or "—",
        "text": m.text,
    }
    if m.level > 1:
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
        keyboard = manager_keyboard(r, _complaint(m))
    return Notice(text, keyboard)


@renders(InspectionReport)
async def inspection_report(m: InspectionReport, r: RenderCtx) -> Notice:
    """A round completed (004: report to the project lead)."""
    return Notice(report_text(r.t, r.tz, m), ticket_buttons(r, m))


@renders(SpareOverdue)
async def spare_overdue(m: SpareOverdue, r: RenderCtx) -> Notice:
    """A working day after the due date."""
    text = r._(
        "⚠️ <b>Spare device overdue</b>: ticket #{ticket} ({location}).\n"
        "{description}, lent {lent} by {engineer}, was due back {due}.",
        ticket=m.ticket_id,
        location=m.location or "—",
        description=m.description or r._("Spare device"),
        lent=r.when(m.lent_at),
        engineer=m.engineer or "—",
        due=r.when(m.due_back_at),
    )
    return Notice(text, loan_keyboard(r, m))
