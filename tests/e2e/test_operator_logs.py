"""The logs of a real run, as an operator reads them: business events, quiet libraries, no secrets.

`faultdesk run` runs in its own process with a bot token, a database URL with a password
(PostgreSQL) and a proxy that demands a password; people register, report a fault and
accept the dispatch through the emulator; the process is stopped with SIGTERM. Then
every line it wrote, in text and in JSON format, is searched for each secret.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid

import pytest
from bot_process import BotProcess
from proxies import CountingProxy
from sqlalchemy.engine import make_url

from bot.bootstrap import bootstrap
from bot.i18n import default_i18n
from bot.settings import Settings
from core.db import Database
from core.enums import Impact
from core.migrate import upgrade
from demo import journeys, seed
from demo.journeys import Actor, Fault

pytestmark = pytest.mark.e2e

PG_URL = os.environ.get("FAULTDESK_TEST_PG_URL")

TOKEN = "7700000001:AAOperatorLogTestToken-zyxwvutsrq9876"
DB_PASSWORD = "S3cretPw-Db#42"
PROXY_PASSWORD = "Pr0xyPw-77"
SYMPTOM = "The PC does not power on; the power light stays off."
LIBRARY_NOISE = ("apscheduler", "Added job", "Running job", "alembic.runtime", "httpx", "aiohttp")


def secrets() -> list[str]:
    return [
        TOKEN,
        TOKEN.split(":")[1],
        DB_PASSWORD,
        "S3cretPw-Db%2342",  # as it is written inside the URL
        PROXY_PASSWORD,
    ]


@pytest.fixture
async def database_with_password(tmp_path, sqlite_template):
    """PostgreSQL (when the suite has a server) with a password in its URL, else SQLite."""
    if PG_URL is None:
        path = tmp_path / "faultdesk.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"faultdesk_logs_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    # The test server trusts its user; the password travels in the URL all the same.
    url = make_url(PG_URL).set(database=name, password=DB_PASSWORD)
    rendered = url.render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, rendered)
    yield rendered
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(sql: str) -> None:
    assert PG_URL is not None
    admin = Database(PG_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(sql)
    await admin.dispose()


@pytest.mark.parametrize(
    ("runtime", "log_format", "level"),
    [
        ("aiogram", "json", "INFO"),
        ("ptb", "text", "INFO"),
        # Everything asked for, libraries included: their lines carry URLs with the token.
        ("aiogram", "text", "DEBUG"),
        ("ptb", "json", "DEBUG"),
    ],
)
async def test_a_full_run_logs_business_events_and_never_a_secret(
    database_with_password, tmp_path, runtime, log_format, level
):
    from sandbox import BotApiEmulator

    database = database_with_password
    helpdesk = bootstrap(Settings(_env_file=None, database_url=database))
    office = await seed.seed_office(helpdesk)
    await helpdesk.core.db.dispose()

    async with BotApiEmulator() as emulator:
        emulator.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
        port = int(emulator.base_url.rsplit(":", 1)[1])
        with CountingProxy(port, user=f"ops:{PROXY_PASSWORD}") as proxy:
            settings = {
                "FAULTDESK_BOT_TOKEN": TOKEN,
                "FAULTDESK_DATABASE_URL": database,
                "FAULTDESK_API_BASE_URL": proxy.api_base_url(),
                "FAULTDESK_PROXY": proxy.url("socks5" if log_format == "json" else "http"),
                "FAULTDESK_LOG_FORMAT": log_format,
                "FAULTDESK_LOG_LEVEL": level,
                # Libraries stay at WARNING unless asked.
                **({"FAULTDESK_LOG_LIBRARY_LEVEL": level} if level == "DEBUG" else {}),
                "FAULTDESK_HEALTH_LISTEN": "127.0.0.1:0",
                "FAULTDESK_DEFAULT_LANGUAGE": "en",
                "FAULTDESK_POLLING_TIMEOUT": "5",
                "FAULTDESK_SHUTDOWN_GRACE": "5",
            }
            bot = await BotProcess(["run", "--runtime", runtime], settings, tmp_path).start()
            await bot.wait_for("running on")
            english = default_i18n().get("en")
            people = {}
            for persona in (seed.LI_NA, seed.WANG_WEI):
                person = emulator.person(
                    persona.telegram_id, persona.name, "en", phone_number=persona.phone
                )
                # A bot in its own process on a shared machine: patience as people have.
                actor = Actor(person, english, patience=30.0)
                await journeys.open_invitation(actor, office.invite_payload(persona))
                people[persona.key] = actor
            fault = Fault(symptom=SYMPTOM, impact=Impact.CANNOT_WORK, photo=True)
            await journeys.report_from_sticker(people["li_na"], seed.PC_TAG, fault)
            wang = people["wang_wei"]
            await journeys.accept(wang, await journeys.dispatch_card(wang, 1))
            await bot.wait_for(r"ticket\.acknowledged")
            assert await bot.stop() == 0, bot.text()
        emulator.assert_no_violations()

    everything = bot.text()
    for secret in secrets():
        assert secret not in everything, f"a secret was written: {secret[:3]}..."
    assert "***" in everything  # the database or proxy URL appeared, masked
    assert "Traceback" not in everything
    if level == "INFO":
        for noise in LIBRARY_NOISE:
            assert noise not in everything, f"library noise: {noise}"
    else:  # asked for: the libraries speak
        assert "apscheduler" in everything and runtime in everything
        if runtime == "ptb":  # httpx logs each request's URL, token and all: masked
            assert "/bot***/getUpdates" in everything

    if log_format == "json":
        records = [json.loads(line) for line in bot.stderr]  # every log line is one object
        events = {r["event"]: r for r in records if "event" in r}
        assert events["ticket.reported"]["ticket"] == 1
        assert events["ticket.assigned"]["ticket"] == 1
        assert events["ticket.acknowledged"]["ticket"] == 1
        assert isinstance(events["person.registered"]["person"], int)
        assert {r["level"] for r in records} <= {"DEBUG", "INFO", "WARNING"}
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    else:
        lines = bot.stderr
        assert any(re.search(r"INFO core\.events: person\.registered person=\d+", x) for x in lines)
        assert any(
            re.search(r"core\.events: ticket\.reported ticket=1 actor=\d+", x) for x in lines
        )
        assert any("ticket.assigned ticket=1" in x and "engineer_id=" in x for x in lines)
        assert any("ticket.acknowledged ticket=1" in x for x in lines)
    if level == "INFO":
        # What people typed never reaches faultdesk's lines (libraries at DEBUG dump
        # whole updates: asked for, for troubleshooting).
        assert "power light" not in everything
        assert "13800138000" not in everything
        assert len(bot.stderr) < 40, "\n".join(bot.stderr)  # a start and a short journey
