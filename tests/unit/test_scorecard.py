"""The 000 §4 quarterly score and payment rules against hand-computed cases, boundaries included."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from core.reports.kpi import KpiCounts, Rate, report_from_counts
from core.reports.monthly import MonthlySummary, SiteLine
from core.reports.periods import (
    half_of_quarter,
    month_period,
    months_of_quarter,
    previous_month_label,
    previous_quarter_label,
    quarter_label,
    quarter_period,
    report_deadline,
)
from core.reports.scorecard import (
    BASE_ACTUAL_COST,
    BASE_QUARTER_TOTAL,
    LATE,
    MISSING,
    ON_TIME,
    PENDING,
    WARN_FALSE_REPORTS,
    WARN_TWO_QUARTERS,
    WARN_TWO_QUARTERS_POSSIBLE,
    MonthlyReportStatus,
    Payment,
    Scorecard,
    ScorecardInputs,
    ScoreRange,
    after_false_reports,
    onsite_score,
    other_score,
    paid_after_false_reports,
    payment_for,
    report_status,
    score_quarter,
    survey_score,
    weighted_score,
)
from core.surveys import round_window

SHANGHAI = ZoneInfo("Asia/Shanghai")
Q4_START = datetime(2026, 10, 1, tzinfo=SHANGHAI)
Q4_END = datetime(2027, 1, 1, tzinfo=SHANGHAI)
AS_OF = datetime(2027, 1, 1, 9, tzinfo=SHANGHAI)


def kpis_costing(points: int, *, counts: KpiCounts | None = None):
    """A quarter whose KPIs take exactly `points` off on-site support (via 1-2 ratings)."""
    counts = counts or KpiCounts(satisfaction=Rate(100 - points, 100), low_ratings=points)
    return report_from_counts(counts, Q4_START, Q4_END, as_of=AS_OF)


def reports_ok() -> tuple[MonthlyReportStatus, ...]:
    return tuple(
        MonthlyReportStatus(m, report_deadline(m, "Asia/Shanghai"), None, ON_TIME)
        for m in ("2026-10", "2026-11", "2026-12")
    )


def inputs(
    *,
    kpi_points: int = 0,
    missed: int = 0,
    complaints: int = 0,
    survey: Rate | None = None,
    false_in_quarter: int = 0,
    false_total: int = 0,
    previous: ScoreRange | None = None,
    vip: int = 0,
    replacements: int = 0,
) -> ScorecardInputs:
    statuses = list(reports_ok())
    for index in range(missed):
        statuses[index] = MonthlyReportStatus(
            statuses[index].month, statuses[index].deadline, None, MISSING
        )
    return ScorecardInputs(
        kpis=kpis_costing(kpi_points),
        reports=tuple(statuses),
        accepted_complaints=complaints,
        survey=Rate(100, 100) if survey is None else survey,
        survey_period="2026-H2",
        false_reports_in_quarter=false_in_quarter,
        false_reports_total=false_total,
        previous=previous,
        vip_failures=vip,
        missed_replacements=replacements,
    )


# --- payment brackets -----------------------------------------------------------------------------


ACTUAL = BASE_ACTUAL_COST


@pytest.mark.parametrize(
    ("score", "percent", "base", "less_of_total"),
    [
        (Fraction(100), 100, BASE_QUARTER_TOTAL, 0),
        (Fraction(901, 10), 100, BASE_QUARTER_TOTAL, 0),
        (Fraction(90), 100, BASE_QUARTER_TOTAL, 0),  # exactly 90 pays in full
        (Fraction(899, 10), Fraction(999, 10), BASE_QUARTER_TOTAL, 0),  # 0.1 under: -0.1 %
        (Fraction(85), 95, BASE_QUARTER_TOTAL, 0),
        (Fraction(80), 90, BASE_QUARTER_TOTAL, 0),  # exactly 80: 100 steps of 0.1 %
        # 75-80: "在实际发生费用*90%的基础上,比80分每少0.1分扣季度总款的0.2%": 90 % of the
        # actual cost, less 0.2 % of the quarter's total per started 0.1 point under 80.
        (Fraction(799, 10), 90, ACTUAL, Fraction(2, 10)),
        (Fraction(775, 10), 90, ACTUAL, 5),  # 25 steps of 0.2 %
        (Fraction(75), 90, ACTUAL, 10),  # exactly 75: 50 steps of 0.2 %
        (Fraction(749, 10), 80, BASE_QUARTER_TOTAL, 0),  # under 75: 80 % flat
        (Fraction(0), 80, BASE_QUARTER_TOTAL, 0),
    ],
)
def test_the_payment_bracket_of_a_score(score, percent, base, less_of_total):
    assert payment_for(score) == Payment(Fraction(percent), base, Fraction(less_of_total))


def test_a_part_of_a_tenth_of_a_point_short_counts_as_a_started_step():
    assert payment_for(Fraction(8995, 100)).percent == Fraction(999, 10)
    assert payment_for(Fraction(7995, 100)) == Payment(Fraction(90), ACTUAL, Fraction(2, 10))


def test_false_reports_come_off_the_quarters_total_whatever_the_bracket():
    full = Payment(Fraction(100), BASE_QUARTER_TOTAL)
    assert paid_after_false_reports(full, 2) == Payment(Fraction(80), BASE_QUARTER_TOTAL)
    reduced = Payment(Fraction(90), ACTUAL, Fraction(1))
    # 90 % of the actual cost stays; the quarter's total loses 1 % + 10 %.
    assert paid_after_false_reports(reduced, 1) == Payment(Fraction(90), ACTUAL, Fraction(11))


def test_each_false_report_takes_ten_percent_of_the_quarters_total():
    assert after_false_reports(Fraction(100), 0) == 100
    assert after_false_reports(Fraction(100), 1) == 90
    assert after_false_reports(Fraction(80), 2) == 60
    assert after_false_reports(Fraction(15), 2) == 0  # never below nothing


# --- the three parts -------------------------------------------------------------------------------


def test_onsite_support_is_100_less_the_kpi_deductions_and_vip_failures():
    counts = KpiCounts(
        arrival=Rate(85, 100),  # 5 % short: -10
        fix=Rate(90, 100),  # 5 % short of 95: -10
        satisfaction=Rate(85, 100),  # under 90 %: -1 per 1-2 rating
        low_ratings=15,
        repeat=Rate(2, 10),  # 20 % > 15 %: -1 per repeat
    )
    report = kpis_costing(0, counts=counts)
    assert report.total_deduction == 10 + 10 + 15 + 2
    assert onsite_score(report) == 63
    assert onsite_score(report, vip_failures=1) == 53
    assert onsite_score(kpis_costing(100), vip_failures=3) == 0  # never below 0


@pytest.mark.parametrize(
    ("missed", "complaints", "score"),
    [(0, 0, 100), (1, 0, 90), (0, 1, 80), (3, 2, 30), (3, 4, 0), (6, 6, 0)],
)
def test_other_loses_10_per_missed_report_and_20_per_accepted_complaint(missed, complaints, score):
    assert other_score(missed, complaints) == score


@pytest.mark.parametrize(
    ("share", "score"),
    [
        (Rate(9, 10), 100),  # exactly 90 %
        (Rate(89, 100), 90),  # a started 5 %
        (Rate(85, 100), 90),  # exactly 5 % short
        (Rate(849, 1000), 80),
        (Rate(70, 100), 60),
        (Rate(0, 10), 0),  # 18 steps, held at 0
    ],
)
def test_the_survey_loses_10_per_started_5_percent_under_90(share, score):
    assert survey_score(share) == score


def test_a_missing_survey_has_no_score():
    assert survey_score(None) is None
    assert survey_score(Rate(0, 0)) is None


def test_the_weighted_score_is_half_onsite_a_fifth_other_and_three_tenths_survey():
    assert weighted_score(63, 80, 90) == Fraction(745, 10)
    assert weighted_score(100, 100, 100) == 100


# --- whole quarters at the boundaries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kpi_points", "score", "payment"),
    [
        (20, 90, Payment(Fraction(100), BASE_QUARTER_TOTAL)),  # 40 + 20 + 30
        (21, Fraction(895, 10), Payment(Fraction(995, 10), BASE_QUARTER_TOTAL)),
        (40, 80, Payment(Fraction(90), BASE_QUARTER_TOTAL)),
        (41, Fraction(795, 10), Payment(Fraction(90), ACTUAL, Fraction(1))),
        (50, 75, Payment(Fraction(90), ACTUAL, Fraction(10))),
        (51, Fraction(745, 10), Payment(Fraction(80), BASE_QUARTER_TOTAL)),
    ],
)
def test_a_quarter_scores_and_pays_by_the_table(kpi_points, score, payment):
    card = score_quarter("2026-Q4", inputs(kpi_points=kpi_points))
    assert card.onsite == 100 - kpi_points and card.other == 100 and card.survey == 100
    assert card.score == ScoreRange(Fraction(score), Fraction(score))
    assert card.payment_low == payment
    assert card.paid_low == payment and card.warnings == ()


def test_missed_reports_and_complaints_lower_the_other_part():
    card = score_quarter("2026-Q4", inputs(missed=1, complaints=1))
    assert (card.missed_reports, card.other) == (1, 70)
    assert card.score.low == 50 + 14 + 30


def test_each_replacement_not_made_in_time_costs_20_points_of_the_other_part():
    # "卖方未按买方要求撤换工程师的,每次扣20分": other = 100 - 20 x 2 = 60.
    card = score_quarter("2026-Q4", inputs(replacements=2))
    assert card.other == 60 and card.score.low == 50 + 12 + 30
    assert other_score(1, 1, 3) == 10 and other_score(0, 4, 2) == 0
    assert Scorecard.from_json(card.to_json()) == card


def test_two_quarters_in_a_row_under_75_warn_that_the_contract_may_end():
    under = ScoreRange(Fraction(70), Fraction(70))
    card = score_quarter("2026-Q4", inputs(kpi_points=51, previous=under))
    assert card.warnings == (WARN_TWO_QUARTERS,)
    # This quarter exactly 75, or the previous one exactly 75: no warning.
    assert score_quarter("2026-Q4", inputs(kpi_points=50, previous=under)).warnings == ()
    at_75 = ScoreRange(Fraction(75), Fraction(75))
    assert score_quarter("2026-Q4", inputs(kpi_points=51, previous=at_75)).warnings == ()
    # No previous quarter in service: nothing to compare with.
    assert score_quarter("2026-Q4", inputs(kpi_points=51)).warnings == ()


def test_false_reports_cut_the_payment_and_three_in_total_warn():
    card = score_quarter("2026-Q4", inputs(kpi_points=20, false_in_quarter=1, false_total=2))
    assert card.payment_low.percent == 100
    assert card.paid_low == Payment(Fraction(90), BASE_QUARTER_TOTAL)
    assert card.warnings == ()
    third = score_quarter("2026-Q4", inputs(kpi_points=20, false_in_quarter=2, false_total=3))
    assert third.paid_low == Payment(Fraction(80), BASE_QUARTER_TOTAL)
    assert third.warnings == (WARN_FALSE_REPORTS,)


def test_without_a_survey_the_score_is_a_range_not_an_invented_number():
    base = inputs(kpi_points=40)
    card = score_quarter(
        "2026-Q4",
        ScorecardInputs(
            kpis=base.kpis,
            reports=base.reports,
            accepted_complaints=0,
            survey=None,
            survey_period=None,
            false_reports_in_quarter=0,
            false_reports_total=0,
        ),
    )
    assert card.survey is None and not card.score.known
    assert card.score == ScoreRange(Fraction(50), Fraction(80))  # survey 0 .. 100
    assert card.payment_low == Payment(Fraction(80), BASE_QUARTER_TOTAL)
    assert card.payment_high == Payment(Fraction(90), BASE_QUARTER_TOTAL)


def test_an_open_survey_leaves_two_quarters_under_75_possible_or_certain():
    under = ScoreRange(Fraction(60), Fraction(60))
    missing = inputs(kpi_points=40, previous=under)
    possible = score_quarter(
        "2026-Q4",
        ScorecardInputs(**{**missing.__dict__, "survey": None, "survey_period": None}),
    )
    assert possible.warnings == (WARN_TWO_QUARTERS_POSSIBLE,)
    hopeless = inputs(kpi_points=100, missed=3, complaints=4, previous=under)
    certain = score_quarter(
        "2026-Q4",
        ScorecardInputs(**{**hopeless.__dict__, "survey": None, "survey_period": None}),
    )
    assert certain.score == ScoreRange(Fraction(0), Fraction(30))
    assert certain.warnings == (WARN_TWO_QUARTERS,)


def test_a_scorecard_survives_its_json_unchanged():
    card = score_quarter(
        "2026-Q4",
        inputs(
            kpi_points=41,
            missed=1,
            complaints=1,
            survey=Rate(17, 20),
            false_in_quarter=1,
            false_total=1,
            previous=ScoreRange(Fraction(60), Fraction(90)),
        ),
    )
    assert Scorecard.from_json(card.to_json()) == card


def test_a_monthly_summary_survives_its_json_unchanged():
    counts = KpiCounts(Rate(9, 10), Rate(4, 5), Rate(7, 8), 1, Rate(1, 3))
    summary = MonthlySummary(
        period="2026-11",
        timezone="Asia/Shanghai",
        site_code=None,
        site_name=None,
        as_of=AS_OF,
        tickets=12,
        cancelled=1,
        still_open=2,
        by_category={"software_fault": 5, "unclassified": 7},
        by_severity={1: 1, 2: 3, 3: 8, 4: 0},
        sites=(SiteLine(1, "HQ", "Head office", 12),),
        kpis=report_from_counts(counts, Q4_START, Q4_END, as_of=AS_OF),
    )
    assert MonthlySummary.from_json(summary.to_json()) == summary


# --- monthly reports due by the 15th (003) -------------------------------------------------------------


def test_a_months_report_is_due_by_the_end_of_the_15th_of_the_next_month():
    assert report_deadline("2026-11", "Asia/Shanghai") == datetime(2026, 12, 16, tzinfo=SHANGHAI)
    assert report_deadline("2026-12", "Asia/Shanghai") == datetime(2027, 1, 16, tzinfo=SHANGHAI)


def test_a_report_is_on_time_late_missing_or_pending():
    deadline = datetime(2026, 12, 16, tzinfo=SHANGHAI)
    just_before = datetime(2026, 12, 15, 23, 59, tzinfo=SHANGHAI)
    assert report_status(deadline, just_before, deadline) == ON_TIME
    assert report_status(deadline, deadline, deadline) == LATE
    assert report_status(deadline, None, just_before) == PENDING
    assert report_status(deadline, None, deadline) == MISSING
    assert MonthlyReportStatus("2026-11", deadline, None, MISSING).missed
    assert not MonthlyReportStatus("2026-11", deadline, None, PENDING).missed


# --- periods ---------------------------------------------------------------------------------------------


def test_periods_are_local_calendar_months_and_quarters():
    november = month_period("2026-11", "Asia/Shanghai")
    assert (november.start, november.end) == (
        datetime(2026, 11, 1, tzinfo=SHANGHAI),
        datetime(2026, 12, 1, tzinfo=SHANGHAI),
    )
    assert november.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    q4 = quarter_period("2026-q4", "Asia/Shanghai")
    assert (q4.label, q4.start, q4.end) == ("2026-Q4", Q4_START, Q4_END)
    assert months_of_quarter("2026-Q4") == ("2026-10", "2026-11", "2026-12")
    assert half_of_quarter("2026-Q2") == "2026-H1" and half_of_quarter("2026-Q3") == "2026-H2"


def test_previous_periods_cross_the_year():
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 1 January 00:30 in Shanghai
    assert previous_month_label(new_year, "Asia/Shanghai") == "2026-12"
    assert quarter_label(new_year, "Asia/Shanghai") == "2027-Q1"
    assert previous_quarter_label("2027-Q1") == "2026-Q4"


@pytest.mark.parametrize(
    "label", ["2026-13", "2026-1", "November", "2026-Q5", "", "0000-01", "9999-12", "9999-Q4"]
)
def test_a_bad_period_is_refused(label):
    with pytest.raises(InvalidInput):
        month_period(label, "Asia/Shanghai") if "Q" not in label else quarter_period(
            label, "Asia/Shanghai"
        )


# --- the survey's window ----------------------------------------------------------------------------------


def test_a_survey_round_is_open_for_14_days_from_the_1st_of_june_and_december():
    assert round_window(datetime(2026, 5, 31, 23, 59, tzinfo=SHANGHAI)) is None
    opened = round_window(datetime(2026, 6, 1, tzinfo=SHANGHAI))
    assert opened == ("2026-H1", datetime(2026, 6, 15, tzinfo=SHANGHAI))
    assert round_window(datetime(2026, 6, 14, 23, 59, tzinfo=SHANGHAI)) == opened
    assert round_window(datetime(2026, 6, 15, tzinfo=SHANGHAI)) is None
    assert round_window(datetime(2026, 12, 3, tzinfo=SHANGHAI))[0] == "2026-H2"
