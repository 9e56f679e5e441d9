"""Setting an installation up from the command line: sites, departments, invites, assets, plans.

    faultdesk site add HQ "Head office" --region city --hours 5x8 [--lat 31.23 --lon 121.47]
    faultdesk site locate HQ --lat 31.2304 --lon 121.4737 [--radius 300]
    faultdesk department add HQ Finance
    faultdesk invite create --role admin --site HQ --bot-username mybot
    faultdesk asset import assets.csv        # the register's columns (000 §2.2.1-1)
    faultdesk plan add MR-HQ "Meeting rooms" --cadence monthly --site HQ --due-day 10
    faultdesk person list
    faultdesk person backup 7 9              # engineer 7 is backed up by engineer 9
    faultdesk person role 12 dispatcher
    faultdesk person deactivate 7            # someone left

Every command migrates the database first, works in one transaction per record, and
reports bad input with the line or field it came from; nothing half-written is left.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy import select

from bot.cli.helpdesk import command_settings, database_option, open_helpdesk
from core.assets import AssetRecord, normalize_tag
from core.clock import DEFAULT_TIMEZONE
from core.enums import AssetKind, Role
from core.errors import DomainError
from core.geo import DEFAULT_ARRIVAL_RADIUS_M
from core.migrate import upgrade
from core.models import Department, Person, Site
from core.services import Helpdesk

T = TypeVar("T")

LatitudeOption = typer.Option(None, "--lat", help="The site's latitude, e.g. 31.2304")
LongitudeOption = typer.Option(None, "--lon", help="The site's longitude, e.g. 121.4737")
RadiusOption = typer.Option(
    None,
    "--radius",
    help=f"Metres from the site that count as arrived (default {DEFAULT_ARRIVAL_RADIUS_M})",
)

site_app = typer.Typer(
    help="Sites (offices) and their SLA region and service hours.", no_args_is_help=True
)
department_app = typer.Typer(help="Departments of a site.", no_args_is_help=True)
invite_app = typer.Typer(help="Invitation deep links.", no_args_is_help=True)
asset_app = typer.Typer(help="The asset register.", no_args_is_help=True)
plan_app = typer.Typer(help="Inspection plans.", no_args_is_help=True)
person_app = typer.Typer(help="Registered people: roles, backups, leaving.", no_args_is_help=True)

DatabaseOption = database_option("SQLAlchemy URL (default: FAULTDESK_DATABASE_URL)")

# Sentences for the errors an administrator meets here (the code is printed too).
CLI_MESSAGES = {
    "not_found": "no {entity} with id {id}",
    "backup.not_an_engineer": "person {person_id} is not an active engineer",
    "backup.self": "an engineer cannot be their own backup",
    "person.has_open_tickets": (
        "person {person_id} still has {count} open ticket(s) assigned; "
        "reassign them first (a dispatcher's /queue)"
    ),
    "site.half_location": "give both --lat and --lon, or neither to clear the site's location",
    "site.bad_location": (
        "{latitude}, {longitude} is not a point on Earth "
        "(latitude -90 to 90, longitude -180 to 180)"
    ),
    "site.bad_radius": (
        "an arrival radius of {radius} m cannot be used: give 10 to 50000 m, "
        "together with --lat and --lon"
    ),
}


class _Params(dict[str, Any]):
    """Error parameters for a sentence; one the error did not carry reads as '?'."""

    def __missing__(self, key: str) -> str:
        return "?"


ASSET_COLUMNS = [f.name for f in fields(AssetRecord) if f.name not in ("department_id", "user_id")]


def _run(database_url: str | None, work: Callable[[Helpdesk], Awaitable[T]]) -> T:
    """Migrate, open the helpdesk, run `work`, close; domain errors end the command cleanly."""
    settings = command_settings(database_url)
    upgrade(settings.database_url)

    async def _go() -> T:
        async with open_helpdesk(settings) as helpdesk:
            return await work(helpdesk)

    try:
        return asyncio.run(_go())
    except DomainError as error:
        sentence = CLI_MESSAGES.get(error.code)
        if sentence is not None:
            typer.echo(
                f"error: {sentence.format_map(_Params(error.params))} ({error.code})", err=True
            )
        else:
            typer.echo(f"error: {error.code} {error.params or ''}".rstrip(), err=True)
        raise typer.Exit(1) from error


async def _site(helpdesk: Helpdesk, code: str) -> Site:
    async with helpdesk.core.reading() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
    if site is None:
        typer.echo(f"error: no site with code {code!r}", err=True)
        raise typer.Exit(1)
    return site


@site_app.command("add")
def site_add(
    code: str,
    name: str,
    region: str = typer.Option(
        ..., help="A region of the SLA policy, e.g. city, suburb, outer, remote, resident"
    ),
    hours: str = typer.Option(
        "5x8", help="Service hours calendar: 5x8, 7x24, 7x8 or one from the policy"
    ),
    timezone: str = typer.Option(DEFAULT_TIMEZONE),
    address: str = typer.Option(""),
    lat: float | None = LatitudeOption,
    lon: float | None = LongitudeOption,
    radius: int | None = RadiusOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Register a site."""

    async def work(helpdesk: Helpdesk) -> Site:
        return await helpdesk.people.create_site(
            code=code,
            name=name,
            region=region,
            service_hours=hours,
            timezone=timezone,
            address=address,
            latitude=lat,
            longitude=lon,
            arrival_radius_m=radius,
        )

    site = _run(database_url, work)
    typer.echo(
        f"site {site.code} ({site.name}): region {site.region}, hours {site.service_hours}"
        + _where(site)
    )


