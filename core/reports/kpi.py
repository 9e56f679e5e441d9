"""KPI figures of the maintenance contract (000 §4): pure functions over plain records.

Monthly and quarterly reports reuse them for any period and unit tests need no
database; `core.reports.counts` reads the records (or counts the same figures by SQL
aggregation) from the database.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from core.enums import ServiceResult, ServiceType

REPEAT_WINDOW = timedelta(days=30)
ARRIVAL_TARGET = Fraction(90, 100)
FIX_TARGET = Fraction(95, 100)
SATISFACTION_TARGET = Fraction(90, 100)
REPEAT_LIMIT = Fraction(15, 100)
DEDUCTION_STEP = Fraction(5, 100)
POINTS_PER_STEP = 10
MAX_DEDUCTION = 100  # "扣分至满100分止": an item never takes more than the category holds


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


# --- counted figures ----------------------------------------------------------------------------
#
# Reports over the whole table count the four KPIs in the database (`core.reports.counts`);
# these are the counts that come back, and how they are frozen in a posted report.


NO_RATE = Rate(0, 0)


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


def rate_json(rate: Rate) -> list[int]:
    """A rate as JSON: [numerator, denominator]."""
    return [rate.numerator, rate.denominator]


def rate_from_json(value: Any) -> Rate:
    """A rate back from `rate_json`."""
    return Rate(int(value[0]), int(value[1]))


def counts_json(counts: KpiCounts) -> dict[str, Any]:
    """KPI counts as JSON."""
    return {
        "arrival": rate_json(counts.arrival),
        "fix": rate_json(counts.fix),
        "satisfaction": rate_json(counts.satisfaction),
        "low_ratings": counts.low_ratings,
        "repeat": rate_json(counts.repeat),
    }


def counts_from_json(data: dict[str, Any]) -> KpiCounts:
    """KPI counts back from `counts_json`."""
    return KpiCounts(
        arrival=rate_from_json(data["arrival"]),
        fix=rate_from_json(data["fix"]),
        satisfaction=rate_from_json(data["satisfaction"]),
        low_ratings=int(data["low_ratings"]),
        repeat=rate_from_json(data["repeat"]),
    )


def counts_of(report: KpiReport) -> KpiCounts:
    """The counts a report was made of (what a posted report freezes)."""
    return KpiCounts(
        report.arrival, report.fix, report.satisfaction, report.low_ratings, report.repeat
    )
