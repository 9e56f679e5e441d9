"""Chat infrastructure kept in the database: dialog state, the update journal, chat lanes.

All three are shared by every bot instance and survive restarts, which is why they live
here and not in either framework's memory.

The journal: an update is written down (`journal_updates`) before Telegram is told it
arrived (the webhook's 200, the next getUpdates offset), claimed by whichever instance
handles it (`claim_update`, a lease), and marked done at the end (`finish_update`).
An update whose handler died with its process is found by `unfinished_updates` once
its lease has run out, and handled again, so a crash loses nothing. Update ids are
numbered per bot: the journal keeps each bot's apart (`bot_id`, the number the token
starts with), so a database that served another token drops none of this one's updates.

Chat lanes: several instances behind one balancer each receive some of a chat's
updates (an album is five updates milliseconds apart). Whoever receives one journals
it and, in the same transaction, tries to take the chat's lane and claim its oldest
update (`journal_updates` with an `Entry`, or `enter_lane` on its own; the lane is a
short lease with a fencing token). The holder handles
the chat's journaled updates one at a time, oldest first (`next_update` finishes the
last and claims the next in one transaction), renews its leases while a handler runs
(`renew_lanes`: every lane an instance holds, in one transaction a round), and gives
the lane back in the transaction that finds nothing more to
claim: an instance that found the lane taken left its update to the holder, and the
lane's row is locked before the journal is looked at, so none is left behind. So the
chat's bookkeeping is two transactions per update: the journal's and the finish's,
each of Core statements only, written in one pass on a connection
(`Database.run_transaction`), as is the save of a dialog's step.
Dialog state carries a version and, while a lane is held (`holding`), is written only by the lane's current holder: a process that lost
its lane (paused past its lease) gets `LaneLost` instead of overwriting a newer step;
the check rides on the versioned write itself. The holder reads what an update needs
(who sent it, their dialog state) in the transaction that claims it (`Prefetch`), a
state read or written while an update is handled is not read again (`remembering`),
and what changes after a step's prompt was sent is saved `later`: in the transaction
that finishes the update.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, delete, exists, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.models import ChatLane, ChatState, ProcessedUpdate
from core.orm import among
from core.unit_of_work import Core, Tx

log = logging.getLogger(__name__)

# Core tables, not the ORM classes: the statements on every update need no ORM
# machinery (no identity-map synchronisation, no object loading), which costs CPU.
_updates = cast(Table, ProcessedUpdate.__table__)
_lanes = cast(Table, ChatLane.__table__)
_states = cast(Table, ChatState.__table__)

# The statements run on every update, built once with bound parameters (named apart
# from the columns): building a statement per call (its clauses, their coercions)
# cost more CPU than executing it. Parameters: b_bot (the bot), b_chat, b_user,
# b_token and b_holder (a lane), b_update (an update id), b_now, b_until (a lease's end).
_HELD = (
    _lanes.c.bot_id == bindparam("b_bot"),
    _lanes.c.chat_id == bindparam("b_chat"),
    _lanes.c.token == bindparam("b_token"),
    _lanes.c.holder == bindparam("b_holder"),
)
_WAITING = (
    _updates.c.bot_id == bindparam("b_bot"),
    _updates.c.chat_id == bindparam("b_chat"),
    _updates.c.done_at.is_(None),
    _updates.c.payload.is_not(None),
)
_RENEW = (
    update(_lanes).where(*_HELD).values(lease_until=bindparam("b_until")).returning(_lanes.c.token)
)
_RELEASE = update(_lanes).where(*_HELD).values(holder=None, lease_until=None)
_RELEASE_IF_EMPTY = _RELEASE.where(~exists().where(*_WAITING)).returning(_lanes.c.token)
_ANY_WAITING = select(exists().where(*_WAITING))
_CLAIM_OLDEST = (
    update(_updates)
    .where(
        _updates.c.bot_id == bindparam("b_bot"),
        _updates.c.update_id
        == select(func.min(_updates.c.update_id)).where(*_WAITING).scalar_subquery(),
        _updates.c.done_at.is_(None),
        _updates.c.payload.is_not(None),
        or_(_updates.c.lease_until.is_(None), _updates.c.lease_until < bindparam("b_now")),
    )
    .values(lease_until=bindparam("b_until"))
    .returning(_updates.c.update_id, _updates.c.payload)
)
_FINISH = (
    update(_updates)
    .where(_updates.c.bot_id == bindparam("b_bot"), _updates.c.update_id == bindparam("b_update"))
    .values(done_at=bindparam("b_now"), lease_until=None, payload=null())
)
_STATE = (
    _states.c.chat_id == bindparam("b_chat"),
    _states.c.user_id == bindparam("b_user"),
)
_LOAD_STATE = select(
    _states.c.dialog, _states.c.step, _states.c.data, _states.c.message_id, _states.c.version
).where(*_STATE)
# The lane's token while the lane is still this holder's, share-locked (PostgreSQL: a
# takeover waits until the write that asks is committed).
_STILL_HELD = select(_lanes.c.token).where(*_HELD).with_for_update(read=True)
_STATE_VALUES: dict[str, Any] = {
    "dialog": bindparam("b_dialog"),
    "step": bindparam("b_step"),
    "data": bindparam("b_data"),
    "message_id": bindparam("b_message"),
    "updated_at": bindparam("b_now"),
}
_SAVE_VERSIONED = (
    update(_states)
    .where(*_STATE, _states.c.version == bindparam("b_version"))
    .values(**_STATE_VALUES, version=_states.c.version + 1)
    .returning(_states.c.version)
)
# The same, fenced by the lane (while one is held): one round trip for the usual save.
_SAVE_VERSIONED_FENCED = _SAVE_VERSIONED.where(exists(_STILL_HELD))
_CLEAR = delete(_states).where(*_STATE).returning(_states.c.id)
_CLEAR_FENCED = _CLEAR.where(exists(_STILL_HELD))

# Short, because a dead instance's updates and chats wait this long for a taker; the
# holder renews it (every third of it) for as long as the handler runs.
UPDATE_LEASE = timedelta(seconds=10)


@dataclass
class DialogState:
    """Where one person is in one dialog (`version` 0: not saved yet)."""

    dialog: str
    step: str
    data: dict[str, Any]
    message_id: int | None = None
    version: int = 0

    def copy(self) -> DialogState:
        """A copy sharing nothing mutable (what `copy.deepcopy` gives, for JSON data)."""
        return DialogState(self.dialog, self.step, copied(self.data), self.message_id, self.version)


_IMMUTABLE = (str, int, float, bool, type(None))


def copied(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): a dialog's state is copied
    a few times per update, and `copy.deepcopy`'s generality was a noticeable part of an
    update's cost. Anything else is handed to `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {key: copied(item) for key, item in value.items()}
    if kind is list:
        return [copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


@dataclass(frozen=True)
class Lane:
    """A chat's lane as held by one instance: the fencing token says which acquisition."""

    chat_id: int
    holder: str
    token: int


