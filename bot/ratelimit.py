"""Telegram's sending limits, kept on our side so the bot is not answered 429 in the first place.

Telegram allows a bot about 30 messages a second overall, one a second in a chat and 20 a
minute in a group (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits). Each limit
is a token bucket here. Telegram counts in sliding windows ("more than 30 within any second"),
and a bucket of `burst` tokens refilled at `per_second` lets through at most
`burst + per_second * window` sends in a window, so the defaults keep that sum under each
limit with a margin for the jitter between our clock and the server's.

`SendLimiter.sending(chat, priority)` waits until that chat may be written to, then for a
turn in the overall bucket; turns go to the most urgent waiter first (pages before
reports), so a page queued behind a thousand notices still goes out next. When several
wait, turns are given in pairs (`GROUP`): under load the process wakes once for two sends,
not once for each, and every wake-up of a process that went idle costs CPU of its own (its
caches went cold meanwhile). A 429 pauses the
chat it answered (or, when several chats are refused at once, everything) for
`retry_after`; a network failure pauses everything for an exponential backoff.

Several instances on one token share the overall budget: each takes its share
(`SendLimiter.share`) from the count of live instances in the database, so nobody
configures an instance count. The per-chat budget needs no sharing: a chat's queued
messages go through one sender at a time (`core.outbox` leases chats), and `spacing` is
how long that sender keeps a chat after its last send, so the next one keeps the pace.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

Sleep = Callable[[float], Awaitable[None]]

# A pause may be ended early (see `end_pause`); sleepers look again at least this often.
MAX_NAP = 0.5
# Rounding slack: a bucket holding 0.9999999 tokens is full enough.
EPSILON = 1e-9
# Turns given at once when as many wait and the overall bucket holds as many tokens.
GROUP = 2


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: `burst` tokens, refilled at `per_second` (inf: no limit)."""

    per_second: float
    burst: float = 1.0

    @property
    def unlimited(self) -> bool:
        """Never makes anyone wait."""
        return math.isinf(self.per_second)


@dataclass(frozen=True)
class RateLimits:
    """Telegram's limits with a safety margin; `unlimited()` for in-memory test chats."""

    # 30/s: 27 a second, two at a time when several wait (`GROUP`): at most 2 + 27 = 29
    # in any second, and any 31 messages span (31 - 2) / 27 = 1.07 s (70 ms of slack for
    # jitter and sleeps that overshoot).
    overall: Rate = Rate(27.0, burst=2.0)
    # 1/s per chat: one every 1.15 s absorbs request latency differences between two sends.
    chat: Rate = Rate(1 / 1.15)
    # 20/min per group, on top of the per-chat pace: at most 4 + 15 = 19 in any minute.
    group: Rate = Rate(15 / 60.0, burst=4)
    # In-flight requests at once (Telegram's round trip is ~0.1-0.5 s; 27/s needs a dozen).
    max_in_flight: int = 64

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No pacing at all."""
        free = Rate(math.inf)
        return cls(overall=free, chat=free, group=free)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, capped."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.cap, self.base * 2.0 ** max(0, min(attempt, 62) - 1))
        return ceiling / 2 + float(self.rng.uniform(0, ceiling / 2))


class TokenBucket:
    """Tokens refill continuously up to the burst size; each send takes one."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(
                self.rate.burst, self.tokens + (now - self.updated) * self.rate.per_second
            )
            self.updated = now

    def wait(self, now: float, tokens: int = 1) -> float:
        """Seconds until `tokens` tokens are available (0: now)."""
        if self.rate.unlimited:
            return 0.0
        self._refill(now)
        if self.tokens >= tokens - EPSILON:
            return 0.0
        return (tokens - self.tokens) / self.rate.per_second

    def take(self, now: float) -> None:
        """Use a token (the caller checked `wait` first)."""
        if self.rate.unlimited:
            return
        self._refill(now)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        """Back to its burst size: remembering it changes nothing."""
        if self.rate.unlimited:
            return True
        self._refill(now)
        return self.tokens >= self.rate.burst - EPSILON


