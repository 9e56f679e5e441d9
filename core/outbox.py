"""Outbox rows: messages to people, written in the transaction that causes them.

A row is pending until a sender claims it with a lease, sends it and marks it sent; a
transient failure puts it back with a later `available_at`, a permanent one marks it
failed and tells every active admin (one alert per failed row). Leases are short and
extended while a row is in hand, and handed back unsent when a sender stops, so a
restart never waits for a lease to run out.

Every claim raises the row's `claim_token` (a fencing token): an outcome is recorded
only under the token it was claimed with, so a sender whose claim ran out and was taken
again (by another sender, or by itself after a clock jump) records nothing.

A chat's messages go through one sender at a time: a claim takes the chat too (an
`outbox_lane` row, leased like the messages), and rows of a chat another sender holds
are not claimed. Once it has no row of a chat in hand a sender frees the chat one
per-chat interval later (`free_lanes`), so whoever writes to it next keeps Telegram's
per-chat pace.

A database server that restarts lets every lease run out at once: nobody could renew
while it was away, and a stop, crash recovery and start under load can outlast what was
left of a lease. Rows whose lease ran out are then left to their holders for a grace
after the server started (`restart_grace`, a lease by default), long enough for a live
holder to renew them or record what it sent before the outage; rows never leased, and
rows of a holder that died while the server was up, are claimed at once as always.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core import deferred
from core.enums import OutboxStatus, Role
from core.messages import PRIORITY_NOTICE as PRIORITY_NOTICE
from core.messages import PRIORITY_PAGE as PRIORITY_PAGE
from core.messages import PRIORITY_REPORT as PRIORITY_REPORT
from core.messages import DeliveryFailed, Message, encode
from core.models import OutboxLane, OutboxMessage, Person, Site
from core.orm import insert_unless_key_taken
from core.people import people_with_role
from core.unit_of_work import Core, Tx

# Sent to every active admin when a row fails for good.
DELIVERY_FAILED = DeliveryFailed.kind
# Where a multi-part row (text, then attachments) records how many parts went out.
PARTS_SENT = "_parts_sent"


async def enqueue(
    tx: Tx,
    message: Message,
    *,
    key: str,
    recipient_id: int | None = None,
    chat_id: int | None = None,
    page_id: int | None = None,
    priority: int | None = None,
    available_at: datetime | None = None,
    chain: str | None = None,
    rank: int | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queue `message` unless a row with the same idempotency key exists; True if added.

    While inserts are deferred (`core.deferred`), the row is held back and True returned.

    The row keeps the message's kind and fields (`core.messages.encode`), the ticket it
    is about, and its priority (the message class's unless `priority` is given). Rows
    given a `chain` go out in `rank` order: none is claimed while a row of the same
    chain with a lower rank is still pending (see `_waits_behind`). A row still unsent
    at `expires_at` is dropped instead (a reminder whose deadline has passed).
    """
    if recipient_id is None and chat_id is None:
        raise ValueError("an outbox message needs a recipient or a chat")
    if available_at is None and message.quiet and recipient_id is not None:
        available_at = await quiet_until(tx, recipient_id)
    values = {
        "key": key,
        "code": message.kind,
        "recipient_id": recipient_id,
        "chat_id": chat_id,
        "params": encode(message),
        "ticket_id": message.about_ticket(),
        "page_id": page_id,
        "priority": message.priority if priority is None else priority,
        "created_at": tx.now,
        "available_at": available_at or tx.now,
        "chain": chain,
        "rank": rank,
        "expires_at": expires_at,
    }
    if deferred.deferring(tx):  # a batch of ladder steps: sent together (see core.deferred)
        deferred.defer(tx, OutboxMessage, values)
        tx.note_outbox()
        return True
    statement = insert_unless_key_taken(tx.dialect, OutboxMessage)
    added = (await tx.session.execute(statement, values)).scalar_one_or_none() is not None
    if added:
        tx.note_outbox()
    return added


