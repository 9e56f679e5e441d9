"""Words and figures every report output shares: names, titles, rates, statuses, file names."""

from __future__ import annotations

import html
import re
from datetime import date
from fractions import Fraction

from babel.dates import format_skeleton
from babel.numbers import format_decimal

from bot.i18n import N_, Translator
from bot.labels import SERVICE_TYPE, label
from core.enums import ServiceType
from core.reports.kpi import (
    ARRIVAL,
    FIX,
    OVER_LIMIT,
    REPEAT,
    SATISFACTION,
    UNDER_TARGET,
    Deduction,
    KpiReport,
    Rate,
    explain,
)
from core.reports.monthly import UNCLASSIFIED, MonthlySummary
from core.reports.scorecard import (
    BASE_ACTUAL_COST,
    LATE,
    MISSING,
    ON_TIME,
    PENDING,
    WARN_FALSE_REPORTS,
    WARN_TWO_QUARTERS,
    WARN_TWO_QUARTERS_POSSIBLE,
    Payment,
    Scorecard,
)

UNCLASSIFIED_LABEL = N_("Not yet classified")
REPORT_STATUS = {
    ON_TIME: N_("on time"),
    LATE: N_("late"),
    MISSING: N_("missing"),
    PENDING: N_("not due yet"),
}


def category_label(t: Translator, code: str) -> str:
    """A service type's name (or 'Not yet classified')."""
    if code == UNCLASSIFIED:
        return t(UNCLASSIFIED_LABEL)
    try:
        return label(t, SERVICE_TYPE, ServiceType(code))
    except ValueError:
        return code


def month_title(t: Translator, period: str) -> str:
    """'November 2026' / '2026年11月' for '2026-11'."""
    year, month = (int(part) for part in period.split("-"))
    return format_skeleton("yMMMM", date(year, month, 1), locale=t.locale)


def quarter_title(t: Translator, period: str) -> str:
    """'2026 Q4' in the reader's language (anything else as it is)."""
    year, separator, quarter = period.partition("-Q")
    if not separator:
        return period
    return t("{year} Q{quarter}", year=year, quarter=quarter)


def score_text(t: Translator, value: Fraction) -> str:
    """A weighted score with one decimal ('89.5', '90.0')."""
    return format_decimal(float(value), format="#,##0.0", locale=t.locale)


def percent_of(t: Translator, value: Fraction) -> str:
    """A payment percentage (value in percent points) with one decimal."""
    return t.percent(float(value) / 100)


def rate_text(t: Translator, rate: Rate) -> str:
    """'92.0% (46 of 50)', or a dash when nothing was counted."""
    if rate.denominator == 0:
        return t("— (nothing counted)")
    return t(
        "{value} ({n} of {total})",
        value=t.percent(rate.as_float()),
        n=rate.numerator,
        total=rate.denominator,
    )


def place_text(t: Translator, site_name: str | None) -> str:
    """The site a report covers, or 'all sites'."""
    return site_name if site_name else t("all sites")


def plain(text: str) -> str:
    """Message HTML as plain text (for the command line)."""
    return html.unescape(re.sub(r"</?(b|i|u|code|pre)>", "", text))


def monthly_caption(t: Translator, summary: MonthlySummary) -> str:
    """Caption of the chart and the file."""
    return t(
        "Monthly summary · {month} · {place}",
        month=month_title(t, summary.period),
        place=place_text(t, summary.site_name),
    )


def monthly_filename(summary: MonthlySummary, suffix: str) -> str:
    """'faultdesk-monthly-2026-11[-HQ].xlsx'."""
    site = f"-{summary.site_code}" if summary.site_code else ""
    return f"faultdesk-monthly-{summary.period}{site}{suffix}"


def kpi_rows(t: Translator, kpis: KpiReport) -> list[tuple[str, str, Rate, str, int]]:
    """(code, label, rate, target, points deducted) rows of the four KPIs."""
    return [
        ("arrival", t("On-time arrival"), kpis.arrival, "≥ 90%", kpis.arrival_deduction),
        ("fix", t("On-site fix"), kpis.fix, "≥ 95%", kpis.fix_deduction),
        ("satisfaction", t("Rated 3-5"), kpis.satisfaction, "≥ 90%", kpis.satisfaction_deduction),
        (
            "repeat",
            t("30-day repeat repairs (software)"),
            kpis.repeat,
            "≤ 15%",
            kpis.repeat_deduction,
        ),
    ]


def kpi_name(t: Translator, kpi: str) -> str:
    """A KPI's name as the reports show it."""
    return {
        ARRIVAL: t("On-time arrival"),
        FIX: t("On-site fix"),
        SATISFACTION: t("Rated 3-5"),
        REPEAT: t("30-day repeat repairs (software)"),
    }[kpi]


def points_text(t: Translator, value: Fraction) -> str:
    """Percentage points with one decimal ('40.0')."""
    return format_decimal(float(value), format="#,##0.0", locale=t.locale)


