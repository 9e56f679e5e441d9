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
* **Satisfaction share** (客户满意度) = on-site dispatches rated 3-5 / *all* on-site
  dispatches of the period ("3分,4分和5分的评分达到派单总数的90以上"; the rating form covers
  "每次现场服务", each on-site service). The dispatches are the arrival clocks of the
  period (one per ticket and visit, as above) not cancelled, whose visit has ended with a service
  sheet (the ticket moved on to a later visit, or is resolved or closed); a dispatch
  still being worked is pending and left out until its sheet is filed. An unrated
  dispatch counts in the denominator and is not 3-5. Remote fixes are not on-site
  dispatches: they are left out of this KPI and reported on their own
  (`remote_satisfaction`, same reading, no deduction). A dispatch's score is the rating
  of its visit (ticket and cycle), whenever it was given.
* **30-day repeat repair rate** (30天重复维修率) = repeat repairs / all repairs, software
  faults only (service type software_fault; "此服务评估标准只针对软件应用"). A repair is a
  ticket with an on-site dispatch (not fixed remotely) whose service sheet says
  software_fault, dated by its report time. It is a *repeat* when the same device had
  an earlier software repair reported at most 30 days before it (at the same site); the first visit is
  not a repeat, the second and later ones are. A second visit of the same ticket is
  part of that one repair.

Deductions (points off the 100-point on-site support category; "扣分至满100分止", so
each item takes at most 100 points and the category never goes below 0):

* arrival below 90 % and fix rate below 95 %: minus 10 points per *started* 5 % of
  shortfall: 89 % → -10, exactly 85 % → -10, 84.9 % → -20; exactly 90 % → 0.
* satisfaction below 90 %: minus 1 point per on-site dispatch of the period rated 1-2
  ("低于90%后,每次1-2分派单扣1分"; unrated ones cost nothing); exactly 90 % → 0.
* repeat rate over 15 %: minus 1 point per repeat repair; exactly 15 % → 0.

A rate with nothing to count (no dispatches) is undefined and costs nothing.
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
    cycle: int = 0
    site_id: int | None = None


@dataclass(frozen=True)
class ResolutionRecord:
    """One service sheet filed."""

    ticket_id: int
    at: datetime
    remote: bool
    result: ServiceResult
    site_id: int | None = None


@dataclass(frozen=True)
class DispatchRecord:
    """One dispatch (a ticket's visit: its arrival clock) and the score its visit got."""

    ticket_id: int
    cycle: int
    started_at: datetime  # when the arrival clock started
    on_site: bool  # False: fixed remotely (the arrival clock was cancelled by the remote fix)
    finished: bool  # the visit ended with a service sheet (resolved, closed, or a later visit)
    score: int | None = None  # the rating of this visit, None while unrated
    comment: str = ""
    site_id: int | None = None


@dataclass(frozen=True)
class RepairRecord:
    """One ticket as a repair of a device."""

    ticket_id: int
    asset_id: int | None
    reported_at: datetime
    category: ServiceType | None
    remote: bool = False
    site_id: int | None = None


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


def _rated_dispatches(
    records: Iterable[DispatchRecord], start: datetime, end: datetime, *, on_site: bool
) -> list[DispatchRecord]:
    """Finished dispatches of the period, on site or remote."""
    return [
        r
        for r in records
        if r.on_site is on_site and r.finished and _within(r.started_at, start, end)
    ]


def satisfaction(records: Iterable[DispatchRecord], start: datetime, end: datetime) -> Rate:
    """On-site dispatches of the period rated 3-5 / all of them (unrated ones are not 3-5)."""
    counted = _rated_dispatches(records, start, end, on_site=True)
    return Rate(sum(1 for r in counted if r.score is not None and r.score >= 3), len(counted))


def low_ratings(records: Iterable[DispatchRecord], start: datetime, end: datetime) -> int:
    """On-site dispatches of the period rated 1-2 (each costs a point when the share is short)."""
    counted = _rated_dispatches(records, start, end, on_site=True)
    return sum(1 for r in counted if r.score is not None and r.score <= 2)


