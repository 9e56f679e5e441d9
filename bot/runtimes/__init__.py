"""Runtime adapters: aiogram and python-telegram-bot behind one small interface.

An adapter turns its framework's updates into `bot.chat.Incoming`, carries out the
neutral actions with its framework's Bot (its `Transport`), and receives updates by
long polling or through the shared webhook server. Everything above it is identical
on both frameworks.

Both adapters hand every update to `UpdateLanes`: updates of different chats are
handled concurrently, updates of one chat strictly in the order they arrived, so a
fast double press is two updates handled one after the other, never interleaved.
Across instances the chat's lane in the database (`bot.lanes`) keeps that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from bot.chat import Incoming, Transport

log = logging.getLogger(__name__)

RUNTIMES: Final = ("aiogram", "ptb")

UpdateHandler = Callable[[Incoming], Awaitable[None]]
Journal = Callable[[list[Incoming]], Awaitable[None]]


MAX_CONCURRENT_UPDATES = 8  # fits the database pool (5 + 10) with room for the workers


class UpdateLanes:
    """Runs update handlers concurrently across chats and in arrival order within a chat."""

    def __init__(self, handle: UpdateHandler, *, concurrency: int = MAX_CONCURRENT_UPDATES) -> None:
        self._handle = handle
        self._tails: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: set[int] = set()  # update ids queued or being handled here
        # A burst from a thousand chats would otherwise run a thousand handlers at once
        # and exhaust the database pool; beyond this many they wait their turn.
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def in_flight(self) -> int:
        """Updates received and not yet fully handled."""
        return len(self._tasks)

    def submit(self, incoming: Incoming) -> None:
        """Queue an update behind the ones of its chat already queued (returns at once).

        Synchronous on purpose: the order of `submit` calls is the order of handling,
        with no await in between where a later update could overtake.
        """
        chat, update_id = incoming.chat_id, incoming.update_id
        task = asyncio.create_task(
            self._run(self._tails.get(chat), incoming), name=f"update-{update_id}"
        )
        self._tails[chat] = task
        self._tasks.add(task)
        self._queued.add(update_id)
        task.add_done_callback(lambda done: self._finished(chat, update_id, done))

    def holds(self, update_id: int) -> bool:
        """True while this update is queued or being handled by this process."""
        return update_id in self._queued

    async def _run(self, previous: asyncio.Task[None] | None, incoming: Incoming) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its outcome is its own; only the order matters
        try:
            async with self._slots:
                await self._handle(incoming)
        except Exception:  # one broken update must not stop its chat's lane
            log.exception("update %s could not be handled", incoming.update_id)

    def _finished(self, chat: int, update_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._queued.discard(update_id)
        if self._tails.get(chat) is task:
            del self._tails[chat]

    async def drain(self, grace: float) -> None:
        """Wait for every queued update to be handled; cancel what is left after `grace` s."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        if pending:
            log.warning("%d update(s) still running after %.0f s; cancelled", len(pending), grace)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)


@dataclass(frozen=True)
class RuntimeConfig:
    """What every adapter needs to reach Telegram."""

    token: str
    api_base_url: str | None = None  # another Bot API server, e.g. the sandbox emulator
    polling_timeout: int = 30  # seconds one getUpdates long poll may wait
    poll_interval: float = 0.0  # seconds from one getUpdates answer to the next request
    drain_grace: float = 30.0  # seconds in-flight updates get to finish at shutdown
    proxy: str | None = None  # every request (API calls, file downloads) goes through it


class StartupError(Exception):
    """The bot could not start: bad token, Telegram unreachable, webhook refused."""


class TokenRejected(StartupError):
    """Telegram refused the token (401, or 404 for a bot that does not exist): retrying is useless."""


class ApiUnreachable(StartupError):
    """The Bot API could not be reached or answered with a server error: worth trying again."""


