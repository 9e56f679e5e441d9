"""The outbox sender: claims queued messages, renders them in each recipient's language, sends them.

One pass (`deliver_once`) claims rows with a lease, most urgent first, and sorts them
into one lane per chat. Lanes run concurrently: each sends its chat's rows in order, and
every send waits for its turn under Telegram's limits (`bot.ratelimit`: overall, per chat,
per group, pages first). More rows are claimed as lanes drain, a heartbeat renews the
leases of rows still waiting their turn, and the pass ends when nothing is in hand and
nothing more can be claimed. Messages with attachments go out as several sends (text
first); how many parts went out is kept with the row, so a retry sends only the rest.

What happens after a send:
- delivered: the row is marked sent.
- 429: that chat is paused for `retry_after` (every chat, when several are refused at
  once: Telegram is flooding the bot), and the row goes back to the database to be
  retried after that long.
- network failure (or an unclassified one): every send pauses for an exponential
  backoff with jitter, and the row goes back with its own backoff by attempt.
- bot blocked, chat not found, "can't initiate conversation", bad request, a renderer
  that fails, no chat to send to: the row is failed and every admin is told
  (`DeliveryFailed`, rendered by `bot.notifications.admin`).
When a row goes back, the rows queued behind it in its chat go back with it, due at the
same moment (so they are claimed together and sent in order), and rows of that chat
claimed before then are held back too: a chat gets its messages in order.

Rows are leased before sending, so with several instances each row goes out once; a
row whose sender died mid-way is taken again when its lease runs out (Telegram offers no
way to make a send and our bookkeeping atomic, so that one case may repeat). Leases are
short (`lease`: `FAULTDESK_OUTBOX_LEASE`, 5 s by default) and renewed by a heartbeat
every third of a lease, so a dead sender's rows are taken over within about a lease: a
sender with nothing to do sleeps until the earliest lease it waits for runs out. A pass never claims the rows
it holds, even when their leases ran out (a clock jump): such a claim can return a row
that is sent and marked sent by the time it is looked at, and it would go out again.
Every claim carries a fencing token, and an outcome is recorded only under it.

A chat's messages go through one sender at a time (`core.outbox` leases the chat with
its rows), so this sender's per-chat pace is the chat's, whatever the instance count.

When an outcome cannot be recorded (the database is away), the sender never knowingly
sends what it could not record either: it stops claiming, stops sending, keeps the row
in hand (its heartbeat keeps renewing every lease it holds, trying again soon while it
fails) and retries recording with backoff until the database is back; then it goes on
where it stopped. A sender that is stopped finishes the sends in flight, keeps trying to
record them for up to one lease, and hands the rest back at once.

A row is sent only while its claim is surely still ours: within two thirds of a lease of
the claim or renewal that took or kept it (counted from when that statement began, on
the limiter's clock). A row whose lease ran out while the database was away waits for
the next renewal, which keeps it (`core.outbox` leaves expired rows to their holders for
a while after the server restarts) or finds it taken, and then it is not sent here.

Time: Telegram's waits are real seconds (the limiter's monotonic clock); `available_at`
is domain time. In production they are one clock. Under a frozen or accelerated clock
(tests, the demo) the database decides: when the row that caused a pause becomes
available again, the pause it caused ends. The sender's own real-time waits (the
heartbeat, the look for new rows during a pass, the idle sleep between passes) use the
limiter's clock and sleep too, so one injected real time drives them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select

from bot.chat import (
    Action,
    BadRequest,
    RetryAfter,
    SendMessage,
    Sent,
    Transport,
    TransportError,
    Unreachable,
)
from bot.context import BotApp, split_text
from bot.i18n import DEFAULT_LANGUAGE
from bot.lookups import HelpdeskLookups
from bot.notifications import Notice, RenderCtx, render
from bot.ratelimit import Backoff, SendLimiter
from core import events, instances, outbox
from core.clock import DEFAULT_TIMEZONE, first_of
from core.db_errors import log_failure
from core.enums import OutboxStatus
from core.messages import decode
from core.models import Person
from core.unit_of_work import Core

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a lease on a row (and its chat) lasts unless renewed; renewed every third.
DEFAULT_LEASE = timedelta(seconds=10)


async def share_budget(core: Core, limiter: SendLimiter, now: datetime) -> int:
    """Give `limiter` this instance's part of Telegram's overall budget; the live count.

    Every running instance registers and beats in the database (`core.instances`), so
    the count follows instances as they start, stop or die, with nothing to configure.
    """
    async with core.reading() as session:
        live = len(await instances.live_instances(session, now))
    limiter.share(max(1, live))
    return max(1, live)


@dataclass
class DeliveryStats:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0  # handed back unsent (stopping, or queued behind a retried row)


class OutboxSender:
    """Delivers outbox rows through a transport, under Telegram's rate limits."""

    def __init__(
        self,
        app: BotApp,
        transport: Transport,
        *,
        owner: str | None = None,
        batch: int = 50,
        lease: timedelta = DEFAULT_LEASE,
        max_idle: float = 5.0,
        limiter: SendLimiter | None = None,
        backoff: Backoff | None = None,
        in_hand: int = 500,
        claim_every: float = 1.0,
        metrics: Metrics | None = None,
        record_backoff: Backoff | None = None,
    ) -> None:
        self.app = app
        self.transport = transport
        self.owner = owner or f"sender-{uuid.uuid4().hex[:12]}"
        self.batch = batch
        self.lease = lease
        self.max_idle = max_idle
        # One limiter per bot token: instances of one process should share it. Separate
        # processes each pace themselves; give each a share of the overall rate.
        self.limiter = limiter or SendLimiter()
        self.backoff = backoff or Backoff()
        # Between tries to record an outcome while the database is away: short, because
        # every send waits meanwhile, and capped well under a lease.
        self.record_backoff = record_backoff or Backoff(base=0.2, cap=2.0)
        self.in_hand = in_hand  # rows leased at once
        self.claim_every = claim_every  # during a pass, look for new rows this often
        self.metrics = metrics
        self.on_heartbeat: list[Callable[[], None]] = []  # progress, for readiness
        self._wake = asyncio.Event()
        self._wakes = 0
        # Row id -> the pause its 429 caused (chat id, or None for all) and its end.
        self._pauses: dict[int, tuple[int | None, float]] = {}
        # Chat -> the row put back for a retry, its priority and when it is due: the
        # chat's other rows (no more urgent) are held back until then, not to overtake it.
        self._retrying: dict[int, tuple[int, int, datetime]] = {}
        app.helpdesk.core.on_outbox(self.wake)

    @property
    def core(self) -> Core:
        """The core this sender's rows live in."""
        return self.app.helpdesk.core

    def wake(self) -> None:
        """Look for new rows now."""
        self._wakes += 1
        self._wake.set()

    async def render(
        self, delivery: outbox.Delivery, recipient: Person | None, chat_id: int | None = None
    ) -> Notice:
        """The message of one row in the recipient's language and zone.

        MessageError when the row cannot be read back, LookupError when nothing renders
        its class: either way the row can never be sent.
        """
        message = decode(delivery.code, delivery.params)
        lang = recipient.language if recipient and recipient.language else self.app.i18n.default
        tz = (recipient.timezone if recipient else None) or message.zone() or DEFAULT_TIMEZONE
        context = RenderCtx(
            self.app.i18n.get(lang or DEFAULT_LANGUAGE),
            recipient,
            tz,
            codec=self.app.codec,
            now=self.core.clock.now(),
            lookups=HelpdeskLookups(self.app.helpdesk),
            chat_id=chat_id if chat_id is not None else delivery.chat_id,
            web_url=self.app.web_url,
        )
        return await render(message, context)

    @staticmethod
    def parts(notice: Notice, chat_id: int) -> list[Action]:
        """The sends a notice takes: its text (if any), then each attachment, to `chat_id`."""
        parts: list[Action] = []
        if notice.text:
            # Over Telegram's 4096 characters (a monthly summary with many sites): several
            # messages cut at line breaks, the buttons under the last.
            chunks = split_text(notice.text)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                parts.append(SendMessage(chat_id, chunk, notice.keyboard if last else None))
        parts.extend(replace(attachment, chat_id=chat_id) for attachment in notice.attachments)
        return parts

    async def deliver_once(self, stop: asyncio.Event | None = None) -> DeliveryStats:
        """Claim and send what is due now, until nothing is left (or `stop` is set)."""
        self._forget_stale()
        delivery_pass = _Pass(self, stop)
        await delivery_pass.run()
        return delivery_pass.stats

    def _forget_stale(self) -> None:
        """Drop records of pauses that are over and retries that are due (rows another
        instance took are never claimed here again)."""
        real_now, now = self.limiter.clock(), self.core.clock.now()
        self._pauses = {k: v for k, v in self._pauses.items() if v[1] > real_now}
        self._retrying = {k: v for k, v in self._retrying.items() if v[2] > now}

    def beat(self) -> None:
        """Tell whoever watches (readiness) that the sender is making progress."""
        for listener in self.on_heartbeat:
            listener()

    def outcome(self, row: outbox.Delivery, outcome: str, error: str | None = None) -> None:
        """Count a row's outcome, and log pages sent or failed as business events."""
        if self.metrics is not None:
            self.metrics.delivery(row.code, outcome)
        if row.page_id is not None and outcome in ("sent", "failed"):
            fields: dict[str, object] = {"page": row.page_id, "outbox": row.id}
            if row.ticket_id is not None:
                fields["ticket"] = row.ticket_id
            if row.recipient_id is not None:
                fields["recipient"] = row.recipient_id
            events.emit(f"page.{outcome}", fields)

    def _row_claimed(self, delivery_id: int) -> None:
        """The database let a row go again: any pause its 429 caused is over."""
        pause = self._pauses.pop(delivery_id, None)
        if pause is not None:
            self.limiter.end_pause(*pause)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver, then sleep until the next row is due or new rows are queued."""
        core = self.core
        failures = 0  # passes failed in a row (the database away, nothing in hand)
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.deliver_once(stop)
                next_at = await outbox.next_available(core, self.owner, restart_grace=self.lease)
            except Exception as error:  # keep delivering after a database hiccup
                log_failure(log, "outbox pass failed; retrying", error=error, level=logging.ERROR)
                failures += 1
                next_at = None
            else:
                failures = 0
                self.beat()
            if stop.is_set():
                break
            delay = self.max_idle
            if failures:
                # The database may be back any moment, with pages waiting: look again
                # soon (a short backoff), not after a whole idle sleep.
                delay = min(delay, self.record_backoff.delay(failures))
            elif next_at is not None:
                delay = min(delay, core.clock.real_seconds_until(next_at))
            if delay > 0:
                await first_of(self._wake, stop, within=delay, sleep=self.limiter.sleep)


@dataclass
class _Lane:
    """One chat's claimed rows, sent in (priority, id) order by one task."""

    # (priority, row id, arrival number, row, person): the arrival number breaks every tie,
    # so two entries never fall through to comparing rows.
    queue: list[tuple[int, int, int, outbox.Delivery, Person | None]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    waiting: bool = False  # waiting for its turn: safe to cancel, nothing is being sent


class _Pass:
    """One `deliver_once`: the rows in hand, their lanes and the heartbeat over their leases."""

    def __init__(self, sender: OutboxSender, stop: asyncio.Event | None) -> None:
        self.sender = sender
        self.core = sender.core
        self.stop = stop
        self.stats = DeliveryStats()
        self.held: dict[int, outbox.Delivery] = {}
        # Row -> the limiter's clock until which its lease is surely ours: two thirds of a
        # lease after the claim or renewal that took or kept it began (a third is left for
        # the send itself and for drift between the clocks).
        self.sure: dict[int, float] = {}
        self.renewed = asyncio.Event()  # a renewal went through (or found rows lost)
        self.progress: dict[int, int] = {}  # row -> parts sent so far
        self.lanes: dict[int, _Lane] = {}
        self.changed = asyncio.Event()
        self.stopping = False
        self.stopped_at = 0.0  # the limiter's clock when stopping began
        # Outcomes that could not be recorded yet: while any is, nothing is claimed or sent.
        self.unrecorded = 0
        self.recorded = asyncio.Event()
        self.recorded.set()
        # Chats with nothing left in hand, freed for other senders with the next heartbeat
        # (one statement for all, not one per send) or at the end of the pass.
        self.drained: set[int] = set()
        self._order = itertools.count()

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name="outbox-heartbeat")
        try:
            await self._feed()
        finally:
            await self._wind_down()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def _feed(self) -> None:
        """Claim rows as room frees up, until nothing is in hand or claimable."""
        sender = self.sender
        real_time = sender.limiter.clock
        threshold = max(1, min(sender.batch, sender.in_hand))
        more, seen, last = True, -1, float("-inf")
        while not self._stop_requested():
            if self.unrecorded:  # what is claimed now could not be recorded either
                self.changed.clear()
                await first_of(self.changed, within=sender.claim_every, sleep=sender.limiter.sleep)
                continue
            room = sender.in_hand - len(self.held)
            woken = seen != sender._wakes
            due = more or woken or real_time() - last >= sender.claim_every
            if room > 0 and due and (room >= threshold or woken or not self.held):
                sender.beat()  # a long pass through a backlog is progress too
                seen, last = sender._wakes, real_time()
                limit = min(sender.batch, room)
                try:
                    rows = await outbox.claim(
                        self.core,
                        owner=sender.owner,
                        limit=limit,
                        lease=sender.lease,
                        holding=list(self.held),
                    )
                except Exception as error:  # the database is away: the rows in hand are kept
                    if not self.held:
                        raise  # nothing in hand: `run` tries again after a while
                    log_failure(log, "could not claim outbox rows; trying again", error=error)
                    more = False
                    continue
                window = self._sure_window()
                self.sure.update((row.id, last + window) for row in rows)
                more = len(rows) == limit
                await self._admit(rows)
                continue
            if not self.held and not more and not woken:
                return
            self.changed.clear()
            events = [self.changed] if self.stop is None else [self.changed, self.stop]
            await first_of(*events, within=sender.claim_every, sleep=sender.limiter.sleep)

    async def _admit(self, rows: list[outbox.Delivery]) -> None:
        """Put claimed rows into their chats' lanes (starting lanes as needed)."""
        wanted = {row.recipient_id for row in rows if row.recipient_id is not None}
        people: dict[int, Person] = {}
        if wanted:
            async with self.core.reading() as session:
                found = await session.scalars(select(Person).where(Person.id.in_(wanted)))
                people = {person.id: person for person in found}
        held_back: dict[datetime, dict[int, int]] = {}
        now = self.core.clock.now()
        for row in rows:
            self.held[row.id] = row
            self.sender._row_claimed(row.id)
            person = people.get(row.recipient_id) if row.recipient_id is not None else None
            chat_id = row.chat_id
            if chat_id is None and person is not None:
                chat_id = person.chat_id
            if chat_id is None:
                await self._give_up(row, "recipient has no chat")
                self._done(row.id)
                continue
            retrying = self.sender._retrying.get(chat_id)
            if retrying is not None:
                retried_id, priority, due = retrying
                if row.id == retried_id or due <= now:
                    del self.sender._retrying[chat_id]
                elif row.priority >= priority:
                    held_back.setdefault(due, {})[row.id] = row.parts_sent
                    self._done(row.id)
                    continue
            lane = self.lanes.get(chat_id)
            if lane is None:
                lane = self.lanes[chat_id] = _Lane()
                lane.task = asyncio.create_task(self._drive(chat_id, lane), name=f"lane-{chat_id}")
            heapq.heappush(lane.queue, (row.priority, row.id, next(self._order), row, person))
        for due, progress in held_back.items():
            released = await self._record(
                "hand back",
                lambda progress=progress, due=due: outbox.release(  # type: ignore[misc]
                    self.core, progress, owner=self.sender.owner, at=due
                ),
            )
            self.stats.released += released or 0

    def _done(self, delivery_id: int) -> None:
        self.sure.pop(delivery_id, None)
        row = self.held.pop(delivery_id, None)
        if row is not None and row.lane is not None:
            self.drained.add(row.lane)  # freed unless other rows of it are still in hand
        self.progress.pop(delivery_id, None)
        self.changed.set()

    async def _drive(self, chat_id: int, lane: _Lane) -> None:
        """Send one chat's rows in order."""
        try:
            while lane.queue and not self.stopping:
                _, _, _, row, person = heapq.heappop(lane.queue)
                if row.id not in self.held:  # lost: dropped, or taken by another sender
                    continue
                finished = False  # cancelled while waiting: stays in hand, handed back
                try:
                    finished = await self._deliver(row, person, chat_id, lane)
                except Exception:  # a bug: the row is retried when its lease runs out
                    log.exception("outbox row %s: delivery broke off", row.id)
                    finished = True
                finally:
                    if finished:
                        self._done(row.id)
        finally:
            if self.lanes.get(chat_id) is lane:
                del self.lanes[chat_id]
            self.changed.set()

    async def _deliver(
        self, row: outbox.Delivery, person: Person | None, chat_id: int, lane: _Lane
    ) -> bool:
        """Send every part of one row; False when stopped mid-way (the row is handed back)."""
        sender = self.sender
        try:
            notice = await sender.render(row, person, chat_id)
            parts = sender.parts(notice, chat_id)
            if not parts:
                raise ValueError("the renderer produced nothing to send")
        except Exception as error:  # a rendering bug must not stop the other messages
            log.exception("outbox row %s (%s) could not be rendered", row.id, row.code)
            await self._give_up(row, f"{type(error).__name__}: {error}")
            return True
        first: Sent | None = None
        for index in range(row.parts_sent, len(parts)):
            failure: TransportError | None = None
            lane.waiting = True
            try:
                while True:
                    await self._until_recorded()
                    if self.stopping:
                        return False
                    if not await self._until_sure(row):
                        return True  # another sender took it while the database was away
                    if self.stopping:
                        return False
                    async with sender.limiter.sending(chat_id, row.priority):
                        # The turn may come after the claim stopped being sure (a long
                        # wait, the database away meanwhile): look again right before it.
                        if self._sure(row):
                            lane.waiting = False
                            try:
                                sent = await sender.transport.perform(parts[index])
                            except TransportError as error:
                                failure = error
                            break
            finally:
                lane.waiting = False
            if failure is not None:
                await self._failed(row, chat_id, index, failure, lane)
                return True
            sender.limiter.network_ok()
            first = first or sent
            self.progress[row.id] = index + 1
        message_id = first.message_id if first is not None else None
        recorded = await self._record(
            "sent",
            lambda: outbox.mark_sent(
                self.core,
                row.id,
                owner=sender.owner,
                message_id=message_id,
                token=row.token,
            ),
            row,
        )
        if recorded is False:
            log.warning("outbox row %s was sent after its claim was lost: it may repeat", row.id)
        self.stats.sent += 1
        sender.outcome(row, "sent")
        return True

    async def _failed(
        self,
        row: outbox.Delivery,
        chat_id: int,
        index: int,
        error: TransportError,
        lane: _Lane,
    ) -> None:
        sender = self.sender
        if isinstance(error, RetryAfter):
            scope, until = sender.limiter.flooded(chat_id, error.seconds)
            sender._pauses[row.id] = (scope, until)
            await self._retry(row, chat_id, error.seconds, str(error), index, lane)
        elif isinstance(error, Unreachable | BadRequest):
            await self._give_up(row, str(error) or type(error).__name__)
        else:  # NetworkError, or a failure nobody classified: assume it passes
            sender.limiter.network_failed()
            after = sender.backoff.delay(row.attempts)
            await self._retry(row, chat_id, after, str(error) or type(error).__name__, index, lane)

    async def _retry(
        self,
        row: outbox.Delivery,
        chat_id: int,
        after: float,
        error: str,
        parts_sent: int,
        lane: _Lane,
    ) -> None:
        """Put the row back for `after` seconds; the rows behind it in its chat wait for it."""
        sender = self.sender
        self.stats.retried += 1
        sender.outcome(row, "retried")
        due = await self._record(
            "retry",
            lambda: outbox.mark_retry(
                self.core,
                row.id,
                owner=sender.owner,
                after=timedelta(seconds=after),
                error=error,
                parts_sent=parts_sent,
                token=row.token,
            ),
            row,
        )
        if due is None:
            return
        sender._retrying[chat_id] = (row.id, row.priority, due)
        queued = [queued_row for _, _, _, queued_row, _ in lane.queue if queued_row.id in self.held]
        lane.queue.clear()
        if queued:
            progress = {q.id: self.progress.get(q.id, q.parts_sent) for q in queued}
            released = await self._record(
                "hand back",
                lambda: outbox.release(self.core, progress, owner=sender.owner, at=due),
            )
            self.stats.released += released or 0
            for queued_row in queued:
                self._done(queued_row.id)

    async def _give_up(self, row: outbox.Delivery, error: str) -> None:
        log.warning("outbox row %s (%s) failed for good: %s", row.id, row.code, error)
        self.stats.failed += 1
        await self._record(
            "failed",
            lambda: outbox.mark_failed(
                self.core, row.id, owner=self.sender.owner, error=error, token=row.token
            ),
            row,
        )
        self.sender.outcome(row, "failed")

    async def _record(
        self, what: str, action: Callable[[], Awaitable[T]], row: outbox.Delivery | None = None
    ) -> T | None:
        """Record an outcome, trying again with backoff while the database is away.

        Meanwhile nothing is claimed or sent (`unrecorded`), and the row stays in hand,
        its lease renewed by the heartbeat. None when a stopping sender gave up after a
        lease: the row is then retried when its lease runs out.
        """
        sender = self.sender
        tries = 0
        try:
            while True:
                try:
                    return await action()
                except Exception as error:
                    tries += 1
                    if tries == 1:
                        self.unrecorded += 1
                        self.recorded.clear()
                        log_failure(
                            log,
                            "outbox row %s: %s not recorded; sending paused, trying again",
                            row.id if row is not None else "-",
                            what,
                            error=error,
                            level=logging.ERROR,
                        )
                    lease = sender.lease.total_seconds()
                    if self.stopping and sender.limiter.clock() - self.stopped_at > lease:
                        log.error(
                            "outbox row %s: %s still not recorded at shutdown;"
                            " it is retried when its lease runs out and may repeat",
                            row.id if row is not None else "-",
                            what,
                        )
                        return None
                    await sender.limiter.sleep(sender.record_backoff.delay(tries))
        finally:
            if tries:
                self.unrecorded -= 1
                if not self.unrecorded:
                    self.recorded.set()
                    self.changed.set()
                    log.info("outbox outcomes recorded again; sending resumes")

    async def _until_recorded(self) -> None:
        """Wait while an outcome cannot be recorded (or until stopping)."""
        while self.unrecorded and not self.stopping:
            await first_of(self.recorded, within=0.5, sleep=self.sender.limiter.sleep)

    def _real_lease(self) -> float:
        lease = self.sender.lease
        clock = self.core.clock
        return min(lease.total_seconds(), clock.real_seconds_until(clock.now() + lease))

    def _heartbeat_every(self) -> float:
        return max(0.05, self._real_lease() / 3)

    def _sure_window(self) -> float:
        return self._real_lease() * 2 / 3

    def _sure(self, row: outbox.Delivery) -> bool:
        """Whether the row is in hand and its lease surely ours now."""
        return row.id in self.held and self.sure.get(row.id, 0.0) > self.sender.limiter.clock()

    async def _until_sure(self, row: outbox.Delivery) -> bool:
        """Wait until the row's lease is surely ours (renewed); False once it is not in hand."""
        while row.id in self.held and not self._sure(row) and not self.stopping:
            self.renewed.clear()
            await first_of(self.renewed, within=0.5, sleep=self.sender.limiter.sleep)
        return row.id in self.held

    async def _heartbeat(self) -> None:
        """Renew the leases of rows in hand, and drop any another sender took over."""
        failures = 0
        while True:
            every = self._heartbeat_every()
            if failures:  # the database may be back any moment: renew as soon as it is
                every = min(every, self.sender.record_backoff.delay(failures))
            await self.sender.limiter.sleep(every)
            await self._free_drained()
            ids = list(self.held)
            if not ids:
                continue
            lanes = {row.lane for row in self.held.values() if row.lane is not None}
            began = self.sender.limiter.clock()
            try:
                kept = await outbox.extend_leases(
                    self.core, ids, owner=self.sender.owner, lease=self.sender.lease, lanes=lanes
                )
            except Exception as error:
                if not failures:
                    log_failure(log, "could not renew outbox leases; trying again", error=error)
                failures += 1
                continue
            if failures:
                log.info("outbox leases renewed again")
            failures = 0
            window = self._sure_window()
            self.sure.update((row_id, began + window) for row_id in kept if row_id in self.held)
            lost = [row_id for row_id in set(ids) - kept if row_id in self.held]
            for row_id in lost:
                self.sure.pop(row_id, None)
                self.held.pop(row_id, None)
            if lost:
                await self._tell_lost(sorted(lost))
            self.renewed.set()

    async def _tell_lost(self, lost: list[int]) -> None:
        """Log why rows left this sender's hand: dropped (a superseded reminder), or taken."""
        try:
            found = await outbox.whereabouts(self.core, lost)
        except Exception:  # only the log line is at stake
            found = {}
        for row_id in lost:
            status, holder = found.get(row_id, (None, None))
            if status is OutboxStatus.DROPPED:
                log.info(
                    "outbox row %s dropped while waiting its turn (superseded): not sent", row_id
                )
            elif status is OutboxStatus.SENT:
                log.info("outbox row %s was recorded as sent meanwhile: not sent again", row_id)
            elif holder is not None and holder != self.sender.owner:
                log.warning("outbox row %s: lease lost; sender %s has it", row_id, holder)
            else:
                log.warning("outbox row %s: lease lost (now %s)", row_id, status or "unknown")

    async def _free_drained(self) -> None:
        """Let other senders have the chats this one has nothing left for, after their pace."""
        held = {row.lane for row in self.held.values()}
        drained = self.drained - held
        self.drained -= drained
        if not drained:
            return
        spacing = self.sender.limiter.spacing
        keep = {chat: timedelta(seconds=spacing(chat)) for chat in drained}
        try:
            await outbox.free_lanes(self.core, keep, owner=self.sender.owner)
        except Exception:  # they are free when their leases run out
            log.warning("could not free %d chats; free when their leases run out", len(keep))

    async def _wind_down(self) -> None:
        """Stop: cancel lanes waiting for a turn, let sends in flight finish, hand back the rest."""
        self.stopping = True
        self.stopped_at = self.sender.limiter.clock()
        lanes = list(self.lanes.values())
        for lane in lanes:
            if lane.waiting and lane.task is not None:
                lane.task.cancel()
        tasks = [lane.task for lane in lanes if lane.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._free_drained()
        if self._stop_requested():
            try:  # a restart takes longer than a per-chat interval: free them at once
                await outbox.release_lanes(self.core, owner=self.sender.owner)
            except Exception:
                log.warning("chats not handed back; free when their leases run out", exc_info=True)
        if not self.held:
            return
        progress = {
            row_id: self.progress.get(row_id, row.parts_sent) for row_id, row in self.held.items()
        }
        try:
            self.stats.released += await outbox.release(
                self.core, progress, owner=self.sender.owner
            )
        except Exception:
            log.exception(
                "could not hand back %d outbox rows; they are retried when their leases run out",
                len(progress),
            )
        self.held.clear()
