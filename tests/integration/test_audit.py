"""The audit log is append-only and `faultdesk audit verify` catches edits and deletions."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.audit import verify_chain
from core.enums import Impact


async def some_history(helpdesk, world):
    for _ in range(3):
        ticket = await helpdesk.tickets.report_fault(
            world.reporter_id,
            symptom="No network",
            impact=Impact.DEGRADED,
            asset_tag=world.asset_tag,
        )
        await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.dispatcher_id)


async def tamper(database, backend, sql: str) -> None:
    """What an intruder with database access would do: switch the guard off, change history."""
    async with database.engine.begin() as conn:
        if backend == "sqlite":
            await conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            await conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        else:
            await conn.exec_driver_sql(
                "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"
            )
        await conn.exec_driver_sql(sql)


async def verify(helpdesk):
    async with helpdesk.core.reading() as session:
        return await verify_chain(session)


async def test_an_untouched_history_verifies(helpdesk, world):
    await some_history(helpdesk, world)
    report = await verify(helpdesk)
    assert report.ok, report.problems
    assert report.events == report.head_id > 10


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET action = 'x' WHERE id = 3", "DELETE FROM audit_event WHERE id = 3"],
)
async def test_the_database_refuses_to_change_history(helpdesk, world, database, sql):
    await some_history(helpdesk, world)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as conn:
            await conn.execute(text(sql))


async def test_an_edited_event_is_detected(helpdesk, world, database, backend):
    await some_history(helpdesk, world)
    await tamper(database, backend, "UPDATE audit_event SET actor_id = 999 WHERE id = 12")
    report = await verify(helpdesk)
    assert report.problems == ["event 12: contents do not match its hash (edited?)"]


async def test_a_rehashed_edit_breaks_the_next_link(helpdesk, world, database, backend):
    await some_history(helpdesk, world)
    await tamper(
        database, backend, "UPDATE audit_event SET hash = 'f' || substr(hash, 2) WHERE id = 12"
    )
    report = await verify(helpdesk)
    assert "event 13: link to previous event broken" in report.problems


async def test_a_deleted_event_is_detected(helpdesk, world, database, backend):
    await some_history(helpdesk, world)
    await tamper(database, backend, "DELETE FROM audit_event WHERE id = 7")
    report = await verify(helpdesk)
    assert "event 7..7 missing (deleted?)" in report.problems


async def test_a_deleted_tail_is_detected(helpdesk, world, database, backend):
    await some_history(helpdesk, world)
    head = (await verify(helpdesk)).head_id
    await tamper(database, backend, f"DELETE FROM audit_event WHERE id >= {head - 1}")
    report = await verify(helpdesk)
    assert report.problems == [
        f"chain ends at event {head - 2} but the head names event {head} (tail deleted?)"
    ]


async def test_the_command_line_exits_nonzero_on_a_tampered_log(
    helpdesk, world, database, database_url, backend
):
    await some_history(helpdesk, world)
    command = [sys.executable, "-m", "bot.cli", "audit", "verify", "--database-url", database_url]
    clean = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0 and "audit log intact" in clean.stdout
    await tamper(database, backend, "UPDATE audit_event SET data = '{}' WHERE id = 5")
    broken = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert "TAMPERED" in broken.stdout and "event 5" in broken.stderr