@dataclass(frozen=True)
class Claimed:
    """A journaled update the lane's holder is to handle now.

    `prefetched`: what the caller's `Prefetch` read for it in the claiming transaction.
    """

    update_id: int
    payload: dict[str, Any]
    prefetched: Any = None


# Reads done for a claimed update inside the transaction that claims it (who sent it,
# their dialog state), so handling it needs no transaction of its own for them.
# Runs synchronously on the transaction's connection (see `Database.run_transaction`).
Prefetch = Callable[[Connection, dict[str, Any]], Any]
StateKey = tuple[int, int]  # (chat_id, user_id)


Next = Claimed | Literal["empty", "blocked"]  # what a lane's holder takes next
# A chat's lane entered by this instance, and what it took: None when another holds it.
Entered = tuple[Lane, Next] | None


@dataclass(frozen=True)
class Entry:
    """Chats whose lanes to enter in the transaction that journals their updates.

    Saves the transaction of its own `enter_lane` would take for each: the journal
    is written before the lane is tried, in the same transaction, so the argument
    that leaves no update behind a lane being given back holds as before. `chats` in
    ascending order: lanes' rows are locked in that order, so two instances journaling
    updates of the same chats cannot deadlock (PostgreSQL).
    """

    chats: tuple[int, ...]
    holder: str
    prefetch: Prefetch | None = None
    # Chats whose lanes `holder` is running now: never taken over from itself, however
    # late its lease reads (a handler outlasting it, the clock jumping ahead).
    running: frozenset[int] = frozenset()


