"""The outbox sender against the Bot API emulator, through the real runtime transports.

Each test runs one or two senders (as separate instances would: their own engine on the
shared SQLite file, their own runtime and HTTP session) over a domain clock that runs in
real time, injects Telegram's failures with the emulator, and checks what every chat got
and what the database holds: nothing lost, nothing twice.

Real time is virtual (the `virtual_time` fixture) for the senders, their limiters, the
domain clock and the emulator alike: it moves only while no HTTP request and no database
transaction is in flight and every task waits, so the times these tests assert are the
same on an idle machine and on a busy one.
"""

from __future__ import annotations

import asyncio
import html
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from bot.callbacks import CallbackCodec
from bot.chat import Action, Incoming, SendDocument, SendPhoto, Sent
from bot.context import BotApp
from bot.i18n import I18n
from bot.notifications import Notice, RenderCtx, renders
from bot.ratelimit import Rate, RateLimits, SendLimiter
from bot.runtimes import RUNTIMES, Runtime, RuntimeConfig, create_runtime
from bot.sender import OutboxSender
from core import outbox
from core.clock import AcceleratedClock
from core.conversations import ConversationStore
from core.db import Database
from core.enums import OutboxStatus, Role
from core.messages import Message
from core.models import OutboxMessage
from core.services import Helpdesk
from core.sla.policy import Policy
from core.unit_of_work import Core
from sandbox import BotApiEmulator
from sandbox.images import make_png

pytestmark = pytest.mark.e2e

TOKEN = "555000111:AAE2eOutboxSenderDeliveryTests-0123456"
NOTE = "e2e.note"
REPORT = "e2e.report"
# Monday 2 March 2026, 09:00 in Shanghai.
START_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Note(Message):
    """A line of text."""

    kind: ClassVar[str] = NOTE
    text: str


@dataclass(frozen=True, kw_only=True)
class Report(Message):
    """A report: text, then a chart and a file."""

    kind: ClassVar[str] = REPORT


@renders(Note)
async def render_note(m: Note, r: RenderCtx) -> Notice:
    return Notice(html.escape(m.text))


@renders(Report)
async def render_report(m: Report, r: RenderCtx) -> Notice:
    assert r.chat_id is not None
    return Notice(
        "📊 <b>Monthly report</b>",
        attachments=[
            SendPhoto(r.chat_id, make_png(4, 3), caption="Tickets per week", filename="c.png"),
            SendDocument(r.chat_id, b"week,tickets\n1,4\n", filename="report.csv"),
        ],
    )


async def ignore(_incoming: Incoming) -> None:
    """Updates are not the point here."""


class Counting:
    """The instance's runtime transport, counting what went through it."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    async def perform(self, action: Action) -> Sent:
        async with self.instance.virtual.io():  # time stands still during the round trip
            sent = await self.instance.runtime.transport.perform(action)
        self.instance.sends += 1
        return sent


class Instance:
    """One running bot instance: its own engine, core, runtime transport and sender."""

    def __init__(
        self,
        database_url: str,
        policy: Policy,
        clock: AcceleratedClock,
        emulator: BotApiEmulator,
        runtime: str,
        virtual: Any,
        *,
        limits: RateLimits | None = None,
        lease: timedelta = timedelta(seconds=60),
        sender_options: dict[str, int] | None = None,
    ) -> None:
        self.virtual = virtual  # the tests' VirtualTime: real seconds for this instance
        self.db = Database(database_url)
        self.core = Core(self.db, clock, policy)
        self.app = BotApp(
            helpdesk=Helpdesk(self.core),
            conversations=ConversationStore(self.core),
            codec=CallbackCodec(b"e2e-secret"),
            i18n=I18n(default="en"),
        )
        self.runtime: Runtime = create_runtime(
            runtime, RuntimeConfig(token=TOKEN, api_base_url=emulator.base_url), ignore
        )
        self.sends = 0  # successful sends through this instance
        self.limiter = SendLimiter(limits, clock=virtual, sleep=virtual.sleep)
        self.lease = lease
        self.sender_options = sender_options or {}
        self.sender: OutboxSender | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> OutboxSender:
        """Open the runtime (getMe) and run the sender in the background."""
        async with self.virtual.io():
            await self.runtime.open(polling=False)
        self.sender = OutboxSender(
            self.app,
            Counting(self),
            limiter=self.limiter,
            lease=self.lease,
            **self.sender_options,  # type: ignore[arg-type]
        )
        self._task = asyncio.create_task(self.sender.run(self._stop))
        return self.sender

    async def stop(self) -> None:
        """Stop the sender (it hands back what it holds), close HTTP and the engine."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 60)  # a safety net: stopping needs no time
            async with self.virtual.io():
                await self.runtime.close()
        async with self.virtual.io():
            await self.db.dispose()


