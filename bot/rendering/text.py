"""The report messages (HTML): the monthly summary and the quarterly scorecard."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from fractions import Fraction

from bot.i18n import Safe, Translator
from bot.labels import SEVERITY, label
from bot.rendering.wording import (
    REPORT_STATUS,
    category_label,
    deduction_lines,
    month_title,
    percent_of,
    place_text,
    quarter_title,
    rate_text,
    score_text,
    warning_text,
)
from core.clock import DEFAULT_TIMEZONE
from core.reports.kpi import KpiReport
from core.reports.monthly import MonthlySummary, site_report
from core.reports.periods import half_of_quarter
from core.reports.scorecard import (
    BASE_ACTUAL_COST,
    COMPLAINT_POINTS,
    FALSE_REPORT_PERCENT,
    MISSED_REPORT_POINTS,
    REPLACEMENT_POINTS,
    VIP_POINTS,
    Payment,
    Scorecard,
)


def kpi_lines(t: Translator, kpis: KpiReport) -> list[str]:
    """The four KPI lines with targets and the points each costs."""
    from bot.handlers.manager import rate_line  # one wording for /stats and the reports

    return [
        rate_line(t, t("On-time arrival"), kpis.arrival, t("target 90%"), kpis.arrival_deduction),
        rate_line(t, t("On-site fix"), kpis.fix, t("target 95%"), kpis.fix_deduction),
        rate_line(
            t, t("Rated 3-5"), kpis.satisfaction, t("target 90%"), kpis.satisfaction_deduction
        ),
        rate_line(
            t,
            t("30-day repeat repairs (software)"),
            kpis.repeat,
            t("limit 15%"),
            kpis.repeat_deduction,
        ),
    ]


def explained_lines(t: Translator, kpis: KpiReport) -> list[str]:
    """'↳ …' under the KPI lines: how each deduction was counted."""
    return ["↳ " + line for line in deduction_lines(t, kpis)]


def remote_lines(t: Translator, kpis: KpiReport) -> list[str]:
    """Remote fixes' own rating share (not an on-site dispatch: no deduction)."""
    rate = kpis.remote_satisfaction
    if rate.denominator == 0:
        return []
    return [
        t(
            "Remote fixes rated 3-5: {rate} · {low} rated 1-2 (reported apart, no deduction)",
            rate=rate_text(t, rate),
            low=kpis.remote_low_ratings,
        )
    ]


def site_lines(t: Translator, sites: Sequence[tuple[str, KpiReport]]) -> list[str]:
    """Each site's on-site support score and its deductions explained."""
    lines = ["", t("<b>Service levels by site</b>:")]
    for name, kpis in sites:
        lines.append(
            t(
                "<b>{site}</b>: on-site support {score}/100 (−{points})",
                site=name,
                score=kpis.score,
                points=kpis.total_deduction,
            )
        )
        lines += ["  ↳ " + line for line in deduction_lines(t, kpis)]
    return lines


def _joined(parts: Iterable[tuple[str, int]]) -> str:
    return " · ".join(f"{html.escape(name, quote=False)} {count}" for name, count in parts)


# --- the monthly summary ------------------------------------------------------------------------


def monthly_text(t: Translator, summary: MonthlySummary, *, attachments: bool = True) -> str:
    """The monthly summary message (HTML)."""
    kpis = summary.kpis
    lines = [
        t(
            "📊 <b>Monthly summary · {month}</b> · {place}",
            month=month_title(t, summary.period),
            place=place_text(t, summary.site_name),
        ),
        t(
            "Tickets reported: <b>{n}</b> ({cancelled} cancelled, {open} still open)",
            n=summary.tickets,
            cancelled=summary.cancelled,
            open=summary.still_open,
        ),
        t("<b>By service type</b>: {parts}", parts=Safe(_category_parts(t, summary))),
        t("<b>By level</b>: {parts}", parts=Safe(_severity_parts(t, summary))),
    ]
    if summary.site_code is None:
        lines.append(
            t(
                "<b>By site</b>: {parts}",
                parts=Safe(_joined((line.name, line.tickets) for line in summary.sites) or "—"),
            )
        )
    lines += [
        "",
        t("<b>Service levels</b> (000 §4):"),
        *kpi_lines(t, kpis),
        t(
            "Deductions: −{points} · on-site support {score}/100",
            points=kpis.total_deduction,
            score=kpis.score,
        ),
        *explained_lines(t, kpis),
        *remote_lines(t, kpis),
    ]
    if summary.site_code is None:
        per_site = [
            (line.name, report)
            for line in summary.sites
            if (report := site_report(summary, line)) is not None
        ]
        if len(per_site) > 1:
            lines += site_lines(t, per_site)
    lines.append(t("Figures as of {moment}.", moment=t.moment(summary.as_of, summary.timezone)))
    if summary.audit_anchor:
        lines.append(
            t(
                "🔏 Audit log fingerprint: <code>{anchor}</code>. Keep this message: it proves"
                " later that the ticket history was not rewritten.",
                anchor=summary.audit_anchor,
            )
        )
    if attachments:
        lines.append(t("The chart and the spreadsheet follow."))
    return "\n".join(lines)


def _category_parts(t: Translator, summary: MonthlySummary) -> str:
    return (
        _joined((category_label(t, code), n) for code, n in summary.by_category.items() if n) or "—"
    )


