"""The outbox sender and its rate limiter: pacing on virtual time, delivery over a fake Telegram.

Real seconds are the `virtual_time` fixture's wherever a test depends on them: it moves
only when every task waits, so what these tests see does not depend on the machine's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import select, update

from bot.callbacks import CallbackCodec
from bot.chat import (
    Action,
    NetworkError,
    RetryAfter,
    SendDocument,
    SendMessage,
    SendPhoto,
    Sent,
    TransportError,
    Unreachable,
)
from bot.context import BotApp
from bot.i18n import I18n
from bot.notifications import Notice, RenderCtx, renders
from bot.ratelimit import Backoff, Rate, RateLimits, SendLimiter, Sleep
from bot.sender import OutboxSender
from core import outbox
from core.conversations import ConversationStore
from core.db import Database
from core.enums import Impact, OutboxStatus, Role
from core.messages import Message, ProgressUpdate
from core.models import OutboxMessage, Person
from core.unit_of_work import Core

# --- real time that only moves when every task is waiting -----------------------------


@pytest.fixture
def fake(virtual_time):
    """Virtual real seconds (the root conftest's `VirtualTime`): a clock, a sleep, a driver."""
    return virtual_time


def limiter_on(fake, limits: RateLimits | None = None, **options) -> SendLimiter:
    """A limiter on virtual time."""
    return SendLimiter(limits or RateLimits(), clock=fake, sleep=fake.sleep, **options)


async def send_all(
    limiter: SendLimiter, fake, chats: list[int], priority: int = 5
) -> list[tuple[float, int]]:
    """(time, chat) of each send, in the order they went out."""
    sent: list[tuple[float, int]] = []

    async def one(chat: int) -> None:
        async with limiter.sending(chat, priority):
            sent.append((fake.now, chat))

    await fake.run(asyncio.gather(*(one(chat) for chat in chats)))
    return sent


def most_within(times: list[float], window: float) -> int:
    """The largest number of events inside any window shorter than `window` seconds."""
    times = sorted(times)
    best = 0
    start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- the rate limiter --------------------------------------------------------------------


async def test_the_overall_pace_never_exceeds_thirty_messages_in_any_second(fake):
    sent = await send_all(limiter_on(fake), fake, list(range(1, 301)))
    times = [at for at, _ in sent]
    assert most_within(times, 1.0) <= 29  # one below Telegram's 30: the margin for jitter
    assert most_within(times, 1.07) <= 30  # any 31 span more than 1.07 s
    assert max(times) == pytest.approx(298 / 27, rel=0.01)  # and no slower than needed


async def test_under_load_sends_go_in_pairs_and_a_lone_one_waits_for_no_second(fake):
    """A pair at once when two wait and the bucket holds two tokens: the process wakes
    once for both. One waiting alone goes as soon as one token is there."""
    sent = await send_all(limiter_on(fake), fake, list(range(1, 101)))
    times = [at for at, _ in sent]
    assert sorted(set(times)) == [pytest.approx(n * 2 / 27) for n in range(50)]
    assert all(times.count(at) == 2 for at in times)

    limiter = limiter_on(fake)
    alone: list[float] = []

    async def later(chat: int) -> None:
        await fake.sleep(0.05)  # the two before took both tokens; 1.35 are back by now
        async with limiter.sending(chat):
            alone.append(fake.now)

    start = fake.now
    assert [at for at, _ in await send_all(limiter, fake, [1, 2])] == [start, start]
    await fake.run(later(3))
    assert alone == [pytest.approx(start + 0.05)]


async def test_instances_sharing_the_budget_send_one_at_a_time(fake):
    limiter = limiter_on(fake)
    limiter.share(2)
    times = [at for at, _ in await send_all(limiter, fake, list(range(1, 41)))]
    assert len(set(times)) == len(times)


async def test_one_chat_gets_one_message_every_1_15_seconds(fake):
    sent = await send_all(limiter_on(fake), fake, [7] * 5)
    times = [at for at, _ in sent]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == 0 and all(gap == pytest.approx(1.15) for gap in gaps)


async def test_a_group_gets_a_short_burst_then_stays_under_twenty_a_minute(fake):
    sent = await send_all(limiter_on(fake), fake, [-100123] * 40)
    times = [at for at, _ in sent]
    assert times[3] < 4  # four at the per-chat pace
    assert most_within(times, 60.0) <= 19


async def test_private_chats_do_not_wait_for_each_other(fake):
    sent = await send_all(limiter_on(fake, RateLimits(overall=Rate(1000))), fake, [1, 2, 3, 1])
    by_chat = {}
    for at, chat in sent:
        by_chat.setdefault(chat, []).append(at)
    assert by_chat[2][0] < 0.01 and by_chat[3][0] < 0.01
    assert by_chat[1][1] == pytest.approx(1.15)


async def test_pages_take_the_next_turn_ahead_of_notices_queued_earlier(fake):
    limiter = limiter_on(fake, RateLimits(overall=Rate(1.0)))
    order: list[str] = []

    async def send(name: str, chat: int, priority: int, delay: float) -> None:
        await fake.sleep(delay)
        async with limiter.sending(chat, priority):
            order.append(name)

    notices = [send(f"notice{i}", 100 + i, 5, 0.0) for i in range(5)]
    await fake.run(asyncio.gather(*notices, send("page", 1, 1, 0.5)))
    assert order[:2] == ["notice0", "page"]


async def test_a_flood_on_one_chat_pauses_that_chat_only(fake):
    limiter = limiter_on(fake)
    scope, until = limiter.flooded(5, 7)
    assert (scope, until) == (5, 7.0)
    sent = await send_all(limiter, fake, [5, 6])
    assert dict((chat, at) for at, chat in sent) == {6: 0.0, 5: 7.0}


async def test_floods_on_several_chats_at_once_pause_everything(fake):
    limiter = limiter_on(fake)
    limiter.flooded(5, 3)
    fake.now = 0.2
    scope, until = limiter.flooded(6, 3)
    assert scope is None and until == pytest.approx(3.2)
    sent = await send_all(limiter, fake, [8])
    assert sent[0][0] == pytest.approx(3.2)


async def test_a_pause_ended_by_the_database_ends_only_if_nothing_renewed_it(fake):
    limiter = limiter_on(fake)
    _, first = limiter.flooded(5, 3)
    limiter.end_pause(5, first)
    assert limiter.chat_paused_for(5) == 0
    _, second = limiter.flooded(5, 3)
    limiter.flooded(5, 10)  # Telegram asked again, for longer
    limiter.end_pause(5, second)
    assert limiter.chat_paused_for(5) == pytest.approx(10)


async def test_network_failures_back_off_exponentially_and_a_success_resets_it(fake):
    limiter = limiter_on(fake, network_backoff=Backoff(base=1.0, cap=8.0, rng=random.Random(1)))
    pauses = []
    for _ in range(6):
        pauses.append(limiter.network_failed())
        assert limiter.network_failed() == pytest.approx(pauses[-1])  # in flight: same outage
        fake.now += pauses[-1]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= p <= c for p, c in zip(pauses, ceilings, strict=True))
    limiter.network_ok()
    assert limiter.network_failed() <= 1


