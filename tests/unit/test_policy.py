"""The SLA policy file: the seeds' defaults, rule precedence, and line-exact validation errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path

import pytest

import core
from core.errors import InvalidInput
from core.sla.policy import (
    ClockKind,
    EscalationAction,
    LadderStep,
    PauseReason,
    Policy,
    PolicyError,
    Target,
    load_policy,
    parse_policy,
)

A = EscalationAction
C = ClockKind
PROJECT_ROOT = Path(core.__file__).resolve().parent.parent
DEFAULT_FILE = PROJECT_ROOT / "core" / "sla" / "default_policy.toml"

# A minimal valid policy; line numbers in the tests below refer to this layout.
BASE = """\
[regions]
city = "City"

[[targets]]
clock = "acknowledge"
within = "1h"

[[targets]]
clock = "arrival"
within = "2h"

[[targets]]
clock = "restore"
within = "8h"

[[targets]]
clock = "resolve"
within = "7d"
"""


@pytest.fixture(scope="module")
def default_policy() -> Policy:
    """The packaged default policy."""
    return load_policy()


def expect_error(text: str) -> PolicyError:
    """Parse `text`, which must fail; return the error."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return caught.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `needle`."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


# -- the default policy reproduces the seeds ----------------------------------------------


@pytest.mark.parametrize(
    ("clock", "severity", "region", "service_hours", "within", "measure_in"),
    [
        # 001 / 004: acknowledged within 1 hour, in the site's hours; level 1 7x24 (002).
        (C.ACKNOWLEDGE, 2, "city", "5x8", timedelta(hours=1), "5x8"),
        (C.ACKNOWLEDGE, 4, "remote", "7x8", timedelta(hours=1), "7x8"),
        (C.ACKNOWLEDGE, 1, "suburb", "5x8", timedelta(hours=1), "7x24"),
        # 000 §2.2.1-2/-10: arrival 2 / 4 / 6 / 6 hours by region; 002: resident 15 min.
        (C.ARRIVAL, 2, "city", "5x8", timedelta(hours=2), "5x8"),
        (C.ARRIVAL, 3, "suburb", "5x8", timedelta(hours=4), "5x8"),
        (C.ARRIVAL, 4, "outer", "7x8", timedelta(hours=6), "7x8"),
        (C.ARRIVAL, 2, "remote", "5x8", timedelta(hours=6), "5x8"),
        (C.ARRIVAL, 3, "resident", "5x8", timedelta(minutes=15), "5x8"),
        (C.ARRIVAL, 1, "city", "5x8", timedelta(hours=2), "7x24"),
        (C.ARRIVAL, 1, "remote", "7x8", timedelta(hours=6), "7x24"),
        (C.ARRIVAL, 1, "resident", "5x8", timedelta(minutes=15), "7x24"),
        # 003 一级故障: restore 5 / 6 / 8 / 10 hours by region, around the clock.
        (C.RESTORE, 1, "city", "5x8", timedelta(hours=5), "7x24"),
        (C.RESTORE, 1, "suburb", "5x8", timedelta(hours=6), "7x24"),
        (C.RESTORE, 1, "outer", "7x8", timedelta(hours=8), "7x24"),
        (C.RESTORE, 1, "remote", "5x8", timedelta(hours=10), "7x24"),
        (C.RESTORE, 1, "resident", "5x8", timedelta(hours=5), "7x24"),
        # 000: repaired within 8 hours, else a spare device is lent.
        (C.RESTORE, 2, "city", "5x8", timedelta(hours=8), "5x8"),
        (C.RESTORE, 4, "remote", "7x8", timedelta(hours=8), "7x8"),
        # 003: level 1 within 24 h, level 2 within 7 days, levels 3-4 within 10 days.
        (C.RESOLVE, 1, "city", "5x8", timedelta(hours=24), "7x24"),
        (C.RESOLVE, 2, "outer", "5x8", timedelta(days=7), "7x24"),
        (C.RESOLVE, 3, "suburb", "7x8", timedelta(days=10), "7x24"),
        (C.RESOLVE, 4, "resident", "7x24", timedelta(days=10), "7x24"),
    ],
)
def test_default_policy_reproduces_the_seed_numbers(
    default_policy: Policy,
    clock: ClockKind,
    severity: int,
    region: str,
    service_hours: str,
    within: timedelta,
    measure_in: str,
) -> None:
    target = default_policy.target(clock, severity, region, service_hours)
    assert target == Target(within=within, measure_in=measure_in)