class LaneLost(RuntimeError):
    """This instance's lease on a chat's lane ran out and another took the chat over."""


class StaleDialogState(RuntimeError):
    """The dialog state changed since it was read: another handler wrote a newer step."""


# The lane held by the update being handled in this task (dialog state writes are fenced by it).
_holding: ContextVar[Lane | None] = ContextVar("faultdesk_lane", default=None)
# Dialog states saved `later` while a lane is held: written in the transaction that
# finishes the update (`next_update`), as one with it.
_unsaved: ContextVar[dict[StateKey, DialogState] | None] = ContextVar(
    "faultdesk_unsaved_states", default=None
)
# Dialog states as last read or written while one update is handled (`remembering`):
# while a chat's lane is held nobody else writes them, so they are not read again.
_known: ContextVar[dict[StateKey, DialogState | None] | None] = ContextVar(
    "faultdesk_known_states", default=None
)


def _insert(dialect: str) -> Any:
    """The dialect's INSERT (with ON CONFLICT): "postgresql" or "sqlite"."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


@functools.cache
def _take_statement(dialect: str) -> Any:
    """Take a chat's lane unless a live holder has it (the new token returned), built once.

    `b_running`: a holder whose lease ran out but which still runs the lane (the taker
    itself, or "" when it runs no lane of this chat); a lane is not taken from it.
    """
    statement = _insert(dialect)(_lanes).values(
        bot_id=bindparam("b_bot"),
        chat_id=bindparam("b_chat"),
        holder=bindparam("b_holder"),
        token=1,
        lease_until=bindparam("b_until"),
    )
    return statement.on_conflict_do_update(
        index_elements=["bot_id", "chat_id"],
        set_={
            "holder": statement.excluded.holder,
            "token": _lanes.c.token + 1,
            "lease_until": statement.excluded.lease_until,
        },
        where=_lanes.c.holder.is_(None)
        | (
            (_lanes.c.lease_until < bindparam("b_now"))
            & (_lanes.c.holder != bindparam("b_running"))
        ),
    ).returning(_lanes.c.token)


@functools.cache
def _journal_statement(dialect: str) -> Any:
    """Journal one update (a redelivery keeps the first record), built once."""
    statement = _insert(dialect)(_updates).values(
        bot_id=bindparam("b_bot"),
        update_id=bindparam("b_update"),
        received_at=bindparam("b_now"),
        payload=bindparam("b_payload"),
        chat_id=bindparam("b_chat"),
    )
    return statement.on_conflict_do_update(
        index_elements=["bot_id", "update_id"],
        set_={"payload": statement.excluded.payload, "chat_id": statement.excluded.chat_id},
        where=_updates.c.done_at.is_(None) & _updates.c.payload.is_(None),
    )


class ConversationStore:
    """Dialog state, the update journal and chat lanes of one bot, in the database."""

    def __init__(
        self, core: Core, *, bot_id: int = 0, update_lease: timedelta = UPDATE_LEASE
    ) -> None:
        self.core = core
        self.bot_id = bot_id  # whose updates this store journals and claims
        self.update_lease = update_lease

    # --- dialog state -------------------------------------------------------------------

    async def load(self, chat_id: int, user_id: int) -> DialogState | None:
        """The person's open dialog in this chat, if any."""
        known = _known.get()
        if known is not None and (chat_id, user_id) in known:
            remembered = known[(chat_id, user_id)]
            return None if remembered is None else remembered.copy()
        async with self.core.reading() as session:
            state = await session.run_sync(
                lambda sync: self.load_in(sync.connection(), chat_id, user_id)
            )
        self._remember(chat_id, user_id, state)
        return state

    @staticmethod
    def load_in(connection: Connection, chat_id: int, user_id: int) -> DialogState | None:
        """The person's open dialog in this chat, read on `connection` (a prefetch's)."""
        row = connection.execute(_LOAD_STATE, {"b_chat": chat_id, "b_user": user_id}).first()
        if row is None:
            return None
        return DialogState(row.dialog, row.step, dict(row.data), row.message_id, row.version)

    @staticmethod
    @contextmanager
    def remembering(known: dict[StateKey, DialogState | None] | None = None) -> Iterator[None]:
        """Within this block (one update), dialog states read or written are not read again.

        `known`: states already read (in the transaction that claimed the update).
        """
        reset = _known.set(dict(known or {}))
        try:
            yield
        finally:
            _known.reset(reset)

    @staticmethod
    def _remember(chat_id: int, user_id: int, state: DialogState | None) -> None:
        known = _known.get()
        if known is not None:
            known[(chat_id, user_id)] = None if state is None else state.copy()

    @staticmethod
    def _forget(chat_id: int, user_id: int) -> None:
        known = _known.get()
        if known is not None:
            known.pop((chat_id, user_id), None)

    async def save(
        self, chat_id: int, user_id: int, state: DialogState, *, later: bool = False
    ) -> None:
        """Store the dialog state; raises StaleDialogState if it changed since it was read.

        A state never saved (version 0) replaces whatever is there (a dialog started
        anew); one read from the database is written only over the version it was read
        at. `state.version` is the stored version afterwards.

        `later`: while the chat's lane is held, written in the transaction that finishes
        the update instead of one of its own (for what changed after a step's prompt was
        sent: the prompt's message, an answer kept at the same step), so it is recorded
        together with the update being done. Read back the same within the update.
        """
        unsaved = _unsaved.get()
        key = (chat_id, user_id)
        if later and state.version and unsaved is not None and _held_lane(chat_id):
            unsaved[key] = state.copy()
            self._remember(chat_id, user_id, state)
            return
        if unsaved is not None:
            unsaved.pop(key, None)  # written now, at the version it was read at
        try:
            state.version = await self._save_now(chat_id, user_id, state)
        except (StaleDialogState, LaneLost):
            self._forget(chat_id, user_id)
            raise
        self._remember(chat_id, user_id, state)

    def _save_params(
        self, chat_id: int, user_id: int, state: DialogState, now: datetime, lane: Lane | None
    ) -> dict[str, Any]:
        """The parameters of `_SAVE_VERSIONED` (and of `_SAVE_VERSIONED_FENCED` with a lane)."""
        params = {
            "b_chat": chat_id,
            "b_user": user_id,
            "b_version": state.version,
            "b_dialog": state.dialog,
            "b_step": state.step,
            "b_data": state.data,
            "b_message": state.message_id,
            "b_now": now,
        }
        return params if lane is None else {**params, **self._lane_params(lane)}

    async def _save_now(self, chat_id: int, user_id: int, state: DialogState) -> int:
        """Write the state in one pass (`run_transaction`): over the version it was read
        at, or (never saved) in place of whatever is there. Its new version, or the refusal.
        """
        lane = _held_lane(chat_id)
        now = self.core.clock.now()

        def work(connection: Connection) -> int | None:
            if not state.version:
                if lane is not None:
                    self._ensure_held(connection, chat_id, lane)
                return self._replace_state(connection, now, chat_id, user_id, state)
            params = self._save_params(chat_id, user_id, state, now, lane)
            if lane is None:
                return connection.execute(_SAVE_VERSIONED, params).scalar_one_or_none()
            # The lane's fence in the same statement: one round trip for the usual save.
            version = connection.execute(_SAVE_VERSIONED_FENCED, params).scalar_one_or_none()
            if version is None:
                self._ensure_held(connection, chat_id, lane)  # refused by the fence?
            return version

        version = await self.core.db.run_transaction(work)
        if version is None:
            raise StaleDialogState(
                f"the dialog state of chat {chat_id} changed since version {state.version}"
            )
        return int(version)

    @staticmethod
    def _replace_state(
        connection: Connection, now: datetime, chat_id: int, user_id: int, state: DialogState
    ) -> int:
        """Store a state never saved over whatever is there (a dialog started anew)."""
        values = {
            "dialog": state.dialog,
            "step": state.step,
            "data": state.data,
            "message_id": state.message_id,
            "updated_at": now,
        }
        statement = _insert(connection.dialect.name)(_states).values(
            chat_id=chat_id, user_id=user_id, version=1, **values
        )
        written = connection.execute(
            statement.on_conflict_do_update(
                index_elements=["chat_id", "user_id"],
                set_={
                    **{key: statement.excluded[key] for key in values},
                    "version": _states.c.version + 1,
                },
            ).returning(_states.c.version)
        )
        return int(written.scalar_one())

    async def clear(self, chat_id: int, user_id: int) -> None:
        """End the person's dialog."""
        unsaved = _unsaved.get()
        if unsaved is not None:
            unsaved.pop((chat_id, user_id), None)
        params: dict[str, Any] = {"b_chat": chat_id, "b_user": user_id}
        lane = _held_lane(chat_id)

        def work(connection: Connection) -> None:
            if lane is None:
                connection.execute(_CLEAR, params)
            # Fenced by the lane, as a save is; nothing there, or fenced off?
            elif (
                connection.execute(_CLEAR_FENCED, {**params, **self._lane_params(lane)}).first()
                is None
            ):
                self._ensure_held(connection, chat_id, lane)

        try:
            await self.core.db.run_transaction(work)
        except LaneLost:
            self._forget(chat_id, user_id)
            raise
        self._remember(chat_id, user_id, None)

    def _ensure_held(self, connection: Connection, chat_id: int, lane: Lane) -> None:
        """LaneLost unless `lane` is still this holder's (share-locked until the commit)."""
        if connection.execute(_STILL_HELD, self._lane_params(lane)).first() is None:
            raise LaneLost(f"the lane of chat {chat_id} was taken over")

    @staticmethod
    @contextmanager
    def holding(lane: Lane) -> Iterator[None]:
        """Within this block (this task), dialog state of the lane's chat is fenced by the lane."""
        reset = _holding.set(lane)
        reset_unsaved = _unsaved.set({})
        try:
            yield
        finally:
            _unsaved.reset(reset_unsaved)
            _holding.reset(reset)

    @staticmethod
    def _unsaved_of(lane: Lane) -> list[tuple[StateKey, DialogState]]:
        """The states of the lane's chat saved `later` while handling its last update."""
        unsaved = _unsaved.get() or {}
        return [(key, state.copy()) for key, state in unsaved.items() if key[0] == lane.chat_id]

    def _write_unsaved(
        self,
        connection: Connection,
        now: datetime,
        lane: Lane,
        writes: list[tuple[StateKey, DialogState]],
    ) -> None:
        """Write states saved `later`, on the connection of a transaction that renewed `lane`."""
        for (chat_id, user_id), state in writes:
            params = self._save_params(chat_id, user_id, state, now, lane)
            if connection.execute(_SAVE_VERSIONED_FENCED, params).first() is None:
                # Only the lane's holder writes while it holds the lane (renewed in this
                # transaction); a write from outside the lane won: keep it rather than
                # fail the update.
                log.warning("dialog state of chat %s changed meanwhile; kept", chat_id)

    @staticmethod
    def _written(writes: list[tuple[StateKey, DialogState]]) -> None:
        """Forget states saved `later` once the transaction that wrote them committed."""
        unsaved = _unsaved.get()
        if unsaved is not None:
            for key, _state in writes:
                unsaved.pop(key, None)

    # --- the update journal -------------------------------------------------------------

    async def journal_updates(
        self, updates: list[tuple[int, dict[str, Any]]], *, enter: Entry | None = None
    ) -> dict[int, Entered]:
        """Write updates down as received, in one transaction.

        A redelivered update keeps its first record; one already claimed by a handler
        that got to it first gets its payload (unless it is done already).

        `enter`: then, in the same transaction, enter each of these chats' lanes as
        `enter_lane` does; what each gave, by chat (the caller must go on with every
        lane entered, `bot.lanes.ChatLanes.run_entered`).
        """
        first = {update_id: payload for update_id, payload in reversed(updates)}
        if not first:
            return {}
        now = self.core.clock.now()
        rows = [
            {
                "b_bot": self.bot_id,
                "b_update": update_id,
                "b_now": now,
                "b_payload": payload,
                "b_chat": _chat_of(payload),
            }
            for update_id, payload in sorted(first.items())
        ]

        def work(connection: Connection) -> dict[int, Entered]:
            # One row: a plain execute; several: one executemany, in update order.
            statement = _journal_statement(connection.dialect.name)
            connection.execute(statement, rows[0] if len(rows) == 1 else rows)
            return {} if enter is None else self._enter(connection, now, enter)

        return await self.core.db.run_transaction(work)

    def _enter(self, connection: Connection, now: datetime, enter: Entry) -> dict[int, Entered]:
        return {
            chat_id: self._enter_one(
                connection,
                now,
                chat_id,
                enter.holder,
                prefetch=enter.prefetch,
                running=chat_id in enter.running,
            )
            for chat_id in sorted(enter.chats)
        }

    def _enter_one(
        self,
        connection: Connection,
        now: datetime,
        chat_id: int,
        holder: str,
        *,
        prefetch: Prefetch | None,
        running: bool,
    ) -> Entered:
        """Take the chat's lane and claim its oldest update (None: another holds the lane)."""
        lane = self._take(connection, now, chat_id, holder, running=running)
        return None if lane is None else (lane, self._next(connection, now, lane, prefetch))

    async def unfinished_updates(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Journaled updates nobody is handling: lease run out, or never claimed for a lease's time.

        Oldest first. Claiming still decides who handles each, so several instances
        may look at once.
        """
        async with self.core.reading() as session:
            now = self.core.clock.now()
            rows = await session.scalars(
                select(_updates.c.payload)
                .where(
                    _updates.c.bot_id == self.bot_id,
                    _updates.c.done_at.is_(None),
                    _updates.c.payload.is_not(None),
                    or_(
                        _updates.c.lease_until < now,
                        (_updates.c.lease_until.is_(None))
                        & (_updates.c.received_at < now - self.update_lease),
                    ),
                )
                .order_by(_updates.c.update_id)
                .limit(limit)
            )
            return [dict(payload) for payload in rows if payload]

    async def claim_update(self, update_id: int) -> bool:
        """True if this instance should handle the update now.

        A redelivered update that was handled, or is being handled elsewhere, is
        refused; one whose handler died mid-way (lease run out) is taken again.
        """
        async with self.core.transaction() as tx:
            lease_until = tx.now + self.update_lease
            created = await tx.session.execute(
                _insert(tx.dialect)(_updates)
                .values(
                    bot_id=self.bot_id,
                    update_id=update_id,
                    received_at=tx.now,
                    lease_until=lease_until,
                )
                .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
                .returning(_updates.c.update_id)
            )
            if created.scalar_one_or_none() is not None:
                return True
            return await self._claim(tx, update_id)

    async def _claim(self, tx: Tx, update_id: int) -> bool:
        """Lease a journaled update that is not done and not leased to a live handler."""
        retaken = await tx.session.execute(
            update(_updates)
            .where(
                _updates.c.bot_id == self.bot_id,
                _updates.c.update_id == update_id,
                _updates.c.done_at.is_(None),
                or_(_updates.c.lease_until.is_(None), _updates.c.lease_until < tx.now),
            )
            .values(lease_until=tx.now + self.update_lease)
            .returning(_updates.c.update_id)
        )
        return retaken.scalar_one_or_none() is not None

    async def finish_update(self, update_id: int) -> None:
        """Mark an update as handled for good."""
        now = self.core.clock.now()
        await self.core.db.run_transaction(lambda c: self._finish(c, now, update_id))

    def _finish(self, connection: Connection, now: datetime, update_id: int) -> None:
        connection.execute(_FINISH, {"b_bot": self.bot_id, "b_update": update_id, "b_now": now})

    # --- chat lanes ---------------------------------------------------------------------

    async def take_lane(self, chat_id: int, holder: str, *, running: bool = False) -> Lane | None:
        """The chat's lane for `holder` if nobody holds it (or a holder's lease ran out).

        `running`: `holder` runs this chat's lane now, so a lease of its own that ran
        out is not taken over (a lane of its own left behind otherwise is).
        """
        now = self.core.clock.now()
        return await self.core.db.run_transaction(
            lambda c: self._take(c, now, chat_id, holder, running=running)
        )

    async def enter_lane(
        self,
        chat_id: int,
        holder: str,
        *,
        prefetch: Prefetch | None = None,
        running: bool = False,
    ) -> tuple[Lane, Next] | None:
        """Take the chat's lane and claim its oldest unhandled update, in one transaction.

        None when another instance holds the lane (it handles the update received
        here in its turn). With nothing to claim ("empty", "blocked") the lane is
        given back in the same transaction. `prefetch` reads what handling the claimed
        update needs, in the same transaction. `running` as for `take_lane`.
        """
        now = self.core.clock.now()
        return await self.core.db.run_transaction(
            lambda c: self._enter_one(c, now, chat_id, holder, prefetch=prefetch, running=running)
        )

    async def next_update(
        self, lane: Lane, *, finished: int | None = None, prefetch: Prefetch | None = None
    ) -> Next:
        """Finish `finished` and claim the chat's oldest unhandled update, in one transaction.

        "empty" when the chat has nothing waiting; "blocked" when its oldest update is
        leased to a handler elsewhere (it keeps its place: later ones wait behind it,
        and recovery hands it on once that lease runs out). Either way the lane is given
        back in the same transaction. LaneLost when the lane was taken over (`finished`
        is recorded all the same).
        """
        writes = self._unsaved_of(lane)
        now = self.core.clock.now()

        def work(connection: Connection) -> Next | None:
            # The lane's row first, as in every transaction that touches both: a renewal
            # running meanwhile (lane, then the update) cannot deadlock with this one.
            held = self._renew(connection, now, lane)
            if held:
                self._write_unsaved(connection, now, lane, writes)
            if finished is not None:
                self._finish(connection, now, finished)
            if not held:
                return None
            if finished is not None:
                # After an update, usually nothing else of the chat waits: give the lane
                # back unless something does, in one statement, before trying to claim.
                released = connection.execute(_RELEASE_IF_EMPTY, self._lane_params(lane))
                if released.first() is not None:
                    return "empty"
            return self._next(connection, now, lane, prefetch)

        taken = await self.core.db.run_transaction(work)
        if taken is None:
            raise LaneLost(f"the lane of chat {lane.chat_id} was taken over")
        self._written(writes)
        return taken

    def _take(
        self, connection: Connection, now: datetime, chat_id: int, holder: str, *, running: bool
    ) -> Lane | None:
        taken = connection.execute(
            _take_statement(connection.dialect.name),
            {
                "b_bot": self.bot_id,
                "b_chat": chat_id,
                "b_holder": holder,
                "b_running": holder if running else "",
                "b_now": now,
                "b_until": now + self.update_lease,
            },
        )
        token = taken.scalar_one_or_none()
        return None if token is None else Lane(chat_id, holder, token)

    def _next(
        self, connection: Connection, now: datetime, lane: Lane, prefetch: Prefetch | None = None
    ) -> Next:
        """Claim the oldest waiting update of a lane held (row-locked) in the connection's
        transaction, or give it back.

        The lane's row is written (locked) before the journal is looked at: an instance
        that finds the lane taken has journaled its update before trying, so either
        this look sees the update, or that instance's try waits for this transaction
        and finds the lane free. No update is left behind a lane being given back.

        The oldest waiting update is claimed in one statement, and the journal looked
        at again only when none was.
        """
        held = self._lane_params(lane)
        lease = {"b_now": now, "b_until": now + self.update_lease}
        row = connection.execute(
            _CLAIM_OLDEST, {"b_bot": self.bot_id, "b_chat": lane.chat_id, **lease}
        ).first()
        if row is not None and row.payload is not None:
            payload = dict(row.payload)
            prefetched = None if prefetch is None else prefetch(connection, payload)
            return Claimed(row.update_id, payload, prefetched)
        connection.execute(_RELEASE, held)
        waiting = connection.execute(
            _ANY_WAITING, {"b_bot": self.bot_id, "b_chat": lane.chat_id}
        ).scalar()
        return "blocked" if waiting else "empty"

    async def renew_lanes(self, holder: str, leases: list[tuple[Lane, int | None]]) -> set[Lane]:
        """Extend the leases of `holder`'s lanes, and of the update each is on, in one
        transaction; the lanes (of those given) still `holder`'s.

        One round for every lane an instance holds: those running a handler (the update
        it handles) and those entered with the journal ahead of their handler (the update
        each claimed), whose updates may wait their turn here for longer than a lease.
        A lane given with no update has only its own lease extended.
        """
        if not leases:
            return set()
        now = self.core.clock.now()
        chats = sorted({lane.chat_id for lane, _ in leases})
        dialect = self.core.db.dialect

        def work(connection: Connection) -> set[Lane]:
            lanes = (
                _lanes.c.bot_id == self.bot_id,
                among(dialect, _lanes.c.chat_id, chats),
                _lanes.c.holder == holder,
            )
            if dialect == "postgresql":
                # The rows locked in chat order, as the journal's transaction takes them.
                connection.execute(
                    select(_lanes.c.chat_id)
                    .where(*lanes)
                    .order_by(_lanes.c.chat_id)
                    .with_for_update()
                )
            until = now + self.update_lease
            renewed = connection.execute(
                update(_lanes)
                .where(*lanes)
                .values(lease_until=until)
                .returning(_lanes.c.chat_id, _lanes.c.token)
            )
            tokens = {(chat, token) for chat, token in renewed}
            held = {lane for lane, _ in leases if (lane.chat_id, lane.token) in tokens}
            updates = sorted(
                {update_id for lane, update_id in leases if lane in held and update_id is not None}
            )
            if updates:
                connection.execute(
                    update(_updates)
                    .where(
                        _updates.c.bot_id == self.bot_id,
                        among(dialect, _updates.c.update_id, updates),
                        _updates.c.done_at.is_(None),
                    )
                    .values(lease_until=until)
                )
            return held

        return await self.core.db.run_transaction(work)

    async def release_lane(self, lane: Lane, *, finished: int | None = None) -> bool:
        """Finish `finished` and give the lane back; True if updates of the chat are waiting.

        For a holder that stops mid-way (its handler failed, or it is shutting down);
        waiting updates are handed on by recovery, or by the next update of the chat.
        """
        now = self.core.clock.now()

        def work(connection: Connection) -> bool:
            connection.execute(_RELEASE, self._lane_params(lane))
            if finished is not None:
                self._finish(connection, now, finished)
            waiting = connection.execute(
                _ANY_WAITING, {"b_bot": self.bot_id, "b_chat": lane.chat_id}
            ).scalar()
            return bool(waiting)

        return await self.core.db.run_transaction(work)

    def _renew(self, connection: Connection, now: datetime, lane: Lane) -> bool:
        """Extend the lane's lease; False if it is no longer this holder's."""
        renewed = connection.execute(
            _RENEW, {**self._lane_params(lane), "b_until": now + self.update_lease}
        )
        return renewed.first() is not None

    def _lane_params(self, lane: Lane) -> dict[str, Any]:
        """The bound parameters naming `lane` in the statements built once."""
        return {
            "b_bot": self.bot_id,
            "b_chat": lane.chat_id,
            "b_token": lane.token,
            "b_holder": lane.holder,
        }


def _held_lane(chat_id: int) -> Lane | None:
    """This task's lane of the chat, while it holds one (its writes are fenced by it)."""
    lane = _holding.get()
    return lane if lane is not None and lane.chat_id == chat_id else None


def _chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update came from (its journal record's `chat_id`)."""
    chat = payload.get("chat_id")
    return chat if type(chat) is int else None
