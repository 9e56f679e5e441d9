"""Sites, departments, people, invitations: who may use the helpdesk, and in what role."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from difflib import get_close_matches
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import Table, bindparam, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import DEFAULT_TIMEZONE
from core.enums import OPEN_STATUSES, Role
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.geo import valid_point
from core.models import Department, Invite, Person, Site, Ticket
from core.unit_of_work import Core, Tx

# Who sent an update, read on every update: built once, as columns (no ORM objects).
_people = cast(Table, Person.__table__)
_sites = cast(Table, Site.__table__)
_PROFILE = (
    select(
        _people.c.id,
        _people.c.name,
        _people.c.role,
        _people.c.site_id,
        _sites.c.name.label("site_name"),
        _people.c.department_id,
        _people.c.timezone,
        _sites.c.timezone.label("site_timezone"),
        _people.c.language,
        _people.c.phone,
        _people.c.chat_id,
    )
    .select_from(_people.outerjoin(_sites, _sites.c.id == _people.c.site_id))
    .where(_people.c.telegram_user_id == bindparam("b_telegram"), _people.c.active.is_(True))
)

R = TypeVar("R")


async def get_person(tx: Tx, person_id: int) -> Person:
    """Load a person or raise NotFound."""
    person = await tx.session.get(Person, person_id)
    if person is None:
        raise NotFound(entity="person", id=person_id)
    return person


async def by_telegram(tx: Tx, telegram_user_id: int) -> Person | None:
    """The active person registered with this Telegram account, if any."""
    return await tx.session.scalar(
        select(Person).where(Person.telegram_user_id == telegram_user_id, Person.active.is_(True))
    )


async def people_with_role(tx: Tx, role: Role, site_id: int | None) -> Sequence[Person]:
    """Active people of a role serving a site (people without a site serve every site).

    Remembered for the transaction: a sweep firing fifty steps of one site asks fifty times.
    """
    key = ("people_with_role", role, site_id)
    if key not in tx.memo:
        query = select(Person).where(Person.role == role, Person.active.is_(True))
        if site_id is not None:
            query = query.where(or_(Person.site_id == site_id, Person.site_id.is_(None)))
        tx.memo[key] = (await tx.session.scalars(query.order_by(Person.id))).all()
    people: Sequence[Person] = tx.memo[key]
    return people


# The site's engineers, those based there before roaming ones (no site), fewest open
# tickets first, then lowest id: built once (it runs for every new ticket).
_OPEN_LOAD = (
    select(func.count())
    .select_from(Ticket)
    .where(Ticket.assignee_id == Person.id, Ticket.status.in_(OPEN_STATUSES))
    .correlate(Person)
    .scalar_subquery()
)
_ENGINEERS_BY_LOAD = (
    select(Person)
    .where(
        Person.role == Role.ENGINEER,
        Person.active.is_(True),
        or_(Person.site_id == bindparam("b_site"), Person.site_id.is_(None)),
    )
    .order_by(Person.site_id.is_(None), _OPEN_LOAD, Person.id)
    .limit(1)
)


async def least_loaded_engineer(tx: Tx, site_id: int, exclude: Sequence[int] = ()) -> Person | None:
    """The site's engineer with the fewest open tickets (ties: lowest id).

    Engineers based at the site come before roaming ones. One query: each candidate's
    open tickets are counted in it, and only the one chosen is loaded.
    """
    query = _ENGINEERS_BY_LOAD
    if exclude:
        query = query.where(Person.id.not_in(list(exclude)))
    chosen: Person | None = await tx.session.scalar(query, {"b_site": site_id})
    return chosen


async def release_engineer(tx: Tx, person: Person) -> None:
    """Check nothing open depends on `person` as engineer; clear backups pointing at them."""
    open_tickets = await tx.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == person.id, Ticket.status.in_(OPEN_STATUSES))
    )
    if open_tickets:
        raise InvalidInput("person.has_open_tickets", person_id=person.id, count=open_tickets)
    backed_up = await tx.session.scalars(select(Person).where(Person.backup_id == person.id))
    for engineer in backed_up:
        engineer.backup_id = None
        await tx.audit("person", engineer.id, "person.backup_set", backup_id=None)
    if person.backup_id is not None:
        person.backup_id = None


async def deactivate_in(tx: Tx, person: Person) -> None:
    """Deactivate `person` in this transaction (see `PeopleService.deactivate`)."""
    await release_engineer(tx, person)
    telegram_user_id = person.telegram_user_id
    person.active = False
    person.telegram_user_id = None
    await tx.audit("person", person.id, "person.deactivated", telegram_user_id=telegram_user_id)


def new_invite_code() -> str:
    """An unguessable code that fits a /start deep-link payload (<= 64 chars, [A-Za-z0-9_-])."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Profile:
    """A registered person as the chat layer needs them."""

    id: int
    name: str
    role: Role
    site_id: int | None
    site_name: str | None
    department_id: int | None
    timezone: str
    language: str | None
    phone: str | None
    chat_id: int | None


