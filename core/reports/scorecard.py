"""The quarterly scorecard of 000 §4: the score, the payment it earns, and the warnings (pure).

Readings of the scoring table and payment rules:

* On-site support (50 %) = 100 minus the four KPI deductions of `core.reports.kpi` (the
  quarter as one period) and 10 per VIP failure; VIP service is not tracked by
  faultdesk, so it is 0 unless a caller passes a number. Never below 0 ("扣分至满100分止").
* Other (20 %) = 100 - 10 per missed monthly report - 20 per accepted complaint (answered
  as accepted in the quarter) - 20 per engineer replacement not met by its deadline
  ("卖方未按买方要求撤换工程师的,每次扣20分"; 002 gives the contractor ten working days;
  `core.replacements`), counted in the quarter the deadline falls in. A month's report is missed when its summary run
  (`monthly-summary:YYYY-MM`) was not created by the 15th of the following month (003),
  local time; a month whose deadline has not passed and has no run yet is *pending* and
  costs nothing yet; months that ended before the helpdesk started (first person
  registered) are not counted.
* Semiannual survey (30 %) = 100 - 10 per started 5 % below 90 % of answers 3-5, from the
  closed rounds of the half-year the quarter belongs to (Q1, Q2: H1; Q3, Q4: H2). With no
  closed round (or no answer) the part is *not available*: no number is invented; the
  weighted score and the payment are then given as the range the survey could still
  produce (survey 0 to 100), and the card says the survey is missing.
* Weighted score = 0.5 on-site + 0.2 other + 0.3 survey, exact (always a multiple of 0.1).
* Payment (share of the quarter's total): over 90 → 100 %; exactly 90 → 100 % (the 80-90
  rule's own value at 0 points short; the sheet's brackets leave 90 itself unnamed);
  80 ≤ s < 90 → 100 % - 0.1 % per started 0.1 point under 90; 75 ≤ s < 80 → the clause
  names two bases ("在实际发生费用*90%的基础上,比80分每少0.1分扣季度总款的0.2%"): 90 % of the
  *actual cost* (实际发生费用), less 0.2 % of the *quarter's total* (季度总款) per started
  0.1 point under 80; the two are kept apart (`Payment.percent` of `base`, and
  `less_of_total`), since the actual cost is not known to faultdesk; under 75 → 80 %.
  Each false report found in the quarter takes a further 10 % of the quarter's total
  ("扣季度总款的10%"; never below 0 when the base is the quarter's total).
* Warnings: this quarter and the previous one both under 75 ("连续两个季度评分不足75分" →
  the customer may end the contract; "possible" when a missing survey leaves it open);
  three false reports in total up to the quarter's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from core.reports.kpi import (
    MAX_DEDUCTION,
    POINTS_PER_STEP,
    KpiReport,
    Rate,
    counts_from_json,
    counts_json,
    counts_of,
    rate_from_json,
    rate_json,
    report_from_counts,
    started_steps_below,
)

ONSITE_WEIGHT = Fraction(1, 2)
OTHER_WEIGHT = Fraction(1, 5)
SURVEY_WEIGHT = Fraction(3, 10)
SURVEY_TARGET = Fraction(90, 100)
MISSED_REPORT_POINTS = 10
COMPLAINT_POINTS = 20
REPLACEMENT_POINTS = 20
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


def other_score(missed_reports: int, accepted_complaints: int, missed_replacements: int = 0) -> int:
    """Other out of 100: minus 10 per missed monthly report, 20 per accepted complaint and
    20 per engineer replacement not met by its deadline."""
    deduction = (
        MISSED_REPORT_POINTS * missed_reports
        + COMPLAINT_POINTS * accepted_complaints
        + REPLACEMENT_POINTS * missed_replacements
    )
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
    """What a score earns: `percent` of `base`, less `less_of_total` % of the quarter's total.

    The 75-80 bracket pays 90 % of the actual cost less 0.2 % of the quarter's total per
    started 0.1 point under 80; every other bracket is a share of the quarter's total.
    """

    percent: Fraction
    base: str  # quarter_total, or actual_cost (the 75-80 bracket)
    less_of_total: Fraction = Fraction(0)


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
        return Payment(Fraction(90), BASE_ACTUAL_COST, Fraction(2, 10) * steps)
    return Payment(Fraction(80), BASE_QUARTER_TOTAL)


def after_false_reports(percent: Fraction, false_reports: int) -> Fraction:
    """Minus 10 % of the quarter's total per false report found in it (not below 0)."""
    return max(Fraction(0), percent - FALSE_REPORT_PERCENT * false_reports)


def paid_after_false_reports(payment: Payment, false_reports: int) -> Payment:
    """The payment less 10 % of the quarter's total per false report found in the quarter."""
    if payment.base == BASE_QUARTER_TOTAL:
        return Payment(after_false_reports(payment.percent, false_reports), payment.base)
    cut = payment.less_of_total + FALSE_REPORT_PERCENT * false_reports
    return Payment(payment.percent, payment.base, cut)


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
    missed_replacements: int = 0  # replacement requests whose deadline in the quarter was missed


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
    paid_low: Payment  # after false reports
    paid_high: Payment
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
            "kpis": counts_json(counts_of(inputs.kpis)),
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
            "survey": rate_json(inputs.survey) if inputs.survey is not None else None,
            "survey_period": inputs.survey_period,
            "false_reports_in_quarter": inputs.false_reports_in_quarter,
            "false_reports_total": inputs.false_reports_total,
            "previous": (
                [str(inputs.previous.low), str(inputs.previous.high)] if inputs.previous else None
            ),
            "vip_failures": inputs.vip_failures,
            "missed_replacements": inputs.missed_replacements,
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
            survey=rate_from_json(data["survey"]) if data.get("survey") is not None else None,
            survey_period=data.get("survey_period"),
            false_reports_in_quarter=int(data["false_reports_in_quarter"]),
            false_reports_total=int(data["false_reports_total"]),
            previous=ScoreRange(Fraction(previous[0]), Fraction(previous[1])) if previous else None,
            vip_failures=int(data.get("vip_failures", 0)),
            missed_replacements=int(data.get("missed_replacements", 0)),
        )
        return score_quarter(data["period"], inputs, site_code=data.get("site_code"))


def score_quarter(
    period: str, inputs: ScorecardInputs, *, site_code: str | None = None
) -> Scorecard:
    """Apply the 000 §4 table and payment rules to a quarter's inputs."""
    onsite = onsite_score(inputs.kpis, inputs.vip_failures)
    missed = sum(1 for r in inputs.reports if r.missed)
    other = other_score(missed, inputs.accepted_complaints, inputs.missed_replacements)
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
        paid_low=paid_after_false_reports(payment_low, inputs.false_reports_in_quarter),
        paid_high=paid_after_false_reports(payment_high, inputs.false_reports_in_quarter),
        warnings=tuple(warnings),
    )