def test_default_policy_settings(default_policy: Policy) -> None:
    assert default_policy.country == "CN"
    assert default_policy.subdiv is None
    assert set(default_policy.calendars) == {"5x8", "7x24", "7x8"}
    assert set(default_policy.regions) == {"city", "suburb", "outer", "remote", "resident"}
    assert default_policy.progress_interval == timedelta(hours=1)
    assert default_policy.page_repeat_interval == timedelta(minutes=15)
    assert default_policy.loan_return_working_days == 7
    assert default_policy.complaint_working_days == 3
    assert default_policy.survey_reminder_after == timedelta(days=1)
    assert default_policy.inspection_notice_working_days == 15


@pytest.mark.parametrize("clock", [c for c in ClockKind if c is not C.ARRIVAL])
def test_default_ladder_is_the_same_for_every_clock(default_policy: Policy, clock: C) -> None:
    assert default_policy.ladder(clock) == (
        LadderStep(0.8, (A.REMIND_ASSIGNEE,)),
        LadderStep(1.0, (A.PAGE_ASSIGNEE, A.PAGE_BACKUP, A.PAGE_DISPATCHERS, A.RAISE_SEVERITY)),
        LadderStep(1.5, (A.PAGE_MANAGERS,)),
    )


def test_a_missed_arrival_also_tells_the_reporter(default_policy: Policy) -> None:
    # 002 热线服务规范: past the set time, tell the customer, with an apology.
    assert default_policy.ladder(C.ARRIVAL) == (
        LadderStep(0.8, (A.REMIND_ASSIGNEE,)),
        LadderStep(
            1.0,
            (
                A.PAGE_ASSIGNEE,
                A.PAGE_BACKUP,
                A.PAGE_DISPATCHERS,
                A.RAISE_SEVERITY,
                A.NOTIFY_REPORTER,
            ),
        ),
        LadderStep(1.5, (A.PAGE_MANAGERS,)),
    )


@pytest.mark.parametrize(
    ("reason", "stopped"),
    [
        (PauseReason.REPORTER, {C.ARRIVAL, C.RESTORE, C.RESOLVE}),
        (PauseReason.PARTS, {C.RESTORE, C.RESOLVE}),
        (PauseReason.VENDOR, {C.RESTORE, C.RESOLVE}),
    ],
)
def test_default_pauses(default_policy: Policy, reason: PauseReason, stopped: set[C]) -> None:
    assert default_policy.pauses_stop(reason) == frozenset(stopped)


def test_default_calendars_observe_china_holidays_only_on_5x8(default_policy: Policy) -> None:
    national_day = datetime(2026, 10, 1, 2, tzinfo=UTC)  # 10:00 in Shanghai
    assert not default_policy.calendar("5x8", "Asia/Shanghai").is_working_time(national_day)
    assert default_policy.calendar("7x8", "Asia/Shanghai").is_working_time(national_day)
    assert default_policy.calendar("7x24", "Asia/Shanghai").is_working_time(national_day)


def test_calendars_are_cached_per_name_and_zone(default_policy: Policy) -> None:
    first = default_policy.calendar("5x8", "Asia/Shanghai")
    assert default_policy.calendar("5x8", "Asia/Shanghai") is first
    assert default_policy.calendar("5x8", "Asia/Urumqi") is not first
    assert first.name == "5x8"


def test_unknown_calendar_or_zone_is_invalid_input(default_policy: Policy) -> None:
    with pytest.raises(InvalidInput) as unknown_calendar:
        default_policy.calendar("6x6", "Asia/Shanghai")
    assert unknown_calendar.value.code == "sla.unknown_calendar"
    with pytest.raises(InvalidInput) as unknown_zone:
        default_policy.calendar("5x8", "Asia/Atlantis")
    assert unknown_zone.value.code == "sla.unknown_timezone"


def test_target_for_an_unknown_region_is_invalid_input(default_policy: Policy) -> None:
    with pytest.raises(InvalidInput) as caught:
        default_policy.target(C.ARRIVAL, 2, "moon", "5x8")
    assert caught.value.code == "sla.no_target"
    with pytest.raises(InvalidInput):
        default_policy.target(C.ARRIVAL, 5, "city", "5x8")


