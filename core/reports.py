"""KPI figures of the maintenance contract (000 §4), the monthly summary, the quarterly
scorecard with its payment percentage, false reports, and today's ticket counts.

The formulas are pure functions over plain records, so monthly and quarterly reports
reuse them for any period and unit tests need no database; the loaders below read the
records for a period (and optionally one site) from the database. Reports over the
whole table (`kpi_report`, `monthly_summary`, `quarterly_scorecard`) count the same
figures by SQL aggregation (`kpi_counts`: conditional counts, no rows loaded),
so a month of a million-ticket database costs a few aggregate queries, not its rows.

Posted reports are `ReportRun` rows keyed `monthly-summary:YYYY-MM` and
`quarterly-scorecard:YYYY-Qn`, their figures frozen as JSON; the insert that creates the
key also queues the managers' messages, so a report goes out once however many times
or instances the job runs. The scorecard's readings of the table and the payment rules
are written out above `score_quarter`.

Readings of 000 §4 this module commits to (periods are half-open, `start <= t < end`):

* **On-time arrival rate** (响应时间到达率) = dispatches meeting their arrival deadline /
  dispatches with one. A dispatch is one arrival clock (one per ticket and visit cycle)
  started in the period. It counts as met or missed once its clock stopped with a
  verdict; a clock still running but already past due (or marked breached) counts as
  missed; a running clock not yet due is left out (its outcome is unknown); cancelled
  clocks (ticket cancelled, fixed remotely) are left out.
* **On-site fix rate** (现场解决率) = on-site resolutions with result "fixed on site" /
  all on-site resolutions, where an on-site resolution is any service sheet filed in
  the period without the remote flag (results fixed on site, taken back, second visit).
  Remote fixes are excluded from both sides. Every sheet counts, including one that a
  later second visit replaced, so the figures come from the audit log, not from the
  current resolution row.
* **Satisfaction share** = ratings 3-5 / all ratings given in the period.
* **30-day repeat repair rate** (30天重复维修率) = repeat repairs / all repairs, software
  faults only (service type software_fault; "此服务评估标准只针对软件应用"). A repair is a
  ticket with an on-site dispatch (not fixed remotely) whose service sheet says
  software_fault, dated by its report time. It is a *repeat* when the same device had
  an earlier software repair reported at most 30 days before it; the first visit is
  not a repeat, the second and later ones are. A second visit of the same ticket is
  part of that one repair.

Deductions (points off the 100-point on-site support category; "扣分至满100分止", so
each item takes at most 100 points and the category never goes below 0):

* arrival below 90 % and fix rate below 95 %: minus 10 points per *started* 5 % of
  shortfall: 89 % → -10, exactly 85 % → -10, 84.9 % → -20; exactly 90 % → 0.
* satisfaction below 90 %: minus 1 point per rating of 1-2 in the period (all of them);
  exactly 90 % → 0.
* repeat rate over 15 %: minus 1 point per repeat repair; exactly 15 % → 0.

A rate with nothing to count (no dispatches, no ratings) is undefined and costs nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from core import outbox, surveys
from core.audit import anchor_text, chain_head
from core.clock import DEFAULT_TIMEZONE
from core.complaints import ComplaintService
from core.enums import OPEN_STATUSES, Role, ServiceResult, ServiceType, TicketStatus
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import (
    AuditEvent,
    FalseReport,
    Person,
    Rating,
    ReportRun,
    Site,
    SlaClock,
    Ticket,
)
from core.people import people_with_role
from core.sla.policy import ClockKind
from core.unit_of_work import Core

REPEAT_WINDOW = timedelta(days=30)
ARRIVAL_TARGET = Fraction(90, 100)
FIX_TARGET = Fraction(95, 100)
SATISFACTION_TARGET = Fraction(90, 100)
REPEAT_LIMIT = Fraction(15, 100)
DEDUCTION_STEP = Fraction(5, 100)
POINTS_PER_STEP = 10
MAX_DEDUCTION = 100  # "扣分至满100分止": an item never takes more than the category holds
RESOLVED_EVENT = "ticket.resolved"


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivalRecord:
    """One dispatch's arrival clock."""

    ticket_id: int
    started_at: datetime
    due_at: datetime | None
    stopped_at: datetime | None
    met: bool | None
    cancelled: bool
    breached_at: datetime | None = None


@dataclass(frozen=True)
class ResolutionRecord:
    """One service sheet filed."""

    ticket_id: int
    at: datetime
    remote: bool
    result: ServiceResult


@dataclass(frozen=True)
class RatingRecord:
    """One 1-5 satisfaction score."""

    ticket_id: int
    rated_at: datetime
    score: int


@dataclass(frozen=True)
class RepairRecord:
    """One ticket as a repair of a device."""

    ticket_id: int
    asset_id: int | None
    reported_at: datetime
    category: ServiceType | None
    remote: bool = False


@dataclass(frozen=True)
class Rate:
    """A share: numerator out of denominator; undefined when nothing was counted."""

    numerator: int
    denominator: int

    @property
    def value(self) -> Fraction | None:
        """The exact share, or None when the denominator is zero."""
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    def as_float(self) -> float | None:
        """The share as a float (for display)."""
        value = self.value
        return float(value) if value is not None else None


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


# --- the four KPIs -------------------------------------------------------------------------


def arrival_outcome(record: ArrivalRecord, as_of: datetime) -> bool | None:
    """True met, False missed, None not counted (cancelled, or running and not yet due)."""
    if record.cancelled:
        return None
    if record.stopped_at is not None:
        return record.met
    if record.breached_at is not None:
        return False
    if record.due_at is not None and record.due_at < as_of:
        return False
    return None


