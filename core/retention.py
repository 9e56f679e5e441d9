"""Retention: what is kept how long, and the pruning the daily job does.

Two tables grow with every update and message and are only needed for a while:
- the update journal (`processed_update`): a handled update's row stops Telegram's
  redelivery (within 24 hours) from being handled twice; pruned once handled and
  older than `journal`. A row still being handled (no `done_at`: queued, leased or
  waiting to be recovered) is never pruned, however old.
- delivered outbox rows: pruned once sent and older than `outbox`; dropped ones (a
  reminder a later step made late, never to be sent) once made longer ago than that.
  Pending rows (waiting, leased, retrying) and failed ones (the admins were told and
  may look) stay.
- a finished ticket's due work (its escalation steps, progress messages and reminders,
  fired or cancelled): pruned once the ticket is closed or cancelled and the row was
  done more than `due_work` ago. Each row only keeps its key from being scheduled twice,
  and a finished ticket's keys never come back: a reopened ticket starts a new cycle
  with keys of its own. Pending rows, and rows of open tickets or of no ticket (the
  jobs' and inspections' keys) stay.
The audit log, tickets, clocks, ratings and pages are never pruned here: they are the
record the KPIs and payments rest on.

Rows go in batches, each its own short transaction, so a large backlog never holds
SQLite's write lock for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, tuple_

from core.enums import OutboxStatus, TicketStatus, WorkStatus
from core.models import DueWork, OutboxMessage, ProcessedUpdate, Ticket
from core.unit_of_work import Core

BATCH = 5000


@dataclass(frozen=True)
class RetentionPolicy:
    """How long handled updates, delivered messages and finished due work are kept."""

    journal: timedelta = timedelta(days=14)
    outbox: timedelta = timedelta(days=30)
    due_work: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Pruned:
    """What one pruning removed."""

    journal: int = 0
    outbox: int = 0
    due_work: int = 0


async def _prune_journal(core: Core, before: datetime) -> int:
    removed = 0
    while True:
        async with core.transaction() as tx:
            batch = (
                select(ProcessedUpdate.bot_id, ProcessedUpdate.update_id)
                .where(ProcessedUpdate.done_at.is_not(None), ProcessedUpdate.done_at < before)
                .limit(BATCH)
            )
            result = await tx.session.execute(
                delete(ProcessedUpdate)
                .where(
                    tuple_(ProcessedUpdate.bot_id, ProcessedUpdate.update_id).in_(batch),
                    # Checked again on the rows themselves: never one still in hand.
                    ProcessedUpdate.done_at.is_not(None),
                )
                .execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        removed += count
        if count < BATCH:
            return removed


async def _prune_outbox(core: Core, before: datetime) -> int:
    removed = 0
    done = (OutboxStatus.SENT, OutboxStatus.DROPPED)
    while True:
        async with core.transaction() as tx:
            batch = (
                select(OutboxMessage.id)
                .where(
                    or_(
                        and_(
                            OutboxMessage.status == OutboxStatus.SENT,
                            OutboxMessage.sent_at < before,
                        ),
                        # A dropped row has no time of its own: it was made before it was
                        # dropped, and once dropped it never changes again.
                        and_(
                            OutboxMessage.status == OutboxStatus.DROPPED,
                            OutboxMessage.created_at < before,
                        ),
                    )
                )
                .limit(BATCH)
            )
            result = await tx.session.execute(
                delete(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(batch.scalar_subquery()),
                    # Checked again on the rows themselves: never one still to send.
                    OutboxMessage.status.in_(done),
                )
                .execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        removed += count
        if count < BATCH:
            return removed


FINISHED = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


async def _prune_due_work(core: Core, before: datetime) -> int:
    removed = 0
    while True:
        async with core.transaction() as tx:
            finished = select(Ticket.id).where(Ticket.status.in_(FINISHED))
            batch = (
                select(DueWork.id)
                .where(
                    DueWork.status != WorkStatus.PENDING,
                    DueWork.done_at < before,
                    DueWork.ticket_id.in_(finished),
                )
                .limit(BATCH)
            )
            result = await tx.session.execute(
                delete(DueWork)
                .where(
                    DueWork.id.in_(batch.scalar_subquery()),
                    # Checked again on the rows themselves: never one still to fire.
                    DueWork.status != WorkStatus.PENDING,
                )
                .execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        removed += count
        if count < BATCH:
            return removed


async def prune(core: Core, policy: RetentionPolicy, now: datetime) -> Pruned:
    """Remove what the policy no longer keeps: handled updates, delivered messages and
    finished tickets' due work older than their ages."""
    return Pruned(
        journal=await _prune_journal(core, now - policy.journal),
        outbox=await _prune_outbox(core, now - policy.outbox),
        due_work=await _prune_due_work(core, now - policy.due_work),
    )
