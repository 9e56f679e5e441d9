"""Several webhook instances behind a balancer keep each chat's updates in order (issue 14, 1).

Three Applications, each with its own webhook server, on one database (SQLite and
PostgreSQL), behind a round-robin balancer in the test, against the sandbox emulator,
on aiogram and on python-telegram-bot. Telegram (the emulator) posts the next update
as soon as the previous one is answered, so an album's photos land on different
instances milliseconds apart: every photo must reach the report all the same.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession, web
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.conversations import UPDATE_LEASE
from core.models import ChatLane, ProcessedUpdate, TicketPhoto
from core.sla.policy import Policy
from demo import seed
from sandbox import BotApiEmulator, SimulatedPerson

pytestmark = pytest.mark.e2e

INSTANCES = 3
SECRET = "lanes-webhook-secret"
PATH = "/telegram/webhook"


class Balancer:
    """A round-robin HTTP balancer: each POST goes to the next instance, its answer comes back."""

    def __init__(self) -> None:
        self.upstreams: list[str] = []
        self.forwarded: list[str] = []  # which instance got each update, in order
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        upstream = self.upstreams[next(self._next) % len(self.upstreams)]
        self.forwarded.append(upstream)
        try:
            async with self._session.post(
                upstream, data=await request.read(), headers=dict(request.headers)
            ) as answer:
                return web.Response(status=answer.status, body=await answer.read())
        except ClientError:  # a stopped instance: Telegram retries, and reaches another
            return web.Response(status=502)


@dataclass
class Cluster:
    """Three instances of the bot on one database, one emulator, one balancer."""

    instances: list[Any]  # conftest's Deployment
    balancer: Balancer
    emulator: BotApiEmulator

    @property
    def first(self) -> Any:
        return self.instances[0]

    async def settled(self) -> None:
        """Wait until every journaled update is handled for good (the last reply comes first)."""

        async def all_done() -> bool:
            return await self.count(ProcessedUpdate, ProcessedUpdate.done_at.is_(None)) == 0

        await self.first.until(all_done, message="updates left unhandled")

    async def count(self, model: type, *where: object) -> int:
        async with self.first.running.core.reading() as session:
            query = select(func.count()).select_from(model).where(*where)
            return int(await session.scalar(query) or 0)


@pytest.fixture
async def cluster(
    emulator: BotApiEmulator,
    runtime: str,
    database_url: str,
    e2e_policy: Policy,
    deployment: Any,  # not started: its class and clock serve the three instances
) -> AsyncIterator[Cluster]:
    balancer = Balancer()
    await balancer.start()
    instances = []
    try:
        for _ in range(INSTANCES):
            instance = type(deployment)(
                emulator, runtime, database_url, deployment.clock, e2e_policy
            )
            listen = instance.use_webhook(SECRET).split("/")[2]  # a free port of its own
            # Every instance registers the balancer's URL and listens on its own port.
            instance.overrides.update(
                webhook_url=balancer.url,
                webhook_listen=listen,
                # A stopped instance is cut off at once; survivors look for its leftovers often.
                shutdown_grace=0.2,
                recovery_interval=0.1,
            )
            balancer.upstreams.append(f"http://{listen}{PATH}")
            await instance.start()
            instances.append(instance)
        yield Cluster(instances, balancer, emulator)
    finally:
        for instance in instances:
            await instance.stop()
        await balancer.stop()


async def registered_li_na(cluster: Cluster) -> SimulatedPerson:
    """Li Na of the demo office, registered through her invitation (over the balancer)."""
    seeded = await seed.seed_office(cluster.first.running.helpdesk)
    persona = seed.LI_NA
    li = cluster.emulator.person(persona.telegram_id, persona.name, "en", "tg_li")
    await li.start(seeded.invite_payload(persona))
    await li.wait_for(f"Welcome, {persona.name}! You are registered as")
    return li


async def test_an_album_sent_to_three_instances_keeps_every_photo_in_order(cluster: Cluster):
    li = await registered_li_na(cluster)
    await li.start(f"asset_{seed.PC_TAG}")
    await li.wait_for("What is wrong?")
    await li.send("The printer pulls in two sheets and jams.")
    await li.wait_for("A photo helps the engineer")
    received = len(cluster.balancer.forwarded)
    await li.send_album(5)  # five updates back to back: each goes to the next instance
    await li.wait_for("5 photos received")
    album_went_to = set(cluster.balancer.forwarded[received : received + 5])
    assert len(album_went_to) == INSTANCES  # the album really was spread over all three
    await li.press("✅ Done")
    await li.wait_for("How badly does it affect work?")
    await li.press("🟠 I cannot do my work with it")
    await li.wait_for("A phone number for the engineer?")
    await li.send("13800000000")
    summary = await li.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert "Photos: 5" in summary.text
    await li.press("✅ Confirm")
    await li.wait_for("Ticket #1 is open.")
    assert await cluster.count(TicketPhoto, TicketPhoto.ticket_id == 1) == 5
    # Every update handled for good; no chat lane left held.
    await cluster.settled()
    assert await cluster.count(ChatLane, ChatLane.holder.is_not(None)) == 0


async def test_answers_typed_before_their_prompts_are_taken_in_order_by_three_instances(
    cluster: Cluster,
):
    li = await registered_li_na(cluster)
    received = len(cluster.balancer.forwarded)
    # Sent without waiting for any prompt: the sticker opens the report, the sentence
    # answers "What is wrong?", the photos answer the photo step; each update reaches
    # another instance, and each must be taken after the one before it.
    await li.start(f"asset_{seed.PC_TAG}")
    await li.send("The screen stays black.")
    await li.send_photo()
    await li.send_photo()
    await li.send_photo()
    await li.wait_for("3 photos received")
    await cluster.settled()
    assert len(set(cluster.balancer.forwarded[received : received + 5])) == INSTANCES
    state = await cluster.first.running.bot.conversations.load(li.chat_id, li.user_id)
    assert state is not None and state.step == "photos"
    assert state.data["symptom"] == "The screen stays black."
    assert len(state.data["photos"]) == 3
    assert "I did not understand" not in li.transcript()
    assert await cluster.count(ChatLane, ChatLane.holder.is_not(None)) == 0


async def test_an_update_that_cannot_be_journaled_is_refused_and_taken_when_posted_again(
    deployment: Any, emulator: BotApiEmulator
):
    deployment.use_webhook(SECRET)
    await deployment.start()
    await deployment.register(1001, "Alice", language="en")
    conversations = deployment.running.bot.conversations
    journal = conversations.journal_updates
    failures = [OperationalError("INSERT", {}, Exception("the database is away"))]

    async def away_once(updates: list[tuple[int, dict[str, Any]]], **options: Any) -> Any:
        if failures:
            raise failures.pop()
        return await journal(updates, **options)

    conversations.journal_updates = away_once
    alice = emulator.person(user_id=1001, first_name="Alice", language_code="en")
    await alice.send("/help")
    await alice.wait_for("/report")
    config = emulator.bot_state().webhook
    assert config is not None and "503" in (config.last_error_message or "")
    assert sum("/report" in m.text for m in alice.messages()) == 1  # answered once, not lost

    async def handled_once() -> bool:
        async with deployment.running.core.reading() as session:
            rows = list(await session.scalars(select(ProcessedUpdate)))
        return len(rows) == 1 and rows[0].done_at is not None

    await deployment.until(handled_once, message="the update was not handled for good")


async def test_a_chat_held_by_an_instance_that_died_is_taken_over_in_order(
    cluster: Cluster, hang: Any
):
    li = await registered_li_na(cluster)
    await li.send("/hang")  # its handler hangs: the instance holds Li Na's chat

    async def being_handled() -> bool:  # not the welcome's update, finished a moment later
        return hang.started.is_set()

    await cluster.first.until(being_handled)
    holder = cluster.balancer.upstreams.index(cluster.balancer.forwarded[-1])
    await li.send("/help")  # reaches another instance, which leaves it to the holder

    async def journaled() -> bool:
        return await cluster.count(ProcessedUpdate, ProcessedUpdate.done_at.is_(None)) == 2

    await cluster.first.until(journaled)
    # The holder dies: like a killed process, it gives nothing back.
    dead = cluster.instances[holder]

    async def gives_nothing_back(*_args: Any, **_options: Any) -> bool:
        return False

    dead.running.bot.conversations.release_lane = gives_nothing_back
    await dead.stop()
    hang.released.set()
    assert not any("Handled at last." in m.text for m in li.messages())
    assert await cluster.count(ChatLane, ChatLane.holder.is_not(None)) == 1

    survivor = next(instance for instance in cluster.instances if instance is not dead)
    survivor.clock.advance(UPDATE_LEASE + timedelta(seconds=1))  # the dead one's lease runs out
    await li.wait_for("Handled at last.")
    await li.wait_for("/report")  # the answer to /help, after the update before it
    texts = [m.text for m in li.messages()]
    hung = texts.index("Handled at last.")
    helped = max(i for i, text in enumerate(texts) if "/report" in text)
    assert hung < helped
    await cluster.settled()
    assert texts.count("Handled at last.") == 1
