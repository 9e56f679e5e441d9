"""Chat infrastructure kept in the database: dialog state and the update journal.

Both are shared by every bot instance and survive restarts, which is why they live
here and not in either framework's memory.

The journal: an update is written down (`journal_updates`) before Telegram is told it
arrived (the webhook's 200, the next getUpdates offset), claimed by whichever instance
handles it (`claim_update`, a lease), and marked done at the end (`finish_update`).
An update whose handler died with its process is found by `unfinished_updates` once
its lease has run out, and handled again, so a crash loses nothing. Update ids are
numbered per bot: the journal keeps each bot's apart (`bot_id`, the number the token
starts with), so a database that served another token drops none of this one's updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.models import ChatState, ProcessedUpdate
from core.unit_of_work import Core

UPDATE_LEASE = timedelta(minutes=2)


@dataclass
class DialogState:
    """Where one person is in one dialog."""

    dialog: str
    step: str
    data: dict[str, Any]
    message_id: int | None = None


class ConversationStore:
    """Load, save and clear dialog state; claim update ids so each is handled once."""

    def __init__(self, core: Core, *, bot_id: int = 0) -> None:
        self.core = core
        self.bot_id = bot_id  # whose updates this store journals and claims

    async def load(self, chat_id: int, user_id: int) -> DialogState | None:
        """The person's open dialog in this chat, if any."""
        async with self.core.reading() as session:
            row = await session.scalar(
                select(ChatState).where(ChatState.chat_id == chat_id, ChatState.user_id == user_id)
            )
            if row is None:
                return None
            return DialogState(row.dialog, row.step, dict(row.data), row.message_id)

    async def save(self, chat_id: int, user_id: int, state: DialogState) -> None:
        """Store the dialog state (insert or replace)."""
        async with self.core.transaction() as tx:
            values = {
                "chat_id": chat_id,
                "user_id": user_id,
                "dialog": state.dialog,
                "step": state.step,
                "data": state.data,
                "message_id": state.message_id,
                "updated_at": tx.now,
            }
            insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
            statement = insert(ChatState).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["chat_id", "user_id"],
                set_={k: statement.excluded[k] for k in values if k not in ("chat_id", "user_id")},
            )
            await tx.session.execute(statement)

    async def clear(self, chat_id: int, user_id: int) -> None:
        """End the person's dialog."""
        async with self.core.transaction() as tx:
            await tx.session.execute(
                delete(ChatState).where(ChatState.chat_id == chat_id, ChatState.user_id == user_id)
            )

    async def journal_updates(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """Write updates down as received, in one transaction.

        A redelivered update keeps its first record; one already claimed by a handler
        that got to it first gets its payload (unless it is done already).
        """
        first = {update_id: payload for update_id, payload in reversed(updates)}
        if not first:
            return
        async with self.core.transaction() as tx:
            insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
            statement = insert(ProcessedUpdate).values(
                [
                    {
                        "bot_id": self.bot_id,
                        "update_id": update_id,
                        "received_at": tx.now,
                        "payload": payload,
                    }
                    for update_id, payload in sorted(first.items())
                ]
            )
            await tx.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["bot_id", "update_id"],
                    set_={"payload": statement.excluded.payload},
                    where=ProcessedUpdate.done_at.is_(None) & ProcessedUpdate.payload.is_(None),
                )
            )

    async def unfinished_updates(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Journaled updates nobody is handling: lease run out, or never claimed for a lease's time.

        Oldest first. Claiming still decides who handles each, so several instances
        may look at once.
        """
        async with self.core.reading() as session:
            now = self.core.clock.now()
            rows = await session.scalars(
                select(ProcessedUpdate.payload)
                .where(
                    ProcessedUpdate.bot_id == self.bot_id,
                    ProcessedUpdate.done_at.is_(None),
                    ProcessedUpdate.payload.is_not(None),
                    or_(
                        ProcessedUpdate.lease_until < now,
                        (ProcessedUpdate.lease_until.is_(None))
                        & (ProcessedUpdate.received_at < now - UPDATE_LEASE),
                    ),
                )
                .order_by(ProcessedUpdate.update_id)
                .limit(limit)
            )
            return [dict(payload) for payload in rows if payload]

    async def claim_update(self, update_id: int) -> bool:
        """True if this instance should handle the update now.

        A redelivered update that was handled, or is being handled elsewhere, is
        refused; one whose handler died mid-way (lease run out) is taken again.
        """
        async with self.core.transaction() as tx:
            insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
            created = await tx.session.execute(
                insert(ProcessedUpdate)
                .values(
                    bot_id=self.bot_id,
                    update_id=update_id,
                    received_at=tx.now,
                    lease_until=tx.now + UPDATE_LEASE,
                )
                .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
                .returning(ProcessedUpdate.update_id)
            )
            if created.scalar_one_or_none() is not None:
                return True
            retaken = await tx.session.execute(
                update(ProcessedUpdate)
                .where(
                    ProcessedUpdate.bot_id == self.bot_id,
                    ProcessedUpdate.update_id == update_id,
                    ProcessedUpdate.done_at.is_(None),
                    or_(
                        ProcessedUpdate.lease_until.is_(None), ProcessedUpdate.lease_until < tx.now
                    ),
                )
                .values(lease_until=tx.now + UPDATE_LEASE)
                .returning(ProcessedUpdate.update_id)
            )
            return retaken.scalar_one_or_none() is not None

    async def finish_update(self, update_id: int) -> None:
        """Mark an update as handled for good."""
        async with self.core.transaction() as tx:
            await tx.session.execute(
                update(ProcessedUpdate)
                .where(
                    ProcessedUpdate.bot_id == self.bot_id, ProcessedUpdate.update_id == update_id
                )
                .values(done_at=tx.now, lease_until=None, payload=null())
            )
