"""Reports for people: the message text, a chart (PNG), and spreadsheet files (XLSX, CSV).

Everything here renders figures the core computed (`core.reports.monthly.MonthlySummary`,
`core.reports.scorecard.Scorecard`) in one reader's language; nothing is counted here.

- The monthly message goes out with a chart (tickets by service type, level and site,
  and the four KPIs against their targets) and one XLSX workbook with a sheet each for
  the KPIs, service types, levels and sites.
- The CSV (command line, `--format csv`) is the *summary*, one row per figure
  (`section, code, label, count, out_of, rate`): the same numbers as the workbook in a
  form any tool reads. Ticket-level rows are left out on purpose: the summary is what
  the contract scores, and a month's rows belong in a ticket export, not a report.
- Charts are drawn with matplotlib's Agg backend (no display) on a Figure object, never
  pyplot's global state, so renders in worker threads do not interfere. A chart needs a
  font with the reader's script: when the machine has no CJK font, a Chinese reader's
  chart is labelled in English (the message and the workbook stay in Chinese).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_decimal

from bot.i18n import N_, Safe, Translator, default_i18n
from bot.labels import SERVICE_TYPE, SEVERITY, label
from core.clock import DEFAULT_TIMEZONE
from core.enums import ServiceType
from core.reports.kpi import KpiReport, Rate
from core.reports.monthly import UNCLASSIFIED, MonthlySummary
from core.reports.periods import half_of_quarter
from core.reports.scorecard import (
    BASE_ACTUAL_COST,
    COMPLAINT_POINTS,
    FALSE_REPORT_PERCENT,
    LATE,
    MISSED_REPORT_POINTS,
    MISSING,
    ON_TIME,
    PENDING,
    VIP_POINTS,
    WARN_FALSE_REPORTS,
    WARN_TWO_QUARTERS,
    WARN_TWO_QUARTERS_POSSIBLE,
    Payment,
    Scorecard,
)

UNCLASSIFIED_LABEL = N_("Not yet classified")
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)
XLSX_MIME_SUFFIX = ".xlsx"
PERCENT_FORMAT = "0.0%"
REPORT_STATUS = {
    ON_TIME: N_("on time"),
    LATE: N_("late"),
    MISSING: N_("missing"),
    PENDING: N_("not due yet"),
}


# --- small formatting helpers -------------------------------------------------------------------


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
    """'2026 Q4' in the reader's language."""
    year, quarter = period.split("-Q")
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


def _joined(parts: Iterable[tuple[str, int]]) -> str:
    return " · ".join(f"{html.escape(name, quote=False)} {count}" for name, count in parts)


def place_text(t: Translator, site_name: str | None) -> str:
    """The site a report covers, or 'all sites'."""
    return site_name if site_name else t("all sites")


def plain(text: str) -> str:
    """Message HTML as plain text (for the command line)."""
    return html.unescape(re.sub(r"</?(b|i|u|code|pre)>", "", text))


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
        t("Figures as of {moment}.", moment=t.moment(summary.as_of, summary.timezone)),
    ]
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


# --- chart ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, if any."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def needs_cjk(texts: Iterable[str]) -> bool:
    """Any CJK character among the texts."""
    return any(ord(char) >= 0x2E80 for text in texts for char in text)


def chart_translator(t: Translator) -> Translator:
    """The reader's translator, or English when their script has no installed font."""
    if cjk_font() is None and needs_cjk([t("On-time arrival"), t("Tickets")]):
        return default_i18n().get("en")
    return t


