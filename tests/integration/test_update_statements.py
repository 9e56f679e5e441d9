"""What one chat update costs the database, pinned (issue 14, the cost of an update).

A fault report goes through the real router and dialogs as `faultdesk run` handles
it: journaled, taken from its chat's lane with the sender and their dialog state read
in the claiming transaction, the step saved before its prompt, and what changed after
the prompt written with the update's finish. Statements and transactions are counted
per update with SQLAlchemy's engine events; a change that brings back a re-read or a
transaction of its own fails here. Dialog state written `later` reaches the database
with the finish and only then; a lost lane still refuses every write.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from benchmarks.lane_bench import FIRST_USER, MemoryTransport, report_script, seed, update_for
from bot.callbacks import CallbackCodec
from bot.chat import ChatUser, Incoming, Kind
from bot.context import BotApp
from bot.handlers import build_router
from bot.i18n import I18n
from bot.lanes import ChatLanes
from core.conversations import (
    UPDATE_LEASE,
    Claimed,
    ConversationStore,
    DialogState,
    LaneLost,
)
from core.models import ChatState, ProcessedUpdate, Ticket
from core.unit_of_work import Core

CHAT = 4242
# Counted on SQLite (BEGIN goes straight to the driver there, so it is not counted; it
# is a transaction's): journaling with the lane entered, the update claimed and the
# sender and their state read 5, the step saved before its prompt 1, finishing with
# the prompt's message 4.
MOST_STATEMENTS = {
    "command": 10,  # /report: the dialog's first step saved and shown
    "text": 11,  # an asset tag (looked up) or a symptom: the next step
    "photo": 9,  # a photo kept at the same step: written with the finish
    "callback": 10,  # Done, the impact: a dialog button leading on
}
# Before lanes: journal, claim, person, dialog state, save, save the prompt's message,
# finish (6-7). Then: journal, enter the lane and claim, save, finish. Now the lane is
# entered in the journal's transaction: journal, save, finish (a typed asset tag is
# looked up besides).
MOST_TRANSACTIONS = {"command": 3, "text": 4, "photo": 2, "callback": 3}


@dataclass
class Counted:
    """Statements and transactions seen on one engine, per update."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        self.statements.append(" ".join(sql.split()))

    def begin(self, *_args: Any) -> None:
        self.transactions += 1


async def test_each_step_of_a_report_costs_a_pinned_number_of_statements(
    helpdesk, database, backend
):
    store = ConversationStore(helpdesk.core)
    app = BotApp(
        helpdesk=helpdesk,
        conversations=store,
        codec=CallbackCodec(b"statements"),
        i18n=I18n(default="en"),
        bot_username="faultdesk_bot",
    )
    await seed(app, 1)
    router = build_router()
    transport = MemoryTransport()

    async def handle(incoming: Incoming, prefetched: Any) -> None:
        await router.handle(app, transport, incoming, claimed=True, prefetched=prefetched)

    lanes = ChatLanes(store, "one", handle, prefetch=router.prefetcher(app))
    user = ChatUser(FIRST_USER, "Staff 0", language_code="en")
    engine = database.engine.sync_engine
    ids = itertools.count(1)
    seen: list[tuple[Kind, str, Counted]] = []
    for kind, value in report_script(0):
        incoming = update_for(next(ids), user, kind, value, transport)
        counted = Counted()
        event.listen(engine, "before_cursor_execute", counted.statement)
        event.listen(engine, "begin", counted.begin)
        try:
            # As `faultdesk run`: the chat's lane entered in the journal's transaction.
            entered = await store.journal_updates(
                [(incoming.update_id, incoming.to_json())], enter=lanes.entry([incoming.chat_id])
            )
            await lanes.run_entered(entered[incoming.chat_id])
        finally:
            event.remove(engine, "before_cursor_execute", counted.statement)
            event.remove(engine, "begin", counted.begin)
        seen.append((kind, value, counted))

    # The report went through: the ticket is open and every update is done.
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert await session.scalar(select(func.count()).select_from(ChatState)) == 0
        undone = select(func.count()).where(ProcessedUpdate.done_at.is_(None))
        assert await session.scalar(undone) == 0
    *steps, (_kind, _value, confirm) = seen

    def read(prefix: str) -> list[str]:
        return [s for s in confirm.statements if s.startswith(prefix)]

    # Confirm opens the ticket: its clocks' dozen ladder steps go out in one insert.
    assert len(confirm.statements) <= 27, confirm.statements
    assert len(read("INSERT INTO ticket_photo")) == 1  # the album's photos in one executemany

    # The dispatch card of the ticket just reported is built from what was written: its
    # clocks and photos are not read back, its site and device only read to report it,
    # and a ticket this new has no spare loan or backup consent to look for.
    assert not read("SELECT sla_clock.") and not read("SELECT ticket_photo."), confirm.statements
    assert len(read("SELECT site.")) == len(read("SELECT asset.")) == 1, confirm.statements
    assert not [s for s in confirm.statements if "spare_loan" in s or "backup_consent" in s]
    # What the report writes beside its rows is held and sent a statement per table: the
    # clocks' steps with the first progress note, both audit events (the chain's head
    # written once), and the engineer's card with the reporter's notice. The ticket's
    # promised arrival is known before its row is written, so it is updated only once
    # (assigned); its device's earlier tickets are read once, for the repeat check and
    # the card together; the engineer is chosen with one query.
    for table, sent in (
        ("INSERT INTO due_work", 1),
        ("INSERT INTO audit_event", 1),
        ("UPDATE audit_head", 1),
        ("INSERT INTO outbox", 1),
        ("UPDATE ticket ", 1),
        ("SELECT ticket.id, ticket.asset_id", 1),
        ("SELECT person.", 3),  # who sent it (claiming), the reporter, the engineer chosen
    ):
        assert len(read(table)) == sent, (table, confirm.statements)
    for kind, value, counted in steps:
        where = f"{kind.value} {value!r}: {counted.statements}"
        assert len(counted.statements) <= MOST_STATEMENTS[kind.value], where
        assert counted.transactions <= MOST_TRANSACTIONS[kind.value], where
        # The sender and their dialog state are read once, in the claiming transaction.
        people = [s for s in counted.statements if s.startswith("SELECT person.")]
        states = [s for s in counted.statements if s.startswith("SELECT chat_state.")]
        assert len(people) == 1, where
        assert len(states) <= 1, where
        if kind is not Kind.COMMAND:  # (a dialog opened anew is checked on its own)
            # The lane's fence rides on the dialog state's write, not a statement of its own.
            assert not any(s.startswith("SELECT chat_lane.") for s in counted.statements), where


