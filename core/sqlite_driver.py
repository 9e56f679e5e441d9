"""SQLite on the event loop's own thread: aiosqlite's connection, without its thread.

aiosqlite runs every call (each statement, fetch, BEGIN and COMMIT) on a thread of
its own and hands the result back through the event loop: three or four thread
hand-offs per statement, which cost more CPU than the statements of a chat update
themselves. A local SQLite call takes microseconds, so `InlineConnection` makes the
same calls directly. What must not block the loop is waiting for the write lock (a
writer of another connection or process holds it): the connection has no busy
timeout of its own; a call refused as busy is tried again after an asynchronous
sleep, for as long as SQLite's busy timeout would have waited.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT = 30.0  # seconds a call waits for the write lock before it fails
_FIRST_RETRY, _LONGEST_RETRY = 0.001, 0.05  # seconds between tries, doubling
_SQLITE_BUSY, _SQLITE_BUSY_SNAPSHOT = 5, 517  # a snapshot gone stale is no wait


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_BUSY and code != _SQLITE_BUSY_SNAPSHOT


class _RunNow:
    """Stands for aiosqlite's queue to its thread: runs what is put at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the waiter, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(error)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], *, busy_timeout: float = BUSY_TIMEOUT
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]  # SQLAlchemy posts here directly
        self.busy_timeout = busy_timeout

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        delay, deadline = _FIRST_RETRY, None
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now >= deadline:
                    raise
                await asyncio.sleep(delay)  # the lock's holder may be on this loop
                delay = min(delay * 2, _LONGEST_RETRY)

    async def begin(self, sql: str) -> None:
        """BEGIN straight on the connection (waiting for the write lock as any call does)."""
        assert self._connection is not None
        await self._execute(self._connection.execute, sql)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        """Close the connection at once (nothing is queued to finish first)."""
        self._running = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def connector(
    database: str, *, busy_timeout: float = BUSY_TIMEOUT
) -> Callable[[], Awaitable[InlineConnection]]:
    """SQLAlchemy's `async_creator` for the SQLite file `database`."""

    async def connect() -> InlineConnection:
        # No busy timeout in SQLite itself: a wait there would hold up the event loop.
        return await InlineConnection(
            partial(
                sqlite3.connect,
                database,
                timeout=0,
                isolation_level=None,
                check_same_thread=False,  # closed by the collector, on whichever thread
            ),
            busy_timeout=busy_timeout,
        )

    return connect
