"""`faultdesk run` and `faultdesk demo`: the bot against Telegram, or a working day offline."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import typer

from bot.cli.helpdesk import DatabaseOption
from bot.cli.speech import fail
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
    _configure_logging()
    raise typer.Exit(asyncio.run(_serve_reporting(settings)))


def _configure_logging() -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per HTTP request and per update is noise at INFO.
    for noisy in ("httpx", "aiogram.event", "telegram.ext", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run_demo(runtime: str, speed: float | None = None, *, keep_database: bool = False) -> int:
    """The offline demo (demo.day), imported only when it is wanted; its exit code."""
    from demo import day

    return day.main(
        runtime=runtime,
        speed=day.DEFAULT_SPEED if speed is None else speed,
        keep_database=keep_database,
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
    raise typer.Exit(_run_demo(runtime, speed, keep_database=keep_database))


async def _serve_reporting(settings: Settings) -> int:
    """`serve`, with start-up problems as one clear line and an exit code."""
    from bot.cli.speech import sentence
    from bot.runtimes import StartupError
    from core.sla.policy import PolicyError

    try:
        await serve(settings)
    except PolicyError as error:
        typer.echo(
            sentence(N_("faultdesk: the SLA policy is not valid:\n{problem}"), problem=str(error)),
            err=True,
        )
        return 2
    except StartupError as error:
        typer.echo(sentence(N_("faultdesk: cannot start: {problem}"), problem=str(error)), err=True)
        return 1
    return 0


async def serve(settings: Settings, *, runtime: str | None = None) -> None:
    """Build and start the application, run until SIGINT/SIGTERM (or a worker dies), stop cleanly."""
    import signal

    from bot.app import build_application

    application = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or on Windows; Ctrl-C then ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await application.start(runtime)
        typer.echo(
            f"faultdesk: @{application.bot.bot_username} running on"
            f" {runtime or settings.runtime}; database {settings.database_url} (Ctrl-C stops)"
        )
        stopper = asyncio.ensure_future(stop.wait())
        failure = asyncio.ensure_future(application.wait_failed())
        await asyncio.wait({stopper, failure}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        failure.cancel()
    finally:
        await application.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    typer.echo("faultdesk: stopped")


def register(main: typer.Typer) -> None:
    """Add `run` and `demo` to the main command line."""
    main.command("run")(run)
    main.command("demo")(demo_command)
