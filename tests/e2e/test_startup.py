"""Starting while Telegram or the database is away: wait with backoff, then serve; a refused
token stops at once.

The figure printed by the outage test ("API reachable again -> serving") is the one the
operations note quotes; `benchmarks/startup_bench.py` measures it with the default settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

import pytest
from bot_process import BotProcess
from sqlalchemy.engine import make_url

from bot.runtimes import TokenRejected
from core.db import Database
from sandbox import BotApiEmulator

pytestmark = pytest.mark.e2e

ALICE = 1001
UNKNOWN_TOKEN = "987654321:AAThisTokenWasNeverIssuedByBotFather"


class Tries(logging.Handler):
    """Counts start-up's 'not reachable' lines per dependency and wakes waiters."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.changed.set()

    def count(self, what: str) -> int:
        return sum(1 for line in self.lines if line.startswith(what) and "not reachable" in line)

    async def until(self, what: str, tries: int) -> None:
        while self.count(what) < tries:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)


@pytest.fixture
def tries():
    handler = Tries()
    logger = logging.getLogger("bot.startup")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_a_start_during_an_outage_waits_and_serves_once_the_api_is_back(
    deployment, emulator, tries
):
    deployment.overrides.update(startup_backoff_max=0.5)
    emulator.set_outage(True)
    starting = asyncio.create_task(deployment.start())
    await tries.until("the Bot API", 3)  # it keeps trying, and says so each time
    assert not starting.done()

    back = time.monotonic()
    emulator.set_outage(False)
    await asyncio.wait_for(starting, 30)
    serving = time.monotonic() - back
    print(f"\nAPI reachable again -> serving ({deployment.runtime}): {serving:.2f} s")
    assert any(line.startswith("the Bot API reachable after") for line in tries.lines)

    await deployment.register(ALICE, "Alice", language="en")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
    await alice.send("/help")
    await alice.wait_for("/report")


@pytest.fixture
async def absent_database(backend, tmp_path, request):
    """A database URL that does not work yet, and a function that makes it appear."""
    if backend == "sqlite":
        mount = tmp_path / "volume"
        mount.write_text("not mounted yet")  # a file where the folder will be
        url = f"sqlite:///{mount}/faultdesk.sqlite3"

        async def appear() -> None:
            mount.unlink()
            mount.mkdir()

        yield url, appear
        return
    server = request.getfixturevalue("pg_database")
    name = f"faultdesk_later_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)

    async def create() -> None:
        admin = Database(server)
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        await admin.dispose()

    async def drop() -> None:
        admin = Database(server)
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()

    yield url, create
    await drop()


async def test_a_database_that_is_not_there_yet_is_waited_for_then_migrated(
    deployment, emulator, absent_database, tries
):
    url, appear = absent_database
    deployment.database_url = url
    deployment.overrides.update(startup_backoff_max=0.5)
    emulator.set_outage(True)  # and Telegram is away too
    starting = asyncio.create_task(deployment.start())
    try:
        await tries.until("the Bot API", 2)
        assert tries.count("the database") == 0  # the Bot API (and the token) comes first
        emulator.set_outage(False)
        await tries.until("the database", 2)
        await appear()
        await asyncio.wait_for(starting, 30)
        await deployment.register(ALICE, "Alice", language="en")
        alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
        await alice.send("/help")
        await alice.wait_for("/report")
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await deployment.stop()  # before the fixture drops the database under it


async def test_a_token_telegram_refuses_stops_start_up_at_once(deployment, emulator, tries):
    deployment.overrides.update(bot_token=UNKNOWN_TOKEN)
    with pytest.raises(TokenRejected, match="refused the bot token"):
        await deployment.start()
    assert tries.count("the Bot API") == 0  # no retry for a 401
    assert [(call.method, call.status) for call in emulator.calls()] == [("getMe", 401)]
    assert len(emulator.take_violations()) == 1  # the refused getMe, provoked on purpose


def _cli_settings(emulator: BotApiEmulator, database: Path, **more: str) -> dict[str, str]:
    return {
        "FAULTDESK_API_BASE_URL": emulator.base_url,
        "FAULTDESK_DATABASE_URL": f"sqlite:///{database}",
        "FAULTDESK_HEALTH_LISTEN": "127.0.0.1:0",
        "FAULTDESK_POLLING_TIMEOUT": "5",
        "FAULTDESK_SHUTDOWN_GRACE": "5",
        "FAULTDESK_DEFAULT_LANGUAGE": "en",  # the sentences below are the English ones
        **more,
    }


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (UNKNOWN_TOKEN, "Telegram refused the bot token"),
        ("12345:tooshort", "the bot token is malformed"),
        ("not a token at all", "the bot token is malformed"),
    ],
)
async def test_the_command_line_explains_a_refused_token_and_exits_1(
    emulator, tmp_path, runtime, token, said
):
    settings = _cli_settings(emulator, tmp_path / "db.sqlite3", FAULTDESK_BOT_TOKEN=token)
    bot = await BotProcess(["run", "--runtime", runtime], settings, tmp_path).start()
    started = time.monotonic()
    code = await bot.wait()
    took = time.monotonic() - started
    print(f"\n{runtime}: token {token[:8]}... refused after {took:.1f} s (includes imports)")
    assert code == 1, bot.text()
    assert f"faultdesk: cannot start: {said}" in bot.text()
    assert "check FAULTDESK_BOT_TOKEN" in bot.text()
    assert "not reachable" not in bot.text()  # no retries
    assert "Traceback" not in bot.text()
    assert token not in bot.text()
    emulator.take_violations()  # the refused getMe, provoked on purpose


async def test_sigterm_while_waiting_for_the_api_stops_cleanly(deployment, emulator, tmp_path):
    emulator.set_outage(True)
    token = deployment.settings().bot_token  # the one the emulator knows
    settings = _cli_settings(emulator, tmp_path / "db.sqlite3", FAULTDESK_BOT_TOKEN=token)
    runtime = deployment.runtime
    bot = await BotProcess(["run", "--runtime", runtime], settings, tmp_path).start()
    await bot.wait_for(r"the Bot API not reachable \(try 2\)")
    assert await bot.stop() == 0
    assert "faultdesk: stopped before it was serving" in bot.text()
    assert "Traceback" not in bot.text()


@pytest.mark.parametrize(
    ("listen", "said"),
    [
        ("nonsense", "use host:port (e.g. 127.0.0.1:9464), or off"),
        ("127.0.0.1:99999", "use host:port (e.g. 127.0.0.1:9464), or off"),
    ],
)
async def test_a_health_address_that_cannot_work_is_named_before_start_up(tmp_path, listen, said):
    settings = {
        "FAULTDESK_BOT_TOKEN": UNKNOWN_TOKEN,
        "FAULTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FAULTDESK_API_BASE_URL": "http://127.0.0.1:9",  # never reached
        "FAULTDESK_HEALTH_LISTEN": listen,
        "FAULTDESK_DEFAULT_LANGUAGE": "en",  # the sentence below is the English one
    }
    bot = await BotProcess(["run"], settings, tmp_path).start()
    assert await bot.wait() == 2, bot.text()
    assert "FAULTDESK_HEALTH_LISTEN" in bot.text() and said in bot.text()
    assert "Traceback" not in bot.text() and "not reachable" not in bot.text()
    assert not (tmp_path / "db.sqlite3").exists()  # nothing was started
