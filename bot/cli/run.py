"""`faultdesk run` and `faultdesk demo`: the bot against Telegram, or a working day offline."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import typer

from bot.cli.helpdesk import DatabaseOption
from bot.cli.speech import fail, sentence
from bot.i18n import N_
from bot.settings import Settings

RUNTIME_HELP = "aiogram (default) or ptb; both behave the same"


def run(
    runtime: str | None = typer.Option(None, "--runtime", "-r", help=RUNTIME_HELP),
    webhook: str | None = typer.Option(
        None, "--webhook", help="public HTTPS URL for Telegram's webhook (default: long polling)"
    ),
    webhook_secret: str | None = typer.Option(
        None, "--webhook-secret", help="secret Telegram sends back with every update"
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Run the bot: Telegram updates, the SLA engine and the outbox sender, until interrupted.

    Needs FAULTDESK_BOT_TOKEN (from @BotFather); `faultdesk demo` plays the offline demo.
    """
    from bot.runtimes import RUNTIMES

    overrides: dict[str, Any] = {
        "runtime": runtime,
        "webhook_url": webhook,
        "webhook_secret": webhook_secret,
        "database_url": database_url,
    }
    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    if settings.runtime not in RUNTIMES:
        fail(
            N_("{runtime} is not a runtime; use {choices}."),
            runtime=settings.runtime,
            choices=list(RUNTIMES),
        )
    if not settings.bot_token:
        # A service whose environment file went missing must fail, not "succeed" offline.
        fail(
            N_(
                "FAULTDESK_BOT_TOKEN is not set, so there is no bot to run. Put the token @BotFather gave you in the environment or in .env; to try faultdesk offline, run `faultdesk demo`."
            )
        )
    if not settings.token_is_well_formed():
        # Said before anything heavy is imported: a typo is known in a second.
        _cannot_start(
            sentence(N_("the bot token is malformed: @BotFather gives it as <digits>:<secret>"))
        )
        _check_token()
        raise typer.Exit(1)
    from bot.logs import configure_logging

    configure_logging(settings)
    raise typer.Exit(asyncio.run(_serve_reporting(settings)))


def _run_demo(
    runtime: str, speed: float | None = None, *, keep_database: bool = False, serve: bool = False
) -> int:
    """The offline demo (demo.day), imported only when it is wanted; its exit code."""
    from demo import day

    return day.main(
        runtime=runtime,
        speed=day.DEFAULT_SPEED if speed is None else speed,
        keep_database=keep_database,
        serve=serve,
    )


def demo_command(
    runtime: str = typer.Option("aiogram", "--runtime", "-r", help=RUNTIME_HELP),
    speed: float | None = typer.Option(
        None,
        "--speed",
        min=1.0,
        help="demo seconds per real second (default 60; idle stretches are skipped anyway)",
    ),
    keep_database: bool = typer.Option(
        False,
        "--keep-database",
        help="write ./faultdesk-demo.sqlite3 (recreated each run) instead of a temporary file",
    ),
    serve: bool = typer.Option(
        False,
        "--serve",
        help="after the day, keep the bot and its web console running until Ctrl-C",
    ),
) -> None:
    """Play a working day offline: a local Telegram emulator, simulated people, the real bot.

    Prints every person's chat and a summary; exit code 0 when all went as expected.
    """
    from bot.runtimes import RUNTIMES

    if runtime not in RUNTIMES:
        fail(
            N_("{runtime} is not a runtime; use {choices}."),
            runtime=runtime,
            choices=list(RUNTIMES),
        )
    raise typer.Exit(_run_demo(runtime, speed, keep_database=keep_database, serve=serve))


def _cannot_start(problem: str) -> None:
    typer.echo(sentence(N_("faultdesk: cannot start: {problem}"), problem=problem), err=True)


def _check_token() -> None:
    typer.echo(
        sentence(N_("faultdesk: check FAULTDESK_BOT_TOKEN (a new one comes from @BotFather)")),
        err=True,
    )


async def _serve_reporting(settings: Settings) -> int:
    """`serve`, with start-up problems as one clear line and an exit code.

    2: the configuration is wrong (policy file, proxy, malformed token); 1: the bot
    cannot start for another reason (Telegram refused the token, a newer database...).
    """
    from bot.logs import Redactor
    from bot.network import ProxyError
    from bot.runtimes import StartupError, TokenRejected
    from core.sla.policy import PolicyError

    redact = Redactor(settings.secrets())
    try:
        await serve(settings)
    except PolicyError as error:
        typer.echo(
            sentence(
                N_("faultdesk: the SLA policy is not valid:\n{problem}"),
                problem=redact(str(error)),
            ),
            err=True,
        )
        return 2
    except ProxyError as error:
        typer.echo(
            sentence(
                N_("faultdesk: FAULTDESK_PROXY is not usable: {problem}"),
                problem=redact(str(error)),
            ),
            err=True,
        )
        return 2
    except TokenRejected as error:
        _cannot_start(redact(str(error)))
        _check_token()
        return 1
    except StartupError as error:
        _cannot_start(redact(str(error)))
        return 1
    return 0


async def serve(settings: Settings, *, runtime: str | None = None) -> None:
    """Build and start the application, run until SIGINT/SIGTERM (or a worker dies), stop cleanly."""
    import signal

    from bot.app import build_application
    from bot.network import hide_password

    application = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or on Windows; Ctrl-C then ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        # Start-up may wait a long time for the Bot API or the database: a signal
        # meanwhile ends it at once.
        starting = asyncio.ensure_future(application.start(runtime))
        await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            typer.echo("faultdesk: stopped before it was serving")
            return
        starting.result()  # raises what start-up raised
        tune_collector()
        typer.echo(
            f"faultdesk: @{application.bot.bot_username} running on"
            f" {runtime or settings.runtime}; database {hide_password(settings.database_url)}"
            " (Ctrl-C stops)"
        )
        failure = asyncio.ensure_future(application.wait_failed())
        await asyncio.wait({stopper, failure}, return_when=asyncio.FIRST_COMPLETED)
        failure.cancel()
    finally:
        stopper.cancel()
        await application.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    typer.echo("faultdesk: stopped")


# Allocations between two young-generation collections (CPython's default is 700): an
# update allocates thousands of short-lived objects, and every collection of the older
# generations used to walk the whole heap start-up built.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """Once serving: park what start-up built where the collector no longer walks it.

    Modules, types, the ORM's mappers and the frameworks' models live as long as the
    process; with `gc.freeze` they leave the generations the cyclic collector scans, and
    young collections come less often. Reference counting still frees everything as
    before; only cycles wait a little longer. About 2 ms of CPU less per update on the
    chat bench (`benchmarks.chat_bench`).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def register(main: typer.Typer) -> None:
    """Add `run` and `demo` to the main command line."""
    main.command("run")(run)
    main.command("demo")(demo_command)