async def quiet_until(tx: Tx, person_id: int) -> datetime | None:
    """When the day starts at the person's site if it is outside its service hours now, else None.

    A person without a site (or at a site open around the clock) is never held back.
    """
    key = ("quiet_until", person_id)
    if key not in tx.memo:
        person = await tx.session.get(Person, person_id)
        site = await tx.session.get(Site, person.site_id) if person and person.site_id else None
        opens = None
        if site is not None:
            calendar = tx.calendar(site.service_hours, site.timezone)
            if not calendar.is_working_time(tx.now):
                opens = calendar.next_working_moment(tx.now)
        tx.memo[key] = opens
    held: datetime | None = tx.memo[key]
    return held


async def _drop_expired(tx: Tx, lease_over: Any) -> None:
    """Mark pending rows past their `expires_at` dropped (in no sender's hand: `lease_over`)."""
    await tx.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.expires_at <= tx.now,
            lease_over,
        )
        .values(status=OutboxStatus.DROPPED, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _waits_behind() -> Any:
    """True for a row whose chain still has a pending row of a lower rank.

    The earlier row may be in another sender's hand, or held by an instance that died
    with it (its lease runs out and a survivor sends it): the later one waits either
    way, so an escalation never reaches anyone before the step it escalates.
    """
    earlier = aliased(OutboxMessage)
    return (
        select(earlier.id)
        .where(
            earlier.chain == OutboxMessage.chain,
            earlier.rank < OutboxMessage.rank,
            earlier.status == OutboxStatus.PENDING,
        )
        .correlate(OutboxMessage)
        .exists()
    )


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row, detached from the session."""

    id: int
    key: str
    code: str
    recipient_id: int | None
    chat_id: int | None
    params: dict[str, Any]
    ticket_id: int | None
    page_id: int | None
    attempts: int
    priority: int = PRIORITY_NOTICE
    parts_sent: int = 0  # parts of a multi-part message already delivered
    token: int | None = None  # the claim's fencing token; outcomes are recorded under it
    lane: int | None = None  # the chat it goes to (None: its recipient has no chat)


async def database_up_for(session: AsyncSession) -> timedelta | None:
    """How long the database server has been up, by its own clock; None when there is no
    server to restart (SQLite: a file, there while the process runs)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    uptime = await session.scalar(text("SELECT now() - pg_postmaster_start_time()"))
    return uptime if isinstance(uptime, timedelta) else None


async def _restart_grace_left(session: AsyncSession, grace: timedelta) -> timedelta:
    """What is left of the grace holders have after the server started (none after it)."""
    if grace <= timedelta(0):
        return timedelta(0)
    up_for = await database_up_for(session)
    if up_for is None or up_for >= grace:
        return timedelta(0)
    return grace - up_for


def _lane() -> Any:
    """The chat a row goes to: its own, else its recipient's (outer-joined `Person`)."""
    return func.coalesce(OutboxMessage.chat_id, Person.chat_id)


def _busy_lanes(owner: str, now: datetime) -> Any:
    """Chats another sender writes to now."""
    return select(OutboxLane.chat_id).where(OutboxLane.owner != owner, OutboxLane.until > now)


async def _take_lanes(tx: Tx, lanes: Collection[int], owner: str, until: datetime) -> set[int]:
    """Lease chats to `owner` unless another sender holds them; the chats taken.

    One conditional upsert: a rival's concurrent claim of the same chat waits for this
    row and then finds it held (PostgreSQL re-checks the condition on the latest
    version), so a chat never has two senders. Chats are taken in id order, so two
    claims never wait for each other in a circle.
    """
    if not lanes:
        return set()
    insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
    statement = insert(OutboxLane).values(
        [{"chat_id": lane, "owner": owner, "until": until} for lane in sorted(lanes)]
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[OutboxLane.chat_id],
        set_={"owner": statement.excluded.owner, "until": statement.excluded.until},
        where=or_(OutboxLane.owner == owner, OutboxLane.until <= tx.now),
    ).returning(OutboxLane.chat_id)
    return set((await tx.session.execute(upsert)).scalars().all())


async def claim(
    core: Core,
    *,
    owner: str,
    limit: int,
    lease: timedelta,
    holding: Collection[int] = (),
    restart_grace: timedelta | None = None,
) -> list[Delivery]:
    """Lease up to `limit` deliverable rows to `owner`, most urgent first, with their chats.

    Rows of chats another sender holds are left for it. `holding` names the rows the
    caller already has in hand: they are never claimed again, even when their lease ran
    out (a clock jump, a late heartbeat). Taken again, a row being sent could come back
    after it was marked sent, as if it were new, and go out twice; its lease is
    `extend_leases`' business. Within `restart_grace` (`lease` unless given) of the
    database server's start, rows whose lease ran out are not taken: their holders may be
    alive and about to renew them, or to record that they were sent before the outage.
    """
    grace = lease if restart_grace is None else restart_grace
    async with core.transaction() as tx:
        now = tx.now
        lane = _lane()
        # Rows whose lease ran out are their holders' still while the grace lasts.
        settling = await _restart_grace_left(tx.session, grace) > timedelta(0)
        lease_over = (
            OutboxMessage.lease_until.is_(None)
            if settling
            else or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now)
        )
        await _drop_expired(tx, lease_over)
        ready = (
            select(OutboxMessage.id, lane.label("lane"))
            .outerjoin(Person, Person.id == OutboxMessage.recipient_id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.available_at <= now,
                # Over at `lease_until`, as next_available() counts it: were it still held
                # at that instant, a sender woken then would find nothing and look again
                # at once, without end on a frozen clock.
                lease_over,
                or_(lane.is_(None), lane.not_in(_busy_lanes(owner, now))),
                ~_waits_behind(),
            )
            .order_by(OutboxMessage.priority, OutboxMessage.available_at, OutboxMessage.id)
            .limit(limit)
        )
        if holding:
            ready = ready.where(OutboxMessage.id.not_in(list(holding)))
        if tx.dialect == "postgresql":
            ready = ready.with_for_update(skip_locked=True, of=OutboxMessage)
        candidates = (await tx.session.execute(ready)).all()
        if not candidates:
            return []
        won = await _take_lanes(
            tx, {row.lane for row in candidates if row.lane is not None}, owner, now + lease
        )
        lanes = {row.id: row.lane for row in candidates if row.lane is None or row.lane in won}
        if not lanes:
            return []
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(lanes)))
            .values(
                lease_owner=owner,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
                claim_token=OutboxMessage.claim_token + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.code,
                OutboxMessage.recipient_id,
                OutboxMessage.chat_id,
                OutboxMessage.params,
                OutboxMessage.ticket_id,
                OutboxMessage.page_id,
                OutboxMessage.attempts,
                OutboxMessage.priority,
                OutboxMessage.claim_token,
            )
            .execution_options(synchronize_session=False)
        )
        rows = sorted(result.all(), key=lambda row: (row.priority, row.id))
        deliveries = []
        for row in rows:
            params = dict(row.params)
            parts_sent = int(params.pop(PARTS_SENT, 0))
            deliveries.append(
                Delivery(
                    id=row.id,
                    key=row.key,
                    code=row.code,
                    recipient_id=row.recipient_id,
                    chat_id=row.chat_id,
                    params=params,
                    ticket_id=row.ticket_id,
                    page_id=row.page_id,
                    attempts=row.attempts,
                    priority=row.priority,
                    parts_sent=parts_sent,
                    token=row.claim_token,
                    lane=lanes[row.id],
                )
            )
        return deliveries


