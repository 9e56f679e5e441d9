"""How the command line speaks: every answer and every error is a translated sentence.

The language is `--lang` (accepted by every command, and before the command), else the
installation's `FAULTDESK_DEFAULT_LANGUAGE`. Anything a person can get wrong (a typo in
a command or option, an unknown site, a bad period or zone, a database that is missing
or behind the code, a file that cannot be read) ends the command with one sentence on
stderr naming what was wrong and what would be right, and exit status 2; never a
traceback, never an internal code.

`SpeakingGroup` is the root command's class: it gives every command `--lang` and wraps
parsing and running in `speaking()`, which words the errors.
"""

from __future__ import annotations

import errno
import html
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from difflib import get_close_matches
from enum import Enum
from functools import lru_cache
from typing import Any, NoReturn

import typer
from babel.lists import format_list
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import SQLAlchemyError
from typer._click import exceptions as click_errors  # typer >= 0.29 vendors click
from typer.core import TyperGroup

from bot.errors import MESSAGES as CHAT_MESSAGES
from bot.i18n import N_, SUPPORTED, Translator, default_i18n
from bot.labels import ASSET_KIND, label
from core.enums import AssetKind
from core.errors import DomainError
from core.sla.policy import PolicyError

EXIT_USAGE = 2  # every error a person can correct
EXIT_BUG = 1  # something faultdesk did wrong
DEBUG_VARIABLE = "FAULTDESK_DEBUG"

_language: ContextVar[str | None] = ContextVar("faultdesk_cli_language", default=None)
_database: ContextVar[str | None] = ContextVar("faultdesk_cli_database", default=None)


class CommandError(Exception):
    """What went wrong, as a message id with parameters, to be worded for the person."""

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def fail(message: str, /, **params: Any) -> NoReturn:
    """Stop the command with this sentence (exit status 2)."""
    raise CommandError(message, **params)


def use_language(lang: str | None) -> None:
    """Speak `lang` from now on (None: the installation's language)."""
    if lang is not None and lang not in SUPPORTED:
        _language.set(None)
        fail(
            N_("{lang} is not a language faultdesk speaks; use {choices}."),
            lang=lang,
            choices=list(SUPPORTED),
        )
    _language.set(lang)


def use_database(url: str) -> None:
    """Remember the database a command works on, for the sentences about it."""
    _database.set(url)


def current_language() -> str:
    """The language chosen with --lang, else FAULTDESK_DEFAULT_LANGUAGE."""
    chosen = _language.get()
    if chosen:
        return chosen
    from bot.settings import Settings

    try:
        configured = Settings().default_language
    except (ValidationError, SettingsError):
        # Another setting is broken (worded by `speaking`); the language may still be right.
        configured = os.environ.get("FAULTDESK_DEFAULT_LANGUAGE", "")
    return configured if configured in SUPPORTED else default_i18n().default


def words() -> Translator:
    """The translator of the current language."""
    return default_i18n().get(current_language())


class Every(tuple[Any, ...]):
    """A list read as "a, b and c" (other lists read as choices: "a, b or c")."""

    __slots__ = ()


def _show(t: Translator, value: Any) -> str:
    """A parameter as a person reads it: lists joined, kinds by name, dates in ISO."""
    if isinstance(value, AssetKind):
        return f"{label(t, ASSET_KIND, value)} ({value.value})"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _show(t, list(value))
    if isinstance(value, Every):
        items = [_show(t, item) for item in value]
        return format_list(items, locale=t.locale) if items else "—"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_show(t, item) for item in value]
        return format_list(items, style="or", locale=t.locale) if items else "—"
    if value is None or value == "":
        return "—"
    return str(value)


def plain(text: str) -> str:
    """A chat message's HTML as plain text for the terminal."""
    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre)>", "", text))


def sentence(message: str, /, **params: Any) -> str:
    """A message in the current language with its parameters filled in, as plain text."""
    t = words()
    return plain(t(message, **{key: _show(t, value) for key, value in params.items()}))


def say(message: str, /, **params: Any) -> None:
    """Print a sentence on stdout."""
    typer.echo(sentence(message, **params))


def warn(message: str, /, **params: Any) -> None:
    """Print a sentence on stderr (the command goes on)."""
    typer.echo(sentence(message, **params), err=True)


# --- domain errors ---------------------------------------------------------------------------