def test_default_policy_is_packaged_with_the_code() -> None:
    assert load_policy(None).target(C.ARRIVAL, 2, "city", "5x8").within == timedelta(hours=2)
    assert load_policy(DEFAULT_FILE).regions == load_policy().regions
    # The build includes it: pyproject's package-data for core.sla matches the file name.
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["core.sla"]
    assert any(fnmatch("default_policy.toml", pattern) for pattern in patterns)


def test_default_policy_loads_from_a_zipped_install(tmp_path: Path) -> None:
    # A zip on sys.path has no real files: only importlib.resources can read the TOML,
    # so this proves load_policy(None) does not depend on the source checkout.
    archive = tmp_path / "site.zip"
    package = ("__init__.py", "calendar.py", "durations.py", "policy.py", "default_policy.toml")
    sources = [
        "core/__init__.py",
        "core/clock.py",
        "core/errors.py",
        *(f"core/sla/{name}" for name in package),
    ]
    with zipfile.ZipFile(archive, "w") as bundle:
        for relative in sources:
            bundle.write(PROJECT_ROOT / relative, relative)
    script = (
        "import core.sla.policy as p; assert '.zip' in p.__file__, p.__file__; "
        "print(p.load_policy().target(p.ClockKind.RESTORE, 1, 'remote', '5x8').within)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(archive)!r}); {script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10:00:00"


def test_default_file_cites_the_seeds() -> None:
    # The numbers are the seed contracts'; the file says where each comes from.
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert text.count("[[targets]]") == 18
    for citation in ("000 §2.1", "000 §2.2.1-2", "001", "002", "003 §2.1.1", "004 §1.3.6"):
        assert citation in text


# -- rule precedence ---------------------------------------------------------------------

PRECEDENCE = """\
[regions]
city = "City"
suburb = "Suburb"

[[targets]]
clock = "acknowledge"
within = "1h"

[[targets]]
clock = "restore"
within = "8h"

[[targets]]
clock = "resolve"
within = "7d"

[[targets]]
clock = "arrival"
within = "4h"

[[targets]]
clock = "arrival"
severity = 1
region = "city"
within = "1h"
measure_in = "7x24"

[[targets]]
clock = "arrival"
region = "city"
within = "2h"

[[targets]]
clock = "arrival"
severity = 3
within = "3h"

[[targets]]
clock = "arrival"
region = "suburb"
within = "5h"

[[targets]]
clock = "arrival"
region = "suburb"
within = "6h"
"""


@pytest.mark.parametrize(
    ("severity", "region", "expected"),
    [
        (1, "city", Target(timedelta(hours=1), "7x24")),  # two selectors beat one
        (2, "city", Target(timedelta(hours=2), "5x8")),  # one selector beats none
        (1, "suburb", Target(timedelta(hours=6), "5x8")),  # later of two equal rules
        (3, "suburb", Target(timedelta(hours=6), "5x8")),  # region rule is later than severity
        (3, "city", Target(timedelta(hours=3), "5x8")),  # severity rule is later than region
    ],
)
def test_most_specific_rule_wins_then_the_later_one(
    severity: int, region: str, expected: Target
) -> None:
    policy = parse_policy(PRECEDENCE)
    assert policy.target(C.ARRIVAL, severity, region, "5x8") == expected


def test_measure_in_defaults_to_the_sites_service_hours() -> None:
    policy = parse_policy(PRECEDENCE)
    assert policy.target(C.RESTORE, 2, "city", "7x8") == Target(timedelta(hours=8), "7x8")
    assert policy.target(C.ARRIVAL, 1, "city", "7x8") == Target(timedelta(hours=1), "7x24")


def test_service_hours_selector_and_list_selectors() -> None:
    text = BASE + textwrap.dedent(
        """
        [[targets]]
        clock = "arrival"
        severity = [1, 2]
        service_hours = ["7x24", "7x8"]
        within = "30m"
        """
    )
    policy = parse_policy(text)
    assert policy.target(C.ARRIVAL, 2, "city", "7x8").within == timedelta(minutes=30)
    assert policy.target(C.ARRIVAL, 2, "city", "5x8").within == timedelta(hours=2)
    assert policy.target(C.ARRIVAL, 3, "city", "7x24").within == timedelta(hours=2)


# -- calendars, ladders and pauses from the file -----------------------------------------


def test_custom_and_overridden_calendars() -> None:
    text = BASE + textwrap.dedent(
        """
        [calendars.5x8]
        # 09:00-18:00 with a lunch hour: eight working hours a day.
        days = ["mon", "tue", "wed", "thu", "fri"]
        hours = ["13:00-18:00", "09:00-12:00"]
        holidays = true

        [calendars.6x10]
        days = ["mon", "tue", "wed", "thu", "fri", "sat"]
        hours = ["08:00-18:00"]
        holidays = false
        """
    )
    policy = parse_policy(text)
    assert set(policy.calendars) == {"5x8", "6x10", "7x24", "7x8"}
    five = policy.calendar("5x8", "Asia/Shanghai")
    tuesday_nine = datetime(2026, 3, 10, 1, tzinfo=UTC)
    assert five.add(tuesday_nine, timedelta(hours=8)) == datetime(2026, 3, 10, 10, tzinfo=UTC)
    six = policy.calendar("6x10", "Asia/Shanghai")
    assert six.hours.days[5]
    assert not six.hours.days[6]
    assert policy.target(C.RESTORE, 2, "city", "6x10") == Target(timedelta(hours=8), "6x10")


def test_holidays_come_from_the_policys_country_and_subdivision() -> None:
    # 2026-01-06 (Epiphany) is a public holiday in Bavaria but not in all of Germany.
    epiphany = datetime(2026, 1, 6, 10, tzinfo=UTC)
    bavaria = parse_policy('country = "DE"\nsubdiv = "BY"\n' + BASE)
    germany = parse_policy('country = "DE"\n' + BASE)
    assert not bavaria.calendar("5x8", "Europe/Berlin").is_working_time(epiphany)
    assert germany.calendar("5x8", "Europe/Berlin").is_working_time(epiphany)
    # Calendars with holidays = false ignore them.
    assert bavaria.calendar("7x8", "Europe/Berlin").is_working_time(epiphany)


def test_a_clock_can_override_the_default_ladder() -> None:
    text = BASE + textwrap.dedent(
        """
        [[ladders.default]]
        at = 1.0
        actions = ["page_assignee"]

        [[ladders.restore]]
        at = 0.5
        actions = ["notify_reporter"]

        [[ladders.restore]]
        at = 2
        actions = ["page_managers", "raise_severity"]
        """
    )
    policy = parse_policy(text)
    assert policy.ladder(C.ARRIVAL) == (LadderStep(1.0, (A.PAGE_ASSIGNEE,)),)
    assert policy.ladder(C.RESTORE) == (
        LadderStep(0.5, (A.NOTIFY_REPORTER,)),
        LadderStep(2.0, (A.PAGE_MANAGERS, A.RAISE_SEVERITY)),
    )


def test_without_ladders_or_pauses_nothing_escalates_or_pauses() -> None:
    policy = parse_policy(BASE)
    assert policy.ladder(C.ACKNOWLEDGE) == ()
    assert policy.pauses_stop(PauseReason.VENDOR) == frozenset()
    assert policy.loan_return_working_days == 7  # seed defaults apply to omitted settings


# -- validation errors name the line -----------------------------------------------------


def test_error_message_format_names_source_line_key_and_problem() -> None:
    error = expect_error(BASE.replace('within = "7d"', 'within = "2x"'))
    assert str(error) == (
        "<policy>: line 18: targets[3].within: '2x' is not a duration (use e.g. 90m, 2h, 7d)"
    )
    assert error.line == 18
    assert error.code == "policy.invalid"
    assert isinstance(error, InvalidInput)


def test_source_name_is_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "site-policy.toml"
    path.write_text(BASE.replace('within = "1h"', 'within = "1 hour"'), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: line 6: targets[0].within: '1 hour' is not")


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "line", "location", "message"),
    [
        pytest.param(
            BASE.replace('clock = "restore"', 'clock = "restor"'),
            13,
            "targets[2].clock",
            "'restor' is not one of 'acknowledge', 'arrival', 'restore' or 'resolve'",
            id="unknown-clock",
        ),
        pytest.param(
            BASE.replace('clock = "restore"', 'clock = "restore"\nseverity = 5'),
            14,
            "targets[2].severity",
            "severity must be 1, 2, 3 or 4, got 5",
            id="severity-above-4",
        ),
        pytest.param(
            BASE.replace('clock = "arrival"', 'clock = "arrival"\nseverity = [1, 0]'),
            10,
            "targets[1].severity",
            "severity must be 1, 2, 3 or 4, got 0",
            id="severity-below-1",
        ),
        pytest.param(
            BASE.replace('clock = "restore"', 'clock = "restore"\nregion = "mars"'),
            14,
            "targets[2].region",
            "unknown region 'mars' (known: city)",
            id="unknown-region",
        ),
        pytest.param(
            BASE.replace('clock = "resolve"', 'clock = "resolve"\nservice_hours = "6x6"'),
            18,
            "targets[3].service_hours",
            "unknown calendar '6x6' (known: 5x8, 7x24, 7x8)",
            id="unknown-service-hours",
        ),
        pytest.param(
            BASE.replace('within = "2h"', 'within = "2h"\nmeasure_in = "24x7"'),
            11,
            "targets[1].measure_in",
            "unknown calendar '24x7' (known: 5x8, 7x24, 7x8)",
            id="unknown-measure-in",
        ),
        pytest.param(
            BASE.replace('within = "8h"', 'within = "8 hrs"'),
            14,
            "targets[2].within",
            "'8 hrs' is not a duration (use e.g. 90m, 2h, 7d)",
            id="bad-duration",
        ),
        pytest.param(
            BASE.replace('within = "8h"', "within = 8"),
            14,
            "targets[2].within",
            "8 is not a duration (use e.g. 90m, 2h, 7d)",
            id="duration-not-a-string",
        ),
        pytest.param(
            BASE.replace('clock = "restore"\nwithin = "8h"', 'clock = "restore"'),
            12,
            "targets[2].within",
            "required key is missing",
            id="missing-within-points-at-the-header",
        ),
        pytest.param(
            BASE.replace('within = "2h"', 'within = "2h"\nwithn = "1h"'),
            11,
            "targets[1].withn",
            "unknown key",
            id="unknown-key",
        ),
        pytest.param(
            BASE.replace('city = "City"', "city = 5"),
            2,
            "regions.city",
            "5 is not a non-empty string",
            id="region-description-not-a-string",
        ),
        pytest.param(
            "[regions]\n\n" + BASE[len('[regions]\ncity = "City"\n') :],
            1,
            "regions",
            "at least one region is required",
            id="no-regions",
        ),
        pytest.param(
            'country = "CN"\n\n[regions]\ncity = "City"\n',
            1,
            "targets",
            "required key is missing",
            id="no-targets",
        ),
        pytest.param(
            'country = "XX"\n' + BASE,
            1,
            "country",
            "not supported by the holidays package: Country XX not available",
            id="unknown-country",
        ),
        pytest.param(
            'country = "CN"\nsubdiv = "ZZ"\n' + BASE,
            2,
            "subdiv",
            "not supported by the holidays package",
            id="unknown-subdivision",
        ),
        pytest.param(
            '# settings\nprogress_interval = "every hour"\n' + BASE,
            2,
            "progress_interval",
            "'every hour' is not a duration (use e.g. 90m, 2h, 7d)",
            id="bad-top-level-duration",
        ),
        pytest.param(
            "complaint_working_days = 0\n" + BASE,
            1,
            "complaint_working_days",
            "0 is not a whole number of at least 1",
            id="zero-working-days",
        ),
        pytest.param(
            "loan_return_wrking_days = 7\n" + BASE,
            1,
            "loan_return_wrking_days",
            "unknown key",
            id="unknown-top-level-key",
        ),
    ],
)
def test_target_and_setting_errors_name_their_line(
    text: str, line: int, location: str, message: str
) -> None:
    error = expect_error(text)
    assert error.line == line
    assert str(error).startswith(f"<policy>: line {line}: {location}: {message}")