@site_app.command("locate")
def site_locate(
    code: str,
    lat: float | None = LatitudeOption,
    lon: float | None = LongitudeOption,
    radius: int | None = RadiusOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Set where a site is (both --lat and --lon; neither clears them) for maps and arrivals."""

    async def work(helpdesk: Helpdesk) -> Site:
        return await helpdesk.people.locate_site(
            code, latitude=lat, longitude=lon, arrival_radius_m=radius
        )

    site = _run(database_url, work)
    typer.echo(f"site {site.code} ({site.name})" + (_where(site) or ": no location"))


def _where(site: Site) -> str:
    """', at 31.2304, 121.4737 (arrival within 300 m)', or nothing without coordinates."""
    if site.latitude is None or site.longitude is None:
        return ""
    radius = site.arrival_radius_m or DEFAULT_ARRIVAL_RADIUS_M
    return f", at {site.latitude}, {site.longitude} (arrival within {radius} m)"


@site_app.command("list")
def site_list(database_url: str | None = DatabaseOption) -> None:
    """Every site with its SLA coordinates and where it is (or '-')."""

    async def work(helpdesk: Helpdesk) -> list[Site]:
        async with helpdesk.core.reading() as session:
            return list(await session.scalars(select(Site).order_by(Site.code)))

    for site in _run(database_url, work):
        where = "-"
        if site.latitude is not None and site.longitude is not None:
            radius = site.arrival_radius_m or DEFAULT_ARRIVAL_RADIUS_M
            where = f"{site.latitude},{site.longitude} ({radius} m)"
        typer.echo(
            f"{site.code}\t{site.name}\t{site.region}\t{site.service_hours}\t{site.timezone}"
            f"\t{where}"
        )


@department_app.command("add")
def department_add(site: str, name: str, database_url: str | None = DatabaseOption) -> None:
    """Register a department at a site (by site code)."""

    async def work(helpdesk: Helpdesk) -> Department:
        found = await _site(helpdesk, site)
        return await helpdesk.people.create_department(site_id=found.id, name=name)

    department = _run(database_url, work)
    typer.echo(f"department {department.name} at {site}")


@invite_app.command("create")
def invite_create(
    role: Role = typer.Option(..., help="staff, engineer, dispatcher, manager or admin"),
    site: str = typer.Option(..., help="Site code"),
    department: str | None = typer.Option(None, help="Department name at that site"),
    uses: int = typer.Option(1, min=1, help="How many people may register with it"),
    days: int = typer.Option(14, min=1, help="Days it stays valid"),
    bot_username: str = typer.Option("faultdesk_bot", help="The bot's @username, for the link"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an invitation and print its deep link."""

    async def work(helpdesk: Helpdesk) -> str:
        found = await _site(helpdesk, site)
        department_id = None
        if department is not None:
            async with helpdesk.core.reading() as session:
                department_id = await session.scalar(
                    select(Department.id).where(
                        Department.site_id == found.id, Department.name == department
                    )
                )
            if department_id is None:
                typer.echo(f"error: no department {department!r} at {site}", err=True)
                raise typer.Exit(1)
        invite = await helpdesk.people.create_invite(
            role=role,
            site_id=found.id,
            department_id=department_id,
            max_uses=uses,
            valid_for=timedelta(days=days),
        )
        return invite.code

    code = _run(database_url, work)
    typer.echo(f"https://t.me/{bot_username.lstrip('@')}?start=inv_{code}")


@dataclass
class ImportProblem:
    """One unusable line of an import file."""

    line: int
    message: str


def parse_asset_rows(path: Path) -> tuple[list[AssetRecord], list[ImportProblem]]:
    """Read the register CSV; every problem names its line."""
    records: list[AssetRecord] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"tag", "kind", "site_code"} - set(reader.fieldnames or [])
        if missing:
            return [], [ImportProblem(1, f"missing columns: {', '.join(sorted(missing))}")]
        unknown = set(reader.fieldnames or []) - set(ASSET_COLUMNS)
        if unknown:
            return [], [ImportProblem(1, f"unknown columns: {', '.join(sorted(unknown))}")]
        for line, row in enumerate(reader, start=2):
            values: dict[str, Any] = {k: (v or "").strip() for k, v in row.items() if k}
            try:
                values["tag"] = normalize_tag(values["tag"])
                values["kind"] = AssetKind(values["kind"].lower())
                for name in ("warranty_until", "manufactured_on"):
                    values[name] = date.fromisoformat(values[name]) if values.get(name) else None
            except DomainError:
                problems.append(ImportProblem(line, f"bad tag {row.get('tag')!r}"))
                continue
            except ValueError as error:
                problems.append(ImportProblem(line, str(error)))
                continue
            if values["tag"] in seen:
                problems.append(
                    ImportProblem(line, f"tag {values['tag']} repeats line {seen[values['tag']]}")
                )
                continue
            seen[values["tag"]] = line
            records.append(AssetRecord(**values))
    return records, problems