@dataclass
class _Chat:
    buckets: tuple[TokenBucket, ...]
    paused_until: float = 0.0


@dataclass(order=True)
class _Turn:
    priority: int
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class SendLimiter:
    """Paces sends per chat and overall, and pauses after 429s and network failures."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        flood_window: float = 1.0,
        flood_chats: int = 2,
        network_backoff: Backoff | None = None,
        max_chats: int = 4096,
    ) -> None:
        self.limits = limits or RateLimits()
        self._whole = self.limits.overall  # the bot's overall budget, before sharing
        self.instances = 1
        self.clock = clock
        self.sleep = sleep
        # 429s from this many different chats within flood_window mean Telegram is
        # flooding the bot as a whole, not one chat.
        self.flood_window = flood_window
        self.flood_chats = flood_chats
        self.network_backoff = network_backoff or Backoff(base=0.5, cap=30.0)
        self.max_chats = max_chats
        self.paused_until = 0.0
        self.network_failures = 0
        self._overall = TokenBucket(self.limits.overall, clock())
        self._chats: dict[int, _Chat] = {}
        self._floods: list[tuple[float, int]] = []
        self._turns: list[_Turn] = []
        self._seq = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self.in_flight = 0
        self._slot_freed = asyncio.Event()

    # -- waiting -----------------------------------------------------------------------------

    @asynccontextmanager
    async def sending(
        self, chat_id: int, priority: int = 5, *, paced: bool = True
    ) -> AsyncIterator[None]:
        """Hold a send slot for `chat_id`: entered when the limits allow one more send now.

        `paced=False` (a direct reply to someone waiting) skips the per-chat pace, which
        Telegram lets short bursts exceed, but still respects 429 pauses and the overall
        rate, and still uses the chat's tokens so queued messages to it wait longer.
        """
        await self._chat_ready(chat_id, paced)
        while True:
            await self._overall_turn(priority)
            now = self.clock()
            if self._chat_wait(chat_id, now, paced) <= 0:
                break
            # A 429 paused this chat while we queued: give the turn back and wait.
            self._release()
            await self._chat_ready(chat_id, paced)
        for bucket in self._chat(chat_id).buckets:
            bucket.take(now)
        try:
            yield
        finally:
            self._release()

    async def _chat_ready(self, chat_id: int, paced: bool = True) -> None:
        while (wait := self._chat_wait(chat_id, self.clock(), paced)) > 0:
            await self._nap(wait)

    def _chat_wait(self, chat_id: int, now: float, paced: bool = True) -> float:
        chat = self._chat(chat_id)
        if not paced:
            return chat.paused_until - now
        return max(chat.paused_until - now, *(bucket.wait(now) for bucket in chat.buckets))

    async def _nap(self, seconds: float) -> None:
        await self.sleep(min(seconds, MAX_NAP))

    async def _overall_turn(self, priority: int) -> None:
        """Wait for an overall token and an in-flight slot; the most urgent waiter goes first.

        The in-flight cap is enforced here, not by a semaphore in front of the queue,
        so a page is not stuck behind a thousand notices waiting for a slot, and a
        token is granted only when the request can go out at once.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._turns, _Turn(priority, next(self._seq), future))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="send-limiter")
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, then abandoned
                self._release()
            raise

    async def _dispatch(self) -> None:
        while self._turns:
            if self._turns[0].future.done():  # its waiter gave up (cancelled)
                heapq.heappop(self._turns)
                continue
            free = self.limits.max_in_flight - self.in_flight
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            # Several waiting: a group at once, as soon as the bucket holds a token for each
            # (a shared budget's bucket holds one: one at a time).
            burst = int(self._overall.rate.burst + EPSILON)
            group = max(1, min(len(self._turns), free, GROUP, burst))
            now = self.clock()
            wait = max(self.paused_until - now, self._overall.wait(now, group))
            if wait > 0:
                await self._nap(wait)
                continue
            for _ in range(group):
                turn = heapq.heappop(self._turns)
                if not turn.future.done():
                    self._overall.take(now)
                    self.in_flight += 1
                    turn.future.set_result(None)
                if not self._turns:
                    break

    def _release(self) -> None:
        self.in_flight -= 1
        self._slot_freed.set()

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            now = self.clock()
            if len(self._chats) >= self.max_chats:
                self._forget_idle_chats(now)
            rates = (self.limits.chat,) if chat_id > 0 else (self.limits.chat, self.limits.group)
            chat = _Chat(tuple(TokenBucket(rate, now) for rate in rates))
            self._chats[chat_id] = chat
        return chat

    def _forget_idle_chats(self, now: float) -> None:
        idle = [
            chat_id
            for chat_id, chat in self._chats.items()
            if chat.paused_until <= now and all(bucket.full(now) for bucket in chat.buckets)
        ]
        for chat_id in idle:
            del self._chats[chat_id]

    # -- sharing -----------------------------------------------------------------------------

    @staticmethod
    def shared_rate(whole: Rate, instances: int) -> Rate:
        """One instance's part of the overall budget when `instances` share it.

        Every instance's bucket holds at least one token to send at all, so the bursts add
        up: n buckets of one token plus n * rate stay under what one bucket of the whole
        budget lets through in a window (`whole.burst + whole.per_second`).
        """
        if instances <= 1 or whole.unlimited:
            return whole
        per_second = max(0.5, (whole.per_second + whole.burst - instances) / instances)
        return Rate(per_second, burst=1.0)

    def share(self, instances: int) -> Rate:
        """Send at this instance's part of the overall budget, `instances` being live."""
        instances = max(1, instances)
        rate = self.shared_rate(self._whole, instances)
        if instances != self.instances:
            self.instances = instances
            self.limits = replace(self.limits, overall=rate)
            now = self.clock()
            self._overall._refill(now)
            self._overall.rate = rate
            self._overall.tokens = min(self._overall.tokens, rate.burst)
        return rate

    def spacing(self, chat_id: int) -> float:
        """Seconds between two sends to `chat_id` at its steady pace (0: unlimited)."""
        rates = (self.limits.chat,) if chat_id > 0 else (self.limits.chat, self.limits.group)
        return max((1 / rate.per_second for rate in rates if not rate.unlimited), default=0.0)

    # -- pauses ------------------------------------------------------------------------------

    def chat_paused_for(self, chat_id: int) -> float:
        """Seconds until `chat_id` may be written to again by a 429 (0: not paused)."""
        chat = self._chats.get(chat_id)
        now = self.clock()
        return max(0.0, self.paused_until - now, (chat.paused_until - now) if chat else 0.0)

    def flooded(self, chat_id: int, retry_after: float) -> tuple[int | None, float]:
        """Telegram answered 429 for `chat_id`: pause it (or everything) for `retry_after`.

        Returns what was paused (the chat, or None for everything) and until when.
        """
        now = self.clock()
        until = now + retry_after
        chat = self._chat(chat_id)
        chat.paused_until = max(chat.paused_until, until)
        self._floods = [(at, c) for at, c in self._floods if now - at < self.flood_window]
        self._floods.append((now, chat_id))
        if len({c for _, c in self._floods}) >= self.flood_chats:
            self.paused_until = max(self.paused_until, until)
            return None, self.paused_until
        return chat_id, chat.paused_until

    def end_pause(self, scope: int | None, until: float) -> None:
        """End a pause early if it still ends at `until` (nothing re-paused it since)."""
        if scope is None:
            if self.paused_until == until:
                self.paused_until = 0.0
            return
        chat = self._chats.get(scope)
        if chat is not None and chat.paused_until == until:
            chat.paused_until = 0.0

    def network_failed(self) -> float:
        """A request failed in transit: pause everything, longer after each failed probe.

        Failures of requests already in flight when the first one failed belong to the
        same outage and do not lengthen the pause.
        """
        now = self.clock()
        if self.paused_until > now:
            return self.paused_until - now
        self.network_failures += 1
        pause = self.network_backoff.delay(self.network_failures)
        self.paused_until = now + pause
        return pause

    def network_ok(self) -> None:
        """A request went through: the next failure starts the backoff from the beginning."""
        self.network_failures = 0