def test_backoff_is_jittered_and_capped():
    backoff = Backoff(base=1.0, cap=300.0, rng=random.Random(7))
    delays = [backoff.delay(n) for n in range(1, 30)]
    assert all(
        0.5 * min(300, 2 ** (n - 1)) <= d <= min(300, 2 ** (n - 1)) for n, d in enumerate(delays, 1)
    )
    assert len({round(d, 6) for d in delays[10:]}) > 1  # jitter: capped delays still differ


async def test_no_more_requests_are_in_flight_than_allowed(fake):
    limiter = limiter_on(fake, dataclasses.replace(RateLimits.unlimited(), max_in_flight=2))
    peak = 0

    async def one(chat: int) -> None:
        nonlocal peak
        async with limiter.sending(chat):
            peak = max(peak, limiter.in_flight)
            await fake.sleep(1.0)

    await fake.run(asyncio.gather(*(one(chat) for chat in range(1, 7))))
    assert peak == 2 and fake.now == pytest.approx(3.0)


# --- the sender over a fake Telegram -----------------------------------------------------


class FakeTelegram:
    """Records sends; raises the errors queued for a chat, one per send."""

    def __init__(self, latency: float = 0.0, sleep: Sleep = asyncio.sleep) -> None:
        self.latency = latency
        self.sleep = sleep  # a round trip's wait: virtual time, where a test measures it
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[Action] = []
        self.failures: dict[int, list[TransportError | None]] = {}  # None: this one succeeds
        self._ids = itertools.count(1)

    def fail(self, chat_id: int, *errors: TransportError | None) -> None:
        self.failures.setdefault(chat_id, []).extend(errors)

    async def perform(self, action: Action) -> Sent:
        assert isinstance(action, SendMessage | SendPhoto | SendDocument)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency:
                await self.sleep(self.latency)
        finally:
            self.in_flight -= 1
        queued = self.failures.get(action.chat_id)
        if queued and (error := queued.pop(0)) is not None:
            raise error
        self.sent.append(action)
        return Sent(next(self._ids))

    def texts(self, chat_id: int) -> list[str]:
        return [a.text for a in self.sent if isinstance(a, SendMessage) and a.chat_id == chat_id]

    def kinds(self, chat_id: int) -> list[str]:
        return [type(a).__name__ for a in self.sent if a.chat_id == chat_id]


PNG = b"\x89PNG\r\n\x1a\nchart"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Note(Message):
    """A line of text."""

    kind: ClassVar[str] = "test.note"
    text: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Report(Message):
    """A message with attachments after its text."""

    kind: ClassVar[str] = "test.report"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Broken(Message):
    """A message whose renderer fails."""

    kind: ClassVar[str] = "test.broken"


NOTE = Note.kind


@renders(Note)
async def render_note(m: Note, r: RenderCtx) -> Notice:
    return Notice(m.text)


@renders(Report)
async def render_report(m: Report, r: RenderCtx) -> Notice:
    assert r.chat_id is not None
    return Notice(
        "Monthly report",
        attachments=[
            SendPhoto(r.chat_id, PNG, filename="chart.png"),
            SendDocument(r.chat_id, b"a,b\n1,2\n", filename="report.csv"),
        ],
    )


@renders(Broken)
async def render_broken(m: Broken, r: RenderCtx) -> Notice:
    raise KeyError("missing parameter")


@pytest.fixture
def app(helpdesk) -> BotApp:
    return BotApp(
        helpdesk=helpdesk,
        conversations=ConversationStore(helpdesk.core),
        codec=CallbackCodec(b"test-secret"),
        i18n=I18n(default="en"),
    )


Make = Callable[..., OutboxSender]


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def make_sender(app, telegram) -> Make:
    def make(**options) -> OutboxSender:
        options.setdefault("limiter", SendLimiter(RateLimits.unlimited()))
        options.setdefault("backoff", Backoff(base=2.0, rng=random.Random(3)))
        return OutboxSender(app, options.pop("transport", telegram), **options)

    return make


async def queue(helpdesk, key: str, text: str = "hello", **fields) -> None:
    message = fields.pop("message", None) or Note(text=text)
    async with helpdesk.core.transaction() as tx:
        await outbox.enqueue(tx, message, key=key, **fields)


async def row(helpdesk, key: str) -> OutboxMessage:
    async with helpdesk.core.reading() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert found is not None
        return found


async def rows(helpdesk, code: str | None = None) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if code is not None:
            query = query.where(OutboxMessage.code == code)
        return list(await session.scalars(query))


async def admin(helpdesk, name: str = "Admin Ada", telegram_id: int = 9001) -> int:
    person = await helpdesk.people.create_person(
        name=name, role=Role.ADMIN, telegram_user_id=telegram_id, language="en"
    )
    return person.id


async def test_a_queued_message_is_sent_once_and_marked_sent(
    helpdesk, world, make_sender, telegram
):
    await queue(helpdesk, "n1", "Your printer is fixed.", recipient_id=world.reporter_id)
    sender = make_sender()

    stats = await sender.deliver_once()
    await sender.deliver_once()

    assert (stats.sent, stats.failed, stats.retried) == (1, 0, 0)
    assert telegram.texts(1001) == ["Your printer is fixed."]
    sent = await row(helpdesk, "n1")
    assert sent.status is OutboxStatus.SENT and sent.sent_at == helpdesk.core.clock.now()
    assert sent.message_id == 1 and sent.lease_owner is None


async def test_pages_go_out_before_notices_queued_earlier(helpdesk, make_sender, telegram):
    for i in range(5):
        await queue(helpdesk, f"n{i}", f"notice {i}", chat_id=100 + i)
    await queue(helpdesk, "p", "PAGE", chat_id=200, priority=outbox.PRIORITY_PAGE)
    sender = make_sender(limiter=SendLimiter(RateLimits(overall=Rate(50))))

    await sender.deliver_once()

    assert next(a.text for a in telegram.sent if isinstance(a, SendMessage)) == "PAGE"
    assert len(telegram.sent) == 6


async def test_sends_to_different_chats_overlap_instead_of_queueing(helpdesk, make_sender, fake):
    slow = FakeTelegram(latency=0.2, sleep=fake.sleep)
    for i in range(40):
        await queue(helpdesk, f"n{i}", chat_id=100 + i)
    sender = make_sender(transport=slow, limiter=limiter_on(fake, RateLimits.unlimited()))

    stats = await fake.run(sender.deliver_once())

    assert stats.sent == 40
    assert fake.now == pytest.approx(0.2)  # all at once; one after another would take 8 s
    assert slow.most_in_flight == 40


