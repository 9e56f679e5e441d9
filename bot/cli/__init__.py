"""The `faultdesk` command line: the typer app, one module per command group.

- `run`: run the bot; the offline demo.
- `db`: the database schema.
- `audit`: the hash-chained audit log.
- `report`: a monthly summary or a quarterly scorecard, as text, CSV or XLSX.
- `setup`: sites, departments, invites, assets, inspection plans, people.
- `replacement`: engineer replacement requests (000 §4, 002).
- `helpdesk`: the database a command names and the helpdesk over it (`bot.bootstrap`).
"""

from __future__ import annotations

import typer

from bot.cli import audit, db, replacement, report, run, setup

app = typer.Typer(
    help="faultdesk: a Telegram helpdesk for office-equipment faults.", no_args_is_help=True
)
db.register(app)
audit.register(app)
setup.register(app)
report.register(app)
replacement.register(app)
run.register(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="faultdesk")