def on_time_arrival(
    records: Iterable[ArrivalRecord], start: datetime, end: datetime, as_of: datetime
) -> Rate:
    """Dispatches started in the period that met their arrival deadline / those counted."""
    outcomes = [arrival_outcome(r, as_of) for r in records if _within(r.started_at, start, end)]
    counted = [o for o in outcomes if o is not None]
    return Rate(sum(1 for o in counted if o), len(counted))


def is_on_site(record: ResolutionRecord) -> bool:
    """A sheet filed after a visit (not a remote fix)."""
    return not record.remote and record.result is not ServiceResult.FIXED_REMOTELY


def on_site_fix(records: Iterable[ResolutionRecord], start: datetime, end: datetime) -> Rate:
    """On-site resolutions in the period fixed on site / all on-site resolutions."""
    on_site = [r for r in records if _within(r.at, start, end) and is_on_site(r)]
    fixed = sum(1 for r in on_site if r.result is ServiceResult.FIXED_ON_SITE)
    return Rate(fixed, len(on_site))


def satisfaction(records: Iterable[RatingRecord], start: datetime, end: datetime) -> Rate:
    """Ratings of 3-5 given in the period / all ratings given in it."""
    scores = [r.score for r in records if _within(r.rated_at, start, end)]
    return Rate(sum(1 for s in scores if s >= 3), len(scores))


def low_ratings(records: Iterable[RatingRecord], start: datetime, end: datetime) -> int:
    """Ratings of 1-2 given in the period (each costs a point when the share is short)."""
    return sum(1 for r in records if _within(r.rated_at, start, end) and r.score <= 2)


def is_software_repair(record: RepairRecord) -> bool:
    """A repair the repeat rate counts: on-site, software fault."""
    return record.category is ServiceType.SOFTWARE_FAULT and not record.remote


def repeat_repairs(
    records: Sequence[RepairRecord],
    start: datetime,
    end: datetime,
    window: timedelta = REPEAT_WINDOW,
) -> Rate:
    """Software repairs in the period that repeat one within `window` / all of them.

    `records` should reach back `window` before `start`, so a repeat of an earlier
    period's repair is recognised.
    """
    software = sorted(
        (r for r in records if is_software_repair(r)), key=lambda r: (r.reported_at, r.ticket_id)
    )
    repairs = 0
    repeats = 0
    for index, record in enumerate(software):
        if not _within(record.reported_at, start, end):
            continue
        repairs += 1
        if record.asset_id is None:
            continue
        if any(
            earlier.asset_id == record.asset_id
            and record.reported_at - earlier.reported_at <= window
            for earlier in software[:index]
        ):
            repeats += 1
    return Rate(repeats, repairs)


# --- deductions ----------------------------------------------------------------------------


def started_steps_below(value: Fraction, target: Fraction, step: Fraction = DEDUCTION_STEP) -> int:
    """How many started `step`s `value` lies below `target` (0 when it reaches it)."""
    if value >= target:
        return 0
    return math.ceil((target - value) / step)


def arrival_deduction(rate: Rate) -> int:
    """Minus 10 per started 5 % below 90 %."""
    value = rate.value
    if value is None:
        return 0
    return min(MAX_DEDUCTION, POINTS_PER_STEP * started_steps_below(value, ARRIVAL_TARGET))


def fix_rate_deduction(rate: Rate) -> int:
    """Minus 10 per started 5 % below 95 %."""
    value = rate.value
    if value is None:
        return 0
    return min(MAX_DEDUCTION, POINTS_PER_STEP * started_steps_below(value, FIX_TARGET))


def satisfaction_deduction(rate: Rate, low: int) -> int:
    """Minus 1 per dispatch rated 1-2, when fewer than 90 % rated 3-5."""
    value = rate.value
    if value is None or value >= SATISFACTION_TARGET:
        return 0
    return min(MAX_DEDUCTION, low)


def repeat_deduction(rate: Rate) -> int:
    """Minus 1 per repeat repair, when over 15 % of repairs are repeats."""
    value = rate.value
    if value is None or value <= REPEAT_LIMIT:
        return 0
    return min(MAX_DEDUCTION, rate.numerator)


# --- a period's report ---------------------------------------------------------------------


@dataclass(frozen=True)
class KpiInputs:
    """The records a period's KPIs are computed from."""

    arrivals: tuple[ArrivalRecord, ...] = ()
    resolutions: tuple[ResolutionRecord, ...] = ()
    ratings: tuple[RatingRecord, ...] = ()
    repairs: tuple[RepairRecord, ...] = ()


@dataclass(frozen=True)
class KpiReport:
    """The four on-site support KPIs of a period and what they cost."""

    start: datetime
    end: datetime
    as_of: datetime
    arrival: Rate
    fix: Rate
    satisfaction: Rate
    low_ratings: int
    repeat: Rate
    arrival_deduction: int
    fix_deduction: int
    satisfaction_deduction: int
    repeat_deduction: int

    @property
    def total_deduction(self) -> int:
        """Points the four KPIs take off the on-site support category."""
        return (
            self.arrival_deduction
            + self.fix_deduction
            + self.satisfaction_deduction
            + self.repeat_deduction
        )

    @property
    def score(self) -> int:
        """The category's score out of 100 from these four items (never below 0)."""
        return max(0, 100 - self.total_deduction)


def compute_kpis(
    inputs: KpiInputs, start: datetime, end: datetime, *, as_of: datetime
) -> KpiReport:
    """Every KPI and deduction of the period [start, end)."""
    arrival = on_time_arrival(inputs.arrivals, start, end, as_of)
    fix = on_site_fix(inputs.resolutions, start, end)
    rated = satisfaction(inputs.ratings, start, end)
    low = low_ratings(inputs.ratings, start, end)
    repeat = repeat_repairs(inputs.repairs, start, end)
    return KpiReport(
        start=start,
        end=end,
        as_of=as_of,
        arrival=arrival,
        fix=fix,
        satisfaction=rated,
        low_ratings=low,
        repeat=repeat,
        arrival_deduction=arrival_deduction(arrival),
        fix_deduction=fix_rate_deduction(fix),
        satisfaction_deduction=satisfaction_deduction(rated, low),
        repeat_deduction=repeat_deduction(repeat),
    )