async def test_attachments_follow_the_text_in_order(helpdesk, make_sender, telegram):
    await queue(helpdesk, "r1", message=Report(), chat_id=-1001)
    await make_sender().deliver_once()
    assert telegram.kinds(-1001) == ["SendMessage", "SendPhoto", "SendDocument"]
    assert [a.chat_id for a in telegram.sent] == [-1001] * 3
    assert (await row(helpdesk, "r1")).status is OutboxStatus.SENT


async def test_a_retry_after_a_failed_attachment_sends_only_what_is_missing(
    helpdesk, make_sender, telegram, clock
):
    await queue(helpdesk, "r1", message=Report(), chat_id=-1001)
    telegram.fail(-1001, None, None, NetworkError("timeout"))  # the document times out
    sender = make_sender()

    stats = await sender.deliver_once()
    assert stats.retried == 1 and telegram.kinds(-1001) == ["SendMessage", "SendPhoto"]
    assert (await row(helpdesk, "r1")).params["_parts_sent"] == 2

    clock.advance(timedelta(minutes=5))
    await sender.deliver_once()

    assert telegram.kinds(-1001) == ["SendMessage", "SendPhoto", "SendDocument"]
    assert (await row(helpdesk, "r1")).status is OutboxStatus.SENT


async def test_a_429_puts_the_row_back_with_the_chats_queue_and_others_go_on(
    helpdesk, make_sender, telegram, clock, fake
):
    for i in range(3):
        await queue(helpdesk, f"a{i}", f"to A {i}", chat_id=501)
    await queue(helpdesk, "b", "to B", chat_id=502)
    telegram.fail(501, RetryAfter(7))
    sender = make_sender(limiter=limiter_on(fake, RateLimits.unlimited()))

    stats = await fake.run(sender.deliver_once())

    assert telegram.texts(502) == ["to B"] and telegram.texts(501) == []
    assert (stats.sent, stats.retried, stats.released) == (1, 1, 2)
    first = await row(helpdesk, "a0")
    assert first.status is OutboxStatus.PENDING and first.attempts == 1
    assert first.available_at == clock.now() + timedelta(seconds=7)
    assert first.last_error == "retry after 7 s"
    assert [(await row(helpdesk, f"a{i}")).attempts for i in (1, 2)] == [0, 0]  # not tried
    assert sender.limiter.chat_paused_for(501) == 7

    assert (await fake.run(sender.deliver_once())).sent == 0  # nothing is due yet
    clock.advance(timedelta(seconds=7))
    await fake.run(sender.deliver_once())  # the database lets it go: the pause ends with it
    assert fake.now == 0  # no real second was waited for

    assert telegram.texts(501) == ["to A 0", "to A 1", "to A 2"]
    assert (await row(helpdesk, "a0")).attempts == 2


async def test_a_network_failure_backs_off_the_row_and_pauses_every_send(
    helpdesk, make_sender, telegram, clock, fake
):
    await queue(helpdesk, "n1", chat_id=601)
    telegram.fail(601, NetworkError("connection reset"), NetworkError("connection reset"))
    sender = make_sender(limiter=limiter_on(fake, RateLimits.unlimited()))

    await fake.run(sender.deliver_once())
    first = await row(helpdesk, "n1")
    wait = (first.available_at - clock.now()).total_seconds()
    assert 1.0 <= wait <= 2.0 and first.last_error == "connection reset"  # base 2 s, jittered
    paused_until = sender.limiter.paused_until
    assert 0.25 <= paused_until - fake.now <= 0.5  # every send waits (network backoff: 0.5 s)

    clock.advance(timedelta(seconds=2))
    await fake.run(sender.deliver_once())
    assert fake.now >= paused_until  # the second try waited for the pause to end
    second = await row(helpdesk, "n1")
    assert 2.0 <= (second.available_at - clock.now()).total_seconds() <= 4.0  # doubled

    clock.advance(timedelta(seconds=4))
    await fake.run(sender.deliver_once())
    assert (await row(helpdesk, "n1")).status is OutboxStatus.SENT
    assert sender.limiter.network_failures == 0


async def test_a_blocked_person_is_given_up_on_and_every_admin_is_told_once(
    helpdesk, world, make_sender, telegram
):
    ada = await admin(helpdesk)
    bob = await admin(helpdesk, "Admin Bob", 9002)
    retired = await admin(helpdesk, "Admin Old", 9003)
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(update(Person).where(Person.id == retired).values(active=False))
    await queue(helpdesk, "n1", "Anyone there?", recipient_id=world.reporter_id)
    telegram.fail(1001, Unreachable("Forbidden: bot was blocked by the user"))
    sender = make_sender()

    stats = await sender.deliver_once()

    assert stats.failed == 1
    failed = await row(helpdesk, "n1")
    assert failed.status is OutboxStatus.FAILED and "blocked" in (failed.last_error or "")
    alerts = await rows(helpdesk, outbox.DELIVERY_FAILED)
    assert sorted(a.recipient_id for a in alerts) == sorted([ada, bob])
    assert {a.status for a in alerts} == {OutboxStatus.SENT}
    text = telegram.texts(9001)[0]
    assert "could not be delivered</b> to Li Na" in text
    assert "<code>test.note</code>" in text and "they blocked the bot" in text


async def test_an_alert_that_cannot_be_delivered_raises_no_further_alert(
    helpdesk, world, make_sender, telegram
):
    await admin(helpdesk)
    await queue(helpdesk, "n1", chat_id=777)
    telegram.fail(777, Unreachable("Bad Request: chat not found"))
    telegram.fail(9001, Unreachable("Forbidden: bot was blocked by the user"))

    await make_sender().deliver_once()

    assert [(r.code, r.status) for r in await rows(helpdesk)] == [
        (NOTE, OutboxStatus.FAILED),
        (outbox.DELIVERY_FAILED, OutboxStatus.FAILED),
    ]


async def test_a_message_that_cannot_be_rendered_fails_and_the_rest_go_out(
    helpdesk, make_sender, telegram
):
    await admin(helpdesk)
    await queue(helpdesk, "bad", message=Broken(), chat_id=801)
    await queue(helpdesk, "good", "fine", chat_id=801)

    stats = await make_sender().deliver_once()

    assert (stats.sent, stats.failed) == (2, 1)  # the good one and the admin alert
    assert "KeyError" in ((await row(helpdesk, "bad")).last_error or "")
    assert telegram.texts(801) == ["fine"]
    assert "Telegram said: KeyError" in telegram.texts(9001)[0]