CALENDAR_TAIL = """
[calendars.office]
# a custom calendar
days = {days}
hours = {hours}
holidays = false
"""
# In BASE + CALENDAR_TAIL: header on line 20, days 22, hours 23, holidays 24.


@pytest.mark.parametrize(
    ("days", "hours", "line", "location", "message"),
    [
        pytest.param(
            '"all"',
            '["9-18"]',
            23,
            "calendars.office.hours[0]",
            "'9-18' is not a time range (use HH:MM-HH:MM, e.g. 09:00-18:00 or 00:00-24:00)",
            id="hours-not-hh-mm",
        ),
        pytest.param(
            '"all"',
            '["09:00-25:00"]',
            23,
            "calendars.office.hours[0]",
            "'09:00-25:00' has an impossible time",
            id="hours-impossible",
        ),
        pytest.param(
            '"all"',
            '["18:00-09:00"]',
            23,
            "calendars.office.hours[0]",
            "'18:00-09:00' ends before it starts",
            id="hours-reversed",
        ),
        pytest.param(
            '"all"',
            '["09:00-13:00", "12:00-18:00"]',
            23,
            "calendars.office.hours",
            "ranges overlap: 09:00-13:00, 12:00-18:00",
            id="hours-overlap",
        ),
        pytest.param(
            '"all"',
            "[]",
            23,
            "calendars.office.hours",
            "at least one HH:MM-HH:MM range is required",
            id="hours-empty",
        ),
        pytest.param(
            '["mon", "funday"]',
            '["09:00-18:00"]',
            22,
            "calendars.office.days",
            "'funday' is not a weekday",
            id="unknown-weekday",
        ),
        pytest.param(
            '"weekdays"',
            '["09:00-18:00"]',
            22,
            "calendars.office.days",
            "'weekdays' is not a list of weekdays",
            id="days-not-a-list",
        ),
    ],
)
def test_calendar_errors_name_their_line(
    days: str, hours: str, line: int, location: str, message: str
) -> None:
    error = expect_error(BASE + CALENDAR_TAIL.format(days=days, hours=hours))
    assert error.line == line
    assert str(error).startswith(f"<policy>: line {line}: {location}: {message}")


