"""The escalation ladder: each step fires once, at its time, on every backend."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.db import Database
from core.enums import Impact
from core.models import AuditEvent, DueWork, OutboxMessage, Page, Ticket
from core.services import Helpdesk
from core.sla.policy import PauseReason
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def report(helpdesk, world, impact=Impact.CANNOT_WORK):
    return await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=impact, asset_tag=world.asset_tag
    )


async def escalations(helpdesk) -> list[tuple[str, int]]:
    """(clock, percent) of every fired step, in firing order."""
    async with helpdesk.core.reading() as session:
        events = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sla.escalated").order_by(AuditEvent.id)
        )
        return [(e.data["clock"], e.data["percent"]) for e in events]


CLOCKS = ("acknowledge", "arrival", "restore", "resolve")
# Each step either fires or, caught up after its deadline passed, is dropped: once.
HANDLED = ("sla.escalated", "sla.step_skipped")


async def skipped(helpdesk) -> list[tuple[str, int]]:
    """(clock, percent) of every step dropped instead of sent late."""
    async with helpdesk.core.reading() as session:
        events = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "sla.step_skipped")
            .order_by(AuditEvent.id)
        )
        return [(e.data["clock"], e.data["percent"]) for e in events]


async def messages(helpdesk, code: str) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.code == code).order_by(OutboxMessage.id)
        )
        return list(rows)


async def test_a_step_fires_when_its_threshold_is_reached_and_not_before(helpdesk, world, clock):
    await report(helpdesk, world)
    runner = helpdesk.runner()
    await helpdesk.tickets.acknowledge(
        1, actor_id=world.engineer_id
    )  # keep only the arrival ladder in play

    clock.set(local(2, 10, 35) + timedelta(seconds=59))
    await runner.sweep()
    assert await escalations(helpdesk) == []
    clock.set(local(2, 10, 36))  # 80 % of the 2 h arrival target
    await runner.sweep()
    assert await escalations(helpdesk) == [("arrival", 80)]
    reminders = await messages(helpdesk, "sla.reminder")
    assert [m.recipient_id for m in reminders] == [world.engineer_id]
    assert datetime.fromisoformat(reminders[0].params["due_at"]) == local(2, 11)


async def test_a_missed_deadline_pages_engineer_backup_and_dispatcher_and_raises_the_level(
    helpdesk, world, clock
):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    runner = helpdesk.runner()

    clock.set(local(2, 11))
    await runner.sweep()

    pages = await messages(helpdesk, "sla.page")
    assert sorted(m.recipient_id for m in pages) == sorted(
        [world.engineer_id, world.backup_id, world.dispatcher_id]
    )
    assert all(m.params["clock"] == "arrival" and m.page_id is not None for m in pages)
    card = await helpdesk.tickets.card(ticket.id)
    assert card.severity == 1  # 003 §2.1.1: upgraded automatically
    assert card.clock("restore").due_at == local(2, 14)  # level 1, city: 5 h around the clock
    assert card.clock("arrival").breached


async def test_half_again_past_the_deadline_the_manager_is_told_by_how_much(helpdesk, world, clock):
    ticket = await report(helpdesk, world, impact=Impact.DEGRADED)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    runner = helpdesk.runner()
    clock.set(local(2, 12, 7))
    await runner.sweep()

    alerts = await messages(helpdesk, "sla.manager_alert")
    arrival_alerts = [m for m in alerts if m.params["clock"] == "arrival"]
    assert [m.recipient_id for m in arrival_alerts] == [world.manager_id]
    assert arrival_alerts[0].params["overdue_seconds"] == 67 * 60  # due 11:00, now 12:07
    async with helpdesk.core.reading() as session:
        page = await session.get(Page, arrival_alerts[0].page_id)
    assert page is not None and page.level == "manager" and page.acknowledged_at is None


async def test_every_step_fires_exactly_once_however_often_we_sweep(helpdesk, world, clock):
    await report(helpdesk, world)
    runner = helpdesk.runner()
    for minutes in range(0, 60 * 24 * 10, 17):
        clock.set(local(2, 9) + timedelta(minutes=minutes))
        await runner.sweep()
        await runner.sweep()
    fired = await escalations(helpdesk)
    assert Counter(fired) == Counter({(c, p): 1 for c, p in set(fired)})
    assert {c for c, _ in fired} == {"acknowledge", "arrival", "restore", "resolve"}


async def test_steps_that_fell_due_while_nothing_ran_fire_on_the_next_sweep(helpdesk, world, clock):
    await report(helpdesk, world)
    clock.set(local(20, 9))  # nothing ran for 18 days
    await helpdesk.runner().sweep()
    fired = await escalations(helpdesk)
    # 4 clocks x 3 steps, each once; the 80 % reminders are dropped, their deadlines passed.
    assert len(fired) == len(set(fired)) == 8
    assert sorted(await skipped(helpdesk)) == [(c, 80) for c in sorted(CLOCKS)]
    # The reporter gets one progress message for the missed hours, not one per hour.
    assert len(await messages(helpdesk, "ticket.progress")) == 1


async def test_stopping_a_clock_cancels_its_remaining_steps(helpdesk, world, clock):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 10))
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 13))
    await helpdesk.runner().sweep()
    assert [
        c for c, _ in await escalations(helpdesk)
    ] == []  # arrival met; restore is not due until 17:00


async def test_a_pause_holds_the_ladder_and_a_resume_moves_it(helpdesk, world, clock):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 12))
    await helpdesk.tickets.pause(ticket.id, actor_id=world.engineer_id, reason=PauseReason.VENDOR)
    runner = helpdesk.runner()
    clock.set(local(4, 12))
    await runner.sweep()
    assert await escalations(helpdesk) == []

    await helpdesk.tickets.resume(
        ticket.id, actor_id=world.engineer_id
    )  # paused 2 working days = 18 h
    async with helpdesk.core.reading() as session:
        restore_80 = await session.scalar(
            select(DueWork).where(DueWork.key == f"esc:{ticket.id}:0:restore:80")
        )
    assert restore_80 is not None
    # 80 % of 8 h = 6.4 h after 09:00 Monday plus 18 h paused: Wednesday 15:24.
    assert restore_80.due_at == local(4, 15, 24)


async def test_two_sweepers_at_once_fire_each_step_exactly_once(
    database_url, backend, world, clock, policy
):
    # 40 tickets x 12 steps, all overdue, swept by two independent engines at once.
    first = Helpdesk(Core(Database(database_url), clock, policy))
    for _ in range(40):
        await report(first, world)
    second = Helpdesk(Core(Database(database_url), clock, policy))
    clock.set(local(25, 9))
    runners = [first.runner(owner="one"), second.runner(owner="two")]
    for runner in runners:
        runner.batch, runner.chunk = 40, 10  # small claims so the two interleave
    results = await asyncio.gather(*(r.sweep() for r in runners))
    async with first.core.reading() as session:
        fired = Counter(
            (e.entity_id, e.data["clock"], e.data["percent"])
            for e in await session.scalars(select(AuditEvent).where(AuditEvent.action.in_(HANDLED)))
        )
        pending = await session.scalar(
            select(func.count())
            .select_from(DueWork)
            .where(DueWork.status == "pending", DueWork.kind == "escalation")
        )
        tickets = await session.scalar(select(func.count()).select_from(Ticket))
    progress = len(await messages(first, "ticket.progress"))
    await first.core.db.dispose()
    await second.core.db.dispose()
    assert tickets == 40
    assert len(fired) == 40 * 12 and set(fired.values()) == {1}
    # A step due with an earlier one still pending carries that one out first, in its own
    # handler: the runners fire the rest, and one progress message each.
    assert sum(r.fired for r in results) <= 40 * 12 + 40
    assert progress == 40
    assert pending == 0
    if backend == "postgresql":  # SQLite has one writer at a time; there one runner may do it all
        assert all(r.fired > 0 for r in results), [r.fired for r in results]


async def test_two_sweepers_in_separate_processes_fire_each_step_exactly_once(
    database_url, world, clock, policy, tmp_path
):
    import subprocess
    import sys

    helpdesk = Helpdesk(Core(Database(database_url), clock, policy))
    for _ in range(30):
        await report(helpdesk, world)
    await helpdesk.core.db.dispose()
    script = tmp_path / "sweep.py"
    script.write_text(
        "import asyncio, sys\n"
        "from datetime import datetime, UTC\n"
        "from core.clock import FrozenClock\nfrom core.unit_of_work import Core\nfrom core.db import Database\n"
        "from core.services import Helpdesk\nfrom core.sla.policy import load_policy\n"
        "async def main():\n"
        "    h = Helpdesk(Core(Database(sys.argv[1]), FrozenClock(datetime(2026, 3, 25, 1, tzinfo=UTC)), load_policy()))\n"
        "    r = h.runner(owner=sys.argv[2]); r.batch, r.chunk = 30, 5\n"
        "    res = await r.sweep(); print(res.fired)\n"
        "    await h.core.db.dispose()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), database_url, name], stdout=subprocess.PIPE, text=True
        )
        for name in ("p1", "p2")
    ]
    outputs = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    helpdesk = Helpdesk(Core(Database(database_url), clock, policy))
    async with helpdesk.core.reading() as session:
        fired = Counter(
            (e.entity_id, e.data["clock"], e.data["percent"])
            for e in await session.scalars(select(AuditEvent).where(AuditEvent.action.in_(HANDLED)))
        )
    await helpdesk.core.db.dispose()
    assert len(fired) == 30 * 12
    # Some steps are carried out by a later step of their clock (see above).
    assert sum(outputs) <= 30 * 12 + 30
    assert set(fired.values()) == {1}
