"""Issue 13 through the real bot over HTTP, on aiogram and on python-telegram-bot alike:
service sheets in chat, replacement requests, the month's reports with their files, and
the daily audit anchor in a channel caught by `faultdesk audit verify --anchor`."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs import run_job
from core.audit import GENESIS_HASH, stored_event_hash
from core.enums import AssetKind, Impact, OutboxStatus, Role, ServiceResult, ServiceType
from core.models import AuditEvent, AuditHead, OutboxMessage, ReplacementRequest, Ticket
from core.tickets import ServiceSheet

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = -1001777000111
LI, WANG, ZHAO, LIU = 1001, 2001, 2002, 4001


async def office(bot, emulator):
    """Li Na (staff), Wang Wei and Zhao Lei (engineers), Liu Yang (manager), all in English."""
    ids = {
        LI: await bot.register(LI, "Li Na", language="en"),
        WANG: await bot.register(WANG, "Wang Wei", role=Role.ENGINEER, language="en"),
        ZHAO: await bot.register(ZHAO, "Zhao Lei", role=Role.ENGINEER, language="en"),
        LIU: await bot.register(LIU, "Liu Yang", role=Role.MANAGER, language="en"),
    }
    await bot.register_device("PC-0001")
    people = {
        key: emulator.person(key, name, "en")
        for key, name in ((LI, "Li"), (WANG, "Wang"), (ZHAO, "Zhao"), (LIU, "Liu"))
    }
    for person in people.values():
        await person.start()
    return ids, people


async def resolved_ticket(bot, ids) -> int:
    """Wang Wei fixes Li Na's PC on site; the resolved message goes to Li Na."""
    tickets = bot.running.helpdesk.tickets
    ticket = await tickets.report_fault(
        ids[LI],
        symptom="电脑无法开机 PC will not start",
        impact=Impact.CANNOT_WORK,
        asset_tag="PC-0001",
    )
    await tickets.acknowledge(ticket.id, actor_id=ids[WANG])
    bot.clock.advance(timedelta(minutes=30))
    await tickets.arrive(ticket.id, actor_id=ids[WANG])
    bot.clock.advance(timedelta(minutes=30))
    await tickets.resolve(
        ticket.id,
        actor_id=ids[WANG],
        sheet=ServiceSheet(
            ServiceType.SOFTWARE_FAULT,
            ServiceResult.FIXED_ON_SITE,
            solution="Reinstalled the driver",
        ),
    )
    bot.running.sender.wake()
    return ticket.id


async def settle(bot) -> None:
    """Every message due now is out (so moving the clock outruns no lease)."""

    async def idle() -> bool:
        async with bot.running.core.reading() as session:
            pending = await session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.available_at <= bot.clock.now(),
                )
            )
        return pending == 0

    bot.running.sender.wake()
    await bot.until(idle, timeout=15.0)


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split()
    )


async def test_the_reporter_gets_the_service_sheet_from_the_resolved_message(bot, emulator):
    ids, people = await office(bot, emulator)
    li = people[LI]
    ticket_id = await resolved_ticket(bot, ids)
    resolved = await li.wait_for(f"Ticket #{ticket_id} is resolved by Wang Wei.")
    assert resolved.button_labels() == ["✅ Fixed", "❌ Not fixed", "📄 Service sheet"]
    await li.press("✅ Fixed", message=resolved)
    await li.wait_for(lambda m: m.message_id == resolved.message_id and "how satisfied" in m.text)
    await li.press("4 · Satisfied", message=resolved)
    await li.wait_for(lambda m: m.message_id == resolved.message_id and "closed" in m.text)

    await li.send(f"/sheet {ticket_id}")
    document = await li.wait_for(lambda m: m.kind == "document", timeout=60)
    assert document.file_name == f"faultdesk-sheet-{ticket_id}.pdf"
    assert document.caption == f"📄 Service sheet · ticket #{ticket_id}"
    sheet = pdf_text(document.file)
    assert "Service engineer Wang Wei" in sheet and "User Li Na" in sheet
    assert "电脑无法开机 PC will not start" in sheet
    assert "Satisfaction 4 · Satisfied" in sheet
    assert "Confirmed fixed in chat by Li Na at 2026-03-02 10:00" in sheet

    await li.send("/sheet")
    picker = await li.wait_for("Service sheets")
    assert picker.button_labels() == [f"📄 #{ticket_id}"]
    await li.press(f"📄 #{ticket_id}", message=picker)
    again = await li.wait_for(lambda m: m.kind == "document", timeout=60)
    assert again.file_name == document.file_name
    # Someone else's ticket, and one that does not exist.
    zhao = people[ZHAO]
    await zhao.send(f"/sheet {ticket_id}")
    await zhao.wait_for("Only the person who reported ticket")
    await li.send("/sheet 99")
    await li.wait_for("There is no ticket #99.")
    await li.send("/sheet twelve")
    await li.wait_for("Please give the ticket number, like /sheet 12.")


