"""A small office to play with: sites, departments, people with invitations, and devices.

Used by the offline demo (`faultdesk demo`), the end-to-end journeys and the chat
benchmark. Everything goes through the core services an administrator's tools use, so
the audit log records it, except `seed_bulk_staff`, which inserts a thousand people
and devices in one transaction to keep a benchmark's setup short.

People are not registered here (apart from the administrator): each persona gets a
one-person invitation, and the simulated person registers by opening it
(`/start inv_<code>`), as a real colleague would.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from core.assets import AssetRecord
from core.enums import AssetKind, Role
from core.models import Asset, Department, Person, Site
from core.services import Helpdesk

INVITE_PREFIX = "inv_"  # bot.handlers.common.INVITE_PREFIX: /start inv_<code> redeems
ASSET_PREFIX = "asset_"  # bot.handlers.common.ASSET_PREFIX: /start asset_<tag> reports

HQ = "HQ"
BRANCH = "ZJ"
# Where the head office stands (on the Bund). The seed leaves it without coordinates, as
# an office is before the administrator runs `faultdesk site locate`; the demo and the
# tests locate it when they show arrivals checked by location.
HQ_LOCATION = (31.2399, 121.4906)


@dataclass(frozen=True)
class SiteSpec:
    """A site of the demo office."""

    code: str
    name: str
    region: str
    address: str
    departments: tuple[str, ...]
    location: tuple[float, float] | None = None  # where it is: maps and arrival checks


@dataclass(frozen=True)
class Persona:
    """Someone in the demo office, as Telegram knows them and as the helpdesk will."""

    key: str
    name: str  # the Telegram name; registration takes it over
    native_name: str
    telegram_id: int
    role: Role
    language_code: str  # what the person's Telegram app reports
    site: str  # site code
    department: str | None = None
    phone: str | None = None  # the number their phone shares


@dataclass(frozen=True)
class DeviceSpec:
    """A registered device with a sticker."""

    record: AssetRecord
    department: str | None = None


SITES: tuple[SiteSpec, ...] = (
    SiteSpec(
        HQ,
        "Head office",
        "city",
        "18 Zhongshan Dong Yi Lu, Huangpu, Shanghai",
        ("财务部 Finance", "行政部 Administration", "信息中心 IT service"),
    ),
    SiteSpec(
        BRANCH,
        "Zhangjiang branch",
        "suburb",
        "88 Keyuan Lu, Zhangjiang Hi-Tech Park, Pudong",
        ("研发部 R&D",),
        (31.2044, 121.5893),
    ),
)

ADMIN = Persona("admin", "Zhou Min", "周敏", 9001, Role.ADMIN, "zh-hans", HQ, "信息中心 IT service")
LI_NA = Persona(
    "li_na", "Li Na", "李娜", 1001, Role.STAFF, "zh-hans", HQ, "财务部 Finance", "+8613800138000"
)
WANG_WEI = Persona(
    "wang_wei",
    "Wang Wei",
    "王伟",
    2001,
    Role.ENGINEER,
    "zh-hans",
    HQ,
    "信息中心 IT service",
    "+8613900139001",
)
# The backup engineer is based at the branch: the head office's dispatches go to Wang Wei,
# and Zhao Lei is paged when one of them runs late (备份工程师).
ZHAO_LEI = Persona(
    "zhao_lei", "Zhao Lei", "赵磊", 2002, Role.ENGINEER, "zh-hans", BRANCH, None, "+8613900139002"
)
CHEN_JING = Persona(
    "chen_jing",
    "Chen Jing",
    "陈静",
    3001,
    Role.DISPATCHER,
    "zh-hans",
    HQ,
    "信息中心 IT service",
    "+8602163210000",
)
LIU_YANG = Persona(
    "liu_yang", "Liu Yang", "刘洋", 4001, Role.MANAGER, "en", HQ, None, "+8613700137000"
)

PEOPLE: tuple[Persona, ...] = (LI_NA, WANG_WEI, ZHAO_LEI, CHEN_JING, LIU_YANG)

PC_TAG = "PC-0001"
PROJECTOR_TAG = "PJ-0501"
PRINTER_TAG = "PR-0301"

DEVICES: tuple[DeviceSpec, ...] = (
    DeviceSpec(
        AssetRecord(
            tag=PC_TAG,
            kind=AssetKind.PC,
            site_code=HQ,
            location="Room 301",
            brand="Lenovo",
            model="ThinkCentre M720",
            serial="MJ0K2X7Q",
            monitor_serial="V5W81234",
            warranty_until=date(2027, 6, 30),
            manufactured_on=date(2022, 7, 1),
            hardware_config="i5-9500, 16 GB, 512 GB SSD",
            ip_address="10.1.3.21",
            subnet_mask="255.255.255.0",
            os="Windows 10 Pro",
            antivirus="Huorong",
            office_software="WPS Office",
        ),
        department="财务部 Finance",
    ),
    DeviceSpec(
        AssetRecord(
            tag=PROJECTOR_TAG,
            kind=AssetKind.PROJECTOR,
            site_code=HQ,
            location="Meeting room 501",
            brand="Epson",
            model="CB-2247U",
            serial="X4HF2300117",
            warranty_until=date(2025, 12, 31),
        ),
        department="行政部 Administration",
    ),
    DeviceSpec(
        AssetRecord(
            tag=PRINTER_TAG,
            kind=AssetKind.PRINTER,
            site_code=HQ,
            location="Room 301",
            brand="HP",
            model="LaserJet Pro M404dn",
            serial="PHBBK12345",
        ),
        department="财务部 Finance",
    ),
)


@dataclass
class Office:
    """What was seeded: ids by code and name, the admin, and the invitation codes."""

    sites: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    admin_id: int = 0
    invites: dict[str, str] = field(default_factory=dict)  # persona key -> invite code
    devices: tuple[str, ...] = ()

    def invite_payload(self, persona: Persona) -> str:
        """The /start payload of the persona's invitation."""
        return f"{INVITE_PREFIX}{self.invites[persona.key]}"


