"""The outbox on every backend: leases, retries, failures that alert admins, and page repeats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from core import outbox
from core.db import Database
from core.enums import Impact, OutboxStatus, Role, TicketStatus
from core.messages import DeliveryFailed, Message, SurveyQuestion
from core.models import AuditEvent, DueWork, OutboxLane, OutboxMessage, Page, Person, Ticket
from core.pages import MAX_PAGE_REPEATS, PAGE_REPEAT
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")
LEASE = timedelta(seconds=60)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@dataclass(frozen=True, kw_only=True)
class Plain(Message):
    """A message with nothing to say but that it exists."""

    kind: ClassVar[str] = "test.plain"


@dataclass(frozen=True, kw_only=True)
class MonthNote(Message):
    """A message about a month."""

    kind: ClassVar[str] = "test.month"
    month: str


# Stand-ins for a question to staff and an admin alert, with just enough in them.
QUESTION = SurveyQuestion(round_id=1, period="2026-H1", closes_at=local(15, 18))
ALERT = DeliveryFailed(
    failed_id=1,
    code="test.plain",
    recipient_id=None,
    recipient_name=None,
    chat_id=42,
    ticket_id=None,
    error="blocked",
)


async def queue(core: Core, key: str, message: Message | None = None, **fields) -> None:
    fields.setdefault("chat_id", 42)
    async with core.transaction() as tx:
        await outbox.enqueue(tx, message or Plain(), key=key, **fields)


async def row(core: Core, key: str) -> OutboxMessage:
    async with core.reading() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert found is not None
        return found


async def rows(core: Core, code: str | None = None) -> list[OutboxMessage]:
    async with core.reading() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if code is not None:
            query = query.where(OutboxMessage.code == code)
        return list(await session.scalars(query))


async def audit_actions(core: Core, action: str) -> list[AuditEvent]:
    async with core.reading() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


# --- leases ---------------------------------------------------------------------------------


async def test_a_claim_leases_the_most_urgent_rows_and_nobody_else_gets_them(helpdesk, clock):
    core = helpdesk.core
    await queue(core, "notice")
    await queue(core, "report", priority=outbox.PRIORITY_REPORT)
    await queue(core, "page", priority=outbox.PRIORITY_PAGE)
    await queue(core, "later", available_at=clock.now() + timedelta(minutes=5))

    claimed = await outbox.claim(core, owner="a", limit=10, lease=LEASE)

    assert [d.key for d in claimed] == ["page", "notice", "report"]
    assert [d.priority for d in claimed] == [1, 5, 8] and {d.attempts for d in claimed} == {1}
    assert await outbox.claim(core, owner="b", limit=10, lease=LEASE) == []
    leased = await row(core, "page")
    assert (leased.lease_owner, leased.lease_until) == ("a", clock.now() + LEASE)


async def test_rows_of_a_sender_that_died_are_taken_over_when_the_lease_runs_out(helpdesk, clock):
    core = helpdesk.core
    await queue(core, "n1")
    await outbox.claim(core, owner="died", limit=10, lease=LEASE)

    assert await outbox.next_available(core) == clock.now() + LEASE
    clock.advance(LEASE + timedelta(seconds=1))
    taken = await outbox.claim(core, owner="new", limit=10, lease=LEASE)

    assert [d.key for d in taken] == ["n1"] and taken[0].attempts == 2
    assert not await outbox.mark_sent(core, taken[0].id, owner="died", message_id=1)
    assert await outbox.mark_sent(core, taken[0].id, owner="new", message_id=7)
    sent = await row(core, "n1")
    assert (sent.status, sent.message_id, sent.sent_at) == (OutboxStatus.SENT, 7, clock.now())


async def test_a_claim_never_takes_back_rows_the_claimer_holds_even_with_their_lease_out(
    helpdesk, clock
):
    core = helpdesk.core
    for chat, key in enumerate(("held", "sent", "new")):
        await queue(core, key, chat_id=50 + chat)  # three chats: "me" takes "new"'s only
    first = await outbox.claim(core, owner="me", limit=2, lease=LEASE)
    ids = {d.key: d.id for d in first}
    await outbox.mark_sent(core, ids["sent"], owner="me", message_id=1)
    clock.advance(LEASE + timedelta(seconds=1))  # a clock jump: our own lease ran out

    again = await outbox.claim(core, owner="me", limit=10, lease=LEASE, holding=list(ids.values()))

    assert [d.key for d in again] == ["new"]
    held = await row(core, "held")
    assert (held.attempts, held.lease_until) == (1, clock.now() - timedelta(seconds=1))
    assert [d.key for d in await outbox.claim(core, owner="other", limit=10, lease=LEASE)] == [
        "held"
    ]  # anyone else may take it: that lease is for the holder's heartbeat to renew


async def test_a_lease_is_over_at_the_instant_it_runs_out_for_claims_as_for_next_available(
    helpdesk, clock
):
    core = helpdesk.core
    await queue(core, "n1")
    await outbox.claim(core, owner="died", limit=10, lease=LEASE)
    clock.advance(LEASE)  # exactly: a sender told "due now" must find the row claimable

    next_at = await outbox.next_available(core)
    assert next_at is not None and next_at <= clock.now()  # due: a sender does not sleep
    assert [d.key for d in await outbox.claim(core, owner="new", limit=10, lease=LEASE)] == ["n1"]


async def test_two_instances_claiming_at_once_never_share_a_row(helpdesk, database_url):
    core = helpdesk.core
    for i in range(200):
        await queue(core, f"n{i}", chat_id=1000 + i % 50)  # a chat has one sender at a time
    other_db = Database(database_url)
    other = Core(other_db, core.clock, core.policy)
    got: dict[str, list[int]] = {"a": [], "b": []}
    # Both first claims run at once, then each drains as fast as it can. Without the
    # barrier a busy machine may let one instance claim everything while the other
    # waits for SQLite's write lock, and "both got rows" would be luck.
    both_claimed = asyncio.Barrier(2)

    async def drain(instance: Core, owner: str) -> None:
        while claimed := await outbox.claim(instance, owner=owner, limit=7, lease=LEASE):
            got[owner].extend(d.id for d in claimed)
            if len(got[owner]) == len(claimed):
                await both_claimed.wait()
            await asyncio.sleep(0)

    try:
        await asyncio.gather(drain(core, "a"), drain(other, "b"))
    finally:
        await other_db.dispose()
    everything = got["a"] + got["b"]
    assert len(everything) == len(set(everything)) == 200
    assert got["a"] and got["b"]


async def test_leases_are_extended_only_for_rows_still_ours_and_unsent(helpdesk, clock):
    core = helpdesk.core
    for key in ("a", "b", "c"):
        await queue(core, key)
    mine = await outbox.claim(core, owner="me", limit=3, lease=LEASE)
    ids = {d.key: d.id for d in mine}
    await outbox.mark_sent(core, ids["a"], owner="me", message_id=1)
    async with core.transaction() as tx:  # "c" was taken over after a long stall
        await tx.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == ids["c"]).values(lease_owner="other")
        )
    clock.advance(timedelta(seconds=30))

    kept = await outbox.extend_leases(core, list(ids.values()), owner="me", lease=LEASE)

    assert kept == {ids["b"]}
    assert (await row(core, "b")).lease_until == clock.now() + LEASE


async def test_rows_handed_back_keep_their_progress_and_lose_no_attempt(helpdesk, clock):
    core = helpdesk.core
    await queue(core, "r1", MonthNote(month="2026-02"))
    await queue(core, "r2")
    claimed = await outbox.claim(core, owner="me", limit=5, lease=LEASE)

    released = await outbox.release(
        core,
        {claimed[0].id: 2, claimed[1].id: 0},
        owner="me",
        at=clock.now() + timedelta(seconds=5),
    )

    assert released == 2
    first = await row(core, "r1")
    assert first.attempts == 0 and first.lease_owner is None
    assert first.params == {"month": "2026-02", "_parts_sent": 2}
    assert first.available_at == clock.now() + timedelta(seconds=5)
    clock.advance(timedelta(seconds=5))
    again = await outbox.claim(core, owner="me", limit=5, lease=LEASE)
    assert [(d.parts_sent, d.params) for d in again] == [(2, {"month": "2026-02"}), (0, {})]


async def test_a_retry_waits_and_keeps_the_error(helpdesk, clock):
    core = helpdesk.core
    await queue(core, "n1")
    (claimed,) = await outbox.claim(core, owner="me", limit=5, lease=LEASE)

    assert not await outbox.mark_retry(
        core, claimed.id, owner="someone else", after=timedelta(seconds=9), error="x"
    )
    assert await outbox.mark_retry(
        core, claimed.id, owner="me", after=timedelta(seconds=9), error="retry after 9 s"
    )

    retried = await row(core, "n1")
    assert retried.available_at == clock.now() + timedelta(seconds=9)
    assert (retried.last_error, retried.lease_owner) == ("retry after 9 s", None)
    assert await outbox.claim(core, owner="me", limit=5, lease=LEASE) == []
    assert await outbox.next_available(core) == clock.now() + timedelta(seconds=9)


# --- permanent failures -----------------------------------------------------------------


async def test_a_failed_row_alerts_each_active_admin_once(helpdesk, world):
    core = helpdesk.core
    people = helpdesk.people
    ada = await people.create_person(name="Ada", role=Role.ADMIN, telegram_user_id=9001)
    bob = await people.create_person(name="Bob", role=Role.ADMIN, telegram_user_id=9002)
    gone = await people.create_person(name="Gone", role=Role.ADMIN, telegram_user_id=9003)
    async with core.transaction() as tx:
        await tx.session.execute(update(Person).where(Person.id == gone.id).values(active=False))
    await queue(core, "n1", QUESTION, chat_id=None, recipient_id=world.reporter_id)
    (claimed,) = await outbox.claim(core, owner="me", limit=5, lease=LEASE)

    assert await outbox.mark_failed(
        core, claimed.id, owner="me", error="Forbidden: bot was blocked by the user"
    )
    # Failed again later (say, after a manual retry): still one alert per admin.
    async with core.transaction() as tx:
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id)
            .values(status=OutboxStatus.PENDING, lease_owner="me")
        )
    await outbox.mark_failed(core, claimed.id, owner="me", error="blocked again")

    alerts = await rows(core, outbox.DELIVERY_FAILED)
    assert sorted(a.recipient_id for a in alerts) == sorted([ada.id, bob.id])
    assert alerts[0].params == {
        "failed_id": claimed.id,
        "code": "survey.question",
        "recipient_id": world.reporter_id,
        "recipient_name": "Li Na",
        "chat_id": 1001,
        "ticket_id": None,
        "error": "Forbidden: bot was blocked by the user",
    }
    assert len(await audit_actions(core, "outbox.failed")) == 2


async def test_failing_without_the_lease_changes_nothing(helpdesk):
    core = helpdesk.core
    await helpdesk.people.create_person(name="Ada", role=Role.ADMIN, telegram_user_id=9001)
    await queue(core, "n1")
    (claimed,) = await outbox.claim(core, owner="me", limit=5, lease=LEASE)

    assert not await outbox.mark_failed(core, claimed.id, owner="not me", error="blocked")
    assert (await row(core, "n1")).status is OutboxStatus.PENDING
    assert await rows(core, outbox.DELIVERY_FAILED) == []


async def test_a_failed_alert_does_not_alert_again(helpdesk):
    core = helpdesk.core
    await helpdesk.people.create_person(name="Ada", role=Role.ADMIN, telegram_user_id=9001)
    await queue(core, "alert", ALERT)
    (claimed,) = await outbox.claim(core, owner="me", limit=5, lease=LEASE)

    await outbox.mark_failed(core, claimed.id, owner="me", error="blocked")

    assert [r.key for r in await rows(core)] == ["alert"]


# --- page repeats -----------------------------------------------------------------------


async def missed_arrival(helpdesk, world, clock) -> Ticket:
    """A ticket whose arrival deadline (11:00) has just been missed and paged."""
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Printer jams",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 11))
    await helpdesk.runner().sweep()
    return ticket


async def page_of(core: Core, recipient_id: int) -> Page:
    async with core.reading() as session:
        page = await session.scalar(
            select(Page).where(Page.recipient_id == recipient_id).order_by(Page.id).limit(1)
        )
        assert page is not None
        return page


async def messages_of(core: Core, page_id: int) -> list[OutboxMessage]:
    async with core.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.page_id == page_id)
                .order_by(OutboxMessage.id)
            )
        )


async def test_an_unacknowledged_page_is_sent_again_every_interval(helpdesk, world, clock):
    await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    page = await page_of(core, world.engineer_id)
    (original,) = await messages_of(core, page.id)
    runner = helpdesk.runner()

    clock.set(local(2, 11, 14))
    await runner.sweep()
    assert len(await messages_of(core, page.id)) == 1  # not yet: every 15 minutes
    clock.set(local(2, 11, 15))
    await runner.sweep()
    await runner.sweep()
    clock.set(local(2, 11, 30))
    await runner.sweep()

    first, second, third = await messages_of(core, page.id)
    assert first.id == original.id
    assert [m.key for m in (second, third)] == [
        f"page-repeat:{page.id}:1",
        f"page-repeat:{page.id}:2",
    ]
    for repeat, message in ((1, second), (2, third)):
        assert message.code == original.code == "sla.page"
        assert message.params == {**original.params, "repeat": repeat}
        assert message.recipient_id == world.engineer_id
        assert message.priority == outbox.PRIORITY_PAGE
    async with core.reading() as session:
        assert (await session.get(Page, page.id)).repeats == 2


async def test_acknowledging_a_page_stops_its_repeats_and_only_its_own(helpdesk, world, clock):
    await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    engineers_page = await page_of(core, world.engineer_id)
    backups_page = await page_of(core, world.backup_id)
    runner = helpdesk.runner()
    clock.set(local(2, 11, 15))
    await runner.sweep()

    clock.set(local(2, 11, 20))
    await helpdesk.tickets.acknowledge_page(engineers_page.id, actor_id=world.engineer_id)
    for minute in (30, 45):
        clock.set(local(2, 11, minute))
        await runner.sweep()

    assert len(await messages_of(core, engineers_page.id)) == 2  # the page and repeat 1
    assert len(await messages_of(core, backups_page.id)) == 4  # the page and repeats 1-3


async def test_repeats_stop_when_the_engineer_arrives_and_the_audit_log_says_why(
    helpdesk, world, clock
):
    ticket = await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    page = await page_of(core, world.engineer_id)
    clock.set(local(2, 11, 10))
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 12, 0))
    await helpdesk.runner().sweep()

    assert len(await messages_of(core, page.id)) == 1
    stops = [e for e in await audit_actions(core, "page.repeats_stopped") if e.entity_id == page.id]
    assert [e.data for e in stops] == [{"reason": "clock_stopped", "repeats": 0}]


async def test_repeats_stop_once_the_ticket_is_no_longer_open(helpdesk, world, clock):
    ticket = await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    page = await page_of(core, world.engineer_id)
    async with core.transaction() as tx:  # however it got there
        await tx.session.execute(
            update(Ticket).where(Ticket.id == ticket.id).values(status=TicketStatus.CLOSED)
        )
    clock.set(local(2, 11, 15))
    await helpdesk.runner().sweep()

    assert len(await messages_of(core, page.id)) == 1
    reasons = [e.data["reason"] for e in await audit_actions(core, "page.repeats_stopped")]
    assert set(reasons) == {"ticket_closed"}


async def test_repeats_stop_after_the_cap_and_the_audit_log_notes_it(helpdesk, world, clock):
    await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    page = await page_of(core, world.dispatcher_id)
    runner = helpdesk.runner()
    for step in range(1, MAX_PAGE_REPEATS + 4):
        clock.set(local(2, 11) + step * core.policy.page_repeat_interval)
        await runner.sweep()

    repeats = [m.params.get("repeat") for m in await messages_of(core, page.id)]
    assert repeats == [None, *range(1, MAX_PAGE_REPEATS + 1)]
    stops = [e for e in await audit_actions(core, "page.repeats_stopped") if e.entity_id == page.id]
    assert [e.data for e in stops] == [{"reason": "cap", "repeats": MAX_PAGE_REPEATS}]
    async with core.reading() as session:
        pending = await session.scalars(
            select(DueWork).where(DueWork.kind == PAGE_REPEAT, DueWork.status == "pending")
        )
        assert [w for w in pending if w.payload["page_id"] == page.id] == []


async def test_each_repeat_is_queued_once_however_many_runners_sweep(helpdesk, world, clock):
    await missed_arrival(helpdesk, world, clock)
    core = helpdesk.core
    page = await page_of(core, world.engineer_id)
    clock.set(local(2, 11, 15))

    await asyncio.gather(*(helpdesk.runner().sweep() for _ in range(3)))
    await helpdesk.runner().sweep()

    assert [m.params.get("repeat") for m in await messages_of(core, page.id)] == [None, 1]


async def test_manager_alerts_repeat_too(helpdesk, world, clock):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Fan noise", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    runner = helpdesk.runner()
    clock.set(local(2, 12, 7))
    await runner.sweep()
    alert = next(
        m for m in await rows(helpdesk.core, "sla.manager_alert") if m.params["clock"] == "arrival"
    )
    clock.set(local(2, 12, 22))
    await runner.sweep()

    assert [m.params.get("repeat") for m in await messages_of(helpdesk.core, alert.page_id)] == [
        None,
        1,
    ]


async def test_two_instances_claiming_one_chat_at_once_never_both_get_it(helpdesk, database_url):
    """The chat lease holds under a race: of two claims at one instant, one gets the chat."""
    core = helpdesk.core
    for i in range(20):
        await queue(core, f"n{i}", chat_id=31)
    other_db = Database(database_url)
    other = Core(other_db, core.clock, core.policy)
    try:
        a, b = await asyncio.gather(
            outbox.claim(core, owner="a", limit=5, lease=LEASE),
            outbox.claim(other, owner="b", limit=5, lease=LEASE),
        )
    finally:
        await other_db.dispose()
    assert sorted((len(a), len(b))) == [0, 5]
    winner = "a" if a else "b"
    async with core.reading() as session:
        lane = await session.get(OutboxLane, 31)
    assert lane is not None and lane.owner == winner


# --- a database server that restarted: leases that ran out meanwhile ------------------------


def server_up_for(monkeypatch, clock, seconds: float) -> None:
    """Make the database server look as if it started `seconds` ago on the injected clock."""
    started = clock.now() - timedelta(seconds=seconds)

    async def up_for(session) -> timedelta:
        return clock.now() - started

    monkeypatch.setattr(outbox, "database_up_for", up_for)


HELD = timedelta(seconds=10)  # the lease in the restart tests
Restarted = Callable[..., Awaitable[outbox.Delivery]]


@pytest.fixture
def restarted(helpdesk, clock, monkeypatch) -> Restarted:
    """`await restarted(holder, up_for=s, key=..., **fields)`: a row queued to chat 1 and
    claimed by `holder` for HELD; then the server was away 12 s (nobody could renew) and
    has been up `up_for` seconds. Returns the holder's claim."""

    async def restart(
        holder: str, *, up_for: float, key: str = "held", **fields
    ) -> outbox.Delivery:
        await queue(helpdesk.core, key, chat_id=1, **fields)
        [held] = await outbox.claim(helpdesk.core, owner=holder, limit=5, lease=HELD)
        clock.advance(timedelta(seconds=12))
        server_up_for(monkeypatch, clock, up_for)
        return held

    return restart


