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
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from core.enums import OPEN_STATUSES, ServiceResult, ServiceType, TicketStatus
from core.models import AuditEvent, Rating, SlaClock, Ticket, UTCDateTime
from core.reports.kpi import (
    REPEAT_WINDOW,
    ArrivalRecord,
    DispatchRecord,
    KpiCounts,
    KpiInputs,
    KpiReport,
    Rate,
    RepairRecord,
    ResolutionRecord,
    report_from_counts,
)
from core.sla.policy import ClockKind
from core.unit_of_work import Core

RESOLVED_EVENT = "ticket.resolved"
# A visit's service sheet is filed once its ticket is resolved or closed, or moved on to
# a later visit (a second visit reopens a resolved ticket with the next cycle).
SHEET_FILED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _at_site(query: _Query, site_id: int | None) -> _Query:
    """Keep the rows of one site's tickets (the query must involve Ticket)."""
    return query if site_id is None else query.where(Ticket.site_id == site_id)


def _visit_finished(clock: Any, ticket: Any) -> ColumnElement[bool]:
    """The visit of `clock` ended with a service sheet (see `SHEET_FILED`)."""
    return or_(ticket.cycle > clock.cycle, ticket.status.in_(SHEET_FILED))


async def load_kpi_inputs(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> KpiInputs:
    """The records behind the KPIs of [start, end), optionally for one site."""
    async with core.reading() as session:
        return await kpi_inputs(session, start, end, site_id=site_id)


def _dispatches_started(query: _Query, start: datetime, end: datetime) -> _Query:
    """The arrival clocks (dispatches) started in [start, end), their tickets and ratings."""
    return (
        query.join(Ticket, Ticket.id == SlaClock.ticket_id)
        .outerjoin(
            Rating,
            and_(Rating.ticket_id == SlaClock.ticket_id, Rating.cycle == SlaClock.cycle),
        )
        .where(
            SlaClock.kind == ClockKind.ARRIVAL.value,
            SlaClock.started_at >= start,
            SlaClock.started_at < end,
        )
    )


async def kpi_inputs(
    session: AsyncSession, start: datetime, end: datetime, *, site_id: int | None = None
) -> KpiInputs:
    """`load_kpi_inputs` in an open session."""
    clock_rows = await session.execute(
        _at_site(
            _dispatches_started(
                select(
                    SlaClock.ticket_id,
                    SlaClock.cycle,
                    SlaClock.started_at,
                    SlaClock.due_at,
                    SlaClock.stopped_at,
                    SlaClock.met,
                    SlaClock.cancelled,
                    SlaClock.breached_at,
                    Ticket.site_id,
                    _visit_finished(SlaClock, Ticket).label("finished"),
                    Rating.score,
                    Rating.comment,
                ),
                start,
                end,
            ).order_by(SlaClock.started_at, SlaClock.ticket_id, SlaClock.cycle),
            site_id,
        )
    )
    arrivals: list[ArrivalRecord] = []
    dispatches: list[DispatchRecord] = []
    for row in clock_rows:
        arrivals.append(
            ArrivalRecord(
                ticket_id=row.ticket_id,
                started_at=row.started_at,
                due_at=row.due_at,
                stopped_at=row.stopped_at,
                met=row.met,
                cancelled=bool(row.cancelled),
                breached_at=row.breached_at,
                cycle=int(row.cycle),
                site_id=row.site_id,
            )
        )
        dispatches.append(
            DispatchRecord(
                ticket_id=row.ticket_id,
                cycle=int(row.cycle),
                started_at=row.started_at,
                on_site=not row.cancelled,
                finished=bool(row.finished),
                score=int(row.score) if row.score is not None else None,
                comment=row.comment or "",
                site_id=row.site_id,
            )
        )
    resolved_rows = await session.execute(
        _at_site(
            select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.data, Ticket.site_id)
            .join(Ticket, Ticket.id == AuditEvent.entity_id)
            .where(
                AuditEvent.entity == "ticket",
                AuditEvent.action == RESOLVED_EVENT,
                AuditEvent.at >= start,
                AuditEvent.at < end,
            )
            .order_by(AuditEvent.id),
            site_id,
        )
    )
    resolutions = tuple(
        ResolutionRecord(
            ticket_id=int(row.entity_id),
            at=row.at,
            remote=bool(row.data.get("remote")),
            result=ServiceResult(row.data["result"]),
            site_id=row.site_id,
        )
        for row in resolved_rows
    )
    repair_rows = await session.execute(
        _at_site(
            select(
                Ticket.id,
                Ticket.asset_id,
                Ticket.reported_at,
                Ticket.category,
                Ticket.remote,
                Ticket.site_id,
            )
            .where(
                Ticket.category.is_not(None),
                Ticket.reported_at >= start - REPEAT_WINDOW,
                Ticket.reported_at < end,
            )
            .order_by(Ticket.reported_at, Ticket.id),
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
            site_id=row.site_id,
        )
        for row in repair_rows
    )
    return KpiInputs(tuple(arrivals), resolutions, tuple(dispatches), repairs)


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


async def kpi_reports_by_site(
    core: Core,
    start: datetime,
    end: datetime,
    *,
    site_id: int | None = None,
    as_of: datetime | None = None,
) -> tuple[KpiReport, dict[int, KpiReport]]:
    """The KPIs of [start, end) in total and per site (the total is the sites' sum)."""
    moment = as_of or core.clock.now()
    async with core.reading() as session:
        by_site = await kpi_counts_by_site(
            session, core.db.dialect, start, end, as_of=moment, site_id=site_id
        )
    total = report_from_counts(sum(by_site.values(), KpiCounts()), start, end, as_of=moment)
    return total, {
        site: report_from_counts(counts, start, end, as_of=moment)
        for site, counts in by_site.items()
    }


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
    by_site = await kpi_counts_by_site(session, dialect, start, end, as_of=as_of, site_id=site_id)
    return sum(by_site.values(), KpiCounts())


