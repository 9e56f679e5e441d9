"""`faultdesk report`: a monthly summary or a quarterly scorecard, as text, CSV or XLSX.

The figures are the ones the managers get: a month as posted (frozen in its report run)
unless `--live`, a quarter computed now. Text goes to stdout, a CSV/XLSX file where asked;
the workbook lists the tickets behind each KPI (`bot.rendering.details`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import typer

from bot.cli.helpdesk import DatabaseOption, command_settings, open_helpdesk
from bot.cli.speech import current_language, fail, use_language
from bot.i18n import N_, default_i18n
from bot.rendering.csv_rows import monthly_csv, quarterly_csv
from bot.rendering.text import monthly_text, quarterly_text
from bot.rendering.wording import monthly_filename, plain, quarterly_filename
from bot.rendering.xlsx import monthly_xlsx, quarterly_xlsx
from bot.settings import Settings
from core.clock import DEFAULT_TIMEZONE
from core.errors import NotFound
from core.people import site_by_code, site_codes
from core.reports.details import kpi_details
from core.reports.monthly import monthly_figures
from core.reports.quarterly import quarterly_scorecard
from core.reports.sites import find_site

FORMATS = ("text", "csv", "xlsx")
KINDS = ("monthly", "quarterly")


@dataclass(frozen=True)
class ReportOutput:
    """What `faultdesk report` prints and writes."""

    text: str
    data: bytes  # the CSV or XLSX file (empty for text)
    filename: str


async def report_output(
    settings: Settings,
    *,
    kind: str,
    period: str,
    site_code: str | None,
    fmt: str,
    lang: str,
    live: bool,
) -> ReportOutput:
    """Read the figures offline and render them as text and, if asked, a file."""
    t = default_i18n().get(lang)
    async with open_helpdesk(settings) as helpdesk:
        core = helpdesk.core
        site = None
        if site_code:
            async with core.reading() as session:
                found = await site_by_code(session, site_code)
                if found is None:
                    raise NotFound(
                        "site.unknown", site=site_code, choices=await site_codes(session)
                    )
            site = await find_site(core, found.code)
        if kind == "monthly":
            summary, run = await monthly_figures(core, period, site=site, live=live)
            text = plain(monthly_text(t, summary, attachments=False))
            if run is not None:
                posted = t(
                    "As posted to the managers on {moment} (--live recomputes).",
                    moment=t.full_moment(run.created_at, summary.timezone),
                )
                text = f"{posted}\n{text}"
            name = monthly_filename(summary, f".{fmt}")
            if fmt == "csv":
                return ReportOutput(text, monthly_csv(t, summary), name)
            if fmt == "xlsx":
                kpis = summary.kpis
                details = await kpi_details(
                    core,
                    kpis.start,
                    kpis.end,
                    site_id=site.id if site else None,
                    as_of=summary.as_of,
                )
                return ReportOutput(text, monthly_xlsx(t, summary, details), name)
            return ReportOutput(text, b"", name)
        card = await quarterly_scorecard(core, period, site=site)
        tz = site.timezone if site else DEFAULT_TIMEZONE
        text = plain(quarterly_text(t, card, tz=tz))
        name = quarterly_filename(card, f".{fmt}")
        if fmt == "csv":
            return ReportOutput(text, quarterly_csv(t, card), name)
        if fmt == "xlsx":
            kpis = card.kpis
            details = await kpi_details(
                core, kpis.start, kpis.end, site_id=site.id if site else None, as_of=kpis.as_of
            )
            return ReportOutput(text, quarterly_xlsx(t, card, details, tz), name)
        return ReportOutput(text, b"", name)


def report_command(
    kind: str = typer.Argument(..., help="monthly or quarterly"),
    period: str = typer.Option(..., "--period", help="2026-11 (monthly) or 2026-Q4 (quarterly)"),
    site: str | None = typer.Option(None, "--site", help="one site's code (default: every site)"),
    fmt: str = typer.Option("text", "--format", help="text, csv or xlsx"),
    out: str | None = typer.Option(None, "--out", help="write to this file"),
    lang: str | None = typer.Option(
        None, "--lang", help="zh_CN, en or ru (default: FAULTDESK_DEFAULT_LANGUAGE)"
    ),
    live: bool = typer.Option(
        False, "--live", help="recompute a month even when its summary was posted"
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Print a monthly summary or a quarterly scorecard (the figures the managers get)."""
    use_language(lang)
    if kind not in KINDS:
        fail(N_("{kind} is not a report; use {choices}."), kind=kind, choices=list(KINDS))
    if fmt not in FORMATS:
        fail(N_("--format takes {choices}, not {value}."), choices=list(FORMATS), value=fmt)
    output = asyncio.run(
        report_output(
            command_settings(database_url),
            kind=kind,
            period=period,
            site_code=site,
            fmt=fmt,
            lang=current_language(),
            live=live,
        )
    )
    if fmt == "text":
        typer.echo(output.text)
        if out:
            Path(out).write_text(output.text + "\n", encoding="utf-8")
        return
    if fmt == "csv" and not out:
        typer.echo(output.data.decode("utf-8-sig"), nl=False)
        return
    target = Path(out or output.filename)
    target.write_bytes(output.data)
    typer.echo(output.text)
    typer.echo(f"wrote {target}")


def register(main: typer.Typer) -> None:
    """Add `report` to the main command line."""
    main.command("report")(report_command)
