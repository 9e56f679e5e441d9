"""The workbooks (XLSX) that go with the monthly summary and the quarterly scorecard."""

from __future__ import annotations

import io
import re
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from bot.labels import SEVERITY, label
from bot.rendering.details import write_details, write_notes
from bot.rendering.wording import (
    REPORT_STATUS,
    category_label,
    deduction_lines,
    kpi_rows,
    monthly_caption,
    place_text,
    plain,
    quarter_title,
    score_rows,
    warning_text,
)
from core.clock import DEFAULT_TIMEZONE
from core.reports.details import KpiDetails
from core.reports.kpi import KpiReport, Rate
from core.reports.monthly import ARRIVAL_CHECKS, MonthlySummary
from core.reports.scorecard import Scorecard

PERCENT_FORMAT = "0.0%"
ARRIVAL_EVIDENCE = {
    "verified": N_("Arrival verified by location"),
    "outside": N_("Arrival outside the site's radius"),
    "not_given": N_("Arrival without a location"),
    "unchecked": N_("Arrival at a site without coordinates"),
}


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


def _write_kpis(t: Translator, sheet: Any, kpis: KpiReport) -> None:
    sheet.append(
        [t("Figure"), t("Count"), t("Out of"), t("Rate"), t("Target"), t("Points deducted")]
    )
    _bold_row(sheet, sheet.max_row)
    for _, name, rate, target, deduction in kpi_rows(t, kpis):
        sheet.append([name, rate.numerator, rate.denominator, None, target, deduction])
        _percent_cell(sheet, sheet.max_row, 4, rate)
    sheet.append([t("Rated 1-2"), kpis.low_ratings])
    remote = kpis.remote_satisfaction
    sheet.append(
        [t("Remote fixes rated 3-5 (apart, no deduction)"), remote.numerator, remote.denominator]
    )
    _percent_cell(sheet, sheet.max_row, 4, remote)
    sheet.append([t("Remote fixes rated 1-2"), kpis.remote_low_ratings])
    sheet.append([t("On-site support score"), kpis.score])
    for line in deduction_lines(t, kpis):
        sheet.append([line])


def monthly_xlsx(
    t: Translator, summary: MonthlySummary, details: KpiDetails | None = None
) -> bytes:
    """One workbook: KPIs, service types, levels, sites; with `details`, every KPI's tickets."""
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
    if summary.arrival_checks:
        # Next to the on-time arrival rate: how far each arrival is evidenced (000 §4).
        main.append([])
        main.append([t("Arrivals by evidence"), t("Count")])
        _bold_row(main, main.max_row)
        for code in ARRIVAL_CHECKS:
            main.append([t(ARRIVAL_EVIDENCE[code]), summary.arrival_checks.get(code, 0)])
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
    if details is not None:
        write_details(t, book, details, summary.timezone)
    write_notes(t, book, details, summary.kpis)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def quarterly_xlsx(
    t: Translator, card: Scorecard, details: KpiDetails | None = None, tz: str = DEFAULT_TIMEZONE
) -> bytes:
    """One workbook: the scorecard, the KPIs, the monthly reports' status; with `details`,
    every KPI's tickets, the accepted complaints and the replacement requests."""
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
    for code, name, value, out_of, note in score_rows(t, card):
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
    if details is not None:
        write_details(t, book, details, tz)
    write_notes(t, book, details, card.kpis)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
