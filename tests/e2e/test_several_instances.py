"""Three `faultdesk run` processes on one PostgreSQL behind a round-robin balancer (issue 14).

The instances run both runtimes (aiogram, python-telegram-bot, aiogram), each update goes
to the next instance, and faults are real: SIGKILL of a process. (A PostgreSQL restart
mid-wave still repeats some pages under load: `benchmarks.fault_bench` counts them.) Every message is counted where the people read it, at the emulator.
The world (its own PostgreSQL server, three processes) is started once for the module;
each test begins with every instance up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from fleet_world import albums_keep_every_photo, assert_exactly_once_and_on_time

from benchmarks.fleet import (
    ThrowawayPostgres,
    World,
    create_database,
    kill_mid_wave,
    running_world,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

RUNTIMES = ("aiogram", "ptb", "aiogram")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def three(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """Three instances on a PostgreSQL server of their own (the tests stop and start it)."""
    folder = tmp_path_factory.mktemp("three-instances")
    postgres = ThrowawayPostgres()
    await postgres.start()
    try:
        database_url = await create_database(postgres.url, "faultdesk")
        async with running_world(folder, database_url, RUNTIMES, postgres) as world:
            yield world
    finally:
        await postgres.remove()


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


async def test_albums_sent_through_three_instances_keep_every_photo(world):
    await albums_keep_every_photo(world, reporters=3)