def _held_by(delivery_id: int, owner: str, token: int | None = None) -> Any:
    held = (OutboxMessage.id == delivery_id) & (OutboxMessage.lease_owner == owner)
    return held if token is None else held & (OutboxMessage.claim_token == token)


async def mark_sent(
    core: Core,
    delivery_id: int,
    *,
    owner: str,
    message_id: int | None,
    token: int | None = None,
) -> bool:
    """Record a successful send; False if our claim (`token`, when given) was lost meanwhile.

    A row dropped while in our hand (a superseded reminder, `core.sla.escalation`) that
    went out all the same is recorded as sent: nobody claimed it since (a dropped row is
    never claimed, so its token is still ours), and the table says what people received.
    """
    held = _held_by(delivery_id, owner, token)
    if token is not None:
        held = held | (
            (OutboxMessage.id == delivery_id)
            & (OutboxMessage.status == OutboxStatus.DROPPED)
            & OutboxMessage.lease_owner.is_(None)
            & (OutboxMessage.claim_token == token)
        )
    async with core.transaction() as tx:
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(held)
            .values(
                status=OutboxStatus.SENT,
                sent_at=tx.now,
                message_id=message_id,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )
        return bool(getattr(result, "rowcount", 0))


async def _record_parts(
    tx: Tx, delivery_id: int, owner: str, parts_sent: int, token: int | None = None
) -> None:
    params = await tx.session.scalar(
        select(OutboxMessage.params).where(_held_by(delivery_id, owner, token))
    )
    if params is None or int(params.get(PARTS_SENT, 0)) >= parts_sent:
        return
    await tx.session.execute(
        update(OutboxMessage)
        .where(_held_by(delivery_id, owner, token))
        .values(params={**params, PARTS_SENT: parts_sent})
    )


