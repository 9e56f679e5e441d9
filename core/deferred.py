"""Inserts held back within a transaction and sent together: one statement per table.

Firing a batch of ladder steps queues a few outbox rows and page repeats per step; sent
one by one, each insert also makes the session flush what the step changed, so a step
cost a round of statements of its own. While `deferring(tx)` is on, `scheduling.schedule`
and `outbox.enqueue` hand their rows here instead, and they go out as one executemany
`INSERT ... ON CONFLICT DO NOTHING` per table, after the session's own flush (a queued
page message refers to its page). Audit events are held the same way (`core.audit`), as
their fields (`hold`): their ids and hash chain are computed when the held rows are sent,
so the chain's head row is locked only then, and they go out in firing order as one plain
executemany `INSERT`, without an ORM object each. Two batches on PostgreSQL can thus
prepare their steps at the same time and queue only for the head.

Rows whose columns a batch sets to the same values (fired steps marked done) are held the
same way (`defer_update`) and go out as one `UPDATE ... WHERE id IN (...)` per set of
values, rather than as the ORM's flush of one UPDATE per row.

Nothing can read around them: any statement the session runs while rows are held first
sends the ORM's pending changes and then these rows, so a query in the same transaction
sees them as if each had been inserted at once. Only the insert's answer is not known
yet, so only callers that ignore whether the key already existed may be deferred.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

from sqlalchemy import Table, event, insert, inspect, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import set_committed_value

from core.models import Base
from core.orm import among


class Tx(Protocol):
    """What this module needs of a `core.unit_of_work.Tx`: its session.

    Not imported from there: `core.unit_of_work` imports `core.audit`, which defers its
    rows through this module.
    """

    session: AsyncSession


_HELD = "faultdesk.deferred_inserts"
# finisher -> items held for it, turned into rows by it when the held rows are sent
_PENDING = "faultdesk.deferred_pending"
Finisher = Callable[[Session, list[Any]], None]
# (model, the values set) -> ids of the rows to set them on
_UPDATES = "faultdesk.deferred_updates"


def deferring(tx: Tx) -> bool:
    """True while inserts of this transaction are being held back."""
    return _HELD in tx.session.info


def session_deferring(session: AsyncSession) -> bool:
    """`deferring`, for code that has the session only (the audit log)."""
    return _HELD in session.info


def defer(tx: Tx, model: type[Base], values: dict[str, Any]) -> None:
    """Hold back one row for `model`'s table (skipped if its `key` is taken, if it has one)."""
    defer_in(tx.session, model, values)


def defer_in(session: AsyncSession | Session, model: type[Base], values: dict[str, Any]) -> None:
    """`defer`, for code that has the session only; rows of a table go out in this order."""
    held: dict[type[Base], list[dict[str, Any]]] = session.info[_HELD]
    held.setdefault(model, []).append(values)


def hold(session: AsyncSession, finish: Finisher, item: Any) -> None:
    """Hold back `item` until the held rows are sent; `finish` then turns the items held
    for it (in order) into rows, in the sending greenlet, before anything is sent."""
    pending: dict[Finisher, list[Any]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(finish, []).append(item)


def finish_pending(session: Session) -> None:
    """Run the finishers of what `hold` kept (sync, in the greenlet)."""
    pending: dict[Finisher, list[Any]] | None = session.info.pop(_PENDING, None)
    for finish, items in (pending or {}).items():
        finish(session, items)


def defer_update(tx: Tx, instance: Base, values: dict[str, Any]) -> None:
    """Set `values` on a loaded row now and hold back its UPDATE (held rows given the same
    values go out as one statement).

    The instance shows the new values at once, but they count as already stored: the
    session's flush leaves them to the held statement.
    """
    identity = inspect(instance).identity
    assert identity is not None, "a stored row"
    for column, value in values.items():
        set_committed_value(instance, column, value)
    updates: dict[tuple[type[Base], tuple[tuple[str, Any], ...]], list[Any]]
    updates = tx.session.info.setdefault(_UPDATES, {})
    updates.setdefault((type(instance), tuple(values.items())), []).append(identity[0])


def _send(session: Session) -> None:
    """Send what is held, parent tables first (sync, in the greenlet)."""
    finish_pending(session)
    held: dict[type[Base], list[dict[str, Any]]] | None = session.info.get(_HELD)
    updates = session.info.pop(_UPDATES, None)
    if updates:
        session.flush()
        connection = session.connection()
        for (model, values), ids in updates.items():
            table = cast(Table, model.__table__)
            key = next(iter(table.primary_key.columns))
            for start in range(0, len(ids), 2000):  # bound the IN list
                connection.execute(
                    update(table)
                    .where(among(connection.dialect.name, key, ids[start : start + 2000]))
                    .values(dict(values))
                )
    if not held:
        return
    # Parents before the rows that refer to them (a page before its message), whichever
    # a batch happened to hold first.
    order = _table_order()
    batches = sorted(held.items(), key=lambda item: order[cast(Table, item[0].__table__)])
    held.clear()  # before executing: the flush below must not send them again
    session.flush()
    connection = session.connection()
    upsert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for model, rows in batches:
        table = cast(Table, model.__table__)
        if "key" in table.c:  # idempotent rows: a taken key is left as it is
            connection.execute(upsert(table).on_conflict_do_nothing(index_elements=["key"]), rows)
        else:  # rows with ids of their own (audit events): a plain executemany
            connection.execute(insert(table), rows)


_ORDER: dict[Table, int] = {}


def _table_order() -> dict[Table, int]:
    """Each table's place in foreign-key order (parents first), computed once."""
    if not _ORDER:
        _ORDER.update({table: index for index, table in enumerate(Base.metadata.sorted_tables)})
    return _ORDER


def _before_statement(state: ORMExecuteState) -> None:
    _send(state.session)


@asynccontextmanager
async def deferred_inserts(tx: Tx) -> AsyncIterator[None]:
    """Hold back deferrable inserts inside the block; all are sent by its end."""
    session = tx.session.sync_session
    session.info[_HELD] = {}
    event.listen(session, "do_orm_execute", _before_statement)
    try:
        yield
        await tx.session.run_sync(_send)
    finally:
        event.remove(session, "do_orm_execute", _before_statement)
        session.info.pop(_HELD, None)
        session.info.pop(_UPDATES, None)
        session.info.pop(_PENDING, None)


@asynccontextmanager
async def paused(tx: Tx) -> AsyncIterator[None]:
    """Send what is held and insert at once inside the block (no-op when not deferring)."""
    session = tx.session.sync_session
    held = session.info.get(_HELD)
    if held is None:
        yield
        return
    await tx.session.run_sync(_send)
    del session.info[_HELD]
    try:
        yield
    finally:
        session.info[_HELD] = held
