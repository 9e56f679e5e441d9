"""End-to-end fixtures: the real Application, on aiogram or PTB, against the sandbox emulator.

Every test gets a fresh emulator (real HTTP on loopback), a fresh SQLite file cloned from
the migrated template, and a `Deployment` that builds and starts the Application exactly
as `faultdesk run` does, with a frozen clock. Teardown stops the bot and fails the test
if the bot made any call the Bot API would have refused.
"""

from __future__ import annotations

import asyncio
import html
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from bot.app import Application, build_application
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.notifications import Notice, RenderCtx, renders
from bot.router import Router
from bot.runtimes import RUNTIMES
from bot.settings import Settings
from core import outbox
from core.assets import AssetRecord
from core.clock import FrozenClock
from core.conversations import DialogState
from core.enums import AssetKind, Role
from core.messages import Message
from core.models import OutboxMessage
from core.sla.policy import Policy, load_policy
from sandbox import BotApiEmulator, SimulatedPerson

pytestmark = pytest.mark.e2e

TOKEN = "123456789:AAE2eTokenForFaultdeskRuntimes-0123"
# Monday 2 March 2026, 09:00 in Shanghai: an ordinary working morning.
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ALICE = 1001
NOTICE = "e2e.notice"
START_TIMEOUT = 60.0  # seconds: a safety net, never a way to order events


# --- test-only additions to the router ---------------------------------------------------


class SurveyStep(StrEnum):
    """The survey's steps."""

    COLOUR = "colour"
    NAME = "name"


class SurveyDialog(Dialog[SurveyStep]):
    """Two steps, state in the database: press a colour, then type a name."""

    name = "e2e_survey"
    steps = SurveyStep
    first = SurveyStep.COLOUR

    async def ask_colour(self, ctx: Ctx, state: DialogState) -> None:
        """Offer two colours and a cancel button."""
        choices = [self.choice(ctx, state, "Red", "red"), self.choice(ctx, state, "Blue", "blue")]
        await self.show(
            ctx,
            state,
            "Which colour?",
            InlineKeyboard.of(choices, [self.cancel_button(ctx, state)]),
        )

    async def on_colour(
        self, ctx: Ctx, state: DialogState, value: str | None
    ) -> SurveyStep | Outcome:
        """Take the pressed colour."""
        if value is None:
            await ctx.say("Press a colour, please.")
            return STAY
        state.data["colour"] = value
        return SurveyStep.NAME

    async def ask_name(self, ctx: Ctx, state: DialogState) -> None:
        """Ask for a typed name."""
        await self.show(ctx, state, f"Colour {state.data['colour']}. Now type a name.")

    async def on_name(
        self, ctx: Ctx, state: DialogState, value: str | None
    ) -> SurveyStep | Outcome:
        """Take the name and finish."""
        if value is not None or not ctx.incoming.text:
            await ctx.say("Type a name, please.")
            return STAY
        name = html.escape(ctx.incoming.text)
        await ctx.say(f"Saved: {state.data['colour']} for {name}.")
        return DONE

    table = step_table(
        {
            SurveyStep.COLOUR: StepSpec(ask_colour, on_colour, to={SurveyStep.NAME}),
            SurveyStep.NAME: StepSpec(ask_name, on_name),
        }
    )


class ProbeStep(StrEnum):
    """The probe's one step."""

    LISTEN = "listen"


class ProbeDialog(Dialog[ProbeStep]):
    """Echoes how the runtime converted each update, until /cancel."""

    name = "e2e_probe"
    steps = ProbeStep
    first = ProbeStep.LISTEN

    async def ask_listen(self, ctx: Ctx, state: DialogState) -> None:
        """Say it is listening."""
        await ctx.say("Probe listening.")

    async def on_listen(
        self, ctx: Ctx, state: DialogState, value: str | None
    ) -> ProbeStep | Outcome:
        """Describe the update."""
        seen = ctx.incoming
        fields = [
            f"kind={seen.kind.value}",
            f"chat_type={seen.chat_type}",
            f"text={seen.text!r}",
            f"photo={seen.photo_file_id is not None}",
            f"phone={seen.contact_phone}",
            f"contact_user={seen.contact_user_id}",
            f"location={seen.latitude},{seen.longitude}",
            f"message_id={seen.message_id is not None}",
        ]
        await ctx.say(html.escape("probe: " + " ".join(fields)))
        return STAY

    table = step_table({ProbeStep.LISTEN: StepSpec(ask_listen, on_listen)})