async def test_a_person_without_a_chat_fails_with_a_clear_reason(helpdesk, make_sender, telegram):
    await admin(helpdesk)
    ghost = await helpdesk.people.create_person(name="Ghost", role=Role.STAFF)
    await queue(helpdesk, "n1", recipient_id=ghost.id)

    await make_sender().deliver_once()

    assert (await row(helpdesk, "n1")).last_error == "recipient has no chat"
    assert "they have no Telegram chat linked" in telegram.texts(9001)[0]


async def test_rows_leased_by_another_sender_are_left_alone_until_the_lease_runs_out(
    helpdesk, make_sender, telegram, clock
):
    await queue(helpdesk, "n1", chat_id=901)
    await outbox.claim(helpdesk.core, owner="crashed", limit=10, lease=timedelta(seconds=60))
    sender = make_sender()

    assert (await sender.deliver_once()).sent == 0
    assert await outbox.next_available(helpdesk.core) == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=61))
    assert (await sender.deliver_once()).sent == 1
    assert telegram.texts(901) == ["hello"]


async def test_a_dead_instance_s_messages_go_out_within_five_seconds(
    helpdesk, app, telegram, fake, monkeypatch
):
    """With the default settings, a survivor sleeping between passes (nothing else to
    do for an hour) wakes when the dead instance's leases run out and sends its rows."""
    from bot.settings import Settings
    from core.clock import AcceleratedClock
    from core.services import Helpdesk
    from core.unit_of_work import Core

    monkeypatch.delenv("FAULTDESK_OUTBOX_LEASE", raising=False)
    lease = timedelta(seconds=Settings(_env_file=None).outbox_lease)
    clock = AcceleratedClock(helpdesk.core.clock.now(), 1.0, monotonic=fake)
    core = Core(helpdesk.core.db, clock, helpdesk.core.policy)
    live = BotApp(
        helpdesk=Helpdesk(core), conversations=app.conversations, codec=app.codec, i18n=app.i18n
    )
    for chat in (901, 902, 903):
        await queue(live.helpdesk, f"page{chat}", "PAGE", chat_id=chat)
    assert len(await outbox.claim(core, owner="killed", limit=10, lease=lease)) == 3
    survivor = OutboxSender(
        live, telegram, lease=lease, max_idle=3600, limiter=limiter_on(fake, RateLimits())
    )
    sent_at: list[float] = []
    send = telegram.perform

    async def timed(action: Action) -> Sent:
        sent_at.append(fake.now)
        return await send(action)

    telegram.perform = timed  # type: ignore[method-assign]
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(survivor.run(stop))
        await fake.sleep(30)
        stop.set()
        await task

    await fake.run(scenario(), until=31.0)
    assert [telegram.texts(chat) for chat in (901, 902, 903)] == [["PAGE"]] * 3
    assert max(sent_at) <= 5.1, sent_at  # the lease (5 s), then at once


async def test_a_stopped_sender_hands_back_what_it_has_not_sent(
    helpdesk, make_sender, telegram, fake
):
    for i in range(4):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=950)  # one chat: 1.15 s apart
    sender = make_sender(limiter=limiter_on(fake))
    stop = asyncio.Event()

    async def stop_half_a_second_in() -> None:
        await fake.sleep(0.5)
        stop.set()

    stats, _ = await fake.run(asyncio.gather(sender.deliver_once(stop), stop_half_a_second_in()))

    assert (stats.sent, stats.released) == (1, 3)
    left = [await row(helpdesk, f"n{i}") for i in range(1, 4)]
    assert all(r.status is OutboxStatus.PENDING and r.lease_owner is None for r in left)
    assert all(r.attempts == 0 for r in left)  # handing back is not an attempt
    await make_sender().deliver_once()
    assert telegram.texts(950) == ["m0", "m1", "m2", "m3"]


async def test_leases_are_renewed_while_rows_wait_their_turn(helpdesk, app, telegram, fake):
    from core.clock import AcceleratedClock
    from core.services import Helpdesk
    from core.unit_of_work import Core

    # Domain time runs with real time, as in production; both are virtual here.
    clock = AcceleratedClock(helpdesk.core.clock.now(), 1.0, monotonic=fake)
    core = Core(helpdesk.core.db, clock, helpdesk.core.policy)
    live = BotApp(
        helpdesk=Helpdesk(core),
        conversations=app.conversations,
        codec=app.codec,
        i18n=app.i18n,
    )
    for i in range(6):
        await queue(live.helpdesk, f"n{i}", f"m{i}", chat_id=990)
    limits = RateLimits(chat=Rate(4.0))  # 6 messages to one chat: ~1.25 s
    sender = OutboxSender(
        live,
        telegram,
        lease=timedelta(seconds=0.4),
        limiter=limiter_on(fake, limits),
    )
    rival_got: list[int] = []
    sent_at: list[float] = []
    sending = asyncio.Event()  # the sender holds the rows: the first is out, five wait
    send = telegram.perform

    async def timed(action: Action) -> Sent:
        sent_at.append(fake.now)
        sending.set()
        return await send(action)

    telegram.perform = timed  # type: ignore[method-assign]

    async def rival() -> None:
        # Not before: two claims at one instant race each other at the database, and a
        # rival whose claim landed first would own every row for its minute.
        await sending.wait()
        for _ in range(30):
            claimed = await outbox.claim(core, owner="rival", limit=10, lease=timedelta(seconds=60))
            rival_got.extend(d.id for d in claimed)
            await fake.sleep(0.05)

    await fake.run(asyncio.gather(sender.deliver_once(), rival()))

    assert rival_got == []
    assert telegram.texts(990) == [f"m{i}" for i in range(6)]
    assert sent_at[-1] == pytest.approx(1.25)  # three leases long: renewed twice at least


async def test_a_row_dropped_while_waiting_its_turn_is_logged_as_dropped_not_as_taken(
    helpdesk, app, telegram, fake, caplog
):
    """A reminder superseded while in the sender's hand (`core.sla.escalation` drops it):
    the sender says so, and does not claim another sender has it."""
    from core.clock import AcceleratedClock
    from core.services import Helpdesk
    from core.unit_of_work import Core

    clock = AcceleratedClock(helpdesk.core.clock.now(), 1.0, monotonic=fake)
    core = Core(helpdesk.core.db, clock, helpdesk.core.policy)
    live = BotApp(
        helpdesk=Helpdesk(core), conversations=app.conversations, codec=app.codec, i18n=app.i18n
    )
    await queue(live.helpdesk, "page", "PAGE", chat_id=990)
    await queue(live.helpdesk, "reminder", "REMINDER", chat_id=990)
    sender = OutboxSender(
        live,
        telegram,
        lease=timedelta(seconds=0.6),
        limiter=limiter_on(fake, RateLimits(chat=Rate(1.0))),  # the reminder waits 1 s
    )
    send = telegram.perform

    async def drop_the_reminder_after_the_page(action: Action) -> Sent:
        sent = await send(action)
        async with core.transaction() as tx:  # as a later step firing does
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == "reminder")
                .values(status=OutboxStatus.DROPPED, lease_owner=None, lease_until=None)
            )
        return sent

    telegram.perform = drop_the_reminder_after_the_page  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="bot.sender"):
        await fake.run(sender.deliver_once())

    assert telegram.texts(990) == ["PAGE"]
    reminder = await row(helpdesk, "reminder")
    assert reminder.status is OutboxStatus.DROPPED
    said = [r.getMessage() for r in caplog.records if r.name == "bot.sender"]
    assert f"outbox row {reminder.id} dropped while waiting its turn (superseded): not sent" in said
    assert not any("another sender" in line or "lease lost" in line for line in said)


