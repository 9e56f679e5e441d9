"""What dispatchers are told: a ticket nobody has, or one an engineer declined, with the
engineers of the site to choose from (read when the message is written out, since one may
have joined since)."""

from __future__ import annotations

from bot.cards import DECLINE_REASON
from bot.labels import label
from bot.notifications.engineer import card_notice
from bot.notifications.registry import Notice, RenderCtx, renders
from core.messages import DispatchDeclined, NeedsEngineer


@renders(NeedsEngineer)
async def needs_engineer(m: NeedsEngineer, r: RenderCtx) -> Notice:
    """A ticket needs an engineer."""
    header = r._("📥 <b>Ticket #{ticket} needs an engineer</b>", ticket=m.card.id)
    return await card_notice(m, r, header)


@renders(DispatchDeclined)
async def dispatch_declined(m: DispatchDeclined, r: RenderCtx) -> Notice:
    """The engineer's reason, and the engineers to choose from."""
    header = r._(
        "↩️ <b>{name} declined ticket #{ticket}</b>: <i>{reason}</i>",
        name=m.declined_by or "?",
        ticket=m.card.id,
        reason=label(r.t, DECLINE_REASON, m.reason),
    )
    return await card_notice(m, r, header)