def monthly_chart(t: Translator, summary: MonthlySummary) -> bytes:
    """A PNG: tickets by service type, level and site, and the KPIs against their targets."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = chart_translator(t)
    families = [family for family in (cjk_font(), "DejaVu Sans") if family]
    figure = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        plain(monthly_caption(t, summary)), fontsize=14, fontweight="bold", family=families
    )
    (types, levels), (sites, kpis) = figure.subplots(2, 2)

    def bars(axes: Any, title: str, labels: Sequence[str], values: Sequence[int]) -> None:
        axes.set_title(title, family=families)
        if not values or not any(values):
            axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
            axes.set_axis_off()
            return
        positions = list(range(len(values)))
        drawn = axes.barh(positions, values, color="#4C72B0")
        axes.set_yticks(positions, labels=labels, family=families)
        axes.invert_yaxis()
        axes.bar_label(drawn, padding=3)
        axes.set_xlabel(t("Tickets"), family=families)
        axes.margins(x=0.15)

    category_items = list(summary.by_category.items())
    bars(
        types,
        t("By service type"),
        [category_label(t, code) for code, _ in category_items],
        [n for _, n in category_items],
    )
    severity_items = list(summary.by_severity.items())
    bars(
        levels,
        t("By level"),
        [label(t, SEVERITY, level) for level, _ in severity_items],
        [n for _, n in severity_items],
    )
    top_sites = sorted(summary.sites, key=lambda line: -line.tickets)[:12]
    bars(
        sites,
        t("By site"),
        [line.name for line in top_sites],
        [line.tickets for line in top_sites],
    )

    report = summary.kpis
    rows = [
        (t("On-time arrival"), report.arrival, 0.90),
        (t("On-site fix"), report.fix, 0.95),
        (t("Rated 3-5"), report.satisfaction, 0.90),
        (t("Repeat repairs"), report.repeat, 0.15),
    ]
    kpis.set_title(t("Service levels (dashed: target or limit)"), family=families)
    positions = list(range(len(rows)))
    values = [(rate.as_float() or 0.0) * 100 for _, rate, _ in rows]
    colours = []
    for index, (_, rate, target) in enumerate(rows):
        value = rate.as_float()
        ok = value is None or (value <= target if index == 3 else value >= target)
        colours.append("#55A868" if ok else "#C44E52")
    kpis.barh(positions, values, color=colours)
    for position, (_, _, target) in zip(positions, rows, strict=True):
        kpis.vlines(target * 100, position - 0.4, position + 0.4, colors="black", linestyles="--")
    kpis.set_yticks(
        positions,
        labels=[f"{name}\n{t.percent(rate.as_float())}" for name, rate, _ in rows],
        family=families,
    )
    kpis.invert_yaxis()
    kpis.set_xlim(0, 100)
    kpis.set_xlabel("%")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- spreadsheets -------------------------------------------------------------------------------


def sheet_title(text: str) -> str:
    """A valid worksheet title: no []:*?/\\ and at most 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", " ", text)[:31] or "Sheet"


def _percent_cell(sheet: Any, row: int, column: int, rate: Rate) -> None:
    value = rate.as_float()
    cell = sheet.cell(row=row, column=column, value=value)
    cell.number_format = PERCENT_FORMAT


def _bold_row(sheet: Any, row: int) -> None:
    from openpyxl.styles import Font

    for cell in sheet[row]:
        cell.font = Font(bold=True)


def _fit_columns(sheet: Any) -> None:
    for column in sheet.columns:
        width = max((len(str(cell.value)) for cell in column if cell.value is not None), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))


def _kpi_rows(t: Translator, kpis: KpiReport) -> list[tuple[str, str, Rate, str, int]]:
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


def _write_kpis(t: Translator, sheet: Any, kpis: KpiReport) -> None:
    sheet.append(
        [t("Figure"), t("Count"), t("Out of"), t("Rate"), t("Target"), t("Points deducted")]
    )
    _bold_row(sheet, sheet.max_row)
    for _, name, rate, target, deduction in _kpi_rows(t, kpis):
        sheet.append([name, rate.numerator, rate.denominator, None, target, deduction])
        _percent_cell(sheet, sheet.max_row, 4, rate)
    sheet.append([t("Rated 1-2"), kpis.low_ratings])
    sheet.append([t("On-site support score"), kpis.score])


