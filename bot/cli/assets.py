"""`faultdesk asset`: the asset register (000 §2.2.1-1) as admins keep it.

    faultdesk asset import register.xlsx          # CSV (UTF-8, GBK ...) or XLSX, 中文 or English headers
    faultdesk asset import register.csv --update  # change devices registered with other values
    faultdesk asset export --out register.xlsx    # the same format back
    faultdesk asset list --site HQ
    faultdesk asset show PC-0001
    faultdesk asset edit PC-0001 --location "Room 302" --warranty 2028/6/30
    faultdesk asset retire PC-0001                # --undo brings it back
    faultdesk asset labels --site HQ --out labels.pdf

An import checks the whole file first and names every bad row by line and column; if any
row is bad nothing is written, otherwise all rows are written in one transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.helpdesk import DatabaseOption, run_helpdesk
from bot.cli.speech import (
    Every,
    current_language,
    domain_sentence,
    fail,
    plain,
    say,
    sentence,
    warn,
    words,
)
from bot.i18n import N_
from bot.labels import ASSET_KIND, label
from core.asset_register import (
    COLUMN_BY_FIELD,
    COLUMNS,
    Header,
    RegisterEntry,
    RegisterRejected,
    RowProblem,
    is_empty_row,
    match_header,
    parse_date,
    parse_kind,
    parse_row,
)
from core.assets import AssetView, Change, ImportResult, field_limits
from core.errors import DomainError
from core.services import Helpdesk

if TYPE_CHECKING:
    from bot.cli.asset_files import Sheet

app = typer.Typer(
    help="The asset register: import, export, edit, sticker labels.", no_args_is_help=True
)

PROGRESS_FROM = 500  # rows; smaller imports finish before a bar would show anything

# Problems of a file's rows that only the file reader finds.
ROW_SENTENCES = {
    "register.bad_quotes": N_(
        'the quotes (") on this line do not pair up, so the rows from here on cannot be read; check this line.'
    ),
    "register.open_quote": N_(
        'a quote (") opened on this line is not closed where the cell ends, so lines {line}-{end} were read as one row; check the quotes.'
    ),
    "register.extra_cells": N_(
        "this row has {count} cells but the header has {width}; a separator or quote is probably misplaced."
    ),
}


def _problem_text(problem: RowProblem) -> str:
    message = ROW_SENTENCES.get(problem.code)
    if message is not None:
        return sentence(message, line=problem.line, **problem.params)
    return domain_sentence(DomainError(problem.code, **problem.params))


def _report(path: Path, sheet: Sheet, header: Header, problems: list[RowProblem]) -> None:
    """One line per problem: file:line: column: what is wrong."""
    for problem in sorted(problems, key=lambda p: (p.line, p.field or "")):
        column = sheet.column(header, problem.field, problem.line)
        where = f"{path.name}:{problem.line}:"
        typer.echo(
            f"{where} {column}: {_problem_text(problem)}"
            if column
            else f"{where} {_problem_text(problem)}",
            err=True,
        )


def _accepted_headers(name: str) -> str:
    column = COLUMN_BY_FIELD[name]
    return f"{column.chinese} / {column.english}"


def _progress(total: int) -> tuple[AbstractContextManager[Any], Callable[[int, int], None] | None]:
    """A progress bar on the terminal for a long import (none when stderr is not one)."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        return nullcontext(), None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(sentence(N_("Writing devices")), total=total)

    def advance(done: int, _total: int) -> None:
        bar.update(task, completed=done)

    return bar, advance