# Sentences for the codes the set-up, report and people commands can meet. Codes the chat
# words well already (bot.errors) are used as they are when not listed here.
DOMAIN_SENTENCES = {
    "not_found": N_("There is no {entity} with id {id}; `faultdesk person list` shows the ids."),
    "conflict": N_("Someone changed this at the same moment; please run the command again."),
    "invalid_input": N_("That value is not valid here."),
    "backup.not_an_engineer": N_("person {person_id} is not an active engineer."),
    "backup.self": N_("An engineer cannot be their own backup."),
    "person.has_open_tickets": N_(
        "person {person_id} still has {count} open ticket(s) assigned; reassign them first (a dispatcher's /queue)."
    ),
    "site.unknown": N_("There is no site {site}; the sites are {choices}."),
    "site.unknown.none": N_(
        "There is no site {site}; no site is registered yet (`faultdesk site add`)."
    ),
    "site.exists": N_("A site with code {site} exists already."),
    "site.bad_code": N_(
        "{site} cannot be a site code: use 1 to {limit} letters, digits or signs, without spaces."
    ),
    "site.bad_name": N_("A site needs a name of 1 to {limit} characters."),
    "site.address_too_long": N_("The address is too long: at most {limit} characters."),
    "site.unknown_region": N_(
        "{region} is not a region of the SLA policy; use {choices} (FAULTDESK_POLICY_FILE can add regions)."
    ),
    "site.unknown_service_hours": N_(
        "{service_hours} is not a service-hours calendar of the SLA policy; use {choices}."
    ),
    "site.unknown_timezone": N_(
        "{timezone} is not a time zone; use an IANA name such as {choices}."
    ),
    "site.half_location": N_("Give both --lat and --lon, or neither to clear the site's location."),
    "site.bad_location": N_(
        "{latitude}, {longitude} is not a point on Earth "
        "(latitude -90 to 90, longitude -180 to 180)."
    ),
    "site.bad_radius": N_(
        "An arrival radius of {radius} m cannot be used: give 10 to 50000 m, "
        "together with --lat and --lon."
    ),
    "site.not_editable": N_("{field} cannot be edited; these can: {choices}."),
    "department.unknown": N_("There is no department {name} at that site; it has {choices}."),
    "department.unknown.none": N_(
        "There is no department {name} at that site; it has none yet (`faultdesk department add`)."
    ),
    "department.exists": N_("The site has a department {name} already."),
    "department.bad_name": N_("A department needs a name of 1 to {limit} characters."),
    "asset.unknown": N_("No device with the tag {tag} is registered."),
    "asset.bad_tag": N_("{tag} cannot be an asset tag: it is empty or has control characters."),
    "asset.tag_too_long": N_(
        "The asset tag {tag} is too long for a sticker link: up to 58 letters and digits, or 14 Chinese characters."
    ),
    "asset.unknown_kind": N_("{text} is not a device type; use {choices}."),
    "asset.bad_date": N_(
        "{text} is not a date; write it like 2027/01/01, 2027-1-1 or 2027年1月1日."
    ),
    "asset.duplicate_tag": N_("A device with the tag {tag} is registered already."),
    "asset.unknown_site": N_("There is no site {site}; the sites are {choices}."),
    "asset.unknown_department": N_(
        "Site {site} has no department {department}; it has {choices} (add it with `faultdesk department add {site} NAME`, or import with --add-departments)."
    ),
    "asset.unknown_site.none": N_(
        "There is no site {site}; no site is registered yet (`faultdesk site add`)."
    ),
    "asset.unknown_department.none": N_(
        "Site {site} has no department {department}; add it with `faultdesk department add {site} NAME`, or import with --add-departments."
    ),
    "asset.field_too_long": N_("{field} is too long: at most {limit} characters."),
    "asset.not_editable": N_("{field} cannot be edited; these can: {choices}."),
    "asset.retired": N_(
        "{tag} belongs to a retired device; bring it back with `faultdesk asset retire {tag} --undo`, or use another tag."
    ),
    "asset.repeated_tag": N_("The tag {tag} repeats line {line}."),
    "asset.registered_differently": N_(
        "{tag} is registered with other values ({changes}); import with --update to change them."
    ),
    "asset.site_required": N_("No site is given: fill the site column or use --site."),
    "text.too_long": N_("That is too long: at most {limit} characters."),
    "inspection.bad_cadence": N_("{cadence} is not a cadence; use monthly or semiannual."),
    "inspection.bad_due_day": N_("The due day must be 1 to 28, not {due_day}."),
    "inspection.duplicate_plan": N_("An inspection plan with code {plan} exists already."),
    "inspection.bad_working_days": N_(
        "The notice and report periods must be at least one working day."
    ),
    "assign.not_an_engineer": N_("Person {person_id} is not an engineer."),
    "invite.max_uses": N_("An invitation is for at least one person."),
    "report.bad_period": N_(
        "{text} is not a period; write a month like 2026-11 or a quarter like 2026-Q4."
    ),
    "sla.unknown_calendar": N_("{name} is not a calendar of the SLA policy; use {known}."),
}


