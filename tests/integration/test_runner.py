"""The due-work runner wakes at the next due time, not on a fixed poll."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.settings import Settings
from core import scheduling
from core.clock import AcceleratedClock
from core.enums import WorkStatus
from core.models import DueWork
from core.services import Helpdesk
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


async def test_after_a_failed_sweep_the_runner_looks_again_soon(
    database, policy, virtual_time, monkeypatch
):
    """The database is away for a second when a step is due: it fires within the retry
    backoff (2 s at most) of the database coming back, not after an idle sleep (5 s)."""
    from sqlalchemy.exc import OperationalError

    clock = AcceleratedClock(MONDAY_9AM, 1.0, monotonic=virtual_time)
    core = Core(database, clock, policy)
    fired: list[float] = []

    async def note(_tx, work):
        fired.append(virtual_time.now)

    async with core.transaction() as tx:
        await scheduling.schedule(tx, key="step", kind="note", due_at=tx.now)
    down = True
    for name in ("transaction", "reading"):
        original = getattr(database, name)

        def flaky(*args, _original=original, **kwargs):
            if down:
                raise OperationalError("BEGIN", {}, ConnectionRefusedError("database is down"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(database, name, flaky)
    runner = scheduling.DueWorkRunner(core, {"note": note}, sleep=virtual_time.sleep)
    assert runner.max_idle == 5.0
    stop = asyncio.Event()

    async def scenario() -> None:
        nonlocal down
        task = asyncio.create_task(runner.run(stop))
        await virtual_time.sleep(1.0)  # several sweeps fail meanwhile
        down = False
        await virtual_time.sleep(4.5)
        stop.set()
        await task

    await virtual_time.run(scenario(), until=6.0)
    assert len(fired) == 1 and fired[0] <= 3.05, fired


async def test_helpdesk_runner_knows_every_kind_it_schedules(helpdesk):
    assert set(helpdesk.due_work_handlers()) >= {"escalation", "progress"}


async def test_a_dead_instance_s_due_work_is_taken_over_within_five_seconds(
    database, policy, virtual_time
):
    # Both instances run with the default settings, as `faultdesk run` would.
    lease = timedelta(seconds=Settings(_env_file=None).due_work_lease)
    clock = AcceleratedClock(MONDAY_9AM, 1.0, monotonic=virtual_time)
    core = Core(database, clock, policy)
    fired: list[str] = []

    async def note(_tx, work):
        fired.append(work.key)

    async with core.transaction() as tx:
        for i in range(3):
            await scheduling.schedule(tx, key=f"step{i}", kind="note", due_at=tx.now)
    dead = Helpdesk(core).runner(owner="killed", lease=lease)
    assert len(await dead.claim()) == 3  # and then its process was killed (kill -9)
    survivor = scheduling.DueWorkRunner(
        core, {"note": note}, max_idle=3600, lease=lease, sleep=virtual_time.sleep
    )
    survivor.record_lateness = True
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(survivor.run(stop))
        await virtual_time.sleep(30)
        stop.set()
        await task

    await virtual_time.run(scenario(), until=31.0)
    assert sorted(fired) == ["step0", "step1", "step2"]
    takeover = max((fired_at - due).total_seconds() for _, due, fired_at in survivor.fired_log)
    assert takeover <= 5.0, takeover  # one lease by default, room left for the pace of pages


@pytest.mark.parametrize("overlap", [1, 2])
async def test_a_long_sweep_renews_the_leases_of_the_rows_still_waiting(
    database, policy, clock, overlap
):
    core = Core(database, clock, policy)
    seen: list[tuple[str, bool]] = []  # (row fired, every row still held leased past now)
    runner = scheduling.DueWorkRunner(
        core, {}, lease=timedelta(seconds=3), chunk=1, overlap=overlap
    )

    async def slow(tx, work):
        # Every row still waiting for its turn must be ours beyond this instant, or a
        # second instance would claim it and fire it too.
        waiting = (
            await tx.session.execute(
                select(DueWork.lease_owner, DueWork.lease_until).where(
                    DueWork.status == WorkStatus.PENDING, DueWork.id != work.id
                )
            )
        ).all()
        seen.append(
            (work.key, all(owner == runner.owner and until > tx.now for owner, until in waiting))
        )
        clock.advance(timedelta(seconds=2))  # firing this row takes a while

    runner.handlers["slow"] = slow
    async with core.transaction() as tx:
        for i in range(4):
            await scheduling.schedule(tx, key=f"s{i}", kind="slow", due_at=tx.now)
    other = scheduling.DueWorkRunner(core, {}, owner="other")
    result = await runner.sweep()
    assert result.fired == 4
    # (with an overlap on PostgreSQL two chunks are in flight at once: they may finish
    # in either order)
    assert sorted(seen) == [("s0", True), ("s1", True), ("s2", True), ("s3", True)]
    if overlap == 1 or core.db.dialect == "sqlite":
        # One chunk at a time: each of s1..s3 starts 2 s after the one before, past the
        # 1 s renewal share, so the leases are renewed before each of them.
        assert runner.renewals >= 3
    else:
        # s0 and s1 start together; whichever ends first lets s2 start 2 s on, which
        # renews. Whether s3's start renews again depends on which chunk moved the
        # clock last, so only the first renewal is certain.
        assert runner.renewals >= 1
    assert await other.claim() == []  # nothing was left leased to a runner that is done


async def test_the_due_work_lease_is_a_setting_of_at_least_a_second():
    assert Settings(_env_file=None).due_work_lease == 5.0
    assert Settings(_env_file=None, due_work_lease=4).due_work_lease == 4.0
    with pytest.raises(ValidationError, match="at least 1 second"):
        Settings(_env_file=None, due_work_lease=0.5)
