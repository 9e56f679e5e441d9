"""The SLA policy: targets per clock × severity × region × service hours, from a TOML file.

The file is validated completely at load time, and every problem is reported with the
line it comes from, so a broken policy never reaches a running helpdesk.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from core.errors import InvalidInput
from core.sla.calendar import (
    STANDARD_CALENDARS,
    BusinessCalendar,
    CountryHolidays,
    HolidaySource,
    NoHolidays,
    WorkingHours,
)
from core.sla.durations import parse_duration

__all__ = [
    "SEVERITIES",
    "ClockKind",
    "EscalationAction",
    "LadderStep",
    "PauseReason",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "Target",
    "load_policy",
    "parse_policy",
]

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4)
DEFAULT_POLICY_RESOURCE = "default_policy.toml"


class ClockKind(StrEnum):
    """The service-level clocks a ticket runs against."""

    ACKNOWLEDGE = "acknowledge"
    ARRIVAL = "arrival"
    RESTORE = "restore"
    RESOLVE = "resolve"


class EscalationAction(StrEnum):
    """What an escalation ladder step does."""

    REMIND_ASSIGNEE = "remind_assignee"
    PAGE_ASSIGNEE = "page_assignee"
    PAGE_BACKUP = "page_backup"
    PAGE_DISPATCHERS = "page_dispatchers"
    PAGE_MANAGERS = "page_managers"
    RAISE_SEVERITY = "raise_severity"
    NOTIFY_REPORTER = "notify_reporter"


class PauseReason(StrEnum):
    """Why a ticket's clocks may be paused."""

    REPORTER = "reporter"
    PARTS = "parts"
    VENDOR = "vendor"


@dataclass(frozen=True)
class Target:
    """A deadline: `within` of business time counted in the calendar `measure_in`."""

    within: timedelta
    measure_in: str


@dataclass(frozen=True)
class LadderStep:
    """An escalation step fired when `at` (a fraction) of the target has elapsed."""

    at: float
    actions: tuple[EscalationAction, ...]


# --------------------------------------------------------------------------------------
# Errors with line numbers


