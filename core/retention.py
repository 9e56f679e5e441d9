"""Retention: what is kept how long, and the pruning the daily job does.

Two tables grow with every update and message and are only needed for a while:
- the update journal (`processed_update`): a handled update's row stops Telegram's
  redelivery (within 24 hours) from being handled twice; pruned once handled and
  older than `journal`. A row still being handled (no `done_at`: queued, leased or
  waiting to be recovered) is never pruned, however old.
- delivered outbox rows: pruned once sent and older than `outbox`. Pending rows
  (waiting, leased, retrying) and failed ones (the admins were told and may look) stay.
The audit log, tickets, ratings, pages and due work are never pruned here: they are the
record the KPIs and payments rest on.

Rows go in batches, each its own short transaction, so a large backlog never holds
SQLite's write lock for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_

from core.enums import OutboxStatus
from core.models import OutboxMessage, ProcessedUpdate
from core.unit_of_work import Core

BATCH = 5000


@dataclass(frozen=True)
class RetentionPolicy:
    """How long handled updates and delivered messages are kept."""

    journal: timedelta = timedelta(days=14)
    outbox: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Pruned:
    """What one pruning removed."""

    journal: int = 0
    outbox: int = 0


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
    while True:
        async with core.transaction() as tx:
            batch = (
                select(OutboxMessage.id)
                .where(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < before)
                .limit(BATCH)
            )
            result = await tx.session.execute(
                delete(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(batch.scalar_subquery()),
                    OutboxMessage.status == OutboxStatus.SENT,
                )
                .execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        removed += count
        if count < BATCH:
            return removed


async def prune(core: Core, policy: RetentionPolicy, now: datetime) -> Pruned:
    """Remove handled journal rows and delivered outbox rows older than the policy keeps."""
    return Pruned(
        journal=await _prune_journal(core, now - policy.journal),
        outbox=await _prune_outbox(core, now - policy.outbox),
    )
