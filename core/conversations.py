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
(`renew_lane`), and gives the lane back in the transaction that finds nothing more to
claim: an instance that found the lane taken left its update to the holder, and the
lane's row is locked before the journal is looked at, so none is left behind. So the
chat's bookkeeping is two transactions per update: the journal's and the finish's.
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, delete, exists, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

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
Prefetch = Callable[[AsyncSession, dict[str, Any]], Awaitable[Any]]
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


def _insert(tx: Tx) -> Any:
    return pg_insert if tx.dialect == "postgresql" else sqlite_insert


@functools.cache
def _take_statement(dialect: str) -> Any:
    """Take a chat's lane unless a live holder has it (the new token returned), built once.

    `b_running`: a holder whose lease ran out but which still runs the lane (the taker
    itself, or "" when it runs no lane of this chat); a lane is not taken from it.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_lanes).values(
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
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_updates).values(
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
            state = await self.load_in(session, chat_id, user_id)
        self._remember(chat_id, user_id, state)
        return state

    @staticmethod
    async def load_in(session: AsyncSession, chat_id: int, user_id: int) -> DialogState | None:
        """The person's open dialog in this chat, read in `session`."""
        row = (await session.execute(_LOAD_STATE, {"b_chat": chat_id, "b_user": user_id})).first()
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
            async with self.core.transaction() as tx:
                state.version = await self._save(tx, chat_id, user_id, state)
        except (StaleDialogState, LaneLost):
            self._forget(chat_id, user_id)
            raise
        self._remember(chat_id, user_id, state)

    async def _save(self, tx: Tx, chat_id: int, user_id: int, state: DialogState) -> int:
        values = {
            "dialog": state.dialog,
            "step": state.step,
            "data": state.data,
            "message_id": state.message_id,
            "updated_at": tx.now,
        }
        if state.version:
            params = {
                "b_chat": chat_id,
                "b_user": user_id,
                "b_version": state.version,
                "b_dialog": state.dialog,
                "b_step": state.step,
                "b_data": state.data,
                "b_message": state.message_id,
                "b_now": tx.now,
            }
            lane = _held_lane(chat_id)
            if lane is None:
                written = await tx.session.execute(_SAVE_VERSIONED, params)
            else:
                # The lane's fence in the same statement: one round trip for the usual save.
                written = await tx.session.execute(
                    _SAVE_VERSIONED_FENCED, {**params, **self._lane_params(lane)}
                )
        else:
            await self._check_lane(tx, chat_id)
            statement = _insert(tx)(_states).values(
                chat_id=chat_id, user_id=user_id, version=1, **values
            )
            written = await tx.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["chat_id", "user_id"],
                    set_={
                        **{key: statement.excluded[key] for key in values},
                        "version": _states.c.version + 1,
                    },
                ).returning(_states.c.version)
            )
        version = written.scalar_one_or_none()
        if version is None:
            await self._check_lane(tx, chat_id)  # refused by the fence: LaneLost
            raise StaleDialogState(
                f"the dialog state of chat {chat_id} changed since version {state.version}"
            )
        return int(version)

    async def clear(self, chat_id: int, user_id: int) -> None:
        """End the person's dialog."""
        unsaved = _unsaved.get()
        if unsaved is not None:
            unsaved.pop((chat_id, user_id), None)
        try:
            async with self.core.transaction() as tx:
                params = {"b_chat": chat_id, "b_user": user_id}
                lane = _held_lane(chat_id)
                if lane is None:
                    deleted = await tx.session.execute(_CLEAR, params)
                else:  # fenced by the lane, as a save is
                    deleted = await tx.session.execute(
                        _CLEAR_FENCED, {**params, **self._lane_params(lane)}
                    )
                if deleted.first() is None:
                    await self._check_lane(tx, chat_id)  # nothing there, or fenced off
        except LaneLost:
            self._forget(chat_id, user_id)
            raise
        self._remember(chat_id, user_id, None)

    async def _check_lane(self, tx: Tx, chat_id: int) -> None:
        """Refuse a write by a handler whose chat lane was taken over (no lane held: allowed)."""
        lane = _held_lane(chat_id)
        if lane is None:
            return
        held = await tx.session.scalar(_STILL_HELD, self._lane_params(lane))
        if held is None:
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

    async def _write_unsaved(self, tx: Tx, lane: Lane) -> None:
        """Write the states saved `later` while handling the lane's last update."""
        unsaved = _unsaved.get()
        if not unsaved:
            return
        for (chat_id, user_id), state in list(unsaved.items()):
            if chat_id != lane.chat_id:
                continue
            del unsaved[(chat_id, user_id)]
            try:
                await self._save(tx, chat_id, user_id, state)
            except StaleDialogState:
                # Only the lane's holder writes while it holds the lane; a write from
                # outside the lane won: keep it rather than fail the update.
                log.warning("dialog state of chat %s changed meanwhile; kept", chat_id)

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
        async with self.core.transaction() as tx:
            rows = [
                {
                    "b_bot": self.bot_id,
                    "b_update": update_id,
                    "b_now": tx.now,
                    "b_payload": payload,
                    "b_chat": _chat_of(payload),
                }
                for update_id, payload in sorted(first.items())
            ]
            # One row: a plain execute; several: one executemany, in update order.
            await tx.session.execute(
                _journal_statement(tx.dialect), rows[0] if len(rows) == 1 else rows
            )
            return {} if enter is None else await self._enter(tx, enter)

    async def _enter(self, tx: Tx, enter: Entry) -> dict[int, Entered]:
        entered: dict[int, Entered] = {}
        for chat_id in sorted(enter.chats):
            lane = await self._take(tx, chat_id, enter.holder, running=chat_id in enter.running)
            entered[chat_id] = (
                None if lane is None else (lane, await self._next(tx, lane, enter.prefetch))
            )
        return entered

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
                _insert(tx)(_updates)
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
        async with self.core.transaction() as tx:
            await self._finish(tx, update_id)

    async def _finish(self, tx: Tx, update_id: int) -> None:
        await tx.session.execute(
            _FINISH, {"b_bot": self.bot_id, "b_update": update_id, "b_now": tx.now}
        )

    # --- chat lanes ---------------------------------------------------------------------

    async def take_lane(self, chat_id: int, holder: str, *, running: bool = False) -> Lane | None:
        """The chat's lane for `holder` if nobody holds it (or a holder's lease ran out).

        `running`: `holder` runs this chat's lane now, so a lease of its own that ran
        out is not taken over (a lane of its own left behind otherwise is).
        """
        async with self.core.transaction() as tx:
            return await self._take(tx, chat_id, holder, running=running)

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
        async with self.core.transaction() as tx:
            lane = await self._take(tx, chat_id, holder, running=running)
            if lane is None:
                return None
            return lane, await self._next(tx, lane, prefetch)

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
        async with self.core.transaction() as tx:
            # The lane's row first, as in every transaction that touches both: a renewal
            # running meanwhile (lane, then the update) cannot deadlock with this one.
            held = await self._renew(tx, lane)
            if held:
                await self._write_unsaved(tx, lane)
            if finished is not None:
                await self._finish(tx, finished)
            if held:
                return await self._next(tx, lane, prefetch, likely_empty=finished is not None)
        raise LaneLost(f"the lane of chat {lane.chat_id} was taken over")

    async def _take(self, tx: Tx, chat_id: int, holder: str, *, running: bool) -> Lane | None:
        taken = await tx.session.execute(
            _take_statement(tx.dialect),
            {
                "b_bot": self.bot_id,
                "b_chat": chat_id,
                "b_holder": holder,
                "b_running": holder if running else "",
                "b_now": tx.now,
                "b_until": tx.now + self.update_lease,
            },
        )
        token = taken.scalar_one_or_none()
        return None if token is None else Lane(chat_id, holder, token)

    async def _next(
        self,
        tx: Tx,
        lane: Lane,
        prefetch: Prefetch | None = None,
        *,
        likely_empty: bool = False,
    ) -> Next:
        """Claim the oldest waiting update of a lane held (row-locked) in `tx`, or give it back.

        The lane's row is written (locked) before the journal is looked at: an instance
        that finds the lane taken has journaled its update before trying, so either
        this look sees the update, or that instance's try waits for this transaction
        and finds the lane free. No update is left behind a lane being given back.

        `likely_empty` (after finishing one): give the lane back unless something waits,
        in one statement, before trying to claim. Otherwise the oldest waiting update is
        claimed in one statement, and the journal looked at again only when none was.
        """
        held = self._lane_params(lane)
        if likely_empty:
            released = await tx.session.execute(_RELEASE_IF_EMPTY, held)
            if released.scalar_one_or_none() is not None:
                return "empty"
        lease = {"b_now": tx.now, "b_until": tx.now + self.update_lease}
        row = (
            await tx.session.execute(
                _CLAIM_OLDEST, {"b_bot": self.bot_id, "b_chat": lane.chat_id, **lease}
            )
        ).first()
        if row is not None and row.payload is not None:
            payload = dict(row.payload)
            prefetched = None if prefetch is None else await prefetch(tx.session, payload)
            return Claimed(row.update_id, payload, prefetched)
        await tx.session.execute(_RELEASE, held)
        waiting = await tx.session.scalar(
            _ANY_WAITING, {"b_bot": self.bot_id, "b_chat": lane.chat_id}
        )
        return "blocked" if waiting else "empty"

    async def renew_lane(self, lane: Lane, update_id: int | None = None) -> None:
        """Extend the lane's lease (and the update's being handled); LaneLost if taken over."""
        async with self.core.transaction() as tx:
            held = await self._renew(tx, lane)
            if held and update_id is not None:
                await tx.session.execute(
                    update(_updates)
                    .where(
                        _updates.c.bot_id == self.bot_id,
                        _updates.c.update_id == update_id,
                        _updates.c.done_at.is_(None),
                    )
                    .values(lease_until=tx.now + self.update_lease)
                )
        if not held:
            raise LaneLost(f"the lane of chat {lane.chat_id} was taken over")

    async def renew_lanes(self, holder: str, kept: list[tuple[Lane, int]]) -> set[int]:
        """Extend the leases of lanes entered ahead of their handler, and of the update each
        claimed, in one transaction; the chats whose lanes are still `holder`'s.

        For lanes entered with the journal while their updates wait their turn here:
        without it a wait longer than the lease would see them taken over.
        """
        by_chat = {lane.chat_id: (lane, update_id) for lane, update_id in kept}
        if not by_chat:
            return set()
        chats = sorted(by_chat)
        async with self.core.transaction() as tx:
            lanes = (
                _lanes.c.bot_id == self.bot_id,
                among(tx.dialect, _lanes.c.chat_id, chats),
                _lanes.c.holder == holder,
            )
            if tx.dialect == "postgresql":
                # The rows locked in chat order, as the journal's transaction takes them.
                await tx.session.execute(
                    select(_lanes.c.chat_id)
                    .where(*lanes)
                    .order_by(_lanes.c.chat_id)
                    .with_for_update()
                )
            until = tx.now + self.update_lease
            renewed = await tx.session.execute(
                update(_lanes)
                .where(*lanes)
                .values(lease_until=until)
                .returning(_lanes.c.chat_id, _lanes.c.token)
            )
            held = {chat for chat, token in renewed if by_chat[chat][0].token == token}
            if held:
                await tx.session.execute(
                    update(_updates)
                    .where(
                        _updates.c.bot_id == self.bot_id,
                        among(tx.dialect, _updates.c.update_id, [by_chat[c][1] for c in held]),
                        _updates.c.done_at.is_(None),
                    )
                    .values(lease_until=until)
                )
        return held

    async def release_lane(self, lane: Lane, *, finished: int | None = None) -> bool:
        """Finish `finished` and give the lane back; True if updates of the chat are waiting.

        For a holder that stops mid-way (its handler failed, or it is shutting down);
        waiting updates are handed on by recovery, or by the next update of the chat.
        """
        async with self.core.transaction() as tx:
            await tx.session.execute(_RELEASE, self._lane_params(lane))
            if finished is not None:
                await self._finish(tx, finished)
            waiting = await tx.session.scalar(
                _ANY_WAITING, {"b_bot": self.bot_id, "b_chat": lane.chat_id}
            )
            return bool(waiting)

    async def _renew(self, tx: Tx, lane: Lane) -> bool:
        """Extend the lane's lease; False if it is no longer this holder's."""
        renewed = await tx.session.execute(
            _RENEW, {**self._lane_params(lane), "b_until": tx.now + self.update_lease}
        )
        return renewed.scalar_one_or_none() is not None

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