@dataclass(frozen=True)
class Place:
    """A site or department by id and name, for pickers."""

    id: int
    name: str


MAX_SITE_CODE = 32
MAX_NAME = 200
MAX_ADDRESS = 500
SITE_EDITABLE = ("name", "region", "service_hours", "timezone", "address")
SITE_LOCATION = ("latitude", "longitude", "arrival_radius_m")


class Setup(StrEnum):
    """What adding or editing a set-up record did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # it exists with the values given
    EXISTS = "exists"  # it exists with other values, left as it was (no update asked)


@dataclass(frozen=True)
class Change:
    """One field before and after."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """A set-up record and what happened to it."""

    status: Setup
    record: R
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class SiteSpec:
    """A site as an administrator describes it."""

    code: str
    name: str
    region: str
    service_hours: str = "5x8"
    timezone: str = DEFAULT_TIMEZONE
    address: str = ""
    latitude: float | None = None  # where it is, for maps and arrivals; None: not given
    longitude: float | None = None
    arrival_radius_m: int | None = None


def check_timezone(text: str) -> str:
    """An IANA time zone name as given, or InvalidInput with the closest real names."""
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        zones = available_timezones()
        close = get_close_matches(name, sorted(zones), n=3, cutoff=0.5)
        if not close:
            close = [DEFAULT_TIMEZONE, "Asia/Hong_Kong", "Asia/Urumqi"]
        raise InvalidInput("site.unknown_timezone", timezone=name[:64], choices=close) from error
    return name


def _department_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("department.bad_name", limit=MAX_NAME)
    return name


def _site_changes(site: Site, spec: SiteSpec) -> list[Change]:
    # A location is compared only when one is given: `site locate` sets it apart.
    names = SITE_EDITABLE + (SITE_LOCATION if spec.latitude is not None else ())
    return [
        Change(name, getattr(site, name), getattr(spec, name))
        for name in names
        if getattr(site, name) != getattr(spec, name)
    ]


def _apply(record: Any, changes: list[Change]) -> None:
    for change in changes:
        setattr(record, change.field, change.after)


def _audit_changes(changes: list[Change]) -> dict[str, Any]:
    return {change.field: change.after for change in changes}


async def add_department(tx: Tx, site_id: int, name: str) -> Department:
    """Create a department (its name checked by the caller) and audit it."""
    department = Department(site_id=site_id, name=name)
    tx.session.add(department)
    await tx.session.flush()
    await tx.audit("department", department.id, "department.created", site_id=site_id, name=name)
    return department


async def site_by_code(session: AsyncSession, code: str) -> Site | None:
    """The site with this code, whatever its case (compared in Python: SQLite's lower()
    folds ASCII only)."""
    wanted = code.strip().casefold()
    return next(
        (s for s in await session.scalars(select(Site)) if s.code.casefold() == wanted), None
    )


async def site_codes(session: AsyncSession) -> list[str]:
    """Every site's code, sorted."""
    return list(await session.scalars(select(Site.code).order_by(Site.code)))


async def department_by_name(session: AsyncSession, site_id: int, name: str) -> Department | None:
    """The site's department of this name, whatever its case and spacing."""
    wanted = " ".join(name.split()).casefold()
    departments = await session.scalars(select(Department).where(Department.site_id == site_id))
    return next((d for d in departments if d.name.casefold() == wanted), None)


async def department_names(session: AsyncSession, site_id: int) -> list[str]:
    """The site's departments, sorted."""
    return list(
        await session.scalars(
            select(Department.name).where(Department.site_id == site_id).order_by(Department.name)
        )
    )


