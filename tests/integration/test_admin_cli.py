"""Setting an installation up from the command line, on every backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


@pytest.fixture
def cli(database_url):
    def invoke(*args: str):
        result = runner.invoke(app, ["--lang", "en", *args, "--database-url", database_url])
        return result

    return invoke


def test_a_fresh_installation_is_set_up_site_by_site(cli, tmp_path):
    assert cli("site", "add", "HQ", "Head office", "--region", "city").exit_code == 0
    assert cli("department", "add", "HQ", "Finance").exit_code == 0
    listed = cli("site", "list")
    assert "HQ\tHead office\tcity\t5x8\tAsia/Shanghai" in listed.stdout
    invite = cli(
        "invite",
        "create",
        "--role",
        "admin",
        "--site",
        "HQ",
        "--department",
        "Finance",
        "--bot-username",
        "@deskbot",
    )
    assert invite.exit_code == 0, invite.output
    assert invite.stdout.startswith("https://t.me/deskbot?start=inv_")

    register = tmp_path / "assets.csv"
    register.write_text(
        "tag,kind,site_code,location,brand,model,warranty_until\n"
        "pc-0001,pc,HQ,Room 301,Lenovo,M720,2027-06-30\n"
        "PJ-01,projector,HQ,Meeting room A,Epson,CB-X50,\n",
        encoding="utf-8",
    )
    imported = cli("asset", "import", str(register))
    assert imported.exit_code == 0, imported.output
    assert "2 devices imported" in imported.stdout
    # Importing the same register again is safe: nothing changes, and it says so.
    again = cli("asset", "import", str(register))
    assert again.exit_code == 0, again.output
    assert "Nothing changed: all 2 devices are registered as given." in again.stdout

    plan = cli(
        "plan",
        "add",
        "MR-HQ",
        "Meeting rooms",
        "--cadence",
        "monthly",
        "--site",
        "HQ",
        "--due-day",
        "10",
    )
    assert plan.exit_code == 0, plan.output


def test_a_bad_register_file_names_each_bad_line_and_imports_nothing(cli, tmp_path):
    assert cli("site", "add", "HQ", "Head office", "--region", "city").exit_code == 0
    register = tmp_path / "bad.csv"
    register.write_text(
        "tag,kind,site_code,warranty_until\n"
        "PC-1,pc,HQ,\n"
        f"{'PC-2' * 20},pc,HQ,\n"
        "PC-3,toaster,HQ,\n"
        "PC-4,pc,HQ,2027-13-01\n"
        "pc-1,laptop,HQ,\n",
        encoding="utf-8",
    )
    result = cli("asset", "import", str(register))
    assert result.exit_code == 2
    for line in (3, 4, 5, 6):
        assert f"bad.csv:{line}:" in result.output
    assert "repeats line 2" in result.output
    dry = cli("asset", "import", str(register), "--dry-run")
    assert dry.exit_code == 2


def test_unknown_regions_and_sites_are_refused_clearly(cli):
    bad_region = cli("site", "add", "X", "Somewhere", "--region", "moon")
    assert (
        bad_region.exit_code == 2 and "moon is not a region of the SLA policy" in bad_region.output
    )
    assert "site.unknown_region" not in bad_region.output
    no_site = cli("department", "add", "NOPE", "Finance")
    assert no_site.exit_code == 2 and "There is no site NOPE" in no_site.output


async def test_people_are_listed_backed_up_moved_and_deactivated(database_url, helpdesk, world):
    from sqlalchemy import select

    from core.enums import Impact, Role
    from core.models import AuditEvent, Person

    async def run(*args: str):
        return await asyncio.to_thread(
            runner.invoke, app, ["--lang", "en", "person", *args, "--database-url", database_url]
        )

    listed = await run("list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0] == "id\tname\trole\tsite\ttelegram\tbackup\tactive"
    assert f"{world.engineer_id}\tWang Wei\tengineer\tHQ\t2001\t{world.backup_id}\tyes" in lines

    # The backup must be another active engineer.
    self_backup = await run("backup", str(world.engineer_id), str(world.engineer_id))
    assert self_backup.exit_code == 2 and "cannot be their own backup" in self_backup.output
    not_engineer = await run("backup", str(world.engineer_id), str(world.manager_id))
    assert not_engineer.exit_code == 2
    assert f"person {world.manager_id} is not an active engineer" in not_engineer.output
    unknown = await run("backup", "999", str(world.backup_id))
    assert unknown.exit_code == 2 and "no person with id 999" in unknown.output
    swapped = await run("backup", str(world.backup_id), str(world.engineer_id))
    assert swapped.exit_code == 0, swapped.output
    cleared = await run("backup", str(world.engineer_id))
    assert cleared.exit_code == 0 and "no backup" in cleared.stdout

    # An engineer with an open ticket can neither leave nor change role.
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        asset_tag=world.asset_tag,
        symptom="Will not boot",
        impact=Impact.CANNOT_WORK,
    )
    assignee = (await helpdesk.tickets.card(ticket.id)).assignee_id
    busy = await run("deactivate", str(assignee))
    assert busy.exit_code == 2
    assert f"person {assignee} still has 1 open ticket(s) assigned" in busy.output
    assert (await run("role", str(assignee), "manager")).exit_code == 2

    # The other engineer leaves: the one they backed up loses the backup, and the
    # Telegram account is free to register again.
    other = world.backup_id if assignee == world.engineer_id else world.engineer_id
    await helpdesk.people.set_backup(assignee, other)
    left = await run("deactivate", str(other))
    assert left.exit_code == 0, left.output
    assert (
        await helpdesk.people.find_by_telegram(2002 if other == world.backup_id else 2001) is None
    )
    async with helpdesk.core.reading() as session:
        assert (await session.get(Person, assignee)).backup_id is None
        gone = await session.get(Person, other)
        assert not gone.active and gone.telegram_user_id is None
        kinds = list(
            await session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "person"))
        )
    assert "person.deactivated" in kinds
    still = await run("list")
    assert f"\n{other}\t" not in f"\n{still.stdout}"
    everyone = await run("list", "--all")
    assert any(
        line.startswith(f"{other}\t") and line.endswith("\tno")
        for line in everyone.stdout.splitlines()
    )

    promoted = await run("role", str(world.reporter_id), "dispatcher")
    assert promoted.exit_code == 0, promoted.output
    assert (await helpdesk.people.get(world.reporter_id)).role is Role.DISPATCHER


def test_a_site_gets_coordinates_and_an_arrival_radius_when_added_or_later(cli):
    added = cli(
        "site",
        "add",
        "HQ",
        "Head office",
        "--region",
        "city",
        "--lat",
        "31.2304",
        "--lon",
        "121.4737",
    )
    assert added.exit_code == 0, added.output
    assert "at 31.2304, 121.4737 (arrival within 300 m)" in added.stdout
    assert cli("site", "add", "B2", "Branch", "--region", "city").exit_code == 0
    located = cli("site", "locate", "B2", "--lat", "31.1", "--lon", "121.3", "--radius", "500")
    assert located.exit_code == 0, located.output
    assert "at 31.1, 121.3 (arrival within 500 m)" in located.stdout

    half = cli("site", "locate", "B2", "--lat", "31.1")
    assert half.exit_code == 2 and "Give both --lat and --lon" in half.output
    off_globe = cli("site", "locate", "B2", "--lat", "95", "--lon", "10")
    assert off_globe.exit_code == 2 and "95.0, 10.0 is not a point on Earth" in off_globe.output
    tiny = cli("site", "locate", "B2", "--lat", "31.1", "--lon", "121.3", "--radius", "2")
    assert tiny.exit_code == 2 and "An arrival radius of 2 m cannot be used" in tiny.output
    cleared = cli("site", "locate", "B2")
    assert cleared.exit_code == 0 and "B2 (Branch) has no location now" in cleared.stdout
    assert cli("site", "locate", "XX", "--lat", "1", "--lon", "1").exit_code == 2


def test_the_command_line_locates_a_site_and_refuses_bad_coordinates_in_words(database_url):
    """`faultdesk site locate` as an administrator runs it: a process, its output, its exit code."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}

    def faultdesk(*args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "bot.cli",
            "--lang",
            "en",
            *args,
            "--database-url",
            database_url,
        ]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    assert faultdesk("site", "add", "HQ", "Head office", "--region", "city").returncode == 0
    refused = {
        ("--lat", "31.2"): "Give both --lat and --lon, or neither",
        ("--lat", "95", "--lon", "121.4"): "95.0, 121.4 is not a point on Earth",
        ("--lat", "nan", "--lon", "121.4"): "nan, 121.4 is not a point on Earth",
        ("--lat", "31.2", "--lon", "121.4", "--radius", "2"): "An arrival radius of 2 m",
        ("--radius", "500"): "together with --lat and --lon",
    }
    for args, words in refused.items():
        run = faultdesk("site", "locate", "HQ", *args)
        assert run.returncode == 2, run
        assert words in run.stderr and "Traceback" not in run.stderr, run.stderr
    unknown = faultdesk("site", "locate", "XX", "--lat", "1", "--lon", "1")
    assert unknown.returncode == 2 and "There is no site XX" in unknown.stderr, unknown.stderr
    assert "HQ\tHead office\tcity\t5x8\tAsia/Shanghai\t-" in faultdesk("site", "list").stdout

    located = faultdesk("site", "locate", "HQ", "--lat", "31.2304", "--lon", "121.4737")
    assert located.returncode == 0 and "at 31.2304, 121.4737 (arrival within 300 m)" in (
        located.stdout
    )
    assert "\t31.2304,121.4737 (300 m)" in faultdesk("site", "list").stdout