@pytest.fixture
async def telegram(virtual_time) -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        emulator.monotonic = virtual_time  # send times and strict rate limits
        emulator.register_bot(TOKEN, username="faultdesk_bot")
        yield emulator
        emulator.assert_no_violations()


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def real_time(virtual_time) -> AcceleratedClock:
    """Domain time that runs like real time, so retry times come due by themselves."""
    return AcceleratedClock(START_AT, 1.0, monotonic=virtual_time)


Spawn = Callable[..., Awaitable[Instance]]


@pytest.fixture
async def spawn(
    e2e_database_url: str,
    e2e_policy: Policy,
    real_time: AcceleratedClock,
    telegram,
    runtime,
    virtual_time,
) -> AsyncIterator[Spawn]:
    """Start bot instances on the shared database; all are stopped at the end.

    Time moves on its own meanwhile, whenever nothing is left to do before it does.
    """
    started: list[Instance] = []

    async def make(*, start: bool = True, **options: object) -> Instance:
        instance = Instance(
            e2e_database_url,
            e2e_policy,
            real_time,
            telegram,
            runtime,
            virtual_time,
            **options,  # type: ignore[arg-type]
        )
        started.append(instance)
        if start:
            await instance.start()
        return instance

    async with virtual_time.moving():
        yield make
        for instance in started:
            await instance.stop()


# --- helpers ------------------------------------------------------------------------------


async def queue_notes(core: Core, chats: list[int], *, prefix: str = "m") -> list[str]:
    """One note per entry of `chats` (in order), in one transaction; returns their keys."""
    keys = []
    async with core.transaction() as tx:
        for index, chat_id in enumerate(chats):
            key = f"{prefix}{index}"
            text = f"{prefix}{index} for {chat_id}"
            await outbox.enqueue(tx, Note(text=text), key=key, chat_id=chat_id)
            keys.append(key)
    return keys


async def outbox_rows(core: Core) -> list[OutboxMessage]:
    async with core.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


Until = Callable[..., Awaitable[None]]


@pytest.fixture
def until(virtual_time) -> Until:
    """Poll an async condition (database state has no event to await) in virtual time."""

    async def poll(
        condition: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition"
    ) -> None:
        deadline = virtual_time() + within
        while not await condition():
            if virtual_time() > deadline:
                raise AssertionError(f"{what} not reached within {within} s")
            await virtual_time.sleep(0.05)

    return poll


