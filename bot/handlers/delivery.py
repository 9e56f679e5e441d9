"""Admins: the alert sent when a message could not be delivered for good.

The outbox marks a row failed when Telegram will never take it (the person blocked the
bot, never started it, the chat is gone) and queues `admin.delivery_failed` to every
active admin, with the recipient's name, the message code and Telegram's reason.
"""

from __future__ import annotations

from bot.i18n import N_, Safe
from bot.notifications import Notice, RenderCtx
from bot.router import Router
from core.outbox import DELIVERY_FAILED

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


async def render_delivery_failed(r: RenderCtx) -> Notice:
    """admin.delivery_failed: who did not get which message, and why."""
    params = r.params
    name = params.get("recipient_name") or r._("chat {chat}", chat=params.get("chat_id") or "—")
    lines = [
        r._("⚠️ <b>A message could not be delivered</b> to {name}.", name=name),
        r._("Message: <code>{code}</code>", code=params.get("code") or "—"),
    ]
    if params.get("ticket_id"):
        lines.append(r._("Ticket #{ticket}", ticket=params["ticket_id"]))
    lines.append(r._("Reason: {reason}", reason=reason_text(r, str(params.get("error") or ""))))
    return Notice("\n".join(lines))


def register(router: Router) -> None:
    """Add the renderer of the delivery-failure alert."""
    router.renders(DELIVERY_FAILED)(render_delivery_failed)
