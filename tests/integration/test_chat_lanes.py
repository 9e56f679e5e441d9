"""Chat lanes and versioned dialog state in the database (issue 14, point 1).

Two stores on one database stand for two instances: one chat's lane is held by one
at a time, its holder takes the chat's journaled updates oldest first whoever wrote
them down, a dead holder's lane is taken over once its short lease runs out, and a
holder that lost its lane can no longer write the chat's dialog state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.conversations import (
    UPDATE_LEASE,
    Claimed,
    ConversationStore,
    DialogState,
    Entry,
    Lane,
    LaneLost,
    StaleDialogState,
)
from core.models import ProcessedUpdate
from core.unit_of_work import Core

CHAT = 1001
OTHER_CHAT = 2002
PAST_LEASE = UPDATE_LEASE + timedelta(seconds=1)


def update(update_id: int, chat_id: int = CHAT) -> tuple[int, dict[str, Any]]:
    """A journaled update (only its chat matters to the lane)."""
    payload = {"update_id": update_id, "chat_id": chat_id, "kind": "text", "text": f"#{update_id}"}
    return update_id, payload


@pytest.fixture
def stores(helpdesk, database, clock, policy) -> tuple[ConversationStore, ConversationStore]:
    """Two instances: separate cores (and connection pools) on one database."""
    return ConversationStore(helpdesk.core), ConversationStore(Core(database, clock, policy))


async def done(store: ConversationStore) -> list[int]:
    async with store.core.reading() as session:
        rows = await session.scalars(
            select(ProcessedUpdate.update_id)
            .where(ProcessedUpdate.done_at.is_not(None))
            .order_by(ProcessedUpdate.update_id)
        )
        return list(rows)


Round = tuple[list[tuple[Lane, int | None]], asyncio.Future[None]]


def gate_renewals(store: ConversationStore, monkeypatch) -> asyncio.Queue[Round]:
    """Hold each of `store`'s renewal rounds until it is let go: each waits in the queue
    with the leases it renews and the future that lets it go once set."""
    rounds: asyncio.Queue[Round] = asyncio.Queue()
    renew = store.renew_lanes

    async def gated(holder: str, leases: list[tuple[Lane, int | None]]) -> set[Lane]:
        go = asyncio.get_running_loop().create_future()
        await rounds.put((leases, go))
        await go
        return await renew(holder, leases)

    monkeypatch.setattr(store, "renew_lanes", gated)
    return rounds


async def next_round(rounds: asyncio.Queue[Round]) -> Round:
    """A renewal round waiting to go, once the one before was taken in."""
    return await asyncio.wait_for(rounds.get(), timeout=30)


async def test_one_instance_at_a_time_holds_a_chat_until_its_lease_runs_out(stores, clock):
    first, second = stores
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None and lane.token == 1
    assert await second.take_lane(CHAT, "second") is None
    assert await second.take_lane(OTHER_CHAT, "second") is not None  # other chats run alongside

    assert await first.renew_lanes("first", [(lane, None)]) == {lane}  # still the holder
    clock.advance(UPDATE_LEASE - timedelta(seconds=1))
    assert await second.take_lane(CHAT, "second") is None

    clock.advance(PAST_LEASE)  # the first instance died: its lease ran out
    taken = await second.take_lane(CHAT, "second")
    assert taken is not None and taken.token == 2  # a new fencing token
    assert await first.renew_lanes("first", [(lane, None)]) == set()  # not renewed: lost
    with pytest.raises(LaneLost):
        await first.next_update(lane)
    await first.release_lane(lane)  # letting go of a lost lane frees nothing
    assert await first.take_lane(CHAT, "third") is None

    assert not await second.release_lane(taken)
    again = await first.take_lane(CHAT, "first")
    assert again is not None and again.token == 3


async def test_the_holder_takes_the_chats_updates_oldest_first_whoever_journaled_them(stores):
    first, second = stores
    await second.journal_updates([update(3)])
    await first.journal_updates([update(2, OTHER_CHAT), update(1)])
    await second.journal_updates([update(4)])
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    taken = []
    claimed = await first.next_update(lane)
    while isinstance(claimed, Claimed):
        taken.append(claimed.payload["text"])
        claimed = await first.next_update(lane, finished=claimed.update_id)
    assert claimed == "empty"
    assert taken == ["#1", "#3", "#4"]
    assert await done(first) == [1, 3, 4]  # the other chat's update is not this lane's
    # Nothing left: the lane was given back in the transaction that found nothing.
    assert await second.take_lane(CHAT, "second") is not None


async def test_entering_a_lane_claims_its_oldest_update_at_once(stores):
    first, second = stores
    await first.journal_updates([update(2), update(1)])
    entered = await second.enter_lane(CHAT, "second")
    assert entered is not None
    lane, claimed = entered
    assert claimed == Claimed(1, update(1)[1])
    assert await first.enter_lane(CHAT, "first") is None  # held: 2 is left to the holder
    assert await second.next_update(lane, finished=1) == Claimed(2, update(2)[1])
    assert await second.next_update(lane, finished=2) == "empty"
    # Entering a chat with nothing waiting claims nothing and holds nothing.
    assert await first.enter_lane(CHAT, "first") == (Lane(CHAT, "first", 2), "empty")
    assert await second.take_lane(CHAT, "second") is not None


async def test_an_update_left_to_the_holder_is_found_when_it_lets_go(stores):
    first, second = stores
    await first.journal_updates([update(1)])
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    claimed = await first.next_update(lane)
    assert isinstance(claimed, Claimed)
    # Meanwhile the second instance receives the chat's next update: the lane is taken,
    # so it leaves the update to the holder.
    await second.journal_updates([update(2)])
    assert await second.take_lane(CHAT, "second") is None
    assert await first.next_update(lane, finished=1) == Claimed(2, update(2)[1])
    assert await first.release_lane(lane) is True  # 2 is not finished: look again
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    assert await first.next_update(lane, finished=2) == "empty"
    assert await first.release_lane(lane) is False
    assert await done(first) == [1, 2]


async def test_an_update_another_handler_still_leases_holds_back_the_chat(stores, clock):
    first, second = stores
    await first.journal_updates([update(1), update(2)])
    assert await second.claim_update(1)  # a handler elsewhere works on it
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    assert await first.next_update(lane) == "blocked"  # 2 does not overtake 1
    assert await first.enter_lane(CHAT, "first") == (Lane(CHAT, "first", 2), "blocked")
    clock.advance(PAST_LEASE)  # that handler died: recovery hands its update on
    entered = await first.enter_lane(CHAT, "first")
    assert entered is not None and entered[1] == Claimed(1, update(1)[1])


async def test_the_lease_is_a_setting(helpdesk, clock):
    short = ConversationStore(helpdesk.core, update_lease=timedelta(seconds=3))
    assert await short.take_lane(CHAT, "first") is not None
    clock.advance(timedelta(seconds=2))
    assert await short.take_lane(CHAT, "second") is None
    clock.advance(timedelta(seconds=2))
    assert await short.take_lane(CHAT, "second") is not None
    await short.journal_updates([update(1)])
    assert await short.claim_update(1)
    clock.advance(timedelta(seconds=4))
    assert [p["update_id"] for p in await short.unfinished_updates()] == [1]


async def test_dialog_state_written_over_a_newer_version_is_refused(stores):
    first, second = stores
    await first.save(CHAT, CHAT, DialogState("report", "symptom", {"photos": []}))
    mine = await first.load(CHAT, CHAT)
    theirs = await second.load(CHAT, CHAT)
    assert mine is not None and theirs is not None and mine.version == theirs.version == 1
    theirs.data["photos"].append("photo-1")
    theirs.step = "photos"
    await second.save(CHAT, CHAT, theirs)
    assert theirs.version == 2
    mine.data["photos"].append("photo-2")
    with pytest.raises(StaleDialogState):
        await first.save(CHAT, CHAT, mine)
    kept = await first.load(CHAT, CHAT)
    assert kept is not None and kept.data["photos"] == ["photo-1"] and kept.step == "photos"
    # A dialog started anew replaces whatever was open.
    fresh = DialogState("complain", "ticket", {})
    await first.save(CHAT, CHAT, fresh)
    assert fresh.version == 3


async def test_a_holder_that_lost_its_lane_cannot_write_the_chats_dialog_state(stores, clock):
    first, second = stores
    lost = await first.take_lane(CHAT, "first")
    assert lost is not None
    clock.advance(PAST_LEASE)  # paused past its lease; the second instance takes over
    held = await second.take_lane(CHAT, "second")
    assert held is not None
    with first.holding(lost):
        with pytest.raises(LaneLost):
            await first.save(CHAT, CHAT, DialogState("report", "photos", {}))
        with pytest.raises(LaneLost):
            await first.clear(CHAT, CHAT)
    assert await first.load(CHAT, CHAT) is None
    with second.holding(held):
        await second.save(CHAT, CHAT, DialogState("report", "symptom", {}))
    state = await first.load(CHAT, CHAT)
    assert state is not None and state.step == "symptom"


async def test_the_lease_setting_reaches_the_running_bot_and_a_bad_one_is_named(database_url):
    from bot_process import run_cli

    from bot.app import build_application
    from bot.settings import Settings

    settings = Settings(_env_file=None, database_url=database_url, update_lease=4)
    app = build_application(settings)
    assert app.bot.conversations.update_lease == timedelta(seconds=4)
    assert app.lanes.renew_every == pytest.approx(4 / 3)
    await app.core.db.dispose()
    assert Settings(_env_file=None).update_lease == UPDATE_LEASE.total_seconds()

    for name, value in (("FAULTDESK_UPDATE_LEASE", "0"), ("FAULTDESK_RECOVERY_INTERVAL", "-1")):
        result = await run_cli("db", "current", "-d", database_url, settings={name: value})
        assert result.code == 2 and name in result.stderr
        assert "must be greater than 0" in result.stderr and "Traceback" not in result.output


async def test_a_slow_handler_keeps_its_chat_by_renewing_the_lease(
    helpdesk, database, clock, policy
):
    from bot.chat import ChatUser, Incoming, Kind
    from bot.lanes import ChatLanes
    from core.models import ChatLane

    lease = timedelta(seconds=0.3)  # renewed every 0.1 s of real time
    mine = ConversationStore(helpdesk.core, update_lease=lease)
    other = ConversationStore(Core(database, clock, policy), update_lease=lease)
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(incoming: Incoming, _prefetched: Any) -> None:
        started.set()
        await release.wait()

    lanes = ChatLanes(mine, "mine", slow)
    incoming = Incoming(1, ChatUser(CHAT), CHAT, Kind.TEXT, text="slow")
    await mine.journal_updates([(1, incoming.to_json())])
    running = asyncio.create_task(lanes.run(incoming))
    await asyncio.wait_for(started.wait(), timeout=30)

    async def lease_until() -> Any:
        async with mine.core.reading() as session:
            return await session.scalar(select(ChatLane.lease_until))

    renewed = asyncio.Event()
    renew = mine.renew_lanes

    async def noted(*args: Any) -> set[Lane]:
        held = await renew(*args)
        renewed.set()
        return held

    mine.renew_lanes = noted  # type: ignore[method-assign]
    for _ in range(4):  # four times past where an unrenewed lease would have run out
        clock.advance(lease)
        for _ in range(2):  # the second renewal surely began after the clock moved
            renewed.clear()
            await asyncio.wait_for(renewed.wait(), timeout=30)
        assert await lease_until() > clock.now()
        assert await other.take_lane(CHAT, "other") is None
        assert await other.unfinished_updates() == []  # the update's own lease is renewed too
    release.set()
    await asyncio.wait_for(running, timeout=30)
    assert await done(mine) == [1]
    assert await other.take_lane(CHAT, "other") is not None  # given back when done


async def test_updates_left_unhandled_by_the_version_before_find_their_chats_lane(
    tmp_path, clock, policy
):
    import json
    import sqlite3
    from contextlib import closing

    from core.db import Database
    from core.migrate import upgrade

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url, "0007_contract")
    with closing(sqlite3.connect(path)) as db, db:
        for update_id, payload in (update(5), update(6, OTHER_CHAT)):
            db.execute(
                "INSERT INTO processed_update (bot_id, update_id, received_at, payload)"
                " VALUES (0, ?, '2026-03-02 01:00:00.000000', ?)",
                (update_id, json.dumps(payload)),
            )
        db.execute(
            "INSERT INTO processed_update (bot_id, update_id, received_at, done_at)"
            " VALUES (0, 4, '2026-03-02 01:00:00.000000', '2026-03-02 01:00:01.000000')"
        )

    upgrade(url, "0008_lanes")

    database = Database(url)
    try:
        store = ConversationStore(Core(database, clock, policy))
        entered = await store.enter_lane(CHAT, "new")
        assert entered is not None and entered[1] == Claimed(5, update(5)[1])
        entered = await store.enter_lane(OTHER_CHAT, "new")
        assert entered is not None and entered[1] == Claimed(6, update(6, OTHER_CHAT)[1])
    finally:
        await database.dispose()


async def test_the_journal_enters_the_lanes_of_its_updates_chats_in_its_own_transaction(stores):
    first, second = stores
    entered = await first.journal_updates(
        [update(1), update(2, OTHER_CHAT)], enter=Entry((CHAT, OTHER_CHAT), "first")
    )
    assert set(entered) == {CHAT, OTHER_CHAT}
    here = entered[CHAT]
    assert here is not None
    lane, claimed = here
    assert isinstance(claimed, Claimed) and claimed.update_id == 1
    other = entered[OTHER_CHAT]
    assert other is not None and isinstance(other[1], Claimed) and other[1].update_id == 2

    # Another instance journals the chat's next update while the lane is held: it is
    # written down all the same, and left to the holder.
    assert await second.journal_updates([update(3)], enter=Entry((CHAT,), "second")) == {CHAT: None}
    claimed = await first.next_update(lane, finished=1)
    assert isinstance(claimed, Claimed) and claimed.update_id == 3
    assert await first.next_update(lane, finished=3) == "empty"
    assert await first.next_update(other[0], finished=2) == "empty"
    assert await done(first) == [1, 2, 3]

    # The lane was given back with nothing waiting: the next journal entering it takes it.
    entered = await second.journal_updates([update(4)], enter=Entry((CHAT,), "second"))
    taken = entered[CHAT]
    assert taken is not None and taken[0].holder == "second" and taken[0].token == 2
    assert isinstance(taken[1], Claimed) and taken[1].update_id == 4


async def test_a_holder_running_its_lane_keeps_it_however_late_its_lease_reads(stores, clock):
    first, second = stores
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    clock.advance(timedelta(hours=1))  # the clock jumped ahead while its handler ran
    assert await first.take_lane(CHAT, "first", running=True) is None
    assert await first.enter_lane(CHAT, "first", running=True) is None
    running = Entry((CHAT,), "first", running=frozenset({CHAT}))
    assert await first.journal_updates([update(1)], enter=running) == {CHAT: None}
    assert await first.next_update(lane) == Claimed(1, update(1)[1])  # still its holder
    assert await first.next_update(lane, finished=1) == "empty"

    # A lane of its own it no longer runs (left behind by a failure) is taken back;
    # another instance takes over a lane whose lease ran out, running or not.
    left = await first.take_lane(CHAT, "first")
    assert left is not None
    clock.advance(PAST_LEASE)
    again = await first.take_lane(CHAT, "first")
    assert again is not None and again.token == left.token + 1
    clock.advance(PAST_LEASE)
    taken = await second.take_lane(CHAT, "second", running=True)
    assert taken is not None and taken.token == again.token + 1


async def test_a_clock_jump_while_a_handler_runs_hands_no_update_to_a_second_handler(
    helpdesk, clock, caplog
):
    from bot.chat import ChatUser, Incoming, Kind
    from bot.lanes import ChatLanes

    store = ConversationStore(helpdesk.core)
    release, started = asyncio.Event(), asyncio.Event()
    handled: list[int] = []

    async def slow(incoming: Incoming, _prefetched: Any) -> None:
        handled.append(incoming.update_id)
        started.set()
        await release.wait()

    lanes = ChatLanes(store, "mine", slow)
    first, second = (
        Incoming(update_id, ChatUser(CHAT), CHAT, Kind.TEXT, text=f"#{update_id}")
        for update_id in (1, 2)
    )
    entered = await store.journal_updates([(1, first.to_json())], enter=lanes.entry([CHAT]))
    running = asyncio.create_task(lanes.run_entered(entered[CHAT]))
    await asyncio.wait_for(started.wait(), timeout=30)

    # A test (or the demo) moves the clock an hour on while the handler runs: the
    # lane's and the update's leases read as run out, but this process still runs them.
    clock.advance(timedelta(hours=1))
    entered = await store.journal_updates([(2, second.to_json())], enter=lanes.entry([CHAT]))
    assert entered == {CHAT: None}  # left to the running holder, not taken from it
    assert [p["update_id"] for p in await store.unfinished_updates()] == [1]
    await lanes.run(first)  # recovery hands the late update on: the holder has it
    await lanes.run(second)
    assert handled == [1]

    release.set()
    await asyncio.wait_for(running, timeout=30)
    assert handled == [1, 2]  # each once, in order, by the one holder
    assert await done(store) == [1, 2]
    assert "taken over" not in caplog.text


async def test_lanes_entered_with_the_journal_are_renewed_while_their_updates_wait(
    stores, clock, monkeypatch, caplog
):
    """In a burst an update waits its turn here for longer than a lease after its chat's
    lane was entered with the journal: the lanes kept so are renewed together, and one
    taken over meanwhile (this process stalled past its lease) is given up, not run."""
    from bot.chat import ChatUser, Incoming, Kind
    from bot.lanes import ChatLanes

    first, second = stores
    handled: list[int] = []

    async def handle(incoming: Incoming, _prefetched: Any) -> None:
        handled.append(incoming.update_id)

    monkeypatch.setattr(ChatLanes, "renew_every", 0.001)  # rounds gated below, not timed
    lanes = ChatLanes(first, "first", handle)
    rounds = gate_renewals(first, monkeypatch)

    mine, theirs = (
        Incoming(update_id, ChatUser(chat), chat, Kind.TEXT, text="x")
        for update_id, chat in ((1, CHAT), (2, OTHER_CHAT))
    )
    entered = await first.journal_updates(
        [(1, mine.to_json()), (2, theirs.to_json())], enter=lanes.entry([CHAT, OTHER_CHAT])
    )
    for incoming in (mine, theirs):
        lanes.keep(incoming.update_id, entered[incoming.chat_id])
    assert lanes.kept(1) and lanes.kept(2)

    _, waiting = await next_round(rounds)
    clock.advance(UPDATE_LEASE - timedelta(seconds=1))
    waiting.set_result(None)
    _, waiting = await next_round(rounds)
    clock.advance(timedelta(seconds=2))  # past the leases as entered, within the renewed ones
    assert await second.take_lane(CHAT, "second") is None
    assert await second.take_lane(OTHER_CHAT, "second") is None
    assert await second.unfinished_updates() == []  # the claimed updates' leases renewed too

    clock.advance(PAST_LEASE)  # no round for a lease: another instance takes a chat over
    assert await second.take_lane(OTHER_CHAT, "second") is not None
    waiting.set_result(None)
    await next_round(rounds)
    assert "lost the lane of chat 2002 before handling it" in caplog.text

    await lanes.run(mine)
    await lanes.run(theirs)  # left to the instance that took the chat over
    assert handled == [1]
    assert await done(first) == [1]
    assert not lanes.kept(1) and not lanes.kept(2)
    await lanes.close()


async def test_a_lane_taken_over_while_its_handler_runs_is_renewed_no_more(
    stores, clock, monkeypatch, caplog
):
    """The running lanes are renewed with the kept ones, a round for all; one found taken
    over (this process stalled past its lease) drops out of the rounds, and its finish
    learns the lane is lost (the update, handled to the end, is recorded finished)."""
    from bot.chat import ChatUser, Incoming, Kind
    from bot.lanes import ChatLanes

    first, second = stores
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(incoming: Incoming, _prefetched: Any) -> None:
        started.set()
        await release.wait()

    monkeypatch.setattr(ChatLanes, "renew_every", 0.001)  # rounds gated below, not timed
    lanes = ChatLanes(first, "first", slow)
    rounds = gate_renewals(first, monkeypatch)
    incoming = Incoming(1, ChatUser(CHAT), CHAT, Kind.TEXT, text="slow")
    await first.journal_updates([(1, incoming.to_json())])
    running = asyncio.create_task(lanes.run(incoming))
    await asyncio.wait_for(started.wait(), timeout=30)

    leases, go = await next_round(rounds)
    assert [(lane.chat_id, update_id) for lane, update_id in leases] == [(CHAT, 1)]
    clock.advance(UPDATE_LEASE - timedelta(seconds=1))
    go.set_result(None)
    leases, go = await next_round(rounds)
    clock.advance(timedelta(seconds=2))  # past the lease as taken, within the renewed one
    assert await second.take_lane(CHAT, "second") is None

    clock.advance(PAST_LEASE)  # no round for a lease: another instance takes the chat over
    assert await second.take_lane(CHAT, "second") is not None
    go.set_result(None)
    keeper = lanes._keeper
    assert keeper is not None
    await asyncio.wait_for(keeper, timeout=30)  # nothing left to renew: the rounds end
    assert rounds.empty()
    assert "lost the lane of chat 1001 while handling it" in caplog.text

    release.set()
    await asyncio.wait_for(running, timeout=30)
    assert "was taken over by another instance mid-way" in caplog.text
    assert await done(first) == [1]  # its handler ran to the end: recorded all the same