def test_multiline_hours_array_points_at_its_key() -> None:
    text = BASE + textwrap.dedent(
        """
        [calendars.split]
        hours = [
          "09:00-12:00",
          "13:00-1800",
        ]
        days = "all"
        holidays = false
        """
    )
    error = expect_error(text)
    assert error.line == 21
    assert "calendars.split.hours[1]: '13:00-1800' is not a time range" in str(error)


def test_missing_calendar_key_points_at_the_table_header() -> None:
    text = BASE + '\n[calendars."night shift"]\ndays = "all"\nhours = ["22:00-24:00"]\n'
    error = expect_error(text)
    assert (
        str(error) == '<policy>: line 20: calendars."night shift".holidays: required key is missing'
    )


LADDER_TAIL = """
[[ladders.default]]
at = 0.8
actions = ["remind_assignee"]

[[ladders.default]]
at = {at}
actions = {actions}
"""
# In BASE + LADDER_TAIL: second step header on line 24, at 25, actions 26.


@pytest.mark.parametrize(
    ("at", "actions", "line", "location", "message"),
    [
        pytest.param(
            "0",
            '["page_managers"]',
            25,
            "ladders.default[1].at",
            "at must be greater than 0",
            id="at-zero",
        ),
        pytest.param(
            "-1.5",
            '["page_managers"]',
            25,
            "ladders.default[1].at",
            "at must be greater than 0",
            id="at-negative",
        ),
        pytest.param(
            "0.5",
            '["page_managers"]',
            25,
            "ladders.default[1].at",
            "steps must be in increasing order of at (0.5 after 0.8)",
            id="unsorted",
        ),
        pytest.param(
            "0.8",
            '["page_managers"]',
            25,
            "ladders.default[1].at",
            "duplicate step at 0.8",
            id="duplicate",
        ),
        pytest.param(
            '"soon"',
            '["page_managers"]',
            25,
            "ladders.default[1].at",
            "'soon' is not a number",
            id="at-not-a-number",
        ),
        pytest.param(
            "1.0",
            '["page_pope"]',
            26,
            "ladders.default[1].actions[0]",
            "'page_pope' is not one of 'remind_assignee', 'page_assignee'",
            id="unknown-action",
        ),
        pytest.param(
            "1.0",
            "[]",
            26,
            "ladders.default[1].actions",
            "at least one action is required",
            id="no-actions",
        ),
    ],
)
def test_ladder_errors_name_their_line(
    at: str, actions: str, line: int, location: str, message: str
) -> None:
    error = expect_error(BASE + LADDER_TAIL.format(at=at, actions=actions))
    assert error.line == line
    assert str(error).startswith(f"<policy>: line {line}: {location}: {message}")


