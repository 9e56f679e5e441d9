"""The monthly summary and the quarterly scorecard as CSV: one row per figure.

The CSV (command line, `--format csv`) is the *summary*, one row per figure
(`section, code, label, count, out_of, rate`): the same numbers as the workbook in a
form any tool reads. Ticket-level rows are left out on purpose: the summary is what
the contract scores, and a month's rows belong in a ticket export, not a report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from bot.i18n import Translator
from bot.labels import SEVERITY, label
from bot.rendering.wording import category_label, kpi_rows, plain, score_rows, warning_text
from core.reports.kpi import Rate
from core.reports.monthly import MonthlySummary
from core.reports.scorecard import Scorecard

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
    for code, name, rate, _, deduction in kpi_rows(t, summary.kpis):
        rows.append(("kpi", code, name, rate.numerator, rate.denominator, _rate_csv(rate)))
        rows.append(("deduction", code, name, deduction, "", ""))
    rows.append(("kpi", "low_ratings", t("Rated 1-2"), summary.kpis.low_ratings, "", ""))
    rows.append(("score", "onsite", t("On-site support score"), summary.kpis.score, 100, ""))
    return _csv_bytes(rows)


def quarterly_csv(t: Translator, card: Scorecard) -> bytes:
    """The scorecard as CSV rows."""
    rows: list[Sequence[object]] = []
    for code, name, value, out_of, _ in score_rows(t, card):
        rows.append(("score", code, name, "" if value is None else value, out_of, ""))
    for code, name, rate, _, deduction in kpi_rows(t, card.kpis):
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
