"""The `faultdesk` command line: the typer app, one module per command group.

- `run`: run the bot; the offline demo.
- `db`: the database schema.
- `audit`: the hash-chained audit log.
- `backup`: `backup` and `restore` of the database.
- `report`: a monthly summary or a quarterly scorecard, as text, CSV or XLSX.
- `setup`: sites, departments, invites, inspection plans, people.
- `assets`: the asset register: import, export, edit, sticker labels (`asset_files` reads
  and writes register files).
- `replacement`: engineer replacement requests (000 §4, 002).
- `helpdesk`: the database a command names and the helpdesk over it (`bot.bootstrap`).
- `speech`: how every command words its answers and errors (`--lang`); `telegram`: the
  bot's username for the links it prints.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError

from bot.cli import assets, audit, backup, db, replacement, report, run, setup
from bot.cli.speech import SpeakingGroup

app = typer.Typer(
    cls=SpeakingGroup,
    help="faultdesk: a Telegram helpdesk for office-equipment faults.",
    no_args_is_help=True,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from bot.version import version

        typer.echo(f"faultdesk {version()}")
        raise typer.Exit()


@app.callback()
def _main_options(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="print faultdesk's version and exit",
    ),
) -> None:
    """faultdesk: a Telegram helpdesk for office-equipment faults."""


db.register(app)
audit.register(app)
setup.register(app)
assets.register(app)
report.register(app)
backup.register(app)
replacement.register(app)
run.register(app)


def explain_settings(error: ValidationError) -> str:
    """A bad FAULTDESK_* setting as one line per problem (no traceback, no values)."""
    lines = []
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"faultdesk: FAULTDESK_{name}: {problem['msg']}")
    return "\n".join(lines)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="faultdesk")
    except ValidationError as error:  # a setting from the environment or .env
        typer.echo(explain_settings(error), err=True)
        raise SystemExit(2) from None