def invite_link(bot_username: str, code: str) -> str:
    """The deep link an administrator sends to a new colleague."""
    return f"https://t.me/{bot_username}?start={INVITE_PREFIX}{code}"


def sticker_link(bot_username: str, tag: str) -> str:
    """The deep link printed as a QR code on a device's sticker."""
    return f"https://t.me/{bot_username}?start={ASSET_PREFIX}{tag}"


async def seed_office(
    helpdesk: Helpdesk,
    *,
    people: Sequence[Persona] = PEOPLE,
    admin: Persona = ADMIN,
    without_invites: Collection[str] = (),
    devices: Sequence[DeviceSpec] = DEVICES,
    sites: Sequence[SiteSpec] = SITES,
) -> Office:
    """Sites, departments, the administrator (registered directly), devices and invitations.

    `without_invites` names personas whose invitation the caller makes another way
    (for instance an administrator pressing through /invite in the chat).
    """
    registry = helpdesk.people
    office = Office()
    for spec in sites:
        site = await registry.create_site(
            code=spec.code,
            name=spec.name,
            region=spec.region,
            address=spec.address,
            latitude=spec.location[0] if spec.location else None,
            longitude=spec.location[1] if spec.location else None,
        )
        office.sites[spec.code] = site.id
        for name in spec.departments:
            department = await registry.create_department(site_id=site.id, name=name)
            office.departments[name] = department.id
    # The administrator exists before any invitation can: registered directly, with no
    # language, so the router takes it from their Telegram app on first contact.
    admin_person = await registry.create_person(
        name=admin.name,
        role=admin.role,
        site_id=office.sites[admin.site],
        department_id=office.departments.get(admin.department or ""),
        phone=admin.phone,
        telegram_user_id=admin.telegram_id,
    )
    office.admin_id = admin_person.id
    tags = []
    for device in devices:
        record = device.record
        if device.department is not None:
            record = replace(record, department_id=office.departments[device.department])
        asset = await helpdesk.assets.register(record, actor_id=office.admin_id)
        tags.append(asset.tag)
    office.devices = tuple(tags)
    for persona in people:
        if persona.key in without_invites:
            continue
        invite = await registry.create_invite(
            role=persona.role,
            site_id=office.sites[persona.site],
            department_id=office.departments.get(persona.department or ""),
            actor_id=office.admin_id,
        )
        office.invites[persona.key] = invite.code
    return office