def _changes_text(t: Translator, changes: Sequence[Any]) -> str:
    """'model M720 → M920; department — → Finance'."""
    return "; ".join(
        f"{change.field} {_show(t, change.before)} → {_show(t, change.after)}" for change in changes
    )


def domain_sentence(error: DomainError) -> str:
    """A domain error in the current language."""
    t = words()
    params = dict(error.params)
    if "changes" in params:
        params["changes"] = _changes_text(t, params["changes"])
    message = DOMAIN_SENTENCES.get(error.code) or CHAT_MESSAGES.get(error.code)
    if "choices" in params and not params["choices"]:
        message = DOMAIN_SENTENCES.get(f"{error.code}.none", message)
    if message is None:
        # A code with no sentence yet: say so in words, still without a traceback.
        return sentence(N_("That cannot be done ({problem})."), problem=error.code)
    names = set(re.findall(r"\{(\w+)\}", t(message)))
    return sentence(message, **{name: params.get(name, "?") for name in names})


# --- usage errors --------------------------------------------------------------------------

_NO_COMMAND = re.compile(r"No such command '([^']+)'")
_EXTRA = re.compile(r"unexpected extra arguments? \((.+)\)", re.IGNORECASE)


def _command_path(error: click_errors.UsageError) -> str:
    return error.ctx.command_path if error.ctx is not None else "faultdesk"


