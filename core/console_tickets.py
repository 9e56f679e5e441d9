"""What the console's ticket page adds to the chat's card: business time used per clock
against its target, the escalation steps (planned, fired, withdrawn) and the pages they
sent with who acknowledged them, and the photos' file ids.

The caller has already let the viewer see the ticket (`TicketService.history` decides);
this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.enums import WorkStatus
from core.errors import NotFound
from core.models import AuditEvent, DueWork, Page, Person, SlaClock, Ticket, TicketPhoto
from core.unit_of_work import Core


@dataclass(frozen=True)
class ClockUse:
    """One deadline of the current cycle: business time used against its target."""

    kind: str
    target_seconds: int
    used_seconds: int  # business time counted so far (pauses left out)
    paused_seconds: int  # business time spent paused
    running: bool
    paused: bool

    @property
    def share(self) -> float:
        """Used time as a share of the target (1.0 = the deadline)."""
        return self.used_seconds / self.target_seconds if self.target_seconds else 0.0


@dataclass(frozen=True)
class Step:
    """One escalation step of a clock (e.g. the 80 % reminder, the 100 % page)."""

    clock: str
    percent: int
    status: WorkStatus
    due_at: datetime | None
    done_at: datetime | None
    skipped: bool = False  # handled by dropping it (caught up after its moment had passed)


@dataclass(frozen=True)
class Paged:
    """A page one step sent to one person, and its acknowledgement."""

    clock: str
    level: str  # "page" (100 %) or "manager" (150 %)
    recipient: str
    sent_at: datetime
    repeats: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class TicketExtras:
    """The ticket page's extra sections."""

    clocks: tuple[ClockUse, ...]
    steps: tuple[Step, ...]
    pages: tuple[Paged, ...]
    photos: tuple[str, ...]  # Telegram file ids, oldest first


async def ticket_extras(core: Core, ticket_id: int) -> TicketExtras:
    """The extras of one ticket (its current cycle's clocks and steps, every page)."""
    now = core.clock.now()
    async with core.reading() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("ticket.not_found", ticket_id=ticket_id)
        clocks = (
            await session.scalars(
                select(SlaClock)
                .where(
                    SlaClock.ticket_id == ticket.id,
                    SlaClock.cycle == ticket.cycle,
                    SlaClock.cancelled.is_(False),
                )
                .order_by(SlaClock.id)
            )
        ).all()
        uses = []
        for clock in clocks:
            calendar = core.policy.calendar(clock.calendar, ticket.timezone)
            end = clock.stopped_at or now
            paused = clock.paused_seconds
            if clock.paused_since is not None and clock.stopped_at is None:
                paused += calendar.between(clock.paused_since, now).total_seconds()
            counted = calendar.between(clock.started_at, end).total_seconds() - paused
            uses.append(
                ClockUse(
                    kind=clock.kind,
                    target_seconds=clock.target_seconds,
                    used_seconds=max(0, round(counted)),
                    paused_seconds=round(paused),
                    running=clock.stopped_at is None,
                    paused=clock.paused_since is not None and clock.stopped_at is None,
                )
            )
        work = (
            await session.scalars(
                select(DueWork)
                .where(DueWork.key.startswith(f"esc:{ticket.id}:{ticket.cycle}:"))
                .order_by(DueWork.id)
            )
        ).all()
        # Steps caught up too late are dropped rather than sent, and the audit says so.
        dropped = {
            (str(data.get("clock")), data.get("percent"))
            for data in await session.scalars(
                select(AuditEvent.data).where(
                    AuditEvent.entity == "ticket",
                    AuditEvent.entity_id == ticket.id,
                    AuditEvent.action == "sla.step_skipped",
                    AuditEvent.at >= ticket.reported_at,
                )
            )
        }
        steps = []
        for row in work:
            # esc:<ticket>:<cycle>:<clock>:<percent>
            parts = row.key.split(":")
            if len(parts) != 5 or not parts[4].isdigit():
                continue
            kind, percent = parts[3], int(parts[4])
            skipped = row.status is WorkStatus.DONE and (kind, percent) in dropped
            steps.append(Step(kind, percent, row.status, row.due_at, row.done_at, skipped))
        steps.sort(key=lambda step: (step.clock, step.percent))
        recipient = aliased(Person)
        acknowledger = aliased(Person)
        paged = (
            await session.execute(
                select(Page, recipient.name, acknowledger.name)
                .join(recipient, recipient.id == Page.recipient_id)
                .outerjoin(acknowledger, acknowledger.id == Page.acknowledged_by_id)
                .where(Page.ticket_id == ticket.id)
                .order_by(Page.created_at, Page.id)
            )
        ).all()
        photos = (
            await session.scalars(
                select(TicketPhoto.file_id)
                .where(TicketPhoto.ticket_id == ticket.id)
                .order_by(TicketPhoto.added_at, TicketPhoto.id)
            )
        ).all()
        return TicketExtras(
            clocks=tuple(uses),
            steps=tuple(steps),
            pages=tuple(
                Paged(
                    clock=page.clock,
                    level=page.level,
                    recipient=name,
                    sent_at=page.created_at,
                    repeats=page.repeats,
                    acknowledged_at=page.acknowledged_at,
                    acknowledged_by=by,
                )
                for page, name, by in paged
            ),
            photos=tuple(photos),
        )