def monthly_xlsx(t: Translator, summary: MonthlySummary) -> bytes:
    """One workbook: KPIs, service types, levels, sites."""
    from openpyxl import Workbook

    book = Workbook()
    main = book.active
    main.title = sheet_title(t("Summary"))
    main.append([plain(monthly_caption(t, summary))])
    _bold_row(main, 1)
    main.append([t("Period"), summary.period])
    main.append([t("Sites"), place_text(t, summary.site_name)])
    main.append(
        [
            t("As of"),
            summary.as_of.astimezone(ZoneInfo(summary.timezone)).strftime("%Y-%m-%d %H:%M"),
        ]
    )
    main.append([t("Tickets reported"), summary.tickets])
    main.append([t("Cancelled"), summary.cancelled])
    main.append([t("Still open"), summary.still_open])
    main.append([])
    _write_kpis(t, main, summary.kpis)
    _fit_columns(main)

    types = book.create_sheet(sheet_title(t("By service type")))
    types.append([t("Service type"), t("Code"), t("Tickets")])
    _bold_row(types, 1)
    for code, n in summary.by_category.items():
        types.append([category_label(t, code), code, n])
    types.append([t("Total"), "", summary.tickets])
    _fit_columns(types)

    levels = book.create_sheet(sheet_title(t("By level")))
    levels.append([t("Level"), t("Code"), t("Tickets")])
    _bold_row(levels, 1)
    for level, n in summary.by_severity.items():
        levels.append([label(t, SEVERITY, level), level, n])
    levels.append([t("Total"), "", summary.tickets])
    _fit_columns(levels)

    sites = book.create_sheet(sheet_title(t("By site")))
    sites.append([t("Site"), t("Code"), t("Tickets"), t("Share")])
    _bold_row(sites, 1)
    for line in summary.sites:
        sites.append([line.name, line.code, line.tickets, None])
        _percent_cell(sites, sites.max_row, 4, Rate(line.tickets, summary.tickets))
    sites.append([t("Total"), "", summary.tickets])
    _fit_columns(sites)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CSV_HEADER = ("section", "code", "label", "count", "out_of", "rate")


def _csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Chinese labels


def _rate_csv(rate: Rate) -> str:
    value = rate.as_float()
    return "" if value is None else f"{value:.4f}"


def monthly_csv(t: Translator, summary: MonthlySummary) -> bytes:
    """The summary as CSV rows: tickets, service types, levels, sites, KPIs."""
    rows: list[Sequence[object]] = [
        ("tickets", "reported", t("Tickets reported"), summary.tickets, "", ""),
        ("tickets", "cancelled", t("Cancelled"), summary.cancelled, "", ""),
        ("tickets", "still_open", t("Still open"), summary.still_open, "", ""),
    ]
    rows += [
        ("service_type", code, category_label(t, code), n, summary.tickets, "")
        for code, n in summary.by_category.items()
    ]
    rows += [
        ("level", level, label(t, SEVERITY, level), n, summary.tickets, "")
        for level, n in summary.by_severity.items()
    ]
    rows += [("site", line.code, line.name, line.tickets, "", "") for line in summary.sites]
    for code, name, rate, _, deduction in _kpi_rows(t, summary.kpis):
        rows.append(("kpi", code, name, rate.numerator, rate.denominator, _rate_csv(rate)))
        rows.append(("deduction", code, name, deduction, "", ""))
    rows.append(("kpi", "low_ratings", t("Rated 1-2"), summary.kpis.low_ratings, "", ""))
    rows.append(("score", "onsite", t("On-site support score"), summary.kpis.score, 100, ""))
    return _csv_bytes(rows)


# --- the quarterly scorecard --------------------------------------------------------------------


def payment_text(t: Translator, payment: Payment) -> str:
    """'94.5% of the quarter's total' or '88.0% (of 90% of the actual cost …)'."""
    if payment.base == BASE_ACTUAL_COST:
        return t(
            "{percent} (90% of the actual cost, less 0.2% of the quarter's total per 0.1 point under 80)",
            percent=percent_of(t, payment.percent),
        )
    return t("{percent} of the quarter's total", percent=percent_of(t, payment.percent))


