"""What administrators are told: a message Telegram will never take, and an inspection
report that reached no manager in time.

The outbox marks a row failed when Telegram will never take it (the person blocked the
bot, never started it, the chat is gone) and queues `DeliveryFailed` to every active
admin, with the recipient's name, the message's kind and Telegram's reason.
"""

from __future__ import annotations

from bot.i18n import N_, Safe
from bot.notifications.registry import Notice, RenderCtx, renders
from bot.notifications.rounds import report_text, round_moment, ticket_buttons
from core.messages import DeliveryFailed, InspectionReportOverdue

# Telegram's reasons, as the transports pass them on, and what an admin can do about them.
_REASONS = (
    ("blocked", N_("they blocked the bot; they must unblock it")),
    ("can't initiate", N_("they never started the bot; ask them to open it and press Start")),
    ("chat not found", N_("the chat does not exist (wrong or deleted account)")),
    ("user not found", N_("the chat does not exist (wrong or deleted account)")),
    ("kicked", N_("the bot was removed from the chat")),
    ("deactivated", N_("their Telegram account was deleted")),
    ("no chat", N_("they have no Telegram chat linked")),
)


def reason_text(r: RenderCtx, error: str) -> Safe:
    """Telegram's reason in words an admin can act on, or as Telegram gave it (escaped)."""
    lowered = error.lower()
    for marker, explanation in _REASONS:
        if marker in lowered:
            return Safe(r._(explanation))
    return Safe(r._("Telegram said: {error}", error=error))


@renders(DeliveryFailed)
async def delivery_failed(m: DeliveryFailed, r: RenderCtx) -> Notice:
    """Who did not get which message, and why."""
    name = m.recipient_name or r._("chat {chat}", chat=m.chat_id or "—")
    lines = [
        r._("⚠️ <b>A message could not be delivered</b> to {name}.", name=name),
        r._("Message: <code>{code}</code>", code=m.code or "—"),
    ]
    if m.ticket_id:
        lines.append(r._("Ticket #{ticket}", ticket=m.ticket_id))
    lines.append(r._("Reason: {reason}", reason=reason_text(r, m.error)))
    return Notice("\n".join(lines))


@renders(InspectionReportOverdue)
async def inspection_report_overdue(m: InspectionReportOverdue, r: RenderCtx) -> Notice:
    """To the engineer and the admins: the report reached no manager by its due date."""
    heading = r._(
        "⚠️ <b>Inspection report not delivered</b>: no manager received it by {due}. Here it is:",
        due=round_moment(r.t, r.tz, m.report_due_at),
    )
    return Notice(f"{heading}\n\n{report_text(r.t, r.tz, m)}", ticket_buttons(r, m))