def deduction_text(t: Translator, d: Deduction) -> str:
    """How one KPI's deduction is counted, in a line:
    'On-time arrival 50.0% (1 of 2): 40.0 points under 90% → 8 steps × 10 = −80'."""
    head = t(
        "{name} {value} ({n} of {total})",
        name=kpi_name(t, d.kpi),
        value=t.percent(d.rate.as_float()),
        n=d.rate.numerator,
        total=d.rate.denominator,
    )
    target = f"{float(d.target * 100):.0f}%"
    if d.outcome == UNDER_TARGET and d.kpi == SATISFACTION:
        rule = t(
            "{shortfall} points under {target} → {units} dispatch(es) rated 1-2 × {per_unit} = −{points}",
            shortfall=points_text(t, d.shortfall or Fraction(0)),
            target=target,
            units=d.units,
            per_unit=d.per_unit,
            points=d.units * d.per_unit,
        )
    elif d.outcome == UNDER_TARGET:
        rule = t(
            "{shortfall} points under {target} → {units} step(s) of 5% × {per_unit} = −{points}",
            shortfall=points_text(t, d.shortfall or Fraction(0)),
            target=target,
            units=d.units,
            per_unit=d.per_unit,
            points=d.units * d.per_unit,
        )
    elif d.outcome == OVER_LIMIT:
        rule = t(
            "over {target} → {units} repeat(s) × {per_unit} = −{points}",
            target=target,
            units=d.units,
            per_unit=d.per_unit,
            points=d.units * d.per_unit,
        )
    else:
        return head
    line = f"{head}: {rule}"
    if d.capped:
        line += " " + t("(capped at −{points}: 扣分至满100分止)", points=d.points)
    return line


def deduction_lines(t: Translator, kpis: KpiReport) -> list[str]:
    """One line per KPI that costs points, with its arithmetic."""
    return [deduction_text(t, d) for d in explain(kpis) if d.points]


def payment_base_text(t: Translator, payment: Payment) -> str:
    """What a payment percentage is taken of, in words (for the workbook's note column)."""
    if payment.base == BASE_ACTUAL_COST:
        if payment.less_of_total:
            return t(
                "of the actual cost, less {less} of the quarter's total",
                less=percent_of(t, payment.less_of_total),
            )
        return t("of the actual cost")
    return t("of the quarter's total")


def warning_text(t: Translator, code: str) -> str:
    """A scorecard warning in words."""
    if code == WARN_TWO_QUARTERS:
        return t(
            "⛔ Two quarters in a row under 75 points: the customer may end the contract (000 §4)."
        )
    if code == WARN_TWO_QUARTERS_POSSIBLE:
        return t(
            "⚠️ Under 75 points after the previous quarter under 75 is still possible once the survey is in: the customer could then end the contract."
        )
    if code == WARN_FALSE_REPORTS:
        return t(
            "⛔ Three or more false reports in total: the customer may end the contract (000 §4)."
        )
    return code


def quarterly_filename(card: Scorecard, suffix: str) -> str:
    """'faultdesk-scorecard-2026-Q4[-HQ].xlsx'."""
    site = f"-{card.site_code}" if card.site_code else ""
    return f"faultdesk-scorecard-{card.period}{site}{suffix}"


def score_rows(t: Translator, card: Scorecard) -> list[tuple[str, str, object, object, object]]:
    """(code, label, value, out of, note) rows of the scorecard."""
    inputs = card.inputs
    survey_note = inputs.survey_period or t("not available")
    rows: list[tuple[str, str, object, object, object]] = [
        ("onsite", t("On-site support (50%)"), card.onsite, 100, ""),
        ("other", t("Other (20%)"), card.other, 100, ""),
        ("survey", t("Satisfaction survey (30%)"), card.survey, 100, survey_note),
        ("missed_reports", t("Missed monthly reports"), card.missed_reports, "", ""),
        ("accepted_complaints", t("Accepted complaints"), inputs.accepted_complaints, "", ""),
        (
            "missed_replacements",
            t("Engineer replacements not made in time"),
            inputs.missed_replacements,
            "",
            "",
        ),
        ("score_low", t("Quarterly score (lowest)"), float(card.score.low), 100, ""),
        ("score_high", t("Quarterly score (highest)"), float(card.score.high), 100, ""),
        (
            "payment_low",
            t("Payment % (lowest)"),
            float(card.payment_low.percent),
            100,
            payment_base_text(t, card.payment_low),
        ),
        (
            "payment_high",
            t("Payment % (highest)"),
            float(card.payment_high.percent),
            100,
            payment_base_text(t, card.payment_high),
        ),
        (
            "false_reports",
            t("False reports this quarter"),
            inputs.false_reports_in_quarter,
            "",
            "",
        ),
        ("false_reports_total", t("False reports in total"), inputs.false_reports_total, 3, ""),
        (
            "paid_low",
            t("Paid % after false reports (lowest)"),
            float(card.paid_low.percent),
            100,
            payment_base_text(t, card.paid_low),
        ),
        (
            "paid_high",
            t("Paid % after false reports (highest)"),
            float(card.paid_high.percent),
            100,
            payment_base_text(t, card.paid_high),
        ),
    ]
    return rows
