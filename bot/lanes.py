"""Chat lanes across instances: one instance at a time handles a chat's updates, in order.

Behind a balancer each instance receives some of a chat's updates; an album of five
photos is five updates milliseconds apart, likely at three instances. Each instance
journals what it receives, then tries to take the chat's lane in the database
(`core.conversations`). The holder handles the chat's journaled updates one at a
time, oldest first, whichever instance received them, renewing its lease while a
handler runs; the others leave their update to it. Telegram posts a chat's next
update only once the previous one was answered, and the webhook answers once the
update is journaled, so journal order is update order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.chat import Incoming
from core.conversations import Claimed, ConversationStore, Entered, Entry, Lane, LaneLost, Prefetch
from core.db_errors import log_failure

log = logging.getLogger(__name__)

# Handles a claimed update, given what `prefetch` read for it while claiming it (or None).
HandleClaimed = Callable[[Incoming, Any], Awaitable[None]]
REMEMBERED = 4096  # update ids this process handled lately (a local duplicate costs nothing)


@dataclass(eq=False)
class _Run:
    """A lane this process runs now, the update its handler is on, and whether it is lost."""

    lane: Lane
    update_id: int
    lost: bool = False


class ChatLanes:
    """Runs a chat's journaled updates while holding the chat's lane."""

    def __init__(
        self,
        store: ConversationStore,
        holder: str,
        handle: HandleClaimed,
        *,
        prefetch: Prefetch | None = None,
    ) -> None:
        self.store = store
        self.holder = holder
        self._handle = handle
        self._prefetch = prefetch  # read in the claiming transaction, not one of its own
        self._handled: OrderedDict[int, None] = OrderedDict()
        # The lanes this process runs now, each with the update its handler is on: its own
        # lease on their chats, however late it reads (the clock jumped ahead, a handler
        # outlasted it), is not taken over by itself.
        self._runs: set[_Run] = set()
        # Lanes entered with the journal, by the update each was entered for, until that
        # update's handler starts.
        self._kept: dict[int, Entered] = {}
        # Renews the lanes run and kept here, all in one transaction a round (`_renew`).
        self._keeper: asyncio.Task[None] | None = None

    @property
    def renew_every(self) -> float:
        """Seconds between lease renewals: a third of the lease, so one late beat is harmless."""
        return self.store.update_lease.total_seconds() / 3

    def _running_chats(self) -> set[int]:
        """Chats whose lanes this process runs now."""
        return {run.lane.chat_id for run in self._runs}

    def handled_here(self, update_id: int) -> bool:
        """True if this process handled the update lately (while draining its chat)."""
        return update_id in self._handled

    def entry(self, chats: list[int]) -> Entry:
        """What the journal's transaction needs to enter these chats' lanes for this instance."""
        # Chats whose lanes this process runs or keeps: its own lease is not taken over.
        kept = {entered[0].chat_id for entered in self._kept.values() if entered is not None}
        here = self._running_chats() | kept
        running = frozenset(chat for chat in chats if chat in here)
        return Entry(tuple(sorted(chats)), self.holder, self._prefetch, running)

    def keep(self, update_id: int, entered: Entered) -> None:
        """Hold what entering the update's chat lane gave (with the journal) until `run`.

        A lane entered with an update claimed is renewed meanwhile, with every other
        lane held here, in one transaction a round: in a burst updates wait their turn
        here for longer than a lease.
        """
        self._kept[update_id] = entered
        if entered is not None and isinstance(entered[1], Claimed):
            self._keep_renewing()

    def kept(self, update_id: int) -> bool:
        """True while a lane entered for this update waits for `run`."""
        return update_id in self._kept

    async def run(self, incoming: Incoming) -> None:
        """Handle the update's chat until nothing of it waits, unless another instance holds it.

        With the lane entered for it already (`keep`), goes on with that.
        """
        if incoming.update_id in self._kept:
            await self.run_entered(self._kept.pop(incoming.update_id))
            return
        if self.handled_here(incoming.update_id):
            return
        chat_id = incoming.chat_id
        await self.run_entered(
            await self.store.enter_lane(
                chat_id,
                self.holder,
                prefetch=self._prefetch,
                running=chat_id in self._running_chats(),
            )
        )

    async def run_entered(self, entered: Entered) -> None:
        """Go on with a chat's lane entered (by `run`, or in the journal's transaction).

        A lane entered is always gone on with, even for an update handled here already:
        the lane holds whatever update it claimed, and gives itself back at the end.
        """
        if entered is None:
            return  # the holder handles this update after the ones before it
        lane, claimed = entered
        if not isinstance(claimed, Claimed):
            return  # handled already, or blocked: recovery hands it on in time
        run = _Run(lane, claimed.update_id)
        self._runs.add(run)
        self._keep_renewing()
        try:
            with self.store.holding(lane):
                while isinstance(claimed, Claimed):
                    handled = run.update_id = claimed.update_id
                    await self._handle_claimed(claimed)
                    # Finishes this one, claims the next or gives the lane back.
                    claimed = await self.store.next_update(
                        lane, finished=handled, prefetch=self._prefetch
                    )
                    self._remember(handled)  # only once it is recorded as finished
        except LaneLost:
            log.warning("chat %s was taken over by another instance mid-way", lane.chat_id)
        except BaseException:
            # The database may be away, or we are stopping: the lane and the update are
            # taken over once their leases run out; give the lane back now if possible.
            with contextlib.suppress(Exception):
                await self.store.release_lane(lane)
            raise
        finally:
            self._runs.discard(run)

    async def _handle_claimed(self, claimed: Claimed) -> None:
        try:
            incoming = Incoming.from_json(claimed.payload)
        except (KeyError, TypeError, ValueError):
            # Unreadable (written by another version): it must not hold up the chat.
            log.exception("journaled update %s cannot be read; skipped", claimed.update_id)
            return
        await self._handle(incoming, claimed.prefetched)

    async def close(self) -> None:
        """Stop the renewal rounds (the runtime drained the running lanes first): the kept
        lanes' updates were not handled here, so their leases run out and another
        instance (or this one restarted) takes them."""
        self._kept.clear()
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper

    def _keep_renewing(self) -> None:
        """Start the renewal rounds, unless they run already."""
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._renew(), name="lane-renewal")

    async def _renew(self) -> None:
        """Renew, a round every `renew_every`, the lanes this process runs (and the update
        each handler is on) and those kept for updates waiting their turn, in one
        transaction a round, until none is left.

        A lane found taken over is renewed no more: a running one's next write of dialog
        state is refused (its holder learns at the finish), a kept one's update is left
        to the instance that took it.
        """
        while True:
            await asyncio.sleep(self.renew_every)
            waiting = {
                update_id: entered
                for update_id, entered in self._kept.items()
                if entered is not None and isinstance(entered[1], Claimed)
            }
            runs = [run for run in self._runs if not run.lost]
            if not waiting and not runs:
                return
            leases: list[tuple[Lane, int | None]] = [
                (lane, update_id) for update_id, (lane, _) in waiting.items()
            ]
            leases += [(run.lane, run.update_id) for run in runs]
            try:
                held = await self.store.renew_lanes(self.holder, leases)
            except Exception as error:  # the database may be away for a moment; try again
                log_failure(log, "lanes not renewed", error=error)
                continue
            for run in runs:
                if run.lane not in held and run in self._runs:
                    log.warning("lost the lane of chat %s while handling it", run.lane.chat_id)
                    run.lost = True
            for update_id, (lane, _) in waiting.items():
                if lane not in held and self._kept.get(update_id) is waiting[update_id]:
                    # Taken over while waiting: the new holder handles the update.
                    log.warning("lost the lane of chat %s before handling it", lane.chat_id)
                    self._kept[update_id] = None

    def _remember(self, update_id: int) -> None:
        self._handled[update_id] = None
        while len(self._handled) > REMEMBERED:
            self._handled.popitem(last=False)
