"""The unit of work: one transaction, one `now`, the policy, and what to do after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core import audit, deferred
from core.clock import Clock
from core.db import Database
from core.errors import Conflict
from core.events import BusinessEvent, log_committed
from core.models import AuditEvent, Ticket
from core.orm import is_loaded

if TYPE_CHECKING:
    from core.sla.calendar import BusinessCalendar
    from core.sla.policy import Policy

WakeListener = Callable[[datetime], None]


@dataclass
class Tx:
    """What a service needs inside one transaction."""

    session: AsyncSession
    now: datetime
    policy: Policy
    dialect: str
    actor_id: int | None = None
    outbox_added: bool = False
    # Earliest due time of work scheduled in this transaction: runners are woken
    # after commit so a new step never waits for a sleeping runner's next poll.
    earliest_scheduled: datetime | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Tickets row-locked in this transaction, so a second look needs no second SELECT.
    locked: dict[int, Ticket] = field(default_factory=dict)
    # Lookups that cannot change within this transaction (who dispatches a site).
    memo: dict[Hashable, Any] = field(default_factory=dict)
    # Audit events of this transaction, logged for the operator once it commits.
    events: list[BusinessEvent] = field(default_factory=list)
    # When the due work being fired was due (set by the runner): events it causes say
    # how late they came.
    firing_due_at: datetime | None = None

    async def ticket_for_update(self, ticket_id: int) -> Ticket | None:
        """The ticket, row-locked (PostgreSQL) for the rest of this transaction."""
        ticket = self.locked.get(ticket_id)
        if ticket is not None and is_loaded(ticket):
            return ticket
        ticket = await self.session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is not None:
            self.locked[ticket_id] = ticket
        return ticket

    def calendar(self, name: str, tz: str) -> BusinessCalendar:
        """A business calendar from the policy."""
        return self.policy.calendar(name, tz)

    def note_scheduled(self, due_at: datetime | None) -> None:
        """Remember a due time so runners can be woken after commit."""
        if due_at is not None and (
            self.earliest_scheduled is None or due_at < self.earliest_scheduled
        ):
            self.earliest_scheduled = due_at

    def note_outbox(self) -> None:
        """Remember that messages were queued so senders can be woken after commit."""
        self.outbox_added = True

    async def audit(
        self, entity: str, entity_id: int | None, action: str, **data: Any
    ) -> AuditEvent:
        """Append an audit event in this transaction."""
        appended = await self._append(entity, entity_id, action, data, returned=True)
        assert appended is not None  # asked for
        return appended

    async def record(self, entity: str, entity_id: int | None, action: str, **data: Any) -> None:
        """`audit` for a caller that never reads the event back.

        While inserts are held (a batch of ladder steps, `core.deferred`) the event goes
        out as a row with the batch's others and no ORM object is built for it.
        """
        await self._append(entity, entity_id, action, data, returned=False)

    async def _append(
        self,
        entity: str,
        entity_id: int | None,
        action: str,
        data: dict[str, Any],
        *,
        returned: bool,
    ) -> AuditEvent | None:
        """Append an event and log it for the commit; the object only if `returned`."""
        fields = audit.EventFields(
            at=self.now,
            actor_id=self.actor_id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            data=data,
        )
        appended = None
        if returned or not deferred.deferring(self):
            appended = await audit.append_event(self.session, **fields)
        else:
            await audit.defer_event(self.session, **fields)
        late = None
        if self.firing_due_at is not None:
            late = (self.now - self.firing_due_at).total_seconds()
        self.events.append(BusinessEvent(action, entity, entity_id, self.actor_id, data, late))
        return appended

    async def audit_many(
        self, events: Sequence[tuple[str, int | None, str, Mapping[str, Any]]]
    ) -> None:
        """Append many audit events (entity, entity_id, action, data) at once."""
        await audit.append_events(self.session, at=self.now, actor_id=self.actor_id, events=events)


class Core:
    """The composition of database, clock and policy that every service runs against."""

    def __init__(self, db: Database, clock: Clock, policy: Policy) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy
        self._wake_listeners: list[WakeListener] = []
        self._outbox_listeners: list[Callable[[], None]] = []

    def on_work_scheduled(self, listener: WakeListener) -> None:
        """Call `listener(due_at)` after a commit that scheduled due work."""
        self._wake_listeners.append(listener)

    def on_outbox(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after a commit that queued outbox messages."""
        self._outbox_listeners.append(listener)

    @asynccontextmanager
    async def transaction(self, actor_id: int | None = None) -> AsyncIterator[Tx]:
        """One write transaction with a single `now`; commits on success."""
        try:
            async with self.db.transaction() as session:
                tx = Tx(
                    session=session,
                    now=self.clock.now(),
                    policy=self.policy,
                    dialect=self.db.dialect,
                    actor_id=actor_id,
                )
                yield tx
        except StaleDataError as error:
            raise Conflict() from error
        log_committed(tx.events)
        for callback in tx.after_commit:
            callback()
        if tx.earliest_scheduled is not None:
            for listener in self._wake_listeners:
                listener(tx.earliest_scheduled)
        if tx.outbox_added:
            for notify in self._outbox_listeners:
                notify()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only session."""
        async with self.db.reading() as session:
            yield session