# --- periods -------------------------------------------------------------------------------


def day_bounds(moment: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar day containing `moment`, as aware datetimes [start, end)."""
    zone = ZoneInfo(tz)
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def month_bounds(moment: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar month containing `moment`, as aware datetimes [start, end)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    first = local.date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(following, time(0), tzinfo=zone),
    )


# --- loaders -------------------------------------------------------------------------------


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
# per-site totals come back. The conditions mirror the pure functions above one for one;
# tests/integration/test_monthly.py checks both give the same figures.


NO_RATE = Rate(0, 0)
SOFTWARE = ServiceType.SOFTWARE_FAULT


@dataclass(frozen=True)
class KpiCounts:
    """The raw counts behind the four KPIs, for one site or a total."""

    arrival: Rate = NO_RATE
    fix: Rate = NO_RATE
    satisfaction: Rate = NO_RATE
    low_ratings: int = 0
    repeat: Rate = NO_RATE


def report_from_counts(
    counts: KpiCounts, start: datetime, end: datetime, *, as_of: datetime
) -> KpiReport:
    """The KPI report (with deductions) of already counted figures."""
    return KpiReport(
        start=start,
        end=end,
        as_of=as_of,
        arrival=counts.arrival,
        fix=counts.fix,
        satisfaction=counts.satisfaction,
        low_ratings=counts.low_ratings,
        repeat=counts.repeat,
        arrival_deduction=arrival_deduction(counts.arrival),
        fix_deduction=fix_rate_deduction(counts.fix),
        satisfaction_deduction=satisfaction_deduction(counts.satisfaction, counts.low_ratings),
        repeat_deduction=repeat_deduction(counts.repeat),
    )


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


# --- periods by label --------------------------------------------------------------------------


MONTH_LABEL = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_LABEL = re.compile(r"^(\d{4})-Q([1-4])$")
REPORT_DAY = 15  # 003: the monthly report is due by the 15th of the following month


@dataclass(frozen=True)
class Period:
    """A labelled calendar period in one zone, [start, end)."""

    label: str  # "2026-11" or "2026-Q4"
    start: datetime
    end: datetime
    tz: str


def _local_midnight(year: int, month: int, day: int, tz: str) -> datetime:
    return datetime(year, month, day, tzinfo=ZoneInfo(tz))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_period(label: str, tz: str) -> Period:
    """The month '2026-11' in zone `tz`; InvalidInput for anything else."""
    match = MONTH_LABEL.match(label.strip())
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, month = int(match[1]), int(match[2])
    following = _next_month(year, month)
    return Period(
        label.strip(),
        _local_midnight(year, month, 1, tz),
        _local_midnight(*following, 1, tz),
        tz,
    )


def quarter_period(label: str, tz: str) -> Period:
    """The quarter '2026-Q4' in zone `tz`; InvalidInput for anything else."""
    match = QUARTER_LABEL.match(label.strip().upper())
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    first = 3 * quarter - 2
    end_year, end_month = (year + 1, 1) if quarter == 4 else (year, first + 3)
    return Period(
        f"{year}-Q{quarter}",
        _local_midnight(year, first, 1, tz),
        _local_midnight(end_year, end_month, 1, tz),
        tz,
    )


def month_label(moment: datetime, tz: str) -> str:
    """'2026-11' for the local month containing `moment`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


def previous_month_label(moment: datetime, tz: str) -> str:
    """The local month before the one containing `moment`."""
    local = moment.astimezone(ZoneInfo(tz))
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year:04d}-{month:02d}"


def quarter_label(moment: datetime, tz: str) -> str:
    """'2026-Q4' for the local quarter containing `moment`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"


def previous_quarter_label(label: str) -> str:
    """The quarter before '2026-Q1' is '2025-Q4'."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def months_of_quarter(label: str) -> tuple[str, str, str]:
    """The three month labels of a quarter."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    first = 3 * quarter - 2
    return (f"{year}-{first:02d}", f"{year}-{first + 1:02d}", f"{year}-{first + 2:02d}")


def half_of_quarter(label: str) -> str:
    """The half-year a quarter belongs to: Q1, Q2 → 'H1'; Q3, Q4 → 'H2' ('2026-H2')."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    return f"{match[1]}-H{1 if int(match[2]) <= 2 else 2}"


def report_deadline(month: str, tz: str) -> datetime:
    """When month `month`'s report is late: the end of the 15th of the following month."""
    period = month_period(month, tz)
    local = period.end.astimezone(ZoneInfo(tz))
    return _local_midnight(local.year, local.month, REPORT_DAY + 1, tz)


# --- the monthly summary -----------------------------------------------------------------------


MONTHLY_KIND = "monthly-summary"
QUARTERLY_KIND = "quarterly-scorecard"
MONTHLY_CODE = "report.monthly"
QUARTERLY_CODE = "report.quarterly"
UNCLASSIFIED = "unclassified"  # tickets with no service sheet yet
CATEGORIES: tuple[str, ...] = (*(kind.value for kind in ServiceType), UNCLASSIFIED)
SEVERITIES = (1, 2, 3, 4)


def run_key(kind: str, period: str) -> str:
    """The idempotency key of a posted report: 'monthly-summary:2026-11'."""
    return f"{kind}:{period}"


def _rate_json(rate: Rate) -> list[int]:
    return [rate.numerator, rate.denominator]


def _rate_from(value: Any) -> Rate:
    return Rate(int(value[0]), int(value[1]))