@asset_app.command("import")
def asset_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with a header row"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file only"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Import devices from the register's CSV (columns as in AssetRecord; tag, kind, site_code required).

    The file is checked whole first; if any line is bad nothing is imported.
    """
    records, problems = parse_asset_rows(path)
    for problem in problems:
        typer.echo(f"{path}:{problem.line}: {problem.message}", err=True)
    if problems:
        raise typer.Exit(1)
    if dry_run:
        typer.echo(f"{len(records)} devices would be imported")
        return

    async def work(helpdesk: Helpdesk) -> int:
        async with helpdesk.core.reading() as session:
            sites = set(await session.scalars(select(Site.code)))
        unknown = sorted({r.site_code for r in records} - sites)
        if unknown:
            typer.echo(f"error: unknown site codes: {', '.join(unknown)}", err=True)
            raise typer.Exit(1)
        for record in records:
            await helpdesk.assets.register(record)
        return len(records)

    typer.echo(f"{_run(database_url, work)} devices imported")


@plan_app.command("add")
def plan_add(
    code: str,
    name: str,
    cadence: str = typer.Option(
        ..., help="monthly (meeting rooms, 004) or semiannual (desktops, 002/003)"
    ),
    site: str = typer.Option(..., help="Site code"),
    engineer: int | None = typer.Option(None, help="The engineer's Telegram user id"),
    kinds: str = typer.Option("", help="Comma-separated asset kinds (default: by cadence)"),
    due_day: int | None = typer.Option(None, help="Monthly: done before this day (004: the 10th)"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Add an inspection plan; its rounds are planned at once."""

    async def work(helpdesk: Helpdesk) -> str:
        found = await _site(helpdesk, site)
        engineer_id = None
        if engineer is not None:
            async with helpdesk.core.reading() as session:
                engineer_id = await session.scalar(
                    select(Person.id).where(
                        Person.telegram_user_id == engineer, Person.role == Role.ENGINEER
                    )
                )
            if engineer_id is None:
                typer.echo(f"error: no engineer with Telegram id {engineer}", err=True)
                raise typer.Exit(1)
        asset_kinds = [AssetKind(k.strip()) for k in kinds.split(",") if k.strip()] or None
        plan = await helpdesk.inspections.create_plan(
            code=code,
            name=name,
            cadence=cadence,
            site_id=found.id,
            engineer_id=engineer_id,
            asset_kinds=asset_kinds,
            due_day=due_day,
        )
        return plan.code

    typer.echo(f"plan {_run(database_url, work)} added")


