"""The runtime's queue says whether every update queued would run at once.

The app enters a chat's lane in the journal's transaction only then: a lane entered
for an update that waits its turn is not renewed, and past its lease it would be taken
over and its handler refused mid-way.
"""

from __future__ import annotations

import asyncio

from bot.chat import ChatUser, Incoming, Kind
from bot.runtimes import UpdateLanes


def text(update_id: int, chat_id: int) -> Incoming:
    return Incoming(update_id, ChatUser(chat_id), chat_id, Kind.TEXT, text="x")


async def test_room_while_every_queued_update_has_a_slot():
    release, two_running = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    async def handle(incoming: Incoming) -> None:
        started.append(incoming.update_id)
        if len(started) == 2:
            two_running.set()
        await release.wait()

    lanes = UpdateLanes(handle, concurrency=2)
    assert lanes.has_room(2) and not lanes.has_room(3)
    lanes.submit(text(1, 10))
    assert lanes.has_room(1) and not lanes.has_room(2)
    lanes.submit(text(2, 20))
    assert lanes.has_room() and not lanes.has_room(1)
    lanes.submit(text(3, 30))  # waits for a slot
    assert not lanes.has_room()
    await asyncio.wait_for(two_running.wait(), timeout=30)
    assert started == [1, 2]
    release.set()
    await lanes.drain(30)
    assert started == [1, 2, 3] and lanes.has_room(2)