def _param_name(param: Any) -> str:
    opts = [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
    if opts:
        return str(opts[0])
    return str(getattr(param, "human_readable_name", None) or getattr(param, "name", "?")).upper()


def usage_sentence(error: click_errors.UsageError) -> str:
    """A mistake on the command line (typo, missing or bad value) in the current language."""
    command = _command_path(error)
    if isinstance(error, click_errors.NoSuchOption):
        if error.possibilities:
            return sentence(
                N_(
                    "`{command}` has no option {option}; did you mean {choices}? See `{command} --help`."
                ),
                command=command,
                option=error.option_name,
                choices=sorted(error.possibilities),
            )
        return sentence(
            N_("`{command}` has no option {option}. See `{command} --help`."),
            command=command,
            option=error.option_name,
        )
    if isinstance(error, click_errors.MissingParameter):
        return sentence(
            N_("`{command}` needs {param}. See `{command} --help`."),
            command=command,
            param=_param_name(error.param) if error.param is not None else "?",
        )
    if isinstance(error, click_errors.BadParameter):
        param = error.param
        expected = getattr(param, "type_name", None) or ""
        value = _given_value(error)
        if "integer" in error.message or expected == "int":
            return sentence(
                N_("{param} takes a whole number, not {value}. See `{command} --help`."),
                param=_param_name(param),
                value=value,
                command=command,
            )
        return sentence(
            N_("{param} does not take {value}. See `{command} --help`."),
            param=_param_name(param),
            value=value,
            command=command,
        )
    if isinstance(error, click_errors.BadOptionUsage):
        return sentence(
            N_("{option} needs a value. See `{command} --help`."),
            option=error.option_name,
            command=command,
        )
    message = error.message
    found = _NO_COMMAND.search(message)
    if found and error.ctx is not None and isinstance(error.ctx.command, TyperGroup):
        commands = error.ctx.command.list_commands(error.ctx)
        close = get_close_matches(found.group(1), commands, n=1)
        if close:
            return sentence(
                N_("`{command}` has no command {name}; did you mean {close}? It has {choices}."),
                command=command,
                name=found.group(1),
                close=close[0],
                choices=commands,
            )
        return sentence(
            N_("`{command}` has no command {name}; it has {choices}."),
            command=command,
            name=found.group(1),
            choices=commands,
        )
    extra = _EXTRA.search(message)
    if extra:
        return sentence(
            N_(
                "`{command}` does not take {extra}; quote a value that has spaces. See `{command} --help`."
            ),
            command=command,
            extra=extra.group(1),
        )
    return sentence(
        N_("The command is not complete or not right. See `{command} --help`."), command=command
    )


def _given_value(error: click_errors.BadParameter) -> str:
    found = re.search(r"'([^']*)'|\"([^\"]*)\"", error.message)
    if found:
        return found.group(1) if found.group(1) is not None else found.group(2)
    return "?"


# --- files and the database --------------------------------------------------------------------

_FILE_REASONS = {
    errno.ENOENT: N_("it does not exist"),
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.EISDIR: N_("it is a folder"),
    errno.ENOTDIR: N_("a part of the path is not a folder"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EROFS: N_("the disk is read-only"),
}


def file_sentence(error: OSError) -> str:
    """A file that could not be read or written."""
    reason = _FILE_REASONS.get(error.errno or 0)
    return sentence(
        N_("The file {file} cannot be used: {reason}."),
        file=error.filename or "?",
        reason=words()(reason) if reason else (error.strerror or str(error)),
    )


def database_sentence(error: SQLAlchemyError) -> str:
    """A database that could not be reached or used."""
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return sentence(
        N_("The database at {where} cannot be used: {reason}."),
        where=_database.get() or "?",
        reason=detail,
    )


# --- wiring ------------------------------------------------------------------------------------


def _stop(text: str) -> NoReturn:
    typer.echo(sentence(N_("Error: {problem}"), problem=text), err=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def speaking() -> Iterator[None]:
    """Word every error a person can cause and stop with exit status 2."""
    try:
        yield
    except (typer.Exit, typer.Abort, click_errors.NoArgsIsHelpError):
        raise
    except CommandError as error:
        _stop(sentence(error.message, **error.params))
    except PolicyError as error:
        _stop(sentence(N_("The SLA policy file is not valid: {problem}"), problem=str(error)))
    except DomainError as error:
        _stop(domain_sentence(error))
    except click_errors.UsageError as error:
        _stop(usage_sentence(error))
    except OSError as error:
        _stop(file_sentence(error))
    except SQLAlchemyError as error:
        _stop(database_sentence(error))
    except (ValidationError, SettingsError) as error:
        if isinstance(error, SettingsError):
            _stop(
                sentence(N_("A FAULTDESK_* setting cannot be read: {reason}."), reason=str(error))
            )
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        _stop(
            sentence(
                N_("The setting FAULTDESK_{name} is not valid: {reason}."),
                name=where.upper() or "?",
                reason=first.get("msg", ""),
            )
        )
    except Exception as error:
        # A bug, not a mistake of the person: still one sentence, the details on request.
        if os.environ.get(DEBUG_VARIABLE):
            raise
        typer.echo(
            sentence(
                N_(
                    "faultdesk failed unexpectedly ({problem}). Nothing was changed; please report this with the command you ran (set {variable}=1 for the details)."
                ),
                problem=f"{type(error).__name__}: {error}",
                variable=DEBUG_VARIABLE,
            ),
            err=True,
        )
        raise typer.Exit(EXIT_BUG) from None


def _set_language(value: str | None) -> None:
    if value is not None:
        use_language(value)


@lru_cache(maxsize=1)
def lang_option() -> Any:
    """`--lang`: the language of a command's answers (eager, so it words parse errors too).

    Built by typer from a declaration, so it is the same kind of option as every other.
    """
    holder = typer.Typer()

    @holder.command()
    def declare(
        lang: str | None = typer.Option(
            None,
            "--lang",
            expose_value=False,
            is_eager=True,
            callback=_set_language,
            help="zh_CN, en or ru (default: FAULTDESK_DEFAULT_LANGUAGE)",
        ),
    ) -> None:
        """Only declares the option."""

    return typer.main.get_command(holder).params[0]


def _give_lang(command: Any) -> None:
    """Add --lang to a command (and every command of a group) that has none of its own."""
    if isinstance(command, TyperGroup) and not isinstance(command, SpeakingGroup):
        for sub in command.commands.values():
            _give_lang(sub)
        return
    if not any(getattr(param, "name", None) == "lang" for param in command.params):
        command.params.append(lang_option())


class SpeakingGroup(TyperGroup):
    """The root command: --lang everywhere, and every error worded (see `speaking`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _give_lang(self)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the root's own options; a mistake there is worded too."""
        # A new command line starts in the installation's language (and database), also
        # when several run in one process (tests).
        _language.set(None)
        _database.set(None)
        with speaking():
            return super().make_context(*args, **kwargs)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The sub-command, with --lang added to it and its own sub-commands."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _give_lang(command)
        return command

    def invoke(self, ctx: Any) -> Any:
        """Run the command; every error a person can cause ends in one sentence."""
        with speaking():
            return super().invoke(ctx)
