"""One database, one bot at a time: switching tokens, and restoring a backup, as an operator does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from bot_process import run_cli
from sqlalchemy import func, select

from core import instances
from core.db import Database
from core.models import Instance, ProcessedUpdate

pytestmark = pytest.mark.e2e

ALICE = 1001
TEST_BOT = 123456789  # the number tests/e2e/conftest.py's TOKEN starts with
PRODUCTION = "222000333:AAProductionTokenForFaultdesk-01234"


async def test_switching_from_the_test_bot_to_production_drops_no_update(deployment, emulator):
    emulator.register_bot(PRODUCTION, username="faultdesk_prod_bot", first_name="faultdesk")
    await deployment.start()
    await deployment.register(ALICE, "Alice", language="en")
    alice_on_test = emulator.person(ALICE, "Alice", "en", bot=deployment.settings().bot_token)
    for _ in range(3):
        await alice_on_test.send("/help")
    await deployment.until(lambda: _answers(alice_on_test, 3))
    await deployment.until(lambda: _journaled(deployment, TEST_BOT, 3))

    await deployment.stop()
    deployment.overrides.update(bot_token=PRODUCTION)
    await deployment.start()
    alice = emulator.person(ALICE, "Alice", "en", bot=PRODUCTION)
    # The production bot numbers its updates from the same start as the test bot did.
    for number in range(3):
        await alice.send(f"/help {number}")
    await deployment.until(lambda: _answers(alice, 3), message="an update was dropped")
    await deployment.until(lambda: _journaled(deployment, 222000333, 3))
    async with deployment.running.core.reading() as session:
        ids = dict(
            (
                await session.execute(
                    select(ProcessedUpdate.bot_id, func.min(ProcessedUpdate.update_id)).group_by(
                        ProcessedUpdate.bot_id
                    )
                )
            ).all()
        )
    assert ids[TEST_BOT] == ids[222000333]  # the same update ids, kept apart


async def _answers(person, count: int) -> bool:
    return sum("/report" in message.text for message in person.messages()) >= count


async def _journaled(deployment, bot_id: int, count: int) -> bool:
    async with deployment.running.core.reading() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.bot_id == bot_id, ProcessedUpdate.done_at.is_not(None))
        )
    return int(done or 0) >= count


async def test_restore_refuses_the_database_of_a_running_bot_and_then_restores_it(
    deployment, emulator, tmp_path
):
    await deployment.start()
    await deployment.register(ALICE, "Alice", language="en")
    database = deployment.database_url
    backup = tmp_path / "backup.sqlite3"
    taken = await run_cli("backup", "--out", str(backup), "-d", database)
    assert taken.code == 0, taken.output
    await deployment.register(2002, "Bob", language="en")  # after the backup: not in it

    refused = await run_cli("restore", "--from", str(backup), "-d", database)
    assert refused.code == 1
    assert "a running faultdesk holds" in refused.stderr
    assert "Stop it first" in refused.stderr and "Traceback" not in refused.output

    await deployment.stop()  # a clean stop removes its heartbeat
    restored = await run_cli("restore", "--from", str(backup), "-d", database)
    assert restored.code == 0, restored.output
    assert "the database it replaced is kept as" in restored.stdout
    kept = await asyncio.to_thread(lambda: list(tmp_path.iterdir()))
    assert any(".before-restore-" in path.name for path in kept)
    verified = await run_cli("audit", "verify", "-d", database)
    assert verified.code == 0 and "audit log intact" in verified.stdout

    await deployment.start()  # the bot runs on the restored database
    people = deployment.running.helpdesk.people
    assert await people.find_by_telegram(ALICE) is not None
    assert await people.find_by_telegram(2002) is None  # Bob came after the backup
    alice = emulator.person(ALICE, "Alice", "en")
    await alice.send("/help")
    await alice.wait_for("/report")


async def test_a_bot_that_died_without_stopping_holds_the_database_only_until_its_heartbeat_is_stale(
    deployment, tmp_path
):
    await deployment.start()
    database = deployment.database_url
    backup = tmp_path / "backup.sqlite3"
    assert (await run_cli("backup", "--out", str(backup), "-d", database)).code == 0
    await deployment.stop()
    # A process killed without stopping leaves its heartbeat row behind.
    db = Database(database)
    async with db.transaction() as session:
        beat = datetime.now(UTC) - instances.STALE_AFTER + timedelta(seconds=20)
        session.add(
            Instance(
                id="crashed", host="web-1", pid=4242, version="0.1.0", started_at=beat, beat_at=beat
            )
        )
    await db.dispose()
    refused = await run_cli("restore", "--from", str(backup), "-d", database)
    assert refused.code == 1 and "web-1 pid 4242" in refused.stderr

    db = Database(database)
    async with db.transaction() as session:
        stale = datetime.now(UTC) - instances.STALE_AFTER - timedelta(seconds=1)
        row = await session.get(Instance, "crashed")
        assert row is not None
        row.beat_at = stale
    await db.dispose()
    restored = await run_cli("restore", "--from", str(backup), "-d", database)
    assert restored.code == 0, restored.output
