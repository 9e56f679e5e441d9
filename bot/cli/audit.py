"""`faultdesk audit`: the hash-chained audit log."""

from __future__ import annotations

import asyncio

import typer

from bot.cli.helpdesk import DatabaseOption, command_settings, open_helpdesk
from bot.cli.speech import fail
from bot.i18n import N_

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def audit_verify(
    anchor: list[str] = typer.Option(
        [],
        "--anchor",
        help="EVENT:HASH as printed in a monthly summary (repeatable); catches a rewritten log",
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Walk the audit chain; exit 1 if any event was edited or deleted."""
    from core.audit import parse_anchor, verify_chain

    anchors: dict[int, str] = {}
    for text in anchor:
        try:
            event_id, prefix = parse_anchor(text)
        except ValueError:
            fail(
                N_(
                    "--anchor expected EVENT:HASH as a monthly summary prints it (e.g. 1234:5f3a9c0e1b2d4f60), not {value}."
                ),
                value=text,
            )
        anchors[event_id] = prefix

    settings = command_settings(database_url)

    async def _verify() -> int:
        async with open_helpdesk(settings) as helpdesk, helpdesk.core.reading() as session:
            report = await verify_chain(session, anchors=anchors)
        typer.echo(f"events checked: {report.events}")
        typer.echo(f"head: event {report.head_id} {report.head_hash}")
        for problem in report.problems:
            typer.echo(f"PROBLEM: {problem}", err=True)
        typer.echo("audit log intact" if report.ok else "audit log TAMPERED")
        return 0 if report.ok else 1

    raise typer.Exit(asyncio.run(_verify()))


def register(main: typer.Typer) -> None:
    """Add `audit` to the main command line."""
    main.add_typer(app, name="audit")