def counts_json(counts: KpiCounts) -> dict[str, Any]:
    """KPI counts as JSON."""
    return {
        "arrival": _rate_json(counts.arrival),
        "fix": _rate_json(counts.fix),
        "satisfaction": _rate_json(counts.satisfaction),
        "low_ratings": counts.low_ratings,
        "repeat": _rate_json(counts.repeat),
    }


def counts_from_json(data: dict[str, Any]) -> KpiCounts:
    """KPI counts back from `counts_json`."""
    return KpiCounts(
        arrival=_rate_from(data["arrival"]),
        fix=_rate_from(data["fix"]),
        satisfaction=_rate_from(data["satisfaction"]),
        low_ratings=int(data["low_ratings"]),
        repeat=_rate_from(data["repeat"]),
    )


def _counts_of(report: KpiReport) -> KpiCounts:
    return KpiCounts(
        report.arrival, report.fix, report.satisfaction, report.low_ratings, report.repeat
    )


@dataclass(frozen=True)
class SiteLine:
    """One site's tickets in a period."""

    site_id: int
    code: str
    name: str
    tickets: int


@dataclass(frozen=True)
class MonthlySummary:
    """A month's tickets by service type, site and level, and the four KPIs with deductions.

    Tickets are those reported in the month; their service type is the one on their
    latest service sheet (`unclassified` until a sheet is filed) and their level the
    current one (after any automatic upgrade). KPIs follow the module's readings.
    """

    period: str
    timezone: str
    site_code: str | None  # None: every site
    site_name: str | None
    as_of: datetime
    tickets: int
    cancelled: int
    still_open: int  # of the month's tickets, open at `as_of`
    by_category: dict[str, int]
    by_severity: dict[int, int]
    sites: tuple[SiteLine, ...]
    kpis: KpiReport
    # The audit chain's head when the summary was posted ('1234:5f3a...'; see core.audit).
    audit_anchor: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The figures as JSON (frozen in ReportRun.figures)."""
        return {
            "period": self.period,
            "timezone": self.timezone,
            "site_code": self.site_code,
            "site_name": self.site_name,
            "start": self.kpis.start.isoformat(),
            "end": self.kpis.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "tickets": self.tickets,
            "cancelled": self.cancelled,
            "still_open": self.still_open,
            "by_category": dict(self.by_category),
            "by_severity": {str(level): n for level, n in self.by_severity.items()},
            "sites": [
                {
                    "id": line.site_id,
                    "code": line.code,
                    "name": line.name,
                    "tickets": line.tickets,
                }
                for line in self.sites
            ],
            "kpis": counts_json(_counts_of(self.kpis)),
            "audit_anchor": self.audit_anchor,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> MonthlySummary:
        """Back from `to_json`; deductions are recomputed by the same rules."""
        start = datetime.fromisoformat(data["start"])
        end = datetime.fromisoformat(data["end"])
        as_of = datetime.fromisoformat(data["as_of"])
        return MonthlySummary(
            period=data["period"],
            timezone=data["timezone"],
            site_code=data.get("site_code"),
            site_name=data.get("site_name"),
            as_of=as_of,
            tickets=int(data["tickets"]),
            cancelled=int(data["cancelled"]),
            still_open=int(data["still_open"]),
            by_category={key: int(n) for key, n in data["by_category"].items()},
            by_severity={int(level): int(n) for level, n in data["by_severity"].items()},
            sites=tuple(
                SiteLine(
                    int(line["id"]),
                    line["code"],
                    line["name"],
                    int(line["tickets"]),
                )
                for line in data["sites"]
            ),
            kpis=report_from_counts(counts_from_json(data["kpis"]), start, end, as_of=as_of),
            audit_anchor=data.get("audit_anchor"),
        )


@dataclass(frozen=True)
class SiteRef:
    """A site picked for a report."""

    id: int
    code: str
    name: str
    timezone: str


async def find_site(core: Core, code: str) -> SiteRef:
    """The site with this code; NotFound otherwise."""
    async with core.reading() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise NotFound(entity="site", code=code)
    return SiteRef(site.id, site.code, site.name, site.timezone)


async def _ticket_counts(
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


async def monthly_summary(
    core: Core, period: str, *, site: SiteRef | None = None, as_of: datetime | None = None
) -> MonthlySummary:
    """Compute month `period` ('2026-11') for every site or one, in SQL aggregates."""
    tz = site.timezone if site else DEFAULT_TIMEZONE
    bounds = month_period(period, tz)
    moment = as_of or core.clock.now()
    site_id = site.id if site else None
    async with core.reading() as session:
        groups = await _ticket_counts(session, bounds.start, bounds.end, site_id)
        counts = await kpi_counts(
            session, core.db.dialect, bounds.start, bounds.end, as_of=moment, site_id=site_id
        )
        site_rows = (await session.execute(select(Site.id, Site.code, Site.name))).all()
    names = {row.id: (row.code, row.name) for row in site_rows}
    by_category = dict.fromkeys(CATEGORIES, 0)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    tickets_at: dict[int, int] = {}
    tickets = cancelled_total = open_total = 0
    for site_key, category, severity, count, cancelled, still_open in groups:
        key = category.value if isinstance(category, ServiceType) else (category or UNCLASSIFIED)
        by_category[key] = by_category.get(key, 0) + int(count)
        by_severity[int(severity)] = by_severity.get(int(severity), 0) + int(count)
        tickets_at[site_key] = tickets_at.get(site_key, 0) + int(count)
        tickets += int(count)
        cancelled_total += int(cancelled)
        open_total += int(still_open)
    lines = tuple(
        SiteLine(
            key,
            names.get(key, (str(key), str(key)))[0],
            names.get(key, (str(key), str(key)))[1],
            tickets_at[key],
        )
        for key in sorted(tickets_at, key=lambda k: names.get(k, ("", ""))[0])
    )
    return MonthlySummary(
        period=bounds.label,
        timezone=tz,
        site_code=site.code if site else None,
        site_name=site.name if site else None,
        as_of=moment,
        tickets=tickets,
        cancelled=cancelled_total,
        still_open=open_total,
        by_category=by_category,
        by_severity=by_severity,
        sites=lines,
        kpis=report_from_counts(counts, bounds.start, bounds.end, as_of=moment),
    )


# --- posted reports (ReportRun) -----------------------------------------------------------------


@dataclass(frozen=True)
class PostedRun:
    """A report run as stored: its key, when it was created, and the frozen figures."""

    key: str
    kind: str
    period: str
    created_at: datetime
    figures: dict[str, Any]


@dataclass(frozen=True)
class PostResult:
    """What a report job did: posted now (with how many recipients) or found it posted."""

    key: str
    posted: bool
    recipients: int = 0
    reason: str = ""


async def find_run(core: Core, key: str) -> PostedRun | None:
    """The stored run with this key, if any."""
    async with core.reading() as session:
        run = await session.scalar(select(ReportRun).where(ReportRun.key == key))
    if run is None:
        return None
    return PostedRun(run.key, run.kind, run.period, run.created_at, dict(run.figures))


async def service_start(core: Core) -> datetime | None:
    """When the helpdesk started: the first person registered (None: nobody yet)."""
    async with core.reading() as session:
        first: datetime | None = await session.scalar(select(func.min(Person.created_at)))
    return first


async def _post_run(
    core: Core, *, kind: str, period: str, key: str, code: str, figures: dict[str, Any]
) -> PostResult:
    """Insert the run unless its key exists and queue it to every active manager, atomically.

    Two instances (or two runs) racing here both compute figures, but only the one whose
    insert creates the row queues messages; outbox keys per manager guard the rest.
    """
    async with core.transaction() as tx:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        created = (
            await tx.session.execute(
                insert(ReportRun)
                .values(
                    key=key,
                    kind=kind,
                    period=period,
                    site_id=None,
                    created_at=tx.now,
                    figures=figures,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(ReportRun.id)
            )
        ).scalar_one_or_none()
        if created is None:
            return PostResult(key, posted=False, reason="already_posted")
        managers = await people_with_role(tx, Role.MANAGER, None)
        for manager in managers:
            await outbox.enqueue(
                tx,
                key=f"{key}:{manager.id}",
                code=code,
                recipient_id=manager.id,
                params={"key": key, "period": period},
                priority=outbox.PRIORITY_REPORT,
            )
        await tx.audit("report_run", created, "report.posted", key=key, recipients=len(managers))
        return PostResult(key, posted=True, recipients=len(managers))


async def post_monthly_summary(
    core: Core, now: datetime, *, tz: str = DEFAULT_TIMEZONE
) -> PostResult:
    """Post last month's summary to the managers once (the job; safe to run again anywhere)."""
    period = previous_month_label(now, tz)
    key = run_key(MONTHLY_KIND, period)
    if await find_run(core, key) is not None:
        return PostResult(key, posted=False, reason="already_posted")
    started = await service_start(core)
    if started is None or started >= month_period(period, tz).end:
        return PostResult(key, posted=False, reason="before_service")
    summary = await monthly_summary(core, period, as_of=now)
    # Publish the audit chain's head with the figures: the managers' copy lives outside
    # the database, so a wholesale rewrite of history would no longer match it.
    async with core.reading() as session:
        summary = replace(summary, audit_anchor=anchor_text(*await chain_head(session)))
    return await _post_run(
        core,
        kind=MONTHLY_KIND,
        period=period,
        key=key,
        code=MONTHLY_CODE,
        figures=summary.to_json(),
    )