async def person_id(helpdesk: Helpdesk, persona: Persona) -> int:
    """The helpdesk id of a persona who has registered (AssertionError if not yet)."""
    person = await helpdesk.people.find_by_telegram(persona.telegram_id)
    if person is None:
        raise AssertionError(f"{persona.name} has not registered")
    return person.id


async def name_backup(
    helpdesk: Helpdesk, office: Office, engineer: Persona, backup: Persona
) -> None:
    """The administrator names `backup` as the engineer who takes over from `engineer`."""
    await helpdesk.people.set_backup(
        await person_id(helpdesk, engineer),
        await person_id(helpdesk, backup),
        actor_id=office.admin_id,
    )


# --- bulk: a thousand colleagues for a benchmark ------------------------------------------


@dataclass(frozen=True)
class BulkOffice:
    """The bulk-seeded people's Telegram ids and their devices' tags, index by index."""

    site_id: int
    staff_telegram_ids: tuple[int, ...]
    device_tags: tuple[str, ...]
    engineer_telegram_ids: tuple[int, ...]


async def seed_bulk_staff(
    helpdesk: Helpdesk,
    *,
    staff: int,
    engineers: int,
    first_telegram_id: int = 100_000,
    language: str = "en",
) -> BulkOffice:
    """One city site with `staff` registered staff (each with a PC) and `engineers`.

    One transaction and one audit event for the lot: a benchmark needs the people to
    exist, not a thousand invitations redeemed one by one.
    """
    async with helpdesk.core.transaction() as tx:
        site = Site(code="BENCH", name="Benchmark tower", region="city", address="1 Century Avenue")
        tx.session.add(site)
        await tx.session.flush()
        department = Department(site_id=site.id, name="Open plan")
        tx.session.add(department)
        await tx.session.flush()
        staff_ids = tuple(first_telegram_id + n for n in range(staff))
        engineer_ids = tuple(first_telegram_id + staff + n for n in range(engineers))
        tags = tuple(f"BX-{n:05d}" for n in range(staff))
        tx.session.add_all(
            [
                Person(
                    name=f"Staff {n:04d}",
                    role=Role.STAFF,
                    site_id=site.id,
                    department_id=department.id,
                    telegram_user_id=telegram_id,
                    chat_id=telegram_id,
                    language=language,
                    active=True,
                    created_at=tx.now,
                )
                for n, telegram_id in enumerate(staff_ids)
            ]
            + [
                Person(
                    name=f"Engineer {n:03d}",
                    role=Role.ENGINEER,
                    site_id=site.id,
                    telegram_user_id=telegram_id,
                    chat_id=telegram_id,
                    language=language,
                    active=True,
                    created_at=tx.now,
                )
                for n, telegram_id in enumerate(engineer_ids)
            ]
        )
        tx.session.add_all(
            [
                Asset(
                    tag=tag,
                    kind=AssetKind.PC,
                    site_id=site.id,
                    department_id=department.id,
                    location=f"Desk {n + 1}",
                    brand="Lenovo",
                    model="ThinkCentre M720",
                    active=True,
                )
                for n, tag in enumerate(tags)
            ]
        )
        await tx.session.flush()
        await tx.audit(
            "site", site.id, "seed.bulk", staff=staff, engineers=engineers, devices=len(tags)
        )
        return BulkOffice(site.id, staff_ids, tags, engineer_ids)
