"""Bytes a ticket's full life leaves in SQLite, before and after the retention job prunes.

    python -m benchmarks.footprint_bench [--tickets 200] [--seed 2026]

A scratch SQLite file (schema by the Alembic migrations) gets one city site with
`--tickets` staff, each with a PC, and `--tickets // 20` engineers (`demo.seed`). After
a VACUUM that database is the baseline. Then every reporter lives one ticket's whole life
through the real services, on a frozen clock from Tuesday 3 March 2026 10:00 in
Shanghai, the due-work runner sweeping after each stage (so progress messages, the
reminders and the survey reminder fire as they would):

    report (one photo) -> +5 min acknowledge -> +10 min set off -> +40 min arrive
    -> +90 min resolve (a service sheet) -> +2 h fix confirmed -> rated 5 (closed)

and the chat updates that life takes are journaled as a runtime does (written down with
their payload, claimed, finished): 8 for the report dialog, 6 for the engineer's presses
and the resolve dialog, 2 for the verdict and the score. Every outbox row is then
marked delivered (as the sender would), and three days pass (the survey reminder fires).

Figures, per ticket (bytes over the baseline, divided by `--tickets`), per table and in
total, from SQLite's `dbstat` (pages of each table and its indexes) after a VACUUM:
- **after the life**: what a ticket leaves before any pruning;
- **after pruning**: after `core.retention.prune` with the default ages, run once every
  age has passed (31 days on): handled updates, delivered messages and the finished
  ticket's fired or cancelled due work go; the record stays (tickets, clocks, audit,
  ratings, photos, service sheets).
The target for the last figure is 6 KB (6 144 bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from benchmarks.common import helpdesk_over, progress_printer, scratch_database
from core.clock import FrozenClock
from core.conversations import ConversationStore
from core.db import Database
from core.enums import Impact, OutboxStatus, ServiceResult, ServiceType
from core.models import OutboxMessage
from core.retention import RetentionPolicy, prune
from core.services import Helpdesk
from core.tickets import ServiceSheet
from demo.seed import seed_bulk_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI)
TARGET = 6 * 1024
SHEET = ServiceSheet(
    service_type=ServiceType.HARDWARE_FAULT,
    result=ServiceResult.FIXED_ON_SITE,
    solution="Replaced the video cable and checked the display at full brightness",
)
# Chat updates one life takes: the reporter's report dialog, the engineer's presses and
# resolve dialog, the reporter's verdict and score.
UPDATES_PER_LIFE = 8 + 6 + 2

progress = progress_printer("footprint_bench")


def update_payload(update_id: int, user_id: int, words: str) -> dict[str, object]:
    """A private text message update as Telegram sends it (what the journal keeps)."""
    user = {"id": user_id, "is_bot": False, "first_name": "Staff", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": user,
            "chat": {"id": user_id, "first_name": "Staff", "type": "private"},
            "date": 1772503200 + update_id,
            "text": words,
        },
    }


async def table_bytes(db: Database) -> dict[str, int]:
    """Bytes of each table with its indexes, after a VACUUM (SQLite's dbstat)."""
    async with db.engine.connect() as conn:
        # Outside SQLAlchemy's transaction: VACUUM cannot run inside one.
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("VACUUM")
        await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        async with raw.execute("SELECT name, tbl_name FROM sqlite_master") as cursor:
            owners = {str(name): str(table) for name, table in await cursor.fetchall()}
        async with raw.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name") as cursor:
            rows = await cursor.fetchall()
    sizes: dict[str, int] = {}
    for name, size in rows:
        table = owners.get(str(name), str(name))
        sizes[table] = sizes.get(table, 0) + int(size)
    return sizes


async def lives(
    helpdesk: Helpdesk, clock: FrozenClock, reporters: list[int], tags: Sequence[str], seed: int
) -> None:
    """Every reporter's ticket through its whole life, stage by stage, the runner sweeping."""
    rng = random.Random(seed)
    tickets = helpdesk.tickets
    runner = helpdesk.runner()
    store = ConversationStore(helpdesk.core)
    next_update = 1

    async def chat(user_id: int, count: int) -> None:
        nonlocal next_update
        for _ in range(count):
            update_id = next_update
            next_update += 1
            words = rng.choice(("PC-00042", "The screen stays black after power on", "ok"))
            await store.journal_updates([(update_id, update_payload(update_id, user_id, words))])
            assert await store.claim_update(update_id)
            await store.finish_update(update_id)

    opened = []
    for n, reporter in enumerate(reporters):
        await chat(10_000 + reporter, 8)
        ticket = await _report(helpdesk, reporter, tags[n], n)
        opened.append(ticket)
    progress(f"{len(opened)} tickets reported")
    stages = (
        (timedelta(minutes=5), "acknowledge"),
        (timedelta(minutes=10), "depart"),
        (timedelta(minutes=40), "arrive"),
        (timedelta(minutes=90), "resolve"),
    )
    for delay, stage in stages:
        clock.set(START + delay)
        await runner.sweep()
        for ticket_id, engineer_id in opened:
            await chat(10_000 + engineer_id, 1 if stage != "resolve" else 3)
            if stage == "resolve":
                await tickets.resolve(ticket_id, actor_id=engineer_id, sheet=SHEET)
            else:
                await getattr(tickets, stage)(ticket_id, actor_id=engineer_id)
        progress(f"stage {stage} done")
    clock.set(START + timedelta(hours=2))
    await runner.sweep()
    for (ticket_id, _engineer), reporter in zip(opened, reporters, strict=True):
        await chat(10_000 + reporter, 2)
        await tickets.confirm_fix(ticket_id, actor_id=reporter, confirmed=True)
        await tickets.rate(ticket_id, actor_id=reporter, score=5)
    progress("every ticket confirmed and rated")
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=tx.now, message_id=1)
        )
    clock.set(START + timedelta(days=3))
    await runner.sweep()  # the survey reminders, due after the close, fire (and do nothing)