def payment_base_text(t: Translator, base: str) -> str:
    """What a payment percentage is taken of, in words (for the workbook's note column)."""
    if base == BASE_ACTUAL_COST:
        return t("of 90% of the actual cost")
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
        "",
    ]
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
        if card.score.known:
            paid = percent_of(t, card.paid_low)
        else:
            paid = t(
                "{low} to {high}",
                low=percent_of(t, card.paid_low),
                high=percent_of(t, card.paid_high),
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


def quarterly_filename(card: Scorecard, suffix: str) -> str:
    """'faultdesk-scorecard-2026-Q4[-HQ].xlsx'."""
    site = f"-{card.site_code}" if card.site_code else ""
    return f"faultdesk-scorecard-{card.period}{site}{suffix}"


def _score_rows(t: Translator, card: Scorecard) -> list[tuple[str, str, object, object, object]]:
    """(code, label, value, out of, note) rows of the scorecard."""
    inputs = card.inputs
    survey_note = inputs.survey_period or t("not available")
    rows: list[tuple[str, str, object, object, object]] = [
        ("onsite", t("On-site support (50%)"), card.onsite, 100, ""),
        ("other", t("Other (20%)"), card.other, 100, ""),
        ("survey", t("Satisfaction survey (30%)"), card.survey, 100, survey_note),
        ("missed_reports", t("Missed monthly reports"), card.missed_reports, "", ""),
        ("accepted_complaints", t("Accepted complaints"), inputs.accepted_complaints, "", ""),
        ("score_low", t("Quarterly score (lowest)"), float(card.score.low), 100, ""),
        ("score_high", t("Quarterly score (highest)"), float(card.score.high), 100, ""),
        (
            "payment_low",
            t("Payment % (lowest)"),
            float(card.payment_low.percent),
            100,
            payment_base_text(t, card.payment_low.base),
        ),
        (
            "payment_high",
            t("Payment % (highest)"),
            float(card.payment_high.percent),
            100,
            payment_base_text(t, card.payment_high.base),
        ),
        (
            "false_reports",
            t("False reports this quarter"),
            inputs.false_reports_in_quarter,
            "",
            "",
        ),
        ("false_reports_total", t("False reports in total"), inputs.false_reports_total, 3, ""),
        ("paid_low", t("Paid % after false reports (lowest)"), float(card.paid_low), 100, ""),
        ("paid_high", t("Paid % after false reports (highest)"), float(card.paid_high), 100, ""),
    ]
    return rows


def quarterly_xlsx(t: Translator, card: Scorecard) -> bytes:
    """One workbook: the scorecard, the KPIs, and the monthly reports' status."""
    from openpyxl import Workbook

    book = Workbook()
    main = book.active
    main.title = sheet_title(t("Scorecard"))
    main.append(
        [plain(t("Quarterly scorecard · {quarter}", quarter=quarter_title(t, card.period)))]
    )
    _bold_row(main, 1)
    main.append([t("Item"), t("Code"), t("Value"), t("Out of"), t("Note")])
    _bold_row(main, 2)
    for code, name, value, out_of, note in _score_rows(t, card):
        main.append([name, code, value, out_of, note])
    for code in card.warnings:
        main.append([plain(warning_text(t, code)), code])
    _fit_columns(main)
    kpis = book.create_sheet(sheet_title(t("Service levels")))
    _write_kpis(t, kpis, card.kpis)
    _fit_columns(kpis)
    months = book.create_sheet(sheet_title(t("Monthly reports")))
    months.append([t("Month"), t("Due by"), t("Posted"), t("Status")])
    _bold_row(months, 1)
    for r in card.inputs.reports:
        months.append(
            [
                r.month,
                r.deadline.strftime("%Y-%m-%d %H:%M %Z"),
                r.posted_at.isoformat(timespec="minutes") if r.posted_at else "",
                label(t, REPORT_STATUS, r.status),
            ]
        )
    _fit_columns(months)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def quarterly_csv(t: Translator, card: Scorecard) -> bytes:
    """The scorecard as CSV rows."""
    rows: list[Sequence[object]] = []
    for code, name, value, out_of, _ in _score_rows(t, card):
        rows.append(("score", code, name, "" if value is None else value, out_of, ""))
    for code, name, rate, _, deduction in _kpi_rows(t, card.kpis):
        rows.append(("kpi", code, name, rate.numerator, rate.denominator, _rate_csv(rate)))
        rows.append(("deduction", code, name, deduction, "", ""))
    survey = card.inputs.survey
    if survey is not None:
        rows.append(
            (
                "survey",
                card.inputs.survey_period or "",
                t("Rated 3-5"),
                survey.numerator,
                survey.denominator,
                _rate_csv(survey),
            )
        )
    for r in card.inputs.reports:
        rows.append(("monthly_report", r.month, r.status, int(r.missed), "", ""))
    for code in card.warnings:
        rows.append(("warning", code, plain(warning_text(t, code)), "", "", ""))
    return _csv_bytes(rows)


def as_of_local(moment: datetime, tz: str) -> str:
    """A moment as 'YYYY-MM-DD HH:MM' in zone `tz` (files)."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
