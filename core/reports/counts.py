"""The SQL that counts: KPI records and aggregates, today's ticket figures, a month's tickets.

`load_kpi_inputs` reads the records behind a period's KPIs for the pure formulas of
`core.reports.kpi`. Reports over the whole table (`kpi_report`, the monthly summary, the
quarterly scorecard) count the same figures by SQL aggregation (`kpi_counts`:
conditional counts, no rows loaded), so a month of a million-ticket database costs a
few aggregate queries, not its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from core.enums import OPEN_STATUSES, ServiceResult, ServiceType, TicketStatus
from core.models import AuditEvent, Rating, SlaClock, Ticket
from core.reports.kpi import (
    REPEAT_WINDOW,
    ArrivalRecord,
    KpiCounts,
    KpiInputs,
    KpiReport,
    Rate,
    RatingRecord,
    RepairRecord,
    ResolutionRecord,
    report_from_counts,
)
from core.sla.policy import ClockKind
from core.unit_of_work import Core

RESOLVED_EVENT = "ticket.resolved"


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _at_site(query: _Query, site_id: int | None) -> _Query:
    """Keep the rows of one site's tickets (the query must involve Ticket)."""
    return query if site_id is None else query.where(Ticket.site_id == site_id)


async def load_kpi_inputs(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> KpiInputs:
    """The records behind the KPIs of [start, end), optionally for one site."""
    async with core.reading() as session:
        arrival_rows = await session.execute(
            _at_site(
                select(
                    SlaClock.ticket_id,
                    SlaClock.started_at,
                    SlaClock.due_at,
                    SlaClock.stopped_at,
                    SlaClock.met,
                    SlaClock.cancelled,
                    SlaClock.breached_at,
                )
                .join(Ticket, Ticket.id == SlaClock.ticket_id)
                .where(
                    SlaClock.kind == ClockKind.ARRIVAL.value,
                    SlaClock.started_at >= start,
                    SlaClock.started_at < end,
                ),
                site_id,
            )
        )
        arrivals = tuple(
            ArrivalRecord(
                ticket_id=row.ticket_id,
                started_at=row.started_at,
                due_at=row.due_at,
                stopped_at=row.stopped_at,
                met=row.met,
                cancelled=bool(row.cancelled),
                breached_at=row.breached_at,
            )
            for row in arrival_rows
        )
        resolved_rows = await session.execute(
            _at_site(
                select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.data)
                .join(Ticket, Ticket.id == AuditEvent.entity_id)
                .where(
                    AuditEvent.entity == "ticket",
                    AuditEvent.action == RESOLVED_EVENT,
                    AuditEvent.at >= start,
                    AuditEvent.at < end,
                ),
                site_id,
            )
        )
        resolutions = tuple(
            ResolutionRecord(
                ticket_id=int(row.entity_id),
                at=row.at,
                remote=bool(row.data.get("remote")),
                result=ServiceResult(row.data["result"]),
            )
            for row in resolved_rows
        )
        rating_rows = await session.execute(
            _at_site(
                select(Rating.ticket_id, Rating.rated_at, Rating.score)
                .join(Ticket, Ticket.id == Rating.ticket_id)
                .where(
                    Rating.score.is_not(None),
                    Rating.rated_at >= start,
                    Rating.rated_at < end,
                ),
                site_id,
            )
        )
        ratings = tuple(
            RatingRecord(ticket_id=row.ticket_id, rated_at=row.rated_at, score=int(row.score))
            for row in rating_rows
        )
        repair_rows = await session.execute(
            _at_site(
                select(
                    Ticket.id, Ticket.asset_id, Ticket.reported_at, Ticket.category, Ticket.remote
                ).where(
                    Ticket.category.is_not(None),
                    Ticket.reported_at >= start - REPEAT_WINDOW,
                    Ticket.reported_at < end,
                ),
                site_id,
            )
        )
        repairs = tuple(
            RepairRecord(
                ticket_id=row.id,
                asset_id=row.asset_id,
                reported_at=row.reported_at,
                category=row.category,
                remote=bool(row.remote),
            )
            for row in repair_rows
        )
    return KpiInputs(arrivals, resolutions, ratings, repairs)