async def _report(helpdesk: Helpdesk, reporter: int, tag: str, n: int) -> tuple[int, int]:
    """One report of a PC by tag, with a photo; (ticket id, engineer id)."""
    ticket = await helpdesk.tickets.report_fault(
        reporter,
        symptom="The screen stays black after power on; the fan runs",
        impact=Impact.CANNOT_WORK,
        asset_tag=tag,
        contact_phone="13800000001",
        photos=[f"AgACAgUAAxkBAAI{n:08d}-photo-file-id-as-telegram-gives-it"],
    )
    assert ticket.assignee_id is not None
    return ticket.id, ticket.assignee_id


async def run(tickets: int, seed: int) -> int:
    """Build, live, measure, prune, measure; print the table. Exit status 1 over target."""
    async with scratch_database("sqlite", None, "footprint") as url:
        db = Database(url)
        clock = FrozenClock(START)
        helpdesk = helpdesk_over(db, clock=clock)
        office = await seed_bulk_staff(helpdesk, staff=tickets, engineers=max(1, tickets // 20))
        reporters = [
            (await helpdesk.people.profile_by_telegram(tid)).id  # type: ignore[union-attr]
            for tid in office.staff_telegram_ids
        ]
        baseline = await table_bytes(db)
        await lives(helpdesk, clock, reporters, office.device_tags, seed)
        lived = await table_bytes(db)
        clock.set(START + timedelta(days=34))
        pruned = await prune(helpdesk.core, RetentionPolicy(), clock.now())
        progress(f"pruned: {pruned}")
        kept = await table_bytes(db)
        await db.dispose()
    print_table(tickets, baseline, lived, kept)
    total = sum(kept.values()) - sum(baseline.values())
    return 0 if total / tickets <= TARGET else 1


def print_table(
    tickets: int, baseline: dict[str, int], lived: dict[str, int], kept: dict[str, int]
) -> None:
    """Bytes per ticket by table, after the life and after pruning."""
    print(f"\nfootprint bench: {tickets} tickets' full lives in SQLite (bytes per ticket)")
    header = f"{'table':22} {'after the life':>14} {'after pruning':>13}"
    print(header + "\n" + "-" * len(header))
    names = sorted(set(lived) | set(kept), key=lambda name: -(lived.get(name, 0)))
    for name in names:
        before = (lived.get(name, 0) - baseline.get(name, 0)) / tickets
        after = (kept.get(name, 0) - baseline.get(name, 0)) / tickets
        if before or after:
            print(f"{name:22} {before:14.0f} {after:13.0f}")
    total_before = (sum(lived.values()) - sum(baseline.values())) / tickets
    total_after = (sum(kept.values()) - sum(baseline.values())) / tickets
    print("-" * len(header))
    print(f"{'total':22} {total_before:14.0f} {total_after:13.0f}")
    verdict = "within" if total_after <= TARGET else "OVER"
    print(
        f"\nafter pruning: {total_after / 1024:.1f} KB per ticket, {verdict} the 6 KB target;"
        f" {UPDATES_PER_LIFE} chat updates journaled per life. Pages of each table and its"
        " indexes (SQLite dbstat), after a VACUUM, over the seeded office's."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.footprint_bench",
        description="Bytes a ticket's full life leaves in SQLite, before and after pruning.",
    )
    parser.add_argument("--tickets", type=int, default=200, help="tickets (one per reporter)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the random words")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.tickets, args.seed))


if __name__ == "__main__":
    raise SystemExit(main())
