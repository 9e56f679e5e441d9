"""Page repeats: a critical page is sent again every `page_repeat_interval` until acknowledged.

When the escalation ladder writes a page it schedules repeat 1. Each repeat, fired by the
due-work runner in its own transaction, queues the page's first message again (the same
message with `repeat = n`, so the same renderer shows it as a reminder) and schedules the
next one. A repeat goes out after the page and the repeats before it (the page's outbox
chain, one rank further on), even when a sender that died held the page. Repeats stop
when the page is acknowledged (`acknowledge_page` cancels the pending one), when the
ticket is no longer open, when the clock the page was about has stopped (the engineer
arrived, say), or after `MAX_PAGE_REPEATS`; the last two and the cap are noted in the
audit log.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core import messages, outbox, scheduling
from core.enums import OPEN_STATUSES
from core.messages import EscalationPage
from core.models import DueWork, OutboxMessage, Page, SlaClock, Ticket
from core.sla import deadlines
from core.sla.holder import clock_of_page, holder_facts
from core.unit_of_work import Tx

PAGE_REPEAT = "page_repeat"
MAX_PAGE_REPEATS = 8


def repeat_key(page_id: int, repeat: int) -> str:
    """Idempotency key of repeat `repeat` of a page (due work and outbox row alike)."""
    return f"page-repeat:{page_id}:{repeat}"


async def schedule_repeat(tx: Tx, page: Page, repeat: int) -> bool:
    """Schedule repeat number `repeat` one interval from now; True if newly scheduled."""
    return await scheduling.schedule(
        tx,
        key=repeat_key(page.id, repeat),
        kind=PAGE_REPEAT,
        due_at=tx.now + tx.policy.page_repeat_interval,
        ticket_id=page.ticket_id,
        payload={"page_id": page.id, "repeat": repeat},
    )


async def _stop_reason(tx: Tx, page: Page, ticket: Ticket | None) -> str | None:
    if ticket is None or ticket.status not in OPEN_STATUSES:
        return "ticket_closed"
    clock = await tx.session.scalar(
        select(SlaClock)
        .where(SlaClock.ticket_id == ticket.id, SlaClock.kind == page.clock)
        .order_by(SlaClock.cycle.desc())
        .limit(1)
    )
    if clock is not None and not deadlines.is_running(clock):
        return "clock_stopped"
    return None


async def fire_page_repeat(tx: Tx, work: DueWork) -> None:
    """Send a page again unless it was acknowledged or is moot; schedule the next repeat."""
    page_id = int(work.payload["page_id"])
    repeat = int(work.payload["repeat"])
    # The ticket first: everywhere else locks the ticket before what hangs off it.
    ticket = (
        await tx.session.get(Ticket, work.ticket_id, with_for_update=True)
        if work.ticket_id is not None
        else None
    )
    page = await tx.session.get(Page, page_id, with_for_update=True)
    if page is None or page.acknowledged_at is not None:
        return
    reason = await _stop_reason(tx, page, ticket)
    if reason is not None:
        await tx.audit("page", page.id, "page.repeats_stopped", reason=reason, repeats=page.repeats)
        return
    original = await tx.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.page_id == page.id)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if original is None:  # the page was never queued: nothing to repeat
        return
    message = messages.decode(original.code, original.params)
    if not isinstance(message, EscalationPage):
        raise TypeError(f"page {page.id} was carried by a {original.code!r}, not a page")
    # The same page, showing the ticket as it stands now (moved on? acknowledged by whom?).
    clock = await clock_of_page(tx, ticket, page) if ticket is not None else None
    fresh = await holder_facts(tx, ticket, clock) if ticket is not None and clock else {}
    await outbox.enqueue(
        tx,
        replace(message, repeat=repeat, **fresh),
        key=repeat_key(page.id, repeat),
        recipient_id=original.recipient_id,
        chat_id=original.chat_id,
        page_id=page.id,
        chain=original.chain,
        rank=original.rank + repeat if original.rank is not None else None,
    )
    page.repeats = repeat
    if repeat >= MAX_PAGE_REPEATS:
        await tx.audit("page", page.id, "page.repeats_stopped", reason="cap", repeats=repeat)
        return
    await schedule_repeat(tx, page, repeat + 1)