async def mark_retry(
    core: Core,
    delivery_id: int,
    *,
    owner: str,
    after: timedelta,
    error: str,
    parts_sent: int = 0,
    token: int | None = None,
) -> datetime | None:
    """Put a row back to be tried again after `after`; when it will be due, or None if
    our claim (`token`, when given) was lost."""
    async with core.transaction() as tx:
        if parts_sent:
            await _record_parts(tx, delivery_id, owner, parts_sent, token)
        due = tx.now + after
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(_held_by(delivery_id, owner, token))
            .values(
                available_at=due,
                lease_owner=None,
                lease_until=None,
                last_error=error[:2000],
            )
        )
        return due if getattr(result, "rowcount", 0) else None


async def mark_failed(
    core: Core, delivery_id: int, *, owner: str, error: str, token: int | None = None
) -> bool:
    """Give up on a row for good (bot blocked, chat gone, unrenderable) and alert the admins.

    Every active admin gets a `DELIVERY_FAILED` message keyed by the failed row, so
    the alert is queued once however often this is called; alerts that fail
    themselves raise no further alerts. False if our claim was lost meanwhile.
    """
    async with core.transaction() as tx:
        failed = (
            await tx.session.execute(
                update(OutboxMessage)
                .where(_held_by(delivery_id, owner, token))
                .values(
                    status=OutboxStatus.FAILED,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error[:2000],
                )
                .returning(
                    OutboxMessage.code,
                    OutboxMessage.recipient_id,
                    OutboxMessage.chat_id,
                    OutboxMessage.ticket_id,
                )
            )
        ).one_or_none()
        if failed is None:
            return False
        await tx.audit("outbox", delivery_id, "outbox.failed", error=error[:500])
        if failed.code != DELIVERY_FAILED:
            await _alert_admins(tx, delivery_id, failed, error)
        return True


async def _alert_admins(tx: Tx, delivery_id: int, failed: Any, error: str) -> None:
    recipient = (
        await tx.session.get(Person, failed.recipient_id)
        if failed.recipient_id is not None
        else None
    )
    alert = DeliveryFailed(
        failed_id=delivery_id,
        code=failed.code,
        recipient_id=failed.recipient_id,
        recipient_name=recipient.name if recipient is not None else None,
        chat_id=failed.chat_id
        if failed.chat_id is not None
        else getattr(recipient, "chat_id", None),
        ticket_id=failed.ticket_id,
        error=error[:300],
    )
    for admin in await people_with_role(tx, Role.ADMIN, None):
        await enqueue(
            tx, alert, key=f"delivery-failed:{delivery_id}:{admin.id}", recipient_id=admin.id
        )


async def extend_leases(
    core: Core,
    delivery_ids: Collection[int],
    *,
    owner: str,
    lease: timedelta,
    lanes: Collection[int] = (),
) -> set[int]:
    """Renew our leases on rows still waiting to be sent, and on the chats they go to;
    returns the ids still ours."""
    if not delivery_ids:
        return set()
    async with core.transaction() as tx:
        if lanes:
            await tx.session.execute(
                update(OutboxLane)
                .where(OutboxLane.chat_id.in_(sorted(lanes)), OutboxLane.owner == owner)
                .values(until=tx.now + lease)
                .execution_options(synchronize_session=False)
            )
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(delivery_ids)),
                OutboxMessage.lease_owner == owner,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(lease_until=tx.now + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars().all())


