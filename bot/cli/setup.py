"""Setting an installation up from the command line: sites, departments, invites, plans, people.

    faultdesk db upgrade                                  # create the database first
    faultdesk site add HQ "Head office" --region city --hours 5x8 [--lat 31.23 --lon 121.47]
    faultdesk site edit HQ --timezone Asia/Urumqi
    faultdesk site locate HQ --lat 31.2304 --lon 121.4737 [--radius 300]
    faultdesk department add HQ Finance
    faultdesk department rename HQ Finance 财务部
    faultdesk invite create --role staff --site HQ --department Finance --uses 300 --days 30
    faultdesk plan add MR-HQ "Meeting rooms" --cadence monthly --site HQ --due-day 10
    faultdesk person list
    faultdesk person backup 7 9              # engineer 7 is backed up by engineer 9
    faultdesk person role 12 dispatcher
    faultdesk person deactivate 7            # someone left

Running a set-up script twice is safe: adding what exists says so and changes nothing
(`--update` changes it). Codes and names are matched whatever their case. The devices
(`faultdesk asset ...`) are in `bot.cli.assets`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from bot.cli.helpdesk import DatabaseOption, run_helpdesk
from bot.cli.speech import fail, say, warn
from bot.cli.telegram import bot_username, invite_link
from bot.i18n import N_
from bot.labels import ROLE
from core.asset_register import parse_kind
from core.clock import DEFAULT_TIMEZONE
from core.enums import AssetKind, Role
from core.errors import NotFound
from core.geo import DEFAULT_ARRIVAL_RADIUS_M
from core.inspections import DEFAULT_DUE_DAY, DEFAULT_KINDS, MONTHLY
from core.models import Department, InspectionPlan, Person, Site
from core.people import (
    Outcome,
    Setup,
    SiteSpec,
    department_by_name,
    department_names,
    site_by_code,
    site_codes,
)
from core.services import Helpdesk

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
plan_app = typer.Typer(help="Inspection plans.", no_args_is_help=True)
person_app = typer.Typer(help="Registered people: roles, backups, leaving.", no_args_is_help=True)

UpdateOption = typer.Option(
    False, "--update", help="Change what exists already to the values given"
)


async def find_site(helpdesk: Helpdesk, code: str) -> Site:
    """The site with this code (any case); NotFound lists the codes."""
    async with helpdesk.core.reading() as session:
        site = await site_by_code(session, code)
        if site is None:
            raise NotFound("site.unknown", site=code, choices=await site_codes(session))
        return site


async def find_department(helpdesk: Helpdesk, site: Site, name: str) -> Department:
    """The site's department of this name (any case); NotFound lists the names."""
    async with helpdesk.core.reading() as session:
        department = await department_by_name(session, site.id, name)
        if department is None:
            raise NotFound(
                "department.unknown", name=name, choices=await department_names(session, site.id)
            )
        return department


def parse_role(text: str) -> Role:
    """A role by its code, any case; a sentence listing the roles otherwise."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        fail(N_("{role} is not a role; use {choices}."), role=text, choices=[r.value for r in Role])


def _show_changes(outcome: Outcome[Any]) -> None:
    for change in outcome.changes:
        say(
            N_("  {field}: {before} → {after}"),
            field=change.field,
            before=change.before,
            after=change.after,
        )


# --- sites -----------------------------------------------------------------------------------


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
    timezone: str = typer.Option(DEFAULT_TIMEZONE, help="IANA time zone, e.g. Asia/Shanghai"),
    address: str = typer.Option(""),
    update: bool = UpdateOption,
    lat: float | None = LatitudeOption,
    lon: float | None = LongitudeOption,
    radius: int | None = RadiusOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Register a site (running it again changes nothing unless --update)."""
    spec = SiteSpec(code, name, region, hours, timezone, address, lat, lon, radius)

    async def work(helpdesk: Helpdesk) -> Outcome[Site]:
        return await helpdesk.people.ensure_site(spec, update=update)

    outcome = run_helpdesk(database_url, work)
    site = outcome.record
    if outcome.status is Setup.CREATED:
        say(
            N_(
                "Site {code} ({name}) added: region {region}, service hours {hours}, time zone {timezone}."
            ),
            code=site.code,
            name=site.name,
            region=site.region,
            hours=site.service_hours,
            timezone=site.timezone,
        )
        if site.latitude is not None:
            _say_where(site)
    elif outcome.status is Setup.UPDATED:
        say(N_("Site {code} updated:"), code=site.code)
        _show_changes(outcome)
    elif outcome.status is Setup.EXISTS:
        say(
            N_(
                "Site {code} exists already with other values; nothing changed (--update changes it):"
            ),
            code=site.code,
        )
        _show_changes(outcome)
    else:
        say(N_("Site {code} exists already as given; nothing changed."), code=site.code)