async def test_a_manager_replaces_an_engineer_in_chat(bot, emulator):
    ids, people = await office(bot, emulator)
    liu, zhao = people[LIU], people[ZHAO]
    ticket_id = (
        await bot.running.helpdesk.tickets.report_fault(
            ids[LI],
            symptom="Printer jams",
            impact=Impact.CANNOT_WORK,
            asset_kind=AssetKind.PRINTER,
        )
    ).id
    await liu.send("/replace")
    picker = await liu.wait_for("Which engineer should be replaced?")
    await liu.press("Wang Wei", message=picker)
    await liu.wait_for("Why should Wang Wei be replaced?")
    await liu.send("Rude to staff")
    await liu.wait_for(lambda m: m.button("📨 File the request") is not None)
    await liu.press("📨 File the request")
    await liu.wait_for("✅ Replacement request #1 filed.")
    await liu.send("/replacements")
    listed = await liu.wait_for(lambda m: m.button("✅ Replaced…") is not None)
    await liu.press("✅ Replaced…", message=listed)
    await liu.wait_for("Who takes them over?")
    await liu.press("Zhao Lei")
    await liu.wait_for("Wang Wei's open work goes to Zhao Lei")
    await liu.press("✅ Record it")
    await liu.wait_for("✅ Handed over: 1 ticket(s)")
    await zhao.wait_for("New dispatch for you")
    async with bot.running.core.reading() as session:
        request = await session.scalar(select(ReplacementRequest))
        ticket = await session.get(Ticket, ticket_id)
    assert request.status == "done" and ticket.assignee_id == ids[ZHAO]
    assert emulator.unanswered_callback_queries() == []


async def test_the_monthly_summary_brings_the_workbook_details_and_the_sheets(bot, emulator):
    ids, people = await office(bot, emulator)
    liu = people[LIU]
    ticket_id = await resolved_ticket(bot, ids)
    await bot.running.helpdesk.tickets.rate(ticket_id, actor_id=ids[LI], score=2, comment="slow")
    await settle(bot)
    bot.clock.advance(timedelta(days=30))  # 1 April: the March summary is due
    await run_job("monthly-summary", bot.running.helpdesk, bot.clock)
    bot.running.sender.wake()
    # The chart, the workbook and the sheets PDF are rendered before sending: a loaded
    # machine can take several seconds, so the safety net is wider than the default 5 s.
    summary = await liu.wait_for("Monthly summary · March 2026", timeout=60)
    assert (
        "↳ Rated 3-5 0.0% (0 of 1): 90.0 points under 90% → 1 dispatch(es) rated 1-2 × 1 = −1"
        in summary.text
    )
    workbook = await liu.wait_for(lambda m: (m.file_name or "").endswith(".xlsx"), timeout=60)
    sheets = await liu.wait_for(lambda m: (m.file_name or "").endswith(".pdf"), timeout=60)
    book = load_workbook(io.BytesIO(workbook.file))
    rated = book["Rated 3-5"]
    rows = list(rated.iter_rows(values_only=True))
    assert rows[1][:3] == (ticket_id, 1, "HQ") and rows[1][5] == 2 and rows[1][9] == "slow"
    assert sheets.file_name == "faultdesk-sheets-2026-03.pdf"
    assert f"Ticket #{ticket_id} · visit 1" in pdf_text(sheets.file)


async def test_the_daily_anchor_goes_to_the_channel_and_catches_a_rewritten_history(
    deployment, emulator, tmp_path
):
    channel = emulator.channel(CHANNEL, "faultdesk audit", username="fd_audit")
    deployment.overrides["audit_channel"] = CHANNEL
    bot = deployment
    await bot.start()
    ids, _ = await office(bot, emulator)
    await resolved_ticket(bot, ids)
    # The job also runs at start-up (APScheduler, on its own time): whichever run comes
    # first posts the day's anchor, and only one post goes out for the day.
    first = await run_job("audit-anchor", bot.running.helpdesk, bot.clock)
    again = await run_job("audit-anchor", bot.running.helpdesk, bot.clock)
    assert (again.posted, again.reason) == (False, "already_posted")
    bot.running.sender.wake()
    post = await channel.wait_for("faultdesk audit log")
    assert post.raw["sender_chat"]["id"] == CHANNEL and "from" not in post.raw
    anchor = post.text.split("Fingerprint: ")[1].split(" ")[0]
    if first.posted:
        assert anchor == first.anchor
    assert f"faultdesk audit verify --anchor {anchor}" in post.text
    assert [m.text for m in channel.messages()].count(post.text) == 1
    await bot.stop()

    command = [sys.executable, "-m", "bot.cli", "audit", "verify", "-d", bot.database_url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--anchor", anchor], capture_output=True, text=True, timeout=120, env=env
        )

    intact = await asyncio.to_thread(verify)
    assert intact.returncode == 0 and "audit log intact" in intact.stdout
    # An intruder with the database rewrites the first event and recomputes every later
    # hash (and the head row): the chain itself still verifies.
    from core.db import Database

    database = Database(bot.database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            await conn.execute(text("UPDATE audit_event SET actor_id = 999 WHERE id = 1"))
        async with AsyncSession(database.engine) as session, session.begin():
            previous = GENESIS_HASH
            for event in await session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
                event.prev_hash = previous
                event.hash = previous = stored_event_hash(event, previous)
            (await session.get(AuditHead, 1)).last_hash = previous
    finally:
        await database.dispose()
    plain = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120, env=env
    )
    assert plain.returncode == 0  # the chain alone cannot tell
    caught = await asyncio.to_thread(verify)
    assert caught.returncode == 1 and "history rewritten" in caught.stderr
