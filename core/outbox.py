"""Outbox rows: messages to people, written in the transaction that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Tx
from core.models import OutboxMessage

PRIORITY_PAGE = 1
PRIORITY_NOTICE = 5
PRIORITY_REPORT = 8


async def enqueue(
    tx: Tx,
    *,
    key: str,
    code: str,
    recipient_id: int | None = None,
    chat_id: int | None = None,
    params: dict[str, Any] | None = None,
    ticket_id: int | None = None,
    page_id: int | None = None,
    priority: int = PRIORITY_NOTICE,
    available_at: datetime | None = None,
) -> bool:
    """Add a message unless one with the same idempotency key exists; True if added."""
    if recipient_id is None and chat_id is None:
        raise ValueError("an outbox message needs a recipient or a chat")
    values = {
        "key": key,
        "code": code,
        "recipient_id": recipient_id,
        "chat_id": chat_id,
        "params": params or {},
        "ticket_id": ticket_id,
        "page_id": page_id,
        "priority": priority,
        "created_at": tx.now,
        "available_at": available_at or tx.now,
    }
    insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
    )
    result = await tx.session.execute(statement.returning(OutboxMessage.id))
    added = result.scalar_one_or_none() is not None
    if added:
        tx.note_outbox()
    return added


async def pending_for(tx: Tx, recipient_id: int) -> list[OutboxMessage]:
    """Unsent messages for a person (tests, diagnostics)."""
    rows = await tx.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient_id == recipient_id)
        .order_by(OutboxMessage.id)
    )
    return list(rows)
