"""The 000 §4 KPI formulas and deductions against hand-computed cases, boundaries included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from core.enums import ServiceResult, ServiceType
from core.reports.kpi import (
    ArrivalRecord,
    DispatchRecord,
    KpiInputs,
    Rate,
    RepairRecord,
    ResolutionRecord,
    arrival_deduction,
    arrival_outcome,
    compute_kpis,
    fix_rate_deduction,
    low_ratings,
    on_site_fix,
    on_time_arrival,
    remote_satisfaction,
    repeat_deduction,
    repeat_repairs,
    satisfaction,
    satisfaction_deduction,
    started_steps_below,
)
from core.reports.periods import day_bounds, month_bounds

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, n, hour, tzinfo=UTC)


def arrival(
    started: datetime,
    *,
    due_in: timedelta = timedelta(hours=2),
    stopped_after: timedelta | None = None,
    cancelled: bool = False,
    breached: bool = False,
) -> ArrivalRecord:
    due = started + due_in
    stopped = started + stopped_after if stopped_after is not None else None
    return ArrivalRecord(
        ticket_id=1,
        started_at=started,
        due_at=due,
        stopped_at=stopped,
        met=None if stopped is None or cancelled else stopped <= due,
        cancelled=cancelled,
        breached_at=due if breached else None,
    )


# --- on-time arrival -------------------------------------------------------------------------


def test_a_stopped_clock_counts_as_met_or_missed_by_its_verdict():
    assert arrival_outcome(arrival(day(2), stopped_after=timedelta(hours=1)), day(30)) is True
    assert arrival_outcome(arrival(day(2), stopped_after=timedelta(hours=3)), day(30)) is False


def test_a_running_clock_past_due_counts_as_missed_and_one_not_yet_due_is_left_out():
    running = arrival(day(2))
    assert arrival_outcome(running, day(2, 10)) is None
    assert arrival_outcome(running, day(2, 11)) is None  # exactly due: not yet missed
    assert arrival_outcome(running, day(2, 12)) is False
    assert (
        arrival_outcome(arrival(day(2), due_in=timedelta(days=9), breached=True), day(3)) is False
    )


def test_cancelled_clocks_are_left_out():
    record = arrival(day(2), stopped_after=timedelta(minutes=5), cancelled=True)
    assert arrival_outcome(record, day(30)) is None


def test_on_time_arrival_counts_the_dispatches_started_in_the_period():
    records = [
        arrival(day(2), stopped_after=timedelta(hours=1)),  # met
        arrival(day(3), stopped_after=timedelta(hours=1)),  # met
        arrival(day(4), stopped_after=timedelta(hours=5)),  # missed
        arrival(day(5)),  # running, overdue at day 20: missed
        arrival(day(20, 8)),  # running, not yet due at day 20 09:00: left out
        arrival(day(6), stopped_after=timedelta(0), cancelled=True),  # left out
        arrival(datetime(2026, 2, 27, tzinfo=UTC), stopped_after=timedelta(hours=9)),  # February
    ]
    assert on_time_arrival(records, MARCH, APRIL, day(20)) == Rate(2, 4)
    assert Rate(2, 4).value == Fraction(1, 2)
    assert on_time_arrival([], MARCH, APRIL, day(20)) == Rate(0, 0)
    assert Rate(0, 0).value is None and Rate(0, 0).as_float() is None


# --- on-site fix -----------------------------------------------------------------------------


def test_on_site_fix_rate_leaves_remote_fixes_out_of_both_sides():
    def sheet(at: datetime, result: ServiceResult, remote: bool = False) -> ResolutionRecord:
        return ResolutionRecord(ticket_id=1, at=at, remote=remote, result=result)

    records = [
        sheet(day(2), ServiceResult.FIXED_ON_SITE),
        sheet(day(3), ServiceResult.FIXED_ON_SITE),
        sheet(day(4), ServiceResult.TAKEN_BACK),
        sheet(day(5), ServiceResult.SECOND_VISIT),
        sheet(day(6), ServiceResult.FIXED_REMOTELY, remote=True),
        sheet(day(7), ServiceResult.FIXED_ON_SITE, remote=True),  # remote flag wins
        sheet(datetime(2026, 4, 1, tzinfo=UTC), ServiceResult.TAKEN_BACK),  # April
    ]
    assert on_site_fix(records, MARCH, APRIL) == Rate(2, 4)


# --- satisfaction ----------------------------------------------------------------------------


def dispatch(
    ticket: int,
    score: int | None,
    *,
    at: datetime | None = None,
    on_site: bool = True,
    finished: bool = True,
    cycle: int = 0,
) -> DispatchRecord:
    return DispatchRecord(
        ticket_id=ticket,
        cycle=cycle,
        started_at=at or day(2),
        on_site=on_site,
        finished=finished,
        score=score,
    )


def test_satisfaction_counts_unrated_on_site_dispatches_as_not_3_to_5():
    # 000 §4: "3分,4分和5分的评分达到派单总数的90以上": 20 on-site dispatches, 11 rated
    # (ten 5s and one 1), 9 never rated: 10 of 20 are 3-5, i.e. 50 %, not 10 of 11.
    records = [dispatch(n, 5) for n in range(10)] + [dispatch(10, 1)]
    records += [dispatch(n, None) for n in range(11, 20)]
    rate = satisfaction(records, MARCH, APRIL)
    assert rate == Rate(10, 20) and rate.value == Fraction(1, 2)
    assert low_ratings(records, MARCH, APRIL) == 1
    # Under 90 %: one point per dispatch rated 1-2 ("每次1-2分派单扣1分"); unrated cost nothing.
    assert satisfaction_deduction(rate, low=1) == 1


def test_remote_fixes_are_not_on_site_dispatches_and_are_reported_apart():
    # Ten on-site dispatches all rated 5 and two remote fixes rated 1: 100 %, no deduction.
    records = [dispatch(n, 5) for n in range(10)]
    records += [dispatch(10, 1, on_site=False), dispatch(11, 1, on_site=False)]
    assert satisfaction(records, MARCH, APRIL) == Rate(10, 10)
    assert low_ratings(records, MARCH, APRIL) == 0
    assert satisfaction_deduction(Rate(10, 10), low=0) == 0
    assert remote_satisfaction(records, MARCH, APRIL) == (Rate(0, 2), 2)


def test_a_dispatch_counts_in_the_month_it_started_once_its_visit_ended_with_a_sheet():
    records = [
        dispatch(1, 4),
        dispatch(2, None, finished=False),  # still being worked: pending, not counted
        dispatch(3, 2, cycle=0),  # the first visit rated 2 ...
        dispatch(3, 5, cycle=1, at=day(3)),  # ... and the second visit rated 5
        dispatch(4, 1, at=datetime(2026, 2, 28, tzinfo=UTC)),  # a February dispatch
        dispatch(5, 3, at=datetime(2026, 4, 1, tzinfo=UTC)),  # an April dispatch
    ]
    assert satisfaction(records, MARCH, APRIL) == Rate(2, 3)
    assert low_ratings(records, MARCH, APRIL) == 1
    assert satisfaction([], MARCH, APRIL) == Rate(0, 0)
    assert remote_satisfaction([], MARCH, APRIL) == (Rate(0, 0), 0)


# --- 30-day repeat repairs -------------------------------------------------------------------


def repair(ticket: int, asset: int | None, at: datetime, **extra) -> RepairRecord:
    return RepairRecord(
        ticket_id=ticket,
        asset_id=asset,
        reported_at=at,
        category=extra.pop("category", ServiceType.SOFTWARE_FAULT),
        **extra,
    )


def test_a_repeat_is_a_later_software_repair_of_the_same_device_within_30_days():
    records = [
        repair(1, 10, day(1)),
        repair(2, 10, day(20)),  # 19 days after #1: a repeat
        repair(3, 11, day(5)),
        repair(4, 10, day(10), category=ServiceType.HARDWARE_FAULT),  # hardware: not counted
        repair(5, 11, day(6), remote=True),  # fixed remotely: no on-site dispatch
        repair(6, None, day(7)),  # no registered device: a repair, never a repeat
    ]
    assert repeat_repairs(records, MARCH, APRIL) == Rate(1, 4)


def test_the_30_day_window_is_inclusive_and_reaches_into_the_previous_period():
    february = datetime(2026, 2, 20, 9, tzinfo=UTC)
    records = [
        repair(1, 10, february),
        repair(2, 10, february + timedelta(days=30)),  # exactly 30 days: a repeat
        repair(3, 12, day(1)),
        repair(4, 12, day(1) + timedelta(days=30, seconds=1)),  # just over: not a repeat
    ]
    assert repeat_repairs(records, MARCH, APRIL) == Rate(1, 3)
    # Three visits within 30 days: the second and third are repeats.
    chain = [repair(1, 7, day(2)), repair(2, 7, day(9)), repair(3, 7, day(16))]
    assert repeat_repairs(chain, MARCH, APRIL) == Rate(2, 3)


# --- deductions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "steps"),
    [
        (Fraction(1), 0),
        (Fraction(90, 100), 0),  # exactly the target
        (Fraction(899, 1000), 1),
        (Fraction(89, 100), 1),
        (Fraction(85, 100), 1),  # exactly 5 % below: one started step
        (Fraction(849, 1000), 2),
        (Fraction(80, 100), 2),
        (Fraction(0), 18),
    ],
)
def test_shortfall_is_counted_in_started_steps_of_5_percent(value, steps):
    assert started_steps_below(value, Fraction(90, 100)) == steps


@pytest.mark.parametrize(
    ("rate", "points"),
    [
        (Rate(9, 10), 0),
        (Rate(18, 20), 0),
        (Rate(89, 100), 10),
        (Rate(17, 20), 10),  # 85 % exactly
        (Rate(849, 1000), 20),
        (Rate(2, 3), 50),  # 66.7 %: 23.3 % short, five started steps
        (Rate(0, 5), 100),  # 18 steps would be 180: capped at the category's 100
        (Rate(0, 0), 0),  # nothing counted: nothing deducted
    ],
)
def test_arrival_deduction(rate, points):
    assert arrival_deduction(rate) == points


@pytest.mark.parametrize(
    ("rate", "points"),
    [
        (Rate(95, 100), 0),
        (Rate(19, 20), 0),
        (Rate(94, 100), 10),
        (Rate(90, 100), 10),  # 5 % below exactly
        (Rate(899, 1000), 20),
        (Rate(1, 2), 90),
        (Rate(0, 0), 0),
    ],
)
def test_fix_rate_deduction(rate, points):
    assert fix_rate_deduction(rate) == points


def test_satisfaction_costs_one_point_per_low_rating_only_below_90_percent():
    assert satisfaction_deduction(Rate(9, 10), low=1) == 0  # exactly 90 %
    assert satisfaction_deduction(Rate(8, 10), low=2) == 2
    assert satisfaction_deduction(Rate(89, 100), low=11) == 11
    assert satisfaction_deduction(Rate(0, 150), low=150) == 100
    assert satisfaction_deduction(Rate(0, 0), low=0) == 0


def test_repeat_repairs_cost_one_point_each_only_over_15_percent():
    assert repeat_deduction(Rate(3, 20)) == 0  # exactly 15 %
    assert repeat_deduction(Rate(4, 20)) == 4
    assert repeat_deduction(Rate(1, 2)) == 1
    assert repeat_deduction(Rate(0, 0)) == 0


def test_a_period_report_adds_up_the_deductions_and_never_scores_below_zero():
    inputs = KpiInputs(
        arrivals=(
            arrival(day(2), stopped_after=timedelta(hours=1)),
            arrival(day(3), stopped_after=timedelta(hours=3)),
        ),
        resolutions=(
            ResolutionRecord(1, day(2), False, ServiceResult.FIXED_ON_SITE),
            ResolutionRecord(2, day(3), False, ServiceResult.FIXED_ON_SITE),
        ),
        dispatches=(dispatch(1, 5), dispatch(2, 1, at=day(3))),
        repairs=(repair(1, 10, day(2)), repair(2, 10, day(3))),
    )
    report = compute_kpis(inputs, MARCH, APRIL, as_of=day(20))
    assert report.arrival == Rate(1, 2) and report.arrival_deduction == 80
    assert report.fix == Rate(2, 2) and report.fix_deduction == 0
    assert report.satisfaction == Rate(1, 2) and report.low_ratings == 1
    assert report.satisfaction_deduction == 1
    assert report.repeat == Rate(1, 2) and report.repeat_deduction == 1
    assert report.total_deduction == 82 and report.score == 18
    worse = compute_kpis(
        KpiInputs(
            arrivals=(arrival(day(2), stopped_after=timedelta(hours=3)),),
            resolutions=(ResolutionRecord(1, day(2), False, ServiceResult.TAKEN_BACK),),
        ),
        MARCH,
        APRIL,
        as_of=day(20),
    )
    assert worse.total_deduction == 200 and worse.score == 0


def test_periods_are_local_days_and_months():
    moment = datetime(2026, 2, 28, 17, tzinfo=UTC)  # already 1 March in Shanghai
    start, end = day_bounds(moment, "Asia/Shanghai")
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 2, 28, 16, tzinfo=UTC),
        datetime(2026, 3, 1, 16, tzinfo=UTC),
    )
    start, end = month_bounds(moment, "Asia/Shanghai")
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 2, 28, 16, tzinfo=UTC),
        datetime(2026, 3, 31, 16, tzinfo=UTC),
    )
    start, end = month_bounds(datetime(2026, 12, 15, tzinfo=UTC), "UTC")
    assert (start, end) == (
        datetime(2026, 12, 1, tzinfo=start.tzinfo),
        datetime(2027, 1, 1, tzinfo=end.tzinfo),
    )


# --- deductions explained ---------------------------------------------------------------------


def test_each_deduction_is_explained_with_its_arithmetic():
    from core.reports.kpi import (
        NOTHING_COUNTED,
        OVER_LIMIT,
        TARGET_MET,
        UNDER_TARGET,
        KpiCounts,
        explain,
        report_from_counts,
    )

    counts = KpiCounts(
        arrival=Rate(1, 2),  # 40 points under 90 %: 8 started steps of 5 % x 10 = 80
        fix=Rate(19, 20),  # exactly 95 %: no deduction
        satisfaction=Rate(10, 20),  # 50 %, one dispatch rated 1-2: 1 x 1
        low_ratings=1,
        repeat=Rate(0, 0),  # no software repair: nothing counted
    )
    arrival, fix, rated, repeat = explain(report_from_counts(counts, MARCH, APRIL, as_of=day(30)))
    assert (arrival.outcome, arrival.shortfall, arrival.units, arrival.per_unit) == (
        UNDER_TARGET,
        40,
        8,
        10,
    )
    assert arrival.points == 80 and not arrival.capped
    assert (fix.outcome, fix.points) == (TARGET_MET, 0)
    assert (rated.outcome, rated.shortfall, rated.units, rated.points) == (UNDER_TARGET, 40, 1, 1)
    assert (repeat.outcome, repeat.points) == (NOTHING_COUNTED, 0)
    worst = report_from_counts(
        KpiCounts(arrival=Rate(0, 4), repeat=Rate(5, 20)), MARCH, APRIL, as_of=day(30)
    )
    arrival, _, _, repeat = explain(worst)
    assert (arrival.units, arrival.points, arrival.capped) == (18, 100, True)
    assert (repeat.outcome, repeat.units, repeat.points) == (OVER_LIMIT, 5, 5)


def test_site_counts_add_up_to_the_total():
    from core.reports.kpi import KpiCounts

    hq = KpiCounts(Rate(9, 10), Rate(4, 5), Rate(7, 8), 1, Rate(1, 3), Rate(2, 2), 0)
    branch = KpiCounts(Rate(1, 2), Rate(0, 1), Rate(0, 1), 1, Rate(0, 0), Rate(0, 1), 1)
    assert hq + branch == KpiCounts(
        Rate(10, 12), Rate(4, 6), Rate(7, 9), 2, Rate(1, 3), Rate(2, 3), 1
    )
