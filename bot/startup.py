"""Starting during an outage: wait for the database and the Bot API, then serve.

Under systemd or in a container, a bot that exits when Telegram or the database is away
for a moment turns into a restart loop. Instead, start-up tries again with capped
exponential backoff (`bot.ratelimit.Backoff`: 0.5 s doubling up to
`FAULTDESK_STARTUP_BACKOFF_MAX`, with jitter), logging every failed try and the
recovery. What retrying cannot fix stops at once with a clear message: a token Telegram
refuses (401), a database that refuses our credentials, a policy file that does not
validate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text

from bot.ratelimit import Backoff
from core.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


def startup_backoff(cap: float) -> Backoff:
    """The schedule of start-up tries: 0.5 s, 1 s, 2 s ... up to `cap` seconds apart."""
    return Backoff(base=0.5, cap=cap)


async def database_reachable(url: str) -> None:
    """Connect and run SELECT 1; raises what the driver raised."""
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await database.dispose()


async def keep_trying(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    passes: Callable[[BaseException], bool],
    backoff: Backoff,
    describe: Callable[[BaseException], str] = str,
) -> T:
    """Run `attempt` until it succeeds; wait and retry while the error `passes`.

    Every failed try is logged with what went wrong and when the next comes; the first
    success after failures says how long it took. Errors that do not pass propagate.
    """
    tries = 0
    started = time.monotonic()
    while True:
        tries += 1
        try:
            result = await attempt()
        except Exception as error:
            if not passes(error):
                raise
            delay = backoff.delay(tries)
            log.warning(
                "%s not reachable (try %d): %s; next try in %.1f s",
                what,
                tries,
                describe(error) or type(error).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            continue
        if tries > 1:
            log.info(
                "%s reachable after %d tries (%.1f s)", what, tries, time.monotonic() - started
            )
        return result