@site_app.command("edit")
def site_edit(
    code: str,
    name: str | None = typer.Option(None),
    region: str | None = typer.Option(None, help="A region of the SLA policy"),
    hours: str | None = typer.Option(None, help="Service hours calendar of the policy"),
    timezone: str | None = typer.Option(None, help="IANA time zone, e.g. Asia/Shanghai"),
    address: str | None = typer.Option(None),
    database_url: str | None = DatabaseOption,
) -> None:
    """Change a site; open tickets keep the deadlines they were given."""
    given = {
        "name": name,
        "region": region,
        "service_hours": hours,
        "timezone": timezone,
        "address": address,
    }
    changes = {key: value for key, value in given.items() if value is not None}
    if not changes:
        fail(
            N_("Say what to change: --name, --region, --hours, --timezone or --address."),
        )

    async def work(helpdesk: Helpdesk) -> Outcome[Site]:
        return await helpdesk.people.edit_site(code, changes)

    outcome = run_helpdesk(database_url, work)
    if outcome.status is Setup.UNCHANGED:
        say(N_("Site {code} already has these values; nothing changed."), code=outcome.record.code)
        return
    say(N_("Site {code} updated:"), code=outcome.record.code)
    _show_changes(outcome)


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

    site = run_helpdesk(database_url, work)
    if site.latitude is None:
        say(N_("Site {code} ({name}) has no location now."), code=site.code, name=site.name)
    else:
        say(N_("Site {code} ({name}):"), code=site.code, name=site.name)
        _say_where(site)


def _say_where(site: Site) -> None:
    """'  at 31.2304, 121.4737 (arrival within 300 m)'; the site has coordinates."""
    say(
        N_("  at {latitude}, {longitude} (arrival within {radius} m)"),
        latitude=site.latitude,
        longitude=site.longitude,
        radius=site.arrival_radius_m or DEFAULT_ARRIVAL_RADIUS_M,
    )


@site_app.command("list")
def site_list(database_url: str | None = DatabaseOption) -> None:
    """Every site with its SLA coordinates and where it is (or '-')."""

    async def work(helpdesk: Helpdesk) -> list[Site]:
        async with helpdesk.core.reading() as session:
            from sqlalchemy import select

            return list(await session.scalars(select(Site).order_by(Site.code)))

    for site in run_helpdesk(database_url, work):
        where = "-"
        if site.latitude is not None and site.longitude is not None:
            radius = site.arrival_radius_m or DEFAULT_ARRIVAL_RADIUS_M
            where = f"{site.latitude},{site.longitude} ({radius} m)"
        typer.echo(
            f"{site.code}\t{site.name}\t{site.region}\t{site.service_hours}\t{site.timezone}"
            f"\t{where}"
        )


# --- departments -------------------------------------------------------------------------------


@department_app.command("add")
def department_add(site: str, name: str, database_url: str | None = DatabaseOption) -> None:
    """Register a department at a site (by site code); running it again changes nothing."""

    async def work(helpdesk: Helpdesk) -> tuple[Site, Outcome[Department]]:
        found = await find_site(helpdesk, site)
        return found, await helpdesk.people.ensure_department(site_id=found.id, name=name)

    found, outcome = run_helpdesk(database_url, work)
    if outcome.status is Setup.CREATED:
        say(N_("Department {name} added at {site}."), name=outcome.record.name, site=found.code)
    else:
        say(
            N_("Department {name} exists already at {site}; nothing changed."),
            name=outcome.record.name,
            site=found.code,
        )