async def monthly_figures(
    core: Core,
    period: str,
    *,
    site: SiteRef | None = None,
    live: bool = False,
    as_of: datetime | None = None,
) -> tuple[MonthlySummary, PostedRun | None]:
    """The month as posted to the managers (frozen), else computed now.

    Only the every-site summary is posted; a site's figures, or `live`, are computed.
    """
    label = month_period(period, DEFAULT_TIMEZONE).label
    if site is None and not live:
        run = await find_run(core, run_key(MONTHLY_KIND, label))
        if run is not None:
            return MonthlySummary.from_json(run.figures), run
    return await monthly_summary(core, label, site=site, as_of=as_of), None


# --- the quarterly scorecard (000 §4) -------------------------------------------------------------
#
# Readings of the scoring table and payment rules:
#
# * On-site support (50 %) = 100 minus the four KPI deductions above (the quarter as one
#   period) and 10 per VIP failure; VIP service is not tracked by faultdesk, so it is 0
#   unless a caller passes a number. Never below 0 ("扣分至满100分止").
# * Other (20 %) = 100 - 10 per missed monthly report - 20 per accepted complaint (answered
#   as accepted in the quarter). A month's report is missed when its summary run
#   (`monthly-summary:YYYY-MM`) was not created by the 15th of the following month (003),
#   local time; a month whose deadline has not passed and has no run yet is *pending* and
#   costs nothing yet; months that ended before the helpdesk started (first person
#   registered) are not counted.
# * Semiannual survey (30 %) = 100 - 10 per started 5 % below 90 % of answers 3-5, from the
#   closed rounds of the half-year the quarter belongs to (Q1, Q2: H1; Q3, Q4: H2). With no
#   closed round (or no answer) the part is *not available*: no number is invented; the
#   weighted score and the payment are then given as the range the survey could still
#   produce (survey 0 to 100), and the card says the survey is missing.
# * Weighted score = 0.5 on-site + 0.2 other + 0.3 survey, exact (always a multiple of 0.1).
# * Payment (share of the quarter's total): over 90 → 100 %; exactly 90 → 100 % (the 80-90
#   rule's own value at 0 points short; the sheet's brackets leave 90 itself unnamed);
#   80 ≤ s < 90 → 100 % - 0.1 % per started 0.1 point under 90; 75 ≤ s < 80 → 90 % - 0.2 %
#   per started 0.1 point under 80, where the contract's base is the *actual cost* × 90 %
#   (`base` says so); under 75 → 80 %. Each false report found in the quarter takes a
#   further 10 % of the quarter's total (never below 0).
# * Warnings: this quarter and the previous one both under 75 ("连续两个季度评分不足75分" →
#   the customer may end the contract; "possible" when a missing survey leaves it open);
#   three false reports in total up to the quarter's end.