async def test_two_senders_over_one_database_send_each_row_once(helpdesk, app, make_sender, fake):
    from core.db import Database
    from core.services import Helpdesk
    from core.unit_of_work import Core

    other_db = Database(helpdesk.core.db.url)
    other_core = Core(other_db, helpdesk.core.clock, helpdesk.core.policy)
    other_app = BotApp(
        helpdesk=Helpdesk(other_core),
        conversations=app.conversations,
        codec=app.codec,
        i18n=app.i18n,
    )
    shared = FakeTelegram(latency=0.002, sleep=fake.sleep)
    for i in range(120):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=1000 + i % 40)
    first = make_sender(
        transport=shared, batch=10, in_hand=20, limiter=limiter_on(fake, RateLimits.unlimited())
    )
    second = OutboxSender(
        other_app,
        shared,
        batch=10,
        in_hand=20,
        limiter=limiter_on(fake, RateLimits.unlimited()),
    )
    try:
        a, b = await fake.run(asyncio.gather(first.deliver_once(), second.deliver_once()))
    finally:
        await other_db.dispose()

    assert a.sent + b.sent == 120 and a.sent > 0 and b.sent > 0
    texts = sorted(x.text for x in shared.sent if isinstance(x, SendMessage))
    assert texts == sorted(f"m{i}" for i in range(120))
    assert all(r.sent_at is not None for r in await rows(helpdesk))


async def test_run_sleeps_until_woken_by_a_commit_and_stops_cleanly(
    helpdesk, make_sender, telegram, fake
):
    sender = make_sender(max_idle=60, limiter=limiter_on(fake, RateLimits.unlimited()))
    stop = asyncio.Event()
    seen: list[str] = []

    async def scenario() -> None:
        task = asyncio.create_task(sender.run(stop))
        await fake.sleep(0.1)  # the sender found nothing and sleeps (up to a minute)
        seen.extend(telegram.texts(42))
        await queue(helpdesk, "n1", "woken", chat_id=42)  # the commit wakes the sender
        await fake.sleep(0.1)
        seen.extend(telegram.texts(42))
        stop.set()
        await task

    await fake.run(scenario(), until=1.0)  # stopping, too, is at once

    assert seen == ["woken"]  # not before the commit, and within 0.1 s of it


async def test_the_outcome_of_a_send_is_kept_when_a_lease_was_lost(helpdesk, make_sender, telegram):
    await queue(helpdesk, "n1", chat_id=43)
    sender = make_sender()
    original = telegram.perform

    async def steal_then_send(action: Action) -> Sent:
        async with helpdesk.core.transaction() as tx:  # another sender took it over
            await tx.session.execute(update(OutboxMessage).values(lease_owner="thief"))
        return await original(action)

    telegram.perform = steal_then_send  # type: ignore[method-assign]
    stats = await sender.deliver_once()

    assert stats.sent == 1  # it did go out; the thief's bookkeeping decides the row
    assert (await row(helpdesk, "n1")).lease_owner == "thief"


async def test_rows_claimed_while_a_retry_waits_stay_behind_it_but_pages_do_not(
    helpdesk, make_sender, telegram, clock
):
    await queue(helpdesk, "a0", "first", chat_id=510)
    telegram.fail(510, NetworkError("connection reset"))
    sender = make_sender()
    await sender.deliver_once()  # "first" is put back for 1-2 s
    due = (await row(helpdesk, "a0")).available_at

    await queue(helpdesk, "a1", "second", chat_id=510)
    await queue(helpdesk, "p", "PAGE", chat_id=510, priority=outbox.PRIORITY_PAGE)
    stats = await sender.deliver_once()

    assert telegram.texts(510) == ["PAGE"]  # the page did not wait for a notice's retry
    assert stats.released == 1
    held = await row(helpdesk, "a1")
    assert (held.available_at, held.attempts, held.lease_owner) == (due, 0, None)
    clock.advance(timedelta(seconds=2))
    await sender.deliver_once()
    assert telegram.texts(510) == ["PAGE", "first", "second"]


async def test_a_clock_jump_past_the_lease_does_not_queue_a_row_twice(helpdesk, world, clock, fake):
    """Rows waiting for their chat's turn are not claimed again by their own sender after a jump."""
    from chat_harness import RecordingTransport

    from core.enums import Impact

    app = BotApp(helpdesk, ConversationStore(helpdesk.core), CallbackCodec(b"k"), I18n())
    transport = RecordingTransport()
    slow = RateLimits(overall=Rate(1000.0), chat=Rate(5.0), group=Rate(5.0))
    sender = OutboxSender(
        app, transport, limiter=limiter_on(fake, slow), lease=timedelta(seconds=60)
    )
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Jammed", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    card = await helpdesk.tickets.card(ticket.id)
    async with helpdesk.core.transaction() as tx:
        for n in range(3):
            progress = ProgressUpdate(card=card, hours_open=n, n=n)
            await outbox.enqueue(tx, progress, key=f"jump-{n}", recipient_id=world.reporter_id)

    async def jump_while_sending() -> None:
        await fake.sleep(0.05)  # the reporter's first message is out, three wait 0.2 s apart
        clock.advance(timedelta(minutes=5))  # every lease in hand runs out at once
        sender.wake()

    # Before the fix, a row queued twice crashed its chat's lane and the pass never ended.
    await fake.run(asyncio.gather(sender.deliver_once(), jump_while_sending()), until=60)
    await fake.run(sender.deliver_once(), until=60)
    # The assignment notice and the three progress messages, each exactly once.
    assert len(transport.messages[1001]) == 4
    async with helpdesk.core.reading() as session:
        jumped = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.key.startswith("jump-"))
            )
        )
    assert [r.status for r in jumped] == [OutboxStatus.SENT] * 3
    assert [r.attempts for r in jumped] == [1, 1, 1]  # never claimed a second time


