"""Firing many ladder steps in one transaction: what they read, loaded once for all of them.

The due-work runner fires a chunk of steps in one transaction. Fired one at a time, each
step asked for its clock, its clock's other steps, the people it reaches, their site and
who acknowledged earlier pages: about a dozen statements a step. `prefetch_escalations`
asks for all of that with a handful of set-based statements for the whole chunk and keeps
it for the transaction; the lookups below answer from it and fall back to a query of
their own for a ticket it does not cover, so a step fired alone behaves the same.

Page ids are reserved for the chunk too, so a new page needs no flush of its own to learn
its id and the chunk's inserts go out together when the transaction flushes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import inspect, or_, select, text

from core import deferred
from core.enums import OutboxStatus, Role
from core.models import Base, DueWork, OutboxMessage, Page, Person, Site, SlaClock, Ticket
from core.orm import among
from core.sla import deadlines
from core.unit_of_work import Tx

_Row = TypeVar("_Row", Person, Site)

PREFETCHED: Hashable = ("prefetched", deadlines.ESCALATION)
# Roles a ladder step can page besides the assignee, their backup and the reporter.
PAGED_ROLES = (Role.DISPATCHER, Role.MANAGER)


@dataclass
class Prefetched:
    """What the steps of one chunk read, by ticket."""

    tickets: frozenset[int]
    clocks: dict[tuple[int, str, int], SlaClock] = field(default_factory=dict)
    clock_kinds: frozenset[str] = frozenset()  # the kinds of clock loaded
    steps: dict[int, list[DueWork]] = field(default_factory=dict)  # of the prefixes below
    prefixes: set[str] = field(default_factory=set)  # ladders (ticket, visit, clock) loaded
    # ticket -> (clock, step key, person id, name, acknowledged at), in acknowledgement order
    acknowledged: dict[int, list[tuple[str, str, int, str, datetime]]] = field(default_factory=dict)
    # The session keeps loaded rows only while something refers to them: held here, a
    # `session.get` of a person or site the chunk needs is answered without a query.
    held: list[object] = field(default_factory=list)
    # The same people and sites by model and id: a step's lookups (`get`) answer from
    # these without a `session.get` each (an await through the session's greenlet).
    rows: dict[tuple[type[Base], int], Base] = field(default_factory=dict)
    page_ids: list[int] = field(default_factory=list)  # reserved, taken from the end
    # Ladders (outbox chains) with messages still unsent when the chunk began: only these
    # can hold a superseded reminder to drop (one fired in this chunk is skipped instead).
    unsent_chains: set[str] = field(default_factory=set)


def _prefetched(tx: Tx, ticket_id: int) -> Prefetched | None:
    found = tx.memo.get(PREFETCHED)
    if isinstance(found, Prefetched) and ticket_id in found.tickets:
        return found
    return None


async def prefetch_escalations(tx: Tx, works: Sequence[DueWork]) -> None:
    """Load what firing `works` reads, with one statement per table, for this transaction."""
    ticket_ids = sorted({work.ticket_id for work in works if work.ticket_id is not None})
    if not ticket_ids:
        return
    found = Prefetched(tickets=frozenset(ticket_ids))
    session, dialect = tx.session, tx.dialect
    tickets = [
        tx.locked.get(ticket_id) or await tx.ticket_for_update(ticket_id)
        for ticket_id in ticket_ids
    ]
    live = [ticket for ticket in tickets if ticket is not None]
    # Only the clocks whose steps fire (a ticket has four); a lookup of another falls back.
    kinds = sorted({str(work.payload["clock"]) for work in works})
    found.clock_kinds = frozenset(kinds)
    for clock in await session.scalars(
        select(SlaClock).where(
            among(dialect, SlaClock.ticket_id, ticket_ids), SlaClock.kind.in_(kinds)
        )
    ):
        found.clocks[(clock.ticket_id, clock.kind, clock.cycle)] = clock
    # The ladders of the clocks that fire: keys first, so the other clocks' steps are
    # never built as objects (a ticket has twelve steps; a chunk fires one or two).
    for work in works:
        if work.ticket_id is not None:
            payload = work.payload
            prefix = deadlines.step_prefix(work.ticket_id, int(payload["cycle"]), payload["clock"])
            found.prefixes.add(prefix)
    # A step key is its ladder's prefix and a number (`deadlines.step_key`): the prefix is
    # everything up to the last colon, looked up in a set rather than tried one by one.
    ladders = found.prefixes
    wanted = [
        step_id
        for step_id, key in await session.execute(
            select(DueWork.id, DueWork.key).where(
                among(dialect, DueWork.ticket_id, ticket_ids),
                DueWork.kind == deadlines.ESCALATION,
            )
        )
        if key[: key.rfind(":") + 1] in ladders
    ]
    for start in range(0, len(wanted), 2000):  # bound the IN list
        for step in await session.scalars(
            select(DueWork).where(among(dialect, DueWork.id, wanted[start : start + 2000]))
        ):
            assert step.ticket_id is not None  # filtered by the query
            found.steps.setdefault(step.ticket_id, []).append(step)
    for steps in found.steps.values():
        steps.sort(key=lambda step: step.id)
    prefixes = sorted(found.prefixes)
    for start in range(0, len(prefixes), 2000):
        found.unsent_chains.update(
            chain
            for chain in await session.scalars(
                select(OutboxMessage.chain)
                .where(
                    among(dialect, OutboxMessage.chain, prefixes[start : start + 2000]),
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .distinct()
            )
            if chain is not None
        )
    for ticket_id, clock_kind, step_key, person_id, name, at in await session.execute(
        select(
            Page.ticket_id, Page.clock, Page.step_key, Person.id, Person.name, Page.acknowledged_at
        )
        .join(Person, Person.id == Page.acknowledged_by_id)
        .where(among(dialect, Page.ticket_id, ticket_ids), Page.acknowledged_at.is_not(None))
        .order_by(Page.acknowledged_at, Page.id)
    ):
        assert at is not None  # filtered by the query
        found.acknowledged.setdefault(ticket_id, []).append(
            (clock_kind, step_key, person_id, name, at)
        )
    # People a step names directly, then their backups.
    person_ids = {t.assignee_id for t in live if t.assignee_id} | {t.reporter_id for t in live}
    people = list(
        await session.scalars(select(Person).where(among(dialect, Person.id, person_ids)))
    )
    backups = {p.backup_id for p in people if p.backup_id} - person_ids
    if backups:
        people += list(await session.scalars(select(Person).where(Person.id.in_(backups))))
    site_ids = sorted({ticket.site_id for ticket in live})
    sites = list(await session.scalars(select(Site).where(among(dialect, Site.id, site_ids))))
    found.held.extend(people)
    found.held.extend(sites)
    # Who holds each paged role at each site: what `people_with_role` would answer (active,
    # of the site or of none, by id), remembered under its key for this transaction.
    holders = list(
        await session.scalars(
            select(Person)
            .where(
                Person.role.in_(PAGED_ROLES),
                Person.active.is_(True),
                or_(among(dialect, Person.site_id, site_ids), Person.site_id.is_(None)),
            )
            .order_by(Person.id)
        )
    )
    found.held.extend(holders)
    found.rows = {(Person, person.id): person for person in [*people, *holders]}
    found.rows.update({(Site, site.id): site for site in sites})
    by_role: dict[tuple[Role, int], list[Person]] = defaultdict(list)
    for person in holders:
        for site_id in site_ids if person.site_id is None else [person.site_id]:
            by_role[(Role(person.role), site_id)].append(person)
    for role in PAGED_ROLES:
        for site_id in site_ids:
            tx.memo.setdefault(("people_with_role", role, site_id), by_role[(role, site_id)])
    tx.memo[PREFETCHED] = found


async def get(tx: Tx, model: type[_Row], row_id: int) -> _Row | None:
    """A person or site, from what the chunk loaded if it is there (and still loaded), else
    the session."""
    found = tx.memo.get(PREFETCHED)
    if isinstance(found, Prefetched):
        known = found.rows.get((model, row_id))
        if isinstance(known, model) and _usable(known):
            return known
    return await tx.session.get(model, row_id)


def _usable(instance: object) -> bool:
    """Attached with its columns loaded (`is_loaded` would also want a person's site)."""
    state = inspect(instance)
    return not (state.detached or state.expired or state.expired_attributes)


def forget(tx: Tx) -> None:
    """Drop what was prefetched (another kind of work may change what it holds)."""
    tx.memo.pop(PREFETCHED, None)


async def clock_of_step(tx: Tx, ticket_id: int, kind: str, cycle: int) -> SlaClock | None:
    """The clock a step belongs to."""
    found = _prefetched(tx, ticket_id)
    if found is not None and kind in found.clock_kinds:
        return found.clocks.get((ticket_id, kind, cycle))
    return await tx.session.scalar(
        select(SlaClock).where(
            SlaClock.ticket_id == ticket_id, SlaClock.kind == kind, SlaClock.cycle == cycle
        )
    )


async def steps_with_prefix(tx: Tx, ticket_id: int, prefix: str, *, but: int) -> list[DueWork]:
    """A ticket's ladder steps whose key starts with `prefix`, except row `but`."""
    found = _prefetched(tx, ticket_id)
    if found is not None and prefix in found.prefixes:
        return [
            step
            for step in found.steps.get(ticket_id, [])
            if step.key.startswith(prefix) and step.id != but
        ]
    rows = await tx.session.scalars(
        select(DueWork).where(
            DueWork.ticket_id == ticket_id,
            DueWork.kind == deadlines.ESCALATION,
            DueWork.key.startswith(prefix),
            DueWork.id != but,
        )
    )
    return list(rows)


def may_hold_unsent(tx: Tx, ticket_id: int, chain: str) -> bool:
    """Whether a ladder may still have unsent messages (True when not prefetched)."""
    found = _prefetched(tx, ticket_id)
    if found is None or chain not in found.prefixes:
        return True
    return chain in found.unsent_chains


def acknowledged(tx: Tx, ticket: Ticket, clock: SlaClock) -> list[tuple[int, str, datetime]] | None:
    """(person, name, when) of pages acknowledged about this clock, or None if not prefetched."""
    found = _prefetched(tx, ticket.id)
    if found is None:
        return None
    prefix = deadlines.step_prefix(ticket.id, clock.cycle, clock.kind)
    return [
        (person_id, name, at)
        for kind, key, person_id, name, at in found.acknowledged.get(ticket.id, [])
        if kind == clock.kind and key.startswith(prefix)
    ]


async def add_page(tx: Tx, page: Page) -> None:
    """Add a new page and give it its id: a reserved one in a chunk (written with the chunk's
    other inserts), else by a flush."""
    found = tx.memo.get(PREFETCHED)
    if not isinstance(found, Prefetched) or page.ticket_id not in found.tickets:
        tx.session.add(page)
        await tx.session.flush()
        return
    if not found.page_ids:
        found.page_ids = await _reserve_page_ids(tx, 2 * len(found.tickets) + 8)
    page.id = found.page_ids.pop()
    if deferred.deferring(tx):
        # Written with the chunk's other pages in one executemany (see core.deferred): a
        # new page is only read back by its id, which a query answers once they are sent.
        deferred.defer(tx, Page, {column: getattr(page, column) for column in _PAGE_COLUMNS})
        return
    tx.session.add(page)


# What a new page is written with; the rest are the table's defaults (not acknowledged).
_PAGE_COLUMNS = ("id", "ticket_id", "recipient_id", "clock", "level", "step_key", "created_at")


async def _reserve_page_ids(tx: Tx, count: int) -> list[int]:
    """`count` page ids no other transaction will use, highest first."""
    if tx.dialect == "postgresql":
        rows = await tx.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('page', 'id'))"
                " FROM generate_series(1, :count)"
            ),
            {"count": count},
        )
        return sorted((int(value) for (value,) in rows), reverse=True)
    # SQLite: this transaction holds the database's write lock since BEGIN, so ids above
    # the highest stored one (and above those already handed out here) stay free.
    top = int(await tx.session.scalar(text("SELECT coalesce(max(id), 0) FROM page")) or 0)
    handed = tx.memo.get(("page ids", "sqlite"), 0)
    first = max(top, handed) + 1
    tx.memo[("page ids", "sqlite")] = first + count - 1
    return list(range(first + count - 1, first - 1, -1))