@app.command("import")
def asset_import(
    path: Path = typer.Argument(
        ..., help="The register: CSV (UTF-8 or GBK) or XLSX, with a header row"
    ),
    site: str | None = typer.Option(
        None, "--site", help="Site code for rows without a site column (or an empty cell)"
    ),
    update: bool = typer.Option(
        False, "--update", help="Change devices already registered with other values"
    ),
    add_departments: bool = typer.Option(
        False, "--add-departments", help="Create the departments the file names that a site lacks"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file only"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Import devices from the register: headers as in 000 §2.2.1-1 (资产编号, 设备类型, ...) or English.

    The file is checked whole first; if any row is bad nothing is imported.
    """
    from bot.cli.asset_files import read_register  # openpyxl and the detector: only here

    sheet = read_register(path, site_given=site is not None)
    header = match_header(sheet.header, site_given=site is not None)
    if header.missing:
        fail(
            N_("{file} has no column for {columns} (header line {line}); name them {names}."),
            file=path.name,
            columns=Every(header.missing),
            line=sheet.header_line,
            names=Every(_accepted_headers(name) for name in header.missing),
        )
    if header.repeated:
        fail(
            N_("{file} names {columns} in more than one column; keep one of each."),
            file=path.name,
            columns=Every(_accepted_headers(name) for name in header.repeated),
        )
    if sheet.encoding and sheet.encoding not in ("UTF-8", "UTF-8 (BOM)"):
        warn(N_("{file} was read as {encoding} text."), file=path.name, encoding=sheet.encoding)
    if header.ignored:
        warn(
            N_("Columns not imported (not part of the register): {columns}"),
            columns=Every(header.ignored),
        )
    limits = field_limits()
    entries: list[RegisterEntry] = []
    problems = list(sheet.problems)
    for line, cells in sheet.rows:
        if is_empty_row(cells):
            continue
        entry, found = parse_row(line, header, cells, site=site, max_lengths=limits)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    if not entries and not problems:
        fail(N_("{file} has no devices below its header."), file=path.name)
    bar, progress = (
        _progress(len(entries)) if not problems and not dry_run else (nullcontext(), None)
    )

    async def work(helpdesk: Helpdesk) -> ImportResult:
        with bar:
            return await helpdesk.assets.import_register(
                entries,
                update=update,
                add_departments=add_departments,
                dry_run=dry_run or bool(problems),
                progress=progress,
            )

    try:
        result = run_helpdesk(database_url, work)
    except RegisterRejected as rejected:
        problems.extend(rejected.problems)
    if problems:
        _report(path, sheet, header, problems)
        fail(
            N_("Nothing was imported: {rows} of {file} need fixing (listed above)."),
            rows=words().plural("{n} row", "{n} rows", len({p.line for p in problems})),
            file=path.name,
        )
    for department in result.departments_added:
        say(N_("Department added: {department}"), department=department)
    changed = result.added + result.updated
    t = words()
    counts = sentence(
        N_("{added} new, {updated} updated, {unchanged} already as given"),
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    if dry_run:
        say(
            N_("The file is fine: {devices} would be imported ({counts})."),
            devices=t.plural("{n} device", "{n} devices", changed),
            counts=counts,
        )
    elif changed:
        say(
            N_("{devices} imported ({counts})."),
            devices=t.plural("{n} device", "{n} devices", changed),
            counts=counts,
        )
    else:
        typer.echo(
            plain(
                t.plural(
                    "Nothing changed: {n} device is registered as given.",
                    "Nothing changed: all {n} devices are registered as given.",
                    result.unchanged,
                )
            )
        )


@app.command("export")
def asset_export(
    out: Path = typer.Option(..., "--out", help="register.xlsx or register.csv"),
    site: str | None = typer.Option(None, "--site", help="One site's devices (default: all)"),
    all_: bool = typer.Option(False, "--all", help="Retired devices too"),
    headers: str | None = typer.Option(
        None, "--headers", help="zh (the seed's 资产编号 ...) or en (default: by language)"
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Write the register to a file that `asset import` reads back unchanged."""
    from bot.cli.asset_files import write_register

    chosen = headers or ("zh" if current_language() == "zh_CN" else "en")
    if chosen not in ("zh", "en"):
        fail(N_("--headers takes zh or en, not {value}."), value=chosen)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        fail(N_("{file}: write .csv or .xlsx."), file=out.name)

    async def work(helpdesk: Helpdesk) -> list[AssetView]:
        return await helpdesk.assets.views(site=site, include_retired=all_)

    views = run_helpdesk(database_url, work)
    write_register(out, views, chinese=chosen == "zh")
    say(
        N_("{devices} written to {file}."),
        devices=words().plural("{n} device", "{n} devices", len(views)),
        file=str(out),
    )


@app.command("list")
def asset_list(
    site: str | None = typer.Option(None, "--site", help="One site's devices (default: all)"),
    all_: bool = typer.Option(False, "--all", help="Retired devices too"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Registered devices: tag, type, site, department, location, brand and model, status."""

    async def work(helpdesk: Helpdesk) -> list[AssetView]:
        return await helpdesk.assets.views(site=site, include_retired=all_)

    t = words()
    for view in run_helpdesk(database_url, work):
        status = t("in service") if view.active else t("retired")
        typer.echo(
            "\t".join(
                (
                    view.tag,
                    label(t, ASSET_KIND, view.kind),
                    view.site,
                    view.department or "-",
                    view.location or "-",
                    f"{view.brand} {view.model}".strip() or "-",
                    status,
                )
            )
        )


@app.command("show")
def asset_show(tag: str, database_url: str | None = DatabaseOption) -> None:
    """Every field of one device."""

    async def work(helpdesk: Helpdesk) -> AssetView:
        return await helpdesk.assets.view(tag)

    view = run_helpdesk(database_url, work)
    t = words()
    chinese = current_language() == "zh_CN"
    for column in COLUMNS:
        value: Any = view.value(column.field)
        if column.field == "kind":
            value = f"{label(t, ASSET_KIND, view.kind)} ({view.kind.value})"
        elif column.field == "site":
            value = f"{view.site} ({view.site_name})"
        elif isinstance(value, date):
            value = value.isoformat()
        name = column.chinese if chinese else column.english
        typer.echo(f"{name}: {value or '-'}")
    typer.echo(
        sentence(N_("Status: {status}"), status=t("in service") if view.active else t("retired"))
    )


# Options of `asset edit` and the register field each sets.
EDIT_OPTIONS = {
    "kind": "kind",
    "site": "site",
    "department": "department",
    "location": "location",
    "user": "user_name",
    "brand": "brand",
    "model": "model",
    "serial": "serial",
    "monitor_serial": "monitor_serial",
    "warranty": "warranty_until",
    "manufactured": "manufactured_on",
    "health": "health",
    "hardware": "hardware_config",
    "ip": "ip_address",
    "mask": "subnet_mask",
    "os": "os",
    "antivirus": "antivirus",
    "office": "office_software",
}


def _edit_values(given: dict[str, str | None]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for option, value in given.items():
        if value is None:
            continue
        name = EDIT_OPTIONS[option]
        if name == "kind":
            changes[name] = parse_kind(value)
        elif name in ("warranty_until", "manufactured_on"):
            changes[name] = parse_date(value)
        else:
            changes[name] = value.strip()
    return changes


def _show_change(change: Change) -> None:
    say(
        N_("  {field}: {before} → {after}"),
        field=change.field,
        before=change.before,
        after=change.after,
    )


@app.command("edit")
def asset_edit(
    tag: str,
    kind: str | None = typer.Option(None, help="Device type: code, 中文 or English name"),
    site: str | None = typer.Option(
        None, help="Site code (the department is cleared unless given)"
    ),
    department: str | None = typer.Option(None, help="Department name at the site ('' clears it)"),
    location: str | None = typer.Option(None),
    user: str | None = typer.Option(None, help="The person using it (使用人)"),
    brand: str | None = typer.Option(None),
    model: str | None = typer.Option(None),
    serial: str | None = typer.Option(None),
    monitor_serial: str | None = typer.Option(None, "--monitor-serial"),
    warranty: str | None = typer.Option(None, help="Warranty end, e.g. 2027/01/01 ('' clears it)"),
    manufactured: str | None = typer.Option(None, help="Manufacture date"),
    health: str | None = typer.Option(None),
    hardware: str | None = typer.Option(None, help="Hardware configuration"),
    ip: str | None = typer.Option(None, help="IP address"),
    mask: str | None = typer.Option(None, help="Subnet mask"),
    os: str | None = typer.Option(None, help="Operating system"),
    antivirus: str | None = typer.Option(None),
    office: str | None = typer.Option(None, help="Office software"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Change fields of a registered device."""
    changes = _edit_values(
        {
            "kind": kind,
            "site": site,
            "department": department,
            "location": location,
            "user": user,
            "brand": brand,
            "model": model,
            "serial": serial,
            "monitor_serial": monitor_serial,
            "warranty": warranty,
            "manufactured": manufactured,
            "health": health,
            "hardware": hardware,
            "ip": ip,
            "mask": mask,
            "os": os,
            "antivirus": antivirus,
            "office": office,
        }
    )
    if not changes:
        fail(
            N_(
                'Say what to change, e.g. --location "Room 302"; `faultdesk asset edit --help` lists the fields.'
            )
        )

    async def work(helpdesk: Helpdesk) -> list[Change]:
        return await helpdesk.assets.edit(tag, changes)

    done = run_helpdesk(database_url, work)
    if not done:
        say(N_("{tag} already has these values; nothing changed."), tag=tag)
        return
    say(N_("{tag} updated:"), tag=tag.strip().upper())
    for change in done:
        _show_change(change)


@app.command("retire")
def asset_retire(
    tag: str,
    undo: bool = typer.Option(False, "--undo", help="Bring a retired device back into service"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Retire a device: kept for history, no longer reportable from its sticker."""

    async def work(helpdesk: Helpdesk) -> bool:
        return await helpdesk.assets.set_retired(tag, not undo)

    changed = run_helpdesk(database_url, work)
    if undo:
        message = N_("{tag} is back in service.") if changed else N_("{tag} is in service already.")
    else:
        message = N_("{tag} is retired.") if changed else N_("{tag} is retired already.")
    say(message, tag=tag.strip().upper())


def register(main: typer.Typer) -> None:
    """Add `asset` to the main command line."""
    from bot.cli import labels

    labels.register(app)
    main.add_typer(app, name="asset")
