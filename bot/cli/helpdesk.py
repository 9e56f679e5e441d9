"""The database a command works on, and the helpdesk over it.

Every command that needs the helpdesk builds it here, with `bot.bootstrap.bootstrap` on
the wall clock: the command line is where time enters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import typer

from bot.bootstrap import bootstrap
from bot.settings import Settings
from core.clock import SystemClock
from core.services import Helpdesk

DATABASE_HELP = "SQLAlchemy URL (default: FAULTDESK_DATABASE_URL or ./faultdesk.sqlite3)"


def database_option(help_text: str = DATABASE_HELP) -> Any:
    """The `--database-url`/`-d` option of a command."""
    return typer.Option(None, "--database-url", "-d", help=help_text)


DatabaseOption = database_option()


def command_settings(database_url: str | None) -> Settings:
    """The operator's settings, on the database the command names when it names one."""
    if not database_url:
        return Settings()
    return Settings(database_url=database_url)  # validated like the environment's


@asynccontextmanager
async def open_helpdesk(settings: Settings) -> AsyncIterator[Helpdesk]:
    """The helpdesk over the settings' database, its connections closed afterwards.

    The operator's policy file is loaded as `faultdesk run` loads it (calendars decide
    due dates); a broken one raises PolicyError.
    """
    helpdesk = bootstrap(settings, clock=SystemClock())
    try:
        yield helpdesk
    finally:
        await helpdesk.core.db.dispose()
