"""Read-only figures about the helpdesk's machinery, for readiness checks and metrics.

Each is one cheap query on an index: the outbox backlog and its oldest row, the oldest
unsent page, open tickets by level, the update journal's size. Ages are measured on
the core's clock, like every timestamp they compare with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from core.enums import OPEN_STATUSES, OutboxStatus
from core.models import OutboxMessage, ProcessedUpdate, Ticket
from core.unit_of_work import Core


@dataclass(frozen=True)
class Backlog:
    """What the machinery has still to do, as of `now`."""

    now: datetime
    outbox_pending: int = 0
    oldest_pending_at: datetime | None = None  # created_at of the oldest unsent row
    oldest_page_at: datetime | None = None  # created_at of the oldest unsent page
    open_tickets: dict[int, int] = field(default_factory=dict)  # severity -> count
    journal_rows: int = 0

    def age(self, since: datetime | None) -> float:
        """Seconds from `since` to now (0 when there is nothing)."""
        return max(0.0, (self.now - since).total_seconds()) if since is not None else 0.0


async def oldest_unsent_page(core: Core) -> datetime | None:
    """When the oldest page still waiting to go out was queued (None: none waits)."""
    async with core.reading() as session:
        oldest: datetime | None = await session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.page_id.is_not(None),
            )
        )
    return oldest


async def backlog(core: Core) -> Backlog:
    """Every figure at once, in one read transaction."""
    async with core.reading() as session:
        pending = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING
                )
            )
        ).one()
        oldest_page = await session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.page_id.is_not(None),
            )
        )
        levels = (
            await session.execute(
                select(Ticket.severity, func.count())
                .where(Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.severity)
            )
        ).all()
        journal = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    return Backlog(
        now=core.clock.now(),
        outbox_pending=int(pending[0] or 0),
        oldest_pending_at=pending[1],
        oldest_page_at=oldest_page,
        open_tickets={int(level): int(count) for level, count in levels},
        journal_rows=int(journal or 0),
    )