@person_app.command("list")
def person_list(
    all_: bool = typer.Option(False, "--all", help="Include people who have left"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Everyone registered: id, name, role, site, Telegram id, backup, active."""

    async def work(helpdesk: Helpdesk) -> list[tuple[Person, str]]:
        return await helpdesk.people.list_people(include_inactive=all_)

    typer.echo("id\tname\trole\tsite\ttelegram\tbackup\tactive")
    for person, site_code in _run(database_url, work):
        typer.echo(
            f"{person.id}\t{person.name}\t{person.role.value}\t{site_code or '*'}\t"
            f"{person.telegram_user_id or '-'}\t{person.backup_id or '-'}\t"
            f"{'yes' if person.active else 'no'}"
        )


@person_app.command("backup")
def person_backup(
    engineer: int = typer.Argument(..., help="The engineer's id (see person list)"),
    backup: int | None = typer.Argument(None, help="The backup engineer's id; omit to clear"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Name the engineer paged with `engineer` when a deadline is missed (备份工程师)."""

    async def work(helpdesk: Helpdesk) -> None:
        await helpdesk.people.set_backup(engineer, backup)

    _run(database_url, work)
    typer.echo(
        f"engineer {engineer}: backup {backup}" if backup else f"engineer {engineer}: no backup"
    )


@person_app.command("role")
def person_role(
    person: int = typer.Argument(..., help="The person's id (see person list)"),
    role: Role = typer.Argument(..., help="staff, engineer, dispatcher, manager or admin"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Change a person's role (an engineer's open tickets must be reassigned first)."""

    async def work(helpdesk: Helpdesk) -> None:
        await helpdesk.people.set_role(person, role)

    _run(database_url, work)
    typer.echo(f"person {person}: {role.value}")


@person_app.command("deactivate")
def person_deactivate(
    person: int = typer.Argument(..., help="The person's id (see person list)"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Someone left: they lose access; refused while tickets are still assigned to them."""

    async def work(helpdesk: Helpdesk) -> None:
        await helpdesk.people.deactivate(person)

    _run(database_url, work)
    typer.echo(f"person {person} deactivated")


def register(main: typer.Typer) -> None:
    """Add the set-up commands to the main command line."""
    main.add_typer(site_app, name="site")
    main.add_typer(department_app, name="department")
    main.add_typer(invite_app, name="invite")
    main.add_typer(asset_app, name="asset")
    main.add_typer(plan_app, name="plan")
    main.add_typer(person_app, name="person")