def test_unknown_ladder_name_is_rejected() -> None:
    error = expect_error(BASE + '\n[[ladders.repair]]\nat = 1.0\nactions = ["page_backup"]\n')
    assert str(error) == (
        "<policy>: line 20: ladders.repair: unknown ladder 'repair' "
        "(use one of: default, acknowledge, arrival, restore, resolve)"
    )


@pytest.mark.parametrize(
    ("pauses", "line", "location", "message"),
    [
        pytest.param(
            'parts = ["restore"]\nreporter = ["acknowledge", "arrival"]',
            22,
            "pauses.reporter",
            "the acknowledge clock cannot be paused",
            id="acknowledge-paused",
        ),
        pytest.param('lunch = ["restore"]', 21, "pauses.lunch", "unknown key", id="unknown-reason"),
        pytest.param(
            'vendor = ["repair"]',
            21,
            "pauses.vendor[0]",
            "'repair' is not one of 'acknowledge', 'arrival', 'restore' or 'resolve'",
            id="unknown-clock",
        ),
    ],
)
def test_pause_errors_name_their_line(pauses: str, line: int, location: str, message: str) -> None:
    error = expect_error(BASE + "\n[pauses]\n" + pauses + "\n")
    assert error.line == line
    assert str(error).startswith(f"<policy>: line {line}: {location}: {message}")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(BASE.replace('within = "8h"', "within = 8h"), 14, id="bare-value"),
        pytest.param(BASE.replace("[[targets]]", "[[targets]", 1), 4, id="broken-header"),
        pytest.param(BASE + 'x = "unterminated\n', 19, id="unterminated-string"),
        pytest.param(BASE + "y = [1,\n", 19, id="unclosed-array-at-end"),
    ],
)
def test_toml_syntax_errors_keep_tomllibs_line(text: str, line: int) -> None:
    error = expect_error(text)
    assert error.line == line
    assert str(error).startswith(f"<policy>: line {line}: invalid TOML: ")


