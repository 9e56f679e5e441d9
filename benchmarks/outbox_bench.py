"""Measured figures for the outbox sender: N pages to N chats through a real runtime transport.

    python -m benchmarks.outbox_bench            # 1000 pages to 1000 chats (about 40 s)
    python -m benchmarks.outbox_bench --quick    # 100 pages to 100 chats (a few seconds)
    python -m benchmarks.outbox_bench --runtime ptb --messages 500 --parts delivery

Setup: a scratch SQLite file migrated by Alembic; the sandbox Bot API emulator on loopback
with `strict_rate_limits=True` (it answers 429 whenever a send would break Telegram's
limits: 30/s overall, 1/s per chat); N simulated people who have started the bot; the
chosen runtime's transport (aiogram by default) opened against the emulator; an
`OutboxSender` with its default limits running `run()` on the wall clock.

1. delivery: N `sla.page`-priority rows, one per chat, are queued in one transaction.
   From that commit to the moment the last row is marked sent: time taken, next to the
   floor Telegram allows (N / 30 s); throughput and the steady pace; 429s received and
   rate-limit excesses the emulator saw; enqueue-to-delivered latency per message
   (p50 / p99), from the commit to Telegram receiving it and to `sent_at`; SQL statements
   per message. Checks: every chat got exactly one message and every row is sent.
2. priority: N/2 notices are queued, and a page a third of the way through sending them;
   how long the page waits while the notices are still going out (pages take the next
   turn in the overall queue).
3. instances: three senders on one database, each with its own engine, runtime and
   limiter (as three processes would have), registered as live instances; 20 chats get
   6 messages each; 1 s into the wave the database is unreachable for 3 s (every
   transaction and read of the three engines fails, as when PostgreSQL stops). Counted
   at the emulator: messages delivered twice, messages to one chat closer than 1 s
   apart (what Telegram answers with 429), 429s; and rows left unsent.

    python -m benchmarks.outbox_bench --parts instances --backend both   # $FAULTDESK_TEST_PG_URL

Everything runs in one process and one event loop (the emulator included), so the
figures include the emulator's own work. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from benchmarks.common import (
    StatementCounter,
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    parts_to_run,
    percentile,
    progress_printer,
    scratch_database,
)
from bot.callbacks import CallbackCodec
from bot.chat import Incoming
from bot.context import BotApp
from bot.i18n import I18n
from bot.notifications import Notice, RenderCtx, renders
from bot.ratelimit import SendLimiter
from bot.runtimes import RUNTIMES, RuntimeConfig, create_runtime
from bot.sender import OutboxSender, share_budget
from core import instances, outbox
from core.conversations import ConversationStore
from core.db import Database
from core.enums import OutboxStatus
from core.messages import Message
from core.models import OutboxMessage
from core.unit_of_work import Core
from sandbox import BotApiEmulator

TOKEN = "424242424:AAOutboxBenchmarkToken-0123456789abcd"
CODE = "bench.page"
FIRST_USER = 100_000
TELEGRAM_RATE = 30.0


progress = progress_printer("outbox_bench")


@dataclass(frozen=True, kw_only=True)
class BenchPage(Message):
    """A page-sized message about one ticket."""

    kind: ClassVar[str] = CODE
    ticket: int


@renders(BenchPage)
async def render(m: BenchPage, r: RenderCtx) -> Notice:
    """A page-sized message."""
    return Notice(
        f"🚨 <b>Ticket #{m.ticket}</b>: the arrival deadline was missed.\n"
        "Press Acknowledge when you have seen this."
    )


async def ignore(_incoming: Incoming) -> None:
    """No updates are read."""


@dataclass
class Stack:
    """Database, core, emulator, runtime and a running sender."""

    core: Core
    emulator: BotApiEmulator
    stop: asyncio.Event
    task: asyncio.Task[None]
    close_runtime: Any
    statements: StatementCounter


async def start_stack(url: str, people: int, runtime_name: str) -> Stack:
    database = Database(url)
    statements = StatementCounter(database)
    helpdesk = helpdesk_over(database)
    core = helpdesk.core
    app = BotApp(
        helpdesk=helpdesk,
        conversations=ConversationStore(core),
        codec=CallbackCodec(b"bench-secret"),
        i18n=I18n(default="en"),
    )
    emulator = BotApiEmulator(strict_rate_limits=True)
    await emulator.start()
    emulator.register_bot(TOKEN, username="faultdesk_bench_bot")
    for user_id in range(FIRST_USER, FIRST_USER + people):
        await emulator.person(user_id, f"Engineer{user_id}").start()
    runtime = create_runtime(
        runtime_name, RuntimeConfig(token=TOKEN, api_base_url=emulator.base_url), ignore
    )
    await runtime.open(polling=False)
    sender = OutboxSender(app, runtime.transport)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.2)  # the sender is asleep with nothing to do
    return Stack(core, emulator, stop, task, runtime.close, statements)


async def stop_stack(stack: Stack) -> None:
    stack.stop.set()
    await stack.task
    await stack.close_runtime()
    await stack.emulator.stop()
    stack.statements.close()
    await stack.core.db.dispose()


async def queue(
    core: Core, first: int, count: int, prefix: str, priority: int
) -> tuple[float, datetime, float]:
    """Queue one message per chat in one transaction.

    Returns the monotonic and wall time of the commit, and how long the transaction took.
    """
    began = time.monotonic()
    async with core.transaction() as tx:
        for index in range(count):
            await outbox.enqueue(
                tx,
                BenchPage(ticket=index + 1),
                key=f"{prefix}-{index}",
                chat_id=first + index,
                priority=priority,
            )
    committed = time.monotonic()
    return committed, datetime.now(UTC), committed - began


async def sent_count(core: Core, prefix: str) -> int:
    async with core.reading() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENT,
                    OutboxMessage.key.startswith(f"{prefix}-"),
                )
            )
            or 0
        )


async def wait_sent(core: Core, prefix: str, count: int, limit: float) -> float:
    """Poll until `count` rows of `prefix` are sent; the monotonic time it was seen."""
    deadline = time.monotonic() + limit
    while await sent_count(core, prefix) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{prefix}: not all {count} rows sent within {limit:.0f} s")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def delivery_part(count: int, runtime_name: str) -> bool:
    async with scratch_database("sqlite", None, "outbox") as url:
        progress(f"delivery: starting {runtime_name} and {count} simulated people")
        stack = await start_stack(url, count, runtime_name)
        try:
            before = stack.statements.count
            committed, committed_wall, enqueue_took = await queue(
                stack.core, FIRST_USER, count, "page", outbox.PRIORITY_PAGE
            )
            progress(f"delivery: {count} pages queued in {enqueue_took:.2f} s; sending")
            await wait_sent(stack.core, "page", count, limit=count / 10 + 60)
            statements = stack.statements.count - before
            async with stack.core.reading() as session:
                rows = list(await session.scalars(select(OutboxMessage)))
            emulator = stack.emulator
            records = list(emulator.bot_state().sends)
            refused = [c for c in emulator.calls() if c.status == 429]
            violations = emulator.rate_violations()
        finally:
            await stop_stack(stack)
    received = sorted(record.at - committed for record in records)
    marked = sorted(
        (r.sent_at - committed_wall).total_seconds() for r in rows if r.sent_at is not None
    )
    taken = marked[-1]
    floor = count / TELEGRAM_RATE
    pace = (count - 1) / (received[-1] - received[0]) if count > 1 else float("nan")
    per_chat = Counter(record.chat_id for record in records)
    once = len(per_chat) == count and set(per_chat.values()) == {1}
    all_sent = all(r.status is OutboxStatus.SENT for r in rows) and len(rows) == count
    print()
    print(f"1. delivery: {count} pages to {count} chats via {runtime_name} + emulator + SQLite")
    print("-" * 72)
    lines = [
        ("queueing the rows (one transaction)", f"{enqueue_took:.2f} s"),
        ("time taken: commit -> last row marked sent", f"{taken:.2f} s"),
        ("time taken: commit -> last message at Telegram", f"{received[-1]:.2f} s"),
        (f"Telegram floor ({count} / 30 per s)", f"{floor:.2f} s"),
        ("time taken / floor", f"{taken / floor:.3f}"),
        ("throughput (messages / time taken)", f"{count / taken:.1f} msg/s"),
        ("pace between first and last message", f"{pace:.1f} msg/s"),
        ("first message at Telegram after commit", f"{received[0] * 1000:.0f} ms"),
        ("429 answers received (strict_rate_limits)", f"{len(refused)}"),
        ("rate-limit excesses seen by the emulator", f"{len(violations)}"),
        ("latency commit -> Telegram, p50", f"{percentile(received, 0.5) * 1000:.0f} ms"),
        ("latency commit -> Telegram, p99", f"{percentile(received, 0.99) * 1000:.0f} ms"),
        ("latency commit -> marked sent, p50", f"{percentile(marked, 0.5) * 1000:.0f} ms"),
        ("latency commit -> marked sent, p99", f"{percentile(marked, 0.99) * 1000:.0f} ms"),
        ("SQL statements per message (claim..mark)", f"{statements / count:.1f}"),
        ("check: each chat got exactly one message", "ok" if once else "FAILED"),
        ("check: every row marked sent", "ok" if all_sent else "FAILED"),
    ]
    for label, value in lines:
        print(f"{label:<48} {value:>20}")
    return once and all_sent and not refused


async def priority_part(count: int, runtime_name: str) -> bool:
    notices = max(2, count // 2)
    async with scratch_database("sqlite", None, "outbox") as url:
        delay = notices / TELEGRAM_RATE / 3
        progress(f"priority: {notices} notices, then a page {delay:.1f} s later")
        stack = await start_stack(url, notices + 1, runtime_name)
        try:
            await queue(stack.core, FIRST_USER, notices, "notice", outbox.PRIORITY_NOTICE)
            await asyncio.sleep(delay)
            notices_sent_before = await sent_count(stack.core, "notice")
            committed, _, _ = await queue(
                stack.core, FIRST_USER + notices, 1, "late-page", outbox.PRIORITY_PAGE
            )
            page_seen = await wait_sent(stack.core, "late-page", 1, limit=60)
            notices_left = notices - await sent_count(stack.core, "notice")
            await wait_sent(stack.core, "notice", notices, limit=notices / 10 + 60)
            page_chat = FIRST_USER + notices
            received = next(
                r.at for r in stack.emulator.bot_state().sends if r.chat_id == page_chat
            )
        finally:
            await stop_stack(stack)
    print()
    print(f"2. priority: a page queued behind {notices} notices")
    print("-" * 72)
    lines = [
        ("notices already sent when the page was queued", f"{notices_sent_before}"),
        ("page: enqueue -> Telegram", f"{(received - committed) * 1000:.0f} ms"),
        (
            "page: enqueue -> seen sent in the DB (polled)",
            f"{(page_seen - committed) * 1000:.0f} ms",
        ),
        ("notices still unsent when the page was sent", f"{notices_left}"),
    ]
    for label, value in lines:
        print(f"{label:<48} {value:>20}")
    return True


class Outage:
    """Makes the database unreachable for the engines it wraps while `down` is set."""

    def __init__(self) -> None:
        self.down = False

    def wrap(self, database: Database) -> None:
        """Fail every transaction and read of `database` while down."""
        for name in ("transaction", "reading"):
            original = getattr(database, name)

            def flaky(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                if self.down:
                    raise OperationalError("BEGIN", {}, ConnectionRefusedError("outage"))
                return _original(*args, **kwargs)

            setattr(database, name, flaky)


async def instances_part(
    runtime_name: str,
    backend: str,
    pg_url: str | None,
    senders: int = 3,
    chats: int = 20,
    each: int = 6,
    outage: float = 3.0,
) -> bool:
    count = chats * each
    async with scratch_database(backend, pg_url, "outbox") as url:
        emulator = BotApiEmulator(strict_rate_limits=True)
        await emulator.start()
        emulator.register_bot(TOKEN, username="faultdesk_bench_bot")
        for user_id in range(FIRST_USER, FIRST_USER + chats):
            await emulator.person(user_id, f"Engineer{user_id}").start()
        cut = Outage()
        stop = asyncio.Event()
        tasks, closers, databases = [], [], []
        now = datetime.now(UTC)
        for index in range(senders):
            database = Database(url)
            databases.append(database)
            helpdesk = helpdesk_over(database)
            app = BotApp(
                helpdesk=helpdesk,
                conversations=ConversationStore(helpdesk.core),
                codec=CallbackCodec(b"bench-secret"),
                i18n=I18n(default="en"),
            )
            runtime = create_runtime(
                runtime_name, RuntimeConfig(token=TOKEN, api_base_url=emulator.base_url), ignore
            )
            await runtime.open(polling=False)
            closers.append(runtime.close)
            await instances.register(
                helpdesk.core, f"bench-{index}", host="bench", pid=index, version="-", now=now
            )
            limiter = SendLimiter()
            sender = OutboxSender(app, runtime.transport, limiter=limiter, batch=10, in_hand=20)
            cut.wrap(database)
            tasks.append((sender, limiter, helpdesk.core))
        for _, limiter, core in tasks:
            await share_budget(core, limiter, now)
        watcher = Database(url)  # the benchmark's own view, never cut off
        core = helpdesk_over(watcher).core
        async with core.transaction() as tx:
            for index in range(count):
                await outbox.enqueue(
                    tx,
                    BenchPage(ticket=index + 1),
                    key=f"wave-{index}",
                    chat_id=FIRST_USER + index % chats,
                    priority=outbox.PRIORITY_PAGE,
                )
        began = time.monotonic()
        running = [asyncio.create_task(sender.run(stop)) for sender, _, _ in tasks]
        progress(f"instances: {senders} senders, {count} messages to {chats} chats")
        await asyncio.sleep(1.0)
        cut.down = True
        progress(f"instances: the database is unreachable for {outage:.0f} s")
        await asyncio.sleep(outage)
        cut.down = False
        try:
            await wait_sent(core, "wave", count, limit=120)
        except TimeoutError as error:
            progress(str(error))
        took = time.monotonic() - began
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        unsent = count - await sent_count(core, "wave")
        for close in closers:
            await close()
        for database in [*databases, watcher]:
            await database.dispose()
        calls = [c for c in emulator.calls("sendMessage") if c.token == TOKEN]
        await emulator.stop()
    delivered = Counter(
        (call.params.get("chat_id"), call.params.get("text"))
        for call in calls
        if call.status == 200
    )
    twice = sum(times - 1 for times in delivered.values() if times > 1)
    refused = sum(1 for call in calls if call.status == 429)
    by_chat: dict[object, list[float]] = {}
    for call in calls:
        if call.status == 200:
            by_chat.setdefault(call.params.get("chat_id"), []).append(call.at)
    too_close = sum(
        1
        for times in by_chat.values()
        for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
        if b - a < 1.0
    )
    print()
    print(
        f"3. instances: {senders} senders, {count} messages to {chats} chats,"
        f" {outage:.0f} s outage, {backend}"
    )
    print("-" * 72)
    lines = [
        ("time taken: start -> every row sent", f"{took:.2f} s"),
        ("messages delivered (distinct)", f"{len(delivered)} of {count}"),
        ("messages delivered twice", f"{twice}"),
        ("sends to one chat < 1 s after the last one", f"{too_close}"),
        ("429 answers received (strict_rate_limits)", f"{refused}"),
        ("rows left unsent", f"{unsent}"),
    ]
    for label, value in lines:
        print(f"{label:<48} {value:>20}")
    return twice == 0 and unsent == 0 and len(delivered) == count


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.outbox_bench",
        description="Measure the outbox sender against the Bot API emulator.",
    )
    parser.add_argument("--messages", type=int, help="pages to as many chats (1000)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="aiogram")
    parser.add_argument(
        "--parts",
        default="delivery,priority,instances",
        help="comma-separated: delivery, priority, instances",
    )
    parser.add_argument("--quick", action="store_true", help="100 pages to 100 chats")
    add_backend_options(parser)  # for the instances part; the others run on SQLite
    args = parser.parse_args(argv)
    if args.messages is None:
        args.messages = 100 if args.quick else 1000
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    args.parts = parts_to_run(parser, args.parts, ("delivery", "priority", "instances"))
    args.backends = backends_to_measure(parser, args)
    return args


async def run(args: argparse.Namespace) -> bool:
    ok = True
    if "delivery" in args.parts:
        ok = await delivery_part(args.messages, args.runtime) and ok
    if "priority" in args.parts:
        ok = await priority_part(args.messages, args.runtime) and ok
    if "instances" in args.parts:
        for backend in args.backends:
            ok = await instances_part(args.runtime, backend, args.pg_url) and ok
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    ok = asyncio.run(run(args))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