async def test_after_a_restart_a_row_whose_lease_ran_out_stays_with_its_holder_for_a_grace(
    helpdesk, clock, restarted
):
    core = helpdesk.core
    held = await restarted("holder", up_for=2)
    await queue(core, "new", chat_id=2)

    # A row never leased is claimed at once; the holder's is left to it for a lease.
    [new] = await outbox.claim(core, owner="rival", limit=5, lease=HELD)
    assert new.key == "new"
    assert await outbox.mark_sent(core, new.id, owner="rival", message_id=2, token=new.token)
    assert await outbox.next_available(core, "rival", restart_grace=HELD) == (
        clock.now() + timedelta(seconds=8)
    )
    clock.advance(timedelta(seconds=7))
    assert await outbox.claim(core, owner="rival", limit=5, lease=HELD) == []
    # The holder is alive: it records what it sent before the outage, under its claim.
    assert await outbox.mark_sent(core, held.id, owner="holder", message_id=3, token=held.token)
    clock.advance(timedelta(seconds=5))
    assert await outbox.claim(core, owner="rival", limit=5, lease=HELD) == []
    assert (await row(core, "held")).status is OutboxStatus.SENT


async def test_after_a_restart_a_live_holder_renews_in_the_grace_and_keeps_its_row(
    helpdesk, clock, restarted
):
    core = helpdesk.core
    held = await restarted("holder", up_for=1)

    assert await outbox.extend_leases(core, [held.id], owner="holder", lease=HELD) == {held.id}
    clock.advance(timedelta(seconds=9.5))  # the grace is over, the renewed lease is not
    assert await outbox.claim(core, owner="rival", limit=5, lease=HELD) == []
    assert await outbox.mark_sent(core, held.id, owner="holder", message_id=3, token=held.token)


