"""The update journal: an update is written down on receipt and handled again if its handler died."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.chat import ChatUser, Incoming, Kind
from core.conversations import UPDATE_LEASE, ConversationStore
from core.enums import Impact
from core.models import ProcessedUpdate, Ticket
from core.unit_of_work import Core


def press(update_id: int) -> Incoming:
    return Incoming(
        update_id=update_id,
        user=ChatUser(1001, "Li", "Na", "lina", "zh-hans"),
        chat_id=1001,
        kind=Kind.CALLBACK,
        callback_id=f"cq-{update_id}",
        callback_data="d:report:confirm:ok~abc",
        message_id=77,
    )


def test_an_update_survives_the_round_trip_through_json():
    photo = Incoming(
        update_id=9,
        user=ChatUser(7),
        chat_id=-100,
        kind=Kind.PHOTO,
        chat_type="group",
        text="jammed",
        photo_file_id="AgAD",
        latitude=31.2,
        longitude=121.5,
    )
    for incoming in (press(5), photo):
        assert Incoming.from_json(incoming.to_json()) == incoming
    newer = {**press(5).to_json(), "added_later": 1}
    newer["user"] = {**newer["user"], "is_premium": True}
    assert Incoming.from_json(newer) == press(5)


async def test_a_journaled_update_left_unhandled_is_found_once_its_lease_runs_out(helpdesk, clock):
    store = ConversationStore(helpdesk.core)
    await store.journal_updates([(5, press(5).to_json())])
    await store.journal_updates(
        [(5, {"update_id": 5, "garbage": True})]
    )  # redelivered: kept as first
    assert await store.unfinished_updates() == []  # maybe still queued in a lane

    clock.advance(UPDATE_LEASE + timedelta(seconds=1))
    assert [Incoming.from_json(p) for p in await store.unfinished_updates()] == [press(5)]

    # An instance claims it; while its lease runs nobody else sees it.
    assert await store.claim_update(5)
    assert not await store.claim_update(5)
    assert await store.unfinished_updates() == []
    # Its process dies: when the lease runs out the update is offered again.
    clock.advance(UPDATE_LEASE + timedelta(seconds=1))
    assert len(await store.unfinished_updates()) == 1
    assert await store.claim_update(5)
    await store.finish_update(5)
    clock.advance(timedelta(hours=1))
    assert await store.unfinished_updates() == []
    assert not await store.claim_update(5)  # handled for good
    async with helpdesk.core.reading() as session:
        row = await session.get(ProcessedUpdate, (0, 5))
        assert row is not None and row.done_at is not None and row.payload is None


async def test_two_instances_claim_a_recovered_update_once(helpdesk, database, clock, policy):
    first = ConversationStore(helpdesk.core)
    second = ConversationStore(Core(database, clock, policy))
    for update_id in (3, 1, 2):
        await first.journal_updates([(update_id, press(update_id).to_json())])
    clock.advance(UPDATE_LEASE * 2)
    found = await second.unfinished_updates()
    assert [p["update_id"] for p in found] == [1, 2, 3]  # oldest first
    claims = [await store.claim_update(1) for store in (first, second)]
    assert sorted(claims) == [False, True]


async def test_a_report_confirmed_twice_with_one_key_opens_one_ticket(helpdesk, world):
    async def confirm(key: str) -> Ticket:
        return await helpdesk.tickets.report_fault(
            world.reporter_id,
            symptom="No network",
            impact=Impact.DEGRADED,
            asset_tag=world.asset_tag,
            request_key=key,
        )

    first = await confirm("press:cq-1")
    again = await confirm("press:cq-1")
    other = await confirm("press:cq-2")
    assert again.id == first.id and other.id != first.id
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 2


async def test_a_complaint_sent_twice_with_one_key_is_recorded_once(helpdesk, world):
    from core.models import Complaint

    async def send(key: str):
        return await helpdesk.complaints.file(
            world.reporter_id, text="Nobody came", request_key=key
        )

    first, again = await send("press:cq-7"), await send("press:cq-7")
    assert again.id == first.id
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Complaint)) == 1


async def test_a_batch_is_written_at_once_and_fills_in_a_claim_that_came_first(helpdesk, clock):
    store = ConversationStore(helpdesk.core)
    # A fast handler claimed update 2 before the batch holding it was written.
    assert await store.claim_update(2)
    await store.journal_updates(
        [(1, press(1).to_json()), (2, press(2).to_json()), (1, {"update_id": 1, "again": 1})]
    )
    async with helpdesk.core.reading() as session:
        rows = {row.update_id: row for row in await session.scalars(select(ProcessedUpdate))}
    assert rows[1].payload == press(1).to_json() and rows[2].payload == press(2).to_json()
    # Done before its batch was written: stays done, without a payload.
    await store.finish_update(2)
    await store.journal_updates([(2, press(2).to_json())])
    clock.advance(UPDATE_LEASE * 2)
    assert [p["update_id"] for p in await store.unfinished_updates()] == [1]
