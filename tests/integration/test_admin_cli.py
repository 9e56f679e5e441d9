"""Setting an installation up from the command line, on every backend."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


@pytest.fixture
def cli(database_url):
    def invoke(*args: str):
        result = runner.invoke(app, [*args, "--database-url", database_url])
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
    again = cli("asset", "import", str(register))
    assert again.exit_code == 1 and "asset.duplicate_tag" in again.output

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
        "PC 2,pc,HQ,\n"
        "PC-3,toaster,HQ,\n"
        "PC-4,pc,HQ,2027-13-01\n"
        "pc-1,laptop,HQ,\n",
        encoding="utf-8",
    )
    result = cli("asset", "import", str(register))
    assert result.exit_code == 1
    for line in (3, 4, 5, 6):
        assert f"bad.csv:{line}:" in result.output
    assert "repeats line 2" in result.output
    dry = cli("asset", "import", str(register), "--dry-run")
    assert dry.exit_code == 1


def test_unknown_regions_and_sites_are_refused_clearly(cli):
    bad_region = cli("site", "add", "X", "Somewhere", "--region", "moon")
    assert bad_region.exit_code == 1 and "site.unknown_region" in bad_region.output
    no_site = cli("department", "add", "NOPE", "Finance")
    assert no_site.exit_code == 1 and "no site with code 'NOPE'" in no_site.output
