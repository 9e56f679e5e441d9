"""Due work: rows that must take effect at a time, and the runner that fires them.

A runner claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
SQLite the write lock taken at BEGIN serialises claims), then fires each in a
transaction that re-reads the row under lock and marks it done. Firing and marking
share a transaction, so a row takes effect once even when two runners overlap or a
lease expires mid-way. Rows that fell due while nothing ran are simply overdue, and
the next sweep takes them.

Leases are short (`FAULTDESK_DUE_WORK_LEASE`, 5 s by default) and renewed while the
runner still holds the rows (between chunks, and by a heartbeat during a long one), so
rows a dead instance held are taken over within one lease, not after minutes: an idle
runner sleeps until the earliest lease on a due row runs out (`next_wake`).

Many rows due at once (a Monday 09:00 after a holiday) fire as a batch: up to `chunk`
rows per transaction; kinds that declare a `Prefetch` (ladder steps) have what they read
loaded with one statement per table and fire without a savepoint each, their inserts
held back and sent together (`core.deferred`). A failure rolls the batch back and fires
it again row by row, each in a savepoint.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError

from core import deferred
from core.clock import Sleep, first_of
from core.db_errors import log_failure
from core.enums import WorkStatus
from core.models import DueWork, Ticket
from core.orm import among, insert_unless_key_taken
from core.unit_of_work import Core, Tx

log = logging.getLogger(__name__)

Handler = Callable[[Tx, DueWork], Awaitable[None]]
# Loads, for one transaction, what firing these rows of one kind will read.
Prefetch = Callable[[Tx, Sequence[DueWork]], Awaitable[None]]

# How long a claim holds its rows unless renewed: the longest a dead instance's due work
# waits for another instance to take it over.
DEFAULT_LEASE = timedelta(seconds=10)
# Held rows are renewed once this share of the lease has passed, so a renewal delayed by
# a slow transaction still lands before the lease runs out.
RENEW_SHARE = 1 / 3
# After a failed sweep (the database away) the runner looks again this soon, doubling up
# to RETRY_CAP while it keeps failing: overdue steps fire soon after the database is back.
RETRY_SOON = 0.25
RETRY_CAP = 2.0


@dataclass(frozen=True)
class Fired:
    """One row that took effect: its kind, and how late (domain seconds) it fired."""

    kind: str
    key: str
    ticket_id: int | None
    late_seconds: float


FiredListener = Callable[[Fired], None]


async def schedule(
    tx: Tx,
    *,
    key: str,
    kind: str,
    due_at: datetime | None,
    ticket_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Create a due-work row unless its key exists; True if created (always, when deferred)."""
    values = {
        "key": key,
        "kind": kind,
        "due_at": due_at,
        "ticket_id": ticket_id,
        "payload": dict(payload or {}),
        "status": WorkStatus.PENDING.value,
        "created_at": tx.now,
        "attempts": 0,
    }
    if deferred.deferring(tx):  # a batch of steps: sent with the others (see core.deferred)
        deferred.defer(tx, DueWork, values)
        tx.note_scheduled(due_at)
        return True
    statement = insert_unless_key_taken(tx.dialect, DueWork)
    created = (await tx.session.execute(statement, values)).scalar_one_or_none() is not None
    if created:
        tx.note_scheduled(due_at)
    return created


async def set_due(tx: Tx, work: DueWork, due_at: datetime | None) -> None:
    """Move a pending row to a new due time (None suspends it)."""
    work.due_at = due_at
    work.lease_owner = None
    work.lease_until = None
    tx.note_scheduled(due_at)