async def test_a_row_its_sender_claims_again_while_sending_it_goes_out_once(
    helpdesk, world, make_sender, telegram, clock, fake, monkeypatch
):
    """The double send a busy machine showed: a claim that ran while a row was being sent
    returns it after the row was marked sent; it must not be taken for a new row."""
    await queue(helpdesk, "n1", "only once", recipient_id=world.reporter_id)
    sender = make_sender(limiter=limiter_on(fake, RateLimits.unlimited()))
    claim, mark_sent = outbox.claim, outbox.mark_sent
    jumped, claimed_after_jump, marked = False, asyncio.Event(), asyncio.Event()

    async def claim_then_wait_for_the_send_to_be_recorded(core, **options):
        rows = await claim(core, **options)
        if jumped:
            claimed_after_jump.set()
            await marked.wait()  # the lane finishes the row before this claim is looked at
        return rows

    async def mark_sent_and_tell(core, delivery_id, **options):
        recorded = await mark_sent(core, delivery_id, **options)
        marked.set()
        return recorded

    monkeypatch.setattr(outbox, "claim", claim_then_wait_for_the_send_to_be_recorded)
    monkeypatch.setattr(outbox, "mark_sent", mark_sent_and_tell)
    send = telegram.perform

    async def send_while_the_clock_jumps(action: Action) -> Sent:
        nonlocal jumped
        clock.advance(timedelta(minutes=5))  # the row's lease runs out while it is sent
        jumped = True
        sender.wake()
        await claimed_after_jump.wait()  # the sender looked for rows meanwhile
        return await send(action)

    telegram.perform = send_while_the_clock_jumps  # type: ignore[method-assign]
    stats = await fake.run(sender.deliver_once(), until=60)

    assert telegram.texts(1001) == ["only once"]
    assert stats.sent == 1
    sent = await row(helpdesk, "n1")
    assert (sent.status, sent.attempts, sent.lease_owner) == (OutboxStatus.SENT, 1, None)


async def test_pages_sent_and_failed_are_logged_for_the_operator(
    helpdesk, world, clock, make_sender, telegram, caplog
):
    caplog.set_level(logging.INFO, logger="core.events")
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Printer jams",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(clock.now() + timedelta(hours=2))  # the arrival deadline passes: pages
    await helpdesk.runner().sweep()
    pages = await rows(helpdesk, "sla.page")
    assert {p.recipient_id for p in pages} == {
        world.engineer_id,
        world.backup_id,
        world.dispatcher_id,
    }
    telegram.fail(2002, Unreachable("Forbidden: bot was blocked by the user"))  # the backup

    await make_sender().deliver_once()

    logged = [r.getMessage() for r in caplog.records if r.name == "core.events"]
    by_recipient = {p.recipient_id: p for p in pages}
    failed = by_recipient[world.backup_id]
    assert [line for line in logged if line.startswith("page.failed")] == [
        f"page.failed page={failed.page_id} outbox={failed.id} ticket={ticket.id}"
        f" recipient={world.backup_id}"
    ]
    sent = sorted(line for line in logged if line.startswith("page.sent"))
    assert sent == sorted(
        f"page.sent page={p.page_id} outbox={p.id} ticket={ticket.id} recipient={p.recipient_id}"
        for p in pages
        if p.recipient_id != world.backup_id
    )
    assert not any("Printer jams" in line or "Zhao Lei" in line for line in logged)


# --- a database outage, fencing, one sender per chat, a shared budget ---------------------


class Outage:
    """Makes the database unreachable for one core while `down` is set."""

    def __init__(self, monkeypatch, database) -> None:
        from sqlalchemy.exc import OperationalError

        self.down = False
        for name in ("transaction", "reading"):
            original = getattr(database, name)

            def flaky(*args, _original=original, **kwargs):
                if self.down:
                    raise OperationalError("BEGIN", {}, ConnectionRefusedError("database is down"))
                return _original(*args, **kwargs)

            monkeypatch.setattr(database, name, flaky)


def other_instance(helpdesk, clock) -> tuple[Core, Database]:
    """A second process's view of the same database (its own connections, not cut off)."""
    other_db = Database(helpdesk.core.db.url)
    return Core(other_db, clock, helpdesk.core.policy), other_db


class OutageWorld:
    """A sender running through a database outage while domain time follows virtual real
    time in 50 ms ticks; what happens at a tick (the outage, a rival's claims) is the test's."""

    TICK = 0.05

    def __init__(self, helpdesk, clock, fake, monkeypatch) -> None:
        self.helpdesk, self.clock, self.fake = helpdesk, clock, fake
        self.outage = Outage(monkeypatch, helpdesk.core.db)
        self.rival, self.rival_db = other_instance(helpdesk, clock)  # not cut off
        self.rival_got: list[str] = []  # keys of the rows another instance claimed

    async def rival_claims(
        self, *, core: Core | None = None, lease: timedelta = timedelta(seconds=10)
    ) -> None:
        """Another instance claims what it can (on `core`, the rival's own by default)."""
        claimed = await outbox.claim(core or self.rival, owner="rival", limit=10, lease=lease)
        self.rival_got.extend(d.key for d in claimed)

    async def run(
        self, sender: OutboxSender, ticks: int, at_tick: Callable[[int], Awaitable[None]]
    ) -> None:
        """Run `sender` for `ticks` ticks, calling `at_tick(n)` after each; then stop it."""
        stop = asyncio.Event()

        async def world_goes_on() -> None:
            for tick in range(1, ticks + 1):
                await self.fake.sleep(self.TICK)
                self.clock.advance(timedelta(seconds=self.TICK))
                await at_tick(tick)
            stop.set()

        await self.fake.run(asyncio.gather(sender.run(stop), world_goes_on()))


@pytest.fixture
async def outage_world(helpdesk, clock, fake, monkeypatch):
    world = OutageWorld(helpdesk, clock, fake, monkeypatch)
    yield world
    await world.rival_db.dispose()


