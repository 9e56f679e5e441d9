"""What the console's menu buttons cost: the first pass over N people, a pass where nothing
changed (what every start-up and the 5-minute pass do), and the 2-second look at whether
anyone changed, on a database with an audit log of many ticket events.

    python -m benchmarks.menu_bench [--quick] [--people N] [--events N] [--backend ...]

Telegram is a stand-in that answers at once (the calls it counts are what a real pass
would send); the figures are the bot's own work. Figures to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import insert

from benchmarks.common import (
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    progress_printer,
    scratch_database,
    settle,
)
from bot.chat import Action, Sent
from bot.i18n import I18n
from bot.web.menu import MenuButtons
from core import menu_buttons
from core.clock import FrozenClock
from core.db import Database
from core.enums import Role
from core.models import AuditEvent, Person

PUBLIC = "https://console.example.test/web/"
ROLES = (Role.STAFF, Role.STAFF, Role.STAFF, Role.ENGINEER, Role.DISPATCHER, Role.MANAGER)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
progress = progress_printer("menu_bench")


class CountingTelegram:
    """Answers every call at once and counts them."""

    def __init__(self) -> None:
        self.calls = 0

    async def perform(self, action: Action) -> Sent:
        self.calls += 1
        return Sent(None)


async def load(db: Database, people: int, events: int) -> None:
    """People of every role (half of them staff), and an audit log of mostly ticket events."""
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(Person),
            [
                {
                    "name": f"P{n}",
                    "role": ROLES[n % len(ROLES)],
                    "telegram_user_id": 10_000 + n,
                    "chat_id": 10_000 + n,
                    "language": ("en", "ru", "zh_CN")[n % 3],
                    "active": True,
                    "created_at": NOW,
                }
                for n in range(people)
            ],
        )
        for start in range(0, events, 10_000):
            await conn.execute(
                insert(AuditEvent),
                [
                    {
                        "at": NOW,
                        "entity": "person" if n % 100 == 0 else "ticket",
                        "entity_id": n,
                        "action": "x",
                        "data": {},
                        "prev_hash": "0" * 64,
                        "hash": "0" * 64,
                    }
                    for n in range(start, min(events, start + 10_000))
                ],
            )


async def timed(work: object, repeats: int) -> list[float]:
    """Milliseconds per run of an async callable."""
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        await work()  # type: ignore[operator]
        runs.append((time.perf_counter() - began) * 1000)
    return runs


async def measure(backend: str, pg_url: str | None, people: int, events: int) -> None:
    async with scratch_database(backend, pg_url, "menu") as url:
        db = Database(url)
        try:
            progress(f"{backend}: loading {people} people and {events} audit events")
            await load(db, people, events)
            await settle(db)
            helpdesk = helpdesk_over(db, clock=FrozenClock(NOW))
            buttons = MenuButtons(helpdesk.core, I18n(), bot_id=1, web_url=lambda: PUBLIC)
            telegram = CountingTelegram()
            began = time.perf_counter()
            await buttons.sync(telegram)
            first = (time.perf_counter() - began) * 1000
            first_calls = telegram.calls
            telegram.calls = 0
            unchanged = await timed(lambda: buttons.sync(telegram), 10)
            marker = await timed(lambda: menu_buttons.people_marker(helpdesk.core), 50)
            print(
                f"{backend}: {people} people ({first_calls} with a screen), {events} audit events"
            )
            print(f"  first pass: {first_calls} calls, {first:.0f} ms")
            print(
                f"  pass with nothing changed: {telegram.calls} calls, median"
                f" {statistics.median(unchanged):.1f} ms, max {max(unchanged):.1f} ms"
            )
            print(
                f"  look for a changed person (every 2 s): median"
                f" {statistics.median(marker):.2f} ms, max {max(marker):.2f} ms"
            )
        finally:
            await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000, help="registered people (3000)")
    parser.add_argument("--events", type=int, default=200_000, help="audit events (200 000)")
    parser.add_argument("--quick", action="store_true", help="300 people, 20 000 events")
    add_backend_options(parser)
    args = parser.parse_args()
    if args.quick:
        args.people, args.events = 300, 20_000
    for backend in backends_to_measure(parser, args):
        asyncio.run(measure(backend, args.pg_url, args.people, args.events))


if __name__ == "__main__":
    main()
