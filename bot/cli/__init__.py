"""The `faultdesk` command line: the typer app, one module per command group.

- `run`: run the bot; the offline demo.
- `db`: the database schema.
- `audit`: the hash-chained audit log.
- `report`: a monthly summary or a quarterly scorecard, as text, CSV or XLSX.
- `setup`: sites, departments, invites, inspection plans, people.
- `assets`: the asset register: import, export, edit, sticker labels (`asset_files` reads
  and writes register files).
- `helpdesk`: the database a command names and the helpdesk over it (`bot.bootstrap`).
- `speech`: how every command words its answers and errors (`--lang`); `telegram`: the
  bot's username for the links it prints.
"""

from __future__ import annotations

import typer

from bot.cli import assets, audit, db, report, run, setup
from bot.cli.speech import SpeakingGroup

app = typer.Typer(
    cls=SpeakingGroup,
    help="faultdesk: a Telegram helpdesk for office-equipment faults.",
    no_args_is_help=True,
)
db.register(app)
audit.register(app)
setup.register(app)
assets.register(app)
report.register(app)
run.register(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="faultdesk")