def test_tomllib_position_is_kept_in_the_message() -> None:
    error = expect_error(BASE.replace('within = "8h"', "within = 8h"))
    assert str(error).endswith("(at line 14, column 11)")


def test_first_error_in_file_order_is_reported_and_all_are_kept() -> None:
    text = BASE.replace('within = "7d"', 'within = "x"').replace('within = "1h"', 'within = "y"')
    error = expect_error(text)
    assert error.line == 6
    assert [problem.line for problem in error.problems] == [6, 18]


# -- coverage ---------------------------------------------------------------------------


def test_a_severity_without_any_rule_is_reported_with_its_combination() -> None:
    error = expect_error(
        BASE.replace('clock = "restore"', 'clock = "restore"\nseverity = [2, 3, 4]')
    )
    assert str(error) == (
        "<policy>: line 4: targets: no target rule covers clock=restore severity=1 "
        "region=city service_hours=5x8 (and 2 more); add a [[targets]] rule for it"
    )


def test_a_region_without_any_rule_is_reported() -> None:
    text = BASE.replace('city = "City"', 'city = "City"\nisland = "Island"').replace(
        'clock = "arrival"', 'clock = "arrival"\nregion = "city"'
    )
    error = expect_error(text)
    assert error.line == 5
    assert "no target rule covers clock=arrival severity=1 region=island service_hours=5x8" in str(
        error
    )
    assert "(and 11 more)" in str(error)


def test_a_custom_calendar_must_be_covered_too() -> None:
    text = BASE.replace(
        'clock = "resolve"', 'clock = "resolve"\nservice_hours = ["5x8", "7x24", "7x8"]'
    )
    text += '\n[calendars.6x10]\ndays = "all"\nhours = ["08:00-18:00"]\nholidays = false\n'
    error = expect_error(text)
    assert "clock=resolve severity=1 region=city service_hours=6x10 (and 3 more)" in str(error)


def test_an_error_in_the_shipped_file_points_at_its_real_line() -> None:
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    broken = text.replace('within = "24h"', 'within = "24"')
    error = expect_error(broken)
    assert error.line == line_of(text, 'within = "24h"')
    target_index = text[: text.index('within = "24h"')].count("[[targets]]") - 1
    assert f"targets[{target_index}].within: '24' is not a duration" in str(error)