def all_sent(core: Core, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        rows = await outbox_rows(core)
        return len(rows) == count and all(r.status is OutboxStatus.SENT for r in rows)

    return check


def received(telegram: BotApiEmulator) -> Counter[int]:
    """Messages per chat that Telegram accepted."""
    return Counter(record.chat_id for record in telegram.bot_state().sends)


def texts_in(telegram: BotApiEmulator, chat_id: int) -> list[str]:
    log = telegram.bot_state().chats[chat_id]
    return [message.text for message in log.messages()]


async def people(telegram: BotApiEmulator, first: int, count: int) -> list[int]:
    """`count` people who have started the bot; their chat ids."""
    chats = []
    for user_id in range(first, first + count):
        person = telegram.person(user_id, f"User{user_id}")
        await person.start()
        chats.append(user_id)
    return chats


def sends(telegram: BotApiEmulator, status: int | None = None) -> list[tuple[float, int]]:
    """(time, chat) of send calls, optionally of one HTTP status."""
    return [
        (call.at, int(call.params["chat_id"]))
        for call in telegram.calls()
        if call.method in {"sendMessage", "sendPhoto", "sendDocument"}
        and (status is None or call.status == status)
    ]


# --- tests --------------------------------------------------------------------------------


async def test_every_message_reaches_its_chat_once_with_attachments_after_the_text(
    spawn, telegram, until
):
    chats = await people(telegram, 1001, 5)
    telegram.group(-100555, "Managers")
    bot = await spawn()
    await queue_notes(bot.core, chats)
    async with bot.core.transaction() as tx:
        await outbox.enqueue(tx, Report(), key="report", chat_id=-100555)

    await until(all_sent(bot.core, 6), what="every row sent")

    assert received(telegram) == Counter({**dict.fromkeys(chats, 1), -100555: 3})
    report = telegram.bot_state().chats[-100555].messages()
    assert [m.kind for m in report] == ["text", "photo", "document"]
    assert report[0].text == "📊 Monthly report" and report[2].file_name == "report.csv"
    telegram.assert_no_violations(include_rate_limits=True)


async def test_a_flood_on_one_chat_delays_only_that_chat(spawn, telegram, until, virtual_time):
    chats = await people(telegram, 1001, 10)
    flooded = chats[0]
    telegram.inject_flood(chat_id=flooded, retry_after=2, count=2)
    bot = await spawn()
    started = virtual_time()
    await queue_notes(bot.core, [flooded, flooded, *chats[1:]])

    await until(all_sent(bot.core, 11), what="every row sent")

    arrived: dict[int, list[float]] = {}
    for at, chat in sends(telegram, 200):
        arrived.setdefault(chat, []).append(at - started)
    assert max(arrived[chat][0] for chat in chats[1:]) < 1.5  # the others did not wait
    assert arrived[flooded][0] >= 3.9  # two 429s of 2 s each
    assert texts_in(telegram, flooded) == [f"m0 for {flooded}", f"m1 for {flooded}"]  # in order
    assert received(telegram) == Counter({**dict.fromkeys(chats, 1), flooded: 2})
    assert [r.attempts for r in await outbox_rows(bot.core)][:2] == [3, 1]


async def test_a_flood_on_the_whole_bot_pauses_every_send(spawn, telegram, until):
    chats = await people(telegram, 1001, 10)
    telegram.inject_flood(retry_after=2, count=2)  # whichever chats come first
    bot = await spawn()
    await queue_notes(bot.core, chats)

    await until(all_sent(bot.core, 10), what="every row sent")

    refused = sends(telegram, 429)
    delivered = sends(telegram, 200)
    assert len(refused) == 2 and refused[0][1] != refused[1][1]
    assert min(at for at, _ in delivered) >= refused[1][0] + 1.95  # nothing went in between
    assert received(telegram) == Counter(dict.fromkeys(chats, 1))


@pytest.mark.parametrize("mode", ["disconnect", "502"])
async def test_an_outage_then_recovery_delivers_everything_exactly_once(
    spawn, telegram, mode, until, virtual_time
):
    chats = await people(telegram, 1001, 20)
    bot = await spawn()
    telegram.set_outage(True, mode=mode)
    await queue_notes(bot.core, chats)
    await virtual_time.sleep(3)
    assert received(telegram) == Counter()
    telegram.set_outage(False)

    await until(all_sent(bot.core, 20), within=30, what="every row sent after the outage")

    assert received(telegram) == Counter(dict.fromkeys(chats, 1))
    rows = await outbox_rows(bot.core)
    assert all(r.sent_at is not None for r in rows)
    assert max(r.attempts for r in rows) >= 2  # tried during the outage, put back, sent later


async def test_people_who_cannot_be_reached_are_failed_and_the_admins_told(spawn, telegram, until):
    ada = telegram.person(9001, "Ada")
    await ada.start()
    li = telegram.person(1001, "Li")
    await li.start()
    telegram.person(1002, "Newbie")  # never pressed Start
    bot = await spawn()
    staff = bot.app.helpdesk.people
    await staff.create_person(name="Ada", role=Role.ADMIN, telegram_user_id=9001, language="en")
    li_id = (await staff.create_person(name="Li Na", role=Role.STAFF, telegram_user_id=1001)).id
    newbie_id = (
        await staff.create_person(name="New Bie", role=Role.STAFF, telegram_user_id=1002)
    ).id
    telegram.block(1001)
    async with bot.core.transaction() as tx:
        for key, person in (("to-li", li_id), ("to-newbie", newbie_id)):
            await outbox.enqueue(tx, Note(text="hello"), key=key, recipient_id=person)

    await until(_failed_and_alerted(bot.core), what="both failures alerted")

    statuses = {r.key: r.status for r in await outbox_rows(bot.core)}
    assert statuses["to-li"] is statuses["to-newbie"] is OutboxStatus.FAILED
    alerts = texts_in(telegram, 9001)
    assert len(alerts) == 2
    blocked = next(text for text in alerts if "Li Na" in text)
    assert "e2e.note" in blocked and "they blocked the bot" in blocked
    never = next(text for text in alerts if "New Bie" in text)
    assert "never started the bot" in never


def _failed_and_alerted(core: Core) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        rows = await outbox_rows(core)
        alerts = [r for r in rows if r.code == outbox.DELIVERY_FAILED]
        return len(alerts) == 2 and all(r.status is OutboxStatus.SENT for r in alerts)

    return check


async def test_two_instances_send_each_row_once(spawn, telegram, until):
    chats = await people(telegram, 1001, 50)
    database = await spawn(start=False)
    await queue_notes(database.core, chats + chats)
    # Small hands, so neither instance can take everything in its first claim.
    options = {"batch": 10, "in_hand": 20}
    first, second = await asyncio.gather(
        spawn(limits=RateLimits(overall=Rate(200)), sender_options=options),
        spawn(limits=RateLimits(overall=Rate(200)), sender_options=options),
    )

    await until(all_sent(first.core, 100), what="every row sent")

    assert received(telegram) == Counter(dict.fromkeys(chats, 2))
    assert first.sends + second.sends == 100 and first.sends and second.sends
    assert all(r.sent_at is not None and r.attempts == 1 for r in await outbox_rows(first.core))


async def test_a_new_instance_takes_over_rows_a_crashed_one_had_leased(
    spawn, telegram, until, virtual_time
):
    chats = await people(telegram, 1001, 15)
    database = await spawn(start=False)  # only the database outlives the crashed instance
    await queue_notes(database.core, chats)
    leased = await outbox.claim(database.core, owner="crashed", limit=5, lease=timedelta(seconds=2))
    crashed_at = virtual_time()

    await spawn()
    await until(all_sent(database.core, 15), what="every row sent")

    assert received(telegram) == Counter(dict.fromkeys(chats, 1))
    taken_over = {d.chat_id for d in leased}
    first_send = {chat: at for at, chat in reversed(sends(telegram, 200))}
    assert all(first_send[chat] - crashed_at >= 1.9 for chat in taken_over)  # lease ran out
    assert all(first_send[chat] - crashed_at < 1.5 for chat in set(chats) - taken_over)


async def test_a_stopped_instance_hands_back_its_rows_to_the_next_one(
    spawn, telegram, until, virtual_time
):
    chats = await people(telegram, 1001, 3)
    first = await spawn()
    await queue_notes(first.core, chats * 4)  # four each: 1.15 s apart in a chat
    await virtual_time.sleep(1.0)
    await first.stop()
    partial = received(telegram)
    assert partial == Counter(chats)  # one each so far: the next ones were 1.15 s away
    assert not [r for r in await outbox_rows(first.core) if r.lease_owner is not None]

    second = await spawn()
    await until(all_sent(second.core, 12), what="every row sent")

    assert received(telegram) == Counter(dict.fromkeys(chats, 4))
    for chat in chats:
        assert texts_in(telegram, chat) == [
            f"m{i} for {chat}" for i in range(12) if chats[i % 3] == chat
        ]


async def test_a_burst_to_many_chats_stays_within_telegrams_limits(
    spawn, telegram, until, virtual_time
):
    telegram.strict_rate_limits = True  # the emulator answers 429 like Telegram
    chats = await people(telegram, 1001, 50)
    bot = await spawn()
    started = virtual_time()
    await queue_notes(bot.core, chats * 4)

    await until(all_sent(bot.core, 200), within=30, what="every row sent")

    elapsed = virtual_time() - started
    assert sends(telegram, 429) == []
    assert telegram.rate_violations() == []
    assert received(telegram) == Counter(dict.fromkeys(chats, 4))
    assert elapsed < 200 / 27 + 2  # close to the pace the limits allow, not one by one


async def test_three_instances_keep_each_chats_pace_between_them(spawn, telegram, until):
    """A chat's messages go through one instance at a time, so no chat gets two messages
    within Telegram's per-chat second, however the rows are spread over the instances."""
    telegram.strict_rate_limits = True  # the emulator answers 429 like Telegram
    chats = await people(telegram, 1001, 6)
    watcher = await spawn(start=False)
    await queue_notes(watcher.core, chats * 5)
    # Small hands: every instance claims rows while the others still hold some.
    options = {"batch": 2, "in_hand": 4}
    await asyncio.gather(*(spawn(sender_options=options) for _ in range(3)))

    await until(all_sent(watcher.core, 30), within=60, what="every row sent")

    assert sends(telegram, 429) == []
    assert telegram.rate_violations() == []
    assert received(telegram) == Counter(dict.fromkeys(chats, 5))
    for chat in chats:
        assert texts_in(telegram, chat) == [
            f"m{i} for {chat}" for i in range(30) if chats[i % 6] == chat
        ]


class Outage:
    """The database out of reach of the instances it wraps while `down` is set."""

    def __init__(self, *instances: Instance) -> None:
        from sqlalchemy.exc import OperationalError

        self.down = False
        for instance in instances:
            for name in ("transaction", "reading"):
                original = getattr(instance.db, name)

                def flaky(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                    if self.down:
                        raise OperationalError("BEGIN", {}, ConnectionRefusedError("outage"))
                    return _original(*args, **kwargs)

                setattr(instance.db, name, flaky)


async def test_a_database_outage_mid_wave_delivers_every_message_once(
    spawn, telegram, until, virtual_time
):
    """Both instances lose the database for 3 s while sending (short leases, as deployed):
    every chat gets each of its messages once, in order, and nothing is left unsent."""
    chats = await people(telegram, 1001, 10)
    watcher = await spawn(start=False)  # the test's own view of the database
    await queue_notes(watcher.core, chats * 3)
    lease = timedelta(seconds=5)
    first, second = await asyncio.gather(spawn(lease=lease), spawn(lease=lease))
    outage = Outage(first, second)

    async def some_sent() -> bool:
        return sum(received(telegram).values()) >= 5

    await until(some_sent, what="the wave under way")
    outage.down = True
    await virtual_time.sleep(3.0)
    outage.down = False
    await until(all_sent(watcher.core, 30), within=60, what="every row sent")

    assert received(telegram) == Counter(dict.fromkeys(chats, 3))
    for chat in chats:
        assert texts_in(telegram, chat) == [
            f"m{i} for {chat}" for i in range(30) if chats[i % 10] == chat
        ]
    assert first.sends + second.sends == 30
