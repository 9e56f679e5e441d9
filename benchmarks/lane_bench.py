"""Database work per update: claim and finish around the handler, against the chat's lane.

Every update of a fault report (the command, the tag, the symptom, three photos, the
buttons, the phone number, Confirm) goes through the real router and dialogs over an
in-memory Telegram, one at a time, twice on a fresh database: once as updates were
handled before chat lanes (journal, claim, handler, finish) and once as `faultdesk run`
handles them now (journal, enter the chat's lane and claim in the same transaction,
handler, finish and give the lane back). Printed per update: transactions, statements, wall and CPU time, and
how many of the transactions were the journal/claim/finish bookkeeping.

    python -m benchmarks.lane_bench [--people 20] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from benchmarks.common import (
    StatementCounter,
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    progress_printer,
    scratch_database,
)
from bot.callbacks import CallbackCodec
from bot.chat import (
    Action,
    ChatUser,
    EditMessage,
    Incoming,
    InlineKeyboard,
    Kind,
    SendMessage,
    Sent,
)
from bot.context import BotApp
from bot.handlers import build_router
from bot.i18n import I18n
from bot.lanes import ChatLanes
from bot.router import Router
from core.assets import AssetRecord
from core.conversations import ConversationStore, Entered, Entry
from core.db import Database
from core.enums import AssetKind, Role

progress = progress_printer("lane_bench")
MODES = ("claim+finish", "lanes")
FIRST_USER = 500_000


class MemoryTransport:
    """Telegram in memory: numbers messages and keeps each chat's newest keyboard."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.keyboards: dict[int, InlineKeyboard] = {}

    async def perform(self, action: Action) -> Sent:
        if isinstance(action, (SendMessage, EditMessage)) and isinstance(
            action.keyboard, InlineKeyboard
        ):
            self.keyboards[action.chat_id] = action.keyboard
        return Sent(next(self._ids))

    def button(self, chat_id: int, label: str) -> str:
        """The callback data of the button labelled `label` on the chat's newest keyboard."""
        for row in self.keyboards[chat_id].rows:
            for button in row:
                if button.text.startswith(label) and button.data is not None:
                    return button.data
        raise LookupError(f"no button {label!r} in chat {chat_id}")


@dataclass
class Tally:
    """What one mode cost over all its updates."""

    updates: int = 0
    transactions: int = 0
    statements: int = 0
    bookkeeping: int = 0  # transactions of the journal, claims, finishes and lanes
    wall: float = 0.0
    cpu: float = 0.0
    tickets: int = 0
    per_update_ms: list[float] = field(default_factory=list)


class Transactions:
    """Counts transactions begun on the engine."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self._engine = db.engine.sync_engine
        event.listen(self._engine, "begin", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "begin", self._seen)


class CountingStore(ConversationStore):
    """The store, counting the transactions spent on bookkeeping rather than on the work."""

    bookkeeping = 0

    async def journal_updates(
        self, updates: list[tuple[int, dict[str, Any]]], *, enter: Entry | None = None
    ) -> dict[int, Entered]:
        self.bookkeeping += 1
        return await super().journal_updates(updates, enter=enter)

    async def claim_update(self, update_id: int) -> bool:
        self.bookkeeping += 1
        return await super().claim_update(update_id)

    async def finish_update(self, update_id: int) -> None:
        self.bookkeeping += 1
        await super().finish_update(update_id)

    async def enter_lane(
        self, chat_id: int, holder: str, *, prefetch: Any = None, running: bool = False
    ) -> Any:
        self.bookkeeping += 1
        return await super().enter_lane(chat_id, holder, prefetch=prefetch, running=running)

    async def next_update(
        self, lane: Any, *, finished: int | None = None, prefetch: Any = None
    ) -> Any:
        self.bookkeeping += 1
        return await super().next_update(lane, finished=finished, prefetch=prefetch)


async def seed(app: BotApp, people: int) -> None:
    """A site, an engineer, and `people` staff with a PC each."""
    helpdesk = app.helpdesk
    site = await helpdesk.people.create_site(code="HQ", name="Head office", region="city")
    await helpdesk.people.create_person(
        name="Wang Wei", role=Role.ENGINEER, site_id=site.id, telegram_user_id=1, language="en"
    )
    for index in range(people):
        await helpdesk.people.create_person(
            name=f"Staff {index}",
            role=Role.STAFF,
            site_id=site.id,
            telegram_user_id=FIRST_USER + index,
            language="en",
        )
        await helpdesk.assets.register(
            AssetRecord(tag=f"PC-{index + 1:04d}", kind=AssetKind.PC, site_code="HQ", location="")
        )


def report_script(index: int) -> list[tuple[Kind, str]]:
    """One person's fault report, update by update: (kind, text or button label)."""
    return [
        (Kind.COMMAND, "report"),
        (Kind.TEXT, f"PC-{index + 1:04d}"),
        (Kind.TEXT, "The screen stays black."),
        (Kind.PHOTO, "photo-1"),
        (Kind.PHOTO, "photo-2"),
        (Kind.PHOTO, "photo-3"),
        (Kind.CALLBACK, "✅ Done"),
        (Kind.CALLBACK, "🟠"),
        (Kind.TEXT, "13800000000"),
        (Kind.CALLBACK, "✅ Confirm"),
    ]