async def kpi_report(
    core: Core,
    start: datetime,
    end: datetime,
    *,
    site_id: int | None = None,
    as_of: datetime | None = None,
) -> KpiReport:
    """The KPIs of [start, end) from the database; overdue is judged at `as_of` (now).

    Counted by SQL aggregation (`kpi_counts`), which gives the same figures as
    `compute_kpis(load_kpi_inputs(...))` without loading the period's rows.
    """
    moment = as_of or core.clock.now()
    async with core.reading() as session:
        counts = await kpi_counts(
            session, core.db.dialect, start, end, as_of=moment, site_id=site_id
        )
    return report_from_counts(counts, start, end, as_of=moment)


@dataclass(frozen=True)
class DayFigures:
    """Today's ticket counts for a dashboard."""

    open_now: int
    overdue_now: int
    opened: int
    resolved: int
    closed: int


async def day_figures(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> DayFigures:
    """Open and overdue tickets now; opened, resolved and closed in [start, end)."""
    now = core.clock.now()
    async with core.reading() as session:

        async def count(query: Select[Any]) -> int:
            return int(await session.scalar(_at_site(query, site_id)) or 0)

        open_now = await count(
            select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN_STATUSES))
        )
        overdue_ids = select(SlaClock.ticket_id).where(
            SlaClock.stopped_at.is_(None),
            SlaClock.cancelled.is_(False),
            (SlaClock.breached_at.is_not(None)) | (SlaClock.due_at < now),
        )
        overdue_now = await count(
            select(func.count(Ticket.id)).where(
                Ticket.status.in_(OPEN_STATUSES), Ticket.id.in_(overdue_ids)
            )
        )
        opened = await count(
            select(func.count(Ticket.id)).where(
                Ticket.reported_at >= start, Ticket.reported_at < end
            )
        )
        resolved = await count(
            select(func.count(AuditEvent.id))
            .join(Ticket, Ticket.id == AuditEvent.entity_id)
            .where(
                AuditEvent.entity == "ticket",
                AuditEvent.action == RESOLVED_EVENT,
                AuditEvent.at >= start,
                AuditEvent.at < end,
            )
        )
        closed = await count(
            select(func.count(Ticket.id)).where(Ticket.closed_at >= start, Ticket.closed_at < end)
        )
    return DayFigures(open_now, overdue_now, opened, resolved, closed)


# --- KPI counts by SQL aggregation ------------------------------------------------------------
#
# The monthly summary and the quarterly scorecard run over the whole ticket table, so the
# four KPIs are counted in the database (conditional counts, GROUP BY site) and only the
# per-site totals come back. The conditions mirror the pure functions of `core.reports.kpi`
# one for one; tests/integration/test_monthly.py checks both give the same figures.


SOFTWARE = ServiceType.SOFTWARE_FAULT


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 on no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _repeat_window_start(
    reported_at: InstrumentedAttribute[datetime], dialect: str
) -> ColumnElement[Any]:
    """`reported_at` minus the 30-day window, computed by the database.

    SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text: datetime() shifts the
    seconds part and drops the fraction, which is glued back so the comparison stays
    exact to the microsecond. PostgreSQL subtracts an interval in seconds (not days,
    whose length would follow the session's time zone).
    """
    seconds = int(REPEAT_WINDOW.total_seconds())
    if dialect == "sqlite":
        shifted = func.datetime(reported_at, f"-{seconds} seconds")
        return shifted.op("||")(func.substr(reported_at, 20))
    return reported_at.op("-")(literal_column(f"INTERVAL '{seconds} seconds'"))


def _software_repair(ticket: Any) -> ColumnElement[bool]:
    """A repair the repeat rate counts: an on-site visit whose sheet says software fault."""
    return and_(ticket.category == SOFTWARE, ticket.remote.is_(False))


def _scoped(query: _Query, ticket_id: Any, site_id: int | None) -> _Query:
    """Keep one site's rows (joining the ticket); every site's need no join at all."""
    if site_id is None:
        return query
    return query.join(Ticket, Ticket.id == ticket_id).where(Ticket.site_id == site_id)