def remote_satisfaction(
    records: Iterable[DispatchRecord], start: datetime, end: datetime
) -> tuple[Rate, int]:
    """Remote fixes of the period rated 3-5 / all of them, and how many were rated 1-2."""
    counted = _rated_dispatches(records, start, end, on_site=False)
    good = sum(1 for r in counted if r.score is not None and r.score >= 3)
    low = sum(1 for r in counted if r.score is not None and r.score <= 2)
    return Rate(good, len(counted)), low


def is_software_repair(record: RepairRecord) -> bool:
    """A repair the repeat rate counts: on-site, software fault."""
    return record.category is ServiceType.SOFTWARE_FAULT and not record.remote


def repeat_pairs(
    records: Sequence[RepairRecord],
    start: datetime,
    end: datetime,
    window: timedelta = REPEAT_WINDOW,
) -> list[tuple[RepairRecord, RepairRecord | None]]:
    """Each software repair reported in the period with the earlier one it repeats (or None).

    The earlier repair shown is the latest software repair of the same device at most
    `window` before it. `records` should reach back `window` before `start`, so a repeat
    of an earlier period's repair is recognised.
    """
    software = sorted(
        (r for r in records if is_software_repair(r)), key=lambda r: (r.reported_at, r.ticket_id)
    )
    pairs: list[tuple[RepairRecord, RepairRecord | None]] = []
    # The latest earlier repair of a device is the nearest: if it is out of the window,
    # every earlier one is too. A device is counted per site (one moved to another site
    # starts afresh there), so the sites' figures add up to the total.
    latest: dict[tuple[int | None, int], RepairRecord] = {}
    for record in software:
        key = (record.site_id, record.asset_id) if record.asset_id is not None else None
        earlier = latest.get(key) if key is not None else None
        if earlier is not None and record.reported_at - earlier.reported_at > window:
            earlier = None
        if key is not None:
            latest[key] = record
        if _within(record.reported_at, start, end):
            pairs.append((record, earlier))
    return pairs


def repeat_repairs(
    records: Sequence[RepairRecord],
    start: datetime,
    end: datetime,
    window: timedelta = REPEAT_WINDOW,
) -> Rate:
    """Software repairs in the period that repeat one within `window` / all of them."""
    pairs = repeat_pairs(records, start, end, window)
    return Rate(sum(1 for _, earlier in pairs if earlier is not None), len(pairs))


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


# --- deductions explained ------------------------------------------------------------------

NOTHING_COUNTED = "nothing_counted"
TARGET_MET = "target_met"
UNDER_TARGET = "under_target"
OVER_LIMIT = "over_limit"

ARRIVAL = "arrival"
FIX = "fix"
SATISFACTION = "satisfaction"
REPEAT = "repeat"


@dataclass(frozen=True)
class Deduction:
    """How one KPI's points were counted: the rate, the rule that applied and its arithmetic.

    `shortfall` is the percentage points under the target (arrival, fix; None otherwise);
    `units` are what the points are counted in (started 5 % steps, dispatches rated 1-2,
    repeat repairs) and `per_unit` the points each costs; `points` is `units * per_unit`
    capped at the category's 100 (`capped` says so).
    """

    kpi: str
    rate: Rate
    target: Fraction
    outcome: str  # nothing_counted, target_met, under_target, over_limit
    shortfall: Fraction | None
    units: int
    per_unit: int
    points: int

    @property
    def capped(self) -> bool:
        """The arithmetic gives more than the category holds."""
        return self.units * self.per_unit > self.points


def _stepped(kpi: str, rate: Rate, target: Fraction) -> Deduction:
    value = rate.value
    if value is None:
        return Deduction(kpi, rate, target, NOTHING_COUNTED, None, 0, POINTS_PER_STEP, 0)
    if value >= target:
        return Deduction(kpi, rate, target, TARGET_MET, None, 0, POINTS_PER_STEP, 0)
    steps = started_steps_below(value, target)
    points = min(MAX_DEDUCTION, POINTS_PER_STEP * steps)
    shortfall = (target - value) * 100
    return Deduction(kpi, rate, target, UNDER_TARGET, shortfall, steps, POINTS_PER_STEP, points)


