"""The composition root: one place that wires database, clock, policy, core and chat.

`build_application` makes every object; `Application.start` opens the health server,
waits for the Bot API and then for the database (and migrates it), each with capped
exponential backoff (`bot.startup`), publishes the commands menu in every language and
runs, side by side, the runtime (long polling or webhook), the due-work runner, the
outbox sender and the instance heartbeat. `Application.stop` undoes it in order: no new
updates, finish the ones in flight, let the runner and sender finish their pass, close
the HTTP session, dispose the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.bootstrap import bootstrap
from bot.callbacks import CallbackCodec, secret_from_token
from bot.chat import Incoming, Transport, TransportError
from bot.context import BotApp
from bot.handlers import build_router
from bot.health import Health, HealthServer
from bot.i18n import I18n
from bot.jobs import build_scheduler, stop_scheduler
from bot.lanes import ChatLanes
from bot.metrics import InstrumentedTransport, Metrics
from bot.network import hide_password, resolve_proxy
from bot.ratelimit import Backoff, RateLimits, SendLimiter
from bot.router import Prefetched, Router
from bot.runtimes import (
    ApiUnreachable,
    Runtime,
    RuntimeConfig,
    StartupError,
    TokenRejected,
    create_runtime,
)
from bot.sender import OutboxSender, share_budget
from bot.settings import Settings
from bot.startup import keep_trying, startup_backoff
from bot.version import version
from bot.web.menu import MenuButtons
from bot.web.server import WebConfig, WebConsole, WebServer
from bot.webhook import NotJournaled, WebhookServer, default_secret, webhook_path
from core import instances
from core.clock import Clock
from core.conversations import ConversationStore
from core.db_errors import connection_lost, log_failure
from core.migrate import schema_state, schema_status, upgrade_async
from core.scheduling import DueWorkRunner
from core.services import Helpdesk
from core.sla.policy import Policy
from core.unit_of_work import Core

log = logging.getLogger(__name__)

__all__ = ["Application", "StartupError", "build_application"]


class Application:
    """The running bot: a runtime, the due-work runner and the outbox sender on one database.

    An Application starts once; to restart, stop it and build a new one (state that
    matters is in the database, so nothing is lost in between).
    """

    def __init__(self, settings: Settings, core: Core, router: Router, bot: BotApp) -> None:
        self.settings = settings
        self.core = core
        self.router = router
        self.bot = bot
        self.metrics = Metrics(runtime=settings.runtime, version=version())
        self.health = Health(
            core,
            heartbeat_max=settings.ready_heartbeat_max,
            page_age_max=settings.ready_page_age_max,
        )
        self.health_server: HealthServer | None = None
        # The owner of every lease this process takes (outbox rows and chats, due work,
        # chat lanes) and its `instance` row: a lease joins to the process holding it.
        # The host name is cut so the id fits the 64 characters of those columns.
        self.instance_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # A chat's updates are handled by one instance at a time, whichever received them.
        # Who sent an update and their dialog state are read in the claiming transaction.
        self.lanes = ChatLanes(
            bot.conversations,
            self.instance_id,
            self._handle_claimed,
            prefetch=router.prefetcher(bot),
        )
        self._registered = False
        self.runtime: Runtime | None = None
        self._transport: Transport | None = None
        self.runner: DueWorkRunner | None = None
        self.sender: OutboxSender | None = None
        self.webhook: WebhookServer | None = None
        self.web_console: WebConsole | None = None
        if settings.web_enabled():
            self.web_console = WebConsole(
                bot.helpdesk,
                bot.i18n,
                WebConfig(
                    bot_token=settings.bot_token,
                    init_data_max_age=timedelta(seconds=settings.web_init_data_max_age),
                    session_max_age=timedelta(hours=settings.web_session_hours),
                    username=lambda: bot.bot_username or settings.bot_username,
                    download=self._download_photo,
                ),
            )
        self.web_server: WebServer | None = None
        # The console in each private chat's menu button (bot.web.menu).
        self.menu_buttons = MenuButtons(
            core, bot.i18n, bot_id=settings.bot_id(), web_url=lambda: bot.web_url
        )
        self.scheduler: AsyncIOScheduler | None = None
        self._stop_work = asyncio.Event()
        self._failed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._stopped = False

    @property
    def helpdesk(self) -> Helpdesk:
        """The core services."""
        return self.bot.helpdesk

    async def _download_photo(self, file_id: str) -> bytes:
        """A photo people sent, through the running transport (for the web console)."""
        if self.runtime is None:
            raise RuntimeError("the bot is not connected to Telegram yet")
        return await self.runtime.download(file_id)

    @property
    def transport(self) -> Transport:
        """The running runtime's transport (counted in the metrics)."""
        if self._transport is None:
            raise RuntimeError("the application is not started")
        return self._transport

    async def start(self, runtime_name: str | None = None) -> None:
        """Wait for the database and the Bot API, migrate, publish menus, start receiving.

        While either is unreachable start-up keeps trying (capped exponential backoff,
        every try logged); StartupError when retrying cannot help (a token Telegram
        refuses, a database of a newer version). Cancelling the call stops cleanly.
        """
        if self._started:
            raise RuntimeError("an Application starts once; build a new one to restart")
        self._started = True
        settings = self.settings
        name = runtime_name or settings.runtime
        polling = not settings.webhook_url
        backoff = startup_backoff(settings.startup_backoff_max)
        try:
            if not settings.token_is_well_formed():
                raise TokenRejected(
                    "the bot token is malformed: @BotFather gives it as <digits>:<secret>"
                )
            proxy = resolve_proxy(settings.proxy, settings.api_base_url)
            await self._start_health_server()
            # The Bot API first: a token Telegram refuses stops start-up before any
            # migration work, and nothing is received before the database is ready.
            runtime = create_runtime(
                name,
                RuntimeConfig(
                    token=settings.bot_token,
                    api_base_url=settings.api_base_url,
                    polling_timeout=settings.polling_timeout,
                    poll_interval=settings.poll_interval,
                    drain_grace=settings.shutdown_grace,
                    proxy=proxy,
                ),
                self._handle,
            )
            self.runtime = runtime
            runtime.journal = self._journal
            self.health.stage = "waiting for the Bot API"
            if proxy is not None:
                log.info("reaching the Bot API through the proxy %s", hide_password(proxy))
            await keep_trying(
                "the Bot API",
                lambda: runtime.open(polling=polling),
                passes=lambda error: isinstance(error, ApiUnreachable),
                backoff=backoff,
            )
            self.health.stage = "waiting for the database"
            await self._wait_for_database(backoff)
            self.health.stage = "starting the workers"
            if runtime.username:
                self.bot.bot_username = runtime.username
            transport = InstrumentedTransport(runtime.transport, self.metrics)
            self._transport = transport
            await self._publish_menus(transport)
            self.runner = self.helpdesk.runner(
                owner=self.instance_id, lease=timedelta(seconds=self.settings.due_work_lease)
            )
            self.runner.on_fired.append(self.metrics.fired)
            self.runner.on_heartbeat.append(lambda: self.health.beat("due_work_runner"))
            # Replies and queued messages of this instance share one limiter; live
            # instances split Telegram's overall rate between them (`share_budget`).
            self.bot.limiter = SendLimiter(RateLimits())
            self.menu_buttons.limiter = self.bot.limiter
            self.sender = OutboxSender(
                self.bot,
                transport,
                owner=self.instance_id,
                limiter=self.bot.limiter,
                metrics=self.metrics,
                lease=timedelta(seconds=settings.outbox_lease),
            )
            self.sender.on_heartbeat.append(lambda: self.health.beat("outbox_sender"))
            await self._register_instance()
            if "FAULTDESK_INSTANCES" in os.environ:  # set for an older version
                log.warning(
                    "FAULTDESK_INSTANCES is no longer read: running instances share"
                    " Telegram's rate by themselves"
                )
            await share_budget(self.core, self.bot.limiter, datetime.now(UTC))
            self._background(self.runner.run(self._stop_work), "due-work-runner")
            self._background(self.sender.run(self._stop_work), "outbox-sender")
            self._background(self._keep_beating(), "instance-heartbeat")
            # Updates whose handler died with an earlier process go first.
            await self._recover(runtime)
            self._background(self._keep_recovering(runtime), "update-recovery")
            # Calendar jobs (inspection planning, periodic reports); the database
            # decides whether a run has work to do, so two instances post once.
            self.scheduler = build_scheduler(self.helpdesk, self.core.clock)
            self.scheduler.start()
            if polling:
                await self._start_web_server()
                await runtime.start_polling()
            else:
                await self._start_webhook(runtime)
            # After the console's address is known (polling mode binds it late).
            self._background(self.menu_buttons.run(transport, self._stop_work), "menu-buttons")
        except BaseException:
            await self.stop()
            raise
        self.health.serving = True
        self.health.stage = "serving"
        log.info(
            "faultdesk %s running: @%s on %s by %s",
            version(),
            self.bot.bot_username,
            name,
            "long polling" if polling else f"webhook {settings.webhook_url}",
        )

    async def _start_health_server(self) -> None:
        """Health, readiness and metrics, up before the waits so they can be watched."""
        listen = self.settings.health_listen
        if not HealthServer.enabled(listen):
            return
        server = HealthServer(listen, self.health, self.metrics)
        try:
            await server.start()
        except OSError as error:
            raise StartupError(f"the health server cannot listen on {listen}: {error}") from error
        self.health_server = server

    async def _start_web_server(self) -> None:
        """The web console on its own address (polling mode); beside the webhook otherwise."""
        if self.web_console is None:
            return
        server = WebServer(self.web_console, self.settings.web_listen)
        try:
            await server.start()
        except OSError as error:
            raise StartupError(
                f"the web console cannot listen on {self.settings.web_listen}: {error}"
            ) from error
        self.web_server = server
        if not self.settings.web_url:
            # Links name the port actually bound (port 0 picks a free one).
            host = server.host if server.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
            self.bot.web_url = f"http://{host}:{server.port}/web/"

    async def _wait_for_database(self, backoff: Backoff) -> None:
        """Keep trying while the database is unreachable; StartupError when it refuses us."""
        where = f"the database {hide_password(self.settings.database_url)}"
        try:
            await keep_trying(
                where, self._prepare_database, passes=connection_lost, backoff=backoff
            )
        except StartupError:
            raise
        except Exception as error:  # credentials, permissions, a broken schema: not passing
            raise StartupError(f"{where} cannot be used: {error}") from error

    async def _prepare_database(self) -> None:
        """Reach the database, refuse a newer schema, migrate to the code's revision."""
        state = await schema_state(self.core.db.engine)
        if not state.known:
            raise StartupError(
                f"the database is at revision {state.current}, which this faultdesk"
                f" ({version()}, schema {state.head}) does not know: it was written by a newer"
                " version; run that version, or restore a backup taken before the upgrade"
            )
        if not state.behind:
            log.info("database schema up to date (revision %s)", state.current)
            return
        await upgrade_async(self.settings.database_url)
        after = (await schema_status(self.core.db.engine)).current
        log.info(
            "database schema upgraded from revision %s to %s",
            state.current or "none (new database)",
            ", ".join(sorted(after)),
        )

    async def _register_instance(self) -> None:
        await instances.register(
            self.core,
            self.instance_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            version=version(),
            now=datetime.now(UTC),
        )
        self._registered = True

    async def _keep_beating(self) -> None:
        """Refresh this process's heartbeat row until stopped (it tells restore we run), and
        take this instance's share of Telegram's overall rate from the live count."""
        interval = instances.HEARTBEAT.total_seconds()
        while not self._stop_work.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_work.wait(), timeout=interval)
            if self._stop_work.is_set():
                return
            try:
                if not await instances.beat(self.core, self.instance_id, datetime.now(UTC)):
                    await self._register_instance()
                if self.bot.limiter is not None:
                    await share_budget(self.core, self.bot.limiter, datetime.now(UTC))
            except Exception as error:  # the database may be away for a moment; beat again later
                log_failure(log, "instance heartbeat not written", error=error)

    async def _start_webhook(self, runtime: Runtime) -> None:
        url = self.settings.webhook_url
        assert url is not None  # checked by start()
        secret = self.settings.webhook_secret or default_secret(self.settings.bot_token)
        self.webhook = WebhookServer(
            self._feed_webhook,
            path=webhook_path(url),
            secret=secret,
            listen=self.settings.webhook_listen,
            mount=self.web_console.mount if self.web_console is not None else None,
        )
        await self.webhook.start()
        await runtime.start_webhook(url, secret)

    async def _journal(self, batch: list[Incoming]) -> None:
        """Write a batch down and, in the same transaction, enter its chats' lanes.

        Each chat's lane is tried for its first update in the batch (the one its handler
        here runs first); what that gave is kept (`ChatLanes.keep`, renewed while the
        update waits its turn) and gone on with when its handler starts: a transaction
        less per update.
        """
        first: dict[int, int] = {}  # chat -> its first update in the batch
        for incoming in batch:
            first.setdefault(incoming.chat_id, incoming.update_id)
        # (A redelivery of an update whose lane is entered already but not gone on with.)
        first = {chat: update for chat, update in first.items() if not self.lanes.kept(update)}
        entered = await self.bot.conversations.journal_updates(
            [(incoming.update_id, incoming.to_json()) for incoming in batch],
            enter=self.lanes.entry(list(first)),
        )
        for chat_id, lane in entered.items():
            self.lanes.keep(first[chat_id], lane)

    async def _recover(self, runtime: Runtime) -> int:
        """Queue journaled updates nobody is handling (their process died); how many."""
        queued = 0
        for payload in await self.bot.conversations.unfinished_updates():
            try:
                incoming = Incoming.from_json(payload)
            except (KeyError, TypeError, ValueError):
                log.exception("journaled update %s cannot be read", payload.get("update_id"))
                continue
            if runtime.lanes.holds(incoming.update_id):
                continue
            log.warning("update %s was left unhandled; handling it now", incoming.update_id)
            runtime.lanes.submit(incoming)
            queued += 1
        return queued

    async def _keep_recovering(self, runtime: Runtime) -> None:
        """Every `recovery_interval` seconds, pick up what another instance left behind."""
        while not self._stop_work.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop_work.wait(), timeout=self.settings.recovery_interval
                )
            if self._stop_work.is_set():
                return
            try:
                await self._recover(runtime)
            except Exception as error:  # the database may be away for a moment; try next time
                log_failure(
                    log, "looking for unhandled updates failed", error=error, level=logging.ERROR
                )

    async def _feed_webhook(self, data: dict[str, Any]) -> None:
        """A posted update; NotJournaled when it could not be written down (Telegram retries)."""
        assert self.runtime is not None  # the webhook starts after the runtime
        await self.runtime.feed(data)
        update_id = data.get("update_id")
        if update_id in self.runtime.journal_failed:
            self.runtime.journal_failed.discard(update_id)
            raise NotJournaled(f"update {update_id} could not be journaled")

    async def _handle(self, incoming: Incoming) -> None:
        """An update from this instance's lane: handle its chat while holding the chat's lane."""
        runtime = self.runtime
        if runtime is None or runtime.journal is None:
            await self._handle_one(incoming, claimed=False)
            return
        await runtime.flush_journal()  # long polling writes in the background
        if incoming.update_id in runtime.journal_failed:
            runtime.journal_failed.discard(incoming.update_id)
            await self._handle_one(incoming, claimed=False)
            return
        await self.lanes.run(incoming)

    async def _handle_claimed(self, incoming: Incoming, prefetched: Any) -> None:
        await self._handle_one(
            incoming,
            claimed=True,
            prefetched=prefetched if isinstance(prefetched, Prefetched) else None,
        )

    async def _handle_one(
        self, incoming: Incoming, *, claimed: bool, prefetched: Prefetched | None = None
    ) -> None:
        assert self._transport is not None  # updates only arrive once a runtime is open
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = "error"
        try:
            handled = await self.router.handle(
                self.bot, self._transport, incoming, claimed=claimed, prefetched=prefetched
            )
            outcome = "handled" if handled is not None else "duplicate"
        finally:
            self.metrics.update_handled(outcome, loop.time() - started)

    async def _publish_menus(self, transport: Transport) -> None:
        """setMyCommands for the default menu and every language."""
        for menu in self.router.menus(self.bot.i18n):
            try:
                await transport.perform(menu)
            except TransportError as error:  # a stale menu is no reason not to run
                log.warning("commands menu %s not published: %s", menu.language_code, error)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.append(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if self._stopped or task.cancelled():
            return
        error = task.exception()
        log.error("%s stopped unexpectedly", task.get_name(), exc_info=error)
        self._failed.set()

    async def wait_failed(self) -> None:
        """Return when a background worker or the polling loop died (time to stop)."""
        waiters = [asyncio.ensure_future(self._failed.wait())]
        if self.runtime is not None:
            waiters.append(asyncio.ensure_future(self.runtime.failed.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def stop(self) -> None:
        """Stop receiving, finish in-flight updates, stop the workers, release everything."""
        if self._stopped:
            return
        self._stopped = True
        self.health.serving = False
        self.health.stage = "stopping"
        try:
            if self.scheduler is not None:
                await stop_scheduler(self.scheduler)
            if self.webhook is not None:
                await self.webhook.stop()
            if self.web_server is not None:
                await self.web_server.stop()
            if self.runtime is not None:
                await self.runtime.stop()
        finally:
            self._stop_work.set()
            try:
                await self.lanes.close()
                if self._tasks:
                    await asyncio.gather(*self._tasks, return_exceptions=True)
                if self._registered:
                    try:
                        await instances.unregister(self.core, self.instance_id)
                    except Exception:  # its heartbeat goes stale instead
                        log.warning("instance row not removed", exc_info=True)
            finally:
                if self.runtime is not None:
                    await self.runtime.close()
                if self.health_server is not None:
                    await self.health_server.stop()
                await self.core.db.dispose()
        log.info("faultdesk stopped")


def build_application(
    settings: Settings, *, clock: Clock | None = None, policy: Policy | None = None
) -> Application:
    """Wire everything from settings; raises PolicyError for a broken policy file."""
    helpdesk = bootstrap(settings, clock=clock, policy=policy)
    core = helpdesk.core
    bot = BotApp(
        helpdesk=helpdesk,
        conversations=ConversationStore(
            core, bot_id=settings.bot_id(), update_lease=timedelta(seconds=settings.update_lease)
        ),
        codec=CallbackCodec(secret_from_token(settings.bot_token)),
        i18n=I18n(default=settings.default_language),
        admin_telegram_ids=frozenset(settings.admin_ids()),
        bot_username=settings.bot_username.lstrip("@"),
        web_url=settings.web_base(),
        web_login_minutes=settings.web_login_minutes,
    )
    return Application(settings, core, build_router(), bot)