ONSITE_WEIGHT = Fraction(1, 2)
OTHER_WEIGHT = Fraction(1, 5)
SURVEY_WEIGHT = Fraction(3, 10)
SURVEY_TARGET = Fraction(90, 100)
MISSED_REPORT_POINTS = 10
COMPLAINT_POINTS = 20
VIP_POINTS = 10
FALSE_REPORT_PERCENT = 10
CONTRACT_END_SCORE = 75
FALSE_REPORTS_TO_END = 3
SCORE_STEP = Fraction(1, 10)
FULL_PAYMENT_FROM = 90
REDUCED_FROM = 80

ON_TIME = "on_time"
LATE = "late"
MISSING = "missing"
PENDING = "pending"
MISSED_STATUSES = frozenset({LATE, MISSING})

WARN_TWO_QUARTERS = "two_quarters_under_75"
WARN_TWO_QUARTERS_POSSIBLE = "two_quarters_under_75_possible"
WARN_FALSE_REPORTS = "three_false_reports"

BASE_QUARTER_TOTAL = "quarter_total"
BASE_ACTUAL_COST = "actual_cost"


def report_status(deadline: datetime, posted_at: datetime | None, as_of: datetime) -> str:
    """on_time, late (posted after the deadline), missing (deadline passed), or pending."""
    if posted_at is not None:
        return ON_TIME if posted_at < deadline else LATE
    return MISSING if as_of >= deadline else PENDING


@dataclass(frozen=True)
class MonthlyReportStatus:
    """Whether one month's report was delivered by its deadline."""

    month: str
    deadline: datetime
    posted_at: datetime | None
    status: str

    @property
    def missed(self) -> bool:
        """Late or missing: costs 10 points."""
        return self.status in MISSED_STATUSES


def onsite_score(kpis: KpiReport, vip_failures: int = 0) -> int:
    """On-site support out of 100: the KPI deductions and 10 per VIP failure."""
    vip = min(MAX_DEDUCTION, VIP_POINTS * vip_failures)
    return max(0, 100 - kpis.total_deduction - vip)


def other_score(missed_reports: int, accepted_complaints: int) -> int:
    """Other out of 100: minus 10 per missed monthly report, 20 per accepted complaint."""
    deduction = MISSED_REPORT_POINTS * missed_reports + COMPLAINT_POINTS * accepted_complaints
    return max(0, 100 - deduction)


def survey_score(share: Rate | None) -> int | None:
    """The survey part out of 100: minus 10 per started 5 % below 90 %; None when absent."""
    value = share.value if share is not None else None
    if value is None:
        return None
    steps = started_steps_below(value, SURVEY_TARGET)
    return max(0, 100 - POINTS_PER_STEP * steps)


def weighted_score(onsite: int, other: int, survey: int) -> Fraction:
    """0.5 on-site + 0.2 other + 0.3 survey."""
    return ONSITE_WEIGHT * onsite + OTHER_WEIGHT * other + SURVEY_WEIGHT * survey


@dataclass(frozen=True)
class Payment:
    """The share of the quarter's payment a score earns, before false reports."""

    percent: Fraction
    base: str  # quarter_total, or actual_cost (the 75-80 bracket pays 90 % of actual cost)


def _started_steps_under(limit: int, score: Fraction) -> int:
    return math.ceil((limit - score) / SCORE_STEP)


def payment_for(score: Fraction) -> Payment:
    """The 000 §4 payment rule for a weighted score."""
    if score >= FULL_PAYMENT_FROM:
        return Payment(Fraction(100), BASE_QUARTER_TOTAL)
    if score >= REDUCED_FROM:
        steps = _started_steps_under(FULL_PAYMENT_FROM, score)
        return Payment(100 - Fraction(1, 10) * steps, BASE_QUARTER_TOTAL)
    if score >= CONTRACT_END_SCORE:
        steps = _started_steps_under(REDUCED_FROM, score)
        return Payment(90 - Fraction(2, 10) * steps, BASE_ACTUAL_COST)
    return Payment(Fraction(80), BASE_QUARTER_TOTAL)


def after_false_reports(percent: Fraction, false_reports: int) -> Fraction:
    """Minus 10 % of the quarter's total per false report found in it (not below 0)."""
    return max(Fraction(0), percent - FALSE_REPORT_PERCENT * false_reports)


@dataclass(frozen=True)
class ScoreRange:
    """A weighted score, or the range it can still take while the survey is missing."""

    low: Fraction
    high: Fraction

    @property
    def known(self) -> bool:
        """Both ends agree: the score is final."""
        return self.low == self.high


@dataclass(frozen=True)
class ScorecardInputs:
    """Everything a quarter's score is computed from."""

    kpis: KpiReport
    reports: tuple[MonthlyReportStatus, ...]
    accepted_complaints: int
    survey: Rate | None  # None: no closed survey round covers the quarter
    survey_period: str | None
    false_reports_in_quarter: int
    false_reports_total: int
    previous: ScoreRange | None = None  # None: the previous quarter was before the service
    vip_failures: int = 0