async def kpi_counts_by_site(
    session: AsyncSession,
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime,
    site_id: int | None = None,
) -> dict[int, KpiCounts]:
    """The KPIs' counts of [start, end) per site (GROUP BY), every site or one.

    Every count is a plain sum, so the total of all sites is the sum of the sites' counts.
    """
    counts, _ = await counts_and_next_change(
        session, dialect, start, end, as_of=as_of, site_id=site_id
    )
    return counts


async def counts_and_next_change(
    session: AsyncSession,
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime,
    site_id: int | None = None,
) -> tuple[dict[int, KpiCounts], datetime | None]:
    """`kpi_counts_by_site`, and the first moment after `as_of` the counts change with no
    event: the earliest deadline of an arrival clock still running and not yet due (it
    then counts as missed). None when no such clock is left."""
    sites: dict[int, dict[str, int]] = {}

    def put(site: int, **counts: Any) -> None:
        sites.setdefault(site, {}).update({name: int(n) for name, n in counts.items()})

    # On-time arrival (see `arrival_outcome`) and satisfaction (see `satisfaction`): both
    # count the period's arrival clocks, one per dispatch, in one pass.
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
    finished = _visit_finished(SlaClock, Ticket)
    on_site = and_(SlaClock.cancelled.is_(False), finished)
    remote = and_(SlaClock.cancelled.is_(True), finished)
    good, low = Rating.score >= 3, Rating.score <= 2
    not_yet_due = and_(
        SlaClock.cancelled.is_(False),
        SlaClock.stopped_at.is_(None),
        SlaClock.breached_at.is_(None),
        SlaClock.due_at >= as_of,
    )
    next_due = type_coerce(func.min(case((not_yet_due, SlaClock.due_at))), UTCDateTime())
    rows = await session.execute(
        _at_site(
            _dispatches_started(
                select(
                    Ticket.site_id,
                    next_due,
                    _count_if(met),
                    _count_if(counted),
                    _count_if(and_(on_site, good)),
                    _count_if(on_site),
                    _count_if(and_(on_site, low)),
                    _count_if(and_(remote, good)),
                    _count_if(remote),
                    _count_if(and_(remote, low)),
                ).select_from(SlaClock),
                start,
                end,
            ).group_by(Ticket.site_id),
            site_id,
        )
    )
    changes: list[datetime] = []
    for site, due, *values in rows:
        if due is not None:
            changes.append(due)
        put(
            site,
            **dict(
                zip(
                    (
                        "arrived",
                        "arrivals",
                        "good",
                        "rated",
                        "low",
                        "remote_good",
                        "remote",
                        "remote_low",
                    ),
                    values,
                    strict=True,
                )
            ),
        )

    # On-site fix: every service sheet filed (the audit log), see `on_site_fix`.
    remote_sheet = func.coalesce(AuditEvent.data["remote"].as_boolean(), false())
    result = AuditEvent.data["result"].as_string()
    sheet_on_site = and_(not_(remote_sheet), result != ServiceResult.FIXED_REMOTELY.value)
    fixed = and_(sheet_on_site, result == ServiceResult.FIXED_ON_SITE.value)
    sheet_rows = await session.execute(
        _at_site(
            select(Ticket.site_id, _count_if(fixed), _count_if(sheet_on_site))
            .select_from(AuditEvent)
            .join(Ticket, Ticket.id == AuditEvent.entity_id)
            .where(
                AuditEvent.action == RESOLVED_EVENT,
                AuditEvent.at >= start,
                AuditEvent.at < end,
                AuditEvent.entity == "ticket",
            )
            .group_by(Ticket.site_id),
            site_id,
        )
    )
    for site, fixes, visits in sheet_rows:
        put(site, fixes=fixes, visits=visits)

    # 30-day repeat repairs: a software repair with an earlier one of the same device at
    # the same site at most 30 days before it (ties in time: the lower ticket id is the
    # earlier).
    earlier = aliased(Ticket)
    repeated = and_(
        Ticket.asset_id.is_not(None),
        exists().where(
            earlier.asset_id == Ticket.asset_id,
            earlier.site_id == Ticket.site_id,
            _software_repair(earlier),
            earlier.reported_at >= _repeat_window_start(Ticket.reported_at, dialect),
            or_(
                earlier.reported_at < Ticket.reported_at,
                and_(earlier.reported_at == Ticket.reported_at, earlier.id < Ticket.id),
            ),
        ),
    )
    repair_rows = await session.execute(
        _at_site(
            select(Ticket.site_id, _count_if(repeated), func.count(Ticket.id))
            .where(
                _software_repair(Ticket),
                Ticket.reported_at >= start,
                Ticket.reported_at < end,
            )
            .group_by(Ticket.site_id),
            site_id,
        )
    )
    for site, repeats, repairs in repair_rows:
        put(site, repeats=repeats, repairs=repairs)

    counts = {
        site: KpiCounts(
            arrival=Rate(n.get("arrived", 0), n.get("arrivals", 0)),
            fix=Rate(n.get("fixes", 0), n.get("visits", 0)),
            satisfaction=Rate(n.get("good", 0), n.get("rated", 0)),
            low_ratings=n.get("low", 0),
            repeat=Rate(n.get("repeats", 0), n.get("repairs", 0)),
            remote=Rate(n.get("remote_good", 0), n.get("remote", 0)),
            remote_low=n.get("remote_low", 0),
        )
        for site, n in sites.items()
    }
    return counts, min(changes, default=None)


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