@department_app.command("rename")
def department_rename(
    site: str, name: str, new_name: str, database_url: str | None = DatabaseOption
) -> None:
    """Rename a department; its people, devices and tickets stay with it."""

    async def work(helpdesk: Helpdesk) -> tuple[Site, Outcome[Department]]:
        found = await find_site(helpdesk, site)
        outcome = await helpdesk.people.rename_department(
            site_id=found.id, name=name, new_name=new_name
        )
        return found, outcome

    found, outcome = run_helpdesk(database_url, work)
    if outcome.status is Setup.UNCHANGED:
        say(N_("Department {name} already has that name; nothing changed."), name=new_name)
        return
    say(
        N_("Department {before} at {site} is now {name}."),
        before=outcome.changes[0].before,
        site=found.code,
        name=outcome.record.name,
    )


@department_app.command("list")
def department_list(
    site: str | None = typer.Argument(None, help="A site code (default: every site)"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Departments: site code and name."""

    async def work(helpdesk: Helpdesk) -> list[tuple[str, str]]:
        from sqlalchemy import select

        wanted = await find_site(helpdesk, site) if site else None
        async with helpdesk.core.reading() as session:
            query = select(Site.code, Department.name).join(Site, Site.id == Department.site_id)
            if wanted is not None:
                query = query.where(Site.id == wanted.id)
            rows = await session.execute(query.order_by(Site.code, Department.name))
            return [(code, name) for code, name in rows]

    for code, name in run_helpdesk(database_url, work):
        typer.echo(f"{code}\t{name}")


# --- invitations --------------------------------------------------------------------------------


@invite_app.command("create")
def invite_create(
    role: str = typer.Option(..., help="staff, engineer, dispatcher, manager or admin"),
    site: str = typer.Option(..., help="Site code"),
    department: str | None = typer.Option(None, help="Department name at that site"),
    uses: int = typer.Option(1, min=1, max=10000, help="How many people may register with it"),
    days: int = typer.Option(14, min=1, max=365, help="Days it stays valid"),
    bot: str | None = typer.Option(
        None,
        "--bot-username",
        help="The bot's @username (default: FAULTDESK_BOT_USERNAME, or asked from Telegram with the token)",
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an invitation and print its deep link (one person, or --uses people)."""
    chosen = parse_role(role)
    username = bot_username(bot)

    async def work(helpdesk: Helpdesk) -> str:
        found = await find_site(helpdesk, site)
        department_id = (
            (await find_department(helpdesk, found, department)).id if department else None
        )
        invite = await helpdesk.people.create_invite(
            role=chosen,
            site_id=found.id,
            department_id=department_id,
            max_uses=uses,
            valid_for=timedelta(days=days),
        )
        return invite.code

    code = run_helpdesk(database_url, work)
    typer.echo(invite_link(username, code))
    from bot.cli.speech import words

    warn(
        N_(
            "An invitation for {uses} as {role}, valid for {days} days; opening the link registers."
        ),
        uses=words().plural("{n} person", "{n} people", uses),
        role=words()(ROLE[chosen.value]),
        days=days,
    )


# --- inspection plans -----------------------------------------------------------------------------


def parse_kinds(text: str) -> list[AssetKind]:
    """Comma-separated device types (codes, Chinese or English names)."""
    return [parse_kind(part) for part in text.replace("，", ",").split(",") if part.strip()]


@plan_app.command("add")
def plan_add(
    code: str,
    name: str,
    cadence: str = typer.Option(
        ..., help="monthly (meeting rooms, 004) or semiannual (desktops, 002/003)"
    ),
    site: str = typer.Option(..., help="Site code"),
    engineer: int | None = typer.Option(None, help="The engineer's Telegram user id"),
    kinds: str = typer.Option(
        "",
        help="Comma-separated device types, e.g. projector,tv or 投影仪,电视 (default: by cadence)",
    ),
    due_day: int | None = typer.Option(None, help="Monthly: done before this day (004: the 10th)"),
    update: bool = UpdateOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Add an inspection plan; its rounds are planned at once (running it again changes nothing)."""
    asset_kinds = parse_kinds(kinds) or None

    async def work(helpdesk: Helpdesk) -> tuple[str, InspectionPlan]:
        found = await find_site(helpdesk, site)
        engineer_id = None
        if engineer is not None:
            from sqlalchemy import select

            async with helpdesk.core.reading() as session:
                engineer_id = await session.scalar(
                    select(Person.id).where(
                        Person.telegram_user_id == engineer,
                        Person.role == Role.ENGINEER,
                        Person.active.is_(True),
                    )
                )
            if engineer_id is None:
                fail(N_("No engineer is registered with Telegram id {id}."), id=engineer)
        existing = await helpdesk.inspections.plan(code)
        if existing is None:
            plan = await helpdesk.inspections.create_plan(
                code=code,
                name=name,
                cadence=cadence,
                site_id=found.id,
                engineer_id=engineer_id,
                asset_kinds=asset_kinds,
                due_day=due_day,
            )
            return "created", plan
        wanted_kinds = sorted(k.value for k in (asset_kinds or DEFAULT_KINDS.get(cadence, ())))
        fixed = (
            existing.cadence != cadence
            or existing.site_id != found.id
            or (cadence == MONTHLY and existing.due_day != (due_day or DEFAULT_DUE_DAY))
        )
        same = (
            not fixed
            and existing.name == name
            and existing.engineer_id == engineer_id
            and sorted(existing.asset_kinds) == wanted_kinds
        )
        if same:
            return "unchanged", existing
        if not update:
            return "exists", existing
        if fixed:
            fail(
                N_(
                    "Plan {plan} is planned with its own cadence, site and due day, which cannot change; add a plan with a new code instead."
                ),
                plan=existing.code,
            )
        plan = await helpdesk.inspections.update_plan(
            existing.code,
            name=name,
            engineer_id=engineer_id,
            asset_kinds=[AssetKind(k) for k in wanted_kinds],
        )
        return "updated", plan

    status, plan = run_helpdesk(database_url, work)
    messages = {
        "created": N_("Plan {plan} added; its rounds are planned."),
        "unchanged": N_("Plan {plan} exists already as given; nothing changed."),
        "exists": N_(
            "Plan {plan} exists already with other values; nothing changed (--update changes its name, engineer and device types)."
        ),
        "updated": N_("Plan {plan} updated."),
    }
    say(messages[status], plan=plan.code)


# --- people ------------------------------------------------------------------------------------


@person_app.command("list")
def person_list(
    all_: bool = typer.Option(False, "--all", help="Include people who have left"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Everyone registered: id, name, role, site, Telegram id, backup, active."""

    async def work(helpdesk: Helpdesk) -> list[tuple[Person, str]]:
        return await helpdesk.people.list_people(include_inactive=all_)

    typer.echo("id\tname\trole\tsite\ttelegram\tbackup\tactive")
    for person, site_code in run_helpdesk(database_url, work):
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

    run_helpdesk(database_url, work)
    if backup:
        say(N_("engineer {engineer}: backup {backup}"), engineer=engineer, backup=backup)
    else:
        say(N_("engineer {engineer}: no backup"), engineer=engineer)


@person_app.command("role")
def person_role(
    person: int = typer.Argument(..., help="The person's id (see person list)"),
    role: str = typer.Argument(..., help="staff, engineer, dispatcher, manager or admin"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Change a person's role (an engineer's open tickets must be reassigned first)."""
    chosen = parse_role(role)

    async def work(helpdesk: Helpdesk) -> None:
        await helpdesk.people.set_role(person, chosen)

    run_helpdesk(database_url, work)
    say(N_("person {person}: {role}"), person=person, role=chosen.value)


@person_app.command("deactivate")
def person_deactivate(
    person: int = typer.Argument(..., help="The person's id (see person list)"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Someone left: they lose access; refused while tickets are still assigned to them."""

    async def work(helpdesk: Helpdesk) -> None:
        await helpdesk.people.deactivate(person)

    run_helpdesk(database_url, work)
    say(N_("person {person} deactivated"), person=person)


def register(main: typer.Typer) -> None:
    """Add the set-up commands to the main command line."""
    main.add_typer(site_app, name="site")
    main.add_typer(department_app, name="department")
    main.add_typer(invite_app, name="invite")
    main.add_typer(plan_app, name="plan")
    main.add_typer(person_app, name="person")
