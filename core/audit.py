"""Append-only, hash-chained audit log: every change leaves an event that cannot be silently edited.

Each event's hash covers its own fields and the previous event's hash. Ids are
consecutive (taken from the locked head row), so a deleted event leaves a gap, an
edited one breaks its hash, and a removed tail no longer matches the head row.

Someone able to rewrite the whole table and the head row could recompute every hash, so
the chain is also anchored outside the database: each monthly summary tells the
managers the head event and the first digits of its hash (`anchor_text`), a daily post
goes to a read-only channel (`core.anchors`), and
`faultdesk audit verify --anchor 1234:5f3a...` checks the history still agrees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core import deferred
from core.models import AuditEvent, AuditHead
from core.orm import is_loaded

GENESIS_HASH = "0" * 64
HEAD_ID = 1
ANCHOR_DIGITS = 16  # 64 bits of the hash: short enough to read out, far too many to forge
_LOCKED_HEAD = "faultdesk.audit_head"


def canonical_json(data: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no spaces, non-JSON values as strings."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(
    *,
    prev_hash: str,
    event_id: int,
    at: datetime,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    data: Mapping[str, Any],
) -> str:
    """SHA-256 over the previous hash and every field of the event."""
    body = canonical_json(
        {
            "prev": prev_hash,
            "id": event_id,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor_id,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "data": data,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def stored_event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The hash a stored event should carry when it follows `prev_hash`."""
    return event_hash(
        prev_hash=prev_hash,
        event_id=event.id,
        at=event.at,
        actor_id=event.actor_id,
        entity=event.entity,
        entity_id=event.entity_id,
        action=event.action,
        data=event.data,
    )


async def _locked_head(session: AsyncSession) -> AuditHead:
    """The chain's head row, locked for the rest of the transaction."""
    head = session.info.get(_LOCKED_HEAD)
    if head is not None and is_loaded(head):
        return cast(AuditHead, head)
    return await session.run_sync(_lock_head)


def _lock_head(session: Session) -> AuditHead:
    """`_locked_head`, sync (in the session's greenlet)."""
    head = session.info.get(_LOCKED_HEAD)
    if head is None or not is_loaded(head):
        # Locked once per transaction; re-read only after a savepoint rollback expired it
        # (on PostgreSQL that rollback may also have released a lock taken inside it).
        head = session.get(AuditHead, HEAD_ID, with_for_update=True)
        if head is None:
            raise RuntimeError("audit head row missing: run `faultdesk db upgrade`")
        session.info[_LOCKED_HEAD] = head
    assert isinstance(head, AuditHead)
    return head


class EventFields(TypedDict):
    """What an event is appended with; its id and hashes come from the chain."""

    at: datetime
    actor_id: int | None
    entity: str
    entity_id: int | None
    action: str
    data: NotRequired[Mapping[str, Any] | None]


async def append_event(session: AsyncSession, **fields: Unpack[EventFields]) -> AuditEvent:
    """Append one event in the caller's transaction (locks the head row until commit)."""
    if deferred.session_deferring(session):
        # A batch of steps: the row goes out with the others; the object returned is left
        # out of the session, which would flush each on its own. Its id is known now, so
        # the events held before it are chained first (see `defer_event`).
        await session.run_sync(deferred.finish_pending)
        values = _chain_next(await _locked_head(session), fields)
        deferred.defer_in(session, AuditEvent, values)
        return AuditEvent(**values)
    event = AuditEvent(**_chain_next(await _locked_head(session), fields))
    session.add(event)
    return event


async def defer_event(session: AsyncSession, **fields: Unpack[EventFields]) -> None:
    """Append one event while inserts are held (`core.deferred`), as a row: no ORM object.

    Its id and hash are given when the held rows are sent, and only then is the head row
    locked; the rows go out with the batch's others in one executemany, in append order.
    """
    deferred.hold(session, _chain_held, fields)


def _chain_held(session: Session, held: list[EventFields]) -> None:
    """Chain the events held by `defer_event` to the head (sync, as they are sent)."""
    head = _lock_head(session)
    for fields in held:
        deferred.defer_in(session, AuditEvent, _chain_next(head, fields))


def _chain_next(head: AuditHead, fields: EventFields) -> dict[str, Any]:
    """The next event's row, chained to the locked head, and the head moved on to it."""
    # Round-trip through JSON so the hash covers exactly what the database will give back.
    stored = json.loads(canonical_json(fields.get("data") or {}))
    event_id = head.last_id + 1
    values = {
        "id": event_id,
        "at": fields["at"],
        "actor_id": fields["actor_id"],
        "entity": fields["entity"],
        "entity_id": fields["entity_id"],
        "action": fields["action"],
        "data": stored,
        "prev_hash": head.last_hash,
    }
    digest = event_hash(
        prev_hash=head.last_hash,
        event_id=event_id,
        at=fields["at"],
        actor_id=fields["actor_id"],
        entity=fields["entity"],
        entity_id=fields["entity_id"],
        action=fields["action"],
        data=stored,
    )
    values["hash"] = digest
    head.last_id = event_id
    head.last_hash = digest
    return values