async def kpi_counts(
    session: AsyncSession,
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime,
    site_id: int | None = None,
) -> KpiCounts:
    """The four KPIs' counts of [start, end), every site or one, by aggregate queries only."""
    # On-time arrival: see `arrival_outcome`.
    counted = and_(
        SlaClock.cancelled.is_(False),
        or_(
            and_(SlaClock.stopped_at.is_not(None), SlaClock.met.is_not(None)),
            and_(
                SlaClock.stopped_at.is_(None),
                or_(SlaClock.breached_at.is_not(None), SlaClock.due_at < as_of),
            ),
        ),
    )
    met = and_(
        SlaClock.cancelled.is_(False), SlaClock.stopped_at.is_not(None), SlaClock.met.is_(True)
    )
    arrived, arrivals = (
        await session.execute(
            _scoped(
                select(_count_if(met), _count_if(counted)).where(
                    SlaClock.kind == ClockKind.ARRIVAL.value,
                    SlaClock.started_at >= start,
                    SlaClock.started_at < end,
                ),
                SlaClock.ticket_id,
                site_id,
            )
        )
    ).one()

    # On-site fix: every service sheet filed (the audit log), see `on_site_fix`.
    remote = func.coalesce(AuditEvent.data["remote"].as_boolean(), false())
    result = AuditEvent.data["result"].as_string()
    on_site = and_(not_(remote), result != ServiceResult.FIXED_REMOTELY.value)
    fixed = and_(on_site, result == ServiceResult.FIXED_ON_SITE.value)
    fixes, visits = (
        await session.execute(
            _scoped(
                select(_count_if(fixed), _count_if(on_site)).where(
                    AuditEvent.action == RESOLVED_EVENT,
                    AuditEvent.at >= start,
                    AuditEvent.at < end,
                    AuditEvent.entity == "ticket",
                ),
                AuditEvent.entity_id,
                site_id,
            )
        )
    ).one()

    # Satisfaction: ratings given in the period.
    good, rated, low = (
        await session.execute(
            _scoped(
                select(
                    _count_if(Rating.score >= 3),
                    _count_if(Rating.score.is_not(None)),
                    _count_if(Rating.score <= 2),
                ).where(Rating.rated_at >= start, Rating.rated_at < end),
                Rating.ticket_id,
                site_id,
            )
        )
    ).one()

    # 30-day repeat repairs: a software repair with an earlier one of the same device at
    # most 30 days before it (ties in time: the lower ticket id is the earlier).
    earlier = aliased(Ticket)
    conditions = [
        earlier.asset_id == Ticket.asset_id,
        _software_repair(earlier),
        earlier.reported_at >= _repeat_window_start(Ticket.reported_at, dialect),
        or_(
            earlier.reported_at < Ticket.reported_at,
            and_(earlier.reported_at == Ticket.reported_at, earlier.id < Ticket.id),
        ),
    ]
    if site_id is not None:
        conditions.append(earlier.site_id == site_id)
    repeated = and_(Ticket.asset_id.is_not(None), exists().where(*conditions))
    repeats, repairs = (
        await session.execute(
            _at_site(
                select(_count_if(repeated), func.count(Ticket.id)).where(
                    _software_repair(Ticket),
                    Ticket.reported_at >= start,
                    Ticket.reported_at < end,
                ),
                site_id,
            )
        )
    ).one()

    return KpiCounts(
        arrival=Rate(int(arrived), int(arrivals)),
        fix=Rate(int(fixes), int(visits)),
        satisfaction=Rate(int(good), int(rated)),
        low_ratings=int(low),
        repeat=Rate(int(repeats), int(repairs)),
    )


async def ticket_counts(
    session: AsyncSession, start: datetime, end: datetime, site_id: int | None
) -> list[Any]:
    """(site, category, level, tickets, cancelled, open) groups of the tickets reported."""
    cancelled = Ticket.status == TicketStatus.CANCELLED
    still_open = Ticket.status.in_(OPEN_STATUSES)
    rows = await session.execute(
        _at_site(
            select(
                Ticket.site_id,
                Ticket.category,
                Ticket.severity,
                func.count(Ticket.id),
                _count_if(cancelled),
                _count_if(still_open),
            )
            .where(Ticket.reported_at >= start, Ticket.reported_at < end)
            .group_by(Ticket.site_id, Ticket.category, Ticket.severity),
            site_id,
        )
    )
    return list(rows)