@dataclass(frozen=True)
class Scorecard:
    """A quarter's score by the 000 §4 table, the payment it earns, and the warnings."""

    period: str
    site_code: str | None
    inputs: ScorecardInputs
    onsite: int
    missed_reports: int
    other: int
    survey: int | None
    score: ScoreRange
    payment_low: Payment
    payment_high: Payment
    paid_low: Fraction  # after false reports
    paid_high: Fraction
    warnings: tuple[str, ...]

    @property
    def kpis(self) -> KpiReport:
        """The quarter's KPI figures."""
        return self.inputs.kpis

    def to_json(self) -> dict[str, Any]:
        """The inputs as JSON; everything else is recomputed by `from_json`."""
        inputs = self.inputs
        return {
            "period": self.period,
            "site_code": self.site_code,
            "start": inputs.kpis.start.isoformat(),
            "end": inputs.kpis.end.isoformat(),
            "as_of": inputs.kpis.as_of.isoformat(),
            "kpis": counts_json(_counts_of(inputs.kpis)),
            "reports": [
                {
                    "month": r.month,
                    "deadline": r.deadline.isoformat(),
                    "posted_at": r.posted_at.isoformat() if r.posted_at else None,
                    "status": r.status,
                }
                for r in inputs.reports
            ],
            "accepted_complaints": inputs.accepted_complaints,
            "survey": _rate_json(inputs.survey) if inputs.survey is not None else None,
            "survey_period": inputs.survey_period,
            "false_reports_in_quarter": inputs.false_reports_in_quarter,
            "false_reports_total": inputs.false_reports_total,
            "previous": (
                [str(inputs.previous.low), str(inputs.previous.high)] if inputs.previous else None
            ),
            "vip_failures": inputs.vip_failures,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Scorecard:
        """Rebuild a frozen scorecard (the rules are applied again to the frozen inputs)."""
        start = datetime.fromisoformat(data["start"])
        end = datetime.fromisoformat(data["end"])
        as_of = datetime.fromisoformat(data["as_of"])
        previous = data.get("previous")
        inputs = ScorecardInputs(
            kpis=report_from_counts(counts_from_json(data["kpis"]), start, end, as_of=as_of),
            reports=tuple(
                MonthlyReportStatus(
                    r["month"],
                    datetime.fromisoformat(r["deadline"]),
                    datetime.fromisoformat(r["posted_at"]) if r["posted_at"] else None,
                    r["status"],
                )
                for r in data["reports"]
            ),
            accepted_complaints=int(data["accepted_complaints"]),
            survey=_rate_from(data["survey"]) if data.get("survey") is not None else None,
            survey_period=data.get("survey_period"),
            false_reports_in_quarter=int(data["false_reports_in_quarter"]),
            false_reports_total=int(data["false_reports_total"]),
            previous=ScoreRange(Fraction(previous[0]), Fraction(previous[1])) if previous else None,
            vip_failures=int(data.get("vip_failures", 0)),
        )
        return score_quarter(data["period"], inputs, site_code=data.get("site_code"))


def score_quarter(
    period: str, inputs: ScorecardInputs, *, site_code: str | None = None
) -> Scorecard:
    """Apply the 000 §4 table and payment rules to a quarter's inputs."""
    onsite = onsite_score(inputs.kpis, inputs.vip_failures)
    missed = sum(1 for r in inputs.reports if r.missed)
    other = other_score(missed, inputs.accepted_complaints)
    survey = survey_score(inputs.survey)
    if survey is None:
        score = ScoreRange(weighted_score(onsite, other, 0), weighted_score(onsite, other, 100))
    else:
        exact = weighted_score(onsite, other, survey)
        score = ScoreRange(exact, exact)
    payment_low, payment_high = payment_for(score.low), payment_for(score.high)
    warnings: list[str] = []
    if inputs.previous is not None and score.low < CONTRACT_END_SCORE:
        if score.high < CONTRACT_END_SCORE and inputs.previous.high < CONTRACT_END_SCORE:
            warnings.append(WARN_TWO_QUARTERS)
        elif inputs.previous.low < CONTRACT_END_SCORE:
            warnings.append(WARN_TWO_QUARTERS_POSSIBLE)
    if inputs.false_reports_total >= FALSE_REPORTS_TO_END:
        warnings.append(WARN_FALSE_REPORTS)
    return Scorecard(
        period=period,
        site_code=site_code,
        inputs=inputs,
        onsite=onsite,
        missed_reports=missed,
        other=other,
        survey=survey,
        score=score,
        payment_low=payment_low,
        payment_high=payment_high,
        paid_low=after_false_reports(payment_low.percent, inputs.false_reports_in_quarter),
        paid_high=after_false_reports(payment_high.percent, inputs.false_reports_in_quarter),
        warnings=tuple(warnings),
    )


async def monthly_report_statuses(
    core: Core, quarter: str, *, as_of: datetime, tz: str = DEFAULT_TIMEZONE
) -> tuple[MonthlyReportStatus, ...]:
    """Each month of the quarter in service: was its summary run created by the 15th?"""
    started = await service_start(core)
    months = [
        m
        for m in months_of_quarter(quarter)
        if started is not None and month_period(m, tz).end > started
    ]
    keys = {run_key(MONTHLY_KIND, m): m for m in months}
    async with core.reading() as session:
        rows = await session.execute(
            select(ReportRun.key, ReportRun.created_at).where(ReportRun.key.in_(list(keys)))
        )
        posted = {keys[row.key]: row.created_at for row in rows}
    statuses = []
    for month in months:
        deadline = report_deadline(month, tz)
        statuses.append(
            MonthlyReportStatus(
                month,
                deadline,
                posted.get(month),
                report_status(deadline, posted.get(month), as_of),
            )
        )
    return tuple(statuses)


def _false_report_scope(query: Select[Any], site_id: int | None) -> Select[Any]:
    """A site's false reports: those on its tickets, and those on no ticket (contract-wide)."""
    if site_id is None:
        return query
    return query.outerjoin(Ticket, Ticket.id == FalseReport.ticket_id).where(
        or_(FalseReport.ticket_id.is_(None), Ticket.site_id == site_id)
    )


async def false_report_counts(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> tuple[int, int]:
    """False reports found in [start, end), and in total before `end`."""
    async with core.reading() as session:
        in_period = await session.scalar(
            _false_report_scope(select(func.count(FalseReport.id)), site_id).where(
                FalseReport.found_at >= start, FalseReport.found_at < end
            )
        )
        total = await session.scalar(
            _false_report_scope(select(func.count(FalseReport.id)), site_id).where(
                FalseReport.found_at < end
            )
        )
    return int(in_period or 0), int(total or 0)


async def scorecard_inputs(
    core: Core,
    quarter: str,
    *,
    site: SiteRef | None = None,
    as_of: datetime | None = None,
    with_previous: bool = True,
) -> ScorecardInputs:
    """Read a quarter's inputs from the database (KPIs by SQL aggregation)."""
    tz = site.timezone if site else DEFAULT_TIMEZONE
    bounds = quarter_period(quarter, tz)
    moment = as_of or core.clock.now()
    site_id = site.id if site else None
    kpis = await kpi_report(core, bounds.start, bounds.end, site_id=site_id, as_of=moment)
    statuses = await monthly_report_statuses(core, bounds.label, as_of=moment)
    complaints = await ComplaintService(core).accepted_count(
        site_id, since=bounds.start, until=bounds.end
    )
    survey = await surveys.survey_result(
        core, half_of_quarter(bounds.label), site_id=site_id, as_of=moment
    )
    in_quarter, total = await false_report_counts(core, bounds.start, bounds.end, site_id=site_id)
    previous: ScoreRange | None = None
    if with_previous:
        previous_label = previous_quarter_label(bounds.label)
        started = await service_start(core)
        if started is not None and quarter_period(previous_label, tz).end > started:
            earlier = await scorecard_inputs(
                core, previous_label, site=site, as_of=moment, with_previous=False
            )
            previous = score_quarter(previous_label, earlier).score
    return ScorecardInputs(
        kpis=kpis,
        reports=statuses,
        accepted_complaints=complaints,
        survey=Rate(survey.positive, survey.answered) if survey.answered else None,
        survey_period=survey.period if survey.answered else None,
        false_reports_in_quarter=in_quarter,
        false_reports_total=total,
        previous=previous,
    )


async def quarterly_scorecard(
    core: Core, quarter: str, *, site: SiteRef | None = None, as_of: datetime | None = None
) -> Scorecard:
    """The scorecard of quarter '2026-Q4' for every site or one."""
    label = quarter_period(quarter, DEFAULT_TIMEZONE).label
    inputs = await scorecard_inputs(core, label, site=site, as_of=as_of)
    return score_quarter(label, inputs, site_code=site.code if site else None)


async def post_quarterly_scorecard(
    core: Core, now: datetime, *, tz: str = DEFAULT_TIMEZONE
) -> PostResult:
    """Post last quarter's scorecard to the managers once (the job)."""
    current = quarter_label(now, tz)
    period = previous_quarter_label(current)
    key = run_key(QUARTERLY_KIND, period)
    if await find_run(core, key) is not None:
        return PostResult(key, posted=False, reason="already_posted")
    started = await service_start(core)
    if started is None or started >= quarter_period(period, tz).end:
        return PostResult(key, posted=False, reason="before_service")
    card = await quarterly_scorecard(core, period, as_of=now)
    return await _post_run(
        core,
        kind=QUARTERLY_KIND,
        period=period,
        key=key,
        code=QUARTERLY_CODE,
        figures=card.to_json(),
    )


# --- false reports (虚报) -------------------------------------------------------------------------


FALSE_REPORT_KINDS = ("part_not_replaced", "late_reported_on_time", "other")
FALSE_REPORT_RECORDED = "false_report.recorded"
FALSE_REPORT_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class FalseReportView:
    """A recorded false report and what it brings the total to."""

    id: int
    ticket_id: int | None
    kind: str
    quarter: str
    in_quarter: int
    total: int


async def record_false_report(
    core: Core, *, ticket_id: int, kind: str, note: str = "", actor_id: int
) -> FalseReportView:
    """Record a false report found on a ticket (each costs 10 % of the quarter's payment)."""
    if kind not in FALSE_REPORT_KINDS:
        raise InvalidInput("false_report.bad_kind", kind=kind[:40])
    async with core.transaction(actor_id) as tx:
        actor = await tx.session.get(Person, actor_id)
        if actor is None or actor.role not in FALSE_REPORT_ROLES:
            raise PermissionDenied(action="false_report")
        ticket = await tx.session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(entity="ticket", id=ticket_id)
        row = FalseReport(
            ticket_id=ticket.id,
            kind=kind,
            note=note[:1000],
            found_at=tx.now,
            found_by_id=actor_id,
        )
        tx.session.add(row)
        await tx.session.flush()
        await tx.audit(
            "false_report",
            row.id,
            FALSE_REPORT_RECORDED,
            ticket_id=ticket.id,
            kind=kind,
            note=note[:1000],
        )
        bounds = quarter_period(quarter_label(tx.now, DEFAULT_TIMEZONE), DEFAULT_TIMEZONE)
        in_quarter = await tx.session.scalar(
            select(func.count(FalseReport.id)).where(
                FalseReport.found_at >= bounds.start, FalseReport.found_at < bounds.end
            )
        )
        total = await tx.session.scalar(select(func.count(FalseReport.id)))
        return FalseReportView(
            row.id, ticket.id, kind, bounds.label, int(in_quarter or 0), int(total or 0)
        )
