"""Three `faultdesk run` processes on one PostgreSQL behind a round-robin balancer (issue 14).

The instances run both runtimes (aiogram, python-telegram-bot, aiogram), each update goes
to the next instance, and faults are real: SIGKILL of a process, PostgreSQL stopped in
immediate mode and started again. Every message is counted where the people read it, at
the emulator. The world (its own PostgreSQL server, three processes) is started once for
the module; each test begins with every instance up. The restart runs on a world of its
own: a wave of its own policy must not meet the kill's tickets falling due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fleet_world import albums_keep_every_photo, assert_exactly_once_and_on_time

from benchmarks.fleet import (
    ThrowawayPostgres,
    World,
    create_database,
    kill_mid_wave,
    restart_postgres_mid_wave,
    running_world,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

RUNTIMES = ("aiogram", "ptb", "aiogram")


async def three_instances(folder: Path) -> AsyncIterator[World]:
    """Three instances on a PostgreSQL server of their own (a test may stop and start it)."""
    postgres = ThrowawayPostgres()
    await postgres.start()
    try:
        database_url = await create_database(postgres.url, "faultdesk")
        async with running_world(folder, database_url, RUNTIMES, postgres) as world:
            yield world
    finally:
        await postgres.remove()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def three(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """The module's world, started once."""
    async for world in three_instances(tmp_path_factory.mktemp("three-instances")):
        yield world


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """A world of the test's own, with nothing of an earlier test's waves in it."""
    async for world in three_instances(tmp_path_factory.mktemp("three-fresh")):
        yield world


@pytest_asyncio.fixture(loop_scope="module")
async def world(three: World) -> World:
    """The module's world with every instance up."""
    await three.heal()
    return three


# The wave runs first, on a fresh world: the albums' tickets would otherwise fall due
# under the wave's 15 s policy in the middle of it.
async def test_kill_9_of_the_instance_sending_a_wave_loses_and_repeats_nothing(world):
    outcome = await kill_mid_wave(world, tickets=16)
    assert_exactly_once_and_on_time(world, outcome)


async def test_a_postgresql_restart_mid_wave_delivers_every_page_exactly_once_and_on_time(fresh):
    outcome = await restart_postgres_mid_wave(fresh, tickets=16)
    assert_exactly_once_and_on_time(fresh, outcome)


async def test_albums_sent_through_three_instances_keep_every_photo(world):
    await albums_keep_every_photo(world, reporters=3)
