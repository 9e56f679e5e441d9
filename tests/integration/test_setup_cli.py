"""Setting up sites, departments, plans and invitations from the command line, twice over.

Re-running a set-up script is safe: what exists is reported and left alone unless
--update; codes and names match whatever their case; zones and regions are checked.
"""

from __future__ import annotations

import asyncio

from command_line import faultdesk
from sqlalchemy import select

from core.enums import AssetKind, Role
from core.models import AuditEvent, Department, InspectionPlan, Invite, Site
from sandbox import BotApiEmulator

TOKEN = "123456789:AAE2eTokenForFaultdeskRuntimes-0123"


async def cli(*args: str, url: str, **kwargs):
    return await asyncio.to_thread(faultdesk, *args, "--database-url", url, **kwargs)


async def sites(helpdesk) -> list[tuple[str, str, str, str, str]]:
    async with helpdesk.core.reading() as session:
        return [
            (s.code, s.name, s.region, s.service_hours, s.timezone)
            for s in await session.scalars(select(Site).order_by(Site.id))
        ]


async def test_a_set_up_script_run_twice_changes_nothing_the_second_time(database_url, helpdesk):
    script = [
        ("site", "add", "HQ", "Head office", "--region", "city", "--hours", "5x8"),
        ("department", "add", "HQ", "Finance"),
        ("department", "add", "hq", "FINANCE"),  # codes and names whatever their case
    ]
    first = [await cli(*step, url=database_url) for step in script]
    assert [r.code for r in first] == [0, 0, 0], [r.output for r in first]
    assert "Site HQ (Head office) added: region city" in first[0].stdout
    assert first[2].stdout.strip() == "Department Finance exists already at HQ; nothing changed."
    second = [await cli(*step, url=database_url) for step in script]
    assert [r.code for r in second] == [0, 0, 0]
    assert second[0].stdout.strip() == "Site HQ exists already as given; nothing changed."
    assert await sites(helpdesk) == [("HQ", "Head office", "city", "5x8", "Asia/Shanghai")]
    async with helpdesk.core.reading() as session:
        assert list(await session.scalars(select(Department.name))) == ["Finance"]
        created = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert created == ["site.created", "department.created"]


async def test_an_existing_site_changes_only_with_update_or_edit(database_url, helpdesk):
    assert (
        await cli("site", "add", "HQ", "Head office", "--region", "city", url=database_url)
    ).code == 0
    other = await cli("site", "add", "hq", "HQ", "--region", "suburb", url=database_url)
    assert other.code == 0
    assert other.stdout.splitlines() == [
        "Site HQ exists already with other values; nothing changed (--update changes it):",
        "  name: Head office → HQ",
        "  region: city → suburb",
    ]
    assert await sites(helpdesk) == [("HQ", "Head office", "city", "5x8", "Asia/Shanghai")]
    updated = await cli(
        "site", "add", "HQ", "Head office", "--region", "suburb", "--update", url=database_url
    )
    assert "Site HQ updated:" in updated.stdout and "region: city → suburb" in updated.stdout
    edited = await cli(
        "site", "edit", "hq", "--timezone", "Asia/Urumqi", "--hours", "7x24", url=database_url
    )
    assert edited.code == 0, edited.output
    assert await sites(helpdesk) == [("HQ", "Head office", "suburb", "7x24", "Asia/Urumqi")]
    mars = await cli("site", "edit", "HQ", "--timezone", "Mars/Base", url=database_url)
    assert mars.code == 2
    assert "Mars/Base is not a time zone; use an IANA name such as" in mars.stderr
    typo = await cli(
        "site",
        "add",
        "BR",
        "Branch",
        "--region",
        "city",
        "--timezone",
        "Asia/Shanghia",
        url=database_url,
    )
    assert typo.code == 2 and "Asia/Shanghai" in typo.stderr  # the closest real zone
    hours = await cli(
        "site", "add", "BR", "Branch", "--region", "city", "--hours", "6x9", url=database_url
    )
    assert hours.code == 2
    assert (
        "6x9 is not a service-hours calendar of the SLA policy; use 5x8, 7x24, or 7x8."
        in hours.stderr
    )
    assert len(await sites(helpdesk)) == 1


async def test_a_department_is_renamed_and_listed(database_url, helpdesk, world):
    renamed = await cli("department", "rename", "hq", "finance", "财务部", url=database_url)
    assert renamed.code == 0, renamed.output
    assert renamed.stdout.strip() == "Department Finance at HQ is now 财务部."
    listed = await cli("department", "list", url=database_url)
    assert listed.stdout.splitlines() == ["HQ\t财务部"]
    async with helpdesk.core.reading() as session:
        department = await session.get(Department, world.department_id)
    assert department.name == "财务部"  # the same department: its people stay with it
    missing = await cli("department", "rename", "HQ", "Sales", "Marketing", url=database_url)
    assert (
        missing.code == 2
        and "There is no department Sales at that site; it has 财务部." in missing.stderr
    )


