"""The due-work runner wakes at the next due time, not on a fixed poll."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core import scheduling
from core.clock import SystemClock
from core.unit_of_work import Core


async def test_work_fires_within_a_second_of_falling_due_without_polling(database, policy):
    core = Core(database, SystemClock(), policy)
    fired: list[str] = []

    async def note(_tx, work):
        fired.append(work.key)

    runner = scheduling.DueWorkRunner(core, {"note": note}, max_idle=3600)  # no polling to lean on
    runner.record_lateness = True
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(0.2)  # the runner is asleep with nothing due
    for i, seconds in enumerate((0.3, 0.6, 0.9)):
        async with core.transaction() as tx:
            await scheduling.schedule(
                tx, key=f"n{i}", kind="note", due_at=tx.now + timedelta(seconds=seconds)
            )
    await asyncio.sleep(1.6)
    stop.set()
    await task
    assert fired == ["n0", "n1", "n2"]
    lateness = [(fired_at - due).total_seconds() for _, due, fired_at in runner.fired_log]
    assert all(0 <= late < 1.0 for late in lateness), lateness


async def test_a_failing_handler_keeps_its_row_for_a_retry_and_others_still_fire(
    database, policy, clock
):
    core = Core(database, clock, policy)
    done: list[str] = []

    async def flaky(_tx, work):
        if work.key == "bad":
            raise RuntimeError("printer on fire")
        done.append(work.key)

    runner = scheduling.DueWorkRunner(core, {"x": flaky})
    async with core.transaction() as tx:
        for key in ("a", "bad", "b"):
            await scheduling.schedule(tx, key=key, kind="x", due_at=tx.now)
    result = await runner.sweep()
    assert (result.fired, result.failed) == (2, 1) and done == ["a", "b"]
    assert (await runner.sweep()).claimed == 0  # backing off
    clock.advance(timedelta(minutes=1))
    assert (await runner.sweep()).failed == 1  # retried, still failing, still not lost


async def test_helpdesk_runner_knows_every_kind_it_schedules(helpdesk):
    assert set(helpdesk.due_work_handlers()) >= {"escalation", "progress"}