async def cancel_where(tx: Tx, *conditions: Any) -> int:
    """Cancel every pending row matching `conditions`; returns how many."""
    result = await tx.session.execute(
        update(DueWork)
        .where(DueWork.status == WorkStatus.PENDING, *conditions)
        .values(status=WorkStatus.CANCELLED, done_at=tx.now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_for_ticket(tx: Tx, ticket_id: int, kind: str | None = None) -> list[DueWork]:
    """Pending rows of a ticket, optionally of one kind."""
    query = select(DueWork).where(
        DueWork.ticket_id == ticket_id, DueWork.status == WorkStatus.PENDING
    )
    if kind is not None:
        query = query.where(DueWork.kind == kind)
    return list(await tx.session.scalars(query.order_by(DueWork.id)))


class _RowFailed(Exception):
    """A row failed in a batched pass: the transaction is rolled back and fired row by row."""


def _done(tx: Tx) -> dict[str, Any]:
    """What a fired row is left with."""
    return {"status": WorkStatus.DONE, "done_at": tx.now, "lease_owner": None, "lease_until": None}


def _mark_done(tx: Tx, work: DueWork) -> None:
    for column, value in _done(tx).items():
        setattr(work, column, value)


@dataclass
class SweepResult:
    """What one sweep did."""

    claimed: int = 0
    fired: int = 0
    failed: int = 0
    skipped: int = 0


class DueWorkRunner:
    """Fires due work at its time: sleeps until the next due row, or until woken."""

    def __init__(
        self,
        core: Core,
        handlers: Mapping[str, Handler],
        *,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 500,
        chunk: int = 250,
        overlap: int = 2,
        prefetch: Mapping[str, Prefetch] | None = None,
        forget: Callable[[Tx], None] | None = None,
        max_idle: float = 5.0,
        retry_after: timedelta = timedelta(seconds=30),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.core = core
        self.handlers = dict(handlers)
        self.owner = owner or f"runner-{uuid.uuid4().hex[:12]}"
        if lease <= timedelta(0):
            raise ValueError("the due-work lease must be positive")
        self.lease = lease
        self.renew_every = lease * RENEW_SHARE
        # Claimed rows not yet fired or given back, and when their lease was last set.
        self._held: set[int] = set()
        self._leased_at: datetime | None = None
        self.renewals = 0  # renewal transactions that extended at least one lease
        self.batch = batch
        self.chunk = chunk
        self.overlap = overlap  # chunks in flight at once (PostgreSQL only)
        self.prefetch = dict(prefetch or {})
        # Drops what was prefetched when a row of another kind fires (it may change it).
        self.forget = forget
        # Upper bound on one sleep: another instance may schedule work this process
        # is not told about; it is found on the next wake at the latest.
        self.max_idle = max_idle
        self.retry_after = retry_after
        self.sleep = sleep  # waits between sweeps, in real seconds (a test's virtual time)
        self._wake = asyncio.Event()
        self._next_look: datetime | None = None  # when the sleeping loop will look on its own
        self.fired_log: list[tuple[str, datetime, datetime]] = []  # (key, due_at, fired_at)
        self.record_lateness = False
        # Told of every row fired (metrics), and of every pass of the loop (readiness).
        self.on_fired: list[FiredListener] = []
        self.on_heartbeat: list[Callable[[], None]] = []
        core.on_work_scheduled(self.wake)

    def wake(self, due_at: datetime | None = None) -> None:
        """Make the loop re-read the next due time now, unless it will look before `due_at` anyway.

        Most commits schedule work hours ahead (a new ticket's ladder); waking for those
        would cost a sweep - a write transaction - for nothing.
        """
        if due_at is not None and self._next_look is not None and due_at >= self._next_look:
            return
        self._wake.set()

    async def claim(self) -> list[int]:
        """Lease up to `batch` due rows to this runner; returns their ids."""
        async with self.core.transaction() as tx:
            now = tx.now
            due = (
                select(DueWork.id)
                .where(
                    DueWork.status == WorkStatus.PENDING,
                    DueWork.due_at <= now,
                    # Over at `lease_until`, as next_wake() counts it (else a runner
                    # woken at that instant finds nothing and looks again at once).
                    or_(DueWork.lease_until.is_(None), DueWork.lease_until <= now),
                )
                .order_by(DueWork.due_at)
                .limit(self.batch)
            )
            if tx.dialect == "postgresql":
                due = due.with_for_update(skip_locked=True)
            result = await tx.session.execute(
                update(DueWork)
                .where(DueWork.id.in_(due.scalar_subquery()))
                .values(lease_owner=self.owner, lease_until=now + self.lease)
                .returning(DueWork.id)
                .execution_options(synchronize_session=False)
            )
            ids = sorted(result.scalars().all())
        if ids:
            self._held.update(ids)
            self._leased_at = now
        return ids

    async def renew(self) -> int:
        """Extend the lease on every row this runner still holds; returns how many.

        Only rows still leased to this runner are touched: a row fired, given back, or
        taken over by another runner after the lease ran out is left alone.
        """
        held = sorted(self._held)
        if not held:
            return 0
        renewed = 0
        async with self.core.transaction() as tx:
            for start in range(0, len(held), 500):  # bound the IN list
                result = await tx.session.execute(
                    update(DueWork)
                    .where(
                        among(tx.dialect, DueWork.id, held[start : start + 500]),
                        DueWork.lease_owner == self.owner,
                        DueWork.status == WorkStatus.PENDING,
                    )
                    .values(lease_until=tx.now + self.lease)
                    .execution_options(synchronize_session=False)
                )
                renewed += int(getattr(result, "rowcount", 0) or 0)
            self._leased_at = tx.now
        if renewed:
            self.renewals += 1
        return renewed

    async def _renew_if_due(self) -> None:
        """Renew the held leases once `renew_every` has passed since they were last set."""
        leased_at = self._leased_at
        if (
            self._held
            and leased_at is not None
            and self.core.clock.now() >= leased_at + self.renew_every
        ):
            await self.renew()

    async def _heartbeat(self, done: asyncio.Event) -> None:
        """While a sweep runs, keep its leases alive even when one chunk takes long."""
        interval = max(self.renew_every.total_seconds(), 0.001)
        while not done.is_set():
            await first_of(done, within=interval, sleep=self.sleep)
            if done.is_set():
                return
            try:
                await self._renew_if_due()
            except Exception as error:  # the sweep itself reports database trouble
                log_failure(log, "renewing due-work leases failed; retrying", error=error)

    async def sweep(self) -> SweepResult:
        """Claim everything due now and fire it, until a claim comes back empty.

        Firing can move other rows (a raised severity pulls deadlines in), so rows that
        became due during this sweep are taken by the next claim round.
        """
        total = SweepResult()
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(done))
        try:
            await self._fire_claimed(total)
        finally:
            done.set()
            self._held.clear()  # whatever is left runs out with its lease
            await heartbeat
        return total

    async def _fire_claimed(self, total: SweepResult) -> None:
        """Claim and fire chunks until a claim made with no chunk in flight finds nothing.

        On PostgreSQL up to `overlap` chunks are in flight, each in a transaction of its
        own: one chunk's steps are worked out while the database writes another's. (Their
        tickets are locked in id order and the audit chain's head only as a chunk's rows
        are sent, so they queue rather than deadlock; a later step fires its clock's
        earlier ones first, whichever chunk holds them.) SQLite has one writer: one chunk.
        """
        overlap = self.overlap if self.core.db.dialect == "postgresql" else 1
        chunks: collections.deque[list[int]] = collections.deque()
        flying: set[asyncio.Task[None]] = set()
        try:
            while True:
                if not chunks and len(flying) < overlap:
                    idle = not flying
                    ids = await self.claim()
                    if ids:
                        total.claimed += len(ids)
                        chunks.extend(
                            ids[start : start + self.chunk]
                            for start in range(0, len(ids), self.chunk)
                        )
                        self._beat()  # a long sweep is progress too
                    elif idle:  # nothing due, and nothing in flight to make more due
                        return
                while chunks and len(flying) < overlap:
                    await self._renew_if_due()  # rows waiting for their chunk stay ours
                    flying.add(asyncio.create_task(self._fire_held(chunks.popleft(), total)))
                finished, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()  # a chunk's failure ends the sweep, as it did alone
        finally:
            for task in flying:
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)

    async def _fire_held(self, chunk: list[int], total: SweepResult) -> None:
        try:
            await self._fire_chunk(chunk, total)
        finally:
            self._held.difference_update(chunk)

    def _beat(self) -> None:
        for beat in self.on_heartbeat:
            beat()

    async def _fire_chunk(self, ids: list[int], total: SweepResult) -> None:
        """Fire claimed rows in one transaction; on a database error, one by one.

        First as one batch: what the rows of kinds that prefetch (ladder steps) read is
        loaded at once, and they fire without a savepoint each, their writes sent
        together. Should one of them fail, that transaction is rolled back whole and the
        chunk fired again with a savepoint per row, so the failing row is kept for a
        retry and the others still fire.
        """
        try:
            if len(ids) > 1:
                try:
                    await self._fire_in_one_transaction(ids, total, batched=True)
                    return
                except _RowFailed as failed:
                    log.info("due work %s failed in a batch; firing the batch row by row", failed)
            await self._fire_in_one_transaction(ids, total)
        except DBAPIError:
            if len(ids) == 1:
                log.exception("due work %s failed at the database", ids[0])
                total.failed += 1
                await self._record_failures([(ids[0], "database error; see log")])
                return
            # A deadlock or serialization failure aborts the whole transaction; retry
            # each row alone so one contended ticket does not hold back the rest.
            log.warning("due-work chunk of %d rolled back; retrying one by one", len(ids))
            for work_id in ids:
                await self._fire_chunk([work_id], total)

    async def _fire_in_one_transaction(
        self, ids: list[int], total: SweepResult, *, batched: bool = False
    ) -> None:
        """Lock the rows' tickets (in id order), then fire each row in its own savepoint.

        `batched`: prefetch what the rows read and fire them without savepoints; the
        first failure raises `_RowFailed`, which rolls the whole transaction back.

        Tickets are locked before due-work rows everywhere (services lock the ticket
        first too), so two runners whose claims touch the same ticket queue instead
        of deadlocking when a handler moves that ticket's other steps.
        """
        failures: list[tuple[int, str]] = []
        fired_now: list[tuple[str, datetime]] = []
        fired: list[Fired] = []
        counts = SweepResult()
        async with self.core.transaction() as tx:
            ticket_ids = sorted(
                {
                    ticket_id
                    for ticket_id in await tx.session.scalars(
                        select(DueWork.ticket_id).where(
                            among(tx.dialect, DueWork.id, ids), DueWork.ticket_id.is_not(None)
                        )
                    )
                    if ticket_id is not None
                }
            )
            if ticket_ids:
                # Loaded whole, so handlers find them locked in the transaction without a
                # SELECT of their own; on SQLite the write lock taken at BEGIN covers them.
                locking = select(Ticket).where(among(tx.dialect, Ticket.id, ticket_ids))
                locking = locking.order_by(Ticket.id)
                if tx.dialect == "postgresql":
                    locking = locking.with_for_update()
                for ticket in await tx.session.scalars(locking):
                    tx.locked[ticket.id] = ticket
            query = select(DueWork).where(among(tx.dialect, DueWork.id, ids))
            query = query.order_by(DueWork.due_at, DueWork.id)
            if tx.dialect == "postgresql":
                query = query.with_for_update()
            works = (
                await tx.session.scalars(query.execution_options(populate_existing=True))
            ).all()
            # Only kinds that prefetch are fired without a savepoint of their own: their
            # handlers only write to the database, so firing them again after a rollback
            # repeats nothing. Other rows in the chunk keep their savepoint.
            batched = batched and any(work.kind in self.prefetch for work in works)
            prefetched: set[str] = set()  # kinds whose rows' reads are loaded
            # Batched kinds' handlers ignore whether an insert found its key taken, so
            # their inserts can be held back and sent together (see core.deferred).
            holding: contextlib.AbstractAsyncContextManager[None] = (
                deferred.deferred_inserts(tx) if batched else contextlib.nullcontext()
            )
            async with holding:
                for index, work in enumerate(works):
                    work_id, key, kind, due_at = work.id, work.key, work.kind, work.due_at
                    ticket_id = work.ticket_id
                    # Re-checked under the row lock: another runner may have fired it after
                    # our lease ran out, or a service (or an earlier row here) moved it.
                    if (
                        work.status != WorkStatus.PENDING
                        or work.lease_owner != self.owner
                        or due_at is None
                        or due_at > tx.now
                    ):
                        counts.skipped += 1
                        continue
                    handler = self.handlers.get(kind)
                    if handler is None:
                        failures.append((work_id, f"no handler for kind {kind!r}"))
                        continue
                    in_batch = batched and kind in self.prefetch
                    if prefetched and kind not in prefetched and self.forget is not None:
                        self.forget(tx)  # this row may change what was prefetched
                        prefetched.clear()
                    if in_batch and kind not in prefetched:  # again, for the rows left
                        await self.prefetch[kind](
                            tx, [later for later in works[index:] if later.kind == kind]
                        )
                        prefetched.add(kind)
                    logged = len(tx.events)
                    tx.firing_due_at = due_at
                    try:
                        if in_batch:
                            await handler(tx, work)
                            # The chunk's fired rows are marked done by one UPDATE.
                            deferred.defer_update(tx, work, _done(tx))
                        else:
                            # Its inserts go out at once: the handler may ask whether
                            # they found their key taken.
                            async with deferred.paused(tx), tx.session.begin_nested():
                                await handler(tx, work)
                                _mark_done(tx, work)
                    except DBAPIError:
                        raise  # the transaction is unusable; the caller retries row by row
                    except Exception as error:  # one bad row must not block the others
                        if in_batch:
                            raise _RowFailed(key) from error
                        log.exception("due work %s failed", key)
                        failures.append((work_id, f"{type(error).__name__}: {error}"))
                        del tx.events[logged:]  # rolled back with the savepoint
                        continue
                    finally:
                        tx.firing_due_at = None
                    counts.fired += 1
                    fired_now.append((key, due_at))
                    fired.append(Fired(kind, key, ticket_id, (tx.now - due_at).total_seconds()))
        total.fired += counts.fired
        total.skipped += counts.skipped
        for row in fired:
            for listener in self.on_fired:
                listener(row)
        if self.record_lateness:
            fired_at = self.core.clock.now()
            self.fired_log.extend((key, due, fired_at) for key, due in fired_now)
        if failures:
            total.failed += len(failures)
            await self._record_failures(failures)

    async def _record_failures(self, failures: list[tuple[int, str]]) -> None:
        """Keep failed rows pending, retried later, with the error kept for diagnosis."""
        async with self.core.transaction() as tx:
            for work_id, message in failures:
                await tx.session.execute(
                    update(DueWork)
                    .where(DueWork.id == work_id, DueWork.status == WorkStatus.PENDING)
                    .values(
                        attempts=DueWork.attempts + 1,
                        last_error=message[:2000],
                        lease_owner=None,
                        lease_until=tx.now + self.retry_after,
                    )
                )

    async def next_wake(self) -> datetime | None:
        """When the next row falls due (or a foreign lease on a due row runs out)."""
        async with self.core.reading() as session:
            now = self.core.clock.now()
            rows = (
                await session.execute(
                    select(DueWork.due_at, DueWork.lease_until)
                    .where(DueWork.status == WorkStatus.PENDING, DueWork.due_at.is_not(None))
                    .order_by(DueWork.due_at)
                    .limit(64)
                )
            ).all()
        candidates: list[datetime] = []
        for due_at, lease_until in rows:
            assert due_at is not None  # filtered by the query
            if lease_until is not None and lease_until > now:
                candidates.append(lease_until)
            else:
                candidates.append(due_at)
                break  # rows are in due order: nothing later can be earlier
        return min(candidates) if candidates else None

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep, sleep until the next due time, repeat until `stop` is set."""
        failures = 0  # sweeps failed in a row
        while not stop.is_set():
            self._wake.clear()
            self._next_look = None  # while sweeping, every wake counts
            try:
                await self.sweep()
                next_at = await self.next_wake()
            except Exception as error:  # the runner must outlive a database hiccup
                log_failure(
                    log, "due-work sweep failed; retrying", error=error, level=logging.ERROR
                )
                failures += 1
                next_at = None
            else:
                failures = 0
                self._beat()
            delay = self.max_idle
            if failures:
                delay = min(delay, RETRY_CAP, RETRY_SOON * 2 ** min(failures - 1, 8))
            elif next_at is not None:
                delay = min(delay, self.core.clock.real_seconds_until(next_at))
            if delay > 0:
                # `next_at` may lie beyond max_idle; the loop looks again at the earlier one.
                idle_until = self.core.clock.now() + timedelta(seconds=self.max_idle)
                self._next_look = min(next_at, idle_until) if next_at is not None else idle_until
                await first_of(self._wake, stop, within=delay, sleep=self.sleep)