@dataclass(frozen=True)
class PolicyProblem:
    """One problem in a policy file: where it is and what is wrong."""

    line: int | None
    location: str
    message: str

    def render(self, source: str) -> str:
        """The problem as "<source>: line N: <location>: <message>"."""
        parts = [source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.location:
            parts.append(self.location)
        parts.append(self.message)
        return ": ".join(parts)


class PolicyError(InvalidInput):
    """The policy file is not valid; `str()` names the file, line and key at fault."""

    code = "policy.invalid"

    def __init__(self, source: str, problems: Sequence[PolicyProblem]) -> None:
        if not problems:
            raise ValueError("a PolicyError needs at least one problem")
        first = problems[0]
        super().__init__(
            source=source, line=first.line, location=first.location, message=first.message
        )
        self.source = source
        self.problems = tuple(problems)
        self.line = first.line
        self._text = first.render(source)

    def __str__(self) -> str:
        return self._text


# --------------------------------------------------------------------------------------
# Mapping a key path such as ("targets", 3, "within") back to a line of the TOML text

KeyPath = tuple[str | int, ...]

_BARE_KEY = r"[A-Za-z0-9_-]+"
_BASIC_KEY = r'"(?:[^"\\]|\\.)*"'
_LITERAL_KEY = r"'[^']*'"
_SIMPLE_KEY = f"(?:{_BARE_KEY}|{_BASIC_KEY}|{_LITERAL_KEY})"
_DOTTED_KEY = rf"{_SIMPLE_KEY}(?:\s*\.\s*{_SIMPLE_KEY})*"
_KEY_LINE = re.compile(rf"\s*(?P<key>{_DOTTED_KEY})\s*=")
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*(?P<key>{_DOTTED_KEY})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*(?P<key>{_DOTTED_KEY})\s*\]")
_KEY_PART = re.compile(_SIMPLE_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    """("a", "b c") from 'a."b c"'."""
    parts: list[str] = []
    for match in _KEY_PART.finditer(dotted):
        token = match.group(0)
        if token.startswith('"'):
            try:
                parts.append(cast(str, json.loads(token)))
            except ValueError:
                parts.append(token[1:-1])
        elif token.startswith("'"):
            parts.append(token[1:-1])
        else:
            parts.append(token)
    return tuple(parts)


def _scan_value(text: str, depth: int, pending: str | None) -> tuple[int, str | None]:
    """Track bracket depth and open multi-line strings across a line of a TOML value."""
    i, n = 0, len(text)
    while i < n:
        if pending is not None:
            close = text.find(pending, i)
            if close < 0:
                return depth, pending
            i, pending = close + 3, None
            continue
        char = text[i]
        if char == "#":
            break
        if text.startswith('"""', i) or text.startswith("'''", i):
            pending, i = text[i : i + 3], i + 3
            continue
        if char in "\"'":
            i += 1
            while i < n and text[i] != char:
                i += 2 if char == '"' and text[i] == "\\" else 1
            i += 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    return depth, pending


class _LineIndex:
    """Where each table, array-of-tables element and key of a TOML text starts."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        counts: dict[tuple[str, ...], int] = {}
        table: KeyPath = ()
        depth, pending = 0, None
        for number, line in enumerate(text.splitlines(), start=1):
            if depth > 0 or pending is not None:
                # Continuation of a multi-line array, inline table or string: no new keys.
                depth, pending = _scan_value(line, depth, pending)
                continue
            if header := _ARRAY_HEADER.match(line):
                keys = _split_key(header.group("key"))
                index = counts.get(keys, 0)
                counts[keys] = index + 1
                table = (*keys, index)
                self._remember(table, number)
            elif header := _TABLE_HEADER.match(line):
                table = _split_key(header.group("key"))
                self._remember(table, number)
            elif key := _KEY_LINE.match(line):
                self._remember((*table, *_split_key(key.group("key"))), number)
                depth, pending = _scan_value(line[key.end() :], 0, None)

    def _remember(self, path: KeyPath, number: int) -> None:
        """Record the first line of `path` and of each of its prefixes."""
        for size in range(len(path), 0, -1):
            self._lines.setdefault(path[:size], number)

    def line_of(self, path: KeyPath) -> int:
        """The line of the longest known prefix of `path`; line 1 if none is known."""
        for size in range(len(path), 0, -1):
            found = self._lines.get(path[:size])
            if found is not None:
                return found
        return 1


def _render_path(path: KeyPath) -> str:
    """("targets", 3, "within") -> "targets[3].within"; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if re.fullmatch(_BARE_KEY, part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


# --------------------------------------------------------------------------------------
# The file's schema (pydantic) and its field parsers


def _custom(kind: str, message: str) -> PydanticCustomError:
    """A pydantic error whose message is exactly `message`."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def _to_duration(value: object) -> timedelta:
    """A TOML duration string -> timedelta."""
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(cast(str, value))
    except ValueError as exc:
        raise _custom("duration", str(exc)) from None


_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_HOURS_HINT = "use HH:MM-HH:MM, e.g. 09:00-18:00 or 00:00-24:00"


def _to_interval(value: object) -> tuple[time, time]:
    """ "09:00-18:00" -> (time(9), time(18)); "24:00" as an end becomes time(0, 0)."""
    match = _HOURS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _custom("hours", f"{value!r} is not a time range ({_HOURS_HINT})")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise _custom("hours", f"{value!r} has an impossible time ({_HOURS_HINT})")
    start_minutes, end_minutes = h1 * 60 + m1, h2 * 60 + m2
    if end_minutes <= start_minutes:
        raise _custom(
            "hours",
            f"{value!r} ends before it starts (split overnight shifts at 24:00: "
            "22:00-24:00 and 00:00-06:00)",
        )
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _to_weekdays(value: object) -> tuple[int, ...]:
    """ "all" or ["mon", "fri"] -> weekday numbers (0=Mon)."""
    if value == "all":
        return tuple(range(7))
    hint = f'use "all" or a list of {", ".join(_WEEKDAYS)}'
    if not isinstance(value, list) or not value:
        raise _custom("weekdays", f"{value!r} is not a list of weekdays ({hint})")
    numbers: list[int] = []
    for item in value:
        name = item.lower() if isinstance(item, str) else item
        if name not in _WEEKDAYS:
            raise _custom("weekdays", f"{item!r} is not a weekday ({hint})")
        if _WEEKDAYS.index(name) in numbers:
            raise _custom("weekdays", f"{item!r} is listed twice")
        numbers.append(_WEEKDAYS.index(name))
    return tuple(sorted(numbers))


def _to_severities(value: object) -> tuple[int, ...]:
    """A severity or a list of severities, each 1-4."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _custom("severity", "severity list is empty (omit the key to match any severity)")
    for item in items:
        if isinstance(item, bool) or item not in SEVERITIES:
            raise _custom("severity", f"severity must be 1, 2, 3 or 4, got {item!r}")
    if len(set(items)) != len(items):
        raise _custom("severity", f"severity list {items!r} has duplicates")
    return tuple(cast(list[int], items))


def _to_names(value: object) -> tuple[str, ...]:
    """A name or a list of names (regions, calendars)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _custom("names", "list is empty (omit the key to match any)")
    for item in items:
        if not isinstance(item, str) or not item:
            raise _custom("names", f"{item!r} is not a name")
    if len(set(items)) != len(items):
        raise _custom("names", f"list {items!r} has duplicates")
    return tuple(cast(list[str], items))


def _to_fraction(value: object) -> float:
    """A positive number such as 0.8 or 1.5 (fraction of the target)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _custom("fraction", f"{value!r} is not a number (use e.g. 0.8, 1.0, 1.5)")
    if value <= 0:
        raise _custom("fraction", f"at must be greater than 0, got {value!r}")
    return float(value)


def _to_positive_int(value: object) -> int:
    """A whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _custom("positive_int", f"{value!r} is not a whole number of at least 1")
    return value


def _to_name(value: object) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise _custom("name", f"{value!r} is not a non-empty string")
    return value


def _non_empty(what: str) -> AfterValidator:
    """A check, run only after the items themselves validated, that at least one is given."""

    def check(value: Sized) -> Sized:
        if not len(value):
            raise _custom("empty", f"at least one {what} is required")
        return value

    return AfterValidator(check)


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
Interval = Annotated[tuple[time, time], BeforeValidator(_to_interval)]
Weekdays = Annotated[tuple[int, ...], BeforeValidator(_to_weekdays)]
Severities = Annotated[tuple[int, ...], BeforeValidator(_to_severities)]
Names = Annotated[tuple[str, ...], BeforeValidator(_to_names)]
Fraction = Annotated[float, BeforeValidator(_to_fraction)]
PositiveInt = Annotated[int, BeforeValidator(_to_positive_int)]
Name = Annotated[str, BeforeValidator(_to_name)]


class _Schema(BaseModel):
    """Base of the file schema: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _CalendarSchema(_Schema):
    """[calendars.NAME]: which weekdays, which hours, whether public holidays apply."""

    days: Weekdays
    hours: Annotated[tuple[Interval, ...], _non_empty("HH:MM-HH:MM range")]
    holidays: StrictBool


class _TargetSchema(_Schema):
    """[[targets]]: a deadline rule; omitted selectors match anything."""

    clock: ClockKind
    severity: Severities | None = None
    region: Names | None = None
    service_hours: Names | None = None
    within: Duration
    measure_in: Name | None = None


class _StepSchema(_Schema):
    """[[ladders.NAME]]: one escalation step."""

    at: Fraction
    actions: Annotated[tuple[EscalationAction, ...], _non_empty("action")]


class _PausesSchema(_Schema):
    """[pauses]: which clocks each pause reason stops."""

    reporter: tuple[ClockKind, ...] = ()
    parts: tuple[ClockKind, ...] = ()
    vendor: tuple[ClockKind, ...] = ()


class _PolicySchema(_Schema):
    """The whole policy file."""

    country: Name = "CN"
    subdiv: Name | None = None
    progress_interval: Duration = timedelta(hours=1)
    page_repeat_interval: Duration = timedelta(minutes=15)
    loan_return_working_days: PositiveInt = 7
    complaint_working_days: PositiveInt = 3
    replacement_working_days: PositiveInt = 10
    survey_reminder_after: Duration = timedelta(days=1)
    inspection_notice_working_days: PositiveInt = 15
    calendars: dict[Name, _CalendarSchema] = Field(default_factory=dict)
    regions: Annotated[dict[Name, Name], _non_empty("region")]
    targets: Annotated[list[_TargetSchema], _non_empty("[[targets]] rule")]
    ladders: dict[Name, list[_StepSchema]] = Field(default_factory=dict)
    pauses: _PausesSchema = _PausesSchema()


# --------------------------------------------------------------------------------------
# The policy


class Policy:
    """A validated SLA policy: deadline targets, escalation ladders, pauses and calendars."""

    def __init__(
        self,
        *,
        country: str,
        subdiv: str | None,
        calendars: Mapping[str, WorkingHours],
        regions: Mapping[str, str],
        targets: Mapping[tuple[ClockKind, int, str, str], Target],
        ladders: Mapping[ClockKind, tuple[LadderStep, ...]],
        pauses: Mapping[PauseReason, frozenset[ClockKind]],
        progress_interval: timedelta,
        page_repeat_interval: timedelta,
        loan_return_working_days: int,
        complaint_working_days: int,
        survey_reminder_after: timedelta,
        inspection_notice_working_days: int,
        replacement_working_days: int = 10,
    ) -> None:
        self.country = country
        self.subdiv = subdiv
        self.calendars: Mapping[str, WorkingHours] = MappingProxyType(dict(calendars))
        self.regions: Mapping[str, str] = MappingProxyType(dict(regions))
        self.progress_interval = progress_interval
        self.page_repeat_interval = page_repeat_interval
        self.loan_return_working_days = loan_return_working_days
        self.complaint_working_days = complaint_working_days
        self.survey_reminder_after = survey_reminder_after
        self.inspection_notice_working_days = inspection_notice_working_days
        self.replacement_working_days = replacement_working_days
        self._targets = dict(targets)
        self._ladders = dict(ladders)
        self._pauses = dict(pauses)
        self._holidays: CountryHolidays | None = None
        self._calendar_cache: dict[tuple[str, str], BusinessCalendar] = {}

    def target(self, clock: ClockKind, severity: int, region: str, service_hours: str) -> Target:
        """The deadline for a clock of a ticket of this severity, region and site calendar."""
        found = self._targets.get((ClockKind(clock), severity, region, service_hours))
        if found is None:
            raise InvalidInput(
                "sla.no_target",
                clock=str(clock),
                severity=severity,
                region=region,
                service_hours=service_hours,
            )
        return found

    def ladder(self, clock: ClockKind) -> tuple[LadderStep, ...]:
        """Escalation steps of a clock, in increasing order of `at`."""
        return self._ladders.get(ClockKind(clock), ())

    def pauses_stop(self, reason: PauseReason) -> frozenset[ClockKind]:
        """The clocks that a pause for `reason` stops."""
        return self._pauses.get(PauseReason(reason), frozenset())

    def calendar(self, name: str, tz: str) -> BusinessCalendar:
        """The business calendar `name` in time zone `tz`, built once and cached."""
        cached = self._calendar_cache.get((name, tz))
        if cached is not None:
            return cached
        hours = self.calendars.get(name)
        if hours is None:
            raise InvalidInput("sla.unknown_calendar", name=name, known=sorted(self.calendars))
        source: HolidaySource = NoHolidays()
        if hours.observe_holidays:
            if self._holidays is None:
                # One holiday table shared by every calendar and zone of this policy.
                self._holidays = CountryHolidays(self.country, self.subdiv)
            source = self._holidays
        try:
            built = BusinessCalendar(hours, tz, source)
        except ValueError:
            raise InvalidInput("sla.unknown_timezone", tz=tz) from None
        self._calendar_cache[(name, tz)] = built
        return built


# --------------------------------------------------------------------------------------
# Loading


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; None loads the packaged default policy."""
    if path is None:
        resource = resources.files("core.sla").joinpath(DEFAULT_POLICY_RESOURCE)
        return parse_policy(resource.read_text(encoding="utf-8"), source=DEFAULT_POLICY_RESOURCE)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(
            str(path), [PolicyProblem(None, "", f"cannot read policy file: {exc}")]
        ) from exc
    return parse_policy(text, source=str(path))


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate policy TOML text; raise PolicyError naming the line of the first problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        # tomllib (3.11) only reports the position inside its message.
        line = int(position.group(1)) if position else max(1, len(text.splitlines()))
        raise PolicyError(source, [PolicyProblem(line, "", f"invalid TOML: {message}")]) from None
    lines = _LineIndex(text)
    try:
        schema = _PolicySchema.model_validate(raw)
    except ValidationError as exc:
        problems = sorted(
            (_problem_from_pydantic(error, lines) for error in exc.errors()),
            key=lambda problem: problem.line or 0,
        )
        raise PolicyError(source, problems) from None
    return _Builder(schema, lines, source).build()


def _problem_from_pydantic(error: Mapping[str, Any], lines: _LineIndex) -> PolicyProblem:
    """A readable problem, with its line, from one pydantic error."""
    path = cast(KeyPath, tuple(error["loc"]))
    kind = error["type"]
    if kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "enum":
        message = f"{error['input']!r} is not one of {error['ctx']['expected']}"
    else:
        message = str(error["msg"])
    return PolicyProblem(lines.line_of(path), _render_path(path), message)


class _Builder:
    """Cross-checks a schema-valid file and turns it into a Policy."""

    def __init__(self, schema: _PolicySchema, lines: _LineIndex, source: str) -> None:
        self.schema = schema
        self.lines = lines
        self.source = source

    def fail(self, path: KeyPath, message: str) -> PolicyError:
        """A PolicyError for `path` with its line."""
        problem = PolicyProblem(self.lines.line_of(path), _render_path(path), message)
        return PolicyError(self.source, [problem])

    def build(self) -> Policy:
        """Run every semantic check and build the Policy."""
        schema = self.schema
        self.check_country()
        calendars = self.calendars()
        targets = self.targets(calendars)
        return Policy(
            country=schema.country,
            subdiv=schema.subdiv,
            calendars=calendars,
            regions=schema.regions,
            targets=targets,
            ladders=self.ladders(),
            pauses=self.pauses(),
            progress_interval=schema.progress_interval,
            page_repeat_interval=schema.page_repeat_interval,
            loan_return_working_days=schema.loan_return_working_days,
            complaint_working_days=schema.complaint_working_days,
            survey_reminder_after=schema.survey_reminder_after,
            inspection_notice_working_days=schema.inspection_notice_working_days,
            replacement_working_days=schema.replacement_working_days,
        )

    def check_country(self) -> None:
        """The holidays package must know the country (and subdivision)."""
        try:
            CountryHolidays(self.schema.country, self.schema.subdiv)
        except ValueError as exc:
            key = "subdiv" if self.schema.subdiv is not None else "country"
            raise self.fail((key,), f"not supported by the holidays package: {exc}") from None

    def calendars(self) -> dict[str, WorkingHours]:
        """The standard calendars, overridden or extended by [calendars.NAME]."""
        result = dict(STANDARD_CALENDARS)
        for name, spec in self.schema.calendars.items():
            intervals = tuple(sorted(spec.hours))
            for (_, end), (start, _) in itertools.pairwise(intervals):
                if end == time(0, 0) or start < end:
                    raise self.fail(
                        ("calendars", name, "hours"),
                        f"ranges overlap: {_show(intervals)} (give disjoint ranges)",
                    )
            pattern = tuple(intervals if weekday in spec.days else () for weekday in range(7))
            try:
                result[name] = WorkingHours(name, pattern, spec.holidays)
            except ValueError as exc:
                raise self.fail(("calendars", name, "hours"), str(exc)) from None
        return result

    def targets(
        self, calendars: Mapping[str, WorkingHours]
    ) -> dict[tuple[ClockKind, int, str, str], Target]:
        """Resolve every (clock, severity, region, service hours) to its most specific rule."""
        regions = self.schema.regions
        rules = self.schema.targets
        for index, rule in enumerate(rules):
            for region in rule.region or ():
                if region not in regions:
                    raise self.fail(
                        ("targets", index, "region"),
                        f"unknown region {region!r} (known: {', '.join(regions)})",
                    )
            for key, names in (
                ("service_hours", rule.service_hours or ()),
                ("measure_in", (rule.measure_in,) if rule.measure_in else ()),
            ):
                for name in names:
                    if name not in calendars:
                        raise self.fail(
                            ("targets", index, key),
                            f"unknown calendar {name!r} (known: {', '.join(calendars)})",
                        )
        table: dict[tuple[ClockKind, int, str, str], Target] = {}
        missing: list[str] = []
        for combination in _combinations(regions, calendars):
            best = _most_specific(rules, *combination)
            if best is None:
                clock, severity, region, hours = combination
                missing.append(
                    f"clock={clock} severity={severity} region={region} service_hours={hours}"
                )
                continue
            table[combination] = Target(best.within, best.measure_in or combination[3])
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise self.fail(
                ("targets",),
                f"no target rule covers {missing[0]}{more}; add a [[targets]] rule for it",
            )
        return table

    def ladders(self) -> dict[ClockKind, tuple[LadderStep, ...]]:
        """Per-clock ladders; [[ladders.default]] applies to clocks without their own."""
        allowed = ["default", *ClockKind]
        built: dict[str, tuple[LadderStep, ...]] = {}
        for name, steps in self.schema.ladders.items():
            if name not in allowed:
                raise self.fail(
                    ("ladders", name),
                    f"unknown ladder {name!r} (use one of: {', '.join(allowed)})",
                )
            if not steps:
                raise self.fail(("ladders", name), "a ladder needs at least one step")
            for index in range(1, len(steps)):
                before, at = steps[index - 1].at, steps[index].at
                if at == before:
                    raise self.fail(("ladders", name, index, "at"), f"duplicate step at {at}")
                if at < before:
                    raise self.fail(
                        ("ladders", name, index, "at"),
                        f"steps must be in increasing order of at ({at} after {before})",
                    )
            built[name] = tuple(LadderStep(step.at, step.actions) for step in steps)
        default = built.get("default", ())
        return {clock: built.get(clock, default) for clock in ClockKind}

    def pauses(self) -> dict[PauseReason, frozenset[ClockKind]]:
        """Which clocks each pause reason stops; acknowledging is never paused."""
        result: dict[PauseReason, frozenset[ClockKind]] = {}
        for reason in PauseReason:
            clocks: tuple[ClockKind, ...] = getattr(self.schema.pauses, reason.value)
            if ClockKind.ACKNOWLEDGE in clocks:
                raise self.fail(
                    ("pauses", reason.value),
                    "the acknowledge clock cannot be paused (someone must always answer)",
                )
            if len(set(clocks)) != len(clocks):
                raise self.fail(("pauses", reason.value), "a clock is listed twice")
            result[reason] = frozenset(clocks)
        return result


def _show(intervals: Sequence[tuple[time, time]]) -> str:
    """Time ranges as written in the file: "09:00-12:00, 13:00-18:00"."""
    return ", ".join(
        f"{start:%H:%M}-{'24:00' if end == time(0, 0) else format(end, '%H:%M')}"
        for start, end in intervals
    )


def _combinations(
    regions: Mapping[str, str], calendars: Mapping[str, WorkingHours]
) -> Iterator[tuple[ClockKind, int, str, str]]:
    """Every (clock, severity, region, service hours) a ticket can have."""
    for clock in ClockKind:
        for severity in SEVERITIES:
            for region in regions:
                for hours in calendars:
                    yield clock, severity, region, hours


def _most_specific(
    rules: Sequence[_TargetSchema], clock: ClockKind, severity: int, region: str, hours: str
) -> _TargetSchema | None:
    """The matching rule with most selectors given; the later one wins a tie."""
    best: _TargetSchema | None = None
    best_score = -1
    for rule in rules:
        if rule.clock != clock:
            continue
        score = 0
        for selected, value in (
            (rule.severity, severity),
            (rule.region, region),
            (rule.service_hours, hours),
        ):
            if selected is None:
                continue
            if value not in selected:
                break
            score += 1
        else:
            if score >= best_score:  # ">=": among equals, the later rule in the file wins
                best, best_score = rule, score
    return best