async def test_a_database_outage_mid_wave_sends_nothing_twice_and_nothing_unrecorded(
    helpdesk, make_sender, fake, outage_world, caplog
):
    """The outcome of a send that cannot be recorded stays in hand, its lease renewed, and
    no other row is sent until the database is back; a rival never gets the row."""
    outage = outage_world.outage
    await queue(helpdesk, "page", "PAGE", chat_id=1, priority=outbox.PRIORITY_PAGE)
    for i in range(3):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=2)  # 1.15 s apart
    sends: list[tuple[float, int, bool]] = []  # (time, chat, database down)
    original = FakeTelegram.perform
    telegram = FakeTelegram()

    async def perform(action: Action) -> Sent:
        sent = await original(telegram, action)
        if action.chat_id == 1:  # the database goes away while the page is in flight
            outage.down = True
        sends.append((fake.now, action.chat_id, outage.down))
        return sent

    telegram.perform = perform  # type: ignore[method-assign]
    sender = make_sender(transport=telegram, limiter=limiter_on(fake), lease=timedelta(seconds=10))

    async def at_tick(tick: int) -> None:
        # The database is back 3 s in; a rival sender (cut off as well) looks for rows
        # every half second for three leases.
        if tick == 60:
            outage.down = False
        if tick % 10 == 0:
            with contextlib.suppress(Exception):  # the database is away for a while
                await outage_world.rival_claims(core=helpdesk.core)

    with caplog.at_level(logging.INFO, logger="bot.sender"):
        await outage_world.run(sender, 600, at_tick)

    assert outage_world.rival_got == []
    assert telegram.texts(1) == ["PAGE"] and telegram.texts(2) == ["m0", "m1", "m2"]
    # Only what was on its way when the first outcome failed (the page, m0 just after it);
    # m1 and m2 (due 1.15 s and 2.3 s in) waited for the database.
    assert [chat for _, chat, down in sends if down] == [1, 2]
    assert [at for at, chat, _ in sends if chat == 2][1] >= 3.0
    assert all(r.status is OutboxStatus.SENT for r in await rows(helpdesk))
    assert "sending resumes" in caplog.text


async def test_after_a_pass_fails_with_nothing_in_hand_the_sender_looks_again_soon(
    helpdesk, make_sender, telegram, fake, monkeypatch
):
    """The database is away when the sender starts: once it is back, the queued message
    goes out within the retry backoff (2 s at most), not after an idle sleep (5 s)."""
    outage = Outage(monkeypatch, helpdesk.core.db)
    await queue(helpdesk, "n1", "back again", chat_id=42)
    outage.down = True
    sender = make_sender(limiter=limiter_on(fake, RateLimits.unlimited()))
    assert sender.max_idle == 5.0
    stop = asyncio.Event()
    seen: list[str] = []

    async def scenario() -> None:
        task = asyncio.create_task(sender.run(stop))
        await fake.sleep(1.0)  # several passes fail meanwhile
        outage.down = False
        await fake.sleep(2.05)
        seen.extend(telegram.texts(42))
        stop.set()
        await task

    await fake.run(scenario())

    assert seen == ["back again"]


async def test_a_database_outage_is_logged_in_one_line_with_the_traceback_at_debug(
    helpdesk, make_sender, fake, monkeypatch, caplog
):
    """Expected connection errors say what failed and why in one WARNING line; the
    traceback, the same every time, is there at DEBUG only."""
    outage = Outage(monkeypatch, helpdesk.core.db)
    outage.down = True
    sender = make_sender(limiter=limiter_on(fake, RateLimits.unlimited()))
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(sender.run(stop))
        await fake.sleep(1.0)
        stop.set()
        await task

    with caplog.at_level(logging.DEBUG, logger="bot.sender"):
        await fake.run(scenario())

    ours = [r for r in caplog.records if r.name == "bot.sender"]
    loud = [r for r in ours if r.levelno >= logging.WARNING]
    assert loud and all(r.exc_info is None for r in loud)
    assert {r.getMessage() for r in loud} == {
        "outbox pass failed; retrying: ConnectionRefusedError: database is down"
    }
    quiet = [r for r in ours if r.levelno == logging.DEBUG and r.exc_info]
    assert len(quiet) == len(loud)


async def test_an_outcome_is_recorded_only_under_the_claim_it_was_sent_on(helpdesk, clock):
    core = helpdesk.core
    await queue(helpdesk, "n1", chat_id=61)
    lease = timedelta(seconds=10)
    [first] = await outbox.claim(core, owner="me", limit=1, lease=lease)
    clock.advance(timedelta(seconds=11))  # the lease ran out; the same owner claims again
    [second] = await outbox.claim(core, owner="me", limit=1, lease=lease)
    assert second.token is not None and first.token is not None and second.token > first.token

    assert not await outbox.mark_sent(core, first.id, owner="me", message_id=1, token=first.token)
    assert (await row(helpdesk, "n1")).status is OutboxStatus.PENDING
    assert not await outbox.mark_retry(
        core, first.id, owner="me", after=lease, error="x", token=first.token
    )
    assert not await outbox.mark_failed(core, first.id, owner="me", error="x", token=first.token)
    assert await outbox.mark_sent(core, second.id, owner="me", message_id=2, token=second.token)
    assert (await row(helpdesk, "n1")).message_id == 2


async def test_a_chat_is_written_to_by_one_sender_at_a_time(helpdesk, app, clock, fake):
    """Two instances with rows of one chat: one sender sends them all at the chat's pace."""
    from core.db import Database
    from core.services import Helpdesk
    from core.unit_of_work import Core

    other_db = Database(helpdesk.core.db.url)
    other_app = BotApp(
        helpdesk=Helpdesk(Core(other_db, clock, helpdesk.core.policy)),
        conversations=app.conversations,
        codec=app.codec,
        i18n=app.i18n,
    )
    shared = FakeTelegram()
    sent_at: list[tuple[float, str]] = []
    original = FakeTelegram.perform

    def recording(owner: str) -> Callable[[Action], object]:
        async def perform(action: Action) -> Sent:
            sent_at.append((fake.now, owner))
            return await original(shared, action)

        return perform

    class Named:
        def __init__(self, owner: str) -> None:
            self.perform = recording(owner)

    for i in range(6):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=77)
    # Two rows in hand at a time: the other sender looks while the first holds the chat.
    first = OutboxSender(app, Named("a"), owner="a", batch=2, in_hand=2, limiter=limiter_on(fake))  # type: ignore[arg-type]
    second = OutboxSender(
        other_app, Named("b"), owner="b", batch=2, in_hand=2, limiter=limiter_on(fake)
    )  # type: ignore[arg-type]
    try:
        await fake.run(asyncio.gather(first.deliver_once(), second.deliver_once()))
        await fake.run(asyncio.gather(first.deliver_once(), second.deliver_once()))
    finally:
        await other_db.dispose()

    assert sorted(shared.texts(77)) == [f"m{i}" for i in range(6)]
    assert len({owner for _, owner in sent_at}) == 1  # one sender had the chat
    times = [at for at, _ in sent_at]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.15 - 1e-9