class Hang:
    """/hang: a handler that waits for `released`, like one whose process died meanwhile."""

    released: asyncio.Event | None = None
    started: asyncio.Event | None = None  # set once a /hang is being handled

    @classmethod
    async def handler(cls, ctx: Ctx) -> None:
        if cls.started is not None:
            cls.started.set()
        if cls.released is not None:
            await cls.released.wait()
        await ctx.say("Handled at last.")


@dataclass(frozen=True, kw_only=True)
class TestNotice(Message):
    """A plain line of text from the outbox."""

    kind: ClassVar[str] = NOTICE
    text: str


@renders(TestNotice)
async def render_notice(m: TestNotice, render: RenderCtx) -> Notice:
    return Notice(html.escape(m.text))


def extend(router: Router) -> None:
    """Add the test dialogs (and their commands)."""
    survey, probe = SurveyDialog(), ProbeDialog()
    router.add_dialog(survey)
    router.add_dialog(probe)

    async def start_survey(ctx: Ctx) -> None:
        await ctx.start_dialog(survey.name)

    async def start_probe(ctx: Ctx) -> None:
        await ctx.start_dialog(probe.name)

    router.command("hang")(Hang.handler)
    router.command("survey")(start_survey)
    router.command("probe")(start_probe)


# --- the deployment ----------------------------------------------------------------------


class Deployment:
    """The bot as an operator runs it: settings, one database, start, stop, restart."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        runtime: str,
        database_url: str,
        clock: FrozenClock,
        policy: Policy,
    ) -> None:
        self.emulator = emulator
        self.runtime = runtime
        self.database_url = database_url
        self.clock = clock
        self.policy = policy
        self.overrides: dict[str, Any] = {}
        self.app: Application | None = None
        self.site_id: int | None = None

    def settings(self) -> Settings:
        """Settings as the environment would give them (no .env file is read)."""
        values: dict[str, Any] = {
            "bot_token": TOKEN,
            "api_base_url": self.emulator.base_url,
            "database_url": self.database_url,
            "runtime": self.runtime,
            "default_language": "en",
            "polling_timeout": 10,
            "shutdown_grace": 5.0,
            "health_listen": "127.0.0.1:0",  # deployments run side by side
            **self.overrides,
        }
        return Settings(_env_file=None, **values)

    async def start(self) -> Application:
        """Build and start a new Application on the shared database."""
        app = build_application(self.settings(), clock=self.clock, policy=self.policy)
        extend(app.router)
        # Start-up waits out an unreachable API or database; a test must not wait forever.
        await asyncio.wait_for(app.start(self.runtime), timeout=START_TIMEOUT)
        self.app = app
        return app

    async def stop(self) -> None:
        """Stop the running Application (in-flight updates finish)."""
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def restart(self) -> Application:
        """Stop, then start a fresh Application: nothing in memory survives."""
        await self.stop()
        return await self.start()

    @property
    def running(self) -> Application:
        """The running Application."""
        assert self.app is not None, "the bot is not running"
        return self.app

    async def register(
        self, telegram_id: int, name: str, *, role: Role = Role.STAFF, language: str | None = None
    ) -> int:
        """A registered person at the HQ site (as an admin would create them); their id."""
        people = self.running.helpdesk.people
        if self.site_id is None:
            site = await people.create_site(code="HQ", name="Head office", region="city")
            self.site_id = site.id
        person = await people.create_person(
            name=name,
            role=role,
            site_id=self.site_id,
            telegram_user_id=telegram_id,
            language=language,
        )
        return person.id

    async def register_device(self, tag: str) -> None:
        """A PC in the asset register at the HQ site."""
        assert self.site_id is not None, "register someone first: that creates the site"
        await self.running.helpdesk.assets.register(
            AssetRecord(tag=tag, kind=AssetKind.PC, site_code="HQ", location="Room 301")
        )

    async def queue_notice(self, key: str, text: str, *, chat_id: int) -> None:
        """Put a message in the outbox, as a core service would."""
        async with self.running.core.transaction() as tx:
            await outbox.enqueue(tx, TestNotice(text=text), key=key, chat_id=chat_id)

    def use_webhook(self, secret: str) -> str:
        """Switch the next start to webhook mode on a free loopback port; returns the URL."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        self.overrides.update(
            webhook_url=url, webhook_secret=secret, webhook_listen=f"127.0.0.1:{port}"
        )
        return url

    @staticmethod
    async def until(
        condition: Callable[[], Awaitable[bool]],
        timeout: float = 60.0,  # noqa: ASYNC109  # a polling helper, like wait_for
        message: str = "condition not reached",
    ) -> None:
        """Poll an async condition (database state has no event to await); the timeout is a
        safety net for a busy machine, never what a test waits for."""
        deadline = time.monotonic() + timeout
        while not await condition():
            if time.monotonic() > deadline:
                raise AssertionError(message)
            await asyncio.sleep(0.02)

    async def recovery_rounds(self, count: int) -> None:
        """Wait until the running bot has looked `count` more times for updates a dead process
        left behind: rounds counted as they happen, not guessed from a sleep."""
        conversations = self.running.bot.conversations
        looked: list[int] | None = getattr(conversations, "e2e_looked", None)
        if looked is None:
            looked = [0]
            look = conversations.unfinished_updates

            async def counted(**options: Any) -> list[dict[str, Any]]:
                found = await look(**options)
                looked[0] += 1
                return found

            conversations.unfinished_updates = counted  # type: ignore[method-assign]
            conversations.e2e_looked = looked  # type: ignore[attr-defined]
        target = looked[0] + count

        async def enough() -> bool:
            return looked[0] >= target

        await self.until(enough, message=f"fewer than {count} recovery rounds")

    async def outbox_row(self, key: str) -> OutboxMessage:
        """The outbox row with this key, freshly read."""
        async with self.running.core.reading() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
            assert row is not None, f"no outbox row {key!r}"
            return row


