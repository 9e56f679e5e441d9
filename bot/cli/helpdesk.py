"""The database a command names and the helpdesk over it.

Every command that needs the helpdesk builds it here, with `bot.bootstrap.bootstrap` on
the wall clock: the command line is where time enters. Only `faultdesk db upgrade` makes
or changes a schema; every other command finds the database as the migrations left it,
and otherwise says what to do (and leaves no empty file behind).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.bootstrap import bootstrap
from bot.cli.speech import fail, use_database
from bot.i18n import N_
from bot.settings import Settings
from core.clock import SystemClock
from core.db import normalize_url
from core.migrate import SchemaStatus, schema_status, sqlite_file
from core.services import Helpdesk

T = TypeVar("T")

DATABASE_HELP = "SQLAlchemy URL (default: FAULTDESK_DATABASE_URL or ./faultdesk.sqlite3)"


def database_option(help_text: str = DATABASE_HELP) -> Any:
    """The `--database-url`/`-d` option of a command."""
    return typer.Option(None, "--database-url", "-d", help=help_text)


DatabaseOption = database_option()


def shown_url(url: str) -> str:
    """A database URL as a person reads it: the file of SQLite, no password otherwise."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def command_settings(database_url: str | None) -> Settings:
    """The operator's settings, on the database the command names when it names one."""
    # A URL given here is validated like the environment's.
    settings = Settings(database_url=database_url) if database_url else Settings()
    try:
        normalize_url(settings.database_url)
    except (ArgumentError, ValueError):
        fail(
            N_(
                "{url} is not a database URL faultdesk can use; write sqlite:///path/to/file.sqlite3 or postgresql://user@host/database."
            ),
            url=settings.database_url,
        )
    use_database(shown_url(settings.database_url))
    return settings


def check_schema(status: SchemaStatus, url: str) -> None:
    """Stop the command unless the database is at this code's migrations."""
    where = shown_url(url)
    if status.up_to_date:
        return
    if status.empty:
        fail(
            N_("The database at {where} is empty; create its tables with `faultdesk db upgrade`."),
            where=where,
        )
    if status.newer:
        fail(
            N_(
                "The database at {where} was made by a newer faultdesk (revision {revision}); update faultdesk first."
            ),
            where=where,
            revision=sorted(status.current),
        )
    if not status.current:
        fail(
            N_(
                "{where} holds a database that faultdesk did not make; point FAULTDESK_DATABASE_URL or --database-url at yours."
            ),
            where=where,
        )
    fail(
        N_(
            "The database at {where} is behind this faultdesk (revision {revision}, the code is at {head}); run `faultdesk db upgrade` first."
        ),
        where=where,
        revision=sorted(status.current),
        head=sorted(status.heads),
    )


@asynccontextmanager
async def open_helpdesk(settings: Settings) -> AsyncIterator[Helpdesk]:
    """The helpdesk over the settings' database, its connections closed afterwards.

    The database must exist at the code's migrations (a SQLite file that is not there is
    not created). The operator's policy file is loaded as `faultdesk run` loads it
    (calendars decide due dates); a broken one raises PolicyError.
    """
    url = settings.database_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        fail(
            N_(
                "There is no faultdesk database at {where}. Create it with `faultdesk db upgrade`, or point FAULTDESK_DATABASE_URL or --database-url at yours."
            ),
            where=shown_url(url),
        )
    helpdesk = bootstrap(settings, clock=SystemClock())
    try:
        check_schema(await schema_status(helpdesk.core.db.engine), url)
        yield helpdesk
    finally:
        await helpdesk.core.db.dispose()


def run_helpdesk(database_url: str | None, work: Callable[[Helpdesk], Awaitable[T]]) -> T:
    """Open the helpdesk on the command's database, run `work`, close it again."""
    settings = command_settings(database_url)

    async def go() -> T:
        async with open_helpdesk(settings) as helpdesk:
            return await work(helpdesk)

    return asyncio.run(go())
