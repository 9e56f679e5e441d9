"""After a level raise: the holiday backlog's sweep time and the messages it writes.

    python -m benchmarks.raise_bench [--backend sqlite|postgresql|both] [--tickets 1000]
        [--pg-url URL]

Seed 003 §2.1.1 raises a fault's level when a deadline is missed. Faults reported during
National Day 2026 at a 5x8 city site (reported through the service, spread over 2-7
October, none accepted) start their clocks at 09:00 on 8 October. The 80 % reminders
are swept at 09:48; then, at 10:00, the acknowledge deadlines pass: each page raises its
ticket to level 1, whose targets count around the clock from the report, so most of the
level-1 ladder lies in the past. Measured: the 10:00 sweep's wall and CPU time, the rows
it fired, the outbox rows it wrote, and the messages each person gets (in all, and at
most per ticket).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from benchmarks.common import (
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    scratch_database,
)
from core.clock import FrozenClock
from core.db import Database
from core.enums import Impact, Role
from core.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


def october(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in October 2026, Shanghai time."""
    return datetime(2026, 10, day, hour, minute, tzinfo=SHANGHAI)


async def measure(backend: str, url: str, tickets: int) -> None:
    """Load the backlog, sweep at 09:48 and at 10:00, print what 10:00 cost and wrote."""
    clock = FrozenClock(october(1, 9))
    db = Database(url)
    helpdesk = helpdesk_over(db, clock=clock)
    try:
        people = helpdesk.people
        site = await people.create_site(code="HQ", name="Head office", region="city", address="-")
        reporter = await people.create_person(name="Li Na", role=Role.STAFF, site_id=site.id)
        staff = {"reporter": reporter.id}
        for name, role in (
            ("engineer", Role.ENGINEER),
            ("backup", Role.ENGINEER),
            ("dispatcher", Role.DISPATCHER),
            ("manager", Role.MANAGER),
        ):
            person = await people.create_person(name=name.title(), role=role, site_id=site.id)
            staff[name] = person.id
        await people.set_backup(staff["engineer"], staff["backup"])
        began = time.perf_counter()
        for n in range(tickets):
            clock.set(october(2 + n % 6, 10, n % 60))
            await helpdesk.tickets.report_fault(
                reporter.id, symptom=f"PC {n} does not start", impact=Impact.CANNOT_WORK
            )
        loaded = time.perf_counter() - began
        runner = helpdesk.runner()
        clock.set(october(8, 9, 48))
        await runner.sweep()
        clock.set(october(8, 10))
        wall, cpu = time.perf_counter(), time.process_time()
        swept = await runner.sweep()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        async with helpdesk.core.reading() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.recipient_id, OutboxMessage.ticket_id).where(
                        OutboxMessage.created_at == clock.now()
                    )
                )
            ).all()
    finally:
        await db.dispose()
    names = {person_id: name for name, person_id in staff.items()}
    per_person = Counter(names.get(r.recipient_id, "group") for r in rows)
    per_ticket = Counter((r.recipient_id, r.ticket_id) for r in rows)
    worst: Counter[str] = Counter()
    for (person_id, _), count in per_ticket.items():
        name = names.get(person_id, "group")
        worst[name] = max(worst[name], count)
    print(
        f"\n[{backend}] {tickets} level-2 tickets reported 2-7 Oct 2026 (loaded in {loaded:.1f} s)"
    )
    print(f"  10:00 sweep: {wall:.2f} s wall, {cpu:.2f} s CPU, {swept.fired} rows fired")
    print(f"  outbox rows written at 10:00: {len(rows)}")
    print("  messages at 10:00 per person: total (most for one ticket)")
    for name in ("engineer", "backup", "dispatcher", "manager", "reporter"):
        print(f"    {name:<10} {per_person[name]:>6} ({worst[name]})")


async def main() -> None:
    """Parse the options and measure each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_options(parser)
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    for backend in backends_to_measure(parser, args):
        async with scratch_database(backend, args.pg_url, "raise") as url:
            await measure(backend, url, args.tickets)


if __name__ == "__main__":
    asyncio.run(main())