async def test_rows_of_a_chat_another_sender_holds_wait_for_it_to_let_go(helpdesk, clock):
    core = helpdesk.core
    lease = timedelta(seconds=10)
    await queue(helpdesk, "a", chat_id=88)
    [taken] = await outbox.claim(core, owner="a", limit=5, lease=lease)
    await queue(helpdesk, "b", chat_id=88)
    await queue(helpdesk, "c", chat_id=89)
    assert [d.key for d in await outbox.claim(core, owner="b", limit=5, lease=lease)] == ["c"]
    # The holder gets the chat's new rows; the other sender is told when the chat is free.
    assert await outbox.next_available(core, "b") == clock.now() + lease
    await outbox.mark_sent(core, taken.id, owner="a", message_id=1, token=taken.token)
    assert taken.lane is not None
    await outbox.free_lanes(core, {taken.lane: timedelta(seconds=1.15)}, owner="a")
    assert await outbox.next_available(core, "b") == clock.now() + timedelta(seconds=1.15)
    assert await outbox.claim(core, owner="b", limit=5, lease=lease) == []
    clock.advance(timedelta(seconds=1.15))
    [late] = await outbox.claim(core, owner="b", limit=5, lease=lease)
    assert (late.key, late.lane) == ("b", 88)


def test_instances_share_the_overall_budget_without_exceeding_it(fake):
    limiter = limiter_on(fake)
    whole = RateLimits().overall
    assert limiter.share(1) == whole
    for n in (2, 3, 5):
        part = limiter.share(n)
        # n buckets: at most n * (burst + rate) sends in any second, within the whole's.
        assert n * (part.burst + part.per_second) <= whole.burst + whole.per_second + 1e-9
        assert n * part.per_second >= whole.per_second - n  # and not much slower
    assert limiter.limits.overall == limiter.share(5)


async def test_live_instances_in_the_database_set_each_ones_share(helpdesk, fake):
    from datetime import UTC, datetime

    from bot.sender import share_budget
    from core import instances

    now = datetime.now(UTC)
    limiter = limiter_on(fake)
    for name, beat in (("a", now), ("b", now), ("dead", now - instances.STALE_AFTER * 2)):
        await instances.register(helpdesk.core, name, host="h", pid=1, version="v", now=beat)
    assert await share_budget(helpdesk.core, limiter, now) == 2
    assert limiter.limits.overall == SendLimiter.shared_rate(RateLimits().overall, 2)
    await instances.unregister(helpdesk.core, "b")
    assert await share_budget(helpdesk.core, limiter, now) == 1
    assert limiter.limits.overall == RateLimits().overall


async def test_a_killed_instance_s_share_of_the_budget_is_freed_within_ten_seconds(helpdesk, fake):
    from datetime import UTC, datetime

    from bot.sender import share_budget
    from core import instances

    now = datetime.now(UTC)
    limiter = limiter_on(fake)
    await instances.register(helpdesk.core, "survivor", host="h", pid=1, version="v", now=now)
    killed = now - timedelta(seconds=10.1)  # its last beat, just before the kill
    await instances.register(helpdesk.core, "killed", host="h", pid=2, version="v", now=killed)
    assert await share_budget(helpdesk.core, limiter, killed + instances.HEARTBEAT) == 2
    assert await share_budget(helpdesk.core, limiter, now) == 1
    assert limiter.limits.overall == RateLimits().overall


def test_the_outbox_lease_is_a_setting_of_five_seconds_and_at_least_one(monkeypatch):
    from pydantic import ValidationError

    from bot.settings import Settings

    monkeypatch.delenv("FAULTDESK_OUTBOX_LEASE", raising=False)
    assert Settings(_env_file=None).outbox_lease == 5.0
    monkeypatch.setenv("FAULTDESK_OUTBOX_LEASE", "2.5")
    assert Settings(_env_file=None).outbox_lease == 2.5
    with pytest.raises(ValidationError, match="at least 1 second"):
        Settings(_env_file=None, outbox_lease=0.5)


# --- leases that ran out while the database was away ----------------------------------------


async def test_a_row_whose_lease_was_lost_while_cut_off_is_not_sent_on_the_stale_claim(
    helpdesk, app, fake, outage_world
):
    """Cut off from the database for longer than a lease (the server stays up), a sender
    loses a row waiting for its turn to another instance: when the turn comes, it asks
    the database first, learns the row is taken and does not send it."""
    outage = outage_world.outage
    for i in range(2):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=5)
    telegram = FakeTelegram()
    # m1's turn comes 15 s after m0: longer than a lease. Both rows are in hand at once.
    limits = RateLimits(chat=Rate(1 / 15))
    sender = OutboxSender(
        app, telegram, owner="holder", limiter=limiter_on(fake, limits), batch=2, in_hand=2
    )

    async def at_tick(tick: int) -> None:
        # The holder is cut off from 0.5 s to 16 s (m1's turn comes meanwhile); the other
        # instance claims at 12 s, once the holder's lease (10 s) has run out.
        if tick == 10:
            outage.down = True
        if tick == 240:
            await outage_world.rival_claims(lease=sender.lease)
        if tick == 320:
            outage.down = False

    await outage_world.run(sender, 400, at_tick)

    assert outage_world.rival_got == ["n1"]
    assert telegram.texts(5) == ["m0"]
    taken = await row(helpdesk, "n1")
    assert (taken.status, taken.lease_owner) == (OutboxStatus.PENDING, "rival")


async def test_rows_of_a_sender_cut_off_by_a_server_restart_stay_with_it_and_go_out_once(
    helpdesk, make_sender, fake, monkeypatch, outage_world
):
    """The server restarts during a wave and is away longer than a lease: the sender
    records what it sent before, renews what it holds and sends the rest; another
    instance claiming all along gets nothing of it, and nothing goes out twice."""
    outage = outage_world.outage
    back_at: list[float] = []

    async def up_for(session) -> timedelta:  # up for a day, then since it came back
        return timedelta(seconds=fake.now - back_at[0]) if back_at else timedelta(days=1)

    monkeypatch.setattr(outbox, "database_up_for", up_for)
    await queue(helpdesk, "page", "PAGE", chat_id=1, priority=outbox.PRIORITY_PAGE)
    for i in range(3):
        await queue(helpdesk, f"n{i}", f"m{i}", chat_id=2)
    original = FakeTelegram.perform
    telegram = FakeTelegram()

    async def perform(action: Action) -> Sent:
        sent = await original(telegram, action)
        if action.chat_id == 1:  # the server goes down while the page is in flight
            outage.down = True
        return sent

    telegram.perform = perform  # type: ignore[method-assign]
    sender = make_sender(transport=telegram, limiter=limiter_on(fake), lease=timedelta(seconds=10))

    async def at_tick(tick: int) -> None:
        # Down 12 s (longer than the lease); another instance, not cut off but on the
        # same server, looks for rows every half second while the server is up.
        if tick == 240:
            outage.down = False
            back_at.append(fake.now)
        if tick % 10 == 0 and back_at:
            await outage_world.rival_claims()

    await outage_world.run(sender, 800, at_tick)

    assert outage_world.rival_got == []
    assert telegram.texts(1) == ["PAGE"] and telegram.texts(2) == ["m0", "m1", "m2"]
    assert all(r.status is OutboxStatus.SENT for r in await rows(helpdesk))
