"""The audit log is append-only and `faultdesk audit verify` catches edits and deletions."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.audit import parse_anchor, verify_chain
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


async def rewrite_history_from(database, backend, event_id: int) -> None:
    """A thorough intruder: edit an event, then recompute every later hash and the head."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.audit import stored_event_hash
    from core.models import AuditEvent, AuditHead

    await tamper(database, backend, f"UPDATE audit_event SET actor_id = 999 WHERE id = {event_id}")
    async with AsyncSession(database.engine) as session, session.begin():
        previous = (await session.get(AuditEvent, event_id - 1)).hash
        later = await session.scalars(
            select(AuditEvent).where(AuditEvent.id >= event_id).order_by(AuditEvent.id)
        )
        for event in later:
            event.prev_hash = previous
            event.hash = previous = stored_event_hash(event, previous)
        (await session.get(AuditHead, 1)).last_hash = previous


async def test_a_rewritten_history_is_caught_only_by_a_published_anchor(
    helpdesk, world, database, database_url, backend
):
    from core.audit import anchor_text, chain_head

    await some_history(helpdesk, world)
    async with helpdesk.core.reading() as session:
        head_id, head_hash = await chain_head(session)
    anchor = anchor_text(head_id, head_hash)
    assert anchor == f"{head_id}:{head_hash[:16]}"
    event_id, prefix = parse_anchor(anchor)
    assert (event_id, prefix) == (head_id, head_hash[:16])
    async with helpdesk.core.reading() as session:
        assert (await verify_chain(session, anchors={event_id: prefix})).ok

    await rewrite_history_from(database, backend, 5)
    assert (await verify(helpdesk)).ok  # the chain alone cannot tell
    async with helpdesk.core.reading() as session:
        report = await verify_chain(session, anchors={event_id: prefix, head_id + 5: "0" * 16})
    assert report.problems == [
        f"event {head_id}: hash {report.head_hash[:16]} is not the published {prefix}"
        " (history rewritten?)",
        f"event {head_id + 5} of a published anchor is not in the log",
    ]

    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "--lang",
        "en",
        "audit",
        "verify",
        "-d",
        database_url,
    ]
    caught = subprocess.run([*command, "--anchor", anchor], capture_output=True, text=True)
    assert caught.returncode == 1 and "history rewritten" in caught.stderr
    garbled = subprocess.run([*command, "--anchor", "12-abc"], capture_output=True, text=True)
    assert garbled.returncode == 2 and "expected EVENT:HASH" in garbled.stderr


@pytest.mark.parametrize("text", ["", "12", "x:0123456789abcdef", "0:0123456789abcdef", "7:0123"])
def test_malformed_anchors_are_refused(text):
    with pytest.raises(ValueError):
        parse_anchor(text)