async def whereabouts(
    core: Core, delivery_ids: Collection[int]
) -> dict[int, tuple[OutboxStatus, str | None]]:
    """Each row's status and lease holder now: why a sender no longer holds it."""
    if not delivery_ids:
        return {}
    async with core.reading() as session:
        rows = await session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.lease_owner).where(
                OutboxMessage.id.in_(list(delivery_ids))
            )
        )
        return {row.id: (OutboxStatus(row.status), row.lease_owner) for row in rows}


async def release(
    core: Core,
    progress: Mapping[int, int],
    *,
    owner: str,
    at: datetime | None = None,
) -> int:
    """Hand rows back unsent, deliverable again `at` (at once by default).

    For a sender that stops, or rows of a chat held back behind one that was put back
    (given its due time, they are claimed together and go out in order). The claim is
    not counted as an attempt; `progress` maps each row to the parts already sent.
    """
    if not progress:
        return 0
    async with core.transaction() as tx:
        for delivery_id, parts_sent in progress.items():
            if parts_sent:
                await _record_parts(tx, delivery_id, owner, parts_sent)
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(progress)),
                OutboxMessage.lease_owner == owner,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(
                available_at=at or tx.now,
                lease_owner=None,
                lease_until=None,
                attempts=OutboxMessage.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def free_lanes(core: Core, keep: Mapping[int, timedelta], *, owner: str) -> int:
    """Chats this sender has no rows of in hand any more: free for others after `keep`
    (each chat's per-chat interval, counted from now: never sooner than the pace allows)."""
    if not keep:
        return 0
    freed = 0
    async with core.transaction() as tx:
        by_length: dict[timedelta, list[int]] = {}
        for chat_id, length in keep.items():
            by_length.setdefault(length, []).append(chat_id)
        for length, chats in by_length.items():  # two lengths at most: chats and groups
            result = await tx.session.execute(
                update(OutboxLane)
                .where(OutboxLane.chat_id.in_(sorted(chats)), OutboxLane.owner == owner)
                .values(until=tx.now + length)
                .execution_options(synchronize_session=False)
            )
            freed += int(getattr(result, "rowcount", 0) or 0)
    return freed


async def release_lanes(core: Core, *, owner: str) -> int:
    """A sender stops: the chats it holds are free for others at once."""
    async with core.transaction() as tx:
        result = await tx.session.execute(
            update(OutboxLane)
            .where(OutboxLane.owner == owner, OutboxLane.until > tx.now)
            .values(until=tx.now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def next_available(
    core: Core, owner: str | None = None, *, restart_grace: timedelta | None = None
) -> datetime | None:
    """When the earliest pending row becomes deliverable (or another sender's lease on it
    runs out, or, for `owner`, another sender lets go of its chat).

    With `restart_grace` (what `claim` is given), a lease that ran out counts as running
    until the grace after the database server's start is over, as `claim` counts it.
    """
    async with core.reading() as session:
        now = core.clock.now()
        left = timedelta(0)
        if restart_grace is not None:
            left = await _restart_grace_left(session, restart_grace)
        query = (
            select(OutboxMessage.available_at, OutboxMessage.lease_until)
            # A row waiting behind an earlier one of its chain is not counted: the
            # earlier row is, and once it is sent the sender looks again.
            .where(OutboxMessage.status == OutboxStatus.PENDING, ~_waits_behind())
            .order_by(OutboxMessage.available_at)
            .limit(64)
        )
        if owner is not None:
            lane_until = (
                select(func.max(OutboxLane.until))
                .where(
                    OutboxLane.chat_id == _lane(),
                    OutboxLane.owner != owner,
                    OutboxLane.until > now,
                )
                .scalar_subquery()
            )
            query = query.add_columns(lane_until).outerjoin(
                Person, Person.id == OutboxMessage.recipient_id
            )
        rows = (await session.execute(query)).all()
    candidates: list[datetime] = []
    for available_at, *held in rows:  # the row's lease, and its chat's if another holds it
        moments: list[datetime | None] = list(held)
        if moments[0] is not None and left:  # its holder's grace after a restart
            moments[0] = max(moments[0], now + left)
        later = [moment for moment in moments if moment is not None and moment > now]
        if later:
            candidates.append(max(available_at, *later))
        else:
            candidates.append(available_at)
            break  # rows are in availability order: nothing later is earlier
    return min(candidates) if candidates else None