async def append_events(
    session: AsyncSession,
    *,
    at: datetime,
    actor_id: int | None,
    events: Sequence[tuple[str, int | None, str, Mapping[str, Any]]],
) -> None:
    """Append many events (entity, entity_id, action, data) with one INSERT: a bulk import.

    The chain is exactly what as many `append_event` calls would make; only the ORM's
    per-object bookkeeping is skipped, which is most of the time for ten thousand events.
    """
    if not events:
        return
    head = await _locked_head(session)
    rows = []
    last_id, last_hash = head.last_id, head.last_hash
    for entity, entity_id, action, data in events:
        stored = json.loads(canonical_json(data))
        last_id += 1
        digest = event_hash(
            prev_hash=last_hash,
            event_id=last_id,
            at=at,
            actor_id=actor_id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            data=stored,
        )
        rows.append(
            {
                "id": last_id,
                "at": at,
                "actor_id": actor_id,
                "entity": entity,
                "entity_id": entity_id,
                "action": action,
                "data": stored,
                "prev_hash": last_hash,
                "hash": digest,
            }
        )
        last_hash = digest
    await session.execute(insert(cast(Table, AuditEvent.__table__)), rows)  # Core: one executemany
    head.last_id, head.last_hash = last_id, last_hash


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """The last event's id and hash (0 and the genesis hash before any event)."""
    head = await session.get(AuditHead, HEAD_ID)
    return (head.last_id, head.last_hash) if head else (0, GENESIS_HASH)


def anchor_text(event_id: int, digest: str) -> str:
    """The published form of an anchor: '1234:5f3a9c0e1b2d4f60'."""
    return f"{event_id}:{digest[:ANCHOR_DIGITS]}"


def parse_anchor(text: str) -> tuple[int, str]:
    """'1234:5f3a...' -> (1234, '5f3a...'); ValueError naming what is wrong."""
    event, sep, prefix = text.strip().partition(":")
    prefix = prefix.strip().lower()
    if not sep or not event.strip().isdigit() or int(event) < 1:
        raise ValueError(f"{text!r}: expected EVENT:HASH, e.g. 1234:5f3a9c0e1b2d4f60")
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"{text!r}: the hash part needs at least 8 hexadecimal digits")
    return int(event), prefix


@dataclass
class VerifyReport:
    """Outcome of walking the chain."""

    events: int = 0
    head_id: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


async def verify_chain(
    session: AsyncSession, *, batch: int = 5000, anchors: Mapping[int, str] | None = None
) -> VerifyReport:
    """Walk every event in order and check ids, links and hashes against the head.

    `anchors` maps event ids to published hash prefixes (see `anchor_text`); an event
    whose hash no longer starts with its prefix means history was rewritten wholesale.
    """
    anchors = dict(anchors or {})
    report = VerifyReport()
    head = await session.get(AuditHead, HEAD_ID)
    if head is None:
        report.problems.append("audit head row is missing")
        return report
    report.head_id, report.head_hash = head.last_id, head.last_hash
    expected_id, running = 1, GENESIS_HASH
    last_seen = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > last_seen)
                .order_by(AuditEvent.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for event in rows:
            if event.id != expected_id:
                report.problems.append(
                    f"event {expected_id}..{event.id - 1} missing (deleted?)"
                    if event.id > expected_id
                    else f"event {event.id} out of order"
                )
            if event.prev_hash != running:
                report.problems.append(f"event {event.id}: link to previous event broken")
            if stored_event_hash(event, event.prev_hash) != event.hash:
                report.problems.append(
                    f"event {event.id}: contents do not match its hash (edited?)"
                )
            published = anchors.pop(event.id, None)
            if published is not None and not event.hash.startswith(published):
                report.problems.append(
                    f"event {event.id}: hash {event.hash[: len(published)]} is not the published"
                    f" {published} (history rewritten?)"
                )
            running = event.hash
            expected_id = event.id + 1
            last_seen = event.id
            report.events += 1
    if last_seen != head.last_id or running != head.last_hash:
        report.problems.append(
            f"chain ends at event {last_seen} but the head names event {head.last_id}"
            " (tail deleted?)"
        )
    for event_id in sorted(anchors):
        report.problems.append(f"event {event_id} of a published anchor is not in the log")
    return report
