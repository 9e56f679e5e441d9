"""`faultdesk backup` and `faultdesk restore`: copies of the database, safe while the bot runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from bot.cli.helpdesk import DatabaseOption, command_settings


def backup_command(
    out: Path = typer.Option(..., "--out", "-o", help="the file to write (replaced if it exists)"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Copy the database to a file, consistently, even while the bot runs.

    SQLite: the online backup API; PostgreSQL: pg_dump in its custom format.
    """
    from bot.backup import BackupError, backup
    from bot.logs import Redactor

    settings = command_settings(database_url)
    try:
        result = backup(settings.database_url, out)
    except BackupError as error:
        redact = Redactor(settings.secrets())
        typer.echo(f"faultdesk backup: {redact(str(error))}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"backup written: {result.path} ({result.size} bytes; {result.detail})")


def restore_command(
    backup_file: Path = typer.Option(..., "--from", help="a file `faultdesk backup` wrote"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Replace a SQLite database with a backup (never one a running bot holds).

    The database it replaces is kept beside it. For PostgreSQL use pg_restore.
    """
    from bot.backup import BackupError, restore_sqlite
    from bot.logs import Redactor

    settings = command_settings(database_url)
    try:
        result = asyncio.run(restore_sqlite(backup_file, settings.database_url))
    except BackupError as error:
        redact = Redactor(settings.secrets())
        typer.echo(f"faultdesk restore: {redact(str(error))}", err=True)
        raise typer.Exit(1) from error
    if result.kept is not None:
        typer.echo(f"the database it replaced is kept as {result.kept}")
    typer.echo(f"restored {backup_file} into {result.target} (revision {result.revision})")
    typer.echo("next: faultdesk audit verify, then faultdesk db upgrade if it is behind")


def register(main: typer.Typer) -> None:
    """Add `backup` and `restore` to the main command line."""
    main.command("backup")(backup_command)
    main.command("restore")(restore_command)
