"""Injected time. Core code never reads the wall clock; it asks a Clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

# Where the seeds' offices are; a site, a person or a report may name another zone.
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"

# Real (monotonic) seconds, and a wait of that many. Production passes `time.monotonic`
# and `asyncio.sleep`; tests pass a virtual time that moves only when every task waits,
# so a busy machine cannot reorder what a test sees.
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def ensure_utc(moment: datetime) -> datetime:
    """Return `moment` as an aware UTC datetime; naive values are rejected."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return moment.astimezone(UTC)


class Clock(Protocol):
    """Source of the current time, and the bridge from domain time to real seconds."""

    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        ...

    def real_seconds_until(self, moment: datetime) -> float:
        """How many real seconds a sleeper must wait until the clock shows `moment`."""
        ...


class SystemClock:
    """The wall clock, for production."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def real_seconds_until(self, moment: datetime) -> float:
        """Seconds from now to `moment`, never negative."""
        return max(0.0, (moment - self.now()).total_seconds())


class FrozenClock:
    """A clock that only moves when told to; for unit tests."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        """The frozen moment."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        self._now = ensure_utc(moment)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new moment."""
        self._now += delta
        return self._now

    def real_seconds_until(self, moment: datetime) -> float:
        """A frozen clock never reaches the future by itself; callers advance it."""
        return 0.0 if moment <= self._now else float("inf")


class AcceleratedClock:
    """Domain time runs `factor` times faster than real time from a chosen start.

    Used by the offline demo and by time-compressed tests: one real second is
    `factor` domain seconds.
    """

    def __init__(
        self, start: datetime, factor: float, *, monotonic: Monotonic = time.monotonic
    ) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self._start = ensure_utc(start)
        self._factor = factor
        self._monotonic = monotonic  # the real time it runs on (a test's virtual time)
        self._real_start = monotonic()

    @property
    def factor(self) -> float:
        """Domain seconds per real second."""
        return self._factor

    def now(self) -> datetime:
        """Domain time derived from elapsed real (monotonic) time."""
        elapsed = self._monotonic() - self._real_start
        return self._start + timedelta(seconds=elapsed * self._factor)

    def jump(self, delta: timedelta) -> None:
        """Skip domain time forward without waiting (demo: 'two hours later')."""
        self._start += delta

    def real_seconds_until(self, moment: datetime) -> float:
        """Real seconds until the domain clock shows `moment`."""
        return max(0.0, (moment - self.now()).total_seconds() / self._factor)


async def first_of(*events: asyncio.Event, within: float, sleep: Sleep = asyncio.sleep) -> None:
    """Wait until one of `events` is set, or until `sleep(within)` returns."""
    waiters: list[asyncio.Future[object]] = [
        asyncio.ensure_future(event.wait()) for event in events
    ]
    waiters.append(asyncio.ensure_future(sleep(within)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
