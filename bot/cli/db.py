"""`faultdesk db`: the database schema."""

from __future__ import annotations

import asyncio

import typer
from alembic.util.exc import CommandError as AlembicError

from bot.cli.helpdesk import DatabaseOption, command_settings, shown_url
from bot.cli.speech import fail, say
from bot.i18n import N_
from core.db import Database
from core.migrate import SchemaStatus, known_revisions, schema_status, sqlite_file

app = typer.Typer(help="Database schema.", no_args_is_help=True)


async def _status(url: str) -> SchemaStatus:
    database = Database(url)
    try:
        return await schema_status(database.engine)
    finally:
        await database.dispose()


@app.command("upgrade")
def db_upgrade(database_url: str | None = DatabaseOption, revision: str = "head") -> None:
    """Create the database or bring it to this faultdesk's schema (the Alembic migrations)."""
    from core.migrate import upgrade

    url = command_settings(database_url).database_url
    where = shown_url(url)
    path = sqlite_file(url)
    created = path is not None and not path.exists()
    before = frozenset[str]() if created else asyncio.run(_status(url)).current
    if before and before - known_revisions():
        fail(
            N_(
                "The database at {where} was made by a newer faultdesk (revision {revision}); update faultdesk first."
            ),
            where=where,
            revision=sorted(before),
        )
    try:
        upgrade(url, revision)
    except AlembicError as error:
        fail(
            N_("{revision} is not a revision of this faultdesk ({problem})."),
            revision=revision,
            problem=str(error),
        )
    after = asyncio.run(_status(url)).current
    if created or not before:
        say(
            N_("Created the database at {where} (revision {revision})."),
            where=where,
            revision=sorted(after),
        )
    elif before == after:
        say(
            N_("The database at {where} is up to date (revision {revision})."),
            where=where,
            revision=sorted(after),
        )
    else:
        say(
            N_("Upgraded the database at {where} from revision {before} to {after}."),
            where=where,
            before=sorted(before),
            after=sorted(after),
        )


@app.command("current")
def db_current(database_url: str | None = DatabaseOption) -> None:
    """Print the database's migration revision and whether it is behind the code.

    Exit 0 when up to date, 1 when behind (`faultdesk db upgrade` brings it up), 2 when
    the database cannot be read or was written by a newer faultdesk.
    """
    from bot.backup import sqlite_path
    from bot.network import hide_password
    from core.db import Database
    from core.migrate import schema_state

    settings = command_settings(database_url)
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        typer.echo(f"faultdesk db current: there is no database at {path}", err=True)
        raise typer.Exit(2)

    async def read() -> int:
        database = Database(settings.database_url)
        try:
            state = await schema_state(database.engine)
        except Exception as error:  # unreachable, refused, not a database
            where = hide_password(settings.database_url)
            typer.echo(f"faultdesk db current: cannot read {where}: {error}", err=True)
            return 2
        finally:
            await database.dispose()
        typer.echo(f"database revision: {state.current or 'none (never migrated)'}")
        typer.echo(f"code revision:     {state.head}")
        if state.up_to_date:
            typer.echo("up to date")
            return 0
        if not state.known:
            typer.echo("AHEAD: a newer faultdesk migrated this database; run that version")
            return 2
        typer.echo("BEHIND: run `faultdesk backup --out FILE`, then `faultdesk db upgrade`")
        return 1

    raise typer.Exit(asyncio.run(read()))


def register(main: typer.Typer) -> None:
    """Add `db` to the main command line."""
    main.add_typer(app, name="db")
