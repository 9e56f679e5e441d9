"""Many steps due at one instant fire as a batch: a few statements for all, the same outcome."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core import scheduling
from core.audit import verify_chain
from core.enums import Impact, WorkStatus
from core.models import AuditEvent, DueWork, OutboxMessage, Page
from core.pages import PAGE_REPEAT, repeat_key
from core.sla.deadlines import ESCALATION
from core.tickets import PROGRESS
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9AM = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
TICKETS = 20


class Statements:
    """Counts statements sent to the database while in use."""

    def __init__(self, database: Any) -> None:
        self.count = 0
        self._engine = database.engine.sync_engine

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


class Objects:
    """Counts ORM objects added to a session (by class), loaded from rows, and audit events
    built while in use."""

    def __init__(self) -> None:
        self.added: Counter[str] = Counter()
        self.loaded = 0
        self.events_built = 0

    def _built(self, *_args: object) -> None:
        self.events_built += 1

    def _added(self, _session: Session, instance: object) -> None:
        self.added[type(instance).__name__] += 1

    def _loaded(self, _session: Session, _instance: object) -> None:
        self.loaded += 1

    def __enter__(self) -> Objects:
        event.listen(Session, "transient_to_pending", self._added)
        event.listen(Session, "loaded_as_persistent", self._loaded)
        event.listen(AuditEvent, "init", self._built)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(Session, "transient_to_pending", self._added)
        event.remove(Session, "loaded_as_persistent", self._loaded)
        event.remove(AuditEvent, "init", self._built)


async def _a_wave_of_due_steps(helpdesk, world, clock) -> int:
    """TICKETS new tickets whose acknowledge ladders (80, 100, 150 %) all fall due at once."""
    clock.set(MONDAY_9AM)
    for _ in range(TICKETS):
        await helpdesk.tickets.report_fault(
            world.reporter_id,
            symptom="Printer jams",
            impact=Impact.BUSINESS_STOPPED,
            asset_tag=world.asset_tag,
        )
    clock.set(MONDAY_9AM + timedelta(minutes=95))
    async with helpdesk.core.transaction() as tx:
        await scheduling.cancel_where(tx, DueWork.kind == PROGRESS)
    async with helpdesk.core.reading() as session:
        due = await session.scalar(
            select(func.count())
            .select_from(DueWork)
            .where(
                DueWork.kind == ESCALATION,
                DueWork.status == WorkStatus.PENDING,
                DueWork.due_at <= clock.now(),
            )
        )
    assert due is not None
    return due


async def test_a_batch_writes_its_audit_events_and_pages_without_an_orm_object_each(
    helpdesk, world, clock
):
    due = await _a_wave_of_due_steps(helpdesk, world, clock)
    runner = helpdesk.runner()
    with Objects() as objects:
        result = await runner.sweep()

    assert result.failed == 0 and result.fired == due == 3 * TICKETS
    async with helpdesk.core.reading() as session:
        events = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(("sla.escalated", "sla.step_skipped")))
        )
        pages = await session.scalar(select(func.count()).select_from(Page))
        chain = await verify_chain(session)
    assert events == due and pages  # written all the same, chained in order
    assert chain.ok, chain.problems
    # Sent as executemany rows (core.deferred), not as objects the session flushes one
    # by one; nothing else is added as an object either.
    assert objects.added == Counter(), objects.added
    assert objects.events_built == 0  # not even as a transient object
    # What a step reads is loaded once for the chunk: a few rows a step (its ticket, clock,
    # ladder, people), not a query's worth each.
    assert objects.loaded <= 2 * result.fired, (objects.loaded, result.fired)


async def test_steps_due_at_one_instant_fire_in_a_few_statements_each_exactly_once(
    helpdesk, world, clock, database
):
    clock.set(MONDAY_9AM)
    for _ in range(TICKETS):
        await helpdesk.tickets.report_fault(
            world.reporter_id,
            symptom="Printer jams",
            impact=Impact.BUSINESS_STOPPED,  # level 1: nothing to raise, no step moves
            asset_tag=world.asset_tag,
        )
    # Nothing ran for an hour and a half: every ticket's acknowledge ladder (80, 100 and
    # 150 % of 1 h) is due at once. The reporters' hourly progress notes are not what
    # this measures.
    clock.set(MONDAY_9AM + timedelta(minutes=95))
    async with helpdesk.core.transaction() as tx:
        await scheduling.cancel_where(tx, DueWork.kind == PROGRESS)
    async with helpdesk.core.reading() as session:
        due = await session.scalar(
            select(func.count())
            .select_from(DueWork)
            .where(
                DueWork.kind == ESCALATION,
                DueWork.status == WorkStatus.PENDING,
                DueWork.due_at <= clock.now(),
            )
        )
    assert due is not None and due >= 3 * TICKETS

    runner = helpdesk.runner()
    with Statements(database) as statements:
        result = await runner.sweep()

    assert result.failed == 0 and result.fired == due == 3 * TICKETS
    # Row by row this took about sixteen statements a step; as a batch, a few in all.
    assert statements.count < result.fired, statements.count
    async with helpdesk.core.reading() as session:
        handled = Counter(
            (event.entity_id, event.data["clock"], event.data["percent"])
            for event in await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(("sla.escalated", "sla.step_skipped"))
                )
            )
        )
        left = await session.scalar(
            select(func.count())
            .select_from(DueWork)
            .where(
                DueWork.kind == ESCALATION,
                DueWork.status == WorkStatus.PENDING,
                DueWork.due_at <= clock.now(),
            )
        )
        pages = list(await session.scalars(select(Page).order_by(Page.id)))
        page_messages = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.page_id.is_not(None)))
        )
        repeats = {
            work.key: work
            for work in await session.scalars(select(DueWork).where(DueWork.kind == PAGE_REPEAT))
        }
        chain = await verify_chain(session)
    assert left == 0
    assert set(handled.values()) == {1}  # every step once, fired or dropped
    assert len({ticket for ticket, _, _ in handled}) == TICKETS
    # Each page has its id before the batch was written: its message and first repeat
    # point at it.
    assert pages and len({page.id for page in pages}) == len(pages)
    assert Counter(message.page_id for message in page_messages) == {page.id: 1 for page in pages}
    for page in pages:
        repeat = repeats[repeat_key(page.id, 1)]
        assert repeat.payload == {"page_id": page.id, "repeat": 1}
        assert repeat.ticket_id == page.ticket_id
    assert chain.ok, chain.problems


async def test_a_failing_step_in_a_batch_leaves_the_others_fired_once_and_itself_kept(
    database, policy, clock
):
    core = Core(database, clock, policy)
    calls: list[str] = []

    async def flaky(tx, work):
        calls.append(work.key)
        if work.key == "bad":
            raise RuntimeError("printer on fire")
        await tx.audit("work", work.id, "bench.fired", key=work.key)

    async def prefetch(_tx, works):
        calls.append(f"prefetch {len(works)}")

    runner = scheduling.DueWorkRunner(core, {"x": flaky}, prefetch={"x": prefetch})
    async with core.transaction() as tx:
        for key in ("a", "bad", "b"):
            await scheduling.schedule(tx, key=key, kind="x", due_at=tx.now)
    result = await runner.sweep()

    assert (result.fired, result.failed) == (2, 1)
    # The batch stopped at the failing row and was rolled back; fired again row by row.
    assert calls == ["prefetch 3", "a", "bad", "a", "bad", "b"]
    async with core.reading() as session:
        fired = list(
            await session.scalars(select(AuditEvent.data).where(AuditEvent.action == "bench.fired"))
        )
        bad = await session.scalar(select(DueWork).where(DueWork.key == "bad"))
        chain = await verify_chain(session)
    assert sorted(data["key"] for data in fired) == ["a", "b"]  # once each
    assert bad is not None and bad.status == WorkStatus.PENDING and bad.attempts == 1
    assert "printer on fire" in (bad.last_error or "")
    assert chain.ok, chain.problems


class Updates:
    """Records each UPDATE of due_work sent while in use: how many rows' parameters it had."""

    def __init__(self, database: Any) -> None:
        self.sent: list[tuple[str, int]] = []
        self._engine = database.engine.sync_engine

    def _seen(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        if statement.startswith("UPDATE due_work SET status"):
            self.sent.append((statement, len(parameters) if many else 1))

    def __enter__(self) -> Updates:
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


async def test_a_chunk_marks_its_fired_steps_done_with_one_set_based_update(
    helpdesk, world, clock, database
):
    due = await _a_wave_of_due_steps(helpdesk, world, clock)
    runner = helpdesk.runner()
    runner.chunk = 25  # three chunks for the sixty steps
    # One chunk at a time: a ticket whose steps straddle two chunks in flight together
    # may have its earlier step fired by the later one's chunk first (counted skipped
    # where it was claimed); the overlap has a test of its own below.
    runner.overlap = 1
    with Updates(database) as updates:
        result = await runner.sweep()

    assert result.failed == 0 and result.fired == due == 3 * TICKETS
    # A few statements a chunk (a statement the chunk runs midway first sends what is held),
    # each with one set of parameters: not an UPDATE per fired row (an executemany is
    # still a statement executed per row on the server); PostgreSQL gets the ids as one
    # array, SQLite as an IN list.
    assert all(
        rows == 1 and ("IN (" in statement or "= ANY (" in statement)
        for statement, rows in updates.sent
    )
    assert len(updates.sent) <= 3 * 3, updates.sent
    async with helpdesk.core.reading() as session:
        done = list(
            await session.scalars(
                select(DueWork).where(DueWork.kind == ESCALATION, DueWork.done_at.is_not(None))
            )
        )
        chain = await verify_chain(session)
    assert len(done) == due
    assert {(work.status, work.done_at, work.lease_owner) for work in done} == {
        (WorkStatus.DONE, clock.now(), None)
    }
    assert chain.ok, chain.problems


async def test_on_postgresql_a_chunk_fires_while_another_is_still_being_written(
    helpdesk, world, clock, backend
):
    """Two chunks in flight: one's steps are worked out while the other's are not yet sent.

    The first chunk to start waits, its steps fired but its rows not yet sent (the audit
    chain's head not yet locked), until a step of another chunk has fired: on PostgreSQL
    that chunk runs meanwhile in a transaction of its own. SQLite fires one chunk at a time.
    """
    due = await _a_wave_of_due_steps(helpdesk, world, clock)
    runner = helpdesk.runner()
    runner.chunk = 6  # two tickets' three due steps each (their ids run together)
    started: list[set[int]] = []
    in_flight = most = 0
    another_fired = asyncio.Event()
    held_up: list[int] = []
    fire_chunk, escalate = runner._fire_chunk, runner.handlers[ESCALATION]

    async def counted(ids: list[int], total: scheduling.SweepResult) -> None:
        nonlocal in_flight, most
        started.append(set(ids))
        in_flight += 1
        most = max(most, in_flight)
        try:
            await fire_chunk(ids, total)
        finally:
            in_flight -= 1

    async def gated(tx: Any, work: DueWork) -> None:
        await escalate(tx, work)
        if work.id not in started[0]:
            another_fired.set()
        elif backend == "postgresql":
            # A guard, not a pause: the other chunk fires at once unless it is held up
            # (a failed chunk would be fired again row by row: noted, not only raised).
            try:
                await asyncio.wait_for(another_fired.wait(), timeout=60)
            except TimeoutError:
                held_up.append(work.id)
                raise

    runner._fire_chunk = counted  # type: ignore[method-assign]
    runner.handlers[ESCALATION] = gated
    result = await runner.sweep()

    assert held_up == []
    assert result.failed == 0 and result.fired == due == 3 * TICKETS
    assert most == (2 if backend == "postgresql" else 1)
    async with helpdesk.core.reading() as session:
        events = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(("sla.escalated", "sla.step_skipped")))
        )
        left = await session.scalar(
            select(func.count())
            .select_from(DueWork)
            .where(DueWork.kind == ESCALATION, DueWork.status == WorkStatus.PENDING)
            .where(DueWork.due_at <= clock.now())
        )
        chain = await verify_chain(session)
    assert events == due and left == 0  # each step fired once
    assert chain.ok, chain.problems  # the two chunks' events chained in commit order