@pytest.fixture
def hang() -> Iterator[type[Hang]]:
    """The /hang command, made to wait until the test sets `Hang.released`."""
    Hang.released, Hang.started = asyncio.Event(), asyncio.Event()
    yield Hang
    Hang.released = Hang.started = None


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """Each e2e test runs on aiogram and on python-telegram-bot."""
    return str(request.param)


@pytest.fixture(scope="session")
def e2e_policy() -> Policy:
    """The packaged default SLA policy."""
    return load_policy()


@pytest.fixture
def e2e_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite file with the schema already migrated."""
    path = tmp_path / "faultdesk.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def deploy(
    sqlite_template: Path, tmp_path: Path, e2e_policy: Policy
) -> Callable[[str], AbstractAsyncContextManager[Deployment]]:
    """Start a whole separate world (emulator, database, bot) on a given runtime."""

    @asynccontextmanager
    async def deployed(runtime: str) -> AsyncIterator[Deployment]:
        path = tmp_path / f"{runtime}.sqlite3"
        shutil.copy(sqlite_template, path)
        async with BotApiEmulator() as emu:
            emu.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
            deployment = Deployment(
                emu, runtime, f"sqlite:///{path}", FrozenClock(MONDAY_9AM), e2e_policy
            )
            await deployment.start()
            try:
                yield deployment
            finally:
                await deployment.stop()
            emu.assert_no_violations()

    return deployed


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A running Bot API emulator with our bot registered; invalid calls fail the test."""
    async with BotApiEmulator() as emu:
        emu.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
        yield emu
        emu.assert_no_violations()


@pytest.fixture
async def deployment(
    emulator: BotApiEmulator, runtime: str, e2e_database_url: str, e2e_policy: Policy
) -> AsyncIterator[Deployment]:
    """A not-yet-started deployment (for tests that change settings first)."""
    deployed = Deployment(emulator, runtime, e2e_database_url, FrozenClock(MONDAY_9AM), e2e_policy)
    yield deployed
    await deployed.stop()


@pytest.fixture
async def bot(deployment: Deployment) -> Deployment:
    """The deployment, started in long-polling mode."""
    await deployment.start()
    return deployment


@pytest.fixture
async def alice(bot: Deployment, emulator: BotApiEmulator) -> SimulatedPerson:
    """A registered staff member whose Telegram speaks English."""
    await bot.register(ALICE, "Alice")
    return emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