def _severity_parts(t: Translator, summary: MonthlySummary) -> str:
    return (
        _joined((label(t, SEVERITY, level), n) for level, n in summary.by_severity.items() if n)
        or "—"
    )


# --- the quarterly scorecard --------------------------------------------------------------------


def payment_text(t: Translator, payment: Payment) -> str:
    """'94.5% of the quarter's total' or '90.0% of the actual cost, less 1.0% of the quarter's total'."""
    if payment.base == BASE_ACTUAL_COST:
        if payment.less_of_total:
            return t(
                "{percent} of the actual cost, less {less} of the quarter's total",
                percent=percent_of(t, payment.percent),
                less=percent_of(t, payment.less_of_total),
            )
        return t("{percent} of the actual cost", percent=percent_of(t, payment.percent))
    return t("{percent} of the quarter's total", percent=percent_of(t, payment.percent))


def with_points(t: Translator, line: str, points: int) -> str:
    """A scorecard line with the points it costs, when it costs any."""
    return line + " · " + t("−{points} points", points=points) if points else line


def _month_statuses(t: Translator, card: Scorecard) -> str:
    if not card.inputs.reports:
        return t("none due")
    return " · ".join(
        t(
            "{month}: {status}",
            month=month_title(t, r.month),
            status=label(t, REPORT_STATUS, r.status),
        )
        for r in card.inputs.reports
    )


def quarterly_text(t: Translator, card: Scorecard, *, tz: str = DEFAULT_TIMEZONE) -> str:
    """The quarterly scorecard message (HTML)."""
    inputs = card.inputs
    place = card.site_code or t("all sites")
    lines = [
        t(
            "🏁 <b>Quarterly scorecard · {quarter}</b> · {place}",
            quarter=quarter_title(t, card.period),
            place=place,
        ),
        "",
        t("<b>On-site support</b> (50%): <b>{score}</b>/100", score=card.onsite),
        *kpi_lines(t, card.kpis),
    ]
    if inputs.vip_failures:
        lines.append(
            with_points(
                t,
                t("VIP service failures: {n}", n=inputs.vip_failures),
                VIP_POINTS * inputs.vip_failures,
            )
        )
    lines += [
        "",
        t("<b>Other</b> (20%): <b>{score}</b>/100", score=card.other),
        with_points(
            t,
            t(
                "Monthly reports (due by the 15th): {months}",
                months=Safe(_month_statuses(t, card)),
            ),
            MISSED_REPORT_POINTS * card.missed_reports,
        ),
        with_points(
            t,
            t("Accepted complaints: {n}", n=inputs.accepted_complaints),
            COMPLAINT_POINTS * inputs.accepted_complaints,
        ),
    ]
    if inputs.missed_replacements:
        # "卖方未按买方要求撤换工程师的,每次扣20分": shown only when one was missed.
        lines.append(
            with_points(
                t,
                t(
                    "Engineer replacements not made in time: {n}",
                    n=inputs.missed_replacements,
                ),
                REPLACEMENT_POINTS * inputs.missed_replacements,
            )
        )
    lines.append("")
    if card.survey is None or inputs.survey is None:
        lines += [
            t("<b>Satisfaction survey</b> (30%): <b>not available</b>"),
            t(
                "No closed survey round covers this quarter ({half}); the survey part is not scored.",
                half=half_of_quarter(card.period),
            ),
        ]
    else:
        lines += [
            t("<b>Satisfaction survey</b> (30%): <b>{score}</b>/100", score=card.survey),
            t(
                "{half}: rated 3-5 {rate} · target 90%",
                half=inputs.survey_period or "",
                rate=rate_text(t, inputs.survey),
            ),
        ]
    lines.append("")
    if card.score.known:
        lines.append(
            t("<b>Quarterly score</b>: <b>{score}</b>", score=score_text(t, card.score.low))
        )
        lines.append(
            t("<b>Payment</b>: {payment}", payment=Safe(payment_text(t, card.payment_low)))
        )
    else:
        lines.append(
            t(
                "<b>Quarterly score</b>: not final; between {low} and {high} depending on the survey",
                low=score_text(t, card.score.low),
                high=score_text(t, card.score.high),
            )
        )
        if card.payment_low == card.payment_high:
            payment = payment_text(t, card.payment_low)
        else:
            payment = t(
                "between {low} and {high}",
                low=Safe(payment_text(t, card.payment_low)),
                high=Safe(payment_text(t, card.payment_high)),
            )
        lines.append(t("<b>Payment</b>: {payment}", payment=Safe(payment)))
    if inputs.false_reports_in_quarter:
        if card.score.known or card.paid_low == card.paid_high:
            paid = payment_text(t, card.paid_low)
        else:
            paid = t(
                "{low} to {high}",
                low=payment_text(t, card.paid_low),
                high=payment_text(t, card.paid_high),
            )
        lines.append(
            t(
                "False reports found this quarter: {n} · −{percent} of the quarter's total · pays {paid}",
                n=inputs.false_reports_in_quarter,
                percent=percent_of(
                    t, Fraction(FALSE_REPORT_PERCENT * inputs.false_reports_in_quarter)
                ),
                paid=paid,
            )
        )
    lines.append(t("False reports in total: {n} of 3", n=inputs.false_reports_total))
    lines += [warning_text(t, code) for code in card.warnings]
    lines.append(t("Figures as of {moment}.", moment=t.moment(card.kpis.as_of, tz)))
    return "\n".join(lines)