def explain(report: KpiReport) -> tuple[Deduction, ...]:
    """The four KPIs' deductions with the arithmetic behind each (same rules as above)."""
    satisfied = report.satisfaction
    if satisfied.value is None:
        rated = Deduction(
            SATISFACTION, satisfied, SATISFACTION_TARGET, NOTHING_COUNTED, None, 0, 1, 0
        )
    elif satisfied.value >= SATISFACTION_TARGET:
        rated = Deduction(SATISFACTION, satisfied, SATISFACTION_TARGET, TARGET_MET, None, 0, 1, 0)
    else:
        rated = Deduction(
            SATISFACTION,
            satisfied,
            SATISFACTION_TARGET,
            UNDER_TARGET,
            (SATISFACTION_TARGET - satisfied.value) * 100,
            report.low_ratings,
            1,
            report.satisfaction_deduction,
        )
    repeat = report.repeat
    if repeat.value is None:
        repeats = Deduction(REPEAT, repeat, REPEAT_LIMIT, NOTHING_COUNTED, None, 0, 1, 0)
    elif repeat.value <= REPEAT_LIMIT:
        repeats = Deduction(REPEAT, repeat, REPEAT_LIMIT, TARGET_MET, None, 0, 1, 0)
    else:
        repeats = Deduction(
            REPEAT,
            repeat,
            REPEAT_LIMIT,
            OVER_LIMIT,
            None,
            repeat.numerator,
            1,
            report.repeat_deduction,
        )
    return (
        _stepped(ARRIVAL, report.arrival, ARRIVAL_TARGET),
        _stepped(FIX, report.fix, FIX_TARGET),
        rated,
        repeats,
    )


# --- a period's report ---------------------------------------------------------------------


@dataclass(frozen=True)
class KpiInputs:
    """The records a period's KPIs are computed from."""

    arrivals: tuple[ArrivalRecord, ...] = ()
    resolutions: tuple[ResolutionRecord, ...] = ()
    dispatches: tuple[DispatchRecord, ...] = ()
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
    # Remote fixes' own rating share (reported apart; no deduction).
    remote_satisfaction: Rate = Rate(0, 0)
    remote_low_ratings: int = 0

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
    rated = satisfaction(inputs.dispatches, start, end)
    low = low_ratings(inputs.dispatches, start, end)
    remote, remote_low = remote_satisfaction(inputs.dispatches, start, end)
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
        remote_satisfaction=remote,
        remote_low_ratings=remote_low,
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
    remote: Rate = NO_RATE  # remote fixes rated 3-5 / remote fixes (reported apart)
    remote_low: int = 0

    def __add__(self, other: KpiCounts) -> KpiCounts:
        """Two sites' counts together (every count is a plain sum)."""
        return KpiCounts(
            arrival=_sum_rates(self.arrival, other.arrival),
            fix=_sum_rates(self.fix, other.fix),
            satisfaction=_sum_rates(self.satisfaction, other.satisfaction),
            low_ratings=self.low_ratings + other.low_ratings,
            repeat=_sum_rates(self.repeat, other.repeat),
            remote=_sum_rates(self.remote, other.remote),
            remote_low=self.remote_low + other.remote_low,
        )


def _sum_rates(first: Rate, second: Rate) -> Rate:
    return Rate(first.numerator + second.numerator, first.denominator + second.denominator)


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
        remote_satisfaction=counts.remote,
        remote_low_ratings=counts.remote_low,
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
        "remote": rate_json(counts.remote),
        "remote_low": counts.remote_low,
    }


def counts_from_json(data: dict[str, Any]) -> KpiCounts:
    """KPI counts back from `counts_json` (runs frozen before remote fixes were counted apart
    read back with no remote figures)."""
    return KpiCounts(
        arrival=rate_from_json(data["arrival"]),
        fix=rate_from_json(data["fix"]),
        satisfaction=rate_from_json(data["satisfaction"]),
        low_ratings=int(data["low_ratings"]),
        repeat=rate_from_json(data["repeat"]),
        remote=rate_from_json(data.get("remote", [0, 0])),
        remote_low=int(data.get("remote_low", 0)),
    )


def counts_of(report: KpiReport) -> KpiCounts:
    """The counts a report was made of (what a posted report freezes)."""
    return KpiCounts(
        report.arrival,
        report.fix,
        report.satisfaction,
        report.low_ratings,
        report.repeat,
        report.remote_satisfaction,
        report.remote_low_ratings,
    )