async def test_after_a_restart_a_dead_holders_row_is_taken_once_the_grace_is_over(
    helpdesk, clock, restarted
):
    core = helpdesk.core
    held = await restarted("died", up_for=2)
    assert await outbox.claim(core, owner="rival", limit=5, lease=HELD) == []

    clock.advance(timedelta(seconds=8))
    [taken] = await outbox.claim(core, owner="rival", limit=5, lease=HELD)
    assert taken.id == held.id and taken.token is not None and held.token is not None
    assert taken.token > held.token
    assert not await outbox.mark_sent(core, held.id, owner="died", message_id=1, token=held.token)


async def test_a_holder_that_died_while_the_server_stayed_up_loses_its_rows_at_lease_end(
    helpdesk, clock, monkeypatch
):
    core = helpdesk.core
    lease = timedelta(seconds=10)
    server_up_for(monkeypatch, clock, 3600)
    await queue(core, "held", chat_id=1)
    await outbox.claim(core, owner="died", limit=5, lease=lease)

    assert await outbox.next_available(core, "rival", restart_grace=lease) == clock.now() + lease
    clock.advance(lease)
    assert [d.key for d in await outbox.claim(core, owner="rival", limit=5, lease=lease)] == [
        "held"
    ]


async def test_the_servers_uptime_is_read_from_postgresql_and_sqlite_has_none(helpdesk, backend):
    async with helpdesk.core.reading() as session:
        up_for = await outbox.database_up_for(session)
    if backend == "sqlite":
        assert up_for is None
    else:
        assert up_for is not None and timedelta(0) < up_for < timedelta(days=365)


