"""Closed quarters' KPI counts, kept so the scorecard need not count a quarter again.

A quarter's KPIs are counted over its arrival clocks, service sheets and repairs (a
quarter of a million-ticket table takes seconds). Once the quarter is over they change
only when an event touches one of its tickets (a late rating, a visit finished, a
second visit, a clock that stopped), or when an arrival clock still running passes its
deadline. So the per-site counts of a closed quarter are stored (`KpiSnapshot`) with
the last audit event they saw and that next deadline; they are used while

* the question is about a moment at or after the one they were counted at, before that
  deadline (`stale_after`), and
* no audit event after the one they saw is about a ticket the quarter depends on: one
  reported in the quarter or in the 30 days before it (the repeat window), or one with
  an arrival clock started in it.

Otherwise they are counted again and stored anew. Every change to a ticket writes an
audit event in the same transaction, so no change goes unseen; the check reads only the
events after the snapshot's, and moves the snapshot past the irrelevant ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent, KpiSnapshot, SlaClock, Ticket
from core.reports.counts import counts_and_next_change
from core.reports.kpi import REPEAT_WINDOW, KpiCounts, counts_from_json, counts_json
from core.reports.periods import Period
from core.sla.policy import ClockKind
from core.unit_of_work import Core

SNAPSHOT_PREFIX = "kpi-quarter:"
CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def snapshot_key(period: Period) -> str:
    """'kpi-quarter:2026-Q4@Asia/Shanghai'."""
    return f"{SNAPSHOT_PREFIX}{period.label}@{period.tz}"


async def _last_event(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(AuditEvent.id))) or 0)


async def _touched_since(session: AsyncSession, period: Period, event_id: int) -> bool:
    """Whether an audit event after `event_id` is about a ticket this period's KPIs count."""
    # The new events first, by their primary key (few, and read in id order), then their
    # tickets by id: never a scan of the period's tickets.
    ticket_ids = sorted(
        {
            int(entity_id)
            for entity_id in await session.scalars(
                select(AuditEvent.entity_id).where(
                    AuditEvent.id > event_id, AuditEvent.entity == "ticket"
                )
            )
            if entity_id is not None
        }
    )
    clock_in_period = exists().where(
        SlaClock.ticket_id == Ticket.id,
        SlaClock.kind == ClockKind.ARRIVAL.value,
        SlaClock.started_at >= period.start,
        SlaClock.started_at < period.end,
    )
    for first in range(0, len(ticket_ids), CHUNK):
        found = await session.scalar(
            select(Ticket.id)
            .where(
                Ticket.id.in_(ticket_ids[first : first + CHUNK]),
                Ticket.reported_at < period.end,
                or_(Ticket.reported_at >= period.start - REPEAT_WINDOW, clock_in_period),
            )
            .limit(1)
        )
        if found is not None:
            return True
    return False


def _decode(data: dict[str, Any]) -> dict[int, KpiCounts]:
    return {int(site): counts_from_json(counts) for site, counts in data.items()}


async def closed_quarter_counts(
    core: Core, period: Period, *, as_of: datetime
) -> dict[int, KpiCounts]:
    """The quarter's KPI counts per site: from its snapshot when still valid, else counted
    (and, for a quarter already over at `as_of`, stored for next time)."""
    key = snapshot_key(period)
    async with core.reading() as session:
        if as_of >= period.end:
            snapshot = await session.scalar(select(KpiSnapshot).where(KpiSnapshot.key == key))
            if (
                snapshot is not None
                and snapshot.period_start == period.start
                and snapshot.period_end == period.end
                and snapshot.as_of <= as_of
                and (snapshot.stale_after is None or as_of < snapshot.stale_after)
            ):
                last = await _last_event(session)
                if last == snapshot.audit_head or not await _touched_since(
                    session, period, snapshot.audit_head
                ):
                    counts = _decode(snapshot.counts)
                    if last > snapshot.audit_head:
                        await _move_past(core, key, snapshot.audit_head, last)
                    return counts
        # The events seen are read before counting: one committed meanwhile is checked
        # again next time rather than missed.
        last = await _last_event(session)
        counts, next_change = await counts_and_next_change(
            session, core.db.dialect, period.start, period.end, as_of=as_of
        )
    if as_of >= period.end:
        await _store(core, key, period, counts, as_of=as_of, last=last, stale_after=next_change)
    return counts


async def _move_past(core: Core, key: str, seen: int, last: int) -> None:
    """Record that the events up to `last` do not touch the snapshot (a cheaper next check)."""
    async with core.transaction() as tx:
        await tx.session.execute(
            update(KpiSnapshot)
            .where(KpiSnapshot.key == key, KpiSnapshot.audit_head == seen)
            .values(audit_head=last)
        )


async def _store(
    core: Core,
    key: str,
    period: Period,
    counts: dict[int, KpiCounts],
    *,
    as_of: datetime,
    last: int,
    stale_after: datetime | None,
) -> None:
    values = {
        "key": key,
        "period_start": period.start,
        "period_end": period.end,
        "as_of": as_of,
        "audit_head": last,
        "stale_after": stale_after,
        "counts": {str(site): counts_json(c) for site, c in counts.items()},
    }
    async with core.transaction() as tx:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        statement = insert(KpiSnapshot).values(computed_at=tx.now, **values)
        await tx.session.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={**values, "computed_at": tx.now},
            )
        )