class Runtime(ABC):
    """One framework's adapter: receive updates, hand them on, and send the answers."""

    name: ClassVar[str]

    def __init__(self, config: RuntimeConfig, handle: UpdateHandler) -> None:
        self.config = config
        self.lanes = UpdateLanes(handle)
        self.username = ""
        self.failed = asyncio.Event()  # set when receiving stopped by itself
        # Writes updates down (in one transaction) before Telegram learns they arrived;
        # set by the app. Updates wait in `_unjournaled` for the next write.
        self.journal: Journal | None = None
        self._unjournaled: list[Incoming] = []
        self._journal_lock = asyncio.Lock()
        self._journal_tasks: set[asyncio.Task[None]] = set()
        # Update ids whose journal write failed: the webhook refuses them (Telegram posts
        # them again); in long polling they are handled without the chat's lane.
        self.journal_failed: set[int] = set()
        self.receiving_webhooks = False

    async def receive(self, incoming: Incoming) -> None:
        """Journal an update and queue it in its chat's lane.

        A webhook post waits for the journal, and its update is queued only once
        written: if the write fails the update is left out (`journal_failed`) and the
        webhook answers an error, so Telegram posts it again instead of it being lost.
        Long polling does not wait here (one write per update would throttle a burst):
        the updates of a getUpdates batch are written together, and the aiogram adapter
        holds its next getUpdates (which confirms the batch to Telegram) until they are
        written; the handler waits for the write (`flush_journal`) and handles an update
        whose write failed as it would have been without a journal.
        """
        if self.journal is None:
            self.lanes.submit(incoming)
            return
        self._unjournaled.append(incoming)
        if self.receiving_webhooks:
            await self.flush_journal()
            if incoming.update_id not in self.journal_failed:
                self.lanes.submit(incoming)
            return
        self.lanes.submit(incoming)
        task = asyncio.create_task(self.flush_journal(), name="journal-flush")
        self._journal_tasks.add(task)
        task.add_done_callback(self._journal_tasks.discard)

    async def flush_journal(self) -> None:
        """Write every update received so far (those arriving meanwhile join the next write).

        Returns once everything received before the call is written or has failed
        (failures are remembered in `journal_failed`).
        """
        if self.journal is None or not self._unjournaled:
            if self._journal_lock.locked():
                async with self._journal_lock:  # a write in progress may hold ours
                    pass
            return
        async with self._journal_lock:
            batch, self._unjournaled = self._unjournaled, []
            if not batch:
                return
            try:
                await self.journal(batch)
            except Exception:
                log.exception("%d update(s) could not be journaled", len(batch))
                self.journal_failed.update(incoming.update_id for incoming in batch)

    @property
    @abstractmethod
    def transport(self) -> Transport:
        """Carries out neutral actions with this framework's Bot."""

    @abstractmethod
    async def open(self, *, polling: bool) -> None:
        """Prepare the Bot and learn who it is (getMe); raise StartupError on failure."""

    @abstractmethod
    async def start_polling(self) -> None:
        """Drop any webhook and start long polling (returns once polling runs)."""

    @abstractmethod
    async def start_webhook(self, url: str, secret: str) -> None:
        """Register the webhook with Telegram; updates then arrive through `feed`."""

    @abstractmethod
    async def feed(self, data: dict[str, Any]) -> None:
        """Take one update posted to the webhook (returns once it is queued)."""

    @abstractmethod
    async def _stop_receiving(self) -> None:
        """Stop polling (nothing to do for webhooks: the server is stopped first)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the HTTP session; the transport is unusable afterwards."""

    @abstractmethod
    async def download(self, file_id: str) -> bytes:
        """A file people sent (getFile, then the download), through the same session and proxy."""

    async def stop(self) -> None:
        """Stop receiving updates, write down what was received, finish the ones in flight."""
        await self._stop_receiving()
        await self.flush_journal()
        await self.lanes.drain(self.config.drain_grace)


def create_runtime(name: str, config: RuntimeConfig, handle: UpdateHandler) -> Runtime:
    """The adapter called `name` ('aiogram' or 'ptb'); frameworks are imported lazily."""
    if name == "aiogram":
        from bot.runtimes.aiogram import AiogramRuntime

        return AiogramRuntime(config, handle)
    if name == "ptb":
        from bot.runtimes.ptb import PtbRuntime

        return PtbRuntime(config, handle)
    raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
