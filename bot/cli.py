"""The `faultdesk` command line."""

from __future__ import annotations

import asyncio
import sys

import typer

from bot.settings import Settings

app = typer.Typer(
    help="faultdesk: a Telegram helpdesk for office-equipment faults.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

DatabaseOption = typer.Option(
    None,
    "--database-url",
    "-d",
    help="SQLAlchemy URL (default: FAULTDESK_DATABASE_URL or ./faultdesk.sqlite3)",
)


def _url(database_url: str | None) -> str:
    return database_url or Settings().database_url


@db_app.command("upgrade")
def db_upgrade(database_url: str | None = DatabaseOption, revision: str = "head") -> None:
    """Apply the Alembic migrations."""
    from core.migrate import upgrade

    upgrade(_url(database_url), revision)
    typer.echo(f"database at {revision}")


@audit_app.command("verify")
def audit_verify(database_url: str | None = DatabaseOption) -> None:
    """Walk the audit chain; exit 1 if any event was edited or deleted."""
    from core.audit import verify_chain
    from core.db import Database

    async def _verify() -> int:
        db = Database(_url(database_url))
        try:
            async with db.reading() as session:
                report = await verify_chain(session)
        finally:
            await db.dispose()
        typer.echo(f"events checked: {report.events}")
        typer.echo(f"head: event {report.head_id} {report.head_hash}")
        for problem in report.problems:
            typer.echo(f"PROBLEM: {problem}", err=True)
        typer.echo("audit log intact" if report.ok else "audit log TAMPERED")
        return 0 if report.ok else 1

    raise typer.Exit(asyncio.run(_verify()))


@app.command("run")
def run(database_url: str | None = DatabaseOption) -> None:
    """Migrate the database and run the SLA engine (due-work runner) until interrupted."""
    import logging

    from core.clock import SystemClock
    from core.context import Core
    from core.db import Database
    from core.migrate import upgrade
    from core.services import Helpdesk
    from core.sla.policy import load_policy

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    url = _url(database_url)
    upgrade(url)
    policy = load_policy(settings.policy_file)

    async def _serve() -> None:
        helpdesk = Helpdesk(Core(Database(url), SystemClock(), policy))
        stop = asyncio.Event()
        try:
            await helpdesk.runner().run(stop)
        finally:
            await helpdesk.core.db.dispose()

    typer.echo(f"faultdesk: database {url}; SLA engine running (Ctrl-C stops)")
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        typer.echo("stopped")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="faultdesk")


if __name__ == "__main__":
    sys.exit(main())