async def run_mode(mode: str, url: str, people: int) -> Tally:
    """Every person's report through one mode, one update at a time."""
    db = Database(url)
    helpdesk = helpdesk_over(db)
    store = CountingStore(helpdesk.core)
    app = BotApp(
        helpdesk=helpdesk,
        conversations=store,
        codec=CallbackCodec(b"lane-bench"),
        i18n=I18n(default="en"),
        bot_username="faultdesk_bot",
    )
    await seed(app, people)
    router: Router = build_router()
    transport = MemoryTransport()

    async def handle_claimed(incoming: Incoming, prefetched: Any) -> None:
        await router.handle(app, transport, incoming, claimed=True, prefetched=prefetched)

    lanes = ChatLanes(store, "bench", handle_claimed, prefetch=router.prefetcher(app))
    update_ids = itertools.count(1)
    tally = Tally()
    transactions, statements = Transactions(db), StatementCounter(db)
    store.bookkeeping = 0
    try:
        for index in range(people):
            user = ChatUser(FIRST_USER + index, f"Staff {index}", language_code="en")
            for kind, value in report_script(index):
                incoming = update_for(next(update_ids), user, kind, value, transport)
                began, cpu = time.perf_counter(), time.process_time()
                journal = [(incoming.update_id, incoming.to_json())]
                if mode == "lanes":
                    # As `faultdesk run`: the chat's lane entered in the journal's transaction.
                    entered = await store.journal_updates(
                        journal, enter=lanes.entry([incoming.chat_id])
                    )
                    await lanes.run_entered(entered[incoming.chat_id])
                else:
                    await store.journal_updates(journal)
                    await router.handle(app, transport, incoming)
                tally.per_update_ms.append((time.perf_counter() - began) * 1000)
                tally.cpu += time.process_time() - cpu
                tally.updates += 1
        tally.transactions, tally.statements = transactions.count, statements.count
        tally.bookkeeping = store.bookkeeping
        tally.wall = sum(tally.per_update_ms) / 1000
    finally:
        transactions.close()
        statements.close()
    async with helpdesk.core.reading() as session:
        from sqlalchemy import func, select

        from core.models import Ticket

        tally.tickets = int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)
    await db.dispose()
    return tally


def update_for(
    update_id: int, user: ChatUser, kind: Kind, value: str, transport: MemoryTransport
) -> Incoming:
    """The update a person's step sends (a button is looked up on the chat's keyboard)."""
    if kind is Kind.COMMAND:
        return Incoming(update_id, user, user.id, kind, text=f"/{value}", command=value)
    if kind is Kind.PHOTO:
        return Incoming(update_id, user, user.id, kind, photo_file_id=value)
    if kind is Kind.CALLBACK:
        return Incoming(
            update_id,
            user,
            user.id,
            kind,
            callback_id=f"cb{update_id}",
            callback_data=transport.button(user.id, value),
            message_id=1,
        )
    return Incoming(update_id, user, user.id, kind, text=value)


def print_table(backend: str, results: dict[str, Tally]) -> None:
    """Per-update figures of each mode."""
    print(f"\n{backend}: {results[MODES[0]].updates} updates per mode, one at a time")
    print(
        f"  {'mode':<14}{'tx/update':>10}{'bookkeeping tx':>16}{'statements':>12}"
        f"{'wall ms p50':>13}{'mean':>8}{'CPU ms':>8}{'tickets':>9}"
    )
    for mode, tally in results.items():
        n = tally.updates
        ordered = sorted(tally.per_update_ms)
        print(
            f"  {mode:<14}{tally.transactions / n:>10.2f}{tally.bookkeeping / n:>16.2f}"
            f"{tally.statements / n:>12.2f}{ordered[n // 2]:>13.2f}"
            f"{tally.wall * 1000 / n:>8.2f}{tally.cpu * 1000 / n:>8.2f}{tally.tickets:>9}"
        )


async def measure(args: argparse.Namespace, backends: Sequence[str]) -> int:
    for backend in backends:
        results: dict[str, Tally] = {}
        for mode in MODES:
            async with scratch_database(backend, args.pg_url, "lanes") as url:
                progress(f"{backend}: {mode}, {args.people} reports")
                results[mode] = await run_mode(mode, url, args.people)
        print_table(backend, results)
        if any(tally.tickets != args.people for tally in results.values()):
            print("  CHECK FAILED: not every report became a ticket")
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20, help="fault reports (10 updates each)")
    add_backend_options(parser)
    args = parser.parse_args(argv)
    backends = backends_to_measure(parser, args)
    return asyncio.run(measure(args, backends))


if __name__ == "__main__":
    raise SystemExit(main())
