"""Where a ticket stands when one of its deadlines escalates: what a page says about it.

Who holds the ticket and since when (accepted but never left, on the way since...), how
to reach them, and who has acknowledged the pages about the same deadline. The ladder
reads it when a step fires, and a page repeat reads it again, so a repeated page shows
the ticket as it is then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.enums import COMING_STATUSES, TicketStatus
from core.messages import Acknowledgement
from core.models import Page, Pause, Person, Site, SlaClock, Ticket
from core.sla import batch, deadlines
from core.unit_of_work import Tx


async def _status_since(tx: Tx, ticket: Ticket, clock: SlaClock) -> datetime | None:
    """When the ticket entered its present status (for 'accepted at 09:05, not on the way')."""
    if ticket.status is TicketStatus.PAUSED:
        return await tx.session.scalar(
            select(Pause.started_at)
            .where(Pause.ticket_id == ticket.id, Pause.ended_at.is_(None))
            .order_by(Pause.started_at.desc())
            .limit(1)
        )
    moments = {
        TicketStatus.REPORTED: ticket.reported_at,
        TicketStatus.REOPENED: clock.started_at,  # the second visit's clocks start at reopening
        TicketStatus.ASSIGNED: ticket.assigned_at,
        TicketStatus.ACKNOWLEDGED: ticket.acknowledged_at,
        TicketStatus.EN_ROUTE: ticket.departed_at,
        TicketStatus.ON_SITE: ticket.arrived_at,
        TicketStatus.RESTORED: ticket.restored_at,
        TicketStatus.RESOLVED: ticket.resolved_at,
        TicketStatus.CLOSED: ticket.closed_at,
        TicketStatus.CANCELLED: ticket.cancelled_at,
    }
    return moments.get(ticket.status)


async def acknowledgements(tx: Tx, ticket: Ticket, clock: SlaClock) -> tuple[Acknowledgement, ...]:
    """Who has acknowledged a page about this deadline (this visit), first acknowledgement each."""
    rows = batch.acknowledged(tx, ticket, clock)  # a batch of steps loaded them at once
    if rows is None:
        result = await tx.session.execute(
            select(Person.id, Person.name, Page.acknowledged_at)
            .join(Person, Person.id == Page.acknowledged_by_id)
            .where(
                Page.ticket_id == ticket.id,
                Page.clock == clock.kind,
                Page.step_key.startswith(deadlines.step_prefix(ticket.id, clock.cycle, clock.kind)),
                Page.acknowledged_at.is_not(None),
            )
            .order_by(Page.acknowledged_at, Page.id)
        )
        rows = [(person_id, name, at) for person_id, name, at in result if at is not None]
    seen: dict[int, Acknowledgement] = {}
    for person_id, name, at in rows:
        if person_id not in seen and at is not None:
            seen[person_id] = Acknowledgement(name=name, at=at)
    return tuple(seen.values())


async def holder_facts(tx: Tx, ticket: Ticket, clock: SlaClock) -> dict[str, Any]:
    """Where the ticket stands now: its site, its state since when, who holds it, who acknowledged."""
    site = await batch.get(tx, Site, ticket.site_id)
    assignee = await batch.get(tx, Person, ticket.assignee_id) if ticket.assignee_id else None
    return {
        "status": ticket.status,
        "site": site.name if site is not None else "",
        "site_id": ticket.site_id,
        "since": await _status_since(tx, ticket, clock),
        "assignee": assignee.name if assignee else None,
        "assignee_id": assignee.id if assignee else None,
        "assignee_phone": (assignee.phone or "") if assignee else "",
        "acknowledged": await acknowledgements(tx, ticket, clock),
        "expected_at": ticket.expected_arrival_at if ticket.status in COMING_STATUSES else None,
    }


async def clock_of_page(tx: Tx, ticket: Ticket, page: Page) -> SlaClock | None:
    """The clock a page is about (of the visit the page was sent in)."""
    return await tx.session.scalar(
        select(SlaClock)
        .where(SlaClock.ticket_id == ticket.id, SlaClock.kind == page.clock)
        .order_by(SlaClock.cycle.desc())
        .limit(1)
    )
