"""Two `faultdesk run` processes on one SQLite file behind a round-robin balancer (issue 14).

One on aiogram, one on python-telegram-bot, each update going to the next one: albums
keep every photo and a `kill -9` mid-wave loses and repeats nothing, counted at the
emulator.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fleet_world import albums_keep_every_photo, assert_exactly_once_and_on_time

from benchmarks.fleet import (
    World,
    kill_mid_wave,
    running_world,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

RUNTIMES = ("aiogram", "ptb")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def two(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> AsyncIterator[World]:
    """Two instances on one SQLite file."""
    folder = tmp_path_factory.mktemp("two-instances")
    path = folder / "faultdesk.sqlite3"
    shutil.copy(sqlite_template, path)
    async with running_world(folder, f"sqlite:///{path}", RUNTIMES, None) as world:
        yield world


@pytest_asyncio.fixture(loop_scope="module")
async def world(two: World) -> World:
    """The module's world with both instances up."""
    await two.heal()
    return two


# The wave runs first, on a fresh world: the albums' tickets would otherwise fall due
# under the wave's 15 s policy in the middle of it.
async def test_kill_9_of_one_of_two_processes_on_sqlite_loses_and_repeats_nothing(world):
    outcome = await kill_mid_wave(world, tickets=12, pause_others=False)
    assert_exactly_once_and_on_time(world, outcome)


async def test_albums_sent_through_two_processes_on_sqlite_keep_every_photo(world):
    await albums_keep_every_photo(world, reporters=2)