async def test_after_a_restart_an_expiring_row_in_a_holders_hand_is_not_dropped_in_the_grace(
    helpdesk, clock, restarted
):
    core = helpdesk.core
    # Sent before the outage; its deadline (5 s) passed while the server was away.
    expires_at = clock.now() + timedelta(seconds=5)
    held = await restarted("holder", up_for=1, key="reminder", expires_at=expires_at)

    assert await outbox.claim(core, owner="rival", limit=5, lease=HELD) == []
    assert (await row(core, "reminder")).status is OutboxStatus.PENDING
    # What the holder sent is recorded as sent, not lost to a drop behind its back.
    assert await outbox.mark_sent(core, held.id, owner="holder", message_id=4, token=held.token)
    assert (await row(core, "reminder")).status is OutboxStatus.SENT


async def test_a_row_dropped_while_in_hand_that_went_out_is_recorded_as_sent(helpdesk, clock):
    """A superseded reminder dropped while its sender was sending it: the table says sent."""
    core = helpdesk.core
    await queue(core, "reminder", chat_id=1)
    [held] = await outbox.claim(core, owner="holder", limit=5, lease=LEASE)
    async with core.transaction() as tx:  # as core.sla.escalation drops an earlier reminder
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == held.id)
            .values(status=OutboxStatus.DROPPED, lease_owner=None, lease_until=None)
        )
    assert await outbox.claim(core, owner="rival", limit=5, lease=LEASE) == []
    assert not await outbox.mark_sent(core, held.id, owner="holder", message_id=5, token=0)

    assert await outbox.mark_sent(core, held.id, owner="holder", message_id=5, token=held.token)
    sent = await row(core, "reminder")
    assert (sent.status, sent.message_id) == (OutboxStatus.SENT, 5)
