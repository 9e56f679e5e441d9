"""`faultdesk db`: the database schema."""

from __future__ import annotations

import typer

from bot.cli.helpdesk import DatabaseOption, command_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(database_url: str | None = DatabaseOption, revision: str = "head") -> None:
    """Apply the Alembic migrations."""
    from core.migrate import upgrade

    upgrade(command_settings(database_url).database_url, revision)
    typer.echo(f"database at {revision}")


def register(main: typer.Typer) -> None:
    """Add `db` to the main command line."""
    main.add_typer(app, name="db")
