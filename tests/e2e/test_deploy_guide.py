"""docs/deploy.md does what it says: every `sh` block runs, every file it shows is valid.

The `sh` blocks run in bash (`set -euo pipefail`) with `faultdesk` on the PATH (this
checkout's command line), against a scratch SQLite database (and a scratch PostgreSQL
one for the PostgreSQL block when the suite has a server); the health block runs against
a real `faultdesk run` serving the local Bot API emulator. The systemd unit goes through
`systemd-analyze verify`, the environment file is loaded as faultdesk's settings, and
the nginx site and the Prometheus jobs (here and in README) must match those settings.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shutil
import socket
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from bot_process import ROOT, BotProcess, cli_env

from bot.settings import Settings
from core.db import Database
from core.migrate import upgrade

pytestmark = pytest.mark.e2e

GUIDE = ROOT / "docs" / "deploy.md"
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PG_URL = os.environ.get("FAULTDESK_TEST_PG_URL")


def blocks(path: Path, language: str) -> list[str]:
    return [
        body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang == language
    ]


def shell_blocks() -> dict[str, list[str]]:
    """The guide's sh blocks: those needing PostgreSQL, a running bot, or neither."""
    found: dict[str, list[str]] = {"postgresql": [], "health": [], "plain": []}
    for body in blocks(GUIDE, "sh"):
        kind = "postgresql" if "pg_restore" in body else "health" if "curl " in body else "plain"
        found[kind].append(body)
    return found


def env_file() -> str:
    (body,) = [b for b in blocks(GUIDE, "ini") if b.startswith("# /etc/faultdesk/faultdesk.env")]
    return body


def unit_file() -> str:
    (body,) = [b for b in blocks(GUIDE, "ini") if "[Service]" in b]
    return body


def guide_settings(tmp_path: Path) -> Settings:
    path = tmp_path / "faultdesk.env"
    path.write_text(env_file(), encoding="utf-8")
    return Settings(_env_file=path)


