"""`faultdesk replacement`: engineer replacement requests (000 §4, 002) from the command line.

    faultdesk replacement request 7 --by 12 --reason "Rude to staff"   # manager 12 asks
    faultdesk replacement list [--site HQ] [--open]
    faultdesk replacement done 3 --by 12 [--successor 9]               # replaced, handed over
    faultdesk replacement withdraw 3 --by 12                           # before the deadline

`--by` names the manager or admin acting (recorded in the audit log). Answers and
errors are worded in `--lang` (default FAULTDESK_DEFAULT_LANGUAGE); a refused command
exits 1 and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import typer

from bot.cli.helpdesk import DatabaseOption, command_settings, open_helpdesk
from bot.dialogs.replace import request_text
from bot.errors import error_text
from bot.i18n import SUPPORTED, Translator, default_i18n
from bot.rendering.wording import plain
from core.clock import DEFAULT_TIMEZONE
from core.errors import DomainError
from core.migrate import upgrade
from core.replacements import ReplacementView
from core.reports.sites import find_site
from core.services import Helpdesk

T = TypeVar("T")

app = typer.Typer(
    help="Engineer replacement requests (000 §4; 002: ten working days).", no_args_is_help=True
)
LangOption = typer.Option(None, "--lang", help="zh_CN, en or ru (default: the installation's)")


class _Words:
    """Translations and moments for the command line's answers."""

    def __init__(self, t: Translator, tz: str) -> None:
        self.t = t
        self.tz = tz

    def _(self, message: str, /, **params: Any) -> str:
        return self.t(message, **params)

    def when(self, moment: datetime | None) -> str:
        return "—" if moment is None else self.t.moment(moment, self.tz)


def _words(lang: str | None, view_tz: str = DEFAULT_TIMEZONE) -> _Words:
    chosen = lang or command_settings(None).default_language
    if chosen not in SUPPORTED:
        typer.echo(f"--lang: use one of {', '.join(SUPPORTED)}", err=True)
        raise typer.Exit(2)
    return _Words(default_i18n().get(chosen), view_tz)


def _run(database_url: str | None, words: _Words, work: Callable[[Helpdesk], Awaitable[T]]) -> T:
    """Migrate, run `work` on the helpdesk; a refused command says why and exits 1."""
    settings = command_settings(database_url)
    upgrade(settings.database_url)

    async def _go() -> T:
        async with open_helpdesk(settings) as helpdesk:
            return await work(helpdesk)

    try:
        return asyncio.run(_go())
    except DomainError as error:
        typer.echo(f"{error_text(words.t, error)} ({error.code})", err=True)
        raise typer.Exit(1) from error


def _show(words: _Words, view: ReplacementView) -> str:
    return plain(request_text(_Words(words.t, view.timezone), view))


@app.command("request")
def request_command(
    engineer: int = typer.Argument(..., help="the engineer's person id (faultdesk person list)"),
    by: int = typer.Option(..., "--by", help="the manager or admin asking (person id)"),
    reason: str = typer.Option(..., "--reason", help="why the engineer must be replaced"),
    lang: str | None = LangOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """File a request: due at the end of the tenth working day."""
    words = _words(lang)

    async def work(helpdesk: Helpdesk) -> ReplacementView:
        return await helpdesk.replacements.request(engineer_id=engineer, reason=reason, actor_id=by)

    view = _run(database_url, words, work)
    typer.echo(plain(words._("✅ Replacement request #{id} filed.", id=view.id)))
    typer.echo(_show(words, view))


@app.command("done")
def done_command(
    request: int = typer.Argument(..., help="the request's number"),
    by: int = typer.Option(..., "--by", help="the manager or admin recording it (person id)"),
    successor: int | None = typer.Option(
        None, "--successor", help="the engineer taking over (default: the least loaded)"
    ),
    lang: str | None = LangOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Record the replacement: hand the engineer's open work over, then deactivate them."""
    words = _words(lang)

    async def work(helpdesk: Helpdesk) -> ReplacementView:
        return await helpdesk.replacements.complete(request, actor_id=by, successor_id=successor)

    view = _run(database_url, words, work)
    typer.echo(_show(words, view))
    typer.echo(
        plain(
            words._(
                "✅ Handed over: {tickets} ticket(s), {plans} inspection plan(s) and round(s).",
                tickets=view.tickets_handed_over,
                plans=view.plans_handed_over,
            )
        )
    )


@app.command("withdraw")
def withdraw_command(
    request: int = typer.Argument(..., help="the request's number"),
    by: int = typer.Option(..., "--by", help="the manager or admin withdrawing it (person id)"),
    lang: str | None = LangOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Withdraw a request before its deadline."""
    words = _words(lang)

    async def work(helpdesk: Helpdesk) -> ReplacementView:
        return await helpdesk.replacements.withdraw(request, actor_id=by)

    typer.echo(_show(words, _run(database_url, words, work)))


@app.command("list")
def list_command(
    site: str | None = typer.Option(None, "--site", help="one site's code"),
    open_only: bool = typer.Option(False, "--open", help="only open requests"),
    lang: str | None = LangOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """The requests, newest first."""
    words = _words(lang)

    async def work(helpdesk: Helpdesk) -> list[ReplacementView]:
        site_id = (await find_site(helpdesk.core, site)).id if site else None
        return await helpdesk.replacements.listing(site_id=site_id, open_only=open_only)

    views = _run(database_url, words, work)
    if not views:
        typer.echo(words._("No replacement requests."))
    for view in views:
        typer.echo(_show(words, view))


def register(main: typer.Typer) -> None:
    """Add `replacement` to the main command line."""
    main.add_typer(app, name="replacement")
