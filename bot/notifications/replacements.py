"""Engineer replacement requests, told to the site's managers, dispatchers and admins.

A request filed (with what must be handed over), the replacement recorded (in time or
late), a request withdrawn, and a deadline missed (20 points off the quarter).
"""

from __future__ import annotations

import html

from bot.notifications.registry import Notice, RenderCtx, renders
from bot.rendering.wording import quarter_title
from core.messages import (
    ReplacementDone,
    ReplacementMessage,
    ReplacementOverdue,
    ReplacementRequested,
    ReplacementWithdrawn,
)


def request_lines(r: RenderCtx, m: ReplacementMessage) -> list[str]:
    """Who is to be replaced, why, who asked, and by when."""
    return [
        r._(
            "👷 {engineer}{site} · requested by {by} on {moment}",
            engineer=m.engineer,
            site=f" · {m.site}" if m.site else "",
            by=m.requested_by or "—",
            moment=r.when(m.requested_at),
        ),
        r._("Reason: {reason}", reason=m.reason),
        r._("Due by {moment} (10 working days, 002).", moment=r.when(m.due_at)),
    ]


@renders(ReplacementRequested)
async def replacement_requested(m: ReplacementRequested, r: RenderCtx) -> Notice:
    """A request filed, with the work the engineer still has open."""
    lines = [
        r._("🔄 <b>Engineer replacement requested</b> (#{id})", id=m.request_id),
        *request_lines(r, m),
        r._(
            "To hand over: {tickets} open ticket(s), {plans} inspection plan(s) and round(s).",
            tickets=m.open_tickets,
            plans=m.plans,
        ),
        r._(
            "Not replaced by the deadline, it costs 20 points (000 §4). Record it with /replacements."
        ),
    ]
    return Notice("\n".join(lines))


@renders(ReplacementDone)
async def replacement_done(m: ReplacementDone, r: RenderCtx) -> Notice:
    """The replacement recorded, with the handover."""
    head = (
        r._("✅ <b>Engineer replaced</b> (#{id}), in time.", id=m.request_id)
        if m.on_time
        else r._("⚠️ <b>Engineer replaced</b> (#{id}), after the deadline.", id=m.request_id)
    )
    taker = m.successor or r._("the least-loaded engineers of the site")
    lines = [
        head,
        *request_lines(r, m),
        r._(
            "Handed over to {taker} on {moment}: {tickets} ticket(s), {plans} inspection plan(s) and round(s).",
            taker=html.escape(taker, quote=False),
            moment=r.when(m.done_at),
            tickets=m.tickets,
            plans=m.plans,
        ),
    ]
    return Notice("\n".join(lines))


@renders(ReplacementWithdrawn)
async def replacement_withdrawn(m: ReplacementWithdrawn, r: RenderCtx) -> Notice:
    """The request withdrawn before its deadline."""
    lines = [
        r._("↩️ <b>Replacement request withdrawn</b> (#{id}).", id=m.request_id),
        *request_lines(r, m),
    ]
    return Notice("\n".join(lines))


@renders(ReplacementOverdue)
async def replacement_overdue(m: ReplacementOverdue, r: RenderCtx) -> Notice:
    """The deadline passed with the engineer still in place: 20 points off the quarter."""
    lines = [
        r._("⛔ <b>Engineer not replaced in time</b> (#{id}).", id=m.request_id),
        *request_lines(r, m),
        r._(
            "−20 points in the {quarter} scorecard (000 §4: 卖方未按买方要求撤换工程师).",
            quarter=quarter_title(r.t, m.quarter),
        ),
    ]
    return Notice("\n".join(lines))