async def test_a_plan_takes_device_types_in_chinese_and_says_when_it_exists(
    database_url, helpdesk, world
):
    add = ("plan", "add", "MR-HQ", "Meeting rooms", "--cadence", "monthly", "--site", "hq")
    done = await cli(*add, "--kinds", "投影仪，电视,Microphone", url=database_url)
    assert done.code == 0 and "Plan MR-HQ added; its rounds are planned." in done.stdout, (
        done.output
    )
    async with helpdesk.core.reading() as session:
        plan = await session.scalar(select(InspectionPlan))
    assert sorted(plan.asset_kinds) == sorted(
        [AssetKind.PROJECTOR, AssetKind.TV, AssetKind.MICROPHONE]
    )
    again = await cli(*add, "--kinds", "projector,tv,microphone", url=database_url)
    assert again.stdout.strip() == "Plan MR-HQ exists already as given; nothing changed."
    renamed = await cli(
        "plan",
        "add",
        "mr-hq",
        "会议室巡检",
        "--cadence",
        "monthly",
        "--site",
        "HQ",
        "--kinds",
        "投影仪",
        url=database_url,
    )
    assert "exists already with other values; nothing changed" in renamed.stdout
    updated = await cli(
        "plan",
        "add",
        "MR-HQ",
        "会议室巡检",
        "--cadence",
        "monthly",
        "--site",
        "HQ",
        "--kinds",
        "投影仪",
        "--update",
        url=database_url,
    )
    assert updated.code == 0 and "Plan MR-HQ updated." in updated.stdout, updated.output
    async with helpdesk.core.reading() as session:
        plan = await session.scalar(select(InspectionPlan))
    assert (plan.name, plan.asset_kinds) == ("会议室巡检", ["projector"])
    bad = await cli(*add, "--kinds", "coffee machine", url=database_url)
    assert (
        bad.code == 2 and "coffee machine is not a device type; use Desktop PC (pc)" in bad.stderr
    )


async def test_an_invitation_link_names_the_bot_that_telegram_names(database_url, helpdesk, world):
    nameless = await cli("invite", "create", "--role", "staff", "--site", "HQ", url=database_url)
    assert nameless.code == 2
    assert "The link needs your bot's username: pass --bot-username NAME" in nameless.stderr
    async with BotApiEmulator() as emulator:
        emulator.register_bot(TOKEN, username="hq_helpdesk_bot", first_name="HQ helpdesk")
        asked = await cli(
            "invite",
            "create",
            "--role",
            "Staff",
            "--site",
            "hq",
            "--department",
            "finance",
            "--uses",
            "300",
            "--days",
            "30",
            url=database_url,
            env={"FAULTDESK_BOT_TOKEN": TOKEN, "FAULTDESK_API_BASE_URL": emulator.base_url},
        )
    assert asked.code == 0, asked.output
    link = asked.stdout.strip()
    assert link.startswith("https://t.me/hq_helpdesk_bot?start=inv_")
    assert "An invitation for 300 people as staff, valid for 30 days" in asked.stderr
    configured = await cli(
        "invite",
        "create",
        "--role",
        "admin",
        "--site",
        "HQ",
        url=database_url,
        env={"FAULTDESK_BOT_USERNAME": "@office_desk_bot"},
    )
    assert configured.stdout.startswith("https://t.me/office_desk_bot?start=inv_")
    async with helpdesk.core.reading() as session:
        invite = await session.scalar(
            select(Invite).where(Invite.code == link.rsplit("inv_", 1)[1])
        )
    assert (invite.role, invite.max_uses, invite.department_id) == (
        Role.STAFF,
        300,
        world.department_id,
    )
    assert (invite.expires_at - invite.created_at).days == 30
    wrong = await cli(
        "invite",
        "create",
        "--role",
        "boss",
        "--site",
        "HQ",
        "--bot-username",
        "x",
        url=database_url,
    )
    assert (
        wrong.code == 2
        and "boss is not a role; use staff, engineer, dispatcher, manager, or admin."
        in wrong.stderr
    )
    refused = await cli(
        "invite",
        "create",
        "--role",
        "staff",
        "--site",
        "HQ",
        url=database_url,
        env={"FAULTDESK_BOT_TOKEN": "1:bad", "FAULTDESK_API_BASE_URL": "http://127.0.0.1:9"},
    )
    assert refused.code == 2 and "Telegram did not tell the bot's username" in refused.stderr