@pytest.fixture
def stores(helpdesk, database, clock, policy) -> tuple[ConversationStore, ConversationStore]:
    """Two instances: separate cores (and connection pools) on one database."""
    return ConversationStore(helpdesk.core), ConversationStore(Core(database, clock, policy))


def journaled(update_id: int) -> tuple[int, dict[str, Any]]:
    payload = {"update_id": update_id, "chat_id": CHAT, "kind": "text", "text": "x"}
    return update_id, payload


async def stored(store: ConversationStore) -> DialogState | None:
    async with store.core.reading() as session:
        return await session.run_sync(lambda sync: store.load_in(sync.connection(), CHAT, CHAT))


async def test_state_saved_later_is_written_with_the_updates_finish_and_only_then(stores):
    first, _second = stores
    await first.journal_updates([journaled(1), journaled(2)])
    entered = await first.enter_lane(CHAT, "first")
    assert entered is not None
    lane, claimed = entered
    assert isinstance(claimed, Claimed) and claimed.update_id == 1
    with first.holding(lane), first.remembering():
        state = DialogState("report", "photos", {"photos": []})
        await first.save(CHAT, CHAT, state)  # the step, before its prompt: at once
        assert state.version == 1
        state.message_id = 77
        state.data["photos"].append("photo-1")
        await first.save(CHAT, CHAT, state, later=True)
        written = await stored(first)
        assert written is not None and written.message_id is None and written.version == 1
        # Read back within the update as saved.
        again = await first.load(CHAT, CHAT)
        assert again is not None and again.message_id == 77 and again.data["photos"] == ["photo-1"]
        claimed = await first.next_update(lane, finished=1)
    assert isinstance(claimed, Claimed) and claimed.update_id == 2
    written = await stored(first)
    assert written is not None and written.message_id == 77 and written.version == 2
    assert written.data["photos"] == ["photo-1"]

    # A holder that stops mid-way (its process dies) never writes what it kept for later.
    with first.holding(lane), first.remembering():
        written.message_id = 78
        await first.save(CHAT, CHAT, written, later=True)
        await first.release_lane(lane)
    kept = await stored(first)
    assert kept is not None and kept.message_id == 77 and kept.version == 2


async def test_a_lost_lane_refuses_the_write_of_a_saved_dialog_and_its_end(stores, clock):
    first, second = stores
    lane = await first.take_lane(CHAT, "first")
    assert lane is not None
    with first.holding(lane):
        state = DialogState("report", "symptom", {})
        await first.save(CHAT, CHAT, state)
    clock.advance(UPDATE_LEASE + timedelta(seconds=1))  # paused past its lease
    assert await second.take_lane(CHAT, "second") is not None
    with first.holding(lane):
        state.step = "photos"
        with pytest.raises(LaneLost):  # not mistaken for a newer version
            await first.save(CHAT, CHAT, state)
        with pytest.raises(LaneLost):
            await first.clear(CHAT, CHAT)
    kept = await stored(first)
    assert kept is not None and kept.step == "symptom" and kept.version == 1
