"""The due-work runner wakes at the next due time, not on a fixed poll."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core import scheduling
from core.clock import AcceleratedClock
from core.unit_of_work import Core

# Monday 2 March 2026, 09:00 in Shanghai.
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def test_work_fires_when_it_falls_due_without_polling(database, policy, virtual_time):
    # Domain time runs with real time, as in production; both are virtual here.
    clock = AcceleratedClock(MONDAY_9AM, 1.0, monotonic=virtual_time)
    core = Core(database, clock, policy)
    fired: list[str] = []

    async def note(_tx, work):
        fired.append(work.key)

    runner = scheduling.DueWorkRunner(
        core, {"note": note}, max_idle=3600, sleep=virtual_time.sleep
    )  # no polling to lean on
    runner.record_lateness = True
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(runner.run(stop))
        await virtual_time.sleep(0.2)  # the runner is asleep with nothing due
        for i, seconds in enumerate((0.3, 0.6, 0.9)):
            async with core.transaction() as tx:
                await scheduling.schedule(
                    tx, key=f"n{i}", kind="note", due_at=tx.now + timedelta(seconds=seconds)
                )
        await virtual_time.sleep(1.6)
        stop.set()
        await task

    await virtual_time.run(scenario(), until=2.0)  # stopping, too, is at once
    assert fired == ["n0", "n1", "n2"]
    lateness = [(fired_at - due).total_seconds() for _, due, fired_at in runner.fired_log]
    assert all(0 <= late <= 0.001 for late in lateness), lateness  # on time, not on a poll


async def test_work_a_dead_runner_held_fires_when_its_lease_runs_out(
    database, policy, virtual_time
):
    clock = AcceleratedClock(MONDAY_9AM, 1.0, monotonic=virtual_time)
    core = Core(database, clock, policy)
    fired: list[str] = []

    async def note(_tx, work):
        fired.append(work.key)

    async with core.transaction() as tx:
        await scheduling.schedule(tx, key="n0", kind="note", due_at=tx.now)
    dead = scheduling.DueWorkRunner(core, {}, owner="dead", lease=timedelta(seconds=2))
    assert await dead.claim()  # and then its process died
    runner = scheduling.DueWorkRunner(core, {"note": note}, max_idle=3600, sleep=virtual_time.sleep)
    runner.record_lateness = True
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(runner.run(stop))
        await virtual_time.sleep(3)
        stop.set()
        await task

    # Were the lease still held at the instant next_wake() calls it over, the runner would
    # look again at once, and again, without time moving: a busy loop.
    await virtual_time.run(scenario(), until=4.0)
    assert fired == ["n0"]
    assert [fired_at for _, _, fired_at in runner.fired_log] == [MONDAY_9AM + timedelta(seconds=2)]


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