@pytest.fixture
def shell(tmp_path: Path):
    """bash with `faultdesk` on the PATH and a scratch SQLite database configured."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "faultdesk"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot.cli "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    backups = tmp_path / "backups"
    backups.mkdir()
    base = {
        "FAULTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'faultdesk.sqlite3'}",
        "BACKUP_DIR": str(backups),
    }

    async def run(block: str, **extra: str) -> str:
        env = cli_env({**base, **extra})
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            block,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 300)
        text = output.decode()
        assert process.returncode == 0, f"this block failed:\n{block}\n---\n{text}"
        return text

    return run


async def test_every_shell_block_runs_on_a_scratch_database(shell):
    plain = shell_blocks()["plain"]
    assert len(plain) >= 4  # install check, backups, restore, upgrade
    outputs = [await shell(block) for block in plain]
    everything = "\n".join(outputs)
    assert "faultdesk 0.1.0" in everything
    assert "up to date" in everything
    assert "audit log intact" in everything
    assert "the database it replaced is kept as" in everything


async def test_the_postgresql_backup_block_restores_into_an_empty_database(shell):
    (block,) = shell_blocks()["postgresql"]
    if PG_URL is None:  # without a server the SQLite blocks above are the whole guide
        assert "pg_restore" in block
        return
    source, restored = (f"faultdesk_guide_{uuid.uuid4().hex[:8]}" for _ in range(2))
    admin = Database(PG_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in (source, restored):
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        from sqlalchemy.engine import make_url

        source_url = make_url(PG_URL).set(database=source).render_as_string(False)
        restore_url = make_url(PG_URL).set(database=restored, drivername="postgresql")
        await asyncio.to_thread(upgrade, source_url)
        output = await shell(
            block,
            FAULTDESK_DATABASE_URL=source_url,
            RESTORE_URL=restore_url.render_as_string(False),
        )
        assert "audit log intact" in output
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in (source, restored):
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


async def test_the_health_block_answers_from_a_running_bot(shell, emulator, tmp_path):
    (block,) = shell_blocks()["health"]
    documented = guide_settings(tmp_path).health_listen
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        "FAULTDESK_BOT_TOKEN": "123456789:AAE2eTokenForFaultdeskRuntimes-0123",
        "FAULTDESK_API_BASE_URL": emulator.base_url,
        "FAULTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        "FAULTDESK_HEALTH_LISTEN": f"127.0.0.1:{port}",
        "FAULTDESK_POLLING_TIMEOUT": "5",
    }
    bot = await BotProcess(["run"], settings, tmp_path).start()
    try:
        await bot.wait_for("running on")

        async def ready() -> bool:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/readyz") as response,
            ):
                return response.status == 200

        for _ in range(200):  # heartbeats come within a second of the start
            if await ready():
                break
            await asyncio.sleep(0.05)
        output = await shell(block.replace(documented, f"127.0.0.1:{port}"))
        assert output.startswith("ok")
        assert '"status": "ready"' in output
        assert "faultdesk_outbox_pending 0.0" in output
    finally:
        assert await bot.stop() == 0


def test_the_environment_file_is_valid_settings(tmp_path):
    settings = guide_settings(tmp_path)
    assert settings.token_is_well_formed()
    assert settings.database_url.startswith("postgresql://")
    assert settings.log_format == "json" and settings.health_listen == "127.0.0.1:9464"
    assert settings.proxy is not None and settings.proxy.startswith("socks5://")
    assert (settings.journal_retention_days, settings.outbox_retention_days) == (14, 30)


def test_the_systemd_unit_passes_systemd_analyze(tmp_path):
    unit = unit_file()
    shim = tmp_path / "faultdesk"
    shim.write_text("#!/bin/sh\n", encoding="utf-8")
    shim.chmod(0o755)
    environment = tmp_path / "faultdesk.env"
    environment.write_text(env_file(), encoding="utf-8")
    assert "ExecStart=/opt/faultdesk/.venv/bin/faultdesk run" in unit
    local = unit.replace("/opt/faultdesk/.venv/bin/faultdesk", str(shim)).replace(
        "/etc/faultdesk/faultdesk.env", str(environment)
    )
    path = tmp_path / "faultdesk.service"
    path.write_text(local, encoding="utf-8")
    parsed = configparser.ConfigParser(strict=True, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parsed.read_string(local)
    assert parsed["Service"]["Restart"] == "on-failure"
    assert int(parsed["Service"]["TimeoutStopSec"]) > Settings(_env_file=None).shutdown_grace
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # a machine without systemd: the parse above is the check
        return
    import subprocess

    done = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_the_nginx_site_sends_the_webhook_path_to_the_webhook_listener(tmp_path):
    (site,) = blocks(GUIDE, "nginx")
    settings = guide_settings(tmp_path)
    assert settings.webhook_url is not None
    url = urlsplit(settings.webhook_url)
    depth = 0
    for line in site.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        depth += stripped.count("{") - stripped.count("}")
        assert depth >= 0, line
        assert stripped.endswith(("{", "}", ";")), f"a directive without ';': {line}"
    assert depth == 0
    assert f"server_name {url.hostname};" in site
    assert url.scheme == "https" and "listen 443 ssl;" in site
    location = re.search(r"location = (\S+) \{\s*proxy_pass http://([\d.:]+);", site)
    assert location is not None
    assert location.group(1) == url.path
    assert location.group(2) == settings.webhook_listen


@pytest.mark.parametrize("document", [GUIDE, README], ids=["guide", "readme"])
def test_the_prometheus_job_scrapes_the_health_listener(document, tmp_path):
    (job,) = blocks(document, "yaml")
    config = yaml.safe_load(job)
    (scrape,) = config["scrape_configs"]
    assert scrape["static_configs"][0]["targets"] == [guide_settings(tmp_path).health_listen]