class PeopleService:
    """Admin-side registration and the invite-based sign-up."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def check_site(self, spec: SiteSpec) -> SiteSpec:
        """The spec trimmed, or InvalidInput naming the first bad field and the valid choices."""
        code = spec.code.strip()
        if not code or len(code) > MAX_SITE_CODE or any(ch.isspace() for ch in code):
            raise InvalidInput("site.bad_code", site=code[:64], limit=MAX_SITE_CODE)
        name = " ".join(spec.name.split())
        if not name or len(name) > MAX_NAME:
            raise InvalidInput("site.bad_name", limit=MAX_NAME)
        if len(spec.address) > MAX_ADDRESS:
            raise InvalidInput("site.address_too_long", limit=MAX_ADDRESS)
        _check_location(spec.latitude, spec.longitude, spec.arrival_radius_m)
        regions = self.core.policy.regions
        if spec.region not in regions:
            raise InvalidInput("site.unknown_region", region=spec.region, choices=dict(regions))
        if spec.service_hours not in self.core.policy.calendars:
            raise InvalidInput(
                "site.unknown_service_hours",
                service_hours=spec.service_hours,
                choices=sorted(self.core.policy.calendars),
            )
        return replace(
            spec,
            code=code,
            name=name,
            timezone=check_timezone(spec.timezone),
            address=spec.address.strip(),
        )

    async def create_site(
        self,
        *,
        code: str,
        name: str,
        region: str,
        service_hours: str = "5x8",
        timezone: str = DEFAULT_TIMEZONE,
        address: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
        arrival_radius_m: int | None = None,
        actor_id: int | None = None,
    ) -> Site:
        """Register a site; Conflict when its code is taken (codes ignore case)."""
        spec = SiteSpec(
            code,
            name,
            region,
            service_hours,
            timezone,
            address,
            latitude=latitude,
            longitude=longitude,
            arrival_radius_m=arrival_radius_m,
        )
        outcome = await self.ensure_site(spec, actor_id=actor_id)
        if outcome.status is not Setup.CREATED:
            raise Conflict("site.exists", site=outcome.record.code)
        return outcome.record

    async def ensure_site(
        self, spec: SiteSpec, *, update: bool = False, actor_id: int | None = None
    ) -> Outcome[Site]:
        """Register a site unless it exists; an existing one changes only with `update`."""
        spec = self.check_site(spec)
        async with self.core.transaction(actor_id) as tx:
            site = await site_by_code(tx.session, spec.code)
            if site is not None:
                changes = _site_changes(site, spec)
                if changes and update:
                    _apply(site, changes)
                    await tx.audit("site", site.id, "site.edited", **_audit_changes(changes))
                    return Outcome(Setup.UPDATED, site, changes)
                return Outcome(Setup.EXISTS if changes else Setup.UNCHANGED, site, changes)
            site = Site(
                code=spec.code,
                name=spec.name,
                region=spec.region,
                service_hours=spec.service_hours,
                timezone=spec.timezone,
                address=spec.address,
                latitude=spec.latitude,
                longitude=spec.longitude,
                arrival_radius_m=spec.arrival_radius_m,
            )
            tx.session.add(site)
            await tx.session.flush()
            await tx.audit(
                "site",
                site.id,
                "site.created",
                code=spec.code,
                name=spec.name,
                region=spec.region,
                location=[spec.latitude, spec.longitude] if spec.latitude is not None else None,
            )
            return Outcome(Setup.CREATED, site)

    async def edit_site(
        self, code: str, changes: Mapping[str, str], *, actor_id: int | None = None
    ) -> Outcome[Site]:
        """Change a site's name, region, service hours, zone or address (tickets keep theirs)."""
        unknown = sorted(set(changes) - set(SITE_EDITABLE))
        if unknown:
            raise InvalidInput("site.not_editable", field=unknown[0], choices=list(SITE_EDITABLE))
        async with self.core.transaction(actor_id) as tx:
            site = await site_by_code(tx.session, code)
            if site is None:
                raise NotFound("site.unknown", site=code, choices=await site_codes(tx.session))
            current = SiteSpec(
                site.code, site.name, site.region, site.service_hours, site.timezone, site.address
            )
            edited: dict[str, Any] = dict(changes)
            spec = self.check_site(replace(current, **edited))
            found = _site_changes(site, spec)
            if found:
                _apply(site, found)
                await tx.audit("site", site.id, "site.edited", **_audit_changes(found))
            return Outcome(Setup.UPDATED if found else Setup.UNCHANGED, site, found)

    async def locate_site(
        self,
        code: str,
        *,
        latitude: float | None,
        longitude: float | None,
        arrival_radius_m: int | None = None,
        actor_id: int | None = None,
    ) -> Site:
        """Set (or, with None, clear) where a site is and how near counts as arrived."""
        _check_location(latitude, longitude, arrival_radius_m)
        async with self.core.transaction(actor_id) as tx:
            site = await site_by_code(tx.session, code)
            if site is None:
                raise NotFound("site.unknown", site=code, choices=await site_codes(tx.session))
            site.latitude, site.longitude = latitude, longitude
            site.arrival_radius_m = arrival_radius_m
            await tx.audit(
                "site",
                site.id,
                "site.located",
                location=[latitude, longitude] if latitude is not None else None,
                arrival_radius_m=arrival_radius_m,
            )
            return site

    async def set_alert_group(
        self, site_code: str, chat_id: int, *, actor_id: int, posting: bool = True
    ) -> tuple[Site, int | None]:
        """An admin makes a group where a site's escalation alerts are also posted.

        `posting=False` stops it, if that group is the site's. Returns the site and the
        group it posted to before.
        """
        async with self.core.transaction(actor_id) as tx:
            actor = await get_person(tx, actor_id)
            if actor.role is not Role.ADMIN:
                raise PermissionDenied(action="site_group")
            site = await tx.session.scalar(
                select(Site).where(Site.code == site_code.strip()[:32]).with_for_update()
            )
            if site is None:
                raise NotFound(entity="site", code=site_code[:32])
            previous = site.alert_chat_id
            if posting:
                site.alert_chat_id = chat_id
            elif previous == chat_id:
                site.alert_chat_id = None
            if site.alert_chat_id != previous:
                await tx.audit(
                    "site",
                    site.id,
                    "site.alert_group_set",
                    chat_id=site.alert_chat_id,
                    previous=previous,
                )
            return site, previous

    async def alert_group_sites(self, chat_id: int) -> list[str]:
        """The codes of the sites whose alerts are posted to this group."""
        async with self.core.reading() as session:
            rows = await session.scalars(
                select(Site.code).where(Site.alert_chat_id == chat_id).order_by(Site.code)
            )
            return list(rows)

    async def create_department(
        self, *, site_id: int, name: str, actor_id: int | None = None
    ) -> Department:
        """Register a department at a site; Conflict when the site has it already."""
        outcome = await self.ensure_department(site_id=site_id, name=name, actor_id=actor_id)
        if outcome.status is not Setup.CREATED:
            raise Conflict("department.exists", name=outcome.record.name)
        return outcome.record

    async def ensure_department(
        self, *, site_id: int, name: str, actor_id: int | None = None
    ) -> Outcome[Department]:
        """Register a department unless the site has one of that name (case ignored)."""
        name = _department_name(name)
        async with self.core.transaction(actor_id) as tx:
            department = await department_by_name(tx.session, site_id, name)
            if department is not None:
                return Outcome(Setup.UNCHANGED, department)
            return Outcome(Setup.CREATED, await add_department(tx, site_id, name))

    async def rename_department(
        self, *, site_id: int, name: str, new_name: str, actor_id: int | None = None
    ) -> Outcome[Department]:
        """Rename a department; its people, devices and tickets stay with it."""
        new_name = _department_name(new_name)
        async with self.core.transaction(actor_id) as tx:
            department = await department_by_name(tx.session, site_id, name)
            if department is None:
                names = await department_names(tx.session, site_id)
                raise NotFound("department.unknown", name=name.strip(), choices=names)
            if department.name == new_name:
                return Outcome(Setup.UNCHANGED, department)
            taken = await department_by_name(tx.session, site_id, new_name)
            if taken is not None and taken.id != department.id:
                raise Conflict("department.exists", name=taken.name)
            change = Change("name", department.name, new_name)
            department.name = new_name
            await tx.audit(
                "department",
                department.id,
                "department.renamed",
                before=change.before,
                name=new_name,
            )
            return Outcome(Setup.UPDATED, department, [change])

    async def create_person(
        self,
        *,
        name: str,
        role: Role,
        site_id: int | None = None,
        department_id: int | None = None,
        phone: str | None = None,
        telegram_user_id: int | None = None,
        language: str | None = None,
        backup_id: int | None = None,
        actor_id: int | None = None,
    ) -> Person:
        """Register a person directly (admin tools, seeding)."""
        async with self.core.transaction(actor_id) as tx:
            person = Person(
                name=name,
                role=role,
                site_id=site_id,
                department_id=department_id,
                phone=phone,
                telegram_user_id=telegram_user_id,
                chat_id=telegram_user_id,
                language=language,
                backup_id=backup_id,
                active=True,
                created_at=tx.now,
            )
            tx.session.add(person)
            await tx.session.flush()
            await tx.audit(
                "person", person.id, "person.created", name=name, role=role.value, site_id=site_id
            )
            return person

    async def set_backup(
        self, engineer_id: int, backup_id: int | None, *, actor_id: int | None = None
    ) -> None:
        """Name the engineer who takes over (备份工程师); None clears it.

        Both must be active engineers, and nobody backs themselves up.
        """
        async with self.core.transaction(actor_id) as tx:
            engineer = await get_person(tx, engineer_id)
            if engineer.role is not Role.ENGINEER or not engineer.active:
                raise InvalidInput("backup.not_an_engineer", person_id=engineer_id)
            if backup_id is not None:
                if backup_id == engineer_id:
                    raise InvalidInput("backup.self", person_id=engineer_id)
                backup = await get_person(tx, backup_id)
                if backup.role is not Role.ENGINEER or not backup.active:
                    raise InvalidInput("backup.not_an_engineer", person_id=backup_id)
            engineer.backup_id = backup_id
            await tx.audit("person", engineer_id, "person.backup_set", backup_id=backup_id)

    async def set_role(self, person_id: int, role: Role, *, actor_id: int | None = None) -> None:
        """Change what a person may do; an engineer with open tickets keeps the engineer role."""
        async with self.core.transaction(actor_id) as tx:
            person = await get_person(tx, person_id)
            if person.role is role:
                return
            if person.role is Role.ENGINEER:
                await self._release_engineer(tx, person)
            before = person.role
            person.role = role
            await tx.audit(
                "person", person_id, "person.role_set", role=role.value, before=before.value
            )

    async def deactivate(self, person_id: int, *, actor_id: int | None = None) -> None:
        """Someone leaves: they can no longer use the bot and receive nothing more.

        Refused while tickets are still assigned to them (reassign those first). Engineers
        they backed up lose their backup; the Telegram account is freed so that the same
        person can register again later through a new invitation.
        """
        async with self.core.transaction(actor_id) as tx:
            person = await get_person(tx, person_id)
            if not person.active:
                return
            await deactivate_in(tx, person)

    async def _release_engineer(self, tx: Tx, person: Person) -> None:
        """Check nothing open depends on `person` as engineer; clear backups pointing at them."""
        await release_engineer(tx, person)

    async def list_people(self, *, include_inactive: bool = False) -> list[tuple[Person, str]]:
        """Everyone with their site's code ("" for people serving every site)."""
        async with self.core.reading() as session:
            query = select(Person, Site.code).outerjoin(Site, Site.id == Person.site_id)
            if not include_inactive:
                query = query.where(Person.active.is_(True))
            rows = await session.execute(query.order_by(Person.id))
            return [(person, code or "") for person, code in rows]

    async def create_invite(
        self,
        *,
        role: Role,
        site_id: int,
        department_id: int | None = None,
        max_uses: int = 1,
        valid_for: timedelta | None = timedelta(days=14),
        actor_id: int | None = None,
    ) -> Invite:
        """Create a deep-link invitation; only admins (or tools with no actor) may."""
        if max_uses < 1:
            raise InvalidInput("invite.max_uses", max_uses=max_uses)
        async with self.core.transaction(actor_id) as tx:
            if actor_id is not None:
                actor = await get_person(tx, actor_id)
                if actor.role is not Role.ADMIN:
                    raise PermissionDenied(action="create_invite")
            if await tx.session.get(Site, site_id) is None:
                raise NotFound(entity="site", id=site_id)
            invite = Invite(
                code=new_invite_code(),
                role=role,
                site_id=site_id,
                department_id=department_id,
                created_by_id=actor_id,
                created_at=tx.now,
                expires_at=tx.now + valid_for if valid_for else None,
                max_uses=max_uses,
                uses=0,
            )
            tx.session.add(invite)
            await tx.session.flush()
            await tx.audit(
                "invite",
                invite.id,
                "invite.created",
                role=role.value,
                site_id=site_id,
                max_uses=max_uses,
            )
            return invite

    async def redeem_invite(
        self,
        code: str,
        *,
        telegram_user_id: int,
        chat_id: int,
        name: str,
        language: str | None,
    ) -> Person:
        """Register a Telegram user through an invite; a registered user keeps their record.

        Only from the person's private chat (whose id is their user id): registered from
        a group, their private notices would go to everyone in it.
        """
        if chat_id != telegram_user_id:
            raise InvalidInput("invite.private_only")
        async with self.core.transaction() as tx:
            existing = await by_telegram(tx, telegram_user_id)
            if existing is not None:
                return existing
            invite = await tx.session.scalar(
                select(Invite).where(Invite.code == code).with_for_update()
            )
            if invite is None:
                raise InvalidInput("invite.unknown")
            if invite.expires_at is not None and invite.expires_at < tx.now:
                raise InvalidInput("invite.expired")
            if invite.uses >= invite.max_uses:
                raise InvalidInput("invite.used_up")
            invite.uses += 1
            person = Person(
                name=name[:200] or str(telegram_user_id),
                role=invite.role,
                site_id=invite.site_id,
                department_id=invite.department_id,
                telegram_user_id=telegram_user_id,
                chat_id=chat_id,
                language=language,
                active=True,
                created_at=tx.now,
            )
            tx.session.add(person)
            await tx.session.flush()
            tx.actor_id = person.id
            await tx.audit(
                "person",
                person.id,
                "person.registered",
                role=invite.role.value,
                invite_id=invite.id,
            )
            return person

    async def set_language(self, person_id: int, language: str) -> None:
        """Remember the language a person chose."""
        async with self.core.transaction(person_id) as tx:
            person = await get_person(tx, person_id)
            person.language = language
            await tx.audit("person", person_id, "person.language_set", language=language)

    async def set_phone(self, person_id: int, phone: str) -> None:
        """Remember a person's contact phone."""
        async with self.core.transaction(person_id) as tx:
            person = await get_person(tx, person_id)
            person.phone = phone
            await tx.audit("person", person_id, "person.phone_set", phone=phone)

    async def find_by_telegram(self, telegram_user_id: int) -> Person | None:
        """The registered person for a Telegram user (read-only)."""
        async with self.core.reading() as session:
            return await session.scalar(
                select(Person).where(
                    Person.telegram_user_id == telegram_user_id, Person.active.is_(True)
                )
            )

    async def profile_by_telegram(self, telegram_user_id: int) -> Profile | None:
        """The registered person behind a Telegram account, with their site's zone."""
        async with self.core.reading() as session:
            return await session.run_sync(
                lambda sync: self.profile_in(sync.connection(), telegram_user_id)
            )

    @staticmethod
    def profile_in(connection: Connection, telegram_user_id: int) -> Profile | None:
        """`profile_by_telegram` read on `connection` (the chat layer's claiming transaction)."""
        row = connection.execute(_PROFILE, {"b_telegram": telegram_user_id}).first()
        if row is None:
            return None
        return Profile(
            id=row.id,
            name=row.name,
            role=row.role,
            site_id=row.site_id,
            site_name=row.site_name,
            department_id=row.department_id,
            timezone=row.timezone or row.site_timezone or DEFAULT_TIMEZONE,
            language=row.language,
            phone=row.phone,
            chat_id=row.chat_id,
        )

    async def sites(self) -> list[Place]:
        """Every site, by name."""
        async with self.core.reading() as session:
            rows = await session.execute(select(Site.id, Site.name).order_by(Site.name, Site.id))
            return [Place(row.id, row.name) for row in rows]

    async def departments(self, site_id: int) -> list[Place]:
        """The departments of a site, by name."""
        async with self.core.reading() as session:
            rows = await session.execute(
                select(Department.id, Department.name)
                .where(Department.site_id == site_id)
                .order_by(Department.name, Department.id)
            )
            return [Place(row.id, row.name) for row in rows]

    async def site_name(self, site_id: int) -> str | None:
        """A site's name, None if unknown."""
        async with self.core.reading() as session:
            site = await session.get(Site, site_id)
            return site.name if site else None

    async def get(self, person_id: int) -> Person:
        """Load a person (read-only)."""
        async with self.core.reading() as session:
            person = await session.get(Person, person_id)
            if person is None:
                raise NotFound(entity="person", id=person_id)
            return person


MAX_ARRIVAL_RADIUS_M = 50_000


def _check_location(latitude: float | None, longitude: float | None, radius_m: int | None) -> None:
    """Both coordinates or neither, on the globe; a radius only with them, 10 m to 50 km."""
    if (latitude is None) != (longitude is None):
        raise InvalidInput("site.half_location")
    if latitude is not None and longitude is not None and not valid_point(latitude, longitude):
        raise InvalidInput("site.bad_location", latitude=latitude, longitude=longitude)
    if radius_m is not None and (latitude is None or not 10 <= radius_m <= MAX_ARRIVAL_RADIUS_M):
        raise InvalidInput("site.bad_radius", radius=radius_m)
